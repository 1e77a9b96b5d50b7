"""The paper's benchmarks in their published layouts (as on the hub), each with two scorers.

    mathvista_testmini   AI4Math/MathVista  testmini   MC answer = option text; free-form by answer_type/precision
    wemath_testmini      We-Math/We-Math    testmini   letters; plus the official four-dimensional score
    mathverse_testmini   AI4Math/MathVerse  testmini   5 versions; MC letters, free-form messy
    mathvision_test      MathLLMs/MathVision test      letters or values; official is_equal rules
    mathvision_testmini  MathLLMs/MathVision testmini

`evaluation.scoring` picks the scorer:
- `official` (default; comparable with published numbers): each benchmark's own rules, quirks included
  (official.py). Its extraction step takes the boxed answer verbatim, else the benchmark's rule-based fallback.
- `lenient`: forgiving matches (lenient.py) on `answers.extract_answer`'s normalised answer.
Where the official method uses a GPT extractor or judge (MathVista, MathVerse) the rules score lower; an optional
LLM judge (judge.py) can be configured for that.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmupt_core.config import ModelConfig
from mmupt_core.data.items import Item
from mmupt_core.data.sources import (
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
from mmupt_core.scoring.lenient import LETTERS, LetterOrValueScorer, MathVistaScorer
from mmupt_core.scoring.official import (
    MathVerseOfficial,
    MathVisionOfficial,
    MathVistaOfficial,
    WeMathOfficial,
)
from mmupt_core.voting.answers import extract_answer

SCORING_MODES = ("official", "lenient")


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
    scorers: dict[str, Any]  # scoring mode -> scorer

    @property
    def scorer(self):
        """The default (official) scorer."""
        return self.scorers["official"]

    def extract(self, response: str, item: Item, mode: str = "official") -> str | None:
        """Answer extraction, the step before scoring: the official scorer's own, or the normalised one."""
        if mode == "official":
            return self.scorer.extract(response, item)
        return extract_answer(response, item.choices)


BENCHMARKS = {
    "mathvista_testmini": Benchmark(
        "mathvista_testmini",
        "AI4Math/MathVista",
        "testmini",
        None,
        ("pid", "question", "choices", "answer", "question_type", "answer_type"),
        _mathvista,
        {"official": MathVistaOfficial(), "lenient": MathVistaScorer()},
    ),
    "wemath_testmini": Benchmark(
        "wemath_testmini",
        "We-Math/We-Math",
        "testmini",
        None,
        ("ID", "key", "question", "option", "answer", "image_path"),
        _wemath,
        {"official": WeMathOfficial(), "lenient": LetterOrValueScorer("wemath")},
    ),
    "mathverse_testmini": Benchmark(
        "mathverse_testmini",
        "AI4Math/MathVerse",
        "testmini",
        "testmini",
        ("sample_index", "problem_index", "problem_version", "question", "image", "answer", "question_type"),
        _mathverse,
        {"official": MathVerseOfficial(), "lenient": LetterOrValueScorer("mathverse")},
    ),
    "mathvision_test": Benchmark(
        "mathvision_test",
        "MathLLMs/MathVision",
        "test",
        None,
        ("id", "question", "options", "answer"),
        _mathvision,
        {"official": MathVisionOfficial(), "lenient": LetterOrValueScorer("mathvision")},
    ),
    "mathvision_testmini": Benchmark(
        "mathvision_testmini",
        "MathLLMs/MathVision",
        "testmini",
        None,
        ("id", "question", "options", "answer"),
        _mathvision,
        {"official": MathVisionOfficial(), "lenient": LetterOrValueScorer("mathvision")},
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
        specs, folder, name, bench.split, image_root(src, None), model, max_source_pixels, dedupe=False
    )


# -- We-Math's official four-dimensional metric ---------------------------------------------------------------
def wemath_four_dimensional(rows: Iterable[tuple[str, str, bool]]) -> dict[str, float]:
    """rows: (group ID, key, correct). Groups are the multi-step problems; a `*multi` key is the composite.
    Score = (CM + 0.5 IG) / groups, strict and loose, as We-Math's
    official evaluation computes it. Incomplete groups are skipped."""
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
