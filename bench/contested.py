"""A candidate probe rule, recorded beside the shipped probe's verdicts and not used by any run: how contested
the votes are.

The shipped probe's "may harm" (the greedy answer's advantage under the vote above +0.10) was contradicted on most
of the bases it was checked on (bench/results/probe.md). Over the 11 bases whose probe answers are kept
(bench/results/probe-answers/), the harmed ones had more questions whose vote has a strong runner-up: two answers
each with at least 2 of the 8 votes. The paper saw UPT harm on data too hard for the model (ThinkLite-11K); a
contested vote is the label-free face of that: the majority there wins by one or two votes, so its pseudo-label is
close to a coin between two answers the model already gives, and training on it entrenches whichever won.

The line (CONTESTED) was set on those 11 bases, between the most contested base UPT lifted (0.60) and the least
contested one it harmed overall (0.62). It is a line set on 11 points with a gap of 0.02, about one standard error
at 300 questions; bench/probe.py records it on worlds it was not set on before anything trains there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

RUNNER_UP = 2  # votes the second answer needs for a question to count as contested (of k = 8)
CONTESTED = 0.61  # share of contested questions above which the candidate says "may harm"
MIN_TYPE = 50  # questions a type needs before its own share is judged


def runner_up_votes(answers: Sequence[str | None]) -> int:
    """Votes for the second most frequent answer (no-answers are not an answer)."""
    top = Counter(a for a in answers if a is not None).most_common(2)
    return top[1][1] if len(top) > 1 else 0


def contested_share(samples: Sequence[Sequence[str | None]]) -> float:
    """Share of questions whose runner-up answer has at least RUNNER_UP votes."""
    return sum(runner_up_votes(s) >= RUNNER_UP for s in samples) / max(1, len(samples))


def candidate(samples: Sequence[Sequence[str | None]], types: Sequence[str | None] | None = None) -> dict:
    """The candidate's numbers and verdict: overall, and per question type with at least MIN_TYPE questions.
    'may harm' when the overall share, or any such type's, is above CONTESTED; else 'would help'."""
    by_type: dict[str, float] = {}
    if types is not None and len({t for t in types if t is not None}) > 1:
        for t in sorted({t for t in types if t is not None}):
            idx = [i for i, x in enumerate(types) if x == t]
            if len(idx) >= MIN_TYPE:
                by_type[t] = contested_share([samples[i] for i in idx])
    overall = contested_share(samples)
    harm = overall > CONTESTED or any(v > CONTESTED for v in by_type.values())
    return {
        "contested": overall,
        "contested_by_type": by_type,
        "verdict": "may harm" if harm else "would help",
        "types_may_harm": sorted(t for t, v in by_type.items() if v > CONTESTED),
    }
