"""bench.probe's do-no-harm reading and bench.contested's candidate rule: both judge a world by rules written
before its outcomes, so they are pinned here on small hand-made runs."""

from bench.contested import CONTESTED, candidate, contested_share, runner_up_votes
from bench.probe import _changes, _no_harm_hit, collapse_fires


def test_a_question_is_contested_when_its_runner_up_has_two_votes_and_no_answer_is_not_an_answer():
    assert runner_up_votes(["1", "1", "1", "1", "1", "1", "2", "2"]) == 2
    assert runner_up_votes(["1", "1", "1", "1", "1", "1", "2", "3"]) == 1
    assert runner_up_votes(["1", "1", "1", "1", "1", "1", None, None]) == 0
    assert runner_up_votes([None] * 8) == 0
    samples = [["a"] * 6 + ["b"] * 2, ["a"] * 7 + ["b"], ["a"] * 4 + ["b"] * 4, ["a"] * 8]
    assert contested_share(samples) == 0.5


def test_the_candidate_says_may_harm_over_the_line_overall_or_on_a_large_enough_type():
    calm, split = ["a"] * 8, ["a"] * 5 + ["b"] * 3
    # 40 of 100 contested overall; the 60 count questions are 40/60 = 0.67 contested, over the line
    samples = [split] * 40 + [calm] * 60
    types = ["count"] * 40 + ["colour"] * 40 + ["count"] * 20
    c = candidate(samples, types)
    assert c["contested"] == 0.4 < CONTESTED
    assert c["verdict"] == "may harm" and c["types_may_harm"] == ["count"]
    # a type under 50 questions is not judged on its own
    small = candidate([split] * 30 + [calm] * 70, ["count"] * 30 + ["colour"] * 70)
    assert "count" not in small["contested_by_type"] and small["verdict"] == "would help"


def _run(base: dict, last: dict, tops=(0.30, 0.30, 0.30)) -> dict:
    rounds = {str(k): {"pool.top_label_share": t, "pool.items": 300} for k, t in enumerate(tops, start=1)}
    rounds["3"].update({f"world_eval.{k}": v for k, v in last.items()})
    return {"base": base, "rounds": rounds}


def test_harm_is_any_measure_below_base_and_a_go_verdict_needs_a_gain_without_harm():
    base = {"greedy_acc": 0.6, "sampled_acc": 0.6, "greedy_acc/count": 0.5, "sampled_acc/count": 0.5}
    # overall greedy +0.05 while count questions' sampled accuracy falls 0.03
    run = _run(
        base, {"greedy_acc": 0.65, "sampled_acc": 0.6, "greedy_acc/count": 0.5, "sampled_acc/count": 0.47}
    )
    d = _changes(run)
    assert round(d["greedy"], 3) == 0.05 and round(d["sampled/count"], 3) == -0.03
    assert _no_harm_hit(stops=True, d=d) and not _no_harm_hit(stops=False, d=d)
    clean = _changes(
        _run(
            base, {"greedy_acc": 0.65, "sampled_acc": 0.6, "greedy_acc/count": 0.5, "sampled_acc/count": 0.5}
        )
    )
    assert _no_harm_hit(stops=False, d=clean) and not _no_harm_hit(stops=True, d=clean)
    flat = _changes(
        _run(
            base, {"greedy_acc": 0.61, "sampled_acc": 0.6, "greedy_acc/count": 0.5, "sampled_acc/count": 0.5}
        )
    )
    assert _no_harm_hit(stops=True, d=flat) and not _no_harm_hit(stops=False, d=flat)


def test_the_collapse_guard_replays_on_the_stored_pool_votes():
    base = {"greedy_acc": 0.6, "sampled_acc": 0.6}
    last = {"greedy_acc": 0.6, "sampled_acc": 0.6}
    assert collapse_fires(_run(base, last, tops=(0.30, 0.45, 0.50))) == 2
    assert collapse_fires(_run(base, last, tops=(0.30, 0.35, 0.45))) == 3
    assert collapse_fires(_run(base, last, tops=(0.30, 0.39, 0.40))) is None
