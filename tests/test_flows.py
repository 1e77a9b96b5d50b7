"""The Prefect flow for real, on the tiny model: end to end, SIGKILL + resume, and branch."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import SMALL

from mmupt_core.config import RunConfig, load_config
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.driver import run_rounds

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("synthesize", "sample", "vote", "train", "evaluate", "record")
SETUP = ("bootstrap", "load", "probe", "evaluate")


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
        prefect_test_harness(server_startup_timeout=60),
    ):
        yield


def test_flow_two_rounds_end_to_end_then_branch(prefect_harness):
    from prefect.client.orchestration import get_client

    from flows.improve import improve

    cfg = load_config(ROOT / "conf" / "tiny.yaml", SMALL)
    summary = improve("conf/tiny.yaml", SMALL, rounds=2, run_id="e2e")
    assert "| 2 |" in summary
    store = Context(cfg, "e2e", 0).store
    done = [(s["round"], s["stage"]) for s in store.stages("e2e") if s["status"] == "done"]
    assert done == [(0, s) for s in SETUP] + [(r, s) for r in (1, 2) for s in STAGES]

    # The run names the file and overrides it was started with; the resolved config is stored beside it.
    run = store.get_run("e2e")
    assert run["config_source"] == "conf/tiny.yaml " + " ".join(f"--set {o}" for o in SMALL)
    assert RunConfig.model_validate(yaml.safe_load(run["config_json"])) == cfg
    improve("conf/tiny.yaml", SMALL, rounds=2, run_id="e2e-branch", from_run="e2e", from_round=1)
    assert [c["checkpoint_id"] for c in store.lineage("e2e-branch")] == [
        "e2e-branch/r2",
        "e2e-branch/r1",
        "e2e/r1",
        "e2e/r0",
    ]

    async def artifact_keys():
        async with get_client() as client:
            return {a.key for a in await client.read_artifacts() if a.key}

    import asyncio

    keys = asyncio.run(artifact_keys())
    assert {"e2e-round-1", "e2e-round-2", "e2e-summary", "e2e-curves"} <= keys


def _flow_process(home: Path, run_id: str, pause: str | None) -> subprocess.Popen:
    env = dict(
        os.environ,
        MMUPT_HOME=str(home),
        PREFECT_HOME=str(home / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        HF_HUB_OFFLINE="1",
    )
    env.pop("MMUPT_FAULT_PAUSE", None)
    if pause:
        env["MMUPT_FAULT_PAUSE"] = pause
    args = [sys.executable, "-m", "flows.improve", "--rounds", "2", "--run", run_id]
    for s in SMALL:
        args += ["--set", s]
    # Own session, so a SIGKILL reaches the flow and the ephemeral Prefect server it started.
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def _kill_at(home: Path, run_id: str, pause: str) -> str:
    marker = home / "fault.ready"
    marker.unlink(missing_ok=True)
    proc = _flow_process(home, run_id, pause)
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert proc.poll() is None, f"flow exited ({proc.returncode}) before reaching {pause}"
        assert time.monotonic() < deadline, f"never reached {pause}"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return marker.read_text()


def test_sigkill_during_sampling_and_training_then_resume(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    cfg = load_config(ROOT / "conf" / "tiny.yaml", SMALL)

    # SIGKILL after sampling wrote its Parquet but before the stage was recorded, then during round 2 training.
    assert "sample after" in _kill_at(home, "k", "sample:after:1")
    assert "train before" in _kill_at(home, "k", "train:before:2")
    proc = _flow_process(home, "k", None)
    assert proc.wait(timeout=600) == 0

    os.environ["MMUPT_HOME"] = str(home)
    run_rounds(cfg, 2, "u")  # the uninterrupted reference, same store
    store = Context(cfg, "k", 0).store
    rows = store.stages("k")
    assert len(rows) == len({(r["round"], r["stage"]) for r in rows}) == len(SETUP) + 2 * len(STAGES)
    assert all(r["status"] == "done" for r in rows)
    for table in ("items", "pseudo_labels", "samples", "checkpoints"):
        assert store.count_rows(table, "k") == store.count_rows(table, "u"), table
    for round_ in (1, 2):
        (f,) = store.sample_files("k", round_)
        assert not Path(f["path"] + ".tmp").exists()


def test_local_runs_skip_the_gpu_slot_and_heartbeats(monkeypatch):
    """Without a Prefect server the `gpu` tag and flow heartbeats only cost time; with one they are kept."""
    import torch
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings

    from flows.improve import local_settings
    from tasks.stages import _gpu_tags

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert _gpu_tags() == []
    with local_settings():
        assert get_current_settings().flows.heartbeat_frequency is None
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert _gpu_tags() == ["gpu"]
    # another test's harness may have turned heartbeats off for the whole session: set them here
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 180}), local_settings():
        assert get_current_settings().flows.heartbeat_frequency == 180
    monkeypatch.delenv("PREFECT_API_URL")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _gpu_tags() == ["gpu"]
