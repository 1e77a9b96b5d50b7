"""The dev set's pick of the delivered round (USES LABELS): a trained round must clear the dev set's own noise
and keep every question type within the line; the base always qualifies."""

from mmupt_core.view.devpick import Sampled, best_safe_round, clear_gain, fell_at, held_back


def test_a_gain_counts_only_past_z_standard_errors_of_the_difference():
    # 0.70 against 0.75 on 100 items: the difference's error is sqrt((0.21 + 0.1875) / 100) = 0.063
    assert not clear_gain(0.70, 0.75, 100, 1.64)
    assert clear_gain(0.70, 0.75, 100, 0.5)
    assert clear_gain(0.70, 0.75, 2000, 1.64)  # the same gain on a dev set 20 times larger
    assert clear_gain(0.70, 0.85, 100, 1.64)
    assert clear_gain(0.70, 0.60, 100, 0.0)  # no margin: any score qualifies, a fall included
    assert clear_gain(0.70, 0.75, None, 1.64)  # no item count on record: no margin
    assert clear_gain(1.0, 1.0, 100, 1.64)  # a zero error does not divide


def test_the_delivered_round_is_the_best_that_clears_the_margin_and_keeps_every_type():
    scores = {0: 0.70, 1: 0.76, 2: 0.86, 3: 0.90}
    by_type = {
        0: {"colour": 0.70, "count": 0.70},
        1: {"colour": 0.76, "count": 0.76},
        2: {"colour": 0.86, "count": 0.86},
        3: {"colour": 0.98, "count": 0.62},  # best overall, but counts fell 0.08
    }
    assert best_safe_round(scores, by_type, 0.02, 100, 1.64) == 2
    assert best_safe_round(scores, by_type, 0.02) == 2  # without the margin round 2 is still best of the rest
    assert best_safe_round({0: 0.70, 1: 0.76}, {}, 0.02, 100, 1.64) == 0  # within the noise: the base
    assert best_safe_round({0: 0.70, 1: 0.76}, {}, 0.02, 100, 0.0) == 1
    assert (
        best_safe_round({1: 0.76, 2: 0.74}, {}, 0.02, 100, 1.64) == 1
    )  # no base scored: no margin to hold to
    assert held_back(scores, by_type, 1, 0.02, 100, 1.64) == [
        "its gain over the base (+0.060) is under 1.64 standard errors"
    ]
    assert held_back(scores, by_type, 3, 0.02, 100, 1.64) == [
        "count questions fell more than 0.02 below the base"
    ]
    assert held_back(scores, by_type, 0, 0.02, 100, 1.64) == []


def test_the_collapse_rule_asks_for_a_rise_past_the_line_and_clear_of_a_small_pools_noise():
    from mmupt_core.view.collapse import piled_on

    assert piled_on(0.317, 0.577, 300, 0.10)  # views past the probe (bench/results/noharm-past-probe.md)
    assert not piled_on(0.317, 0.40, 300, 0.10)  # under the line
    assert not piled_on(0.30, 0.40, 300, 0.10)  # at it
    assert not piled_on(0.5, 0.667, 6, 0.10)  # one vote of six
    assert piled_on(0.5, 0.667, None, 0.10)  # no pool size on record: the line alone
    # at 300 items the noise test never binds above the line: the largest error (p = 0.5) is 0.041
    assert piled_on(0.45, 0.551, 300, 0.10)


def test_watching_sampled_accuracy_holds_back_a_round_that_lost_it_overall_or_on_a_type():
    greedy = {0: 0.50, 1: 0.60, 2: 0.70, 3: 0.72}
    by_type = {r: {"colour": v, "count": v} for r, v in greedy.items()}
    sampled = Sampled(
        {0: 0.60, 1: 0.62, 2: 0.55, 3: 0.61},
        {
            0: {"colour": 0.6, "count": 0.6},
            1: {"colour": 0.62, "count": 0.62},
            2: {"colour": 0.6, "count": 0.5},
            3: {"colour": 0.7, "count": 0.52},
        },
    )
    assert best_safe_round(greedy, by_type, 0.02) == 3  # greedy alone
    assert best_safe_round(greedy, by_type, 0.02, sampled=sampled) == 1
    assert held_back(greedy, by_type, 2, 0.02, sampled=sampled) == [
        "its sampled accuracy (overall, count questions) fell more than 0.02 below the base"
    ]
    assert held_back(greedy, by_type, 3, 0.02, sampled=sampled) == [
        "its sampled accuracy (count questions) fell more than 0.02 below the base"
    ]
    # the stop: overall sampled always, a type's only with per_type
    assert fell_at(greedy, by_type, 2, 0.02, False, sampled) == ["sampled"]
    assert fell_at(greedy, by_type, 3, 0.02, False, sampled) == []
    assert fell_at(greedy, by_type, 3, 0.02, True, sampled) == ["sampled count"]
    assert fell_at(greedy, by_type, 2, 0.02, False) == []  # not watched
