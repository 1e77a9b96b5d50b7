"""Official benchmark scoring: literal cases read from each benchmark's own evaluation code, quirks included,
and a property test that no string crashes any scorer."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmupt_core.data.items import Item
from mmupt_core.scoring.benchmarks import BENCHMARKS
from mmupt_core.scoring.latex_value import NoValue, rounded_value
from mmupt_core.scoring.lenient import LetterOrValueScorer, MathVistaScorer
from mmupt_core.scoring.official import (
    MathVerseOfficial,
    MathVisionOfficial,
    MathVistaOfficial,
    WeMathOfficial,
    find_math_answer,
    mathvision_model_answer,
)


def _item(choices=None, **meta):
    return Item("i", "bench", "x.png", "q", choices=choices, meta=meta)


DEG = _item(["135°", "140°", "145°", "150°"], question_type="multi_choice", answer_type="text")
HALVES = _item(["0.5", "1.0", "1.5", "2.0", "2.5"], question_type="multi_choice", answer_type="text")
YES_NO = _item(["Yes", "No"], question_type="multi_choice", answer_type="text")
INT = _item(question_type="free_form", answer_type="integer")
FLOAT1 = _item(question_type="free_form", answer_type="float", precision=1.0)
FLOAT2 = _item(question_type="free_form", answer_type="float", precision=2)
FLOAT_NAN = _item(question_type="free_form", answer_type="float", precision=float("nan"))
LIST = _item(question_type="free_form", answer_type="list")


@pytest.mark.parametrize(
    ("prediction", "item", "answer", "ok"),
    [
        ("B", DEG, "140°", True),  # a letter names its option
        ("(B)", DEG, "140°", True),
        ("(b) 145°", DEG, "140°", True),  # the first "(x)" wins, upper-cased, over the text after it
        ("(B) 145°", DEG, "145°", False),  # ... even when it contradicts the option text
        # not a bare letter: the nearest option by edit distance; all tie here, so the first
        ("B.", DEG, "140°", False),
        ("B.", DEG, "135°", True),
        ("b", DEG, "140°", False),
        ("C:", DEG, "145°", False),
        ("145°", DEG, "145°", True),
        ("145", DEG, "145°", True),  # nearest option by edit distance
        ("2.0", HALVES, "2.0", True),  # the exact option text (it once went to "2.5")
        ("2", HALVES, "2.0", True),  # "2.0" and "2.5" tie at two edits: the first of them
        ("yes", YES_NO, "Yes", True),
        ("", YES_NO, "No", True),  # an empty extraction names the shortest option, as the official code does
        (None, YES_NO, "No", True),  # str(None) = "None" is two edits from "No", four from "Yes"
        ("1000", INT, "1000", True),
        ("1000.7", INT, "1000", True),  # int() truncates
        ("1e3", INT, "1000", True),
        ("1,000", INT, "1000", False),  # float() fails on commas, units, $ and degree signs
        ("12 cm", INT, "12", False),
        ("$12$", INT, "12", False),
        ("12°", INT, "12", False),
        ("−12", INT, "-12", False),  # a Unicode minus is not a number to float()
        ("inf", INT, "1000", False),  # OverflowError, caught: no answer (it once ended the evaluation)
        ("1e999", INT, "1000", False),
        ("nan", INT, "0", False),
        ("1.23", FLOAT1, "1.2", True),
        ("1.25", FLOAT1, "1.2", True),  # round() on the float, as Python does it
        ("1.3", FLOAT1, "1.2", False),
        ("1.234", FLOAT2, "1.23", True),
        ("1.2", FLOAT_NAN, "1.2", False),  # int(NaN) fails: no answer
        ("[2014, 2016]", LIST, "[2014, 2016]", True),
        ("[2014,2016]", LIST, "[2014, 2016]", False),  # lists are exact strings
        (None, INT, "1000", False),
    ],
)
def test_mathvista_official(prediction, item, answer, ok):
    assert MathVistaOfficial().score(prediction, item, answer) is ok


def test_mathvista_official_extraction_fallback():
    bench = BENCHMARKS["mathvista_testmini"]
    assert bench.extract("so \\boxed{ (C) } done", DEG) == "(C)"  # the box, verbatim
    assert bench.extract("145°", DEG) == "145°"  # the response is an option
    assert bench.extract("12", INT) == "12"
    assert bench.extract("12.50", FLOAT1) == "12.5"
    assert bench.extract("I think it is 12", INT) == ""  # the GPT extractor is not run
    assert bench.extract("I think the answer is 12", INT, mode="lenient") == "12"


def test_lenient_regressions():
    """The two bugs the official comparison found in the forgiving scorer."""
    assert MathVistaScorer().score("2.0", HALVES, "2.0")
    assert not MathVistaScorer().score("inf", INT, "1000")
    assert not MathVistaScorer().score("1e999", INT, "1000")


MC5 = list("ABCDE")
VALUES = ["1", "2", "3", "4", "5"]
COLOURS = ["red", "Blue", "GREEN", "yellow", "none"]


@pytest.mark.parametrize(
    ("prediction", "options", "answer", "ok"),
    [
        ("A", MC5, "A", True),
        ("a", MC5, "A", True),  # compared lower-cased
        ("(C)", MC5, "C", True),
        ("C.", MC5, "C", True),
        ("The answer is C.", MC5, "C", True),
        ("B", MC5, "C", False),
        ("3", VALUES, "C", True),  # the right option's value
        ("blue", COLOURS, "B", True),  # option text, case-insensitively
        ("0.33", [], "\\frac{1}{3}", True),  # both sides rounded to 2 decimals, even a symbolic reference
        ("0.34", [], "\\frac{1}{3}", False),
        ("\\frac{1}{2}", [], "0.5", True),
        ("0.5", [], "$\\frac{1}{2}$", True),
        ("2\\sqrt{3}", [], "3.46", True),
        ("\\pi", [], "3.14", True),
        ("11", [], "11 ", True),
        ("60", [], "60", True),
        ("12 km", [], "12", True),  # km, m^3 and "units" are dropped
        ("12 cm", [], "12", False),  # other units are not: 12*c*m has no value
        ("12^\\circ", [], "12", True),
        ("12°", [], "12", False),  # only ^\circ is dropped
        ("50\\%", [], "50", True),  # \% is dropped
        ("50%", [], "50", False),  # a bare % is not, and does not parse
        ("−3", [], "-3", False),  # a Unicode minus does not parse
        ("\\frac{36}{13}", [], "\x0crac{36}{13}", False),  # the mangled reference stays mangled
        ("x = 3", [], "3", True),  # the value after "="
        ("(1, 2)", [], "(1,2)", True),
        ("[1,2]", [], "[1, 2]", True),
        ("1,2", [], "(1,2)", False),
        ("", [], "0", False),
        ("the final answer is 7.\nDone", [], "7", True),
        ("\\boxed{1} and \\boxed{\\frac{1}{2}}", [], "0.5", True),  # the last box
    ],
)
def test_mathvision_official(prediction, options, answer, ok):
    assert MathVisionOfficial().score(prediction, _item(options or None), answer) is ok


def test_mathvision_model_answer_and_find_math_answer():
    assert mathvision_model_answer("So it is 12.") == "12"
    assert mathvision_model_answer("The answer is (B).") == "b"
    assert find_math_answer("\\boxed{x = \\dfrac{1}{2}}") == "\\frac{1}{2}"
    assert find_math_answer("0.5") == "\\frac{1}{2}"
    assert find_math_answer("3/4") == "\\frac{3}{4}"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("\\frac{1}{3}", 0.33),
        ("2\\sqrt{3}", 3.46),
        ("1,000", 1000),
        ("50\\%", 0.5),
        ("x=3", 3),  # an assignment's value
        ("12}}", 12),  # the original parser stops at a token that cannot continue the expression
        ("1\\frac{1}{2}", 0.5),  # a product, not a mixed number
        ("3!", 6),
    ],
)
def test_latex_value(text, value):
    assert rounded_value(text) == value


@pytest.mark.parametrize(
    "text", ["e", "x", "\\infty", "1e5", "−5", "π", "10^{10^{10}}", "(1,2)", "2=x", "", "{"]
)
def test_latex_value_fails_where_the_original_fails(text):
    with pytest.raises(NoValue):
        rounded_value(text)


@pytest.mark.parametrize(
    ("prediction", "answer", "ok"),
    [
        ("B", "B", True),
        ("Answer: B", "B", True),
        ("B. 400, 300", "B", True),  # '.', ':', '<', '>' are dropped, the first character is the letter
        ("<Answer>: C", "C", True),
        ("(B)", "B", False),  # the first character is "("
        ("b", "B", False),
        ("The Answer is D but Answer: A", "A", True),  # after the last "Answer"
        (None, "B", False),
    ],
)
def test_wemath_official(prediction, answer, ok):
    assert WeMathOfficial().score(prediction, _item(), answer) is ok


def test_wemath_extraction_takes_the_box():
    assert BENCHMARKS["wemath_testmini"].extract("so \\boxed{C}", _item()) == "C"
    assert BENCHMARKS["wemath_testmini"].extract("<Answer>: C", _item()) == "<Answer>: C"


@pytest.mark.parametrize(
    ("prediction", "answer", "ok"),
    [("C", "C", True), ("(C)", "C", False), ("14", "14", True), ("14.0", "14", False), (None, "C", False)],
)
def test_mathverse_official_quick_match(prediction, answer, ok):
    assert MathVerseOfficial().score(prediction, _item(), answer) is ok


def test_default_scorers_are_official_and_lenient_is_kept():
    for bench in BENCHMARKS.values():
        assert bench.scorer is bench.scorers["official"] and bench.scorer.mode == "official"
        assert bench.scorers["lenient"].mode == "lenient"
    assert isinstance(BENCHMARKS["mathvision_test"].scorers["lenient"], LetterOrValueScorer)


ITEMS = [DEG, HALVES, INT, FLOAT1, FLOAT_NAN, LIST, _item(MC5), _item(VALUES), _item()]
SCORERS = [s for b in BENCHMARKS.values() for s in b.scorers.values()]
NASTY = st.sampled_from(
    [
        "inf",
        "-inf",
        "nan",
        "1e999",
        "9" * 400,
        "",
        " ",
        "{",
        "}}",
        "\\frac{",
        "\\boxed{",
        "\\sqrt",
        "−",
        "π",
        "%",
        "10^{10^{10}}",
        "\\frac{1}{0}",
        "0/0",
        "(",
        "[,]",
        "\x00",
        "\x0c",
        "Answer",
        "oxed{",
        "is ",
        "=",
        "\\approx",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prediction=st.one_of(st.none(), st.text(max_size=40), st.lists(NASTY, max_size=4).map("".join)),
    answer=st.one_of(st.text(max_size=12), NASTY),
    item=st.sampled_from(ITEMS),
)
def test_no_string_crashes_a_scorer(prediction, answer, item):
    for scorer in SCORERS:
        assert scorer.score(prediction, item, answer) in (True, False)
    for bench in BENCHMARKS.values():
        for mode in ("official", "lenient"):
            bench.extract(prediction or "", item, mode)


def test_mathvista_nan_precision_is_not_a_crash():
    assert not MathVistaOfficial().score("1.2", FLOAT_NAN, "1.2")
    assert math.isnan(FLOAT_NAN.meta["precision"])
