"""Circular references under iterative calculation: where the loops are, and where Excel left them.

Excel iterates a loop from the values it holds (the ones it cached when it saved the file) until
no cell moves by more than ``iterateDelta``; where it stops depends on where it started. The
engine starts from blanks, so on a loop that converges slowly it stops elsewhere (211.8644002
against Excel's 211.8644068). gpucredit therefore finds the loop cells and seeds them with
Excel's cached values before iterating, so the engine lands where Excel did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from engine.xlsx.package import Package, m
from engine.xlsx.sheet import SheetXml

Key = tuple[str, int, int]


@dataclass(frozen=True)
class Iteration:
    """Excel's iterative-calculation settings (``calcPr``) and what the engine did with them.

    ``cycles`` counts the circular groups that needed iterating; each converged within
    ``max_iterations`` passes to a change below ``max_change`` (non-convergence is an error).
    """

    enabled_in_workbook: bool
    max_iterations: int = 100
    max_change: float = 0.001
    cycles: int = 0
    passes: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"enabled_in_workbook": self.enabled_in_workbook, "max_iterations": self.max_iterations,
                "max_change": self.max_change, "cycles": self.cycles, "passes": self.passes}


def iteration_settings(package: Package) -> Iteration:
    """The workbook's ``calcPr`` settings (Excel's 100 iterations and change of 0.001 when unset)."""
    calc = package.xml(package.workbook_part()).find(m("calcPr"))
    get = calc.get if calc is not None else (lambda key, default=None: default)
    try:
        count = int(get("iterateCount", "100"))
        delta = float(get("iterateDelta", "0.001"))
    except ValueError:
        count, delta = 100, 0.001
    # Excel's own bounds: 1–32,767 iterations, a positive finite change
    return Iteration(enabled_in_workbook=get("iterate") in ("1", "true"), max_iterations=min(max(count, 1), 32_767),
                     max_change=delta if math.isfinite(delta) and delta > 0 else 0.001)


def strip_iterate(data: bytes) -> bytes:
    """The package without ``calcPr iterate``: the engine follows a workbook's own setting, so a pass that
    must not iterate (to find the loops) reads a copy without it."""
    copy = Package.from_bytes(data)
    workbook = copy.xml(copy.workbook_part())
    calc = workbook.find(m("calcPr"))
    if calc is None or "iterate" not in calc.attrib:
        return data
    del calc.attrib["iterate"]
    copy.write_xml(copy.workbook_part(), workbook)
    return copy.to_bytes(compress=False)  # read by the engine only


def circular_cells(book: Any, package: Package) -> list[Key]:
    """The formula cells a non-iterating evaluation (``book``, already evaluated) marks ``#CIRC!``,
    in the workbook's sheet order: the members of every loop and what reads them."""
    found = []
    for entry in package.sheets():
        if not package.has(entry.part) or b"<f" not in package.read(entry.part):
            continue
        for row, col, _el in SheetXml(package.xml(entry.part)).formula_cells():
            raw = book.get_value(entry.name, row, col)
            if isinstance(raw, dict) and raw.get("kind") == "Circ":
                found.append((entry.name, row, col))
    return found


def seed_from_cache(book: Any, package: Package, cells: list[Key]) -> int:
    """Give each of ``cells`` its cached value as the engine's starting point (its formula kept);
    returns how many were seeded. The next evaluation iterates from there."""
    by_sheet: dict[str, list[tuple[int, int]]] = {}
    for sheet, row, col in cells:
        by_sheet.setdefault(sheet, []).append((row, col))
    parts = {entry.name: entry.part for entry in package.sheets()}
    seeded = 0
    for sheet, spots in by_sheet.items():
        xml = SheetXml(package.xml(parts[sheet]))
        for row, col in spots:
            c_el = xml.cell(row, col)
            cached = c_el.findtext(m("v")) if c_el is not None else None
            formula = book.get_formula(sheet, row, col)
            if not cached or c_el is None or c_el.get("t", "n") != "n" or not formula:
                continue
            try:
                value = float(cached)
            except ValueError:
                continue
            book.set_value(sheet, row, col, value)
            book.set_formula(sheet, row, col, formula)
            seeded += 1
    return seeded
