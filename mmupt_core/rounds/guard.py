"""The do-no-harm guards. Before round 1, label-free: the probe's verdict on the base decides whether rounds run.
Before round k >= 2 trains, label-free: the consolidation guard stops a run whose last update lowered the pool's
agreement under the vote by more than guard.min_agreement_change, and the collapse guard one whose votes pile onto
one answer (guard.max_top_label_rise; the run then delivers the checkpoint before the one that did it). After each round, only when configured and
USING LABELS: the dev guard stops a run whose greedy accuracy on the
labelled dev set (evaluation.dev_items) fell more than guard.max_dev_drop below the base's.


A "little to teach" or "may harm" verdict (mmupt_core/voting/probe.py) stops the run after round 0 unless the
config sets `guard.go_on_anyway` (true, or a list naming that verdict); the run keeps its base, probe and scores, and resuming it with the setting on
trains from there without redoing them (the guard is outside the config hash). Branched runs and runs that have
already trained past round 1 are never stopped by the probe.
"""

from __future__ import annotations

from mmupt_core.config import RunConfig
from mmupt_core.rounds.context import Context
from mmupt_core.view.collapse import piled_on
from mmupt_core.view.summary import delivered, dev_fell, round_summaries, watched_sampled
from mmupt_core.voting.probe import ProbeResult, stopping_verdicts

GO_ON = "guard.go_on_anyway=true"


def stored_probe(ctx: Context) -> ProbeResult | None:
    probe = {m["metric"]: m["value"] for m in ctx.store.metrics(ctx.run_id) if m["benchmark"] == "probe"}
    return ProbeResult.from_metrics(probe) if probe else None


def held_out_types(config: RunConfig, run_id: str) -> set[str]:
    """Question types left out of training: those whose own probe verdict stops, when another type may train
    (where types differ, one type's collapse hides in the overall mean); guard.go_on_anyway lets them train."""
    stopping = stopping_verdicts(config.go_on_anyway())
    if not stopping:
        return set()
    probe = stored_probe(Context(config, run_id, 0))
    return probe.held_types(stopping) if probe is not None else set()


def guard_stop(config: RunConfig, run_id: str) -> str | None:
    """Why the run must stop before round 1, in words, or None when it may train: the verdict on all the pool
    stops, or every question type's does (ProbeResult.stops_run); when the run goes on, the types whose own
    verdict stops are held out of training instead (held_out_types)."""
    stopping = stopping_verdicts(config.go_on_anyway())
    if not stopping:
        return None
    ctx = Context(config, run_id, 0)
    if any(c["round"] >= 1 for c in ctx.store.lineage(run_id)):
        return None
    probe = stored_probe(ctx)
    if probe is None or not probe.stops_run(stopping):
        return None
    elsewhere = ""
    if isinstance(config.guard.go_on_anyway, dict) and config.go_on_anyway() is False:
        elsewhere = (
            f" (the config's guard.go_on_anyway holds on world {', '.join(config.guard.go_on_anyway)} only, "
            "as defined and with the first SFT it was measured on)"
        )
    return (
        f"stopped before round 1 by the label-free probe ({probe.kind}): {probe.verdict}{elsewhere}; "
        f"set {GO_ON} to train anyway"
    )


def gone_past(config: RunConfig, probe: ProbeResult) -> str | None:
    """A line for the terminal when the probe's verdict would stop the run and the config goes past it."""
    if not probe.stops_run() or probe.stops_run(stopping_verdicts(config.go_on_anyway())):
        return None
    return f"the config goes past the probe's '{probe.kind}' (guard.go_on_anyway): the rounds train anyway"


def dev_guard_stop(config: RunConfig, run_id: str, round_: int) -> str | None:
    """Why the run must stop after `round_` by the labelled dev guard, or None (also when it is off)."""
    drop = config.guard.max_dev_drop
    if drop is None:
        return None
    summaries = round_summaries(Context(config, run_id, round_).store, run_id)
    fell = dev_fell(summaries, round_)
    if not fell:
        return None
    dev = {s.round: s.dev for s in summaries if s.dev is not None}
    by_type = {s.round: s.dev_types for s in summaries}
    # the run's last checkpoint is the round that fell; the round it delivers is named, because keeping it is
    # what does no harm: stopping alone kept most of the loss where it came a little each round
    # (bench/results/dev-guard.md); no question type may have fallen past the line there either
    best = delivered(summaries)[0].round
    path = next((s.path for s in summaries if s.round == best and s.path), None)
    use = f": use its checkpoint, {path} (`mmupt checkpoint {run_id}` gives it)" if path else ""
    greedy = _fallen(dev, by_type, round_, [f for f in fell if not f.startswith("sampled")])
    what = [f"greedy on the labelled dev set {', '.join(greedy)}"] if greedy else []
    sampled_fell = [f.removeprefix("sampled").strip() or "overall" for f in fell if f.startswith("sampled")]
    if sampled_fell:
        sampled = watched_sampled(summaries)
        where = _fallen(sampled.overall, sampled.by_type, round_, sampled_fell)
        what.append(f"sampled accuracy on the labelled dev set {', '.join(where)}")
    return (
        f"stopped after round {round_} by the dev guard (USES LABELS): {'; '.join(what)}, more than {drop:.2f} "
        f"below the base; the round it delivers is {best} ({dev[best]:.3f}){use}"
    )


def _fallen(
    overall: dict[int, float], by_type: dict[int, dict[str, float]], round_: int, names: list[str]
) -> list[str]:
    """Each fall in words: "overall" as 'base → round', a question type as 'on TYPE questions base → round'."""
    return [
        f"{overall[0]:.3f} → {overall[round_]:.3f}"
        if n == "overall"
        else f"on {n} questions {by_type[0][n]:.3f} → {by_type[round_][n]:.3f}"
        for n in names
    ]


def mean_agreement(ctx: Context, round_: int) -> float | None:
    rows = ctx.store.pseudo_labels(ctx.run_id, round_)
    return sum(p["agreement"] for p in rows) / len(rows) if rows else None


def _held_round(config: RunConfig, run_id: str, round_: int, line: float | None) -> Context | None:
    """The context of round `round_` where a label-free in-run guard with this `line` may hold it back: the guard
    is on, the round is 2 or later, and it has not trained (before the guard, or with it off)."""
    if line is None or round_ < 2:
        return None
    ctx = Context(config, run_id, round_)
    return None if any(c["round"] == round_ for c in ctx.store.lineage(run_id)) else ctx


def consolidation_stop(config: RunConfig, run_id: str, round_: int) -> str | None:
    """Why round `round_` must not train (its votes show the previous update lowered agreement), or None."""
    floor = config.guard.min_agreement_change
    ctx = _held_round(config, run_id, round_, floor)
    if ctx is None:
        return None
    now, before = mean_agreement(ctx, round_), mean_agreement(ctx, round_ - 1)
    if now is None or before is None or now - before >= floor:
        return None
    return (
        f"stopped before round {round_} trained, by the label-free consolidation guard: round {round_ - 1}'s "
        f"update lowered the pool's agreement under the vote {before:.3f} → {now:.3f} (change {now - before:+.3f}, "
        f"floor {floor:+.3f}), so it was not fitting the majority; round {round_ - 1}'s checkpoint is the run's last; "
        "set guard.min_agreement_change=null to train on"
    )


def top_label_shares(ctx: Context) -> dict[int, tuple[float, int | None]]:
    """By round: (the share of the pool whose vote elects its single most common answer, the pool's items)."""
    return {
        m["round"]: (m["value"], m["n"])
        for m in ctx.store.metrics(ctx.run_id)
        if m["benchmark"] == "pool" and m["metric"] == "top_label_share"
    }


def collapse_stop(config: RunConfig, run_id: str, round_: int) -> str | None:
    """Why round `round_` must not train (its votes pile onto one answer, more than round 1's did), or None."""
    rise = config.guard.max_top_label_rise
    ctx = _held_round(config, run_id, round_, rise)
    if ctx is None:
        return None
    shares = top_label_shares(ctx)
    if 1 not in shares or round_ not in shares:
        return None
    (first, first_n), (now, now_n) = shares[1], shares[round_]
    if not piled_on(first, now, min(first_n or 0, now_n or 0), rise):
        return None
    keep = round_ - 2
    return (
        f"stopped before round {round_} trained, by the label-free collapse guard: the share of the pool whose vote "
        f"elects its most common answer rose {first:.3f} → {now:.3f} since round 1 (more than {rise:.2f}, and clear "
        f"of the share's noise), so the "
        f"votes pile onto one answer whatever the question; the run delivers round {keep}'s checkpoint"
        f"{' (the base)' if keep == 0 else ''}, the last before round {round_ - 1}'s, whose samples showed it; set "
        "guard.max_top_label_rise=null to train on"
    )
