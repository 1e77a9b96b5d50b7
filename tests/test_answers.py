import pytest

from mmupt_core.voting.answers import equivalent, extract_answer, last_boxed, normalize

CASES = [
    # (response, choices, expected)
    ("View B: 3 red. \\boxed{3}", None, "3"),
    ("\\boxed{12}", None, "12"),
    ("so \\boxed{\\frac{1}{2}}", None, "\\frac{1}{2}"),
    ("nested \\boxed{\\frac{\\sqrt{3}}{2}} done", None, "\\frac{\\sqrt{3}}{2}"),
    ("first \\boxed{1} then \\boxed{2}", None, "2"),
    ("\\boxed{3} and an open \\boxed{4", None, None),
    ("no box at all", None, None),
    ("", None, None),
    ("\\boxed{}", None, None),
    ("The answer is 7.", None, "7"),
    ("so the final answer is 42", None, "42"),
    ("Answer: 15", None, "15"),
    ("the answer is $\\frac{3}{4}$.", None, "\\frac{3}{4}"),
    ("\\boxed{3.0}", None, "3"),
    ("\\boxed{ 5 }", None, "5"),
    ("\\boxed{1,000}", None, "1000"),
    ("\\boxed{45^\\circ}", None, "45"),
    ("\\boxed{45^{\\circ}}", None, "45"),
    ("\\boxed{45°}", None, "45"),
    ("\\boxed{12 cm}", None, "12"),
    ("\\boxed{12\\text{ cm}}", None, "12"),
    ("\\boxed{\\text{12 units}}", None, "12"),
    ("\\boxed{\\dfrac{2}{3}}", None, "\\frac{2}{3}"),
    ("\\boxed{\\frac23}", None, "\\frac{2}{3}"),
    ("\\boxed{$7$}", None, "7"),
    ("\\boxed{-4}", None, "-4"),
    ("\\boxed{0.50}", None, "0.5"),
    ("\\fbox{9}", None, "9"),
    ("\\boxed{\\left(1, 2\\right)}", None, "(1,2)"),
    ("\\boxed{B}", ["10", "20", "30"], "B"),
    ("\\boxed{(C)}", ["10", "20", "30"], "C"),
    ("\\boxed{20}", ["10", "20", "30"], "B"),
    ("I think it is (A).", ["x", "y"], "A"),
    ("The answer is (D).", ["1", "2", "3", "4"], "D"),
    ("no letter here", ["1", "2"], None),
    ("\\boxed{b}", ["1", "2"], "B"),
    ("\\boxed{\\sqrt{2}}", None, "\\sqrt{2}"),
    # a letter stated with its option's text, or with a label, is that letter
    ("The answer is (C) 45", ["15", "30", "45"], "C"),
    ("The answer is C) 45.", ["15", "30", "45"], "C"),
    ("Answer: C: 45", ["15", "30", "45"], "C"),
    ("\\boxed{B. 30}", ["15", "30", "45"], "B"),
    ("The answer is option B", ["15", "30", "45"], "B"),
    ("The answer is choice (a)", ["15", "30", "45"], "A"),
    # ... but a letter beside another option's text, or a letter past the options, decides nothing
    ("The answer is (C) 30", ["15", "30", "45"], "(C)30"),
    ("The answer is option E", ["15", "30", "45"], "optionE"),
]


@pytest.mark.parametrize(("text", "choices", "expected"), CASES)
def test_extract(text, choices, expected):
    assert extract_answer(text, choices) == expected


def test_case_table_is_large_enough():
    assert len(CASES) >= 30


def test_last_boxed_handles_nesting():
    assert last_boxed("\\boxed{a{b{c}}d}") == "a{b{c}}d"
    assert last_boxed("x") is None


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("0.5", "\\frac{1}{2}", True),
        ("3", "3", True),
        ("3", "4", False),
        ("2", "\\frac{4}{2}", True),
        ("\\sqrt{4}", "2", True),
        ("A", "B", False),
        (None, "1", False),
        (None, None, False),
    ],
)
def test_equivalent(a, b, same):
    assert equivalent(a, b) is same


def test_normalize_is_idempotent():
    for raw in ["3.0", "\\dfrac{1}{2}", "45^\\circ", "12 cm", "1,000"]:
        assert normalize(normalize(raw)) == normalize(raw)
