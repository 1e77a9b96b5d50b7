"""Answer extraction and equivalence.

`extract_answer` takes the last \\boxed{...} (nested braces included), else phrases such as "the answer is X",
else a multiple-choice letter when choices are given; a response with no answer gives None (it never becomes
the string "None", which in the reference code could win a vote). `normalize` maps surface forms to one
normal form; `equivalent` compares normal forms and falls back to math-verify only when they differ and are
not both plain numbers.
"""

from __future__ import annotations

import re
from functools import lru_cache

_BOX_OPENERS = ("\\boxed{", "\\fbox{")
_PHRASES = re.compile(
    r"(?:final answer|the answer|answer)\s*(?:is|:|=)\s*[:\s]*\$?\s*([^\n$]+?)\s*\$?\s*(?:\.\s*$|\.\s|$|\n)",
    re.IGNORECASE,
)
_CHOICE = re.compile(r"(?:^|[\s(])\(?([A-H])\)?(?:[.):,]|\s*$)")
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)$")
_TEXT_WRAP = re.compile(r"\\(?:text|textbf|mathrm|mbox|operatorname)\{([^{}]*)\}")
_FRAC = re.compile(r"^\\d?frac\{?(-?\d+)\}?\{?(\d+)\}?$")
_UNITS = re.compile(
    r"\s*(?:cm|mm|km|m|meters?|units?|degrees?|deg|inches|inch|in|feet|ft|seconds?|s|kg|g)\^?\d?\s*$",
    re.IGNORECASE,
)


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (or \\fbox{...}), with nested braces; None if there is none or it is open."""
    start = max(text.rfind(o) for o in _BOX_OPENERS)
    if start < 0:
        return None
    i = text.index("{", start) + 1
    depth = 1
    for j in range(i, len(text)):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[i:j]
    return None


def extract_answer(text: str, choices: list[str] | None = None) -> str | None:
    """The final answer in a response, normalised, or None when the response states none."""
    boxed = last_boxed(text)
    if boxed is not None:
        out = normalize(boxed)
    else:
        matches = _PHRASES.findall(text)
        if matches:
            out = normalize(matches[-1])
        elif choices:
            letters = _CHOICE.findall(text.strip()[-40:])
            out = letters[-1] if letters else None
        else:
            out = None
    if out is None or out == "":
        return None
    if choices:
        out = _to_letter(out, choices)
    return out


# A letter stated with its option's text or a label, as models write it once spaces are gone: "(C)45", "C)45",
# "C.45", "C:45", "optionC", "choice(C)".
_LABELLED = re.compile(r"^(?:option|choice)?(?:\(([A-Za-z])\)|([A-Za-z])(?:[.):,]|$))(.*)$", re.IGNORECASE)


def _to_letter(answer: str, choices: list[str]) -> str:
    """Map '(B)', 'b', 'option B', '(B) 20' or the text of a choice to its letter; anything else, including a
    letter stated beside another option's text, stays as it is."""
    letters = [chr(ord("A") + k) for k in range(len(choices))]
    stripped = answer.strip("() ").upper()
    if len(stripped) == 1 and stripped in letters:
        return stripped
    texts = [normalize(choice) for choice in choices]
    for letter, text in zip(letters, texts, strict=False):
        if text == answer:
            return letter
    m = _LABELLED.match(answer)
    if m:
        letter = (m.group(1) or m.group(2)).upper()
        rest = m.group(3).strip(".")
        if letter in letters and (not rest or rest == texts[letters.index(letter)]):
            return letter
    return answer


def normalize(answer: str) -> str:
    """A normal form: no $, spaces, \\left/\\right, text wrappers, degree marks, trailing units or dot;
    '3.0' -> '3', '1,000' -> '1000', '\\dfrac' -> '\\frac', '\\frac{6}{3}' stays symbolic."""
    s = answer.strip()
    s = s.replace("$", "").replace("\\!", "").replace("\\,", "").replace("\\ ", "")
    s = (
        s.replace("\\left", "")
        .replace("\\right", "")
        .replace("\\dfrac", "\\frac")
        .replace("\\tfrac", "\\frac")
    )
    prev = None
    while prev != s:
        prev = s
        s = _TEXT_WRAP.sub(r"\1", s)
    s = (
        s.replace("^\\circ", "")
        .replace("^{\\circ}", "")
        .replace("\\circ", "")
        .replace("°", "")
        .replace("\\%", "%")
    )
    s = s.strip().rstrip(".").strip()
    s = _UNITS.sub("", s) if re.search(r"\d", s) else s
    s = s.replace(" ", "")
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")
    if _NUMBER.match(s):
        return _number_form(s)
    m = _FRAC.match(s)
    if m:
        return f"\\frac{{{m.group(1)}}}{{{m.group(2)}}}"
    return s


def _number_form(s: str) -> str:
    if "." not in s:
        return str(int(s))
    value = float(s)
    return str(int(value)) if value.is_integer() else repr(value)


def _is_number(s: str) -> bool:
    return bool(_NUMBER.match(s))


_MAX_SYMBOLIC_LEN = 200
# A power of a power, an exponent of 5+ digits, or a factorial of 4+ digits: SymPy would spend minutes (or
# memory without bound) evaluating it, so such answers are not compared symbolically.
_COSTLY = re.compile(r"\^\s*\{[^}]*(\^|\d{5,})|\^\s*\d+\s*\^|\^\s*\d{5,}|\d{4,}\s*!|\*\*")


@lru_cache(maxsize=65536)
def _verify(a: str, b: str) -> bool:
    import logging

    from math_verify import parse, verify

    # math-verify's timeouts use signals, which only work on the main thread (Prefect runs tasks in worker
    # threads), so they are off; the length cap in `equivalent` bounds the work instead. Its one-time warning
    # about that is expected, so it is not shown.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    pa = parse(f"${a}$", parsing_timeout=None)
    pb = parse(f"${b}$", parsing_timeout=None)
    if not pa or not pb:
        return False
    return bool(verify(pa, pb, timeout_seconds=None))


def equivalent(a: str | None, b: str | None) -> bool:
    """True when two normalised answers denote the same value (None is never equivalent to anything)."""
    if a is None or b is None:
        return False
    if a == b:
        return True
    if _is_number(a) and _is_number(b):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    if len(a) == 1 and len(b) == 1 and a.isalpha() and b.isalpha():
        return False  # distinct choice letters
    if max(len(a), len(b)) > _MAX_SYMBOLIC_LEN:
        return False  # too long to compare symbolically without a timeout; distinct normal forms differ
    if _COSTLY.search(a) or _COSTLY.search(b):
        return False  # a runaway power or factorial: distinct normal forms differ
    return _verify(a, b)
