"""Recalculation: the only importer of the formula engine.

The engine is formualizer (a Rust calculation engine with Python bindings);
see ``docs/decisions/recalc-engine.md`` for the measurements behind the choice.
Every result leaves this module as a plain :data:`engine.values.CellValue`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import formualizer as fz
from formualizer.visitor import collect_function_names

from engine.errors import EvaluationError, UnsupportedFunctionError
from engine.package import Package, m
from engine.refs import column_letter, quote_sheet
from engine.sheetxml import SheetXml, array_members
from engine.values import CellValue, ExcelError, date_to_serial

ENGINE_NAME = f"formualizer {getattr(fz, '__version__', '0.13')}"

_ERROR_KINDS = {
    "Null": "#NULL!", "Div": "#DIV/0!", "Value": "#VALUE!", "Ref": "#REF!", "Name": "#NAME?",
    "Num": "#NUM!", "Na": "#N/A", "NA": "#N/A", "Spill": "#SPILL!", "Calc": "#CALC!",
    "Circ": "#CIRC!", "GettingData": "#GETTING_DATA",
}


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

    Values that cannot be trusted (unknown functions, circular references) are
    refused later, by :func:`check_values`, when the caller knows which cells it
    will use or write.

    Raises
    ------
    EvaluationError
        When the engine cannot load or evaluate the workbook.
    """
    data = _without_array_results(data)
    config = fz.EvaluationConfig()
    config.date_system = "1904" if date1904 else "1900"
    try:
        book = fz.Workbook.from_bytes(data, config=fz.WorkbookConfig(eval_config=config))
        book.evaluate_all()
    except (OSError, ValueError, RuntimeError) as exc:
        raise EvaluationError(f"the formula engine could not evaluate the workbook: {exc}", path=path) from exc
    return Evaluation(book, date1904=date1904)


def _without_array_results(data: bytes) -> bytes:
    """The package with the stored results of array formulas removed from their member cells.

    The engine treats a member cell that holds a value as an obstacle (``#SPILL!``); Excel
    treats it as part of the array. Emptying the members lets the engine spill into them.
    """
    package = Package.from_bytes(data)
    changed = False
    for entry in package.sheets():
        if not package.has(entry.part) or b' t="array"' not in package.read(entry.part):
            continue
        sheet = SheetXml(package.xml(entry.part))
        for row, col in array_members(sheet):
            c_el = sheet.cell(row, col)
            if c_el is not None and c_el.find(m("f")) is None:
                for child in list(c_el):
                    c_el.remove(child)
                c_el.attrib.pop("t", None)
                changed = True
        package.write_xml(entry.part, sheet.root)
    return package.to_bytes() if changed else data


def check_values(values: dict[tuple[str, int, int], CellValue], formulas: dict[tuple[str, int, int], str],
                 *, path: str | Path) -> None:
    """Refuse results that are not real answers: unknown functions and circular references.

    ``values`` and ``formulas`` are keyed by ``(sheet, row, column)``.

    Raises
    ------
    UnsupportedFunctionError
        A formula calls a function the engine does not implement; names the function
        and up to five cells that use it.
    EvaluationError
        A cell sits on a circular reference (iterative calculation is not supported yet).
    """
    circular = [key for key, value in values.items() if isinstance(value, ExcelError) and value.code == "#CIRC!"]
    if circular:
        sheet, row, col = circular[0]  # the workbook's sheet order: the template's sheets first
        raise EvaluationError(
            f"circular reference ({len(circular)} cells); iterative calculation is not supported yet, so the "
            "model cannot be recomputed", path=path, sheet=sheet, cell=f"{column_letter(col)}{row}")
    named = [key for key, value in values.items() if isinstance(value, ExcelError) and value.code == "#NAME?"]
    users: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for key in named:
        for name in _function_names(formulas.get(key, "")):
            users[name].append(key)
    unknown = sorted(name for name in users if not is_supported(name))
    if not unknown:
        return
    first = unknown[0]
    cells = [f"{quote_sheet(s)}!{column_letter(c)}{r}" for s, r, c in users[first]]
    sheet, row, col = users[first][0]
    listed = ", ".join(cells[:5]) + (f" and {len(cells) - 5} more" if len(cells) > 5 else "")
    raise UnsupportedFunctionError(
        f"function {first} is not supported by the formula engine (used in {listed})"
        + (f"; also unsupported: {', '.join(unknown[1:])}" if len(unknown) > 1 else "")
        + "; gpucredit will not write a value it cannot compute",
        path=path, sheet=sheet, cell=f"{column_letter(col)}{row}",
    )


def _function_names(formula: str) -> set[str]:
    try:
        return {str(n).upper() for n in collect_function_names(fz.parse("=" + formula.lstrip("=")))}
    except (ValueError, RuntimeError, fz.ParserError):
        return set(re.findall(r"([A-Z][A-Z0-9._]*)\s*\(", formula.upper()))


@lru_cache(maxsize=512)
def is_supported(function: str) -> bool:
    """Whether the engine implements ``function``: an unknown name evaluates to ``#NAME?``."""
    probe = fz.Workbook()
    probe.sheet("Probe").set_formula(1, 1, f"={function}()")
    probe.evaluate_all()
    raw = probe.get_value("Probe", 1, 1)
    return not (isinstance(raw, dict) and raw.get("kind") == "Name")
