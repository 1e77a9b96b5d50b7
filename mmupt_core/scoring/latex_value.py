"""The numeric value of a LaTeX answer, the way MathVision's official `is_equal` computes it.

The official code (mathllm/MATH-V `evaluation/utils.py`, `is_equal`) parses with `latex2sympy2.latex2sympy`, prints
the SymPy expression with `str()`, runs that through Python's `eval` with `from math import *` in scope, and
rounds to 2 decimals. So `sqrt(2)/2` has a value, `pi` has a value, but `E`, `I`, `oo` or any free symbol raise a
`NameError` and the comparison is False.

Here the parser is `latex2sympy2_extended` (the maintained fork that math-verify ships; the original pins an
ANTLR runtime that cannot live beside it), configured and guarded to fail where the original fails:
non-ASCII text (the original lexer has no rule for "−", "π", "×" or "°"), and no mixed-fraction reading. The
printed expression is evaluated by a small AST walker over the same names (math's functions and constants, and
the arithmetic operators), never by `eval`, with bounds that turn a runaway power or factorial into a failure
instead of a hang.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from fractions import Fraction

_MATH_NAMES = {name: getattr(math, name) for name in dir(math) if not name.startswith("_")}
# builtins that `eval` would also have found by name
_MATH_NAMES.update(
    {"abs": abs, "round": round, "min": min, "max": max, "pow": pow, "int": int, "float": float}
)
_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_MAX_INT_BITS = 100_000
_DECIMAL = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)$")
# the original reads a percent only as "<digits>\\%"; a bare "%" or a "\\%" after anything else is an error
_LOOSE_PERCENT = re.compile(r"(?<!\\)%|(?<![0-9])\\%")
# what the maintained fork reads but the original grammar rejects (or reads as a relation, which has no value)
_UNKNOWN_TO_ORIGINAL = ("\\circ", "\\boxed", "\\degree", "\\$", "\\approx")
# the original lexes "1,000" (and "1,000.5") as one number; the fork reads the comma as a separator
_THOUSANDS = re.compile(r"\d+(?:,\d{3})+(?:\.\d+)?")


class NoValue(ValueError):
    """The official code would have raised here, so the answers are not equal."""


def _power(base, exp):
    if isinstance(base, int) and isinstance(exp, int) and exp > 0 and base not in (0, 1, -1):
        if exp * max(1, abs(base).bit_length()) > _MAX_INT_BITS:
            raise NoValue("power too large")
    return base**exp


def _call(fn, args):
    if fn is math.factorial and args and isinstance(args[0], int) and args[0] > 5000:
        raise NoValue("factorial too large")
    if fn is math.exp and args == [1]:
        raise NoValue("exp(1) prints as E in SymPy, which eval cannot name")
    return fn(*args)


def _walk(node):
    if isinstance(node, ast.Expression):
        return _walk(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex)):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _MATH_NAMES:
            return _MATH_NAMES[node.id]
        raise NoValue(f"name {node.id!r} is not defined")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _walk(node.operand)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp):
        left, right = _walk(node.left), _walk(node.right)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        if type(node.op) in _BINARY:
            return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.Call) and not node.keywords:
        fn = _walk(node.func)
        if callable(fn):
            return _call(fn, [_walk(a) for a in node.args])
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return tuple(_walk(e) for e in node.elts)
    raise NoValue(f"cannot evaluate {type(node).__name__}")


def evaluate_printed(text: str):
    """What `eval(text)` gives with `from math import *` in scope, for the printed SymPy expressions."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise NoValue(f"not an expression: {text!r}") from exc
    try:
        return _walk(tree)
    except (ArithmeticError, TypeError, ValueError, RecursionError) as exc:
        raise NoValue(str(exc)) from exc


def _fork_parser():
    import sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig, _Latex2Sympy

    class OriginalProducts(_Latex2Sympy):
        """The fork reads "2 \\frac{1}{2}" (and "2 (3)", "2 \\binom{4}{2}") as a mixed number; the original
        multiplies. Same walk over the postfix list, without that branch."""

        def convert_postfix_list(self, arr, i=0):
            res = self.convert_postfix(arr[i])
            if isinstance(res, (sympy.Expr, sympy.Matrix)) and i < len(arr) - 1:
                rh = self.convert_postfix_list(arr, i + 1)
                if getattr(res, "is_Matrix", False) or getattr(rh, "is_Matrix", False):
                    return self.mat_mul_flat(res, rh)
                return self.mul_flat(res, rh)
            return super().convert_postfix_list(arr, i)

    return OriginalProducts(
        config=ConversionConfig(interpret_as_mixed_fractions=False, lowercase_symbols=False)
    )


def _fork_parse(text: str):
    return _fork_parser().parse(text)


def _error_column(exc: Exception) -> int | None:
    """The column of the offending token in the parser's message (its last line is '~~~^')."""
    last = str(exc).rstrip("\n").split("\n")[-1]
    return len(last) - 1 if last.endswith("^") and set(last[:-1]) <= {"~"} else None


def _outer_group(text: str) -> str:
    """'{-2}' -> '-2': the original reads a braced expression as a group; the fork reads a lone one as a set."""
    t = text.strip()
    while len(t) > 2 and t[0] == "{" and t[-1] == "}":
        depth = 0
        for k, ch in enumerate(t):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if depth == 0 and k < len(t) - 1:
                return t  # the first brace closes early: "{2}+{3}" is not one group
        t = t[1:-1].strip()
    return t


def _parse_latex(text: str):
    """latex2sympy as the original behaves: its grammar does not require the end of the input, so a valid
    expression followed by a token that cannot extend it ("12}}", "3)", "12.5.") parses as that expression;
    "x = 3" is an assignment whose value is 3; "2 \\frac{1}{2}" is a product, not a mixed fraction."""
    text = _outer_group(text)
    try:
        expr = _fork_parse(text)
    except Exception as exc:  # the parser raises bare Exceptions for syntax errors
        col = _error_column(exc)
        if col is None or not 0 < col < len(text) or not text[:col].strip():
            raise
        expr = _parse_latex(text[:col])
    import sympy

    if isinstance(expr, sympy.Equality):
        if isinstance(expr.lhs, sympy.Symbol):
            return expr.rhs
        raise NoValue("an equation has no single value")
    return expr


def latex_value(text: str):
    """The value the official code computes for one answer: eval(str(latex2sympy(text))), or NoValue."""
    if not text.isascii():
        raise NoValue("non-ASCII text")
    if _LOOSE_PERCENT.search(text) or any(cmd in text for cmd in _UNKNOWN_TO_ORIGINAL):
        raise NoValue("not in the original grammar")
    s = text.strip()
    # what the original latex2sympy does to its input before lexing
    for old, new in (("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\displaystyle", " "), ("\\quad", " ")):
        s = s.replace(old, new)
    s = s.replace("\\qquad", " ").replace("~", " ").replace("\\,", " ").replace("$", " ")
    s = s.replace("\\left(", "(").replace("\\right)", ")")
    s = _THOUSANDS.sub(lambda m: m.group(0).replace(",", "") + " ", s).strip()
    if _DECIMAL.match(s.strip()):  # a number is a SymPy Rational: printed "1/2", evaluated 0.5
        value = Fraction(s.strip())
        return value.numerator if value.denominator == 1 else value.numerator / value.denominator
    try:
        expr = _parse_latex(s)
    except Exception as exc:  # the parser raises bare Exceptions for syntax errors
        raise NoValue(f"latex2sympy cannot parse {text!r}") from exc
    if isinstance(expr, list):
        raise NoValue("a list has no single value")
    try:
        printed = str(expr)
    except Exception as exc:  # SymPy printing can fail on odd trees
        raise NoValue("cannot print") from exc
    return evaluate_printed(printed)


def rounded_value(text: str):
    """round(value, 2), as `is_equal` compares; NoValue when the official code would fail."""
    value = latex_value(text)
    try:
        return round(value, 2)
    except (TypeError, ValueError, OverflowError) as exc:
        raise NoValue(f"cannot round {value!r}") from exc
