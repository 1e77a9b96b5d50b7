"""The model: building, first training, sampling and the GRPO update.

- tiny: the tiny Qwen2.5-VL-architecture model, its tokenizer and processor (`load_pretrained`)
- bootstrap: the tiny model's first SFT on the world's labeled split (`run_bootstrap`, cached)
- checkpoints: a configured model path or hub id -> a checked local checkpoint (`resolve_model`)
- sampling: the `Sampler` protocol, `Request`/`SampleSet`, `SamplingParams` and the transformers backend
- vllm_sampler: the vLLM backend; backend: `make_sampler` picks HF or vLLM as configured
- image_repeats: the vision tower encodes each distinct image of a batch once (`encode_images_once`)
- train: the GRPO update through TRL (`train_round`, `grpo_args`); also `python -m mmupt_core.model.train JOB`
  under `accelerate launch`, so it is imported from its module, not from here
"""

from mmupt_core.model.backend import choose_backend, make_sampler, open_sampler
from mmupt_core.model.sampling import (
    Completion,
    HFSampler,
    Request,
    Sampler,
    SampleSet,
    SamplingParams,
    load_images,
    requests_for,
)

__all__ = [
    "Completion",
    "HFSampler",
    "Request",
    "SampleSet",
    "Sampler",
    "SamplingParams",
    "choose_backend",
    "load_images",
    "make_sampler",
    "open_sampler",
    "requests_for",
]
