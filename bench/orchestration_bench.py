"""Orchestration overhead: one round through the Prefect flow against the same core stages called directly.
Both start from the cached bootstrap; each uses its own run id. Results go to bench/results/orchestration.{json,md}.

    .venv/bin/python bench/orchestration_bench.py [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmupt_core.config import load_config  # noqa: E402
from mmupt_core.rounds import run_rounds, setup_stages  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args()
    cfg = load_config(ROOT / "conf" / "tiny.yaml", ["store.db=bench-orchestration.duckdb", *args.overrides])
    stamp = str(int(time.time()))
    # Warm caches (world + bootstrap) outside both timings.
    from mmupt_core.rounds import prepare_run

    prepare_run(cfg, f"warm-{stamp}")
    setup_stages(cfg, f"warm-{stamp}")

    start = time.perf_counter()
    run_rounds(cfg, 1, f"direct-{stamp}")
    direct = time.perf_counter() - start

    from flows.improve import improve

    start = time.perf_counter()
    improve(cfg, 1, f"flow-{stamp}")
    flow = time.perf_counter() - start
    out = {
        "direct_s": direct,
        "flow_s": flow,
        "overhead_s": flow - direct,
        "overhead_frac": (flow - direct) / direct,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "orchestration.json").write_text(json.dumps(out, indent=1))
    text = (
        f"# Orchestration overhead\n\nOne round on the embedded default (setup cached): direct {direct:.1f} s, "
        f"Prefect flow {flow:.1f} s (includes the ephemeral API server start), overhead {flow - direct:+.1f} s "
        f"= {100 * out['overhead_frac']:+.1f}% (goal ≤ 5%).\n"
    )
    (RESULTS / "orchestration.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
