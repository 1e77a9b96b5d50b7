"""bench.cued_votes: the vote split by whether the item's outlined panel is the framed one."""

import pytest

from bench.cued_votes import GROUPS, report, split


def test_split_counts_agreement_and_right_votes_per_group():
    scenes = {"a": {"cued": 1, "framed": 1}, "b": {"cued": 0, "framed": 2}, "c": {"cued": 3, "framed": 0}}
    truth = {"a": "red", "b": "blue", "c": "green"}
    labels = {
        1: [
            {"item_id": "a", "label": "blue", "agreement": 0.5},  # the frame's wrong colour won
            {"item_id": "b", "label": "blue", "agreement": 1.0},
            {"item_id": "c", "label": None, "agreement": 0.25},  # no majority: not right
        ]
    }
    out = split(labels, scenes, truth)
    framed, other = out[1][GROUPS[0]], out[1][GROUPS[1]]
    assert framed == {"items": 1, "agreement": 0.5, "vote_right": 0.0}
    assert other["items"] == 2 and other["agreement"] == pytest.approx(0.625) and other["vote_right"] == 0.5
    text = report([{"run_id": "r", "reward": "majority_vote", "rounds": out}], ["world.variant=cued"])
    assert "| r | 1 | 1 / 2 | 0.500 / 0.625 | 0.000 / 0.500 |" in text


def test_a_world_without_outlined_panels_is_named_as_the_problem():
    with pytest.raises(ValueError, match="world.variant=cued"):
        split({1: [{"item_id": "a", "label": "red", "agreement": 1.0}]}, {"a": {"framed": 0}}, {"a": "red"})
