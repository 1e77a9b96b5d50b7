"""torchvision without its compiled operators, for the vLLM-CPU lane (`make setup-vllm`).

vllm-cpu 0.32.0 needs torch 2.13.0+cpu, and the registry's torchvision 0.28.0 (the release that pairs with it) is
a CUDA build: its `_C` extension cannot load beside a CPU torch, and `import torchvision` then fails in
`torchvision._meta_registrations` ("operator torchvision::nms does not exist"), which registers fake kernels for
operators that were never defined. Without torchvision, transformers cannot build Qwen2-VL's image and video
processors, and vLLM cannot load Qwen2.5-VL at all (its model code imports them).

The Python half of torchvision (the v2 transforms that the Qwen2-VL processors use) needs none of those
operators. So, only when the compiled operators are missing, this hook skips `_meta_registrations`; detection,
`nms` and `roi_align` stay unavailable and raise torchvision's own "not compiled" error. It is loaded at
interpreter start by mmupt_vllm_cpu.pth in that environment's site-packages, so vLLM's spawned engine and
inspection processes see it too (a patch inside a script would not reach them); it costs nothing until
torchvision is imported.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

TARGET = "torchvision._meta_registrations"


class _Empty(importlib.abc.Loader):
    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module):
        module.__doc__ = "skipped by mmupt_vllm_cpu: torchvision's compiled operators are not loaded"


class _SkipMetaRegistrations(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        extension = sys.modules.get("torchvision.extension")
        if extension is None or extension._has_ops():
            return None  # a working torchvision: leave it alone
        return importlib.machinery.ModuleSpec(name, _Empty())


if not any(isinstance(h, _SkipMetaRegistrations) for h in sys.meta_path):
    sys.meta_path.insert(0, _SkipMetaRegistrations())
