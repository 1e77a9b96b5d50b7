"""The paper's benchmarks in their published layouts, with rule-based scorers (shared/DATASETS.md §2).

    mathvista_testmini   AI4Math/MathVista  testmini   MC answer = option text; free-form by answer_type/precision
    wemath_testmini      We-Math/We-Math    testmini   letters; plus the official four-dimensional score
    mathverse_testmini   AI4Math/MathVerse  testmini   5 versions; MC letters, free-form messy (see below)
    mathvision_test      MathLLMs/MathVision test      letters or values; official is_equal rules
    mathvision_testmini  MathLLMs/MathVision testmini

Scoring is rule-based: the model is asked for \\boxed{}, the boxed answer is extracted (answers.py), then
choice letters, option texts, math-verify equivalence and numeric tolerance decide. Where the official scripts
use a GPT extractor or judge, rule-based scoring can differ:
- MathVista: the official LLM extractor reads unboxed answers; here an unboxed response scores 0 unless its last
  line names a choice letter. MC predictions that are neither a letter nor a choice text go to the nearest choice
  by edit distance, as the official normaliser does.
- MathVerse: the official judge (GPT) reads answers with units, prose or LaTeX ("Circumference $=50.27 cm$");
  the rules strip $, units and a leading "x =" and compare with math-verify, so they under-count.
- We-Math: the official extractor reads the first letter after the last "Answer"; here the boxed letter counts.
- MathVision: the official rules round to 2 decimals; so do these.
An optional LLM judge (`judge.py`) can score free-form answers with any OpenAI-compatible server (vLLM).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmupt_core.answers import _is_number, equivalent, normalize
from mmupt_core.config import ModelConfig
from mmupt_core.data import (
    DataError,
    Loaded,
    RowSpec,
    clean_question,
    data_key,
    image_root,
    materialize,
    read_folder,
    read_rows,
)
from mmupt_core.items import Item

LETTERS = "ABCDEFGHIJ"


# -- shared rules -------------------------------------------------------------------------------------------
def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def as_letter(prediction: str | None, n_choices: int) -> str | None:
    """'B', '(b)', 'B.' -> 'B' when it names one of n choices; else None."""
    if prediction is None:
        return None
    s = prediction.strip().strip("().: ").upper()
    return s if len(s) == 1 and s in LETTERS[:n_choices] else None


def numbers_close(a: str | None, b: str | None, ndigits: int = 2) -> bool:
    if a is None or b is None or not (_is_number(a) and _is_number(b)):
        return False
    return round(float(a), ndigits) == round(float(b), ndigits)


_LEAD_EQ = re.compile(r"^[^=]{0,30}=\s*")


def clean_reference(answer: str) -> str:
    """A reference answer in normal form: $, \\boxed, a leading 'x =' and units stripped; form feeds mended."""
    s = answer.replace("\x0c", "\\f").strip()
    boxed = re.fullmatch(r"\\boxed\{(.*)\}", s)
    if boxed:
        s = boxed.group(1)
    s = s.replace("$", "").replace("~", " ").strip()
    if "=" in s and not s.startswith("="):
        s = _LEAD_EQ.sub("", s, count=1)
    return normalize(s)


# -- scorers ------------------------------------------------------------------------------------------------
class MathVistaScorer:
    """The official normalisation: MC -> the choice text (letter, exact text, else nearest by edit distance);
    integer -> str(int(float(x))); float -> rounded to `precision`; then exact equality with `answer`."""

    name = "mathvista"

    def normalize_prediction(self, prediction: str | None, item: Item) -> str | None:
        if prediction is None:
            return None
        meta = item.meta or {}
        if meta.get("question_type") == "multi_choice" and item.choices:
            letter = as_letter(prediction, len(item.choices))
            if letter is not None:
                return item.choices[LETTERS.index(letter)]
            for choice in item.choices:
                if normalize(choice) == prediction:
                    return choice
            return min(item.choices, key=lambda c: levenshtein(normalize(c), prediction))
        answer_type = meta.get("answer_type")
        try:
            if answer_type == "integer":
                return str(int(float(prediction)))
            if answer_type == "float":
                precision = meta.get("precision")
                digits = int(precision) if precision is not None and precision == precision else 1
                return str(round(float(prediction), digits))
        except ValueError:
            return prediction
        return prediction

    def score(self, prediction: str | None, item: Item, answer: str) -> bool:
        norm = self.normalize_prediction(prediction, item)
        if norm is None:
            return False
        if (item.meta or {}).get("question_type") == "multi_choice":
            return norm.strip() == answer.strip()
        return norm.strip() == answer.strip() or normalize(norm) == normalize(answer)


class LetterOrValueScorer:
    """MC: the predicted letter, or the value of the right option (MathVision's is_equal on both);
    free-form: normal forms, numbers to 2 decimals, then math-verify (MathVision, MathVerse, We-Math)."""

    def __init__(self, name: str, ndigits: int = 2):
        self.name = name
        self.ndigits = ndigits

    def score(self, prediction: str | None, item: Item, answer: str) -> bool:
        if prediction is None:
            return False
        ref = answer.replace("\x0c", "\\f").strip()  # "\frac" read with "\f" as a form feed
        letters = _answer_letters(ref)
        if letters:
            n = max(len(item.choices or []), LETTERS.index(max(letters)) + 1)
            got = _answer_letters(prediction.strip()) or (
                {as_letter(prediction, n)} if as_letter(prediction, n) else set()
            )
            if got == letters:
                return True
            if len(letters) == 1 and item.choices:
                idx = LETTERS.index(next(iter(letters)))
                if idx < len(item.choices) and item.choices[idx] not in LETTERS:
                    value = clean_reference(item.choices[idx])
                    return equivalent(prediction, value) or numbers_close(prediction, value, self.ndigits)
            return False
        ref_norm = clean_reference(ref)
        pred = clean_reference(prediction)
        return (
            pred.lower() == ref_norm.lower()
            or numbers_close(pred, ref_norm, self.ndigits)
            or equivalent(pred, ref_norm)
        )


def _answer_letters(text: str) -> set[str]:
    """'C', '(C)', 'C\\nD' -> the letter set; anything else (a value) -> empty."""
    parts = [p.strip().strip("().: ") for p in re.split(r"[\n,;]+", text) if p.strip()]
    if parts and all(len(p) == 1 and p.upper() in LETTERS for p in parts):
        return {p.upper() for p in parts}
    return set()


# -- row mappings (published column layouts) ----------------------------------------------------------------
def _mathvista(idx: int, row: dict) -> RowSpec:
    choices = list(row["choices"]) if row.get("choices") else None
    question = (row.get("query") or "").strip() or _with_choices(row["question"], choices)
    return RowSpec(
        row_id=str(row["pid"]),
        question=question,
        image=row.get("decoded_image") or row.get("image"),
        answer=str(row["answer"]),
        choices=choices,
        meta={
            "type": row["question_type"],
            "question_type": row["question_type"],
            "answer_type": row["answer_type"],
            "precision": row.get("precision"),
        },
    )


def _wemath(idx: int, row: dict) -> RowSpec:
    options = split_wemath_options(row["option"])
    return RowSpec(
        row_id=f"{row['ID']}/{row['key']}",
        question=f"{row['question'].strip()}\nOptions: {row['option'].strip()}",
        image=row["image_path"],
        answer=str(row["answer"]).strip(),
        choices=options or None,
        meta={
            "type": "multi" if str(row["key"]).endswith("multi") else "step",
            "group": row["ID"],
            "key": row["key"],
        },
    )


def _mathverse(idx: int, row: dict) -> RowSpec:
    question = (row.get("question") or "").strip() or (row.get("query_wo") or "").strip()
    return RowSpec(
        row_id=str(row["sample_index"]),
        question=question,
        image=row["image"],
        answer=str(row["answer"]),
        meta={
            "type": row["problem_version"],
            "question_type": row["question_type"],
            "problem_index": str(row["problem_index"]),
        },
    )


def _mathvision(idx: int, row: dict) -> RowSpec:
    options = [str(o) for o in (row.get("options") or [])]
    question = clean_question(row["question"])
    if options and options != list(LETTERS[: len(options)]):
        question = _with_choices(question, options)
    elif options:
        question += "\nChoose one of " + ", ".join(options) + "."
    return RowSpec(
        row_id=str(row["id"]),
        question=question,
        image=row.get("decoded_image") or row.get("image"),
        answer=str(row["answer"]),
        choices=options or None,
        meta={
            "type": "multi_choice" if options else "free_form",
            "level": row.get("level"),
            "subject": row.get("subject"),
        },
    )


def _with_choices(question: str, choices: list[str] | None) -> str:
    if not choices:
        return question.strip()
    lines = [f"({LETTERS[k]}) {c}" for k, c in enumerate(choices)]
    return question.strip() + "\nChoices:\n" + "\n".join(lines)


_WEMATH_OPTION = re.compile(r"(?:^|;)\s*([A-H])\s*[.:：]\s*")


def split_wemath_options(text: str) -> list[str]:
    """'A. 300, 400;B. 400; 300; E. No correct answer' -> option texts; splits only at '; X.' markers, so a
    ';' inside an option's text stays."""
    marks = list(_WEMATH_OPTION.finditer(text))
    out = []
    for k, m in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(text)
        out.append(text[m.end() : end].strip().rstrip(";").strip())
    return out


# -- registry -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Benchmark:
    name: str
    source: str
    split: str
    config: str | None
    columns: tuple[str, ...]
    row: Callable[[int, dict], RowSpec]
    scorer: Any


BENCHMARKS = {
    "mathvista_testmini": Benchmark(
        "mathvista_testmini",
        "AI4Math/MathVista",
        "testmini",
        None,
        ("pid", "question", "choices", "answer", "question_type", "answer_type"),
        _mathvista,
        MathVistaScorer(),
    ),
    "wemath_testmini": Benchmark(
        "wemath_testmini",
        "We-Math/We-Math",
        "testmini",
        None,
        ("ID", "key", "question", "option", "answer", "image_path"),
        _wemath,
        LetterOrValueScorer("wemath"),
    ),
    "mathverse_testmini": Benchmark(
        "mathverse_testmini",
        "AI4Math/MathVerse",
        "testmini",
        "testmini",
        ("sample_index", "problem_index", "problem_version", "question", "image", "answer", "question_type"),
        _mathverse,
        LetterOrValueScorer("mathverse"),
    ),
    "mathvision_test": Benchmark(
        "mathvision_test",
        "MathLLMs/MathVision",
        "test",
        None,
        ("id", "question", "options", "answer"),
        _mathvision,
        LetterOrValueScorer("mathvision"),
    ),
    "mathvision_testmini": Benchmark(
        "mathvision_testmini",
        "MathLLMs/MathVision",
        "testmini",
        None,
        ("id", "question", "options", "answer"),
        _mathvision,
        LetterOrValueScorer("mathvision"),
    ),
}


def load_benchmark(
    name: str,
    model: ModelConfig,
    cache: Path,
    *,
    source: str | None = None,
    limit: int | None = None,
    max_source_pixels: int = 100_000_000,
) -> tuple[Benchmark, Loaded]:
    """A benchmark's items (images prepared like training data) and answers; `source` overrides the hub id
    with a local copy in the same layout."""
    if name not in BENCHMARKS:
        raise DataError(f"unknown benchmark {name!r}; known: {sorted(BENCHMARKS)} (and world_eval)")
    bench = BENCHMARKS[name]
    src = source or bench.source
    key = data_key({"benchmark": name, "source": src, "limit": limit}, model)
    folder = cache / f"{name}-{key}"
    if (cached := read_folder(folder)) is not None:
        return bench, cached
    rows = read_rows(src, bench.split, bench.config)
    missing = [c for c in bench.columns if c not in rows.column_names]
    if missing:
        raise DataError(
            f"benchmark {name} ({src}, split {bench.split!r}) has no column(s) {missing}; "
            f"its columns are {rows.column_names}"
        )
    if limit is not None:
        rows = rows.select(range(min(limit, len(rows))))
    specs: Iterable[RowSpec] = (bench.row(i, r) for i, r in enumerate(rows))
    return bench, materialize(
        specs, folder, name, bench.split, image_root(src, None), model, max_source_pixels
    )


# -- We-Math's official four-dimensional metric ---------------------------------------------------------------
def wemath_four_dimensional(rows: Iterable[tuple[str, str, bool]]) -> dict[str, float]:
    """rows: (group ID, key, correct). Groups are the multi-step problems; a `*multi` key is the composite.
    Score = (CM + 0.5 IG) / groups, strict and loose (DATASETS.md §2.2). Incomplete groups are skipped."""
    groups: dict[str, dict[str, bool]] = defaultdict(dict)
    for gid, key, ok in rows:
        groups[gid][key] = ok
    counts = defaultdict(int)
    n = 0
    for parts in groups.values():
        multi = [k for k in parts if k.endswith("multi")]
        subs = [v for k, v in parts.items() if not k.endswith("multi")]
        if len(multi) != 1 or not subs:
            continue
        n += 1
        jm = parts[multi[0]]
        all_sub, any_sub = all(subs), any(subs)
        if not jm:
            counts["IK" if not all_sub else "IG"] += 1
        else:
            counts["CM_strict" if all_sub else "RM_strict"] += 1
            counts["CM_loose" if any_sub else "RM_loose"] += 1
    if not n:
        return {}
    out = {k: counts[k] / n for k in ("IK", "IG", "CM_strict", "RM_strict", "CM_loose", "RM_loose")}
    out["score_strict"] = (counts["CM_strict"] + 0.5 * counts["IG"]) / n
    out["score_loose"] = (counts["CM_loose"] + 0.5 * counts["IG"]) / n
    out["groups"] = float(n)
    return out
