"""Majority vote over the answers of ONE prompt (group by item id, never by position in a batch).

Rules:
- `None` (no answer found) never votes, but it counts in the denominator of `agreement`, so unparseable
  samples lower confidence instead of being ignored.
- Answers vote by equivalence class: "0.5" and "\\frac{1}{2}" are one vote bucket (math-verify decides when
  normal forms differ); a class is named by its most frequent surface form (ties: the lowest form).
- Ties between the top classes: with tie_break="none" there is no pseudo-label (label None, accepted False);
  with "lowest", the class with the lowest normal form wins (numeric order for numbers, else string order).
- agreement = votes of the winner / number of answers given (None included).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from mmupt_core.voting.answers import _is_number, equivalent


@dataclass(frozen=True)
class Vote:
    label: str | None
    votes: int
    n_valid: int
    n_total: int
    agreement: float
    tied: bool

    def accepted(self, min_agreement: float, min_valid: int) -> bool:
        """Whether this vote's label may be used as a training target."""
        return self.label is not None and self.n_valid >= min_valid and self.agreement >= min_agreement


def _sort_key(form: str) -> tuple:
    return (0, float(form), form) if _is_number(form) else (1, 0.0, form)


def vote(answers: list[str | None], tie_break: Literal["none", "lowest"] = "none") -> Vote:
    """The majority answer of one prompt's samples; see the module docstring for the rules."""
    n_total = len(answers)
    counts = Counter(a for a in answers if a is not None)
    n_valid = sum(counts.values())
    if n_valid == 0:
        return Vote(None, 0, 0, n_total, 0.0, False)
    # Merge surface forms into equivalence classes; numbers in normal form are equal only when identical,
    # so the common all-integer case never reaches math-verify.
    classes: list[list[str]] = []
    for form in sorted(counts, key=lambda f: (-counts[f], _sort_key(f))):
        for cls in classes:
            rep = cls[0]
            if not (_is_number(rep) and _is_number(form)) and equivalent(rep, form):
                cls.append(form)
                break
        else:
            classes.append([form])
    totals = sorted(
        ((sum(counts[f] for f in cls), cls) for cls in classes), key=lambda t: (-t[0], _sort_key(t[1][0]))
    )
    top_votes, top_cls = totals[0]
    tied = len(totals) > 1 and totals[1][0] == top_votes
    if tied and tie_break == "none":
        return Vote(None, top_votes, n_valid, n_total, top_votes / n_total, True)
    # With "lowest", `totals` is already ordered by the lowest normal form among equal vote counts.
    return Vote(top_cls[0], top_votes, n_valid, n_total, top_votes / n_total, tied)
