"""bench.entrench's shares: where the base's greedy answer and its majority differ, does a run's greedy take up
the majority (absorbed) or its votes drift back to greedy's answer (entrenched)?"""

from bench.entrench import report, shares


def test_shares_count_only_the_items_where_greedy_and_majority_differ():
    ids = ["a", "b", "c", "d"]
    truth = {"a": "red", "b": "blue", "c": "green", "d": "red"}
    greedy = {
        0: {"a": "red", "b": "red", "c": "red", "d": "red"},  # differs from the vote on b and c
        1: {"a": "red", "b": "blue", "c": "red", "d": "red"},  # takes up b's majority
    }
    votes = {
        1: {"a": "red", "b": "blue", "c": "green", "d": None},  # d: no majority, so not in D
        2: {"a": "red", "b": "blue", "c": "red", "d": "red"},  # c's vote has gone back to greedy's answer
    }
    out = shares(ids, greedy, votes, truth)
    assert out["differ"] == 2 and out["items"] == 4
    assert out["differ_majority_right"] == 1.0 and out["differ_greedy_right"] == 0.0
    assert out["rounds"][0]["absorbed"] == 0.0 and "entrenched" not in out["rounds"][0]
    assert out["rounds"][1]["absorbed"] == 0.5 and out["rounds"][1]["entrenched"] == 0.0
    assert out["rounds"][1]["pool_greedy_right"] == 0.75
    assert out["rounds"][1]["vote_right"] == 0.75  # d has no vote: not right
    assert "absorbed" not in out["rounds"].get(2, {})  # round 2's checkpoint was not given
    text = report([{"run_id": "r", **out}], ["world.variant=framed"])
    assert "| r | 0.500 | 1.000 | 0 |" in text and "LABELS" in text


def test_shares_without_any_disagreement_say_so_rather_than_divide_by_zero():
    greedy = {0: {"a": "red"}}
    out = shares(["a"], greedy, {1: {"a": "red"}}, {"a": "red"})
    assert out["differ"] == 0 and out["rounds"][0]["absorbed"] is None
