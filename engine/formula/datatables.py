"""What-If data tables (Excel's Data > What-If Analysis > Data Table, ``{=TABLE(r1, r2)}``).

A data table stores, in each cell of its range, the value of a formula recomputed with an input
cell set to the value at the edge of the table. The formula engine does not evaluate them, so
this module does it the way Excel does: set the input(s), recompute the formula, record, restore.

Layout (ECMA-376 ``<f t="dataTable" ref dt2D dtr r1 r2>`` on the range's first cell):

- one variable, column input (``dtr="0"``): inputs down the column left of the range, one
  formula per result column in the row above;
- one variable, row input (``dtr="1"``): inputs along the row above, formulas in the column left;
- two variables (``dt2D="1"``): the formula at the corner above-left; ``r1`` takes the row
  above's values, ``r2`` the left column's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import EvaluationError
from engine.xlsx.package import Package, m
from engine.formula.evaluate import Evaluation
from engine.refs import column_letter, parse_cell, quote_sheet
from engine.xlsx.sheet import sheet_of
from engine.values import CellValue


@dataclass(frozen=True)
class DataTable:
    """One data table: its sheet, range and input cells."""

    sheet: str
    top: int
    left: int
    bottom: int
    right: int
    two_way: bool
    row_input: bool
    r1: tuple[int, int]
    r2: tuple[int, int] | None

    @property
    def where(self) -> str:
        return (f"{quote_sheet(self.sheet)}!{column_letter(self.left)}{self.top}:"
                f"{column_letter(self.right)}{self.bottom}")


def find_tables(package: Package) -> list[DataTable]:
    tables = []
    for entry in package.sheets():
        if not package.has(entry.part) or b'"dataTable"' not in package.read(entry.part):
            continue
        for _row, _col, c_el in sheet_of(package, entry.part).formula_cells():
            f_el = c_el.find(m("f"))
            if f_el is None or f_el.get("t") != "dataTable" or not f_el.get("ref") or not f_el.get("r1"):
                continue
            first, _, last = (f_el.get("ref") or "").partition(":")
            top, left = parse_cell(first)
            bottom, right = parse_cell(last or first)
            two_way = f_el.get("dt2D") in ("1", "true")
            tables.append(DataTable(
                sheet=entry.name, top=top, left=left, bottom=bottom, right=right, two_way=two_way,
                row_input=f_el.get("dtr") in ("1", "true"), r1=parse_cell(f_el.get("r1") or ""),
                r2=parse_cell(f_el.get("r2") or "") if two_way and f_el.get("r2") else None))
    return tables


def evaluate_tables(package: Package, ev: Evaluation, *, path: str | Path) -> int:
    """Compute every data table's cells into ``ev``; returns how many cells were filled.

    Excel calculates a data table after the formulas it reads and before the formulas that read
    it; so, once every table is computed, its values are given to the engine and what reads them
    is recomputed (``path`` names the file in the engine's errors).
    """
    filled = 0
    for table in find_tables(package):
        inputs = [table.r1] + ([table.r2] if table.r2 else [])
        originals = {(table.sheet, r, c): ev.get(table.sheet, r, c) for r, c in inputs}
        results: dict[tuple[str, int, int], CellValue] = {}
        for row in range(table.top, table.bottom + 1):
            for col in range(table.left, table.right + 1):
                setting, target = _case(table, row, col)
                values = {(table.sheet, r, c): ev.get(table.sheet, rr, cc) for (r, c), (rr, cc) in setting}
                results[(table.sheet, row, col)] = ev.what_if(
                    {k: v for k, v in values.items() if isinstance(v, float)}, (table.sheet, *target))
        ev.settle({k: v for k, v in originals.items() if isinstance(v, float)})
        if any(ev.dependents(sheet, row, col) for sheet, row, col in results):
            # the formulas that read the table, recomputed from its values (a recalculation clears the
            # results of the tables before, which are given back below)
            done = dict(ev.overrides)
            ev.set_values({key: value for key, value in results.items() if isinstance(value, float)})
            try:
                ev.recalculate()
            except EvaluationError as exc:
                raise EvaluationError(f"{exc.message} (after the What-If data table {table.where})",
                                      path=path) from exc
            ev.overrides.update(done)
        ev.overrides.update(results)
        filled += len(results)
    return filled


def _case(table: DataTable, row: int, col: int) -> tuple[list[tuple[tuple[int, int], tuple[int, int]]],
                                                          tuple[int, int]]:
    """Which input cells take which edge values, and which formula to read, for one cell."""
    if table.two_way:
        assert table.r2 is not None
        return [(table.r1, (table.top - 1, col)), (table.r2, (row, table.left - 1))], (table.top - 1,
                                                                                        table.left - 1)
    if table.row_input:
        return [(table.r1, (table.top - 1, col))], (row, table.left - 1)
    return [(table.r1, (row, table.left - 1))], (table.top - 1, col)
