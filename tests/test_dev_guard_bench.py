"""bench.dev_guard's replay of the labelled dev guard on one dev draw: where it stops and which round it names."""

from bench.dev_guard import replay


def _run(greedy_by_round: list[str]) -> dict:
    return {"dev": {str(r): {"greedy": g} for r, g in enumerate(greedy_by_round)}}


def test_stops_after_the_first_round_past_the_line_and_names_the_best_before_it():
    # dev greedy by round: 0.75, 0.5, 1.0, 1.0 -- round 1 fell 0.25, past a 0.1 line
    run = _run(["1110", "1100", "1111", "1111"])
    assert replay(run, [0, 1, 2, 3], drop=0.1, rounds=3) == (1, 0)
    # a line the fall does not pass: the run trains on; the best round is the earliest of the tied best
    assert replay(run, [0, 1, 2, 3], drop=0.3, rounds=3) == (3, 2)


def test_a_fall_exactly_at_the_line_does_not_stop_and_the_draw_is_what_is_scored():
    run = _run(["1100", "1000", "1000", "1000"])
    assert replay(run, [0, 1, 2, 3], drop=0.25, rounds=3) == (3, 0)
    # on a draw of items 2 and 3 every round scores 0: nothing falls
    assert replay(run, [2, 3, 3], drop=0.0, rounds=3) == (3, 0)
    # a draw that repeats item 0 (drawn with replacement) weighs it twice
    assert replay(run, [0, 0, 1], drop=0.3, rounds=3) == (1, 0)  # 1.0 -> 0.667
    assert replay(run, [0, 1], drop=0.3, rounds=3) == (1, 0)  # 1.0 -> 0.5


def test_the_per_type_pick_skips_a_round_where_one_type_fell_and_the_overall_pick_does_not():
    from bench.dev_guard_types import picks

    types = ["colour", "colour", "count", "count"]
    # round 1 gets everything right; round 2 loses a count: both picks take round 1
    # (round delivered, rounds run) for: overall pick, per-type pick, the shipped stop, a per-type stop
    run = _run(["1011", "1111", "1110"])
    assert picks(run, types, [0, 1, 2, 3], line=0.1, rounds=2) == [(1, 2)] * 4
    # round 1: colour 0 -> 1.0 but count 1.0 -> 0.5, overall 0.5 -> 0.75; round 2 ties it overall and loses no
    # type: the overall pick takes round 1 (the earliest of the tie), the per-type pick round 2; the overall mean
    # never fell, so the shipped guard runs both rounds, while a per-type stop ends after round 1 on the base
    run = _run(["0011", "1110", "1011"])
    assert picks(run, types, [0, 1, 2, 3], line=0.1, rounds=2) == [(1, 2), (2, 2), (2, 2), (0, 1)]


def test_the_paired_margin_counts_items_where_the_round_and_the_base_differ():
    import numpy as np

    from bench.dev_margin import paired_clear

    def hits(*rounds: str) -> list:
        return [np.array([c == "1" for c in r]) for r in rounds]

    idx = np.arange(10)
    # the round wins 3 items and loses none: d = 0.3, se = sqrt((0.3 - 0.09) / 10) = 0.145, 2.07 errors
    won3 = hits("0001111111", "1111111111")
    assert paired_clear(won3, idx, 1, z=1.64)
    assert not paired_clear(won3, idx, 1, z=2.33)
    # the same 0.3 gain as 5 wins and 2 losses is noisier: se = sqrt((0.7 - 0.09) / 10) = 0.247, 1.21 errors
    mixed = hits("0000011111", "1111100111")
    assert not paired_clear(mixed, idx, 1, z=1.64)
    # identical rounds, or a loss, never clear; a draw is scored with its repeats
    same = hits("0101010101", "0101010101")
    assert not paired_clear(same, idx, 1, z=0.0)
    assert not paired_clear(hits("1111111111", "0111111111"), idx, 1, z=0.0)
    assert paired_clear(won3, np.array([0, 0, 0, 3]), 1, z=1.64)  # 3 of 4 drawn items won: d 0.75, se 0.217


def test_watching_sampled_stops_where_sampling_fell_and_greedy_held():
    from bench.dev_sampled import delivered, draw_sampled

    # 10 items, 4 rounds: greedy 0.5 -> 0.5 -> 1.0 -> 1.0; sampled hits of 8 fall from 0.6 to 0.3 at round 2
    greedy = ["1111100000", "1111100000", "1111111111", "1111111111"]
    sampled = ["6666666666", "6666666666", "3333333333", "3333333333"]
    run = {
        "k": 8,
        "dev": {
            str(r): {"greedy": g, "sampled": s} for r, (g, s) in enumerate(zip(greedy, sampled, strict=True))
        },
    }
    idx = list(range(10))
    assert draw_sampled(run, idx, None).overall == {0: 0.75, 1: 0.75, 2: 0.375, 3: 0.375}
    picks = delivered(run, idx)
    # greedy alone delivers round 2 (the earliest of the best, clear of the margin on 10 items); watching sampling
    # stops after round 2, which fell past the line, and holds rounds 2 and 3 back: the base
    assert picks == {"greedy": 2, "greedy + sampled": 0}
