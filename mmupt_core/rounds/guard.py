"""The do-no-harm guard before round 1: the label-free probe's verdict on the base decides whether rounds run.

A "little to teach" or "may harm" verdict (mmupt_core/voting/probe.py) stops the run after round 0 unless the
config sets `guard.go_on_anyway`; the run keeps its base, probe and scores, and resuming it with the setting on
trains from there without redoing them (the guard is outside the config hash). Branched runs and runs that have
already trained past round 1 are never stopped here.
"""

from __future__ import annotations

from mmupt_core.config import RunConfig
from mmupt_core.rounds.context import Context
from mmupt_core.voting.probe import ProbeResult

GO_ON = "guard.go_on_anyway=true"


def stored_probe(ctx: Context) -> ProbeResult | None:
    probe = {m["metric"]: m["value"] for m in ctx.store.metrics(ctx.run_id) if m["benchmark"] == "probe"}
    return ProbeResult.from_metrics(probe) if probe else None


def guard_stop(config: RunConfig, run_id: str) -> str | None:
    """Why the run must stop before round 1, in words, or None when it may train."""
    if config.guard.go_on_anyway:
        return None
    ctx = Context(config, run_id, 0)
    if any(c["round"] >= 1 for c in ctx.store.lineage(run_id)):
        return None
    probe = stored_probe(ctx)
    if probe is None or not probe.stops:
        return None
    return (
        f"stopped before round 1 by the label-free probe ({probe.kind}): {probe.verdict}; "
        f"set {GO_ON} to train anyway"
    )
