"""The fault matrix (`make faults`): every fault of issue 8, applied to small real runs of the tiny model, with
the store's row counts before and after. Prints a Markdown table and writes bench/results/faults.{md,json}.

Rows are counted over every table of the run store (all runs). "same as uninterrupted" compares each table's
count for the faulted run with an uninterrupted reference run of the same config.

    .venv/bin/python -m bench.faults            # about 5 minutes on 2 cores
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from mmupt_core.config import ConfigError, load_config
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.runner import ROUND_STAGES
from mmupt_core.store.db import Store
from mmupt_core.store.rows import STAGE_TABLES
from tests.helpers import SMALL

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "bench" / "results"
CONFIG = [*SMALL, "synthesis.strategy=both"]
TABLES = (*STAGE_TABLES, "stages", "checkpoints")


def store() -> Store:
    return Context(load_config(ROOT / "conf" / "tiny.yaml", CONFIG), "x", 0).store


def total_rows() -> int:
    path = store().path
    if not path.exists():
        return 0
    s = Store(path, read_only=True)
    return sum(s.count_rows(t) for t in TABLES)


def run_counts(run_id: str) -> dict[str, int]:
    s = store()
    return {t: s.count_rows(t, run_id) for t in TABLES}


def rounds_process(
    run_id: str, pause: str | None = None, extra: tuple[str, ...] = (), rounds: int = 1
) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("MMUPT_FAULT_PAUSE", None)
    if pause:
        env["MMUPT_FAULT_PAUSE"] = pause
    args = [sys.executable, "-m", "mmupt_core.rounds", "--rounds", str(rounds), "--run", run_id]
    for s in (*CONFIG, *extra):
        args += ["--set", s]
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def run_to_end(run_id: str, extra: tuple[str, ...] = (), rounds: int = 1) -> tuple[int, str]:
    proc = rounds_process(run_id, extra=extra, rounds=rounds)
    _, err = proc.communicate(timeout=900)
    return proc.returncode, err.decode(errors="replace")


def pause_at(run_id: str, pause: str) -> subprocess.Popen:
    marker = Path(os.environ["MMUPT_HOME"]) / "fault.ready"
    marker.unlink(missing_ok=True)
    proc = rounds_process(run_id, pause)
    deadline = time.monotonic() + 600
    while not marker.exists():
        if proc.poll() is not None:
            raise RuntimeError(
                f"{run_id}: exited ({proc.returncode}) before {pause}: {proc.stderr.read()[-400:]}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(f"{run_id}: never reached {pause}")
        time.sleep(0.2)
    return proc


def last_error_line(text: str) -> str:
    """The error's own line; for multi-line messages (preflight, config) its first detail line instead."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    idx = max((i for i, ln in enumerate(lines) if "Error" in ln), default=len(lines) - 1)
    if idx < 0:
        return ""
    line = lines[idx]
    if (line.endswith(":") or "invalid config" in line) and idx + 1 < len(lines):
        line = line.split(":")[0].split(".")[-1] + ": " + lines[idx + 1]
    return line[:150]


# -- scenarios: each returns table rows ----------------------------------------------------------------------
def sigkills(ref: dict[str, int]) -> list[dict]:
    rows = []
    points = [(s, "after") for s in ROUND_STAGES] + [("train", "before")]
    for stage, when in points:
        run_id = f"kill-{stage}-{when}"
        proc = pause_at(run_id, f"{stage}:{when}:1")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        before = total_rows()
        code, err = run_to_end(run_id)
        got = run_counts(run_id)
        done = all(r["status"] == "done" for r in store().stages(run_id))
        rows.append(
            {
                "fault": f"SIGKILL {'after the work, before the record' if when == 'after' else 'mid-stage'}",
                "stage": stage,
                "outcome": "resumed, round done"
                if code == 0 and done
                else f"resume failed: {last_error_line(err)}",
                "before": before,
                "after": total_rows(),
                "check": "same as uninterrupted" if got == ref else f"DIFFERS {got} vs {ref}",
            }
        )
    return rows


TWO_RANKS = (
    "training.launcher=accelerate",
    "training.accelerate_config=conf/accelerate/cpu-2proc.yaml",
    "training.num_processes=2",
)


def _training_rank(rank: int) -> int | None:
    """The pid of the GRPO update's process of this rank (python -m mmupt_core.model.train under torchrun)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            env = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"mmupt_core.model.train" in cmd and f"RANK={rank}".encode() in env and b"-m" in cmd:
            if not any(c.endswith(b"accelerate.commands.launch") for c in cmd):
                return int(proc.name)
    return None


def rank_kill(ref: dict[str, int]) -> list[dict]:
    """Two training ranks (gloo); rank 1 is SIGKILLed mid-update. torchrun takes the other rank down, the train
    stage fails, and the same command resumes the round with the same rows as an uninterrupted run."""
    run_id = "kill-rank-1"
    proc = rounds_process(run_id, extra=TWO_RANKS)
    deadline = time.monotonic() + 600
    victim = None
    while victim is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{run_id}: no training rank 1 seen ({proc.returncode})")
        victim = _training_rank(1)
        time.sleep(0.2)
    time.sleep(3)  # into the update: past the model load
    os.kill(victim, signal.SIGKILL)
    proc.communicate(timeout=300)
    first = proc.returncode
    before = total_rows()
    code, err = run_to_end(run_id, TWO_RANKS)
    got = run_counts(run_id)
    done = all(r["status"] == "done" for r in store().stages(run_id))
    return [
        {
            "fault": "SIGKILL one of 2 training ranks (gloo)",
            "stage": "train",
            "outcome": (f"run exited {first}; " if first else "run went on?; ")
            + ("resumed, round done" if code == 0 and done else f"resume failed: {last_error_line(err)}"),
            "before": before,
            "after": total_rows(),
            "check": "same as uninterrupted" if got == ref else f"DIFFERS {got} vs {ref}",
        }
    ]


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, timeout_s: float = 180) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(f"no Prefect server at {url} after {timeout_s} s")


def worker_kill(ref: dict[str, int], tmp: Path) -> list[dict]:
    """A deployment run through the `local` process work pool; its worker (and the flow run it started) is
    SIGKILLed mid-round. The dead run keeps its deployment slot (concurrency_limit 1) until its lease lapses:
    Prefect 3.9's flow engine renews it for 300 s at a time and the server's repossessor frees it after that, so
    a new `prefect deployment run` on a new worker waits up to ~5 minutes, then resumes the round."""
    import json as _json

    prefect_bin = str(Path(sys.executable).with_name("prefect"))
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    run_id = "kill-worker"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp / "prefect-pool"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "MMUPT_REPO": str(ROOT),
        "PREFECT_WORKER_QUERY_SECONDS": "2",
    }
    logs = tmp / "pool-logs"
    logs.mkdir(exist_ok=True)
    server = subprocess.Popen(
        [prefect_bin, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env={k: v for k, v in env.items() if k != "PREFECT_API_URL"},
        stdout=open(logs / "server.log", "w"),
        stderr=subprocess.STDOUT,
    )
    workers: list[subprocess.Popen] = []

    def prefect(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
        out = subprocess.run(
            [prefect_bin, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
        if out.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args[:3])}: {(out.stdout + out.stderr)[-300:]}")
        return out

    def worker(extra: dict[str, str]) -> subprocess.Popen:
        proc = subprocess.Popen(
            [prefect_bin, "worker", "start", "--pool", "local"],
            env={**env, **extra},
            cwd=tmp,
            stdout=open(logs / f"worker{len(workers)}.log", "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        workers.append(proc)
        return proc

    run_args = (
        "deployment", "run", "improve/local-pool", "-p", "config=conf/tiny.yaml",
        "-p", f"overrides={_json.dumps(CONFIG)}", "-p", "rounds=1", "-p", f"run_id={run_id}",
    )  # fmt: skip
    try:
        wait_healthy(api)
        prefect("work-pool", "create", "local", "--type", "process")
        prefect("--no-prompt", "deploy", "--name", "local-pool")
        marker = Path(os.environ["MMUPT_HOME"]) / "fault.ready"
        marker.unlink(missing_ok=True)
        first = worker({"MMUPT_FAULT_PAUSE": "train:before:1"})
        prefect(*run_args)
        deadline = time.monotonic() + 900
        while not marker.exists():
            if time.monotonic() > deadline or first.poll() is not None:
                raise RuntimeError("the deployment run never reached the train stage")
            time.sleep(0.5)
        # The process worker starts each flow run in a session of its own: killing the worker alone leaves
        # the run going. A lost machine takes both, so both are killed.
        for pid in [*_descendants(first.pid), first.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        first.wait(timeout=30)
        marker.unlink()
        before = total_rows()
        worker({})
        start = time.perf_counter()
        out = subprocess.run(
            [prefect_bin, *run_args, "--watch", "--watch-timeout", "1200"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=1300,
        )  # fmt: skip
        waited = time.perf_counter() - start
    finally:
        for proc in (*workers, server):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    got = run_counts(run_id)
    done = all(r["status"] == "done" for r in store().stages(run_id))
    return [
        {
            "fault": "worker (and its flow run) SIGKILLed mid-round; a new deployment run",
            "stage": "train",
            "outcome": f"resumed, round done ({waited:.0f} s, incl. the wait for the dead run's 300 s slot lease)"
            if out.returncode == 0 and done
            else f"resume failed: {last_error_line(out.stdout + out.stderr)}",
            "before": before,
            "after": total_rows(),
            "check": "same as uninterrupted" if got == ref else f"DIFFERS {got} vs {ref}",
        }
    ]


def bad_items(tmp: Path) -> list[dict]:
    img = tmp / "imgs"
    img.mkdir()
    for k in range(4):
        Image.new("RGB", (56, 84), (40 * k, 90, 200)).save(img / f"ok{k}.png")
    Image.new("RGBA", (56, 84), (10, 200, 10, 0)).save(img / "alpha.png")
    Image.new("RGB", (56, 84), (9, 9, 9)).convert("P").save(img / "palette.png", transparency=0)
    Image.new("I;16", (56, 84), 40000).save(img / "deep.png")
    (img / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    whole = (img / "ok0.png").read_bytes()
    (img / "truncated.png").write_bytes(whole[: len(whole) // 2])
    Image.new("RGB", (1, 400)).save(img / "thin.png")
    Image.new("RGB", (6000, 5000)).save(img / "huge.png")
    zero = bytearray(whole)
    zero[16:20] = (0).to_bytes(4, "big")  # IHDR width 0
    (img / "zero.png").write_bytes(bytes(zero))
    kinds = [
        ("good", "ok0.png", "How many circles are there?"),
        ("good", "ok1.png", "How many squares are there?"),
        ("good", "ok2.png", "How many red shapes are there?"),
        ("good", "ok3.png", "How many shapes are there in total?"),
        ("non-RGB image (alpha channel)", "alpha.png", "How many circles are there?"),
        ("non-RGB image (palette)", "palette.png", "How many circles are there?"),
        ("non-RGB image (16-bit)", "deep.png", "How many circles are there?"),
        ("missing image file", "missing.png", "How many circles are there?"),
        ("corrupt image", "corrupt.png", "How many circles are there?"),
        ("truncated image", "truncated.png", "How many circles are there?"),
        ("image of zero size", "zero.png", "How many circles are there?"),
        ("huge image", "huge.png", "How many circles are there?"),
        ("extreme aspect ratio", "thin.png", "How many circles are there?"),
        ("empty question", "ok0.png", "   "),
        ("duplicate item id", "ok1.png", "How many squares are there?"),
    ]
    pool = tmp / "pool.jsonl"
    pool.write_text(
        "\n".join(json.dumps({"problem": q, "image": f"imgs/{f}", "answer": "1"}) for _, f, q in kinds)
    )
    before = total_rows()
    code, err = run_to_end(
        "bad-items", (f"data.source={pool}", "data.image_key=image", "data.max_source_pixels=20000000")
    )
    after = total_rows()
    rejected = store().rejected("bad-items")
    by_row = {r["item_id"]: r["reason"] for r in rejected}
    dup = next((r["reason"] for r in rejected if r["reason"].startswith("duplicate")), None)
    items = store().items("bad-items", 0, "load")
    kept_rows = {json.loads(i["meta"])["row"] for i in items}
    rows = []
    for idx, (kind, _, _) in enumerate(kinds):
        if kind == "good":
            continue
        if kind.startswith("non-RGB"):
            outcome = "converted to RGB, kept" if str(idx) in kept_rows else "NOT KEPT"
        else:
            reason = dup if kind.startswith("duplicate") else by_row.get(f"row-{idx}")
            outcome = f"rejected_items: {reason.replace(str(tmp), '…')}" if reason else "NOT REJECTED"
        rows.append(
            {
                "fault": kind,
                "stage": "load",
                "outcome": outcome[:110],
                "before": before,
                "after": after,
                "check": f"round done, {len(items)} items kept"
                if code == 0
                else f"run failed: {last_error_line(err)}",
            }
        )
    # An image that disappears after the pool was registered costs that item in the next stage, not the round.
    victim = Path(items[0]["image_path"])
    victim.unlink()
    before = total_rows()
    code, err = run_to_end(
        "bad-items",
        (f"data.source={pool}", "data.image_key=image", "data.max_source_pixels=20000000"),
        rounds=2,
    )
    late = [r for r in store().rejected("bad-items") if r["stage"] == "sample"]
    rows.append(
        {
            "fault": "image deleted after registration",
            "stage": "sample",
            "outcome": f"rejected_items: {late[0]['reason'][:60]}" if late else "NOT REJECTED",
            "before": before,
            "after": total_rows(),
            "check": "round done" if code == 0 else f"run failed: {last_error_line(err)}",
        }
    )
    return rows


def run_level(tmp: Path) -> list[dict]:
    base = tmp / "ckpt-bin"
    base.mkdir()
    (base / "config.json").write_text("{}")
    (base / "pytorch_model.bin").write_bytes(b"pickle")
    notmodel = tmp / "not-a-model"
    notmodel.mkdir()
    good = tmp / "pool.jsonl"
    cases = [
        ("dataset lacks a column", ("data.source=" + str(good), "data.image_key=picture")),
        ("checkpoint path missing", ("model.name_or_path=" + str(tmp / "nope"),)),
        ("checkpoint is not a model", ("model.name_or_path=" + str(notmodel),)),
        ("checkpoint has only .bin weights", ("model.name_or_path=" + str(base),)),
        ("config typo", ("sampling.temprature=0.5",)),
        ("config wrong type", ("sampling.n=many",)),
        ("run id escapes the store", ()),
        ("store path escapes MMUPT_HOME", ("store.root=../../elsewhere",)),
    ]
    rows = []
    for fault, extra in cases:
        before = total_rows()
        run_id = "../escape" if fault.startswith("run id") else f"refused-{len(rows)}"
        code, err = run_to_end(run_id, extra)
        rows.append(
            {
                "fault": fault,
                "stage": "before any work",
                "outcome": f"refused (exit {code}): {last_error_line(err)}",
                "before": before,
                "after": total_rows(),
                "check": "unchanged" if total_rows() == before and code != 0 else "CHANGED",
            }
        )
    return rows


def store_and_locks(ref: dict[str, int]) -> list[dict]:
    rows = []
    path = store().path
    # Takes the store's write lock (retrying while the run holds it between its short connections), holds it.
    holder = (
        "import duckdb, sys, time\n"
        "for _ in range(400):\n"
        "    try:\n        con = duckdb.connect(sys.argv[1]); break\n"
        "    except duckdb.IOException:\n        time.sleep(0.01)\n"
        "con.execute('begin transaction')\nprint('held', flush=True)\ntime.sleep(float(sys.argv[2]))\ncon.close()\n"
    )
    # Held briefly: every store call retries with backoff and the run goes through.
    before = total_rows()
    proc = rounds_process("lock-brief")
    time.sleep(6)
    hold = subprocess.Popen([sys.executable, "-c", holder, str(path), "1.5"], stdout=subprocess.PIPE)
    hold.stdout.readline()
    hold.wait()
    _, err = proc.communicate(timeout=900)
    rows.append(
        {
            "fault": "DuckDB file held by another process (1.5 s)",
            "stage": "any (mid-run)",
            "outcome": "retried with backoff, round done"
            if proc.returncode == 0
            else last_error_line(err.decode()),
            "before": before,
            "after": total_rows(),
            "check": "same as uninterrupted" if run_counts("lock-brief") == ref else "DIFFERS",
        }
    )
    # Held for longer than the retries last: a clear error, nothing lost.
    before = total_rows()
    hold = subprocess.Popen([sys.executable, "-c", holder, str(path), "30"], stdout=subprocess.PIPE)
    hold.stdout.readline()
    code, err = run_to_end("lock-long", ("store.lock_retries=3",))
    hold.kill()
    hold.wait()
    after = total_rows()
    rows.append(
        {
            "fault": "DuckDB file held by another process (30 s)",
            "stage": "before any work",
            "outcome": f"refused (exit {code}): {last_error_line(err)}",
            "before": before,
            "after": after,
            "check": "unchanged" if after == before and code != 0 else "CHANGED",
        }
    )
    # A second process on a run that is running: refused by the run lock.
    proc = pause_at("locked", "vote:before:1")
    before = total_rows()
    code, err = run_to_end("locked")
    show = subprocess.run(
        [sys.executable, "-m", "mmupt_core.cli", "show", "locked"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    after = total_rows()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    rows.append(
        {
            "fault": "second process on the same run id",
            "stage": "vote (first one paused)",
            "outcome": f"refused (exit {code}): {last_error_line(err)}",
            "before": before,
            "after": after,
            "check": "unchanged" if after == before and code != 0 else "CHANGED",
        }
    )
    rows.append(
        {
            "fault": "`mmupt show` while a run is mid-round",
            "stage": "vote (run paused)",
            "outcome": "works" if show.returncode == 0 else f"failed: {last_error_line(show.stderr)}",
            "before": before,
            "after": after,
            "check": "unchanged" if after == before else "CHANGED",
        }
    )
    return rows


def parquet_write_error(ref: dict[str, int]) -> list[dict]:
    """A write error half-way through the samples Parquet (disk full, say), in this process."""
    import pyarrow.parquet as pq

    from mmupt_core.rounds import stages
    from mmupt_core.rounds.driver import run_rounds

    cfg = load_config(ROOT / "conf" / "tiny.yaml", CONFIG)
    real = pq.write_table

    def failing(table, where, **kw):
        real(table.slice(0, max(1, table.num_rows // 2)), where, **kw)
        raise OSError(28, "No space left on device (injected)")

    stages.pq.write_table = failing
    before = total_rows()
    try:
        run_rounds(cfg, 1, "parquet-error")
        outcome = "NOT RAISED"
    except OSError as exc:
        outcome = f"stage failed: {exc}"
    finally:
        stages.pq.write_table = real
    leftovers = list((Context(cfg, "parquet-error", 1).round_dir).glob("samples.parquet*"))
    failed = [s for s in store().stages("parquet-error") if s["status"] == "failed"]
    mid = total_rows()
    run_rounds(cfg, 1, "parquet-error")
    clean = not any(p.name == "samples.parquet" for p in leftovers)
    return [
        {
            "fault": "write error in the middle of a Parquet write",
            "stage": "sample",
            "outcome": f"{outcome[:60]}; stage marked failed: {bool(failed)}; final file written: {not clean}",
            "before": before,
            "after": mid,
            "check": "resumed: same as uninterrupted"
            if run_counts("parquet-error") == ref
            else f"DIFFERS {run_counts('parquet-error')}",
        }
    ]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mmupt-faults-"))
    # A store of its own (the faults hold and kill it); the content-keyed cache is shared with the home's.
    home = Path(os.environ.get("MMUPT_HOME", ".mmupt")).resolve()
    os.environ.setdefault("MMUPT_CACHE", str(home / "cache"))
    os.environ["MMUPT_HOME"] = str(tmp / "home")
    os.environ["HF_HUB_OFFLINE"] = "1"
    from mmupt_core.rounds.driver import run_rounds

    start = time.perf_counter()
    cfg = load_config(ROOT / "conf" / "tiny.yaml", CONFIG)
    run_rounds(cfg, 1, "reference")
    ref = run_counts("reference")
    # Runs with the same config differ only in stage timings: their row counts must match the reference.
    scenarios: list[Callable[[], list[dict]]] = [
        lambda: bad_items(tmp),
        lambda: run_level(tmp),
        lambda: parquet_write_error(ref),
        lambda: store_and_locks(ref),
        lambda: sigkills(ref),
        lambda: rank_kill(ref),
        lambda: worker_kill(ref, tmp),
    ]
    if os.environ.get("MMUPT_FAULTS_ONLY"):  # e.g. MMUPT_FAULTS_ONLY=rank_kill: one scenario by name
        only = {"worker_kill": scenarios[-1], "rank_kill": scenarios[-2], "sigkills": scenarios[-3]}
        scenarios = [only[os.environ["MMUPT_FAULTS_ONLY"]]]
    rows: list[dict] = []
    for fn in scenarios:
        try:
            rows += fn()
        except (RuntimeError, OSError, ConfigError, subprocess.TimeoutExpired) as exc:
            rows.append(
                {
                    "fault": fn.__name__,
                    "stage": "-",
                    "outcome": f"MATRIX ERROR {exc}"[:160],
                    "before": "-",
                    "after": "-",
                    "check": "-",
                }
            )
    wall = time.perf_counter() - start
    lines = [
        "| fault | stage | outcome | rows before | rows after | check |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['fault']} | {r['stage']} | {str(r['outcome']).replace('|', '/').replace(str(tmp), '…')} "
            f"| {r['before']} | {r['after']} "
            f"| {r['check']} |"
            for r in rows
        ),
    ]
    text = (
        "# Fault matrix\n\n"
        f"Reference run (1 round, tiny model, synthesis on): {sum(ref.values())} rows {ref}. "
        f"Rows = every table of the run store, all runs. Wall {wall:.0f} s.\n\n" + "\n".join(lines) + "\n"
    )
    if not os.environ.get("MMUPT_FAULTS_ONLY"):  # a partial matrix is printed, never recorded
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "faults.md").write_text(text)
        (RESULTS / "faults.json").write_text(json.dumps({"reference": ref, "rows": rows}, indent=1))
    print(text)
    bad = [
        r
        for r in rows
        if any(w in str(r["check"]) + str(r["outcome"]) for w in ("DIFFERS", "CHANGED", "NOT ", "ERROR"))
    ]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
