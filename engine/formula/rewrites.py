"""Formula rewrites for the engine's private copy, where Excel and formualizer disagree.

Each function takes a formula as a workbook stores it (without ``=``) and returns the text the
engine should evaluate instead; the workbook written out keeps its own text. A formula the
tokenizer cannot read comes back unchanged (the engine then judges it as it is).

- :func:`excel_comparisons`: ``a = b`` and ``a <> b`` become ``GPUCREDIT.EQ(a, b)`` /
  ``GPUCREDIT.NE(a, b)`` (:mod:`engine.formula.functions`), which compare numbers to 15
  significant digits as Excel does, so a balance check ``IF(total<>sum_of_parts, …)`` agrees.
- :func:`offset_extents`: ``OFFSET`` with a negative height or width (Excel counts the range up or
  left from the reference; formualizer answers ``#REF!``) becomes the same range with positive
  extents.
- :func:`formula_text_literals`: ``FORMULATEXT(ref)`` becomes the text Excel shows for that
  cell's formula (formualizer re-spaces the formula it parsed: ``=J17 * J21`` for ``=J17*J21``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from engine.formula.functions import PREFIX
from engine.formula.tree import Item, Slot, function_name, parse_formula

CallHook = Callable[[Item, list[str]], str | None]
_NUMBER = re.compile(r"\s*\d+(\.\d*)?([eE][+-]?\d+)?\s*")
_PREFIXES = re.compile(r"_xl(fn|ws|pm)\.", re.IGNORECASE)


def _rewrite(formula: str, *, on_call: CallHook | None = None, comparisons: bool = False) -> str:
    tree = parse_formula(formula)
    if tree is None:
        return formula
    return _Renderer(formula, on_call, comparisons).slot(tree)


class _Renderer:
    """Rebuilds a formula from its tree, letting hooks replace calls and fold comparisons."""

    def __init__(self, formula: str, on_call: CallHook | None, comparisons: bool) -> None:
        self.formula, self.on_call, self.comparisons = formula, on_call, comparisons

    def slot(self, slot: Slot) -> str:
        if slot.start < 0:
            return ""
        ops = slot.comparisons if self.comparisons else []
        bounds = [slot.start] + [x for start, end, _op in ops for x in (start, end)] + [slot.end]
        segments = [self._span(slot, bounds[2 * k], bounds[2 * k + 1]) for k in range(len(ops) + 1)]
        text = segments[0]
        for (_start, _end, op), segment in zip(ops, segments[1:], strict=True):
            if op in ("=", "<>"):
                text = f"{PREFIX}{'EQ' if op == '=' else 'NE'}({text},{segment})"
            else:
                text = f"{text}{op}{segment}"
        return text

    def _span(self, slot: Slot, start: int, end: int) -> str:
        out, at = [], start
        for item in slot.items:
            if item.start < start or item.end > end or item.kind not in ("call", "group"):
                continue
            out += [self.formula[at:item.start], self.item(item)]
            at = item.end
        out.append(self.formula[at:end])
        return "".join(out)

    def item(self, item: Item) -> str:
        args = [self.slot(inner) for inner in item.slots]
        if item.kind == "group":
            return "(" + args[0] + ")" if args else self.formula[item.start:item.end]
        if self.on_call is not None:
            replaced = self.on_call(item, args)
            if replaced is not None:
                return replaced
        return str(item.token.value) + ",".join(args) + ")"


# A cell reference's address part, not inside a longer name or before "(" (a function such as LOG10)
_ADDRESS = re.compile(r"(?<![\w.$])\$?[A-Za-z]{1,3}\$?[0-9]{1,7}(?![\w(.])")
_ADDRESS_SPLIT = re.compile(f"({_ADDRESS.pattern})")
_EQUALITY = re.compile(r"(?<![<>])=|<>")
_templates: dict[str, str] = {}


def excel_comparisons(formula: str) -> str:
    """``=`` and ``<>`` as Excel compares (see the module docstring); other text unchanged.

    A model repeats each formula along its rows with other addresses, so the rewrite is computed
    once per formula shape (addresses replaced by placeholders, which the rewrite keeps in order).
    """
    if not _EQUALITY.search(formula):
        return formula
    pieces = _ADDRESS_SPLIT.split(formula)  # text, address, text, address, …, text
    addresses = pieces[1::2]
    if not addresses:
        return _rewrite(formula, comparisons=True)
    pieces[1::2] = [f"GCREF{k}_" for k in range(len(addresses))]
    template = "".join(pieces)
    rewritten = _templates.get(template)
    if rewritten is None:
        rewritten = _rewrite(template, comparisons=True)
        if len(_templates) < 50_000:
            _templates[template] = rewritten
    parts = re.split(r"GCREF(\d+)_", rewritten)
    if len(parts) != 2 * len(addresses) + 1:  # a placeholder went missing: compute this one directly
        return _rewrite(formula, comparisons=True)
    return "".join(part if k % 2 == 0 else addresses[int(part)] for k, part in enumerate(parts))


def offset_extents(formula: str) -> str:
    """``OFFSET(ref, rows, cols, height, width)`` with a height or width that may be negative, as the
    same range with positive extents: ``OFFSET(ref, rows + IF(h<0, h+1, 0), …, ABS(h), …)``."""
    if "OFFSET(" not in formula.upper():
        return formula

    def fix(item: Item, args: list[str]) -> str | None:
        if item.name != "OFFSET" or len(args) < 4:
            return None
        parts = (args + [""])[:5]
        ref, rows, cols, height, width = (a.strip() for a in parts)
        if all(not x or _NUMBER.fullmatch(x) for x in (height, width)):
            return None  # omitted or a non-negative number: nothing to fix
        rows, cols = rows or "0", cols or "0"
        if height and not _NUMBER.fullmatch(height):
            rows, height = f"({rows})+IF(({height})<0,({height})+1,0)", f"ABS({height})"
        if width and not _NUMBER.fullmatch(width):
            cols, width = f"({cols})+IF(({width})<0,({width})+1,0)", f"ABS({width})"
        call = f"{item.token.value}{ref},{rows},{cols},{height}"
        return call + (f",{width})" if len(args) == 5 else ")")

    return _rewrite(formula, on_call=fix)


def display_formula(stored: str) -> str:
    """A formula as Excel shows it (``FORMULATEXT``, the formula bar): ``=`` and no ``_xlfn.`` prefixes."""
    return "=" + _PREFIXES.sub("", stored)


def formula_text_literals(formula: str, formula_at: Callable[[str], str | None]) -> str:
    """``FORMULATEXT(ref)`` replaced by the text of the formula at ``ref``: ``formula_at`` gives the
    stored formula for a reference as written, ``""`` for a cell without one (which Excel answers
    with ``#N/A``) and ``None`` when it cannot tell (a name, an array formula): left alone."""
    if "FORMULATEXT(" not in formula.upper():
        return formula

    def literal(item: Item, args: list[str]) -> str | None:
        if item.name != "FORMULATEXT" or len(item.slots) != 1:
            return None
        inner = item.slots[0]
        if len(inner.items) != 1 or inner.items[0].kind != "ref" or inner.operators:
            return None
        stored = formula_at(str(inner.items[0].token.value))
        if stored is None:
            return None
        if stored == "":
            return "NA()"
        return '"' + display_formula(stored).replace('"', '""') + '"'

    return _rewrite(formula, on_call=literal)


def calls(formula: str) -> set[str]:
    """Every function a formula calls, as Excel names it (``_xlfn.`` prefixes dropped)."""
    tree = parse_formula(formula)
    found: set[str] = set()

    def walk(slot: Slot) -> None:
        for item in slot.items:
            if item.kind == "call":
                found.add(function_name(str(item.token.value)[:-1]))
            for inner in item.slots:
                walk(inner)

    if tree is not None:
        walk(tree)
    return found
