"""Orchestration overhead: rounds through the Prefect flow against the same core stages called directly, and
where the difference goes. Both start from the cached bootstrap; each uses its own run id. The stages' own
progress events (events.py) time every stage, so the flow's time splits into: start-up (the ephemeral API
server, the flow run), the stages themselves, the gaps between stages (task runs, round subflows, artifacts),
and the tail (summary artifact, log flush). Results go to bench/results/orchestration.{json,md}.

    .venv/bin/python -m bench.orchestration --rounds 3 [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from mmupt_core.config import load_config
from mmupt_core.events import LOGGER_NAME
from mmupt_core.rounds.driver import run_rounds, setup_stages

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "bench" / "results"


class Timeline(logging.Handler):
    """Wall-clock times of stage starts and ends."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.marks: list[tuple[float, str, int, str]] = []

    def emit(self, record):
        e = getattr(record, "event", None)
        if e and e["kind"] in ("stage_start", "stage_end"):
            self.marks.append((time.perf_counter(), e["kind"], e["round"], e["stage"]))


def timed(fn) -> dict:
    tl = Timeline()
    log = logging.getLogger(LOGGER_NAME)
    log.addHandler(tl)
    start = time.perf_counter()
    try:
        fn()
    finally:
        log.removeHandler(tl)
    end = time.perf_counter()
    starts = [t for t, k, _, _ in tl.marks if k == "stage_start"]
    ends = [t for t, k, _, _ in tl.marks if k == "stage_end"]
    stage_s = 0.0
    gaps = 0.0
    open_at = None
    last_end = None
    for t, kind, _, _ in tl.marks:
        if kind == "stage_start":
            if last_end is not None:
                gaps += t - last_end
            open_at = t
        elif open_at is not None:
            stage_s += t - open_at
            open_at, last_end = None, t
    return {
        "total_s": end - start,
        "startup_s": (starts[0] - start) if starts else None,
        "stages_s": stage_s,
        "between_stages_s": gaps,
        "tail_s": (end - ends[-1]) if ends else None,
        "stages": len(starts),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args()
    cfg = load_config(ROOT / "conf" / "tiny.yaml", ["store.db=bench-orchestration.duckdb", *args.overrides])
    stamp = str(int(time.time()))
    # Warm caches (world + bootstrap) outside both timings.
    from mmupt_core.rounds.driver import prepare_run

    prepare_run(cfg, f"warm-{stamp}")
    setup_stages(cfg, f"warm-{stamp}")

    direct = timed(lambda: run_rounds(cfg, args.rounds, f"direct-{stamp}"))
    from flows.improve import improve, local_settings

    def through_flow():
        with local_settings():  # as `make round` runs it
            improve(
                str(ROOT / "conf" / "tiny.yaml"),
                ["store.db=bench-orchestration.duckdb", *args.overrides],
                args.rounds,
                f"flow-{stamp}",
            )

    flow = timed(through_flow)
    over = flow["total_s"] - direct["total_s"]
    out = {"rounds": args.rounds, "direct": direct, "flow": flow, "overhead_s": over}
    out["overhead_frac"] = over / direct["total_s"]
    per_round = (over - (flow["startup_s"] - direct["startup_s"])) / args.rounds
    out["per_round_overhead_s"] = per_round
    out["round_s"] = direct["stages_s"] / (args.rounds + 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "orchestration.json").write_text(json.dumps(out, indent=1))
    rows = [
        ("total", "total_s"),
        ("start-up (before the first stage)", "startup_s"),
        ("the stages themselves", "stages_s"),
        ("between stages (task runs, subflows, artifacts)", "between_stages_s"),
        ("tail (after the last stage)", "tail_s"),
    ]
    lines = [
        "# Orchestration overhead",
        "",
        f"{args.rounds} round(s) plus round 0 (probe and base evaluation) on the embedded default, bootstrap cached; "
        "the same core stages called directly (`mmupt_core.rounds`) and through the Prefect flow "
        "(`flows.improve`, ephemeral API server). One run each, same machine, one after the other.",
        "",
        "| part | direct s | flow s | flow − direct s |",
        "|---|---|---|---|",
    ]
    for label, key in rows:
        d, f = direct[key] or 0.0, flow[key] or 0.0
        lines.append(f"| {label} | {d:.1f} | {f:.1f} | {f - d:+.1f} |")
    lines += [
        "",
        f"Overhead {over:+.1f} s = {100 * out['overhead_frac']:+.1f}% of the direct run (goal ≤ 5%). "
        f"Start-up aside, {per_round:+.2f} s a round against {out['round_s']:.0f} s of stage work a round "
        f"({100 * per_round / out['round_s']:+.1f}%).",
    ]
    text = "\n".join(lines) + "\n"
    (RESULTS / "orchestration.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
