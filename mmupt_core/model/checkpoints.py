"""Model checkpoints: where a configured model lives, whether it is one, and how it loads.

A checkpoint is a local folder with config.json and .safetensors weights (mmupt never loads pickled .bin
weights), or a hub id, resolved through the local Hugging Face cache (offline) or the hub (online).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_WANTED = ["*.json", "*.safetensors", "*.txt", "*.jinja", "*.model", "*.tiktoken"]


class ModelError(ValueError):
    """A configured model that is missing or is not a usable checkpoint; the message names it."""


def check_model_dir(path: Path) -> Path:
    if not path.is_dir():
        raise ModelError(f"model path {path} is not a folder: a checkpoint is a folder with config.json")
    config = path / "config.json"
    if not config.is_file():
        raise ModelError(f"model path {path} is not a model checkpoint: it has no config.json")
    try:
        json.loads(config.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"model path {path}: config.json is not valid JSON ({exc})") from None
    if not any(path.glob("*.safetensors")):
        hint = " (it has .bin weights: convert them to safetensors)" if any(path.glob("*.bin")) else ""
        raise ModelError(f"model path {path} has no .safetensors weights{hint}; mmupt loads safetensors only")
    return path


def resolve_model(name_or_path: str) -> Path:
    """The local checkpoint folder for a path or a hub id; raises ModelError naming what is wrong."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        return check_model_dir(path.resolve())
    if not HUB_ID.fullmatch(name_or_path):
        raise ModelError(f"model {name_or_path!r}: no such folder (and not a hub id of the form owner/name)")
    from huggingface_hub import snapshot_download

    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
    try:
        local = snapshot_download(name_or_path, allow_patterns=_WANTED, local_files_only=offline)
    except Exception as exc:  # huggingface_hub raises several kinds for "not there"
        where = "in the offline Hugging Face cache (HF_HOME)" if offline else "on the hub"
        raise ModelError(f"model {name_or_path!r}: no such folder, and not found {where}: {exc}") from None
    return check_model_dir(Path(local))


def torch_dtype(name: str) -> torch.dtype:
    """The configured dtype; 'auto' is bfloat16 on a GPU that supports it, else float32."""
    if name == "auto":
        cuda = torch.cuda.is_available()
        return torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def copy_checkpoint(src: str | Path, dest: str | Path, provenance: dict) -> Path:
    """Copy the checkpoint folder `src` to `dest` with `mmupt.json` (where it came from) beside its weights.
    `dest` must not exist yet, or be an empty folder: a copy never overwrites what is there. The copy is made
    under a temporary name and renamed, so an interrupted one leaves no half folder at `dest`."""
    import shutil

    source = check_model_dir(Path(src))
    target = Path(dest).expanduser().resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ModelError(f"will not copy the checkpoint to {target}: it exists and is not an empty folder")
    if target == source or source in target.parents:
        raise ModelError(f"will not copy the checkpoint {source} into itself ({target})")
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted copy
    shutil.copytree(source, partial)
    (partial / "mmupt.json").write_text(
        json.dumps(provenance, indent=2, default=str, ensure_ascii=False) + "\n"
    )
    if target.exists():
        target.rmdir()  # empty, checked above
    partial.rename(target)
    return target
