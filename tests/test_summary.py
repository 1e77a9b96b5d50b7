"""What a user sees of a run: the compact table with the base as round 0, the verdict, the terminal view in plain
mode, and `mmupt show`'s compact table."""

import io
import logging

from rich.console import Console
from typer.testing import CliRunner

from mmupt_core import events
from mmupt_core.cli import app
from mmupt_core.config import load_config
from mmupt_core.paths import store_path
from mmupt_core.rounds import Context, run_stage
from mmupt_core.store.db import Store
from mmupt_core.store.rows import StageRecord
from mmupt_core.view.live import RunView, progress_bar
from mmupt_core.view.summary import RoundSummary, compact_rows, round_summaries, verdict


def _metric(bench, metric, value, n=300):
    return {"benchmark": bench, "metric": metric, "value": value, "n": n}


def _fake_run(store: Store, run_id: str, greedy: list[float], supervised: bool = False) -> None:
    """A run whose rounds hold the metrics the stages write (round 0 = the base)."""
    store.ensure_run(run_id, "h", "{}", supervised=supervised)
    for r, g in enumerate(greedy):
        metrics = [_metric("world_eval", "greedy_acc", g), _metric("world_eval", "maj@8", g + 0.1)]
        metrics.append(_metric("world_eval", "sampled_acc", g - 0.05))
        if r > 0:
            metrics += [
                _metric("pool", "items", 300.0),
                _metric("pool", "accepted", 270.0),
                _metric("pool", "agreement_mean", 0.7),
                _metric("pool", "pseudo_label_acc", 0.61, 270),
                _metric("stopping", "stop_suggested", 0.0),
            ]
        record = StageRecord(metrics=metrics, checkpoint={"path": f"/ck/{run_id}/{r}", "parent_id": None})
        store.record_stage(run_id, r, "evaluate", "h", record, wall_s=12.0, finishes_round=True)


def test_round_zero_is_the_base_and_changes_are_against_it(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    _fake_run(store, "up", [0.490, 0.510, 0.530])
    rows = compact_rows(round_summaries(store, "up"))
    assert [r["round"] for r in rows] == ["0", "1", "2"]
    assert rows[0]["greedy"] == "0.490" and rows[0]["Δ base"] == "-"
    assert rows[2]["Δ base"] == "+0.040" and rows[2]["maj@8"] == "0.630"
    assert rows[1]["PL n"] == "270" and rows[1]["signal"] == "go on"  # integers print as integers


def test_real_data_reports_the_first_configured_benchmark_not_the_first_in_sort_order(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    config = "evaluation:\n  benchmarks: [mathvista_testmini, mathverse_testmini]\n"
    store.ensure_run("paper", "h", config)
    for r, (vista, verse) in enumerate([(0.60, 0.30), (0.65, 0.20)]):
        metrics = [
            _metric("mathverse_testmini:official", "greedy_acc", verse, 788),
            _metric("mathvista_testmini:official", "greedy_acc", vista, 1000),
        ]
        record = StageRecord(metrics=metrics, checkpoint={"path": f"/ck/{r}", "parent_id": None})
        store.record_stage("paper", r, "evaluate", "h", record, wall_s=1.0, finishes_round=True)
    summaries = round_summaries(store, "paper")
    assert [s.benchmark for s in summaries] == ["mathvista_testmini:official"] * 2
    assert verdict(summaries).startswith(
        "the model got better: greedy 0.600 → 0.650 (+0.050) after round 1 on mathvista_testmini:official"
    )


def test_verdict_says_better_and_worse_plainly():
    def run(*greedy):
        out = [
            RoundSummary(round=r, greedy=g, n_eval=300, benchmark="world_eval") for r, g in enumerate(greedy)
        ]
        out[-1].pseudo_label_acc, out[-1].stop = 0.61, False
        return out

    better = verdict(run(0.490, 0.530))
    assert better.startswith("the model got better: greedy 0.490 → 0.530 (+0.040) after round 1")
    assert "on 300 held-out questions, no labels used" in better
    assert "pseudo-labels 61% right" in better and "the stopping signal says go on" in better
    worse = verdict(run(0.490, 0.470, 0.450))
    assert worse.startswith("the model got WORSE: greedy 0.490 → 0.450 (-0.040) after round 2")
    assert "ground-truth rewards" in verdict(run(0.49, 0.5), supervised=True)
    assert verdict(run(0.49)).startswith("no verdict yet")


def test_plain_view_prints_a_line_per_stage_and_per_round():
    buf = io.StringIO()
    view = RunView(Console(file=buf, width=120), "demo", 2, plain=True)
    log = logging.getLogger(events.LOGGER_NAME)
    log.addHandler(view)
    try:
        events.emit("stage_start", run_id="demo", round=1, stage="sample")
        events.progress(64, 128, "generations")  # plain mode draws no bar
        events.emit("stage_end", run_id="demo", round=1, stage="sample", ran=True, wall_s=10.26)
        events.emit("stage_end", run_id="demo", round=1, stage="vote", ran=False, wall_s=0.0)
        s = RoundSummary(
            round=1, greedy=0.53, delta=0.04, maj=0.6, k=8, agreement=0.7, accepted=270, pool=300
        )
        s.pseudo_label_acc, s.wall_s = 0.61, 71.0
        events.emit("round_end", run_id="demo", round=1, summary=s)
    finally:
        log.removeHandler(view)
    view.finish([{"round": "1", "greedy": "0.530"}], "the model got better: ...", None)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "demo round 1 sample: 10.3 s"
    assert lines[1] == "demo round 1 vote: already done"
    assert lines[2] == (
        "round 1: greedy 0.530 (+0.040) maj@8 0.600 agreement 0.70 pseudo-labelled 270/300 (61% right) 71 s"
    )
    assert lines[-1] == "the model got better: ..."
    assert not any("{'loss'" in line for line in lines)


def test_the_bar_keeps_its_counts_at_80_columns():
    buf = io.StringIO()
    console = Console(file=buf, width=80, force_terminal=True, color_system=None)
    bar = progress_bar(console)
    task = bar.add_task("round 12/30 · sampling answers", total=2400, rate="52.3 generations/s")
    bar.update(task, completed=1088)
    console.print(bar.make_tasks_table(bar.tasks))
    line = buf.getvalue().rstrip("\n")
    assert "1088/2400" in line and "52.3 generations/s" in line
    assert len(line) <= 80


def test_a_stage_with_nothing_to_do_is_not_shown(tmp_path, monkeypatch):
    """With synthesis off the synthesize stage still runs and is recorded (resume sees it done), but the view
    gets no event for it; with synthesis on, it does."""
    monkeypatch.setenv("MMUPT_HOME", str(tmp_path))
    seen = []

    class Catch(logging.Handler):
        def emit(self, record):
            seen.append((record.event["kind"], record.event["stage"]))

    log = logging.getLogger(events.LOGGER_NAME)
    handler = Catch()
    log.addHandler(handler)
    try:
        for strategy, run in (("off", "a"), ("direct", "b")):
            cfg = load_config(None, [f"synthesis.strategy={strategy}"])
            ctx = Context(cfg, run, 1)
            ctx.store.ensure_run(run, "h", "{}")
            run_stage(ctx, "synthesize", lambda _: StageRecord())
            assert ctx.store.stage_done(run, 1, "synthesize", ctx.config_hash)
    finally:
        log.removeHandler(handler)
    assert seen == [("stage_start", "synthesize"), ("stage_end", "synthesize")]


def test_events_cost_nothing_without_a_watcher():
    events.emit("stage_start", run_id="x", round=1, stage="sample")  # no handler: no output, no error


def test_show_prints_one_compact_row_a_round(tmp_path):
    cfg = load_config("conf/tiny.yaml")
    store = Store(store_path(cfg))
    _fake_run(store, "shown", [0.490, 0.450])
    result = CliRunner().invoke(app, ["show", "shown"])
    assert result.exit_code == 0, result.output
    table = [line for line in result.output.splitlines() if line.strip()[:1].isdigit()]
    assert len(table) == 2 and table[0].split()[:2] == ["0", "0.490"]
    assert "-0.040" in table[1] and " 270 " in table[1]
    assert "the model got WORSE" in result.output
    long = CliRunner().invoke(app, ["show", "shown", "--metrics"])
    assert "greedy_acc" in long.output and "lineage" in long.output


def test_mmupt_round_runs_the_flow_module(monkeypatch):
    """`mmupt round` is the same job as `make round`: the flow module with the same options."""
    import subprocess

    calls = []

    class Done:
        returncode = 0

    monkeypatch.setattr(subprocess, "run", lambda cmd: calls.append(cmd) or Done())
    args = [
        "round",
        "--rounds",
        "2",
        "--run",
        "r1",
        "--set",
        "sampling.n=4",
        "--from-run",
        "a",
        "--from-round",
        "1",
    ]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    assert calls[0][1:] == [
        "-m", "flows.improve", "--config", "conf/tiny.yaml", "--rounds", "2", "--run", "r1",
        "--from-run", "a", "--from-round", "1", "--set", "sampling.n=4",
    ]  # fmt: skip
    bad = CliRunner().invoke(app, ["round", "--set", "sampling.temprature=3"])
    assert bad.exit_code == 2 and "sampling.temprature" in bad.output
