"""How a stage runs: its context (config, run, round), the store's done-marks, and the record written at the end.

`run_stage` skips a stage the store marks done under the same config hash; otherwise it runs the stage function
and writes everything it returned (a `StageRecord`) atomically with the stage's status. Progress events
(events.py) announce each stage and each finished round.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from mmupt_core import events
from mmupt_core.config import RunConfig
from mmupt_core.paths import mmupt_home
from mmupt_core.rounds.context import Context
from mmupt_core.store.rows import StageRecord

log = logging.getLogger(__name__)
ROUND_STAGES = ("synthesize", "sample", "vote", "train", "evaluate", "record")
# Round 0 is the base: its checkpoint, the pool, the label-free probe, and its scores (the baseline every
# later round is compared with).
SETUP_STAGES = ("bootstrap", "load", "probe", "evaluate")


def has_work(config: RunConfig, stage: str) -> bool:
    """False for a stage the config turns off: synthesize while synthesis.strategy is off."""
    return not (stage == "synthesize" and not config.synthesis.strategies)


def _silent(kind: str, **data) -> None:
    """Emits nothing: the events of a stage with no work."""


def run_stage(ctx: Context, stage: str, fn: Callable[[Context], StageRecord], *, force: bool = False) -> bool:
    """Run fn unless the store marks (run, round, stage) done under this config hash; returns True if it ran."""
    store = ctx.store
    # A stage the config turns off still runs (and is recorded, so resume sees it done) but is not shown.
    emit = events.emit if has_work(ctx.config, stage) else _silent
    if not force and store.stage_done(ctx.run_id, ctx.round, stage, ctx.config_hash):
        log.info("%s round %d %s: done, skipped", ctx.run_id, ctx.round, stage)
        emit("stage_end", run_id=ctx.run_id, round=ctx.round, stage=stage, ran=False, wall_s=0.0)
        return False
    emit("stage_start", run_id=ctx.run_id, round=ctx.round, stage=stage)
    store.start_stage(ctx.run_id, ctx.round, stage, ctx.config_hash)
    _fault_point(ctx, stage, "before")
    start = time.perf_counter()
    try:
        record = fn(ctx)
    except BaseException as exc:
        store.fail_stage(ctx.run_id, ctx.round, stage, f"{type(exc).__name__}: {exc}")
        raise
    wall = time.perf_counter() - start
    _fault_point(ctx, stage, "after")
    finishes = stage == ROUND_STAGES[-1] or (ctx.round == 0 and stage == SETUP_STAGES[-1])
    store.record_stage(
        ctx.run_id, ctx.round, stage, ctx.config_hash, record, wall_s=wall, finishes_round=finishes
    )
    log.info("%s round %d %s: %.1fs", ctx.run_id, ctx.round, stage, wall)
    emit("stage_end", run_id=ctx.run_id, round=ctx.round, stage=stage, ran=True, wall_s=wall)
    return True


def announce_round(ctx: Context) -> None:
    """A finished round's summary for whoever watches the run (events.py); round 0 also brings the probe's
    verdict. Read from the store, so a resumed run announces what it skipped too."""
    from mmupt_core.rounds.guard import gone_past, stored_probe
    from mmupt_core.view.summary import round_summaries

    if ctx.round == 0 and (probe := stored_probe(ctx)) is not None:
        past = gone_past(ctx.config, probe)
        events.emit("note", run_id=ctx.run_id, lines=[*probe.lines(), *([past] if past else [])])
    rows = {s.round: s for s in round_summaries(ctx.store, ctx.run_id)}
    if ctx.round in rows:
        events.emit("round_end", run_id=ctx.run_id, round=ctx.round, summary=rows[ctx.round])


def _fault_point(ctx: Context, stage: str, when: str) -> None:
    """Fault injection for crash tests: with MMUPT_FAULT_PAUSE="<stage>:<before|after>[:<round>]"
    the process announces itself in MMUPT_HOME/fault.ready and waits there to be killed."""
    spec = os.environ.get("MMUPT_FAULT_PAUSE", "")
    if not spec:
        return
    parts = spec.split(":")
    if parts[0] != stage or parts[1] != when or (len(parts) > 2 and int(parts[2]) != ctx.round):
        return
    marker = mmupt_home() / "fault.ready"
    marker.write_text(f"{ctx.run_id} {ctx.round} {stage} {when} {os.getpid()}")
    time.sleep(3600)
