"""Which checkpoint a run delivers (`mmupt checkpoint RUN`), and why.

The run's model is its last checkpoint, except where the labelled dev guard is on (guard.max_dev_drop): then it
is the dev set's best round (USES LABELS), whether or not the guard stopped the run. Stopping alone kept most of
the loss where it came a little each round; the best round kept UPT within 2 points of its base
(bench/results/dev-guard.md). Other picks name a rule or a round outright.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from mmupt_core.view.devpick import best_round
from mmupt_core.view.summary import RoundSummary, collapse_at, delivered, dev_guard_fired, dev_margin

PICKS = ("run", "last", "dev", "dev-sampled")


class ChoiceError(ValueError):
    """A pick the run cannot answer (no such round, no dev set, nothing evaluated); the message says which."""


@dataclass(frozen=True)
class Choice:
    run_id: str
    round: int
    path: str
    pick: str
    why: str
    uses_labels: bool  # the choice read the labelled dev set
    greedy: float | None = None  # that round's greedy accuracy on the run's accuracy benchmark
    benchmark: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _dev(summaries: list[RoundSummary], field: str, what: str) -> dict[int, float]:
    scores = {s.round: getattr(s, field) for s in summaries if getattr(s, field) is not None and s.path}
    if not scores:
        raise ChoiceError(
            f"the run has no {what} on a labelled dev set: it needs evaluation.dev_items (which uses labels; on "
            "real data with evaluation.dev_benchmark and evaluation.dev_source)"
        )
    return scores


def choose(
    summaries: list[RoundSummary], run_id: str, pick: str = "run", round_: int | None = None
) -> Choice:
    """The checkpoint `pick` names: 'run' (what the run delivers), 'last' (its latest checkpoint), 'dev' or
    'dev-sampled' (the best round by the dev set's greedy or sampled accuracy, USES LABELS); or round `round_`."""
    with_ck = [s for s in summaries if s.path]
    if not with_ck:
        raise ChoiceError(f"run {run_id!r} has no checkpoint yet")
    by_round = {s.round: s for s in with_ck}
    if round_ is not None:
        if round_ not in by_round:
            have = ", ".join(str(r) for r in sorted(by_round))
            raise ChoiceError(f"run {run_id!r} has no checkpoint at round {round_} (it has rounds {have})")
        return _choice(run_id, by_round[round_], f"round {round_}", "the round asked for", False)
    if pick not in PICKS:
        raise ChoiceError(f"unknown pick {pick!r}: one of {', '.join(PICKS)}, or a round")
    last = max(with_ck, key=lambda s: s.round)
    if pick == "run":
        chosen, by_dev = delivered(summaries)
        collapsed = collapse_at(summaries)
        cap = (
            f"; the label-free collapse guard found the pool's votes piling onto one answer before round "
            f"{collapsed} trained, so no round after {collapsed - 2} is delivered"
            if collapsed is not None
            else ""
        )
        if not by_dev:
            if chosen.round != last.round:
                why = f"not the run's last checkpoint (round {last.round}){cap}"
                return _choice(run_id, chosen, pick, why, False)
            return _choice(run_id, last, pick, f"the run's last checkpoint (round {last.round})", False)
        dev = {s.round: s.dev for s in with_ck if s.dev is not None}
        fell = dev_guard_fired(summaries)
        sampled = {s.round: s.dev_sampled for s in summaries if s.dev_sampled is not None}
        stop = (
            f"it stopped the run after round {fell} (greedy {dev[0]:.3f} → {dev[fell]:.3f}"
            + (
                f", sampled {sampled[0]:.3f} → {sampled[fell]:.3f}"
                if summaries[-1].dev_watch_sampled and 0 in sampled and fell in sampled
                else ""
            )
            + ")"
            if fell is not None
            else "it did not stop the run"
        )
        types = len(next((s.dev_types for s in with_ck if s.round == 0), {}))
        n, z = dev_margin(summaries)
        rules = (
            [f"whose gain over the base is at least {z:g} standard errors on its {n} items"]
            if z and n
            else []
        )
        if types > 1:
            rules.append(
                f"where no question type fell more than {summaries[-1].max_dev_drop:.2f} below its base"
            )
        if summaries[-1].dev_watch_sampled:
            rules.append(
                f"whose sampled accuracy fell no more than {summaries[-1].max_dev_drop:.2f} below the base's"
            )
        among = f" (the base, or of the rounds {' and '.join(rules)})" if rules else ""
        why = (
            f"the dev guard is on, so the run delivers its best round on the labelled dev set{among}, {chosen.round} "
            f"(greedy {dev[chosen.round]:.3f}; the base {dev[0]:.3f}); its last is round {last.round}; {stop}{cap}"
        )
        return _choice(run_id, chosen, pick, why, True)
    if pick == "last":
        return _choice(run_id, last, pick, f"the run's last checkpoint (round {last.round})", False)
    field, what = ("dev", "greedy accuracy") if pick == "dev" else ("dev_sampled", "sampled accuracy")
    dev = _dev(summaries, field, what)
    best = best_round(dev)
    base = f"; the base {dev[0]:.3f}" if 0 in dev else ""
    why = f"the best round by {what} on the labelled dev set: {best} ({dev[best]:.3f}{base})"
    return _choice(run_id, by_round[best], pick, why, True)


def _choice(run_id: str, s: RoundSummary, pick: str, why: str, uses_labels: bool) -> Choice:
    return Choice(run_id, s.round, str(s.path), pick, why, uses_labels, s.greedy, s.benchmark)
