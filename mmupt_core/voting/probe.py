"""What majority voting can teach a model, from agreement alone: the label-free probe's numbers and verdict.

`summarize_probe` takes one greedy answer and k sampled answers per question (no labels) and returns a
`ProbeResult`: the agreement histogram, the share of questions whose confident majority differs from the greedy
answer, the greedy answer's mean GRPO advantage under the vote, per question type too, and a verdict in words.
The sampling that feeds it is mmupt_core/rounds/probe.py; the guard that acts on the verdict is
mmupt_core/rounds/guard.py.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

from mmupt_core.voting.advantages import grpo_advantages
from mmupt_core.voting.answers import equivalent
from mmupt_core.voting.vote import vote

BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
# Below a tenth of the questions, greedy accuracy could gain under 10 points even if every differing majority
# were right. Placed between the two worlds measured (bench/results/bootstrap.md): the negative control at
# 0.06-0.09 (where UPT did not help), the panel world at 0.31-0.32 (where it gained 0.38); two worlds cannot
# calibrate it finely.
LITTLE_TO_TEACH = 0.10
# Above this mean advantage the vote clearly reinforces the greedy answer; near 0 it neither backs nor opposes it
# on balance, and the differing majorities decide. Measured: panel world -0.05 to -0.01 (UPT gained), the first
# panel design +0.21 and the negative control +0.33 to +0.35 (UPT did not help).
SHARPENS = 0.10
# The verdicts that stop a run before round 1 unless guard.go_on_anyway is set: where voting cannot move the model,
# or would mostly entrench what it already says (the equal-noise panel world: "sharpen", and UPT lost 7 points).
STOPPING = ("little to teach", "may harm")


def stopping_verdicts(go_on_anyway: bool | list[str] | None) -> tuple[str, ...]:
    """The verdicts that still stop a run under guard.go_on_anyway: all, none (true), or all but those listed."""
    if go_on_anyway is True:
        return ()
    return tuple(k for k in STOPPING if k not in (go_on_anyway or ()))


@dataclass(frozen=True)
class ProbeResult:
    n: int
    k: int
    confident: float
    agreement_hist: dict[str, float]  # "0.6-0.8" -> share of questions
    mean_agreement: float
    confident_share: float  # a majority with agreement >= confident
    confident_differs: float  # ... that differs from the greedy answer
    no_answer_rate: float
    # the mean GRPO advantage, under the majority reward, of the samples that give the greedy answer: below 0 the
    # vote pushes the model away from what greedy decoding says; well above 0 it reinforces it (SHARPENS)
    greedy_advantage: float | None = None  # None: not measured (stores written before it existed)
    # the same probe on each question type's questions alone (the pool's item meta "type"), when there are several
    by_type: dict[str, ProbeResult] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """'little to teach', 'may harm' or 'something to teach'."""
        if self.confident_differs < LITTLE_TO_TEACH:
            return "little to teach"
        if self.greedy_advantage is not None and self.greedy_advantage > SHARPENS:
            return "may harm"
        return "something to teach"

    def stops(self, stopping: tuple[str, ...] = STOPPING) -> bool:
        """Whether this verdict, on its own questions, says not to train them (stopping: the verdicts that stop,
        stopping_verdicts(guard.go_on_anyway))."""
        return self.kind in stopping

    def stops_run(self, stopping: tuple[str, ...] = STOPPING) -> bool:
        """Whether the run stops before round 1: when the verdict on all its questions stops, or, with several
        question types, when every type's does. One type's "something to teach" does not overrule a stopping
        verdict on the whole: held-out types share the model, and on the views control training the one such
        type took the held-out ones down with it (colour -0.114, total -0.107; bench/results/noharm.md)."""
        if self.stops(stopping):
            return True
        return len(self.by_type) >= 2 and all(r.stops(stopping) for r in self.by_type.values())

    def held_types(self, stopping: tuple[str, ...] = STOPPING) -> set[str]:
        """Question types to hold out of training: those whose verdict stops, when the run itself goes on."""
        if self.stops_run(stopping):
            return set()
        return {t for t, r in self.by_type.items() if r.stops(stopping)}

    @property
    def verdict(self) -> str:
        pct = f"{100 * self.confident_differs:.0f}%"
        if self.kind == "little to teach":
            return (
                f"majority voting has little to teach here: on only {pct} of {self.n} questions does a confident "
                f"majority (agreement >= {self.confident:.1f}) differ from the greedy answer"
            )
        if self.kind == "may harm":
            return (
                f"majority voting may harm here: it would mostly sharpen what greedy decoding already says (samples "
                f"giving the greedy answer win the vote more often than not, mean advantage "
                f"{self.greedy_advantage:+.2f}; a confident majority differs from it on {pct} of {self.n} "
                "questions), and sharpening entrenches the errors that samples share"
            )
        return (
            f"majority voting has something to teach: on {pct} of {self.n} questions a confident majority "
            f"(agreement >= {self.confident:.1f}) differs from the greedy answer"
        )

    def type_line(self) -> str | None:
        """The verdict per question type, in one line (None when the pool has one type or none recorded)."""
        if len(self.by_type) < 2:
            return None
        parts = [
            f"{t}: {r.kind} ({100 * r.confident_differs:.0f}% differ, greedy advantage "
            f"{(r.greedy_advantage or 0.0):+.2f}, n = {r.n})"
            for t, r in sorted(self.by_type.items())
        ]
        return "per question type: " + "; ".join(parts)

    @classmethod
    def from_metrics(cls, m: dict[str, float]) -> ProbeResult:
        """Back from the flat numbers stored by `metrics` (per type: the same names with a '/<type>' suffix)."""
        overall = {k: v for k, v in m.items() if "/" not in k}
        types = sorted({k.split("/", 1)[1] for k in m if "/" in k})
        by_type = {
            t: cls._from_flat({k[: -len(t) - 1]: v for k, v in m.items() if k.endswith("/" + t)})
            for t in types
        }
        return replace(cls._from_flat(overall), by_type=by_type)

    @classmethod
    def _from_flat(cls, m: dict[str, float]) -> ProbeResult:
        hist = {k.removeprefix("hist_"): v for k, v in m.items() if k.startswith("hist_")}
        return cls(
            n=int(m["n"]),
            k=int(m["k"]),
            confident=m["confident"],
            agreement_hist=hist,
            mean_agreement=m["mean_agreement"],
            confident_share=m["confident_share"],
            confident_differs=m["confident_differs"],
            no_answer_rate=m["no_answer_rate"],
            greedy_advantage=m.get("greedy_advantage"),
        )

    def metrics(self) -> dict[str, float]:
        """Flat numbers for the run store (benchmark 'probe'); per type with a '/<type>' suffix."""
        skip = ("agreement_hist", "by_type")
        out = {k: float(v) for k, v in asdict(self).items() if k not in skip and v is not None}
        out.update({f"hist_{k}": v for k, v in self.agreement_hist.items()})
        for t, r in self.by_type.items():
            out.update({f"{k}/{t}": v for k, v in r.metrics().items()})
        return out

    def lines(self) -> list[str]:
        hist = "  ".join(f"{k}: {100 * v:.0f}%" for k, v in self.agreement_hist.items())
        return [
            f"label-free probe ({self.n} pool questions, k = {self.k}): mean agreement {self.mean_agreement:.2f}; "
            f"{100 * self.confident_share:.0f}% of questions have a confident majority, and on "
            f"{100 * self.confident_differs:.0f}% it differs from the greedy answer"
            + (
                ""
                if self.greedy_advantage is None
                else f"; greedy answer's mean advantage under the vote {self.greedy_advantage:+.2f}"
            ),
            f"agreement histogram: {hist}",
            self.verdict,
            *([line] if (line := self.type_line()) else []),
        ]


def _bin(agreement: float) -> str:
    for lo, hi in zip(BINS, BINS[1:], strict=False):
        if agreement < hi or hi == BINS[-1]:
            return f"{lo:.1f}-{hi:.1f}"
    return f"{BINS[-2]:.1f}-{BINS[-1]:.1f}"


def summarize_probe(
    greedy: Sequence[str | None],
    samples: Sequence[Sequence[str | None]],
    k: int,
    confident: float = 0.6,
    types: Sequence[str | None] | None = None,
) -> ProbeResult:
    """The probe's numbers from extracted answers: one greedy answer and k sampled ones per question; with
    `types` (one per question), the same per question type as well."""
    by_type: dict[str, ProbeResult] = {}
    if types is not None and len({t for t in types if t is not None}) > 1:
        for t in sorted({t for t in types if t is not None}):
            idx = [i for i, x in enumerate(types) if x == t]
            by_type[t] = summarize_probe([greedy[i] for i in idx], [samples[i] for i in idx], k, confident)
    hist = {_bin(lo + 1e-9): 0.0 for lo in BINS[:-1]}
    n = len(greedy)
    conf = differs = agree_sum = none = 0.0
    greedy_adv: list[float] = []
    for g, answers in zip(greedy, samples, strict=True):
        v = vote(list(answers))
        agree_sum += v.agreement
        hist[_bin(v.agreement)] += 1 / max(1, n)
        none += sum(a is None for a in answers) / max(1, len(answers))
        if v.label is not None and v.agreement >= confident:
            conf += 1
            differs += not equivalent(g, v.label)
        greedy_adv += _greedy_advantages(g, answers, v.label)
    return ProbeResult(
        n=n,
        k=k,
        confident=confident,
        agreement_hist=hist,
        mean_agreement=agree_sum / max(1, n),
        confident_share=conf / max(1, n),
        confident_differs=differs / max(1, n),
        no_answer_rate=none / max(1, n),
        greedy_advantage=statistics.fmean(greedy_adv) if greedy_adv else 0.0,
        by_type=by_type,
    )


def _greedy_advantages(g: str | None, answers: Sequence[str | None], label: str | None) -> list[float]:
    """GRPO advantages (r - mean) / (sd + 1e-4), reward 1 for the majority answer (none on a tie), of the samples
    that give the greedy answer: the label-free form of link 5 (bench/chain.py), by answer, not by route."""
    if g is None or not answers:
        return []
    rewards = [1.0 if label is not None and a is not None and equivalent(a, label) else 0.0 for a in answers]
    return [
        adv
        for a, adv in zip(answers, grpo_advantages(rewards), strict=True)
        if a is not None and equivalent(a, g)
    ]
