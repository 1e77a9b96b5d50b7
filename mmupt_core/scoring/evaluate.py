"""Evaluation against ground truth, per item: greedy accuracy, sampled accuracy at T, maj@k, mean agreement and
answer entropy, overall and per question type. Benchmarks plug in through the `Scorer` protocol.

The vote here is scored per item against that item's own answer (the reference code's validation reward voted
across different prompts).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from mmupt_core.data.items import Item
from mmupt_core.model.sampling import Request, Sampler, SampleSet, SamplingParams
from mmupt_core.voting.answers import equivalent, extract_answer, normalize
from mmupt_core.voting.vote import vote


class Scorer(Protocol):
    """Decides whether an extracted prediction answers an item correctly."""

    name: str

    def score(self, prediction: str | None, item: Item, answer: str) -> bool: ...


Extractor = Callable[[str, Item], "str | None"]


def default_extract(text: str, item: Item) -> str | None:
    """The normalised final answer (answers.extract_answer): what votes and the embedded world score."""
    return extract_answer(text, item.choices)


class EquivalenceScorer:
    """Normalised equality, then math-verify equivalence (the embedded world's scorer)."""

    name = "equivalence"

    def score(self, prediction: str | None, item: Item, answer: str) -> bool:
        return equivalent(prediction, normalize(answer))


@dataclass
class ItemOutcome:
    item_id: str
    kind: str
    answer: str
    greedy: str | None
    samples: list[str | None]


def entropy(answers: Sequence[str | None]) -> float:
    """Shannon entropy (nats) of one item's answer distribution; None counts as its own outcome."""
    counts = Counter(answers)
    n = sum(counts.values())
    return -sum(c / n * math.log(c / n) for c in counts.values()) if n else 0.0


def outcomes(
    items: Sequence[Item],
    answers: dict[str, str],
    greedy: Sequence[SampleSet],
    sampled: Sequence[SampleSet],
    extract: Extractor = default_extract,
) -> list[ItemOutcome]:
    """Each item's extracted answers (the step before scoring): greedy and sampled."""
    out = []
    for it, g, s in zip(items, greedy, sampled, strict=True):
        out.append(
            ItemOutcome(
                it.item_id,
                it.meta.get("type", "all") if it.meta else "all",
                answers[it.item_id],
                extract(g.completions[0].text, it),
                [extract(c.text, it) for c in s.completions],
            )
        )
    return out


def item_scores(
    it: Item, r: ItemOutcome, scorer: Scorer, k: int, tie_break: str = "none"
) -> dict[str, float]:
    """One question's metrics (what `summarize` averages): greedy_acc, sampled_acc, maj@k, pass@k, agreement,
    entropy, no_answer_rate."""
    v = vote(r.samples[:k], tie_break=tie_break)
    return {
        "greedy_acc": float(scorer.score(r.greedy, it, r.answer)),
        "sampled_acc": sum(scorer.score(a, it, r.answer) for a in r.samples) / max(1, len(r.samples)),
        f"maj@{k}": float(v.label is not None and scorer.score(v.label, it, r.answer)),
        # any of the k samples right: what sharpening onto one answer costs in diversity
        f"pass@{k}": float(any(scorer.score(s, it, r.answer) for s in r.samples[:k] if s is not None)),
        "agreement": v.agreement,
        "entropy": entropy(r.samples[:k]),
        "no_answer_rate": sum(a is None for a in r.samples) / max(1, len(r.samples)),
    }


def summarize(
    items: Sequence[Item], results: Sequence[ItemOutcome], scorer: Scorer, k: int, tie_break: str = "none"
) -> dict[str, float]:
    """Metrics overall and per type: greedy_acc, sampled_acc, maj@k, pass@k, agreement, entropy, gap (maj - greedy)."""
    per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for it, r in zip(items, results, strict=True):
        row = item_scores(it, r, scorer, k, tie_break)
        for group in ("all", r.kind):
            for key, value in row.items():
                per[group][key].append(value)
    out: dict[str, float] = {}
    for group, metrics in per.items():
        suffix = "" if group == "all" else f"/{group}"
        for key, values in metrics.items():
            out[key + suffix] = sum(values) / len(values)
        out[f"gap{suffix}"] = out[f"maj@{k}{suffix}"] - out[f"greedy_acc{suffix}"]
        out[f"n{suffix}"] = len(metrics["greedy_acc"])  # a type's own question count, for its rows' n
    return out


def evaluate(
    sampler: Sampler,
    items: Sequence[Item],
    requests: Sequence[Request],
    answers: dict[str, str],
    params: SamplingParams,
    *,
    scorer: Scorer | None = None,
    extract: Extractor = default_extract,
) -> tuple[dict[str, float], list[ItemOutcome]]:
    """Greedy + params.n samples per item (k = params.n); returns (metrics, per-item outcomes)."""
    scorer = scorer or EquivalenceScorer()
    greedy = sampler.sample(requests, params.greedy())
    sampled = sampler.sample(requests, params)
    results = outcomes(items, answers, greedy, sampled, extract)
    return summarize(items, results, scorer, params.n), results
