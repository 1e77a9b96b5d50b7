"""Label-free round diagnostics: agreement, answer entropy, majority stability, and the collapse guard.

Collapse looks like agreement heading to 1 while answer diversity falls (on an early prototype of the tiny
model without guards, over 15 rounds: agreement 0.51 -> 0.97 and entropy 1.05 -> 0.07 while accuracy fell). These signals use no labels, so they may drive a stopping rule.
"""

from __future__ import annotations

from collections import Counter

from mmupt_core.scoring.evaluate import entropy
from mmupt_core.store.rows import metric_rows

COLLAPSE_AGREEMENT = 0.9
COLLAPSE_ENTROPY = 0.25
STABLE_MAJORITY = 0.98


def round_diagnostics(by_item: dict[str, list[str | None]], labels: list[dict]) -> list[dict]:
    """Pool-level vote statistics for one round, as metric rows."""
    n = max(1, len(labels))
    answers = [a for group in by_item.values() for a in group]
    label_counts = Counter(p["label"] for p in labels if p["label"] is not None)
    rows = {
        "items": float(len(labels)),
        "accepted": float(sum(p["accepted"] for p in labels)),
        "accept_rate": sum(p["accepted"] for p in labels) / n,
        "agreement_mean": sum(p["agreement"] for p in labels) / n,
        "answer_entropy": sum(entropy(g) for g in by_item.values()) / max(1, len(by_item)),
        "no_answer_rate": sum(a is None for a in answers) / max(1, len(answers)),
        # share of the pool whose majority is the single most common label: high means answers pile up on one value
        "top_label_share": (label_counts.most_common(1)[0][1] / n) if label_counts else 0.0,
    }
    return metric_rows("pool", rows, len(labels))


def stopping_signals(previous: list[dict], current: list[dict]) -> dict[str, float]:
    """Majority stability against the previous round, the collapse flag, and a stop suggestion."""
    n = max(1, len(current))
    agreement = sum(p["agreement"] for p in current) / n
    prev = {p["item_id"]: p["label"] for p in previous}
    same = [prev[p["item_id"]] == p["label"] for p in current if p["item_id"] in prev]
    stability = sum(same) / len(same) if same else 0.0
    share = Counter(p["label"] for p in current if p["label"] is not None).most_common(1)
    top_share = share[0][1] / n if share else 0.0
    collapse = agreement >= COLLAPSE_AGREEMENT and top_share >= 0.5
    return {
        "agreement_mean": agreement,
        "majority_stability": stability,
        "collapse_warning": float(collapse),
        "stop_suggested": float(collapse or stability >= STABLE_MAJORITY),
    }
