"""The label-free collapse guard's rule: have the pool's votes piled onto one answer since round 1?

The signal is the share of the pool whose vote elects the pool's single most common answer. Replayed on 247 runs
(bench/results/inrun-signals.md) a rise of more than 0.10 since round 1's pool stopped 8 of the 9 UPT runs on the
`views` control and none that gained; those pools had 300 items. On a small pool one item's vote moves the share by
many points (6 items: 0.17 an item), so a rise must also clear the share's own sampling noise, as the dev margin
does (mmupt_core/view/devpick.py): at least COLLAPSE_Z unpaired standard errors of the difference. At 300 items
that error is at most 0.041, so the noise test never binds above the 0.10 line there; it keeps small pools, where
the rule was never measured, from stopping on a vote or two.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

COLLAPSE_Z = 1.64  # one-sided 95%, the dev margin's default


def piled_on(first: float, now: float, n: int | None, line: float) -> bool:
    """Whether a pool's top-label share of `now` has risen from round 1's `first` by more than `line`, and by at
    least COLLAPSE_Z standard errors of the difference on `n` items (no `n`: the line alone)."""
    rise = now - first
    if rise <= line + 1e-9:
        return False
    if not n:
        return True
    p = (first + now) / 2
    return rise >= COLLAPSE_Z * math.sqrt(2 * p * (1 - p) / n) - 1e-9


def first_piled_on(shares: Mapping[int, tuple[float, int | None]], line: float) -> int | None:
    """The first round k >= 2 whose pool's top-label share (share, items) rose past `line` since round 1's by
    `piled_on`, each pair judged on the fewer items of the two; None where none did or round 1 has no share."""
    if 1 not in shares:
        return None
    first, first_n = shares[1]
    return next(
        (
            k
            for k in sorted(shares)
            if k >= 2 and piled_on(first, shares[k][0], min(first_n or 0, shares[k][1] or 0), line)
        ),
        None,
    )
