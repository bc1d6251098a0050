"""Recalculation: the only importer of the formula engine.

The engine is formualizer (a Rust calculation engine with Python bindings);
see ``docs/decisions/recalc-engine.md`` for the measurements behind the choice.
Every result leaves this module as a plain :data:`engine.values.CellValue`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import formualizer as fz

from engine.errors import EvaluationError, UnsupportedFunctionError
from engine.refs import split_sheet
from engine.values import CellValue, ExcelError, date_to_serial

ENGINE_NAME = f"formualizer {getattr(fz, '__version__', '0.13')}"

_ERROR_KINDS = {
    "Null": "#NULL!", "Div": "#DIV/0!", "Value": "#VALUE!", "Ref": "#REF!", "Name": "#NAME?",
    "Num": "#NUM!", "Na": "#N/A", "NA": "#N/A", "Spill": "#SPILL!", "Calc": "#CALC!",
    "Circ": "#CIRC!", "GettingData": "#GETTING_DATA",
}
_UNKNOWN = re.compile(r"Unknown function:?\s*([A-Za-z0-9_.]+)", re.IGNORECASE)


class Evaluation:
    """The values of one recalculated workbook; read any cell with :meth:`get`."""

    def __init__(self, book: Any, *, date1904: bool = False) -> None:
        self._book = book
        self._date1904 = date1904

    def get(self, sheet: str, row: int, col: int) -> CellValue:
        """Value of a cell (formula or constant); ``None`` for an empty cell."""
        return to_cell_value(self._book.get_value(sheet, row, col), date1904=self._date1904)


def to_cell_value(raw: Any, *, date1904: bool = False) -> CellValue:
    """Convert an engine result to a :data:`CellValue` (dates become Excel serials)."""
    if raw is None or isinstance(raw, (bool, str)):
        return raw
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, (dt.date, dt.datetime)):
        return date_to_serial(raw, date1904=date1904)
    if isinstance(raw, dt.time):
        return (raw.hour * 3600 + raw.minute * 60 + raw.second + raw.microsecond / 1e6) / 86400
    if isinstance(raw, dict) and raw.get("type") == "Error":
        kind = str(raw.get("kind", "Value"))
        return ExcelError(_ERROR_KINDS.get(kind, f"#{kind.upper()}!"))
    raise EvaluationError(f"the formula engine returned a value gpucredit cannot represent: {raw!r}")


def evaluate(data: bytes, *, path: str | Path, date1904: bool = False) -> Evaluation:
    """Recalculate every formula of an ``.xlsx`` package held in memory.

    Raises
    ------
    UnsupportedFunctionError
        When a formula calls a function the engine does not implement (names the
        function and up to five cells using it).
    EvaluationError
        When the engine fails. Cells on a circular reference come back as
        ``#CIRC!`` (iterative calculation is not supported yet); callers that
        write values refuse them with the cell's name.
    """
    try:
        report = fz.recalculate_xlsx_bytes(data, error_location_limit=50)
    except (OSError, ValueError, RuntimeError) as exc:
        if "#CIRC!" not in str(exc):
            raise EvaluationError(f"the formula engine could not read the workbook: {exc}", path=path) from exc
        report = {}  # a cycle: the cells are named when their values are collected
    _raise_for_unknown_functions(report.get("summary", {}), path)
    try:
        book = fz.Workbook.from_bytes(data)
        book.evaluate_all()
    except (OSError, ValueError, RuntimeError) as exc:
        raise EvaluationError(f"the formula engine failed: {exc}", path=path) from exc
    return Evaluation(book, date1904=date1904)


def _raise_for_unknown_functions(summary: dict[str, Any], path: str | Path) -> None:
    unknown = summary.get("unknown_functions") or []
    if not unknown:
        return
    names = sorted({str(item.get("name", "?")).upper() for item in unknown})
    cells: dict[str, list[str]] = defaultdict(list)
    name_errors = (summary.get("error_summary") or {}).get("#NAME?", {})
    for loc, msg in zip(name_errors.get("locations", []), name_errors.get("messages", [])):
        found = _UNKNOWN.search(msg or "")
        if found:
            cells[found.group(1).upper()].append(loc)
    first = names[0]
    where = cells.get(first, [])
    sheet, addr = split_sheet(where[0]) if where else (None, None)
    listed = ", ".join(where[:5]) + (" …" if len(where) > 5 else "")
    raise UnsupportedFunctionError(
        f"function {first} is not supported by the formula engine"
        + (f" (used in {listed})" if listed else "")
        + (f"; also unsupported: {', '.join(names[1:])}" if len(names) > 1 else "")
        + "; gpucredit will not write a value it cannot compute",
        path=path, sheet=sheet, cell=addr,
    )
