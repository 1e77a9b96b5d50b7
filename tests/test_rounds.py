from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import SMALL

from mmupt_core.config import load_config
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.driver import run_rounds


@pytest.fixture
def small_config():
    return load_config("conf/tiny.yaml", SMALL)


def test_two_rounds_then_resume_and_branch(small_config):
    run_rounds(small_config, 2, "r")
    store = Context(small_config, "r", 0).store
    stages = store.stages("r")
    assert [(s["round"], s["stage"]) for s in stages if s["status"] == "done"] == [
        (0, "bootstrap"),
        (0, "load"),
        (0, "probe"),
        (0, "evaluate"),
        *[(r, s) for r in (1, 2) for s in ("synthesize", "sample", "vote", "train", "evaluate", "record")],
    ]
    assert [r["status"] for r in store.rounds("r")] == ["done", "done", "done"]
    (samples,) = store.sample_files("r", 1)
    assert pq.read_metadata(samples["path"]).num_rows == 6 * 4
    assert len(store.pseudo_labels("r", 2)) == 6
    assert [c["checkpoint_id"] for c in store.lineage("r")] == ["r/r2", "r/r1", "r/r0"]
    names = {(m["benchmark"], m["metric"]) for m in store.metrics("r")}
    assert {
        ("world_eval", "greedy_acc"),
        ("world_eval", "maj@2"),
        ("pool", "agreement_mean"),
        ("train", "reward_mean"),
        ("stopping", "majority_stability"),
        ("probe", "confident_differs"),
    } <= names
    # round 0 is the base, scored like every round
    assert {(m["benchmark"], m["metric"]) for m in store.metrics("r") if m["round"] == 0} >= {
        ("world_eval", "greedy_acc"),
        ("world_eval", "maj@2"),
    }

    counts = {
        t: store.count_rows(t, "r") for t in ("items", "pseudo_labels", "metrics", "samples", "checkpoints")
    }
    run_rounds(small_config, 2, "r")  # everything done: nothing reruns, nothing duplicates
    assert {t: store.count_rows(t, "r") for t in counts} == counts
    assert len(store.stages("r")) == len(stages)

    run_rounds(small_config, 2, "b", from_run="r", from_round=1)
    assert [c["checkpoint_id"] for c in store.lineage("b")] == ["b/r2", "b/r1", "r/r1", "r/r0"]
    assert {s["round"] for s in store.stages("b")} == {2}


def test_a_second_process_on_the_same_run_is_refused(tmp_path):
    import subprocess
    import sys

    from mmupt_core.rounds.runlock import RunLockedError, run_lock

    code = (
        "import sys, time\nfrom pathlib import Path\nfrom mmupt_core.rounds.runlock import run_lock\n"
        "with run_lock(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(30)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(RunLockedError, match="already running \\(pid"):
            with run_lock(tmp_path / "run"):
                pass
    finally:
        proc.kill()
        proc.wait()
    with run_lock(tmp_path / "run"):  # released when the holder died
        pass


def test_diagnostics_flag_collapse_and_stable_majorities():
    from mmupt_core.rounds.diagnostics import stopping_signals

    prev = [{"item_id": f"i{k}", "label": "1", "agreement": 0.95} for k in range(10)]
    collapsed = stopping_signals(prev, prev)
    assert collapsed["collapse_warning"] == 1.0 and collapsed["stop_suggested"] == 1.0
    assert collapsed["majority_stability"] == 1.0
    healthy = [{"item_id": f"i{k}", "label": str(k % 4), "agreement": 0.6} for k in range(10)]
    signals = stopping_signals(prev, healthy)
    assert signals["collapse_warning"] == 0.0 and signals["stop_suggested"] == 0.0


def test_training_under_accelerate_launch(small_config):
    """The multi-GPU path (accelerate launch, one process on CPU here) produces the same kind of round."""
    cfg = small_config.model_copy(deep=True)
    cfg.training.launcher = "accelerate"
    cfg.training.num_processes = 1
    run_rounds(cfg, 1, "acc")
    store = Context(cfg, "acc", 0).store
    ck = store.checkpoint("acc", 1)
    assert (Path(ck["path"]) / "model.safetensors").is_file()
    assert not list(Path(ck["path"]).glob("*.bin"))
    train = {m["metric"] for m in store.metrics("acc") if m["benchmark"] == "train"}
    assert {"reward_mean", "steps", "items"} <= train
