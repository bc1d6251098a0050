"""A formula's tokens grouped by level: the whole formula, each argument, each bracketed part.

Enough structure to rewrite a formula for the engine (which references sit where a value is
wanted, what a function's arguments are) without a full expression parser: the formula
engine's own tokenizer reads the text, and every node keeps its character span so a rewrite
replaces text and leaves the rest of the formula as the author wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import formualizer as fz

_TT, _TS = fz.TokenType, fz.TokenSubType
_BRACKETS = {_TT.Func: "call", _TT.Paren: "group", _TT.Array: "other"}
_OPERATORS = (_TT.OpInfix, _TT.OpPrefix, _TT.OpPostfix)
REFERENCE_OPERATORS = (":", " ", ",")  # range, intersection, union: they work on references
COMPARISONS = ("=", "<>", "<", ">", "<=", ">=")  # the operators that bind loosest
MAX_NESTING = 128  # Excel allows 64 levels of nested functions; deeper text is not an Excel formula


class _TooDeep(Exception):
    pass


@dataclass
class Slot:
    """The items at one level: the whole formula, one argument, or the inside of brackets.

    ``start``/``end`` is the slot's span in the formula text (without ``=``); ``commas`` the
    positions of union commas at this level, which split ``(a, b)`` after a ``LAMBDA`` call.
    """

    items: list[Item] = field(default_factory=list)
    operators: bool = False
    reference_operators: bool = False
    start: int = -1
    end: int = -1
    commas: list[int] = field(default_factory=list)
    comparisons: list[tuple[int, int, str]] = field(default_factory=list)

    def text(self, formula: str) -> str:
        return formula[self.start:self.end] if self.start >= 0 else ""


@dataclass
class Item:
    """An operand (``kind`` "ref" or "other"), a function ``call`` or a bracketed ``group``."""

    kind: str
    token: Any = None
    slots: list[Slot] = field(default_factory=list)
    end: int = -1

    @property
    def start(self) -> int:
        return int(self.token.start) - 1

    @property
    def name(self) -> str:
        """A call's function name as Excel shows it (see :func:`function_name`)."""
        return function_name(str(self.token.value)[:-1])


def function_name(stored: str) -> str:
    """``_xlfn._xlws.sort`` → ``SORT``: upper case, without the prefixes Excel writes in files."""
    return re.sub(r"^(_XLFN\.|_XLWS\.)+", "", stored.upper())


def parse_formula(formula: str) -> Slot | None:
    """The tree of ``formula`` (without ``=``); ``None`` when the tokenizer cannot read it or it
    nests deeper than :data:`MAX_NESTING` brackets."""
    try:
        tokens = [t for t in fz.tokenize("=" + formula).tokens() if t.token_type != _TT.Whitespace]
        return _parse(tokens, 0)[0]
    except (fz.TokenizerError, ValueError, RuntimeError, _TooDeep):
        return None


def _parse(tokens: list[Any], at: int, depth: int = 0) -> tuple[Slot, int]:
    """One slot from ``tokens[at]``, up to the separator or closing bracket that ends it."""
    if depth > MAX_NESTING:
        raise _TooDeep
    slot = Slot()
    while at < len(tokens):
        tok = tokens[at]
        kind, sub = tok.token_type, tok.subtype
        if kind == _TT.Sep or sub == _TS.Close:
            return slot, at
        if slot.start < 0:
            slot.start = tok.start - 1
        slot.end = tok.end - 1
        at += 1
        if kind == _TT.Operand:
            slot.items.append(Item("ref" if sub == _TS.Range else "other", tok, end=tok.end - 1))
        elif kind in _BRACKETS and sub == _TS.Open:
            item = Item(_BRACKETS[kind], tok)
            while True:
                inner, at = _parse(tokens, at, depth + 1)
                item.slots.append(inner)
                if at >= len(tokens) or tokens[at].subtype == _TS.Close:
                    break
                at += 1  # the separator
            item.end = slot.end = tokens[at].end - 1 if at < len(tokens) else tokens[-1].end - 1
            at += 1  # the closing bracket
            slot.items.append(item)
        elif kind == _TT.OpInfix and tok.value in REFERENCE_OPERATORS:
            slot.reference_operators = True
            if tok.value == ",":
                slot.commas.append(tok.start - 1)
        elif kind in _OPERATORS:
            slot.operators = True
            if kind == _TT.OpInfix and tok.value in COMPARISONS:
                slot.comparisons.append((tok.start - 1, tok.end - 1, str(tok.value)))
    return slot, at


def apply_edits(formula: str, edits: list[tuple[int, int, str]]) -> str:
    """``formula`` with each ``(start, end, replacement)`` span replaced (spans must not overlap)."""
    for start, end, replacement in sorted(edits, reverse=True):
        formula = formula[:start] + replacement + formula[end:]
    return formula
