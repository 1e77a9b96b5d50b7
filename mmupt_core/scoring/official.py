"""Benchmark scoring by each benchmark's own published rules, quirks included (the default, `scoring: official`).

Scores computed here are the ones comparable with published numbers. Every rule was read from the official
code and written again here; each scorer names the file and function it follows.

Scoring takes an *extracted* answer. Extraction is a separate step (`extract`): the last \\boxed{...} of the
response, verbatim, since every prompt here asks for a box; when there is none, the benchmark's own rule-based
fallback where it defines one (MathVista's `extract_answer` rules, MathVision's `evaluate` response rules,
We-Math's "Answer" rule); the GPT extractors of MathVista and MathVerse are not run (an LLM judge can be
configured instead, see judge.py).

No scorer raises on any string; an answer that the official code would crash on scores False.
"""

from __future__ import annotations

import re

from mmupt_core.data.items import Item
from mmupt_core.scoring.latex_value import NoValue, rounded_value
from mmupt_core.voting.answers import last_boxed


def levenshtein(a: str, b: str) -> int:
    """Edit distance with unit costs (python-Levenshtein's `distance`)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


# -- MathVista ------------------------------------------------------------------------------------------------
_PAREN_LETTER = re.compile(r"\(([a-zA-Z])\)")


def mathvista_normalize(extraction, choices, question_type, answer_type, precision):
    """MathVista `evaluation/calculate_score.py`, `normalize_extracted_answer`:
    - multi_choice: the first "(x)" letter if any, upper-cased; a letter of an option -> that option's text;
      anything else (even "B." or "b") -> the option nearest by edit distance, first on ties, so MC always
      names an option. A non-string becomes str() first ("None").
    - integer: str(int(float(x))), truncating; any failure (text, "inf", "nan") -> None.
    - float: str(round(float(x), int(precision))); any failure (no precision, NaN precision) -> None.
    - list: str(x).
    Other answer types are returned unchanged (the current official code has no branch for them)."""
    if question_type == "multi_choice" and choices:
        text = extraction.strip() if isinstance(extraction, str) else str(extraction)
        letter = _PAREN_LETTER.findall(text)
        if letter:
            text = letter[0].upper()
        letters = [chr(ord("A") + k) for k in range(len(choices))]
        if text in letters:
            return choices[letters.index(text)]
        distances = [levenshtein(text, c) for c in choices]
        return choices[distances.index(min(distances))]
    if answer_type == "integer":
        try:
            return str(int(float(extraction)))
        except (TypeError, ValueError, OverflowError):
            return None
    if answer_type == "float":
        try:
            return str(round(float(extraction), int(precision)))
        except (TypeError, ValueError, OverflowError):
            return None
    if answer_type == "list":
        return str(extraction)
    return extraction


class MathVistaOfficial:
    """MathVista `evaluation/calculate_score.py`: `normalize_extracted_answer`, then `safe_equal` (exact ==
    with the `answer` string)."""

    name = "mathvista"
    mode = "official"

    def score(self, prediction: str | None, item: Item, answer: str) -> bool:
        meta = item.meta or {}
        norm = mathvista_normalize(
            prediction,
            item.choices,
            meta.get("question_type"),
            meta.get("answer_type"),
            meta.get("precision"),
        )
        return norm == answer

    def extract(self, response: str, item: Item) -> str | None:
        """The boxed answer; else MathVista `evaluation/extract_answer.py`'s rules: a response that is exactly
        an option, or that parses as the integer / float the question asks for. Else "" (the official GPT
        extractor is not run; an empty extraction still names the nearest option on MC questions)."""
        boxed = last_boxed(response)
        if boxed is not None:
            return boxed.strip()
        meta = item.meta or {}
        if response == "":
            return ""
        if meta.get("question_type") == "multi_choice" and item.choices and response in item.choices:
            return response
        if meta.get("answer_type") == "integer":
            try:
                return str(int(response))
            except ValueError:
                pass
        if meta.get("answer_type") == "float":
            try:
                return str(float(response))
            except (ValueError, OverflowError):
                pass
        return ""


# -- MathVision -----------------------------------------------------------------------------------------------
_FLAGS = ("the final answer is", "the answer is", "the correct answer is", "the answer should be")


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _fix_sqrt(s: str) -> str:
    parts = s.split("\\sqrt")
    out = parts[0]
    for part in parts[1:]:
        out += "\\sqrt{" + part[0] + "}" + part[1:] if part and part[0] != "{" else "\\sqrt" + part
    return out


def _fix_fracs(s: str) -> str:
    parts = s.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if part and part[0] == "{":
            out += part
            continue
        if len(part) < 2:
            return s
        a, b = part[0], part[1]
        if b != "{":
            out += "{" + a + "}{" + b + "}" + part[2:]
        else:
            out += "{" + a + "}" + b + part[2:]
    return out


def _fix_a_slash_b(s: str) -> str:
    if len(s.split("/")) != 2:
        return s
    a, b = s.split("/")
    try:
        ia, ib = int(a), int(b)
    except ValueError:
        return s
    return f"\\frac{{{ia}}}{{{ib}}}" if s == f"{ia}/{ib}" else s


def _strip_string(s: str) -> str:
    """MATH-V `evaluation/utils.py`, `_strip_string`."""
    s = s.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac").replace("\\left", "").replace("\\right", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "").replace("\\$", "").replace("$", "")
    s = s.split("\\text{ ")[0]  # units on the right
    s = s.replace("\\%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    if len(s.split("=")) == 2:
        s = s.split("=")[-1]
    if len(s.split("\\approx")) == 2:
        s = s.split("\\approx")[-1]
    if "sqrt" in s:
        s = _fix_sqrt(s)
    s = s.replace(" ", "")
    if "sqrt" in s:  # sic: the official code mends \frac only where a \sqrt appears
        s = _fix_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _fix_a_slash_b(s)


_BOXED_GREEDY = re.compile(r"oxed{(.*)}", flags=re.S)
_MATH_ANSWER_DROPS = (
    ("\\text", ""),
    ("\\mbox", ""),
    ("bmatrix", "pmatrix"),
    ("\\left", ""),
    ("\\right", ""),
    ("^{\\circ}", ""),
    ("^\\circ", ""),
    ("{m}^3", ""),
    ("m^3", ""),
    ("{units}", ""),
    ("units", ""),
    ("{km}", ""),
    ("km", ""),
)


def find_math_answer(s: str) -> str:
    """MATH-V `evaluation/utils.py`, `find_math_answer`: lower-case; the text from the first 'oxed{' to the
    last '}'; cut at a stray '}'; the value after '=' / '\\approx'; LaTeX, some units and degrees dropped."""
    s = s.lower().replace("{}", "")
    found = _BOXED_GREEDY.findall(s)
    ans = found[-1] if found else s
    close, open_ = ans.find("}"), ans.find("{")
    if close != -1 and (open_ == -1 or close < open_):
        ans = ans.split("}")[0]
    ans = ans.split("=")[-1].split("\\approx")[-1]
    ans = ans.replace(" ", "").replace("\\,", "").replace("∞", "\\infty")
    ans = ans.replace("+\\infty", "\\infty").replace("\\\\", "\\").replace("\n", "")
    for old, new in _MATH_ANSWER_DROPS:
        ans = ans.replace(old, new)
    return _strip_string(ans)


def mathvision_model_answer(response: str) -> str:
    """MATH-V `evaluation/evaluate.py`, `evaluate`: the model answer read from a response (or from an already
    extracted answer, on which it is close to idempotent)."""
    ans = response.strip()
    for c in "ABCDE":
        if (
            ans.endswith(f" {c}.")
            or ans.endswith(f" ({c}).")
            or ans.startswith(f"{c}\n")
            or ans.startswith(f"({c})\n")
            or ans.startswith(f"({c}) {c}\n")
        ):
            ans = c
    tail = ans.split("is ")[-1].rstrip(".")
    if _is_number(tail):
        ans = tail
    if "oxed{" not in ans:
        for flag in _FLAGS:
            for variant in (flag, flag.replace("the", "The")):
                raw = ans
                ans = ans.split(variant)[-1].strip()
                if variant in raw:
                    ans = ans.split("\n")[0].split(". ")[0]
    elif ans.count("oxed{") > 1:
        ans = "\\boxed{" + ans.split("oxed{")[-1]
    ans = find_math_answer(ans)
    for letter in "abcde":
        ans = ans.replace(f"({letter})", letter)
    for letter in "abcde":
        ans = ans.replace(f"{{{letter}}}", letter)
    return ans.rstrip(".").lstrip(":").strip()


def _eval_tuple(s: str) -> str:
    """MATH-V `utils.eval_tuple`: '(a,b)' / '[a,b]' with each element's value rounded to 2 decimals."""
    parts = s[1:-1].split(",")
    try:
        if len(parts) > 1 and ((s[0], s[-1]) in (("(", ")"), ("[", "]"))):
            values = [p if "infty" in p or p in ("a", "-a") else str(rounded_value(p)) for p in parts]
            return s[0] + ",".join(values) + s[-1]
    except (NoValue, IndexError):
        return s
    return s


def mathvision_is_equal(asw: str, gt_asw: str) -> bool:
    """MATH-V `evaluation/utils.py`, `is_equal`: lower-case string equality; else tuple/list elements rounded;
    else latex2sympy values rounded to 2 decimals (so 0.33 equals \\frac{1}{3})."""
    asw, gt_asw = asw.lower(), gt_asw.lower()
    if asw.replace(" ", "") == "" or gt_asw.replace(" ", "") == "":
        return False
    if gt_asw.strip() == asw.strip():
        return True
    asw, gt_asw = _eval_tuple(asw), _eval_tuple(gt_asw)
    if gt_asw == asw:
        return True
    try:
        return rounded_value(gt_asw) == rounded_value(asw)
    except NoValue:
        return False


class MathVisionOfficial:
    """MATH-V `evaluation/evaluate.py`: the model answer (`evaluate`'s response rules + `find_math_answer`),
    correct when `is_equal(answer, model_answer)` or `is_equal(option_value, model_answer)`."""

    name = "mathvision"
    mode = "official"

    def score(self, prediction: str | None, item: Item, answer: str) -> bool:
        if prediction is None:
            return False
        model_answer = mathvision_model_answer(prediction)
        value = ""
        if item.choices and len(answer) == 1 and 0 <= ord(answer) - ord("A") < len(item.choices):
            value = item.choices[ord(answer) - ord("A")]
        return mathvision_is_equal(answer, model_answer) or mathvision_is_equal(value, model_answer)

    def extract(self, response: str, item: Item) -> str | None:
        """The official rules read the whole response: its last box, "the answer is …", a trailing letter."""
        return mathvision_model_answer(response)


# -- We-Math --------------------------------------------------------------------------------------------------
_WEMATH_DROP = re.compile(r"[><:.]")


def wemath_answer_letter(text: str) -> str | None:
    """We-Math `evaluation/four_dimensional_metrics.py`, `load_and_process_data`: the text after the last
    "Answer", stripped, without '>', '<', ':' and '.', and its first character if it is one of A-H."""
    tail = _WEMATH_DROP.sub("", text.split("Answer")[-1].strip()).strip()
    return tail[0] if tail and tail[0] in "ABCDEFGH" else None


class WeMathOfficial:
    """We-Math `evaluation/four_dimensional_metrics.py`: the answer letter equals `answer` (the four-dimensional
    score over groups is `benchmarks.wemath_four_dimensional`)."""

    name = "wemath"
    mode = "official"

    def score(self, prediction: str | None, item: Item, answer: str) -> bool:
        if prediction is None:
            return False
        return wemath_answer_letter(prediction) == answer

    def extract(self, response: str, item: Item) -> str | None:
        """The boxed answer (the prompts here ask for a box); else the response, for the "Answer" rule."""
        boxed = last_boxed(response)
        return boxed.strip() if boxed is not None else response


# -- MathVerse ------------------------------------------------------------------------------------------------
class MathVerseOfficial:
    """MathVerse `evaluation/score_answer_s2.py`, `match_answer` with `--quick_match`: the extraction equals
    `answer` exactly. (The official default is a GPT judge; configure `evaluation.judge_url` for one.)"""

    name = "mathverse"
    mode = "official"

    def score(self, prediction: str | None, item: Item, answer: str) -> bool:
        return prediction is not None and prediction == answer

    def extract(self, response: str, item: Item) -> str | None:
        """The boxed answer, verbatim; None without one (the official GPT extractor is not run)."""
        boxed = last_boxed(response)
        return boxed.strip() if boxed is not None else None
