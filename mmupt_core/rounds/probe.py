"""A label-free probe: what majority voting can (and cannot) teach a model on an unlabeled pool, before training.

Majority-vote UPT moves greedy decoding toward the majority answer. It can only change what the model says where
a *confident* majority (agreement >= `confident`) disagrees with the greedy answer; where the majority repeats the
greedy answer, or is not confident, agreement has nothing to teach. The probe samples k answers per question and
reports, with no labels at all:
- the agreement histogram (share of questions per agreement bin),
- the share of questions with a confident majority, and the share whose confident majority differs from greedy,
- a verdict in words.

Whether the differing majorities are *right* cannot be known without labels; the probe says where UPT can move
the model, not that the move helps (bench/results/bootstrap.md sets it beside the labeled measures).

    mmupt probe --config conf/tiny.yaml
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from PIL import Image

from mmupt_core.config import RunConfig
from mmupt_core.data.items import Item
from mmupt_core.model.backend import make_sampler
from mmupt_core.model.sampling import PROBE_SEED_OFFSET, Request, Sampler, SamplingParams, requests_for
from mmupt_core.voting.advantages import grpo_advantages
from mmupt_core.voting.answers import equivalent, extract_answer
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

    @property
    def kind(self) -> str:
        """'little to teach', 'would sharpen' or 'something to teach'."""
        if self.confident_differs < LITTLE_TO_TEACH:
            return "little to teach"
        if self.greedy_advantage is not None and self.greedy_advantage > SHARPENS:
            return "would sharpen"
        return "something to teach"

    @property
    def verdict(self) -> str:
        pct = f"{100 * self.confident_differs:.0f}%"
        if self.kind == "little to teach":
            return (
                f"majority voting has little to teach here: on only {pct} of {self.n} questions does a confident "
                f"majority (agreement >= {self.confident:.1f}) differ from the greedy answer"
            )
        if self.kind == "would sharpen":
            return (
                f"majority voting would mostly sharpen what greedy decoding says: a confident majority differs "
                f"from it on {pct} of {self.n} questions, but samples giving the greedy answer win the vote more "
                f"often than not (mean advantage {self.greedy_advantage:+.2f})"
            )
        return (
            f"majority voting has something to teach: on {pct} of {self.n} questions a confident majority "
            f"(agreement >= {self.confident:.1f}) differs from the greedy answer"
        )

    @classmethod
    def from_metrics(cls, m: dict[str, float]) -> ProbeResult:
        """Back from the flat numbers stored by `metrics`."""
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
        """Flat numbers for the run store (benchmark 'probe')."""
        out = {k: float(v) for k, v in asdict(self).items() if k != "agreement_hist" and v is not None}
        out.update({f"hist_{k}": v for k, v in self.agreement_hist.items()})
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
        ]


def _bin(agreement: float) -> str:
    for lo, hi in zip(BINS, BINS[1:], strict=False):
        if agreement < hi or hi == BINS[-1]:
            return f"{lo:.1f}-{hi:.1f}"
    return f"{BINS[-2]:.1f}-{BINS[-1]:.1f}"


def summarize_probe(
    greedy: Sequence[str | None], samples: Sequence[Sequence[str | None]], k: int, confident: float = 0.6
) -> ProbeResult:
    """The probe's numbers from extracted answers: one greedy answer and k sampled ones per question."""
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


def run_probe(
    sampler: Sampler,
    items: Sequence[Item],
    requests: Sequence[Request],
    params: SamplingParams,
    *,
    confident: float = 0.6,
) -> ProbeResult:
    """Greedy and params.n samples per pool question from one checkpoint; no answers are read."""
    greedy = sampler.sample(requests, params.greedy())
    sampled = sampler.sample(requests, params)
    k = params.n
    g = [extract_answer(s.completions[0].text, it.choices) for s, it in zip(greedy, items, strict=True)]
    answers = [
        [extract_answer(c.text, it.choices) for c in s.completions]
        for s, it in zip(sampled, items, strict=True)
    ]
    return summarize_probe(g, answers, k, confident)


def probe_checkpoint(
    config: RunConfig, checkpoint: str, items: Sequence[Item], images: dict[str, Image.Image]
) -> ProbeResult:
    """The probe of one checkpoint on the pool as a run would vote on it (voting.n_votes at the sampling
    temperature), on a seed stream of its own. The pool is taken in item-id order, the order the store returns
    it in, so that the probe stage and `mmupt probe` batch, and so sample, alike."""
    items = sorted(items, key=lambda it: it.item_id)
    requests = requests_for(items, config.sampling.prompt_suffix, config.model.image_first, images)
    params = SamplingParams.votes(config, offset=PROBE_SEED_OFFSET)
    return run_probe(make_sampler(config, checkpoint), items, requests, params)
