"""A label-free probe: what majority voting can (and cannot) teach a model on an unlabeled pool, before training.

Majority-vote UPT moves greedy decoding toward the majority answer. It can only change what the model says where
a *confident* majority (agreement >= `confident`) disagrees with the greedy answer; where the majority repeats the
greedy answer, or is not confident, agreement has nothing to teach. The probe samples k answers per question and
reports, with no labels at all:
- the agreement histogram (share of questions per agreement bin),
- the share of questions with a confident majority, and the share whose confident majority differs from greedy,
- a verdict in words.

Whether the differing majorities are *right* cannot be known without labels; the probe says where UPT can move
the model, not that the move helps (bench/results/bootstrap.md sets it beside the labeled measures).

    mmupt probe --config conf/tiny.yaml
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from mmupt_core.config import RunConfig
from mmupt_core.data.items import Item
from mmupt_core.model.backend import open_sampler
from mmupt_core.model.sampling import PROBE_SEED_OFFSET, Request, Sampler, SamplingParams, requests_for
from mmupt_core.voting.answers import extract_answer
from mmupt_core.voting.probe import (  # re-exported: the probe's numbers live with the vote
    LITTLE_TO_TEACH,
    SHARPENS,
    STOPPING,
    ProbeResult,
    summarize_probe,
)

__all__ = [
    "LITTLE_TO_TEACH",
    "SHARPENS",
    "STOPPING",
    "ProbeAnswers",
    "ProbeResult",
    "checkpoint_probe_answers",
    "probe_answers",
    "probe_checkpoint",
    "summarize_probe",
]


@dataclass(frozen=True)
class ProbeAnswers:
    """What the probe reads, per pool question in item order: the greedy answer, the sampled answers and the
    question type (None where the item has none). No hidden answer is in it."""

    greedy: list[str | None]
    samples: list[list[str | None]]
    types: list[str | None]


def probe_answers(
    sampler: Sampler, items: Sequence[Item], requests: Sequence[Request], params: SamplingParams
) -> ProbeAnswers:
    """Greedy and params.n samples per pool question from one checkpoint, extracted; no answers are read."""
    greedy = sampler.sample(requests, params.greedy())
    sampled = sampler.sample(requests, params)
    return ProbeAnswers(
        greedy=[
            extract_answer(s.completions[0].text, it.choices) for s, it in zip(greedy, items, strict=True)
        ],
        samples=[
            [extract_answer(c.text, it.choices) for c in s.completions]
            for s, it in zip(sampled, items, strict=True)
        ],
        types=[(it.meta or {}).get("type") for it in items],
    )


def probe_checkpoint(
    config: RunConfig, checkpoint: str, items: Sequence[Item], images: dict[str, Image.Image]
) -> ProbeResult:
    """The probe of one checkpoint on the pool as a run would vote on it (voting.n_votes at the sampling
    temperature), on a seed stream of its own. The pool is taken in item-id order, the order the store returns
    it in, so that the probe stage and `mmupt probe` batch, and so sample, alike."""
    items = sorted(items, key=lambda it: it.item_id)
    a = checkpoint_probe_answers(config, checkpoint, items, images)
    k = SamplingParams.votes(config).n
    return summarize_probe(a.greedy, a.samples, k, types=a.types)


def checkpoint_probe_answers(
    config: RunConfig, checkpoint: str, items: Sequence[Item], images: dict[str, Image.Image]
) -> ProbeAnswers:
    """The answers `probe_checkpoint` reads, in the order of `items` (pass them sorted by item id to match it)."""
    requests = requests_for(items, config.sampling.prompt_suffix, config.model.image_first, images)
    params = SamplingParams.votes(config, offset=PROBE_SEED_OFFSET)
    with open_sampler(config, checkpoint) as sampler:
        return probe_answers(sampler, items, requests, params)
