"""The labelled dev set's rules (USES LABELS): when a round fell past the dev guard's line, and which round a run
with the dev guard on delivers.

The delivered round is the best on the dev set among the rounds that qualify. The base always qualifies; a
trained round qualifies where no question type fell more than the line below its base (one type's collapse hides
in the overall mean: on `framed`, UPT's count questions fell while colour rose) and where its dev greedy gain over
the base is clear of the dev set's sampling noise: at least `z` standard errors (guard.dev_margin_z). Without
that margin the best of four rounds on 100 dev items is often a round that only drew well: replayed on 48
finished runs (bench/results/dev-margin.md), the per-type pick left a question type more than 2 points below its
base on 12.5% of 100-item dev draws of the 8 runs with several types; at 1.64 standard errors, 0.5%, for 0.009 of
the 27 runs that gained (+0.156 -> +0.147).
"""

from __future__ import annotations

import math


def fell_past(base: float, score: float, drop: float) -> bool:
    """The dev guard's rule: a round's dev accuracy fell more than `drop` below the base's."""
    return score < base - drop - 1e-9


def best_round(scores: dict[int, float]) -> int:
    """The round with the best score; of a tie, the earliest (the fewest updates away from the base)."""
    return max(scores, key=lambda r: (scores[r], -r))


def clear_gain(base: float, score: float, n: int | None, z: float) -> bool:
    """Whether an accuracy of `score` beats the base's by at least `z` standard errors of their difference on `n`
    items. The error is the unpaired one: rounds are scored on the same items and mostly err alike, so this
    overstates it, which errs toward keeping the base. That is what protects the question types: the paired error
    of the per-item differences, replayed on the same draws, delivered more trained rounds whose overall gain was
    small but real and left a type more than 2 points below its base on 4.9% of 100-item draws, against 0.5%
    (bench/results/dev-margin.md, 'paired 1.64'). No `n` or no `z`: any score qualifies."""
    if not z or not n:
        return True
    se = math.sqrt((base * (1 - base) + score * (1 - score)) / n)
    return score - base >= z * se - 1e-9


def fallen_types(by_type: dict[int, dict[str, float]], round_: int, line: float) -> list[str]:
    """The question types whose score at `round_` fell more than `line` below their base's (round 0's)."""
    mine = by_type.get(round_, {})
    return [t for t, b in by_type.get(0, {}).items() if fell_past(b, mine.get(t, b), line)]


def held_back(
    scores: dict[int, float],
    by_type: dict[int, dict[str, float]],
    round_: int,
    line: float | None,
    n: int | None = None,
    z: float = 0.0,
) -> list[str]:
    """Why round `round_` may not be delivered, in words (empty: it qualifies)."""
    if round_ == 0 or 0 not in scores:
        return []
    why = []
    if not clear_gain(scores[0], scores[round_], n, z):
        why.append(
            f"its gain over the base ({scores[round_] - scores[0]:+.3f}) is under {z:g} standard errors"
        )
    if line is not None and len(by_type.get(0, {})) >= 2:
        fell = fallen_types(by_type, round_, line)
        if fell:
            why.append(f"{', '.join(fell)} questions fell more than {line:.2f} below the base")
    return why


def best_safe_round(
    scores: dict[int, float],
    by_type: dict[int, dict[str, float]],
    line: float | None,
    n: int | None = None,
    z: float = 0.0,
) -> int:
    """The best round by `scores` among those that qualify (`held_back` names none of their faults; the base
    always does). With one question type, no n and no z, this is `best_round`."""
    return best_round({r: v for r, v in scores.items() if not held_back(scores, by_type, r, line, n, z)})


def fell_at(
    scores: dict[int, float], by_type: dict[int, dict[str, float]], round_: int, line: float, per_type: bool
) -> list[str]:
    """The dev guard's stopping rule on scores by round: "overall" where the score at `round_` fell more than
    `line` below round 0's, and, with `per_type`, the question types that did (`fallen_types`)."""
    out = ["overall"] if fell_past(scores[0], scores[round_], line) else []
    return out + (fallen_types(by_type, round_, line) if per_type else [])
