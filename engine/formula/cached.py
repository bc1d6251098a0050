"""Writing the engine's results into the package as each formula cell's cached value."""

from __future__ import annotations

from pathlib import Path

from engine.formula.evaluate import Evaluation
from engine.formula.support import check_values
from engine.values import CellValue
from engine.xlsx.package import Package, m
from engine.xlsx.sheet import SheetXml, array_members, set_cached_value


def write_cached_values(package: Package, evaluation: Evaluation, *, path: Path,
                        keep: set[tuple[str, int, int]] | None = None) -> int:
    """Write every formula cell's value into its sheet part; returns the number of formula cells.

    Cells in ``keep`` (sheet, row, column) keep the value already cached in the file.

    Raises
    ------
    EvaluationError
        When a value cannot be trusted (see :func:`engine.formula.evaluate.check_values`); nothing
        is written then.
    """
    sheets = []
    values: dict[tuple[str, int, int], CellValue] = {}
    formulas: dict[tuple[str, int, int], str] = {}
    for entry in package.sheets():
        if not package.has(entry.part):
            continue
        sheet = SheetXml(package.xml(entry.part))
        cells = list(sheet.formula_cells())
        kept = keep or set()
        cells = [(row, col, c_el) for row, col, c_el in cells if (entry.name, row, col) not in kept]
        for row, col, c_el in cells:
            key = (entry.name, row, col)
            values[key] = evaluation.get(entry.name, row, col)
            formulas[key] = c_el.findtext(m("f")) or ""
        members = [(row, col) for row, col in array_members(sheet) if (entry.name, row, col) not in kept]
        for row, col in members:
            values[(entry.name, row, col)] = evaluation.get(entry.name, row, col)
        sheets.append((entry, sheet, cells, members))
    check_values(values, formulas, path=path)
    for entry, sheet, cells, members in sheets:
        for row, col, c_el in cells:
            set_cached_value(c_el, values[(entry.name, row, col)])
        for row, col in members:
            set_cached_value(sheet.ensure_cell(row, col), values[(entry.name, row, col)])
        if cells:
            package.write_xml(entry.part, sheet.root)
    return len(formulas)
