"""`mmupt checkpoint RUN`: the checkpoint a run delivers (the dev set's best round where the dev guard is on,
else its last), other picks, and a copy that says where it came from and never overwrites."""

import json

import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from mmupt_core.cli import app
from mmupt_core.config import dump_config, load_config
from mmupt_core.paths import store_path
from mmupt_core.store.checkpoints import checkpoint_id
from mmupt_core.store.db import Store
from mmupt_core.store.rows import StageRecord
from mmupt_core.view.choice import ChoiceError, choose
from mmupt_core.view.summary import round_summaries, verdict

# the dev guard without the delivered round's margin (guard.dev_margin_z): these tests' dev gains are small, and
# the margin has tests of its own below
DEV = ["evaluation.dev_items=100", "guard.max_dev_drop=0.02", "guard.dev_margin_z=0"]


def _checkpoint_dir(path, value: float):
    path.mkdir(parents=True)
    (path / "config.json").write_text('{"model_type": "qwen2_5_vl"}')
    save_file({"w": torch.full((2,), value)}, str(path / "model.safetensors"))
    return path


def _run(tmp_path, overrides, scores, run_id="r"):
    """A run whose round r has dev greedy/sampled and eval greedy `scores[r]` and a real checkpoint folder."""
    cfg = load_config("conf/tiny.yaml", overrides)
    store = Store(store_path(cfg))
    store.ensure_run(run_id, "h", dump_config(cfg))
    for r, (dev, dev_sampled, greedy) in enumerate(scores):
        metrics = [{"benchmark": "world_eval", "metric": "greedy_acc", "value": greedy, "n": 300}]
        if dev is not None:
            metrics += [
                {"benchmark": "world_dev", "metric": "greedy_acc", "value": dev, "n": 100},
                {"benchmark": "world_dev", "metric": "sampled_acc", "value": dev_sampled, "n": 100},
            ]
        path = _checkpoint_dir(tmp_path / run_id / f"round-{r}", float(r))
        parent = checkpoint_id(run_id, r - 1) if r else None
        record = StageRecord(metrics=metrics, checkpoint={"path": str(path), "parent_id": parent})
        store.record_stage(run_id, r, "evaluate", "h", record, wall_s=1.0, finishes_round=True)
    return store


# greedy on the dev set rises at round 1, then falls past the line; sampling rises to round 2
FELL = [(0.80, 0.60, 0.70), (0.83, 0.70, 0.72), (0.77, 0.75, 0.69)]


def test_with_the_dev_guard_on_the_run_delivers_its_best_dev_round_and_says_it_used_labels(tmp_path):
    store = _run(tmp_path, DEV, FELL)
    summaries = round_summaries(store, "r")
    run = choose(summaries, "r")
    assert run.round == 1 and run.path.endswith("round-1") and run.uses_labels
    assert (
        "stopped the run after round 2 (greedy 0.800 → 0.770)" in run.why and "its last is round 2" in run.why
    )
    assert choose(summaries, "r", "last").round == 2 and not choose(summaries, "r", "last").uses_labels
    assert choose(summaries, "r", "dev-sampled").round == 2  # sampling's best round differs from greedy's
    assert choose(summaries, "r", round_=0).path.endswith("round-0")
    with pytest.raises(ChoiceError, match="no checkpoint at round 5"):
        choose(summaries, "r", round_=5)
    with pytest.raises(ChoiceError, match="unknown pick 'best'"):
        choose(summaries, "r", "best")


def test_the_dev_set_chooses_only_where_the_dev_guard_is_on(tmp_path):
    gained = [(0.80, 0.6, 0.70), (0.83, 0.7, 0.72), (0.81, 0.7, 0.75)]
    summaries = round_summaries(_run(tmp_path, DEV, gained), "r")
    # the guard did not stop this run, and it still delivers the dev set's best round: that pick, not the stop,
    # is what did no harm in the replay of bench/results/dev-guard.md
    run = choose(summaries, "r")
    assert run.round == 1 and run.uses_labels and "it did not stop the run" in run.why
    assert "the run delivers round 1's checkpoint" in verdict(summaries)
    # a dev set without the guard monitors only: the run delivers its last checkpoint
    off = round_summaries(_run(tmp_path, ["evaluation.dev_items=100"], FELL, "off"), "off")
    assert choose(off, "off").round == 2 and not choose(off, "off").uses_labels
    assert choose(off, "off", "dev").round == 1  # the dev set's pick, asked for by name
    assert "delivers" not in verdict(off)
    # no dev set at all: the dev picks say what is missing
    plain = round_summaries(_run(tmp_path, [], [(None, None, 0.7), (None, None, 0.8)], "plain"), "plain")
    assert choose(plain, "plain").round == 1
    with pytest.raises(ChoiceError, match="needs evaluation.dev_items"):
        choose(plain, "plain", "dev")


def test_the_command_prints_the_path_and_copies_the_folder_with_its_provenance(tmp_path):
    _run(tmp_path, DEV, FELL)
    out = CliRunner().invoke(app, ["checkpoint", "r"])
    assert out.exit_code == 0, out.output
    assert out.stdout.strip().endswith("round-1")  # the path alone on stdout
    assert "USES LABELS" in out.stderr and "round 1:" in out.stderr
    dest = tmp_path / "chosen"
    out = CliRunner().invoke(app, ["checkpoint", "r", "--copy-to", str(dest)])
    assert out.exit_code == 0, out.output
    from safetensors.torch import load_file

    assert load_file(str(dest / "model.safetensors"))["w"].tolist() == [1.0, 1.0]
    provenance = json.loads((dest / "mmupt.json").read_text())
    assert provenance["round"] == 1 and provenance["uses_labels"] and provenance["run_id"] == "r"
    # a second copy to the same place refuses, and the first copy is kept as it was
    again = CliRunner().invoke(app, ["checkpoint", "r", "--pick", "last", "--copy-to", str(dest)])
    assert again.exit_code == 1 and "not an empty folder" in again.stderr
    assert load_file(str(dest / "model.safetensors"))["w"].tolist() == [1.0, 1.0]
    missing = CliRunner().invoke(app, ["checkpoint", "nope"])
    assert missing.exit_code == 1 and "nope" in missing.stderr


def test_the_read_commands_take_the_overrides_a_run_was_started_with(tmp_path):
    # a run started with `--set store.db=...` lives in its own store; show, runs, report and checkpoint find it
    # with the same --set (before, only a config file could point them there)
    _run(tmp_path, [*DEV, "store.db=mine.duckdb"], FELL, "mine")
    assert CliRunner().invoke(app, ["checkpoint", "mine"]).exit_code == 1  # not in the default store
    where = ["--set", "store.db=mine.duckdb"]
    out = CliRunner().invoke(app, ["checkpoint", "mine", *where])
    assert out.exit_code == 0 and out.stdout.strip().endswith("round-1"), out.output
    shown = CliRunner().invoke(app, ["show", "mine", *where])
    assert shown.exit_code == 0 and "labelled dev set (USES LABELS)" in shown.stdout
    assert "mine" in CliRunner().invoke(app, ["runs", *where]).stdout
    report = CliRunner().invoke(
        app, ["report", "mine", "--format", "md", "--out", str(tmp_path / "rep"), *where]
    )
    assert report.exit_code == 0 and (tmp_path / "rep").exists(), report.output


def test_watching_sampled_the_delivered_round_skips_one_whose_dev_sampling_fell(tmp_path):
    # greedy on the dev set best at round 2, but its sampled accuracy fell 0.10 there
    scores = [(0.50, 0.60, 0.5), (0.54, 0.61, 0.5), (0.56, 0.50, 0.5)]
    watch = [*DEV, "guard.dev_watch_sampled=true"]
    summaries = round_summaries(_run(tmp_path, watch, scores, "w"), "w")
    chosen = choose(summaries, "w")
    assert (
        chosen.round == 1 and "whose sampled accuracy fell no more than 0.02 below the base's" in chosen.why
    )
    assert "it stopped the run after round 2 (greedy 0.500 → 0.560, sampled 0.600 → 0.500)" in chosen.why
    assert choose(round_summaries(_run(tmp_path, DEV, scores, "g"), "g"), "g").round == 2  # greedy alone


def test_the_report_names_the_checkpoint_the_run_delivers(tmp_path):
    from mmupt_core.view.report import write_report

    store = _run(tmp_path, DEV, FELL)
    text = write_report(store, "r", tmp_path / "report", "md").read_text()
    assert "The run's model (`mmupt checkpoint r`): round 1, the dev guard is on" in text
    assert "(USES LABELS)" in text and str(tmp_path / "r" / "round-1") in text
    page = write_report(store, "r", tmp_path / "report", "html").read_text()
    assert "mmupt checkpoint r</code>): round 1" in page


def test_running_a_dev_stopped_run_again_stops_at_the_same_round_instead_of_training_from_the_fall(tmp_path):
    from mmupt_core.rounds.driver import Steps, run_rounds

    _run(tmp_path, DEV, FELL)
    ran = []
    steps = Steps(prepare=lambda *a: 1, setup=lambda c, r: None, round=lambda c, r, k: ran.append(k))
    run_rounds(load_config("conf/tiny.yaml", DEV), 5, "r", steps=steps)
    assert ran == [1, 2]  # rounds 1 and 2 are done (their stages skip); round 3 never starts


def test_a_round_where_one_question_type_fell_past_the_line_is_not_delivered(tmp_path):
    """On `framed`, UPT's count questions fell while colour rose and the overall mean held
    (bench/results/dev-guard-types.md): the round delivered must not hide such a fall."""
    from mmupt_core.rounds.guard import dev_guard_stop

    cfg = load_config("conf/tiny.yaml", DEV)
    store = Store(store_path(cfg))
    store.ensure_run("t", "h", dump_config(cfg))
    # (overall, colour, count) on the dev set: round 1 is best overall, but its counts fell 0.08
    dev = [(0.70, 0.75, 0.64), (0.74, 0.84, 0.56), (0.72, 0.78, 0.64), (0.66, 0.80, 0.50)]
    for r, (overall, colour, count) in enumerate(dev):
        metrics = [
            {"benchmark": "world_eval", "metric": "greedy_acc", "value": overall, "n": 300},
            {"benchmark": "world_dev", "metric": "greedy_acc", "value": overall, "n": 100},
            {"benchmark": "world_dev", "metric": "greedy_acc/colour", "value": colour, "n": 100},
            {"benchmark": "world_dev", "metric": "greedy_acc/count", "value": count, "n": 100},
        ]
        path = _checkpoint_dir(tmp_path / f"round-{r}", float(r))
        parent = checkpoint_id("t", r - 1) if r else None
        record = StageRecord(metrics=metrics, checkpoint={"path": str(path), "parent_id": parent})
        store.record_stage("t", r, "evaluate", "h", record, wall_s=1.0, finishes_round=True)
    summaries = round_summaries(store, "t")
    run = choose(summaries, "t")
    assert run.round == 2 and "no question type fell more than 0.02 below its base" in run.why
    assert choose(summaries, "t", "dev").round == 1  # the overall pick, asked for by name
    text = verdict(summaries)
    assert "best at round 1 (0.740); the dev guard stopped the run after round 3" in text
    assert (
        "round 1 is not delivered: count questions fell more than 0.02 below the base on the dev set" in text
    )
    assert "the run delivers round 2's checkpoint" in text
    assert "the round it delivers is 2 (0.720)" in dev_guard_stop(cfg, "t", 3)


def test_with_the_shipped_margin_a_round_whose_dev_gain_is_within_the_noise_is_not_delivered(tmp_path):
    """On 100 dev items the best of four rounds is often one that only drew well (bench/results/dev-margin.md): a
    trained round is delivered only where its dev gain clears 1.64 standard errors."""
    shipped = ["evaluation.dev_items=100", "guard.max_dev_drop=0.02"]
    small = [(0.70, 0.6, 0.70), (0.75, 0.7, 0.72), (0.77, 0.7, 0.69)]  # +0.07 at best: under 1.64 x 0.063
    summaries = round_summaries(_run(tmp_path, shipped, small), "r")
    run = choose(summaries, "r")
    assert run.round == 0 and run.uses_labels
    assert "whose gain over the base is at least 1.64 standard errors on its 100 items" in run.why
    text = verdict(summaries)
    assert "best at round 2 (0.770)" in text
    assert "round 2 is not delivered: its gain over the base (+0.070) is under 1.64 standard errors" in text
    assert "the run delivers round 0's checkpoint" in text
    clear = [(0.70, 0.6, 0.70), (0.82, 0.7, 0.80), (0.85, 0.7, 0.84)]  # +0.15 at round 2: 2.4 standard errors
    assert choose(round_summaries(_run(tmp_path, shipped, clear, "c"), "c"), "c").round == 2
    # the margin off gives the best round again
    off = round_summaries(_run(tmp_path, [*shipped, "guard.dev_margin_z=0"], small, "o"), "o")
    assert choose(off, "o").round == 2
