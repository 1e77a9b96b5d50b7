"""The self-consistency chain's pure parts and the label-free probe, on literal inputs."""

import pytest

from bench.chain import ideal_gap, route_advantages, route_of
from mmupt_core.rounds.probe import ProbeResult, summarize_probe


def test_route_of_reads_the_prefix():
    assert route_of("Panel C: the square is blue. \\boxed{blue}") == "Panel C"
    assert route_of("View A: rc . | 1 circles.") == "View A"
    assert route_of("\\boxed{3}") is None


def test_ideal_gap_counts_ties_as_no_label():
    # two routes, equal prior: greedy takes route 0; 2 votes split 1-1 half the time (a tie: no label)
    routes = [["x", "y"]] * 10
    truth = ["y"] * 10
    out = ideal_gap(routes, truth, [[0.5, 0.5]] * 10, k=2, repeats=200, seed=0)
    assert out["greedy"] == 0.0
    assert out["maj@2"] == pytest.approx(0.25, abs=0.05)  # both votes on route 1
    # a favourite route that is wrong, outvoted by three reliable ones
    routes = [["x", "y", "y", "y"]] * 10
    out = ideal_gap(routes, ["y"] * 10, [[0.28, 0.24, 0.24, 0.24]] * 10, k=8, repeats=50)
    assert out["greedy"] == 0.0 and out["maj@8"] > 0.8 and out["gap"] == out["maj@8"]
    # ... unless the favourite is sampled so often that its votes (all alike) win ties and pluralities
    assert ideal_gap(routes, ["y"] * 10, [[0.4, 0.2, 0.2, 0.2]] * 10, k=8, repeats=50)["maj@8"] < 0.7
    # per-item weights: greedy avoids the wrong route on the items whose prior leans away from it
    lean = [[0.28, 0.24, 0.24, 0.24]] * 5 + [[0.1, 0.3, 0.3, 0.3]] * 5
    assert ideal_gap(routes, ["y"] * 10, lean, k=8, repeats=50)["greedy"] == 0.5


def test_route_advantages_follow_the_majority():
    group = [("Panel A", "red")] * 3 + [("Panel B", "blue")] * 5
    adv = route_advantages([group])
    assert adv["Panel A"]["advantage"] < 0 < adv["Panel B"]["advantage"]
    assert adv["Panel A"]["share"] == pytest.approx(3 / 8)
    # a tie gives no label: every reward is 0 and nothing is pushed
    tie = [("Panel A", "red")] * 4 + [("Panel B", "blue")] * 4
    assert route_advantages([tie])["Panel A"]["advantage"] == 0.0


def test_probe_reports_where_a_confident_majority_differs_from_greedy():
    greedy = ["1", "2", "3", None]
    samples = [
        ["1"] * 8,  # agrees with greedy: nothing to teach
        ["5"] * 6 + ["2"] * 2,  # confident majority 5 != greedy 2
        ["3", "4"] * 4,  # a tie: no label
        [None] * 8,
    ]
    r = summarize_probe(greedy, samples, k=8)
    assert r.confident_share == 0.5 and r.confident_differs == 0.25
    assert r.no_answer_rate == 0.25
    assert r.agreement_hist["0.8-1.0"] == 0.25 and r.agreement_hist["0.6-0.8"] == 0.25
    assert "something to teach" in r.verdict
    quiet = summarize_probe(["1"] * 20, [["1"] * 8] * 20, k=8)
    assert quiet.verdict.startswith("majority voting has little to teach here")
    assert quiet.metrics()["confident_differs"] == 0.0


def test_probe_says_may_harm_when_the_greedy_answer_wins_the_vote_on_balance():
    # 8 questions where greedy's answer is a 5-of-8 majority, 2 where a 6-of-8 majority beats it
    greedy = ["1"] * 10
    samples = [["1"] * 5 + ["2", "3", "4"]] * 8 + [["7"] * 6 + ["1"] * 2] * 2
    r = summarize_probe(greedy, samples, k=8)
    assert r.confident_differs == 0.2 and r.greedy_advantage > 0
    assert r.kind == "may harm" and "sharpen" in r.verdict and r.stops()
    # greedy's answer loses wherever it is sampled: the vote pushes away from it
    losing = summarize_probe(["1"] * 10, [["1", "2"] + ["3"] * 6] * 2 + [["5"] * 8] * 8, k=8)
    assert losing.greedy_advantage < 0 and losing.kind == "something to teach" and not losing.stops()
    # stores written before the measure existed read back without it
    old = {k: v for k, v in r.metrics().items() if k != "greedy_advantage"}
    assert ProbeResult.from_metrics(old).greedy_advantage is None
    assert ProbeResult.from_metrics(old).kind == "something to teach"


def test_probe_gives_a_verdict_per_question_type_and_stores_it():
    # colour questions: a confident majority beats greedy; count questions: greedy's answer is the majority
    greedy = ["red"] * 10 + ["1"] * 10
    samples = [["blue"] * 6 + ["red"] * 2] * 10 + [["1"] * 5 + ["2", "3", "0"]] * 10
    types = ["colour"] * 10 + ["count"] * 10
    r = summarize_probe(greedy, samples, k=8, types=types)
    assert r.by_type["colour"].kind == "something to teach" and r.by_type["colour"].n == 10
    assert r.by_type["count"].kind == "little to teach"
    assert "colour: something to teach" in r.type_line() and "count: little to teach" in r.type_line()
    back = ProbeResult.from_metrics(r.metrics())
    assert back.kind == r.kind and back.by_type["count"].confident_differs == 0.0
    assert r.type_line() in r.lines()
    # one type only: no per-type verdict
    assert summarize_probe(greedy[:10], samples[:10], k=8, types=types[:10]).type_line() is None


def test_frame_report_lists_each_round_per_run():
    from bench.frame import render

    shares = {
        "sampled_on_frame": 0.2,
        "greedy_on_frame": 0.19,
        "frame_looked_past": 0.07,
        "frame_located": 0.8,
    }
    later = {**shares, "sampled_on_frame": 0.05, "frame_looked_past": 0.5}
    text = render(
        "arm",
        [{"reward": "ground_truth", "base_seed": 2, "upt_seed": 0, "rounds": {"0": shares, "3": later}}],
        300,
    )
    assert "| ground_truth b2 / u0 | 0.200 → 0.050 | 0.190 → 0.190 | 0.070 → 0.500 | 0.800 → 0.800 |" in text
