"""Functions gpucredit registers with the formula engine, where Excel behaves differently from it.

formualizer lets a host add functions written in Python (``Workbook.register_function``). The
engine's private copy of a workbook (:mod:`engine.formula.prepare`) calls these in place of the
Excel operator or function they stand for; the workbook written out keeps its own text. Each
one follows Excel exactly in the cases it exists for, and the engine's own rules otherwise:

- ``GPUCREDIT.EQ(a, b)`` / ``GPUCREDIT.NE(a, b)``: Excel's ``=`` and ``<>``. Two numbers are equal
  when they agree to 15 significant digits (``0.1+0.2=0.3`` is TRUE in Excel; in IEEE arithmetic
  it is not), text compares without case, a blank equals 0, "" and FALSE, different types are
  unequal, an error propagates; arrays compare element by element.
- ``GPUCREDIT.ABS``, ``GPUCREDIT.SIGN``, ``GPUCREDIT.INT``: the functions, element by element over
  an array (``SUMPRODUCT(ABS(range))``, ``MAX(ABS(range - x))``), which formualizer 0.13 answers
  with ``#VALUE!``. Used only where Excel evaluates the argument as an array.
- ``GPUCREDIT.FIT(x, rows, cols)``: a legacy (CSE) array formula over ``rows`` × ``cols`` cells shows
  its result fitted to its range as Excel does: a single value fills every cell, a single row or
  column repeats, cells beyond the result are ``#N/A``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import formualizer as fz

PREFIX = "GPUCREDIT."
ELEMENTWISE = ("ABS", "SIGN", "INT")  # Excel functions given an elementwise twin


def _error(value: Any) -> Any:
    """An engine error value (a dict from the engine) as a value the engine accepts back."""
    return fz.LiteralValue.error(str(value.get("kind", "Value")), None)


def _is_error(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "Error"


def _shape(value: Any) -> tuple[int, int]:
    if isinstance(value, list):
        return len(value), max((len(row) for row in value), default=0)
    return 1, 1


def _at(value: Any, i: int, j: int, rows: int, cols: int) -> Any:
    """Element (i, j) of ``value`` broadcast to ``rows`` × ``cols`` (Excel: a single row or column
    repeats; beyond the array's size, #N/A)."""
    if not isinstance(value, list):
        return value
    height, width = _shape(value)
    r = 0 if height == 1 else i
    c = 0 if width == 1 else j
    if r >= height or c >= len(value[r]):
        return {"type": "Error", "kind": "NA"}
    return value[r][c]


def _map(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn`` applied to scalars, or element by element when an argument is an array."""
    if not any(isinstance(a, list) for a in args):
        return _out(fn(*args))
    shapes = [_shape(a) for a in args]
    rows, cols = max(s[0] for s in shapes), max(s[1] for s in shapes)
    return fz.LiteralValue.array([[_literal(_out(fn(*(_at(a, i, j, rows, cols) for a in args))))
                                   for j in range(cols)] for i in range(rows)])


def _out(value: Any) -> Any:
    return _error(value) if _is_error(value) else value


def _literal(value: Any) -> Any:
    """A scalar as the engine's LiteralValue (an array's elements must all be LiteralValues)."""
    if isinstance(value, fz.LiteralValue):
        return value
    if isinstance(value, bool):
        return fz.LiteralValue.boolean(value)
    if isinstance(value, (int, float)):
        return fz.LiteralValue.number(float(value))
    if isinstance(value, str):
        return fz.LiteralValue.text(value)
    return fz.LiteralValue.empty()


# -- comparison ------------------------------------------------------------------------------------


def _digits15(x: float) -> float:
    """``x`` rounded to 15 significant digits, as Excel rounds the operands of a comparison."""
    return float(f"{x:.15g}") if math.isfinite(x) else x


def excel_equal(a: Any, b: Any) -> Any:
    """Excel's ``a = b`` for two scalars (an error value propagates, left operand first)."""
    if _is_error(a):
        return a
    if _is_error(b):
        return b
    if a is None and b is None:
        return True
    if a is None:
        a = {float: 0.0, int: 0.0, str: "", bool: False}.get(type(b), a)
    if b is None:
        b = {float: 0.0, int: 0.0, str: "", bool: False}.get(type(a), b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return _digits15(float(a)) == _digits15(float(b))
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return False


def _not_equal(a: Any, b: Any) -> Any:
    same = excel_equal(a, b)
    return same if _is_error(same) else not same


# -- elementwise functions ---------------------------------------------------------------------------


def _number(x: Any) -> float | dict[str, str]:
    """Excel's value coercion to a number: TRUE is 1, a blank 0, numeric text its number."""
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, (int, float)):
        return float(x)
    if x is None:
        return 0.0
    if isinstance(x, str):
        text = x.strip()
        try:
            return float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            pass
    if _is_error(x):
        return x  # type: ignore[no-any-return]
    return {"type": "Error", "kind": "Value"}


def _numeric(fn: Callable[[float], float]) -> Callable[[Any], Any]:
    def apply(x: Any) -> Any:
        value = _number(x)
        return value if isinstance(value, dict) else fn(value)
    return apply


_SCALAR = {
    "ABS": _numeric(abs),
    "SIGN": _numeric(lambda v: float((v > 0) - (v < 0))),
    "INT": _numeric(lambda v: float(math.floor(v))),
}


def _fit(value: Any, rows: Any, cols: Any) -> Any:
    """A legacy array formula's result fitted to its ``rows`` × ``cols`` range (see the module doc)."""
    height, width = int(rows), int(cols)
    return fz.LiteralValue.array([[_literal(_out(_at(value, i, j, height, width)))
                                   for j in range(width)] for i in range(height)])


REGISTERED: dict[str, tuple[Callable[..., Any], int]] = {
    "EQ": (lambda a, b: _map(excel_equal, a, b), 2),
    "NE": (lambda a, b: _map(_not_equal, a, b), 2),
    "FIT": (_fit, 3),
    **{name: ((lambda fn: lambda x: _map(fn, x))(_SCALAR[name]), 1) for name in ELEMENTWISE},
}


def register_functions(book: Any) -> None:
    """Register every gpucredit function with a formualizer ``Workbook``."""
    for name, (fn, arity) in REGISTERED.items():
        book.register_function(PREFIX + name, fn, min_args=arity, max_args=arity, thread_safe=False)


def is_registered(name: str) -> bool:
    """Whether ``name`` (as a formula calls it) is one of gpucredit's functions."""
    upper = name.upper()
    return upper.startswith(PREFIX) and upper[len(PREFIX):] in REGISTERED
