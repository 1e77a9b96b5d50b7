"""Bad input, run-level refusals before any work, write errors, damaged images, path policy."""

import json
from pathlib import Path

import pytest
from helpers import SMALL
from PIL import Image

from mmupt_core.config import load_config
from mmupt_core.model.checkpoints import ModelError, check_model_dir, resolve_model
from mmupt_core.paths import run_dir, store_path
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.driver import run_rounds
from mmupt_core.rounds.preflight import PreflightError


@pytest.fixture
def small():
    return load_config("conf/tiny.yaml", SMALL)


def _rows(store, run_id):
    return {
        t: store.count_rows(t, run_id)
        for t in ("items", "pseudo_labels", "metrics", "samples", "checkpoints")
    }


def test_checkpoint_checks_name_the_problem(tmp_path):
    with pytest.raises(ModelError, match="no such folder"):
        resolve_model(str(tmp_path / "missing"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelError, match="is not a folder"):
        check_model_dir(tmp_path / "file")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        resolve_model(str(empty))
    (empty / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        resolve_model(str(empty))
    (empty / "config.json").write_text("{}")
    (empty / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ModelError, match=r"no .safetensors weights \(it has .bin weights"):
        resolve_model(str(empty))
    with pytest.raises(ModelError, match="not found in the offline Hugging Face cache"):
        resolve_model("no-such-owner/no-such-model")  # HF_HUB_OFFLINE=1: never reaches the hub


def test_run_level_problems_are_one_error_before_any_work(small, tmp_path):
    run_rounds(small, 1, "kept")
    store = Context(small, "kept", 0).store
    before = _rows(store, "kept")
    bad = load_config(
        "conf/tiny.yaml",
        [
            *SMALL,
            f"model.name_or_path={tmp_path / 'no-model'}",
            f"data.source={tmp_path / 'no-data.parquet'}",
            f"evaluation.sources.mathvista_testmini={tmp_path / 'no-bench'}",
        ],
    )
    with pytest.raises(PreflightError) as err:
        run_rounds(bad, 1, "refused")
    text = str(err.value)
    assert (
        "no-model" in text and "no-data.parquet" in text and "evaluation.sources.mathvista_testmini" in text
    )
    assert not store.has_run("refused")  # refused before anything was written
    assert _rows(store, "kept") == before


def test_missing_column_is_refused_before_the_bootstrap(small, tmp_path):
    from bench import layouts

    folder = layouts.geometry3k(tmp_path)
    cfg = load_config("conf/tiny.yaml", [*SMALL, f"data.source={folder}", "data.question_key=question"])
    with pytest.raises(PreflightError, match=r"has no column 'question' \(data.question_key\)"):
        run_rounds(cfg, 1, "nocol")
    assert not Context(cfg, "nocol", 0).store.has_run("nocol")


def test_paths_stay_inside_the_home_unless_allowed(small, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="must be a plain name"):
        run_dir(small, "../escape")
    with pytest.raises(ValueError, match="must be a plain name"):
        run_dir(small, "-rf")
    out = load_config("conf/tiny.yaml", ["store.root=../../elsewhere"])
    with pytest.raises(ValueError, match="outside MMUPT_HOME.*store.allowed_roots"):
        store_path(out)
    outside = tmp_path / "shared-runs"
    allowed = load_config("conf/tiny.yaml", [f"store.root={outside}", f"store.allowed_roots=[{tmp_path}]"])
    assert store_path(allowed) == outside / "mmupt.duckdb"
    with pytest.raises(PreflightError, match="outside MMUPT_HOME"):
        run_rounds(out, 1, "x")


def test_a_parquet_write_error_leaves_no_file_and_resumes(small, monkeypatch):
    from mmupt_core.rounds import stages

    real = stages.pq.write_table

    def failing(table, where, **kw):
        real(table.slice(0, 1), where, **kw)
        raise OSError(28, "No space left on device (injected)")

    monkeypatch.setattr(stages.pq, "write_table", failing)
    with pytest.raises(OSError, match="No space left"):
        run_rounds(small, 1, "disk")
    ctx = Context(small, "disk", 1)
    assert not (ctx.round_dir / "samples.parquet").exists()
    (failed,) = [s for s in ctx.store.stages("disk") if s["status"] == "failed"]
    assert failed["stage"] == "sample" and "No space left" in failed["error"]
    assert ctx.store.sample_files("disk", 1) == []
    monkeypatch.setattr(stages.pq, "write_table", real)
    run_rounds(small, 1, "disk")
    run_rounds(small, 1, "clean")
    assert _rows(ctx.store, "disk") == _rows(ctx.store, "clean")


def test_damaged_pool_images_cost_the_item_not_the_round(small, tmp_path):
    """A corrupt image is rejected when the pool is registered; one deleted later is rejected by the stage
    that needs it, and the round goes on."""
    import shutil

    from mmupt_core.world.builder import world_path

    # A private copy of the world so damaging it leaves the shared cache alone.
    world = world_path(small)
    copy = tmp_path / "world"
    shutil.copytree(world, copy)
    rows = [json.loads(line) for line in (copy / "pool.jsonl").read_text().splitlines()]
    (copy / rows[0]["image"]).write_bytes(b"\x89PNG\r\n\x1a\n damaged")
    lines = []
    for r in rows:
        r["image"] = str(copy / r["image"])
        lines.append(json.dumps({"problem": r["question"], "image": r["image"], "answer": "1"}))
    pool = tmp_path / "pool.jsonl"
    pool.write_text("\n".join(lines))
    cfg = load_config("conf/tiny.yaml", [*SMALL, f"data.source={pool}", "data.image_key=image"])
    run_rounds(cfg, 1, "dmg")
    store = Context(cfg, "dmg", 0).store
    (rej,) = store.rejected("dmg")
    assert rej["stage"] == "load" and rej["reason"].startswith("corrupt image")
    items = store.items("dmg", 0, "load")
    assert len(items) == len(rows) - 1
    Path(items[0]["image_path"]).unlink()
    run_rounds(cfg, 2, "dmg")
    late = [r for r in store.rejected("dmg") if r["round"] == 2]
    assert {r["stage"] for r in late} == {"sample"}
    assert late[0]["reason"].startswith("image unreadable")
    assert [r["status"] for r in store.rounds("dmg")] == ["done", "done", "done"]


def test_non_rgb_and_odd_images_in_the_world_load_stage(small, tmp_path):
    from mmupt_core.data.sources import ImageProblem, open_image, to_rgb

    im = Image.new("RGBA", (28, 28), (0, 0, 0, 0))
    assert to_rgb(im).getpixel((0, 0)) == (255, 255, 255)
    with pytest.raises(ImageProblem, match="too large"):
        open_image(Image.new("RGB", (200, 200)), None, 10_000)


def test_sigkill_after_synthesis_resumes_to_the_same_rows(tmp_path):
    """The new synthesize stage killed after its work, before its record (the full matrix: make faults)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from mmupt_core.paths import mmupt_home

    overrides = [*SMALL, "synthesis.strategy=both"]
    args = [sys.executable, "-m", "mmupt_core.rounds", "--rounds", "1", "--run", "k"]
    for s in overrides:
        args += ["--set", s]
    env = dict(os.environ, MMUPT_FAULT_PAUSE="synthesize:after:1")
    marker = mmupt_home() / "fault.ready"
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "never reached the fault point"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    env.pop("MMUPT_FAULT_PAUSE")
    assert subprocess.run(args, env=env, capture_output=True, timeout=600).returncode == 0
    cfg = load_config("conf/tiny.yaml", overrides)
    run_rounds(cfg, 1, "u")
    store = Context(cfg, "k", 0).store
    for table in ("items", "synthesis", "pseudo_labels", "samples", "checkpoints", "stages"):
        assert store.count_rows(table, "k") == store.count_rows(table, "u"), table
