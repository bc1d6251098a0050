"""LAMBDA helpers the engine lacks, unrolled into functions it has.

formualizer 0.13 evaluates ``LET``, ``VSTACK`` and ``HSTACK`` but not LAMBDA values: a LAMBDA
called in place gives ``#N/IMPL``, ``MAP``, ``BYROW`` and ``BYCOL`` give ``#NAME?``. Where the
arrays are ranges of known size (a reference or a defined name), the engine's private copy of
the formula is rewritten so each application of the LAMBDA is spelled out:

========================================  =====================================================
``LAMBDA(x, y, body)(a, b)``              ``LET(x, a, y, b, body)``
``MAP(A1:B2, LAMBDA(v, body))``           ``VSTACK(HSTACK(LET(v, $A$1, body), LET(v, $B$1, body)),
                                          HSTACK(LET(v, $A$2, body), LET(v, $B$2, body)))``
``BYROW(A1:C2, LAMBDA(r, body))``         ``VSTACK(LET(r, $A$1:$C$1, body), LET(r, $A$2:$C$2, body))``
``BYCOL(…)``                              the same with columns and ``HSTACK``
========================================  =====================================================

An array computed on the fly, a LAMBDA kept in a name, ``MAKEARRAY``, ``SCAN`` and ``REDUCE``
are left alone: the engine's ``#NAME?`` then makes the conversion refuse, naming the function.
"""

from __future__ import annotations

from engine.formula.tree import Item, Slot, apply_edits, parse_formula
from engine.xlsx.names import Names
from engine.refs import Area, column_letter, parse_area, quote_sheet

MAX_UNROLLED_CELLS = 10_000  # past these the rewritten formula would be too long to be worth it
MAX_UNROLLED_CHARS = 1_000_000
_HELPERS = ("MAP", "BYROW", "BYCOL")


def unroll_lambdas(formula: str, names: Names, sheet: str) -> str:
    """``formula`` (without ``=``) with in-place LAMBDA calls and MAP/BYROW/BYCOL over known
    ranges rewritten as ``LET``/``VSTACK``/``HSTACK``; unchanged where that is not possible."""
    tree = parse_formula(formula)
    if tree is None:
        return formula
    edits: list[tuple[int, int, str]] = []
    _visit(tree, formula, names, sheet, edits)
    return apply_edits(formula, edits)


def _visit(slot: Slot, formula: str, names: Names, sheet: str, edits: list[tuple[int, int, str]]) -> None:
    items = slot.items
    for i, item in enumerate(items):
        following = items[i + 1] if i + 1 < len(items) else None
        if _is_lambda(item) and following is not None and following.kind == "group" and following.slots:
            edits.append((item.start, following.end, _invoke(item, following.slots[0], formula, names, sheet)))
            continue
        if item.kind == "group" and i > 0 and _is_lambda(items[i - 1]):
            continue  # the arguments of the LAMBDA just rewritten
        if item.kind == "call" and item.name in _HELPERS and len(item.slots) >= 2:
            unrolled = _helper(item, formula, names, sheet)
            if unrolled is not None:
                edits.append((item.start, item.end, unrolled))
                continue
        for inner in item.slots:
            _visit(inner, formula, names, sheet, edits)


def _is_lambda(item: Item) -> bool:
    return item.kind == "call" and item.name == "LAMBDA" and len(item.slots) >= 1


def _lambda_parts(item: Item, formula: str, names: Names, sheet: str) -> tuple[list[str], str]:
    """The parameter names and the (itself unrolled) body of a LAMBDA call item."""
    params = [s.text(formula).strip() for s in item.slots[:-1]]
    return params, unroll_lambdas(item.slots[-1].text(formula), names, sheet)


def _invoke(item: Item, arguments: Slot, formula: str, names: Names, sheet: str) -> str:
    params, body = _lambda_parts(item, formula, names, sheet)
    text = arguments.text(formula)
    cuts = [arguments.start, *arguments.commas, arguments.end]
    values = [formula[a + (k > 0):b].strip() for k, (a, b) in enumerate(zip(cuts, cuts[1:]))] if text else []
    values = [unroll_lambdas(v, names, sheet) for v in values]
    if len(values) != len(params):
        return "#VALUE!"  # Excel: a LAMBDA called with the wrong number of arguments
    return _let(list(zip(params, values)), body)


def _helper(item: Item, formula: str, names: Names, sheet: str) -> str | None:
    last = item.slots[-1]
    if len(last.items) != 1 or not _is_lambda(last.items[0]):
        return None
    params, body = _lambda_parts(last.items[0], formula, names, sheet)
    areas = [_area_of(s, formula, names, sheet) for s in item.slots[:-1]]
    if any(a is None for a in areas):
        return None
    first = areas[0]
    assert first is not None
    rows, cols = first.last_row - first.first_row + 1, first.last_col - first.first_col + 1
    if rows * cols > MAX_UNROLLED_CELLS or rows * cols * len(body) > MAX_UNROLLED_CHARS or any(
            (a.last_row - a.first_row + 1, a.last_col - a.first_col + 1) != (rows, cols) for a in areas if a):
        return None
    if item.name == "MAP" and len(params) == len(areas):
        cells = [[_let([(p, _cell(a, i, j)) for p, a in zip(params, areas) if a], body) for j in range(cols)]
                 for i in range(rows)]
        return "VSTACK(" + ",".join("HSTACK(" + ",".join(row) + ")" for row in cells) + ")"
    if item.name in ("BYROW", "BYCOL") and len(areas) == 1 and len(params) == 1:
        by_row = item.name == "BYROW"
        parts = [_let([(params[0], _line(first, k, by_row))], body) for k in range(rows if by_row else cols)]
        return ("VSTACK(" if by_row else "HSTACK(") + ",".join(parts) + ")"
    return None


def _area_of(slot: Slot, formula: str, names: Names, sheet: str) -> Area | None:
    if len(slot.items) != 1 or slot.items[0].kind != "ref" or slot.operators or slot.reference_operators:
        return None
    text = slot.text(formula).strip()
    area = parse_area(text) or names.area(text, sheet)
    if area is not None and area.sheet is None:
        area = type(area)(sheet, area.first_row, area.first_col, area.last_row, area.last_col)
    return area


def _let(bindings: list[tuple[str, str]], body: str) -> str:
    return "LET(" + ",".join(f"{name},{value}" for name, value in bindings) + f",{body})"


def _cell(area: Area, i: int, j: int) -> str:
    return f"{quote_sheet(area.sheet or '')}!${column_letter(area.first_col + j)}${area.first_row + i}"


def _line(area: Area, k: int, by_row: bool) -> str:
    prefix = f"{quote_sheet(area.sheet or '')}!"
    if by_row:
        r = area.first_row + k
        return f"{prefix}${column_letter(area.first_col)}${r}:${column_letter(area.last_col)}${r}"
    c = column_letter(area.first_col + k)
    return f"{prefix}${c}${area.first_row}:${c}${area.last_row}"
