"""Sampling n answers per item: a `Sampler` protocol with an HF (CPU/GPU) and a vLLM (GPU) backend.

Both backends take the same `Request`s, whose prompt is built once by `prompts.build_messages` and rendered by
the model's own chat template (`render_prompt`). An optional `prefill` forces the start of the answer (used to
force one reasoning route).

`SamplingParams` is the one object that says how to draw: built once from the config (`SamplingParams.votes`,
`SamplingParams.evaluation`) and passed whole to every backend. The vLLM backend is in vllm_sampler.py;
`backend.make_sampler` picks one as configured.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import torch
from PIL import Image

from mmupt_core import events
from mmupt_core.config import RunConfig
from mmupt_core.data.items import Item
from mmupt_core.prompts import build_messages

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    item_id: str
    image: Image.Image
    messages: list[dict]
    prefill: str = ""


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str  # "stop" (end of turn) or "length" (hit max_tokens)
    n_tokens: int


@dataclass
class SampleSet:
    request: Request
    completions: list[Completion] = field(default_factory=list)


# -- the sampling parameters, built once from the config and passed whole --------------------------------
# Each draw of a run reads its own random stream, offset from sampling.seed, so that no two draws (the probe,
# a round's votes, synthesis and its answerability check) share samples.
ROUND_SEED_STRIDE = 7919  # round k's draws start at sampling.seed + 7919 * k
PROBE_SEED_OFFSET = 104_729  # the probe (round 0) stays apart from every round's stream
SYNTHESIS_SEED_OFFSET = 1  # synthesis writes its questions at the round's seed + 1 ...
ANSWERABILITY_SEED_OFFSET = 2  # ... and votes on them at + 2


@dataclass(frozen=True)
class SamplingParams:
    """How to draw answers: n per request, temperature (0 = greedy), top_p, length and seed. One object for
    every backend (the vLLM one maps it to vllm.SamplingParams in one place)."""

    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 48
    seed: int = 0

    @property
    def is_greedy(self) -> bool:
        return self.temperature == 0

    def greedy(self) -> SamplingParams:
        """One greedy answer per request, same length and seed."""
        return replace(self, n=1, temperature=0.0, top_p=1.0)

    @classmethod
    def votes(cls, config: RunConfig, round_: int = 0, offset: int = 0) -> SamplingParams:
        """The answers a round votes over: voting.n_votes (default sampling.n) at the sampling temperature, on
        round `round_`'s stream plus `offset`."""
        s = config.sampling
        return cls(
            n=config.voting.n_votes or s.n,
            temperature=s.temperature,
            top_p=s.top_p,
            max_tokens=s.max_tokens,
            seed=s.seed + ROUND_SEED_STRIDE * round_ + offset,
        )

    @classmethod
    def evaluation(cls, config: RunConfig, seed: int = 0) -> SamplingParams:
        """Evaluation's k samples at evaluation.temperature (its greedy answer is `.greedy()` of this)."""
        e = config.evaluation
        return cls(
            n=e.k,
            temperature=e.temperature,
            top_p=config.sampling.top_p,
            max_tokens=e.max_tokens or config.sampling.max_tokens,
            seed=seed,
        )


class Sampler(Protocol):
    def sample(self, requests: Sequence[Request], params: SamplingParams) -> list[SampleSet]: ...

    def close(self) -> None:
        """Free what the sampler holds (a vLLM engine holds its KV cache and worker processes until closed)."""


def load_image(path: str) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def load_images(items: Sequence[Item]) -> tuple[list[Item], dict[str, Image.Image], list[dict]]:
    """The items whose image still loads, their images by item id, and a rejection row for each other one:
    an image deleted or damaged after the pool was registered costs that item, not the round."""
    ok, images, rejected, by_path = [], {}, [], {}
    for it in items:
        try:
            if it.image not in by_path:
                by_path[it.image] = load_image(it.image)
        except (OSError, ValueError, SyntaxError) as exc:
            rejected.append({"item_id": it.item_id, "reason": f"image unreadable: {exc}"})
            continue
        images[it.item_id] = by_path[it.image]
        ok.append(it)
    if rejected:
        log.warning("%d item(s) skipped: image unreadable (first: %s)", len(rejected), rejected[0]["reason"])
    return ok, images, rejected


def requests_for(
    items: Sequence[Item], suffix: str, image_first: bool = True, images: dict[str, Image.Image] | None = None
) -> list[Request]:
    """One request per item, the image loaded from the item's path unless given."""
    out = []
    for it in items:
        img = images[it.item_id] if images is not None else load_image(it.image)
        out.append(Request(it.item_id, img, build_messages(it.question, suffix, image_first)))
    return out


def render_prompt(processor, request: Request) -> str:
    """The prompt text both backends feed the model: the chat template with the generation prompt, + prefill."""
    return (
        processor.apply_chat_template(request.messages, add_generation_prompt=True, tokenize=False)
        + request.prefill
    )


class HFSampler:
    """transformers `generate`, batched across items and samples with left padding."""

    def __init__(self, model, processor, batch_size: int = 64, suppress_token_ids: Sequence[int] = ()):
        self.model = model
        self.processor = processor
        self.batch_size = batch_size
        self.suppress = list(suppress_token_ids)
        self.processor.tokenizer.padding_side = "left"

    @torch.inference_mode()
    def sample(self, requests: Sequence[Request], params: SamplingParams) -> list[SampleSet]:
        self.model.eval()
        tok = self.processor.tokenizer
        eos = tok.eos_token_id
        n, temperature, top_p, seed = params.n, params.temperature, params.top_p, params.seed
        greedy = params.is_greedy
        reps = 1 if greedy else n  # greedy decoding gives the same text n times: decode once, copy
        flat = [(i, r) for i, r in enumerate(requests) for _ in range(reps)]
        out = [SampleSet(r) for r in requests]
        for start in range(0, len(flat), self.batch_size):
            chunk = flat[start : start + self.batch_size]
            texts = [render_prompt(self.processor, r) for _, r in chunk]
            batch = self.processor(
                text=texts, images=[r.image for _, r in chunk], return_tensors="pt", padding=True
            )
            batch = batch.to(self.model.device)
            # One seed per chunk keeps results reproducible for a given (seed, batch_size).
            torch.manual_seed(seed * 1_000_003 + start)
            gen = self.model.generate(
                **batch,
                do_sample=not greedy,
                temperature=temperature if not greedy else None,
                top_p=top_p if not greedy else None,
                top_k=0 if not greedy else None,
                max_new_tokens=params.max_tokens,
                suppress_tokens=self.suppress or None,
                pad_token_id=tok.pad_token_id,
                eos_token_id=eos,
            )
            new = gen[:, batch["input_ids"].shape[1] :].tolist()
            for (i, _), ids in zip(chunk, new, strict=True):
                stop = eos in ids
                kept = ids[: ids.index(eos)] if stop else ids
                kept = [t for t in kept if t != tok.pad_token_id]
                c = Completion(
                    tok.decode(kept, skip_special_tokens=True), "stop" if stop else "length", len(kept)
                )
                out[i].completions.extend([c] * (n if greedy else 1))
            events.progress(min(start + self.batch_size, len(flat)), len(flat), "generations")
        return out

    def close(self) -> None:
        """Nothing held outside this process's memory: the model goes with the last reference to it."""
