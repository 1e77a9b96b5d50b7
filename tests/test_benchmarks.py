"""Benchmark loaders on fixtures in the published layouts, and literal scorer tables per benchmark."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from bench import layouts
from mmupt_core.config import BENCHMARK_NAMES, ModelConfig
from mmupt_core.data.items import Item
from mmupt_core.data.sources import DataError
from mmupt_core.scoring.benchmarks import (
    BENCHMARKS,
    LetterOrValueScorer,
    MathVistaScorer,
    load_benchmark,
    split_wemath_options,
    wemath_four_dimensional,
)
from mmupt_core.voting.answers import extract_answer

MODEL = ModelConfig(min_pixels=3136, max_pixels=12544)


def _item(choices=None, **meta):
    return Item("i", "bench", "x.png", "q", choices=choices, meta=meta)


MC = _item(["135°", "140°", "145°", "150°"], question_type="multi_choice", answer_type="text")
YES_NO = _item(["Yes", "No"], question_type="multi_choice", answer_type="text")
INT = _item(question_type="free_form", answer_type="integer")
FLOAT1 = _item(question_type="free_form", answer_type="float", precision=1.0)
FLOAT_NAN = _item(question_type="free_form", answer_type="float", precision=float("nan"))
LIST = _item(question_type="free_form", answer_type="list")


@pytest.mark.parametrize(
    ("prediction", "item", "answer", "ok"),
    [
        ("C", MC, "145°", True),
        ("(C)", MC, "145°", True),
        ("145", MC, "145°", True),  # the choice text in normal form
        ("B", MC, "145°", False),
        ("yes", YES_NO, "Yes", True),  # nearest choice by edit distance
        ("1000.0", INT, "1000", True),
        ("999.9", INT, "1000", False),  # int() truncates, as the official normaliser does
        ("1.23", FLOAT1, "1.2", True),
        ("1.3", FLOAT1, "1.2", False),
        ("1.2", FLOAT_NAN, "1.2", True),
        ("[2014, 2016]", LIST, "[2014, 2016]", True),
        (None, INT, "1000", False),
    ],
)
def test_mathvista_scorer(prediction, item, answer, ok):
    assert MathVistaScorer().score(prediction, item, answer) is ok


WM_OPTIONS = "A. 300, 400;B. 400, 300;C. 3000, 4000;D. 4000, 3000; E. No correct answer"


def test_wemath_options_and_letters():
    opts = split_wemath_options(WM_OPTIONS)
    assert opts == ["300, 400", "400, 300", "3000, 4000", "4000, 3000", "No correct answer"]
    assert split_wemath_options("A. x; y;B. z") == ["x; y", "z"]
    item = _item(opts)
    scorer = LetterOrValueScorer("wemath")
    assert scorer.score("C", item, "C") and scorer.score("(C)", item, "C")
    assert not scorer.score("B", item, "C") and not scorer.score(None, item, "C")
    # an option's text in the box becomes its letter at extraction
    assert extract_answer("so \\boxed{3000, 4000}", opts) == "C"


def test_wemath_four_dimensional_metric():
    rows = [
        ("g1", "2steps_1", True),
        ("g1", "2steps_2", True),
        ("g1", "2steps_multi", True),  # CM strict
        ("g2", "2steps_1", True),
        ("g2", "2steps_2", False),
        ("g2", "2steps_multi", True),  # RM strict, CM loose
        ("g3", "2steps_1", True),
        ("g3", "2steps_2", True),
        ("g3", "2steps_multi", False),  # IG
        ("g4", "3steps_1", False),
        ("g4", "3steps_2", False),
        ("g4", "3steps_3", False),
        ("g4", "3steps_multi", False),  # IK
    ]
    m = wemath_four_dimensional(rows)
    assert m["score_strict"] == pytest.approx((1 + 0.5) / 4)
    assert m["score_loose"] == pytest.approx((2 + 0.5) / 4)
    assert m["IK"] == 0.25 and m["IG"] == 0.25 and m["groups"] == 4


@pytest.mark.parametrize(
    ("prediction", "answer", "ok"),
    [
        ("C", "C", True),
        ("B", "(B)", True),
        ("C,D", "C\nD", True),
        ("C", "C\nD", False),
        ("7", "$$r=7.00$$", True),
        ("50.27", "Circumference $=50.27 \\mathrm{~cm}$", True),
        ("4.4", "4.4 m", True),
        ("\\frac{\\sqrt{30}}{2}", "\\frac{\\sqrt{30}}{2}", True),
        ("2.74", "\\frac{\\sqrt{30}}{2}", False),  # rule-based scoring under-counts (see benchmarks.py)
        ("12", "14", False),
    ],
)
def test_mathverse_scorer(prediction, answer, ok):
    assert LetterOrValueScorer("mathverse").score(prediction, _item(), answer) is ok


@pytest.mark.parametrize(
    ("prediction", "options", "answer", "ok"),
    [
        ("A", ["A", "B", "C", "D", "E"], "A", True),
        ("B", ["A", "B", "C", "D", "E"], "A", False),
        ("3", ["1", "2", "3", "4", "5"], "C", True),  # the value of the right option
        ("C", ["1", "2", "3", "4", "5"], "C", True),
        ("60", [], "60", True),
        ("60.0", [], "60", True),
        ("\\frac{36}{13}", [], "\x0crac{36}{13}", True),  # the form-feed-mangled reference, mended
        ("11", [], "11 ", True),
        ("0.5", [], "$\\frac{1}{2}$", True),
        ("3.14", [], "3.14159", True),  # 2 decimals, as the official rules
        ("3.15", [], "3.14159", False),
    ],
)
def test_mathvision_scorer(prediction, options, answer, ok):
    assert LetterOrValueScorer("mathvision").score(prediction, _item(options or None), answer) is ok


def test_registry_matches_the_config_names():
    assert set(BENCHMARKS) | {"world_eval"} == set(BENCHMARK_NAMES)


@pytest.mark.parametrize(
    ("name", "write", "n", "first_question"),
    [
        ("mathvista_testmini", layouts.mathvista, 3, "Hint: ... answer requiring"),
        ("wemath_testmini", layouts.wemath, 3, "OA = ( ) m, AB = ( ) m\nOptions: A. 300, 400;"),
        ("mathverse_testmini", layouts.mathverse, 2, "A soft drink can"),
        (
            "mathvision_test",
            layouts.mathvision,
            3,
            "Which number should be written in place of the question mark?",
        ),
    ],
)
def test_benchmark_loaders(tmp_path, name, write, n, first_question):
    src = write(tmp_path)
    bench, loaded = load_benchmark(name, MODEL, tmp_path / "cache", source=str(src))
    assert len(loaded.items) == n and len(loaded.answers) == n and not loaded.rejected
    assert loaded.items[0].question.startswith(first_question)
    assert "<image1>" not in loaded.items[0].question
    if name == "mathverse_testmini":  # Vision Only has no question text: its query stands in
        assert loaded.items[1].question.startswith("According to the question shown in the image")
    if name == "mathvision_test":
        assert loaded.items[2].question.endswith("(E) 5") and loaded.items[2].choices == list("12345")
    if name == "wemath_testmini":
        assert [it.meta["key"] for it in loaded.items] == ["2steps_1", "2steps_2", "2steps_multi"]


def test_benchmark_missing_column_is_named(tmp_path):
    src = layouts.mathvision(tmp_path)
    with pytest.raises(DataError, match=r"benchmark mathverse_testmini .*no column\(s\) \['sample_index'"):
        load_benchmark("mathverse_testmini", MODEL, tmp_path / "cache", source=str(src))
    with pytest.raises(DataError, match="unknown benchmark"):
        load_benchmark("mmmu", MODEL, tmp_path / "cache")


def test_llm_judge_is_asked_only_when_the_rules_say_no():
    from mmupt_core.scoring.judge import JudgeScorer

    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            asked.append(body["messages"][0]["content"])
            reply = {"choices": [{"message": {"content": "Yes."}}]}
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        judge = JudgeScorer(
            LetterOrValueScorer("mathverse"), f"http://127.0.0.1:{server.server_port}/v1", "m"
        )
        assert judge.score("14", _item(), "14") and not asked  # the rules decide
        assert judge.score("0.5 m", _item(), "50 cm") and len(asked) == 1
        assert "Standard answer: 50 cm" in asked[0]
        assert not judge.score(None, _item(), "50 cm") and len(asked) == 1
    finally:
        server.shutdown()


def test_benchmarks_keep_every_row_even_a_repeated_image_and_question(tmp_path):
    """MathVerse's versions can repeat one image and question: testmini keeps all its rows (3940), while
    training data drops such a repeat."""
    import pyarrow.parquet as pq

    src = layouts.mathverse(tmp_path)
    table = pq.read_table(src).to_pylist()
    twin = dict(table[0], sample_index="3422", problem_version="Text Lite")
    pq.write_table(pq.read_table(src).from_pylist(table + [twin]), src)
    _, loaded = load_benchmark("mathverse_testmini", MODEL, tmp_path / "cache", source=str(src))
    assert len(loaded.items) == 3 and not loaded.rejected
    assert len({it.item_id for it in loaded.items}) == 3
    assert [it.question for it in loaded.items].count(loaded.items[0].question) == 2
