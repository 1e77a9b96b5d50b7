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

Greedy decoding and sampling can part ways: where UPT sharpened the base's favourite route onto a noisy panel,
sampled accuracy fell 0.10 to 0.12 while greedy held (bench/results/probe.md, `two-panels-noisy-favourite`). With
guard.dev_watch_sampled, the dev set's sampled accuracy is watched too (`Sampled`): a round whose sampled
accuracy, overall or on a question type, fell past the line stops the run and is not delivered. It is off by
default: there the margin already delivered the base, since greedy had gained nothing, and replayed on 64 runs the
watch did not lower harm (bench/results/dev-guard-sampled.md).
"""

from __future__ import annotations

import math
from typing import NamedTuple


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


class Sampled(NamedTuple):
    """The dev set's sampled accuracy by round, overall and per question type, for rules that watch it."""

    overall: dict[int, float]
    by_type: dict[int, dict[str, float]]

    def fell(self, round_: int, line: float) -> list[str]:
        """ "sampled" where the overall score at `round_` fell past `line` below round 0's, then "sampled TYPE" for
        each question type that did (with one type, the overall score says it all)."""
        if 0 not in self.overall or round_ not in self.overall:
            return []
        out = ["sampled"] if fell_past(self.overall[0], self.overall[round_], line) else []
        several = len(self.by_type.get(0, {})) >= 2
        return out + ([f"sampled {t}" for t in fallen_types(self.by_type, round_, line)] if several else [])


def held_back(
    scores: dict[int, float],
    by_type: dict[int, dict[str, float]],
    round_: int,
    line: float | None,
    n: int | None = None,
    z: float = 0.0,
    sampled: Sampled | None = None,
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
    if line is not None and sampled is not None:
        fell = sampled.fell(round_, line)
        if fell:
            what = ", ".join(
                f.removeprefix("sampled ") + " questions" if f != "sampled" else "overall" for f in fell
            )
            why.append(f"its sampled accuracy ({what}) fell more than {line:.2f} below the base")
    return why


def best_safe_round(
    scores: dict[int, float],
    by_type: dict[int, dict[str, float]],
    line: float | None,
    n: int | None = None,
    z: float = 0.0,
    sampled: Sampled | None = None,
) -> int:
    """The best round by `scores` among those that qualify (`held_back` names none of their faults; the base
    always does). With one question type, no n, no z and no `sampled`, this is `best_round`."""
    return best_round(
        {r: v for r, v in scores.items() if not held_back(scores, by_type, r, line, n, z, sampled)}
    )


def fell_at(
    scores: dict[int, float],
    by_type: dict[int, dict[str, float]],
    round_: int,
    line: float,
    per_type: bool,
    sampled: Sampled | None = None,
) -> list[str]:
    """The dev guard's stopping rule on scores by round: "overall" where the score at `round_` fell more than
    `line` below round 0's, with `per_type` the question types that did (`fallen_types`), and with `sampled` what
    of the sampled accuracy did (`Sampled.fell`: overall, and per type only with `per_type`)."""
    out = ["overall"] if fell_past(scores[0], scores[round_], line) else []
    out += fallen_types(by_type, round_, line) if per_type else []
    if sampled is not None:
        out += [f for f in sampled.fell(round_, line) if per_type or f == "sampled"]
    return out
