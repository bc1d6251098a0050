"""Reconcile first: the engine must reproduce the values Excel cached in the unpatched workbook.

A template saved by Excel carries each formula's last result. If the engine computes something
else for the original workbook, its numbers for the patched one cannot be trusted either.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from lxml import etree

from engine.errors import ReconciliationError
from engine.formula.support import called_functions
from engine.xlsx.package import REL_CALC_CHAIN, REL_SHARED_STRINGS, Package, child, m
from engine.formula.evaluate import Evaluation
from engine.refs import quote_sheet
from engine.xlsx.sheet import array_members, sheet_of
from engine.values import ERROR_CODES, CellValue, ExcelError

REL_TOL, ABS_TOL = 1e-9, 1e-6  # the accuracy contract, the same as the LibreOffice oracle's


class MismatchCause(StrEnum):
    """Why a cell probably did not reproduce Excel's cached value."""

    ENVIRONMENT = "environment"  # CELL("filename"), INFO, NOW, TODAY, RAND read with other cells
    VOLATILE = "volatile"  # OFFSET, INDIRECT: references built while calculating
    DATA_TABLE = "data table"
    FUNCTION = "function"  # a function the engine lacks, or implements otherwise
    CIRCULAR = "circular"  # a cell of a circular reference, iterated to another point
    SPILL = "spill"  # an array formula or one of its members
    PRECEDENT = "precedent"  # a cell it reads differs already
    EQUALITY = "equality tolerance"  # a comparison of numbers that agree almost, not exactly
    STALE = "stale cached value"  # a plain reference to a constant that holds something else now
    EXTERNAL = "external link"  # reads a linked workbook through the values Excel stored for it
    OTHER = "other"


# Excel's solvers stop at their documented accuracy ("accurate within 0.000001 percent"); the
# engine solves to machine precision, so their results agree to 1e-8, not to the 1e-9 of the accuracy contract.
SOLVERS = frozenset(("IRR", "XIRR", "RATE", "MIRR", "YIELD"))
SOLVER_TOL = 1e-8


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
    ``environment`` lists the cells whose value depends on where and when Excel calculated,
    kept at Excel's value and not checked; ``solver`` the cells of Excel's solvers (IRR, XIRR,
    RATE) that agree to Excel's documented accuracy, 1e-8, but not to 1e-9. ``uncalculated``:
    the workbook carries no Excel values at all (written by a library that never calculates).
    """

    checked: int
    mismatches: tuple[Mismatch, ...]
    formula_cells: int = 0
    environment: tuple[str, ...] = ()
    solver: tuple[str, ...] = ()
    uncalculated: bool = False
    # the cells whose cached value the engine reproduced, with the value it computed
    reproduced: Mapping[tuple[str, int, int], CellValue] = field(default_factory=dict)
    checked_cells: frozenset[tuple[str, int, int]] = frozenset()  # (sheet, row, column) of every cell checked

    def by_cause(self) -> dict[MismatchCause, list[Mismatch]]:
        """The mismatches grouped by their likely cause (see :func:`cause_of`)."""
        groups: dict[MismatchCause, list[Mismatch]] = {}
        for mismatch in self.mismatches:
            groups.setdefault(mismatch.cause, []).append(mismatch)
        return groups

    @property
    def share(self) -> float | None:
        """Reproduced / checked; ``None`` when nothing was checked (nothing checked is not a pass)."""
        return (self.checked - len(self.mismatches)) / self.checked if self.checked else None

    def to_json(self, *, cells_per_cause: int = 20) -> dict[str, object]:
        reproduced = self.checked - len(self.mismatches)
        note = None
        if not self.checked:
            note = ("no Excel values to check against: the workbook was saved by a program that does not calculate"
                    if self.uncalculated else "no Excel values to check against")
        return {
            "total": self.checked, "reproduced": reproduced, "share": self.share,
            "formula_cells": self.formula_cells, "uncalculated": self.uncalculated, "note": note,
            "environment": {"count": len(self.environment), "cells": list(self.environment[:cells_per_cause])},
            "solver_tolerance": {"count": len(self.solver), "cells": list(self.solver[:cells_per_cause])},
            "causes": {cause: {"count": len(items), "cells": [str(m) for m in items[:cells_per_cause]]}
                       for cause, items in sorted(self.by_cause().items())},
        }


@dataclass(frozen=True)
class CachedResults:
    """Excel's cached result of every formula cell and array member that carries one, sheet by sheet:
    (row, column, ``<c>``, value). Read from the file alone, so it can be read while the engine evaluates."""

    sheets: tuple[tuple[str, list[tuple[int, int, etree._Element, CellValue]]], ...]
    any_result: bool  # one of them is something else than 0 or the empty text


def cached_results(package: Package) -> CachedResults:
    """The cached results :func:`reconcile` checks (see :class:`CachedResults`)."""
    strings = shared_strings(package)
    sheets = []
    any_result = False
    v_tag = m("v")
    for entry in package.sheets():
        if not package.has(entry.part):
            continue
        sheet = sheet_of(package, entry.part)
        cells = [(row, col, c_el) for row, col, c_el in sheet.formula_cells()]
        cells += [(row, col, c_el) for row, col in array_members(sheet)
                  if (c_el := sheet.cell(row, col)) is not None]
        found = []
        for row, col, c_el in cells:
            v_el = child(c_el, v_tag)
            if v_el is None or (v_el.text is None and c_el.get("t") not in ("str", "inlineStr")):
                continue
            cached = _cached(c_el.get("t", "n"), v_el.text or "", strings)
            any_result = any_result or cached not in (0.0, "")
            found.append((row, col, c_el, cached))
        sheets.append((entry.name, found))
    return CachedResults(tuple(sheets), any_result)


def reconcile(package: Package, evaluation: Evaluation, results: CachedResults | None = None) -> Reconciliation:
    """Compare every formula cell that carries a cached value with the engine's value.

    A text result Excel cached as empty (``<v/>``) is checked as the empty text it is. A workbook
    without a calculation chain whose formulas all cache 0 or nothing was never calculated
    (xlsxwriter writes 0 everywhere): nothing is checked against those zeros. ``results``: the
    package's :func:`cached_results`, when already read (the package unchanged since).
    """
    results = results if results is not None else cached_results(package)
    checked = formula_cells = 0
    found: list[tuple[str, int, int, etree._Element, CellValue, CellValue]] = []
    environment: list[str] = []
    solver: list[str] = []
    reproduced: dict[tuple[str, int, int], CellValue] = {}
    keys: set[tuple[str, int, int]] = set()
    f_tag = m("f")
    for name, cells in results.sheets:
        for row, col, c_el, cached in cells:
            key = (name, row, col)
            if key in evaluation.environment.cells:
                environment.append(f"{quote_sheet(name)}!{c_el.get('r', '')}")
                computed = evaluation.get(*key)
                if key in evaluation.environment.frozen or same(cached, computed):
                    reproduced[key] = computed
                    continue
            else:
                computed = evaluation.get(*key)
            checked += 1
            keys.add(key)
            formula_cells += child(c_el, f_tag) is not None
            if same(cached, computed):
                reproduced[key] = computed
                continue
            if _solved(c_el, cached, computed):
                solver.append(f"{quote_sheet(name)}!{c_el.get('r', '')}")
                continue
            found.append((name, row, col, c_el, cached, computed))
    any_result = results.any_result
    if not any_result and REL_CALC_CHAIN not in {rel[1] for rel in package.relationships(package.workbook_part())}:
        return Reconciliation(0, (), 0, uncalculated=True)  # nothing reproduced: there was nothing to
    wrong = {(sheet, row, col) for sheet, row, col, *_rest in found}
    mismatches = tuple(Mismatch(sheet, c_el.get("r", ""), cached, computed,
                                cause_of(c_el, computed, evaluation=evaluation, key=(sheet, row, col), wrong=wrong),
                                row, col)
                       for sheet, row, col, c_el, cached, computed in found)
    return Reconciliation(checked, mismatches, formula_cells, tuple(environment), tuple(solver),
                          reproduced=reproduced, checked_cells=frozenset(keys))


def _solved(c_el: etree._Element, cached: CellValue, computed: CellValue) -> bool:
    """A solver's result (IRR, XIRR, RATE) within Excel's documented accuracy of the engine's."""
    text = c_el.findtext(m("f")) or ""
    if not isinstance(cached, float) or not isinstance(computed, float) or not SOLVERS & called_functions(text):
        return False
    return math.isclose(cached, computed, rel_tol=SOLVER_TOL, abs_tol=ABS_TOL)


_EXTERNAL = re.compile(r"(?<![\w\].])\[\d+\]")
_VOLATILE = re.compile(r"\b(OFFSET|INDIRECT)\s*\(", re.IGNORECASE)
_COMPARES = re.compile(r"(?<![<>])=|<>")
_PLAIN_REFERENCE = re.compile(r"\s*(?:(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?\$?[A-Za-z]{1,3}\$?\d+\s*")


def cause_of(c_el: etree._Element, computed: CellValue, *, evaluation: Evaluation | None = None,
             key: tuple[str, int, int] | None = None, wrong: set[tuple[str, int, int]] | None = None) -> MismatchCause:
    """Why a cell probably did not reproduce; with ``evaluation``, ``key`` and the set of cells that
    differ (``wrong``), a cell reading one of those is put down to that (``precedent``)."""
    f_el = c_el.find(m("f"))
    text = (f_el.text or "") if f_el is not None else ""
    if evaluation is not None and key is not None:
        if key in evaluation.environment.cells:
            return MismatchCause.ENVIRONMENT
        if key in evaluation.unsupported:
            return MismatchCause.FUNCTION
        if key in set(evaluation.circular):
            return MismatchCause.CIRCULAR
    if f_el is not None and f_el.get("t") == "dataTable":
        return MismatchCause.DATA_TABLE
    if _EXTERNAL.search(text):
        return MismatchCause.EXTERNAL
    if isinstance(computed, ExcelError):
        if computed.code == "#NAME?":
            return MismatchCause.FUNCTION
        if computed.code == "#CIRC!":
            return MismatchCause.CIRCULAR
    if evaluation is not None and key is not None and wrong and f_el is not None and _reads_wrong(evaluation, key, wrong):
        return MismatchCause.PRECEDENT
    if isinstance(computed, ExcelError) and computed.code == "#SPILL!":
        return MismatchCause.SPILL
    if c_el.get("cm") is not None or (f_el is not None and f_el.get("t") == "array") or f_el is None:
        return MismatchCause.SPILL  # an array formula, or a member cell of one
    if _VOLATILE.search(text):
        return MismatchCause.VOLATILE
    if f_el is not None and evaluation is not None and key is not None:
        engine_text = evaluation.formula(*key) or ""  # a shared member's own formula, too
        if _PLAIN_REFERENCE.fullmatch(engine_text.lstrip("=")):
            return MismatchCause.STALE  # =I73 can only differ if Excel did not recalculate it
        text = text or engine_text
    if _COMPARES.search(text):
        return MismatchCause.EQUALITY
    return MismatchCause.OTHER


def _reads_wrong(evaluation: Evaluation, key: tuple[str, int, int], wrong: set[tuple[str, int, int]]) -> bool:
    for sheet, r1, c1, r2, c2 in evaluation.precedents(*key):
        if any(s == sheet and r1 <= r <= r2 and c1 <= c <= c2 and (s, r, c) != key for s, r, c in wrong):
            return True
    return False


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
