"""Run or resume rounds without Prefect (the flow in flows/improve.py does the same through tasks).

Resume comes from the store: every stage marked done under the same config hash is skipped, and each round
starts from the last finished checkpoint before it. A branch starts a new run from (run, round k).

    python -m mmupt_core.rounds --config conf/tiny.yaml --rounds 3 --run default
"""

from __future__ import annotations

import argparse
import logging

from mmupt_core.config import RunConfig, dump_config, load_config
from mmupt_core.paths import run_dir
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.preflight import preflight
from mmupt_core.rounds.runlock import run_lock
from mmupt_core.rounds.runner import ROUND_STAGES, SETUP_STAGES, announce_round, run_stage
from mmupt_core.rounds.stages import STAGE_FUNCTIONS, stop_suggested

log = logging.getLogger(__name__)


def prepare_run(
    config: RunConfig, run_id: str, from_run: str | None = None, from_round: int | None = None
) -> int:
    """Create (or reopen) the run; returns the first UPT round to run. Callers run `preflight` first."""
    store = Context(config, run_id, 0).store
    supervised = config.training.reward == "ground_truth"
    if from_run is not None:
        if from_round is None:
            raise ValueError("branching needs both from_run and from_round")
        if not store.has_run(run_id):
            store.branch(run_id, from_run, from_round, config.section_hash(), dump_config(config))
        return from_round + 1
    run = store.get_run(run_id) if store.has_run(run_id) else None
    if run is not None and run["parent_run_id"] is not None:
        return int(run["parent_round"]) + 1
    store.ensure_run(run_id, config.section_hash(), dump_config(config), supervised=supervised)
    return 1


def setup_stages(config: RunConfig, run_id: str) -> None:
    ctx = Context(config, run_id, 0)
    for stage in SETUP_STAGES:
        run_stage(ctx, stage, STAGE_FUNCTIONS[stage])
    announce_round(ctx)


def run_round(config: RunConfig, run_id: str, round_: int) -> None:
    ctx = Context(config, run_id, round_)
    for stage in ROUND_STAGES:
        run_stage(ctx, stage, STAGE_FUNCTIONS[stage])
    announce_round(ctx)


def run_rounds(
    config: RunConfig,
    rounds: int,
    run_id: str = "default",
    from_run: str | None = None,
    from_round: int | None = None,
) -> None:
    preflight(config, run_id)  # every run-level problem, before any work or lock
    with run_lock(run_dir(config, run_id)):
        first = prepare_run(config, run_id, from_run, from_round)
        if first == 1:
            setup_stages(config, run_id)
        for round_ in range(first, rounds + 1):
            run_round(config, run_id, round_)
            if config.training.early_stop and stop_suggested(Context(config, run_id, round_)):
                log.warning("%s: stopping after round %d on the label-free stopping signal", run_id, round_)
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
    run_watched(cfg, args, lambda: run_rounds(cfg, args.rounds, args.run, args.from_run, args.from_round))


if __name__ == "__main__":
    main()
