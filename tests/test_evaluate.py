"""Evaluation metrics from extracted answers, with literal inputs and exact outputs."""

import pytest

from mmupt_core.data.items import Item
from mmupt_core.scoring.evaluate import EquivalenceScorer, ItemOutcome, summarize


def test_summary_has_greedy_sampled_majority_and_pass_at_k():
    items = [Item(item_id=i, source="t", image="x.png", question="q", meta={"type": "count"}) for i in "ab"]
    results = [
        ItemOutcome("a", "count", "2", greedy="2", samples=["1", "1", "2", None]),  # maj wrong, pass right
        ItemOutcome("b", "count", "3", greedy="1", samples=["1", "1", "1", "1"]),  # nothing right
    ]
    m = summarize(items, results, EquivalenceScorer(), k=4)
    assert m["greedy_acc"] == 0.5 and m["sampled_acc"] == pytest.approx(1 / 8)
    assert m["maj@4"] == 0.0 and m["pass@4"] == 0.5
    assert m["pass@4/count"] == 0.5 and m["n"] == 2


def test_each_question_type_counts_its_own_questions():
    items = [Item(item_id=i, source="t", image="x.png", question="q") for i in "abc"]
    results = [
        ItemOutcome("a", "count", "2", greedy="2", samples=["2", "2"]),
        ItemOutcome("b", "colour", "red", greedy="red", samples=["red", "blue"]),
        ItemOutcome("c", "colour", "blue", greedy="red", samples=["red", "red"]),
    ]
    m = summarize(items, results, EquivalenceScorer(), k=2)
    assert (m["n"], m["n/count"], m["n/colour"]) == (3, 1, 2)
    assert m["greedy_acc/colour"] == 0.5
