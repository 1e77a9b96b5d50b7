"""Forgiving benchmark scoring (`evaluation.scoring: lenient`): the answer in normal form, choice letters in any
dress ("B.", "(b)"), option texts, math-verify equivalence and numbers to 2 decimals. It counts more answers
right than the official rules do (official.py); its scores are not comparable with published numbers.

The predictions here come from `answers.extract_answer` (normalised, option texts mapped to letters).
"""

from __future__ import annotations

import re

from mmupt_core.data.items import Item
from mmupt_core.scoring.official import levenshtein
from mmupt_core.voting.answers import _is_number, equivalent, normalize

LETTERS = "ABCDEFGHIJ"


# -- shared rules -------------------------------------------------------------------------------------------
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
    """MathVista, forgiving: MC -> the choice text (a letter in any dress, the exact text, the text in normal
    form, else the nearest by edit distance); integer -> str(int(float(x))); float -> rounded to `precision`
    (1 decimal when it is missing); then equality with `answer`, also in normal form."""

    name = "mathvista"
    mode = "lenient"

    def normalize_prediction(self, prediction: str | None, item: Item) -> str | None:
        if prediction is None:
            return None
        meta = item.meta or {}
        if meta.get("question_type") == "multi_choice" and item.choices:
            letter = as_letter(prediction, len(item.choices))
            if letter is not None:
                return item.choices[LETTERS.index(letter)]
            if prediction in item.choices:  # "2.0" is the option "2.0", not the nearest normal form
                return prediction
            for choice in item.choices:
                if normalize(choice) == normalize(prediction):
                    return choice
            return min(item.choices, key=lambda c: levenshtein(c, prediction))
        answer_type = meta.get("answer_type")
        try:
            if answer_type == "integer":
                return str(int(float(prediction)))
            if answer_type == "float":
                precision = meta.get("precision")
                digits = int(precision) if precision is not None and precision == precision else 1
                return str(round(float(prediction), digits))
        except (ValueError, OverflowError):  # "abc", and "inf" / "1e999" on an integer question
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

    mode = "lenient"

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
