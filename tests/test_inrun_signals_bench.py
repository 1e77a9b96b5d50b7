"""bench.inrun_signals: a label-free rule's replay on one run's per-round metrics, and how outcomes are judged."""

from bench.inrun_signals import RULES, change, outcome, replay, world_of


def _run(greedy, sampled, top, agreement=(0.7, 0.7, 0.7), types=None) -> dict:
    rounds = {}
    for r in range(4):
        m = {"world_eval.greedy_acc": greedy[r], "world_eval.sampled_acc": sampled[r]}
        for t, accs in (types or {}).items():
            m[f"world_eval.greedy_acc/{t}"] = accs[r]
        if r:
            m["pool.top_label_share"] = top[r - 1]
            m["pool.agreement_mean"] = agreement[r - 1]
        rounds[str(r)] = m
    return {"rounds": rounds}


def _rule(name: str):
    return dict(RULES)[name]


def test_a_rule_is_checked_before_rounds_2_and_3_and_a_stop_keeps_the_checkpoint_before():
    top_up = _rule("top label up > 0.10")
    # round 2's pool (sampled from round 1's checkpoint) is 0.15 above round 1's: stop before round 2, keep round 1
    run = _run([0.5, 0.4, 0.3, 0.2], [0.5] * 4, top=[0.30, 0.45, 0.50])
    assert replay(run, top_up) == 1
    # the rise shows only in round 3's pool: stop before round 3, keep round 2
    assert replay(_run([0.5] * 4, [0.5] * 4, top=[0.30, 0.35, 0.45]), top_up) == 2
    # never past the threshold: the run keeps its last round
    assert replay(_run([0.5] * 4, [0.5] * 4, top=[0.30, 0.39, 0.39]), top_up) == 3
    # the shipped consolidation guard compares each pool with the one before it
    falls = _run([0.5] * 4, [0.5] * 4, top=[0.3] * 3, agreement=(0.80, 0.85, 0.82))
    assert replay(falls, _rule("consolidation")) == 2


def test_harm_counts_greedy_sampled_or_a_question_type_and_gain_needs_greedy():
    typed = _run(
        [0.6, 0.6, 0.6, 0.62],
        [0.6] * 4,
        top=[0.3] * 3,
        types={"colour": [0.6, 0.7, 0.7, 0.75], "count": [0.6] * 3 + [0.5]},
    )
    assert (
        change(typed, 3)["worst type"] == -0.09999999999999998
        or round(change(typed, 3)["worst type"], 3) == -0.1
    )
    assert outcome(typed) == "harm"
    assert (
        outcome(_run([0.6, 0.6, 0.6, 0.7], [0.6, 0.6, 0.6, 0.57], top=[0.3] * 3)) == "harm"
    )  # sampled -0.03
    assert outcome(_run([0.6, 0.6, 0.6, 0.7], [0.6] * 4, top=[0.3] * 3)) == "gain"
    assert outcome(_run([0.6, 0.6, 0.6, 0.63], [0.6] * 4, top=[0.3] * 3)) == "flat"
    # 0.02 on the line is not harm (2 points of 300 items is within it)
    assert outcome(_run([0.6, 0.6, 0.6, 0.58], [0.6] * 4, top=[0.3] * 3)) == "flat"


def test_a_results_file_is_read_as_its_world_by_the_longest_matching_name():
    assert world_of("upt-framed-colour-t2-b12") == "framed-colour"
    assert world_of("upt-framed-dev-more") == "framed"
    assert world_of("recipe-framed10-default") == "framed, frame noise 0.1"
    assert world_of("synthesis") is None
