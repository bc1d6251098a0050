"""Circular references under iterative calculation: where the loops are, and where Excel left them.

Excel iterates a loop from the values it holds (the ones it cached when it saved the file) until
no cell moves by more than ``iterateDelta``; where it stops depends on where it started. The
engine starts from blanks, so on a loop that converges slowly it stops elsewhere (211.8644002
against Excel's 211.8644068). gpucredit therefore finds the loop cells and seeds them with
Excel's cached values before iterating, so the engine lands where Excel did.
"""

from __future__ import annotations

from typing import Any

from engine.xlsx.package import Package, m
from engine.xlsx.sheet import SheetXml

Key = tuple[str, int, int]


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
