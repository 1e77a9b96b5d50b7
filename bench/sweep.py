"""Accuracy at one temperature, for the sharpening baseline's temperature sweep (bench only)."""

from __future__ import annotations

from collections.abc import Sequence

from mmupt_core.data.items import Item
from mmupt_core.model.sampling import Request, Sampler, SamplingParams
from mmupt_core.scoring.evaluate import EquivalenceScorer, Extractor, Scorer, default_extract


def accuracy_at(
    sampler: Sampler,
    items: Sequence[Item],
    requests: Sequence[Request],
    answers: dict[str, str],
    *,
    temperature: float,
    n: int,
    max_tokens: int,
    seed: int,
    scorer: Scorer | None = None,
    extract: Extractor = default_extract,
) -> float:
    """Mean per-sample accuracy at one temperature (0 = greedy), for temperature sweeps."""
    scorer = scorer or EquivalenceScorer()
    sets = sampler.sample(
        requests, SamplingParams(1 if temperature == 0 else n, temperature, 1.0, max_tokens, seed)
    )
    hits = [
        scorer.score(extract(c.text, it), it, answers[it.item_id])
        for it, s in zip(items, sets, strict=True)
        for c in s.completions
    ]
    return sum(hits) / max(1, len(hits))
