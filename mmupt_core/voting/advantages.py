"""GRPO's group-relative advantage, as TRL computes it, for label-free diagnostics of the vote's signal."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def grpo_advantages(rewards: Sequence[float]) -> list[float]:
    """One group's GRPO advantages, (r - group mean) / (group std + 1e-4), as TRL scales them per group."""
    mean = statistics.fmean(rewards)
    sd = statistics.stdev(rewards) if len(rewards) > 1 else 0.0
    return [(r - mean) / (sd + 1e-4) for r in rewards]
