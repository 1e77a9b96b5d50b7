"""bench.ideal_scan: link 1 over a grid of world settings, from the generator alone."""

import pytest

from bench.ideal_scan import grid, report, sampled_accuracy


def test_grid_is_every_combination_in_order():
    assert grid(["world.a=1,2", "world.b=x"]) == [["world.a=1", "world.b=x"], ["world.a=2", "world.b=x"]]
    with pytest.raises(SystemExit, match="key=v1,v2"):
        grid(["world.a"])


def test_sampled_accuracy_is_the_weighted_share_of_right_routes():
    # item 1: routes right, wrong, right with weights 2, 1, 1 -> 0.75; item 2: the only right route weighs 1 of 4
    acc = sampled_accuracy([["r", "x", "r"], ["x", "b"]], ["r", "b"], [[2, 1, 1], [3, 1]])
    assert acc == pytest.approx((0.75 + 0.25) / 2)
    row = {
        "overrides": ["world.variant=cued", "world.cue_weight=4"],
        "items": 2,
        "greedy": 0.5,
        "sampled": 0.5,
        "maj@8": 0.75,
    }
    assert "| `world.cue_weight=4` | 0.500 | 0.500 | 0.750 | +0.000 | +0.250 |" in report(
        [row], ["world.variant=cued"], 8
    )
