"""A labelled dev set of the user's own, for real data (evaluation.dev_benchmark, dev_source): read in a
benchmark's layout, scored by its official rules each round as benchmark 'dev', kept apart from the benchmarks
reported, and read by the dev guard, the verdict and `mmupt checkpoint` as the embedded world's dev set is."""

import shutil

import pytest
from helpers import SMALL

from bench import layouts
from mmupt_core.config import ConfigError, load_config
from mmupt_core.data.sources import DataError
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.driver import run_rounds
from mmupt_core.scoring.checkpoint import benchmark_items
from mmupt_core.view.choice import choose
from mmupt_core.view.summary import round_summaries, verdict


def _dev(src, n: int = 2) -> list[str]:
    return [
        f"evaluation.dev_items={n}",
        "evaluation.dev_benchmark=mathvista_testmini",
        f"evaluation.dev_source={src}",
    ]


def test_a_dev_set_of_ones_own_is_named_fully_and_apart_from_what_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="dev_benchmark and dev_source go together"):
        load_config("conf/tiny.yaml", ["evaluation.dev_benchmark=mathvista_testmini"])
    with pytest.raises(ConfigError, match="'mmmu' is not a benchmark layout"):
        load_config(
            "conf/tiny.yaml",
            ["evaluation.dev_items=2", "evaluation.dev_benchmark=mmmu", f"evaluation.dev_source={tmp_path}"],
        )
    with pytest.raises(ConfigError, match="dev_items is 0"):
        load_config("conf/tiny.yaml", _dev(tmp_path, n=0))
    # a real model: dev_items alone would draw from the embedded world, which it cannot read
    model = tmp_path / "m"
    with pytest.raises(ConfigError, match="evaluation.dev_benchmark"):
        load_config("conf/tiny.yaml", [f"model.name_or_path={model}", "evaluation.dev_items=100"])
    assert (
        load_config("conf/tiny.yaml", [f"model.name_or_path={model}", *_dev(tmp_path)]).evaluation.dev_set()
        == "dev"
    )
    # the same copy as the reported benchmark's
    with pytest.raises(ConfigError, match="is the copy of mathvista_testmini this run reports"):
        load_config(
            "conf/tiny.yaml",
            [
                "evaluation.benchmarks=[world_eval, mathvista_testmini]",
                f"evaluation.sources.mathvista_testmini={tmp_path}",
                *_dev(tmp_path),
            ],
        )


def test_a_dev_copy_that_shares_questions_with_the_reported_benchmark_is_refused(tmp_path):
    reported = layouts.mathvista(tmp_path / "a")
    again = tmp_path / "b" / "testmini.parquet"  # the same rows under another name
    again.parent.mkdir()
    shutil.copy(reported, again)
    cfg = load_config(
        "conf/tiny.yaml",
        [
            "evaluation.benchmarks=[world_eval, mathvista_testmini]",
            f"evaluation.sources.mathvista_testmini={reported}",
            *_dev(again, n=3),
        ],
    )
    with pytest.raises(DataError, match="shares 3 of its 3 questions with mathvista_testmini"):
        benchmark_items(cfg, "dev")
    # other pictures: apart, and limited to dev_items rows
    apart = layouts.mathvista(tmp_path / "c", folder="dev", first_image=60)
    cfg = load_config(
        "conf/tiny.yaml",
        [
            "evaluation.benchmarks=[world_eval, mathvista_testmini]",
            f"evaluation.sources.mathvista_testmini={reported}",
            *_dev(apart, n=2),
        ],
    )
    items, answers, scorer, _ = benchmark_items(cfg, "dev")
    assert len(items) == 2 and set(answers.values()) == {"1.2", "1000"}
    assert type(scorer).__name__ == "MathVistaOfficial"  # the benchmark's official rules


def test_a_round_scores_the_dev_set_and_the_guard_and_the_choice_read_it(tmp_path):
    reported = layouts.mathvista(tmp_path / "a")
    dev = layouts.mathvista(tmp_path / "d", folder="dev", first_image=60)
    cfg = load_config(
        "conf/tiny.yaml",
        [
            *SMALL,
            "evaluation.benchmarks=[world_eval, mathvista_testmini]",
            f"evaluation.sources.mathvista_testmini={reported}",
            *_dev(dev, n=3),
            "guard.max_dev_drop=1.0",
        ],
    )
    run_rounds(cfg, 1, "d")
    store = Context(cfg, "d", 0).store
    scored = {(m["round"], m["metric"]): m["n"] for m in store.metrics("d") if m["benchmark"] == "dev"}
    assert scored[(0, "greedy_acc")] == 3 and scored[(1, "greedy_acc")] == 3
    # per question type, as the guard reads it, each type counting its own rows
    assert scored[(1, "greedy_acc/multi_choice")] == 1 and scored[(1, "greedy_acc/free_form")] == 2
    summaries = round_summaries(store, "d")
    assert summaries[0].dev is not None and summaries[0].benchmark == "world_eval"
    assert "labelled dev set (USES LABELS)" in verdict(summaries)
    chosen = choose(summaries, "d")
    assert chosen.uses_labels and chosen.round in (0, 1)
