"""bench.knife's shares: how many greedy answers a nudge could flip, and which way (label-free, labels beside)."""

import pytest

from bench.knife import report, summarize


def test_flippable_needs_a_near_tie_and_a_different_answer():
    greedy = ["red", "red", "blue", "green"]
    forced = ["blue", "red", "red", "blue"]  # b: the runner-up gave the same answer
    margins = [0.05, 0.01, 0.15, 0.5]  # d: far from a tie
    truth = ["blue", "red", "blue", "green"]
    forks = ["A>C", "A>C", "A>B", "B>A"]
    out = summarize(greedy, forced, margins, truth, forks, deltas=(0.1, 0.2))
    assert out["greedy_acc"] == 0.75 and out["items"] == 4
    assert out["by_delta"]["0.1"] == {
        "near_tie": 0.5,
        "flippable": 0.25,
        "top_fork": "A>C",
        "top_fork_share": 1.0,
        "nudge_up": 0.25,  # a: wrong, its runner-up right
        "nudge_down": 0.0,
    }
    row = summarize(greedy, forced, margins, truth, forks, deltas=(0.2,))["by_delta"]["0.2"]
    assert row["flippable"] == 0.5 and row["nudge_down"] == 0.25 and row["top_fork_share"] == 0.5
    text = report([{"name": "base", **out}])
    assert "| base | 0.750 |" in text and "A>C (1.00)" in text


def test_without_labels_only_the_label_free_shares():
    out = summarize(["1", "2"], ["1", "3"], [0.0, 0.0])
    assert "greedy_acc" not in out and out["by_delta"]["0.1"]["flippable"] == 0.5
    assert "nudge_up" not in out["by_delta"]["0.1"] and "top_fork" not in out["by_delta"]["0.1"]
    with pytest.raises(ValueError, match="no items"):
        summarize([], [], [])
