"""Reconcile first: the engine must reproduce the values Excel cached in the unpatched workbook.

A template saved by Excel carries each formula's last result. If the engine computes something
else for the original workbook, its numbers for the patched one cannot be trusted either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ReconciliationError
from engine.package import REL_SHARED_STRINGS, Package, m
from engine.recalc import Evaluation
from engine.refs import quote_sheet
from engine.sheetxml import SheetXml, array_members
from engine.values import CellValue, ExcelError, ERROR_CODES

REL_TOL, ABS_TOL = 1e-9, 1e-6  # DESIGN §6, the same contract as the LibreOffice oracle


@dataclass(frozen=True)
class Mismatch:
    """A formula cell whose recomputed value differs from the cached one."""

    sheet: str
    cell: str
    cached: CellValue
    computed: CellValue

    def __str__(self) -> str:
        return f"{quote_sheet(self.sheet)}!{self.cell}: cached {_show(self.cached)}, recomputed {_show(self.computed)}"


@dataclass(frozen=True)
class Reconciliation:
    """How many cached values were checked, and which did not reproduce.

    ``checked`` counts formula cells and the member cells of array formulas (whose stored
    values are the array's results); ``formula_cells`` counts the formula cells alone.
    """

    checked: int
    mismatches: tuple[Mismatch, ...]
    formula_cells: int = 0


def reconcile(package: Package, evaluation: Evaluation) -> Reconciliation:
    """Compare every formula cell that carries a cached value with the engine's value."""
    strings = _shared_strings(package)
    checked = formula_cells = 0
    mismatches = []
    for entry in package.sheets():
        if not package.has(entry.part):
            continue
        sheet = SheetXml(package.xml(entry.part))
        cells = [(row, col, c_el) for row, col, c_el in sheet.formula_cells()]
        cells += [(row, col, c_el) for row, col in array_members(sheet)
                  if (c_el := sheet.cell(row, col)) is not None]
        for row, col, c_el in cells:
            v_el = c_el.find(m("v"))
            if v_el is None or v_el.text is None:
                continue
            cached = _cached(c_el.get("t", "n"), v_el.text, strings)
            computed = evaluation.get(entry.name, row, col)
            checked += 1
            formula_cells += c_el.find(m("f")) is not None
            if not same(cached, computed):
                mismatches.append(Mismatch(entry.name, c_el.get("r", ""), cached, computed))
    return Reconciliation(checked, tuple(mismatches), formula_cells)


def require_reconciled(package: Package, evaluation: Evaluation, *, path: Path) -> Reconciliation:
    """:func:`reconcile`, raising :class:`ReconciliationError` on any mismatch."""
    result = reconcile(package, evaluation)
    if result.mismatches:
        first = result.mismatches[0]
        raise ReconciliationError(
            f"the formula engine does not reproduce Excel's cached value here ({_show(first.cached)} cached, "
            f"{_show(first.computed)} recomputed); {len(result.mismatches):,} of {result.checked:,} cached "
            "formula values differ, so gpucredit will not convert this workbook",
            path=path, sheet=first.sheet, cell=first.cell)
    return result


def same(cached: CellValue, computed: CellValue) -> bool:
    """Equal under the DESIGN §6 tolerance; an empty result equals an empty string or zero."""
    if isinstance(cached, bool) or isinstance(computed, bool):
        return type(cached) is type(computed) and cached == computed
    if isinstance(cached, float) and isinstance(computed, float):
        return math.isclose(cached, computed, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if computed is None:
        return cached in ("", 0.0)
    return cached == computed


def _cached(kind: str, text: str, strings: list[str]) -> CellValue:
    if kind == "b":
        return text.strip() in ("1", "true")
    if kind == "e" or text in ERROR_CODES and kind != "str":
        return ExcelError(text)
    if kind in ("str", "inlineStr"):
        return text
    if kind == "s":
        return strings[int(text)] if text.isdigit() and int(text) < len(strings) else text
    try:
        return float(text)
    except ValueError:
        return text


def _shared_strings(package: Package) -> list[str]:
    part = package.related_part(package.workbook_part(), REL_SHARED_STRINGS)
    if part is None or not package.has(part):
        return []
    return ["".join(si.itertext()) for si in package.xml(part).iterchildren(m("si"))]


def _show(value: CellValue) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    if value is None:
        return "empty"
    return str(value) if isinstance(value, ExcelError) else repr(value)
