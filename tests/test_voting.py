from mmupt_core.voting.vote import vote


def test_plain_majority():
    v = vote(["3", "3", "4", "3", None, "2", "3", "4"])
    assert (v.label, v.votes, v.n_valid, v.n_total) == ("3", 4, 7, 8)
    assert v.agreement == 0.5
    assert not v.tied


def test_none_never_votes_even_when_most_common():
    v = vote([None, None, None, None, None, "7", "7", "8"])
    assert v.label == "7"
    assert v.votes == 2 and v.n_valid == 3
    assert v.agreement == 2 / 8


def test_all_none():
    v = vote([None] * 8)
    assert v.label is None and v.votes == 0 and v.n_valid == 0 and v.agreement == 0.0
    assert not v.accepted(0.0, 1)


def test_equivalent_forms_vote_together():
    v = vote(["0.5", "\\frac{1}{2}", "\\frac{1}{2}", "1", "1"])
    assert v.label == "\\frac{1}{2}"
    assert v.votes == 3


def test_tie_without_rule_gives_no_label():
    v = vote(["2", "5", "5", "2", None])
    assert v.tied and v.label is None and v.votes == 2
    assert not v.accepted(0.0, 1)


def test_tie_lowest_rule_is_deterministic_and_order_free():
    assert vote(["5", "2", "2", "5"], tie_break="lowest").label == "2"
    assert vote(["2", "5", "5", "2"], tie_break="lowest").label == "2"
    assert vote(["10", "9", "9", "10"], tie_break="lowest").label == "9"  # numeric, not string, order


def test_accept_filters():
    v = vote(["1", "1", "1", "2", None, None, None, None])
    assert v.accepted(min_agreement=0.3, min_valid=4)
    assert not v.accepted(min_agreement=0.5, min_valid=4)
    assert not v.accepted(min_agreement=0.3, min_valid=5)


def test_vote_count_independent_of_group_size():
    answers = ["4"] * 40 + ["3"] * 24
    v = vote(answers)
    assert (v.label, v.votes, v.n_total) == ("4", 40, 64)
