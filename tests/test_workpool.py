"""Deploy as users do: a Prefect server, the `local` process work pool, `prefect deploy`, a worker, and a
`prefect deployment run` that passes a non-default config. Slow (a server, a worker and a small real round)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SMALL

from bench.faults import free_port, wait_healthy
from mmupt_core.store import Store

ROOT = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).with_name("prefect"))


@pytest.mark.slow
def test_a_deployment_run_through_the_local_work_pool_runs_any_config(tmp_path):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "MMUPT_HOME": str(tmp_path / "home"),
        "MMUPT_REPO": str(ROOT),
        "PREFECT_WORKER_QUERY_SECONDS": "2",
    }
    (tmp_path / "home").mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env={k: v for k, v in env.items() if k != "PREFECT_API_URL"},
        stdout=open(logs / "server.log", "w"),
        stderr=subprocess.STDOUT,
    )
    worker = None
    try:
        wait_healthy(api)

        def prefect(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
            out = subprocess.run(
                [PREFECT, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
            )
            assert out.returncode == 0, f"prefect {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
            return out

        prefect("work-pool", "create", "local", "--type", "process")
        prefect("--no-prompt", "deploy", "--name", "local-pool")
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", "local"],
            env=env,
            cwd=tmp_path,  # the deployment's pull step, not the worker's folder, finds the project
            stdout=open(logs / "worker.log", "w"),
            stderr=subprocess.STDOUT,
        )
        overrides = json.dumps([*SMALL, "evaluation.limit=4"])
        prefect(
            "deployment", "run", "improve/local-pool",
            "-p", "config=conf/tiny.yaml", "-p", f"overrides={overrides}",
            "-p", "rounds=1", "-p", "run_id=pool",
            "--watch", "--watch-timeout", "1500",
            timeout=1600,
        )  # fmt: skip
    finally:
        for proc in (worker, server):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    store = Store(tmp_path / "home" / "runs" / "mmupt.duckdb", read_only=True)
    run = store.get_run("pool")
    assert run["config_source"].startswith("conf/tiny.yaml --set world.n_sft=64")
    done = {(s["round"], s["stage"]) for s in store.stages("pool") if s["status"] == "done"}
    assert {(0, "evaluate"), (1, "train"), (1, "record")} <= done
