"""Multi-round label-free improvement as a Prefect flow.
    python -m flows.improve --config conf/tiny.yaml --rounds 3 --run default      # local, no server needed
    make round N=3 RUN=default                                                     # the same through make
    prefect deployment run 'improve/local' -p config=conf/tiny.yaml -p overrides='["sampling.n=16"]'
The flow takes a config file and `--set`-style overrides (plain strings that a deployment, the CLI and the UI can
pass); the run records the resolved config and names the file it came from.
Each round is a subflow named `<run>-round-<k>`; running again with the same run id skips every stage the store
marks done under the same config hash and continues from the last finished checkpoint; `from_run`/`from_round`
branch a new run from another run's round-k checkpoint.
"""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Core modules log with plain `logging`; Prefect attaches its handlers to these loggers (so the lines reach the
# run's logs in the UI), but leaves their level unset, which would drop INFO.
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "mmupt_core")
logging.getLogger("mmupt_core").setLevel(logging.INFO)

from prefect import flow  # noqa: E402
from prefect.artifacts import create_progress_artifact, update_progress_artifact  # noqa: E402
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings  # noqa: E402

from flows.round import round_flow  # noqa: E402
from mmupt_core.config import RunConfig, config_source, load_config  # noqa: E402
from mmupt_core.rounds.driver import Steps, arg_parser, run_rounds  # noqa: E402
from tasks import report, stages  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = "conf/tiny.yaml"  # the embedded default; the UI form opens pre-filled with it


def find_config(path: str) -> Path:
    """A config path as given, or relative to the project (a worker may start in another folder)."""
    p = Path(path)
    if p.is_absolute() or p.is_file() or not (ROOT / p).is_file():
        return p
    return ROOT / p


@flow(name="improve", flow_run_name="{run_id}", log_prints=False)
def improve(
    config: str = DEFAULT_CONFIG,
    overrides: list[str] | None = None,
    rounds: int = 3,
    run_id: str = "default",
    from_run: str | None = None,
    from_round: int | None = None,
) -> str:
    """Run (or resume, or branch) `rounds` rounds of MM-UPT on `config` (a YAML file) with `overrides`
    ("sampling.n=16", ...); returns the Markdown summary."""
    overrides = list(overrides or [])
    cfg = load_config(find_config(config), overrides)  # a bad config fails here, naming the field and file
    progress = create_progress_artifact(progress=0.0, description=f"{run_id}: {rounds} round(s)")
    run_rounds(
        cfg,
        rounds,
        run_id,
        from_run,
        from_round,
        Steps(
            prepare=stages.prepare,
            setup=setup,
            round=lambda cfg, run, k: round_flow.with_options(flow_run_name=f"{run}-round-{k}")(cfg, run, k),
            announce=report.announce,
            should_stop=stages.should_stop,
            progress=lambda done, total: update_progress_artifact(progress, progress=100.0 * done / total),
        ),
        source=config_source(config, overrides),
    )
    update_progress_artifact(progress, progress=100.0)
    return report.summary_artifact(cfg, run_id)


def setup(config: RunConfig, run_id: str) -> None:
    """Round 0, the base, as four tasks: its checkpoint, the pool, the label-free probe, its scores."""
    stages.bootstrap(config, run_id)
    stages.load(config, run_id)
    stages.probe(config, run_id)
    stages.evaluate(config, run_id, 0)


@contextmanager
def local_settings() -> Iterator[None]:
    """Without a Prefect server (no PREFECT_API_URL: the API lives in this process and ends with it) flow runs
    send no heartbeats: nothing is left to watch them, and each flow run's exit waits up to 1 s for its
    heartbeat thread (bench/results/orchestration.md)."""
    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def main() -> None:  # pragma: no cover - thin CLI
    from mmupt_core.view.live import run_watched

    args = arg_parser(__doc__, DEFAULT_CONFIG).parse_args()
    cfg = load_config(find_config(args.config), args.set)

    def go() -> str:
        with local_settings():
            return improve(args.config, args.set, args.rounds, args.run, args.from_run, args.from_round)

    run_watched(cfg, args, go)


if __name__ == "__main__":
    main()
