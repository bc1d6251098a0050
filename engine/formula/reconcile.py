"""Reconcile first: the engine must reproduce the values Excel cached in the unpatched workbook.

A template saved by Excel carries each formula's last result. If the engine computes something
else for the original workbook, its numbers for the patched one cannot be trusted either.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from lxml import etree

from engine.errors import ReconciliationError
from engine.xlsx.package import REL_SHARED_STRINGS, Package, m
from engine.formula.evaluate import Evaluation
from engine.refs import quote_sheet
from engine.xlsx.sheet import array_members, sheet_of
from engine.values import ERROR_CODES, CellValue, ExcelError

REL_TOL, ABS_TOL = 1e-9, 1e-6  # the accuracy contract, the same as the LibreOffice oracle's


class MismatchCause(StrEnum):
    """Why a cell probably did not reproduce Excel's cached value."""

    VOLATILE = "volatile"  # NOW, TODAY, RAND, CELL, INFO, OFFSET, INDIRECT
    DATA_TABLE = "data table"
    FUNCTION = "function"  # a function the engine lacks
    CIRCULARITY = "circularity"
    SPILL = "spill"  # an array formula or one of its members
    OTHER = "other"


@dataclass(frozen=True)
class Mismatch:
    """A formula cell whose recomputed value differs from the cached one."""

    sheet: str
    cell: str
    cached: CellValue
    computed: CellValue
    cause: MismatchCause = MismatchCause.OTHER
    row: int = 0
    col: int = 0

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
    reproduced: frozenset[tuple[str, int, int]] = frozenset()  # the cells whose cached value the engine reproduced

    def by_cause(self) -> dict[MismatchCause, list[Mismatch]]:
        """The mismatches grouped by their likely cause (see :func:`cause_of`)."""
        groups: dict[MismatchCause, list[Mismatch]] = {}
        for mismatch in self.mismatches:
            groups.setdefault(mismatch.cause, []).append(mismatch)
        return groups

    def to_json(self, *, cells_per_cause: int = 20) -> dict[str, object]:
        reproduced = self.checked - len(self.mismatches)
        return {
            "total": self.checked, "reproduced": reproduced,
            "share": reproduced / self.checked if self.checked else 1.0,
            "formula_cells": self.formula_cells,
            "causes": {cause: {"count": len(items), "cells": [str(m) for m in items[:cells_per_cause]]}
                       for cause, items in sorted(self.by_cause().items())},
        }


def reconcile(package: Package, evaluation: Evaluation) -> Reconciliation:
    """Compare every formula cell that carries a cached value with the engine's value."""
    strings = shared_strings(package)
    checked = formula_cells = 0
    mismatches = []
    reproduced: set[tuple[str, int, int]] = set()
    for entry in package.sheets():
        if not package.has(entry.part):
            continue
        sheet = sheet_of(package, entry.part)
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
            if same(cached, computed):
                reproduced.add((entry.name, row, col))
            else:
                cause = (MismatchCause.FUNCTION if (entry.name, row, col) in evaluation.unsupported
                         else cause_of(c_el, computed))
                mismatches.append(Mismatch(entry.name, c_el.get("r", ""), cached, computed, cause, row, col))
    return Reconciliation(checked, tuple(mismatches), formula_cells, frozenset(reproduced))


_VOLATILE = re.compile(r"\b(NOW|TODAY|RAND|RANDBETWEEN|CELL|INFO|OFFSET|INDIRECT)\s*\(", re.IGNORECASE)


def cause_of(c_el: etree._Element, computed: CellValue) -> MismatchCause:
    """Why a cell probably did not reproduce: volatile, function, circularity, data table, spill."""
    f_el = c_el.find(m("f"))
    text = (f_el.text or "") if f_el is not None else ""
    if _VOLATILE.search(text):
        return MismatchCause.VOLATILE
    if f_el is not None and f_el.get("t") == "dataTable":
        return MismatchCause.DATA_TABLE
    if isinstance(computed, ExcelError):
        if computed.code == "#NAME?":
            return MismatchCause.FUNCTION
        if computed.code == "#CIRC!":
            return MismatchCause.CIRCULARITY
        if computed.code == "#SPILL!":
            return MismatchCause.SPILL
    if c_el.get("cm") is not None or (f_el is not None and f_el.get("t") == "array") or f_el is None:
        return MismatchCause.SPILL  # an array formula, or a member cell of one
    return MismatchCause.OTHER


def require_reconciled(result: Reconciliation, used: set[tuple[str, int, int]], *, path: Path,
                       accept: bool = False) -> list[Mismatch]:
    """Refuse (ReconciliationError) when a cell the conversion uses or changes does not reproduce.

    ``used`` holds every cell downstream of the rent plus the timeline and metric cells. Returns
    the mismatches inside ``used`` that were accepted (``accept=True``): the unverified numbers.
    """
    blocking = [mm for mm in result.mismatches if (mm.sheet, mm.row, mm.col) in used]
    if blocking and not accept:
        first = blocking[0]
        raise ReconciliationError(
            f"the formula engine does not reproduce Excel's cached value here ({_show(first.cached)} cached, "
            f"{_show(first.computed)} recomputed; cause: {first.cause}); {len(blocking):,} of the cells the "
            f"conversion uses or changes differ ({len(result.mismatches):,} of {result.checked:,} cached values "
            "in all), so gpucredit will not convert this workbook; pass --accept-unreconciled to convert "
            "anyway with those numbers marked unverified", path=path, sheet=first.sheet, cell=first.cell)
    return blocking


def same(cached: CellValue, computed: CellValue) -> bool:
    """Equal under the accuracy tolerance (relative 1e-9, or absolute 1e-6 near zero; docs/decisions/recalc-engine.md); an empty result equals an empty string or zero."""
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


def shared_strings(package: Package) -> list[str]:
    """The workbook's shared strings, in order (a cell of type ``s`` holds an index into them)."""
    part = package.related_part(package.workbook_part(), REL_SHARED_STRINGS)
    if part is None or not package.has(part):
        return []
    return ["".join(str(text) for text in si.itertext()) for si in package.xml(part).iterchildren(m("si"))]


def _show(value: CellValue) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    if value is None:
        return "empty"
    return str(value) if isinstance(value, ExcelError) else repr(value)
