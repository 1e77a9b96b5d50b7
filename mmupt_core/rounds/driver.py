"""The one round driver: run, resume or branch rounds. Without Prefect it runs each stage in this process; the
flow in flows/improve.py passes the same pieces as Prefect tasks (`Steps`).

Resume comes from the store: every stage marked done under the same config hash is skipped, and each round
starts from the last finished checkpoint before it. A branch starts a new run from (run, round k).

    python -m mmupt_core.rounds --config conf/tiny.yaml --rounds 3 --run default
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from dataclasses import dataclass

from mmupt_core.config import RunConfig, config_source, dump_config, load_config
from mmupt_core.events import emit
from mmupt_core.paths import run_dir
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.guard import collapse_stop, consolidation_stop, dev_guard_stop, guard_stop
from mmupt_core.rounds.preflight import preflight
from mmupt_core.rounds.runlock import run_lock
from mmupt_core.rounds.runner import ROUND_STAGES, SETUP_STAGES, announce_round, run_stage
from mmupt_core.rounds.stages import STAGE_FUNCTIONS, stop_suggested

log = logging.getLogger(__name__)


def prepare_run(
    config: RunConfig,
    run_id: str,
    from_run: str | None = None,
    from_round: int | None = None,
    source: str | None = None,
) -> int:
    """Create (or reopen) the run; returns the first UPT round to run. `source` names the config file and
    overrides the run was started with (stored beside the resolved config). Callers run `preflight` first."""
    store = Context(config, run_id, 0).store
    supervised = config.training.reward == "ground_truth"
    if from_run is not None:
        if from_round is None:
            raise ValueError("branching needs both from_run and from_round")
        if not store.has_run(run_id):
            store.branch(run_id, from_run, from_round, config.section_hash(), dump_config(config), source)
        return from_round + 1
    run = store.get_run(run_id) if store.has_run(run_id) else None
    if run is not None and run["parent_run_id"] is not None:
        return int(run["parent_round"]) + 1
    store.ensure_run(
        run_id, config.section_hash(), dump_config(config), supervised=supervised, config_source=source
    )
    return 1


def _run_stages(ctx: Context, names: tuple[str, ...]) -> None:
    """The named stages in order; each skips itself when the store marks it done."""
    for stage in names:
        run_stage(ctx, stage, STAGE_FUNCTIONS[stage])


def setup_stages(config: RunConfig, run_id: str) -> None:
    """Round 0, the base: its checkpoint, the pool, the label-free probe, its scores."""
    _run_stages(Context(config, run_id, 0), SETUP_STAGES)


def run_round(config: RunConfig, run_id: str, round_: int) -> None:
    """One round: synthesize, sample, vote, train, evaluate, record; it ends after the vote when the
    consolidation or the collapse guard says the round must not train (should_stop then stops the run)."""
    ctx = Context(config, run_id, round_)
    before, after = ROUND_STAGES[: ROUND_STAGES.index("train")], ROUND_STAGES[ROUND_STAGES.index("train") :]
    _run_stages(ctx, before)
    if consolidation_stop(config, run_id, round_) or collapse_stop(config, run_id, round_):
        return
    _run_stages(ctx, after)


def announce(config: RunConfig, run_id: str, round_: int) -> None:
    announce_round(Context(config, run_id, round_))


def should_stop(config: RunConfig, run_id: str, round_: int) -> bool:
    """True when training.early_stop is on and the round's label-free stopping signal fired, or when the
    labelled dev guard (guard.max_dev_drop, off by default) fired."""
    if reason := (
        consolidation_stop(config, run_id, round_)
        or collapse_stop(config, run_id, round_)
        or dev_guard_stop(config, run_id, round_)
    ):
        log.warning("%s: %s", run_id, reason)
        emit("note", run_id=run_id, lines=[reason])
        return True
    if config.training.early_stop and stop_suggested(Context(config, run_id, round_)):
        log.warning("%s: stopping after round %d on the label-free stopping signal", run_id, round_)
        return True
    return False


@dataclass(frozen=True)
class Steps:
    """How the driver runs each piece of a run. The defaults run them in this process; flows/improve.py passes
    the same pieces as Prefect tasks and a subflow per round, so both entry points share one driver."""

    prepare: Callable[[RunConfig, str, str | None, int | None, str | None], int] = prepare_run
    setup: Callable[[RunConfig, str], object] = setup_stages
    round: Callable[[RunConfig, str, int], object] = run_round
    announce: Callable[[RunConfig, str, int], object] = announce
    should_stop: Callable[[RunConfig, str, int], bool] = should_stop
    guard: Callable[[RunConfig, str], str | None] = guard_stop
    progress: Callable[[int, int], object] = lambda done, total: None


def run_rounds(
    config: RunConfig,
    rounds: int,
    run_id: str = "default",
    from_run: str | None = None,
    from_round: int | None = None,
    steps: Steps | None = None,
    source: str | None = None,
) -> None:
    """Run, resume or branch `rounds` rounds: preflight, the run lock, round 0 (the base) for a new run, then
    each round, announced, until `rounds` or the label-free stopping signal (with training.early_stop). A new run
    whose probe says "little to teach" or "may harm" stops after round 0 unless guard.go_on_anyway (guard.py)."""
    steps = steps or Steps()
    preflight(config, run_id)  # every run-level problem, before any work or lock
    with run_lock(run_dir(config, run_id)):  # a second driver on the same run refuses instead of interleaving
        first = steps.prepare(config, run_id, from_run, from_round, source)
        if first == 1:
            steps.setup(config, run_id)
        steps.announce(config, run_id, 0)
        todo = list(range(first, rounds + 1))
        if first == 1 and todo and (reason := steps.guard(config, run_id)):
            log.warning("%s: %s", run_id, reason)
            emit("note", run_id=run_id, lines=[reason])
            return
        for done, round_ in enumerate(todo, 1):
            steps.round(config, run_id, round_)
            steps.announce(config, run_id, round_)
            steps.progress(done, len(todo))
            if steps.should_stop(config, run_id, round_):
                break


def arg_parser(description: str | None, default_config: str = "conf/tiny.yaml") -> argparse.ArgumentParser:
    """The options both round entry points take (this module and flows/improve.py)."""
    ap = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--config", default=default_config)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--run", default="default")
    ap.add_argument("--from-run")
    ap.add_argument("--from-round", type=int)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument(
        "--verbose", "-v", action="store_true", help="every library's output on the terminal (no live view)"
    )
    return ap


def main() -> None:  # pragma: no cover - thin CLI
    from mmupt_core.view.live import run_watched

    args = arg_parser(__doc__).parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = load_config(args.config, args.set)
    source = config_source(args.config, args.set)
    run_watched(
        cfg,
        args,
        lambda: run_rounds(cfg, args.rounds, args.run, args.from_run, args.from_round, source=source),
    )


if __name__ == "__main__":
    main()
