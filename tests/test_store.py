import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from mmupt_core.store.db import Store, StoreError
from mmupt_core.store.rows import StageRecord

STAGES = ["sample", "vote", "train", "evaluate", "record"]


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "runs.duckdb")


def _record(n_items=3, label="4"):
    return StageRecord(
        items=[
            {"item_id": f"i{k}", "source": "world", "question": f"q{k}", "split": "pool"}
            for k in range(n_items)
        ],
        pseudo_labels=[
            {
                "item_id": f"i{k}",
                "label": label,
                "votes": 5,
                "n_valid": 8,
                "agreement": 0.625,
                "accepted": True,
            }
            for k in range(n_items)
        ],
        metrics=[{"benchmark": "world_eval", "metric": "greedy_acc", "value": 0.5, "n": 300}],
        rejected_items=[{"item_id": "bad", "reason": "empty question"}],
        samples=[{"path": "/x/samples.parquet", "n_rows": 24}],
    )


def test_writing_a_stage_twice_keeps_one_copy(store):
    store.ensure_run("r", "h", "{}")
    store.record_stage("r", 1, "vote", "h", _record(3))
    store.record_stage("r", 1, "vote", "h", _record(2, label="5"))
    assert store.count_rows("items", "r") == 2
    assert store.count_rows("pseudo_labels", "r") == 2
    assert store.count_rows("metrics", "r") == 1
    assert store.count_rows("rejected_items", "r") == 1
    assert store.count_rows("samples", "r") == 1
    assert {p["label"] for p in store.pseudo_labels("r", 1)} == {"5"}
    assert [(s["stage"], s["status"]) for s in store.stages("r")] == [("vote", "done")]


def test_failed_write_rolls_back_and_keeps_old_rows(store):
    store.ensure_run("r", "h", "{}")
    store.record_stage("r", 1, "vote", "h", _record(3))
    bad = _record(2)
    bad.pseudo_labels.append(dict(bad.pseudo_labels[0]))  # duplicate key -> constraint error mid-transaction
    with pytest.raises(duckdb.ConstraintException):
        store.record_stage("r", 1, "vote", "h2", bad)
    assert store.count_rows("items", "r") == 3
    assert store.stage_done("r", 1, "vote", "h")


def test_unknown_column_is_rejected_before_writing(store):
    store.ensure_run("r", "h", "{}")
    with pytest.raises(ValueError, match="unknown columns"):
        store.record_stage(
            "r", 1, "vote", "h", StageRecord(metrics=[{"benchmark": "b", "metric": "m", "oops": 1}])
        )


def test_next_stage_resumes_and_respects_config_hash(store):
    store.ensure_run("r", "h", "{}")
    assert store.next_stage("r", STAGES, 2, "h") == (1, "sample")
    for stage in STAGES:
        store.start_stage("r", 1, stage, "h")
        store.record_stage("r", 1, stage, "h", StageRecord(), finishes_round=stage == "record")
    store.start_stage("r", 2, "sample", "h")  # crashed mid-stage: still next
    assert store.next_stage("r", STAGES, 2, "h") == (2, "sample")
    store.record_stage("r", 2, "sample", "h", StageRecord())
    assert store.next_stage("r", STAGES, 2, "h") == (2, "vote")
    # A different config hash means nothing is done under it.
    assert store.next_stage("r", STAGES, 2, "other") == (1, "sample")
    assert [r["status"] for r in store.rounds("r")] == ["done", "running"]


def test_last_checkpoint_and_lineage_across_a_branch(store):
    store.ensure_run("a", "h", "{}")
    base = store.record_checkpoint("a", 0, "bootstrap", "/ck/base", None)
    store.record_stage("a", 1, "train", "h", StageRecord(checkpoint={"path": "/ck/a1", "parent_id": base}))
    store.record_stage("a", 2, "train", "h", StageRecord(checkpoint={"path": "/ck/a2", "parent_id": "a/r1"}))
    assert store.last_checkpoint("a")["path"] == "/ck/a2"

    cid = store.branch("b", "a", 1, "h", "{}")
    assert cid == "b/r1"
    assert store.last_checkpoint("b")["path"] == "/ck/a1"
    store.record_stage("b", 2, "train", "h", StageRecord(checkpoint={"path": "/ck/b2", "parent_id": cid}))
    chain = [c["checkpoint_id"] for c in store.lineage("b")]
    assert chain == ["b/r2", "b/r1", "a/r1", "a/r0"]
    run_b = store.get_run("b")
    assert (run_b["parent_run_id"], run_b["parent_round"]) == ("a", 1)
    with pytest.raises(StoreError, match="no finished checkpoint at round 7"):
        store.branch("c", "a", 7, "h", "{}")
    with pytest.raises(StoreError, match="already exists"):
        store.branch("b", "a", 1, "h", "{}")


def test_rewriting_a_checkpoint_stage_keeps_one_row(store):
    store.ensure_run("a", "h", "{}")
    for _ in range(2):
        store.record_stage(
            "a", 1, "train", "h", StageRecord(checkpoint={"path": "/ck/a1", "parent_id": None})
        )
    assert store.count_rows("checkpoints", "a") == 1


def test_read_only_store(tmp_path, store):
    store.ensure_run("r", "h", "{}")
    reader = Store(store.path, read_only=True)
    assert [r["run_id"] for r in reader.list_runs()] == ["r"]
    with pytest.raises(StoreError, match="read-only"):
        reader.ensure_run("x", "h", "{}")
    with pytest.raises(FileNotFoundError, match="run store not found"):
        Store(tmp_path / "missing.duckdb", read_only=True)


def _hold_lock(path, seconds):
    code = textwrap.dedent(
        f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r})
        con.execute("insert into runs (run_id, created_at, config_hash, config_json) values ('w', now(), 'h', '{{}}')")
        print("locked", flush=True)
        time.sleep({seconds})
        con.close()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_reader_retries_while_a_writer_is_live(store):
    store.ensure_run("r", "h", "{}")
    proc = _hold_lock(store.path, 1.0)
    try:
        start = time.monotonic()
        reader = Store(store.path, read_only=True, retries=10, backoff_s=0.05)
        runs = {r["run_id"] for r in reader.list_runs()}
        assert runs == {"r", "w"}  # it waited for the writer, then saw its row
        assert time.monotonic() - start > 0.3
    finally:
        proc.wait(timeout=30)


def test_lock_error_is_clear_when_retries_run_out(store):
    store.ensure_run("r", "h", "{}")
    proc = _hold_lock(store.path, 3.0)
    try:
        with pytest.raises(StoreError, match="locked by another process"):
            Store(store.path, read_only=True, retries=1, backoff_s=0.01).list_runs()
    finally:
        proc.wait(timeout=30)
