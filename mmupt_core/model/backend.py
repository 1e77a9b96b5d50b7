"""Which sampler runs a checkpoint: transformers (CPU or GPU) or vLLM, as `sampling.backend` says."""

from __future__ import annotations

import torch

from mmupt_core.config import RunConfig
from mmupt_core.model import tiny
from mmupt_core.model.checkpoints import torch_dtype
from mmupt_core.model.sampling import HFSampler
from mmupt_core.model.vllm_sampler import vllm_available


def choose_backend(backend: str) -> str:
    """'auto' means vLLM when it imports and a GPU is present, else HF."""
    if backend == "auto":
        return "vllm" if vllm_available() else "hf"
    if backend == "vllm" and not vllm_available():
        raise ValueError("sampling.backend = 'vllm' but vLLM is not installed or no CUDA GPU is visible")
    return backend


def make_sampler(config: RunConfig, checkpoint: str):
    """The configured sampler backend for a checkpoint (HF on CPU, vLLM when chosen)."""
    backend = choose_backend(config.sampling.backend)
    if backend == "vllm":
        from transformers import AutoProcessor

        from mmupt_core.model.vllm_sampler import VLLMSampler

        processor = AutoProcessor.from_pretrained(
            checkpoint, trust_remote_code=config.model.trust_remote_code
        )
        return VLLMSampler(checkpoint, processor, trust_remote_code=config.model.trust_remote_code)
    model, processor = tiny.load_pretrained(
        checkpoint, trust_remote_code=config.model.trust_remote_code, dtype=torch_dtype(config.model.dtype)
    )
    if torch.cuda.is_available():
        model.to("cuda")
    return HFSampler(
        model,
        processor,
        batch_size=config.sampling.batch_size,
        suppress_token_ids=tiny.suppressed_token_ids(processor.tokenizer),
    )
