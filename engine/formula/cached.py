"""Writing the engine's results into the package as each formula cell's cached value."""

from __future__ import annotations

from collections.abc import Mapping, Set
from pathlib import Path

from lxml import etree

from engine.formula.evaluate import Evaluation
from engine.formula.support import check_values, is_name_error
from engine.values import CellValue
from engine.xlsx.package import Package, child, m
from engine.xlsx.sheet import array_members, set_cached_value, sheet_of


def write_cached_values(package: Package, evaluation: Evaluation, *, path: Path,
                        keep: set[tuple[str, int, int]] | None = None,
                        skip: Set[tuple[str, int, int]] = frozenset(),
                        written_sheets: Mapping[str, int] | None = None) -> int:
    """Write every formula cell's value into its sheet part; returns the number of formula cells.

    Cells in ``keep`` (sheet, row, column) keep the value already cached in the file; cells in
    ``skip`` already hold the right value (the engine reproduced it and nothing changed it since),
    and the sheets in ``written_sheets`` (name: formula count) were written with their values already.
    A sheet with nothing to write is not re-serialised.

    Raises
    ------
    EvaluationError
        When a value cannot be trusted (see :func:`engine.formula.evaluate.check_values`); nothing
        is written then.
    """
    sheets = []
    values: dict[tuple[str, int, int], CellValue] = {}
    formulas: dict[tuple[str, int, int], str] = {}
    total = 0
    kept = keep or set()
    v_tag, f_tag = m("v"), m("f")

    def written(key: tuple[str, int, int], c_el: etree._Element | None) -> bool:
        """Whether the cell needs its value written: not kept, and not already holding it."""
        if key in kept:
            return False
        return key not in skip or c_el is None or child(c_el, v_tag) is None

    done = written_sheets or {}
    for entry in package.sheets():
        if entry.name in done:
            total += done[entry.name]
            continue
        if not package.has(entry.part):
            continue
        sheet = sheet_of(package, entry.part)
        total += sheet.formula_count
        name = entry.name
        cells = [(row, col, c_el) for row, col, c_el in sheet.formula_cells() if written((name, row, col), c_el)]
        for row, col, c_el in cells:
            key = (name, row, col)
            value = values[key] = evaluation.get(name, row, col)
            if is_name_error(value):  # check_values reads these formulas only
                f_el = child(c_el, f_tag)
                formulas[key] = (f_el.text if f_el is not None else None) or ""
        members = [(row, col) for row, col in array_members(sheet) if written((name, row, col), sheet.cell(row, col))]
        for row, col in members:
            values[(name, row, col)] = evaluation.get(name, row, col)
        sheets.append((entry, sheet, cells, members))
    check_values(values, formulas, path=path)
    for entry, sheet, cells, members in sheets:
        for row, col, c_el in cells:
            set_cached_value(c_el, values[(entry.name, row, col)])
        for row, col in members:
            set_cached_value(sheet.ensure_cell(row, col), values[(entry.name, row, col)])
        if cells or members:
            package.write_xml(entry.part, sheet.root)
    return total
