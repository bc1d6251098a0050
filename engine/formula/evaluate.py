"""Recalculation: the only importer of the formula engine.

The engine is formualizer (a Rust calculation engine with Python bindings);
see ``docs/decisions/recalc-engine.md`` for the measurements behind the choice.
Every result leaves this module as a plain :data:`engine.values.CellValue`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import formualizer as fz
from formualizer.visitor import collect_function_names

from engine.errors import EvaluationError, TemplateError, UnsupportedFunctionError
from engine.formula.tree import function_name
from engine.formula.lambdas import unroll_lambdas
from engine.formula.legacy import intersect_formula, without_range_only_calls
from engine.xlsx.names import Names
from engine.xlsx.package import Package, m
from engine.refs import column_letter, parse_cell, quote_sheet
from engine.xlsx.sheet import SheetXml, array_members, expand_shared_group, shared_groups
from engine.values import CellValue, ExcelError, date_to_serial

ENGINE_NAME = f"formualizer {getattr(fz, '__version__', '0.13')}"

# What the engine raises when it cannot load or evaluate a workbook (its own classes are not ValueErrors).
_ENGINE_FAILURES: tuple[type[BaseException], ...] = (
    OSError, ValueError, RuntimeError, fz.ExcelEvaluationError, fz.FormualizerHostError, fz.ParserError,
    fz.InspectionError)

_ERROR_KINDS = {
    "Null": "#NULL!", "Div": "#DIV/0!", "Value": "#VALUE!", "Ref": "#REF!", "Name": "#NAME?",
    "Num": "#NUM!", "Na": "#N/A", "NA": "#N/A", "Spill": "#SPILL!", "Calc": "#CALC!",
    "Circ": "#CIRC!", "GettingData": "#GETTING_DATA",
}


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


class Evaluation:
    """The values of one recalculated workbook; read any cell with :meth:`get`."""

    def __init__(self, book: Any, *, date1904: bool = False, iteration: Iteration | None = None) -> None:
        self._book = book
        self._date1904 = date1904
        self.iteration = iteration or Iteration(enabled_in_workbook=False)

        self.overrides: dict[tuple[str, int, int], CellValue] = {}

    def get(self, sheet: str, row: int, col: int) -> CellValue:
        """Value of a cell (formula or constant); ``None`` for an empty cell."""
        if (sheet, row, col) in self.overrides:
            return self.overrides[(sheet, row, col)]
        try:
            raw = self._book.get_value(sheet, row, col)
        except _ENGINE_FAILURES as exc:
            raise EvaluationError(f"the formula engine cannot read this cell: {exc}", sheet=sheet,
                                  cell=f"{column_letter(col)}{row}") from exc
        return to_cell_value(raw, date1904=self._date1904)

    def what_if(self, inputs: dict[tuple[str, int, int], float], target: tuple[str, int, int]) -> CellValue:
        """The value of ``target`` with ``inputs`` set (What-If); call :meth:`settle` afterwards."""
        for (sheet, row, col), value in inputs.items():
            self._book.set_value(sheet, row, col, value)
        sheet, row, col = target
        try:
            return to_cell_value(self._book.evaluate_cell(sheet, row, col), date1904=self._date1904)
        except _ENGINE_FAILURES as exc:
            raise EvaluationError(f"the formula engine could not evaluate {quote_sheet(sheet)}!"
                                  f"{column_letter(col)}{row} for a What-If table: {exc}") from exc

    def settle(self, originals: dict[tuple[str, int, int], CellValue]) -> None:
        """Put What-If inputs back and recalculate, so every value is the workbook's own again."""
        for (sheet, row, col), value in originals.items():
            self._book.set_value(sheet, row, col, value)
        try:
            self._book.evaluate_all()
        except _ENGINE_FAILURES as exc:
            raise EvaluationError(f"the formula engine could not recalculate the workbook: {exc}") from exc

    def dependents(self, sheet: str, row: int, col: int) -> int:
        """How many cells read this one."""
        return len(self._dependents(sheet, row, col))

    def _dependents(self, sheet: str, row: int, col: int) -> list[Any]:
        try:
            report = self._book.dependents(f"{quote_sheet(sheet)}!{column_letter(col)}{row}", max_results=100_000)
        except _ENGINE_FAILURES as exc:
            raise EvaluationError(f"the formula engine cannot trace this cell: {exc}", sheet=sheet,
                                  cell=f"{column_letter(col)}{row}") from exc
        return list(report.dependents)

    def downstream(self, roots: list[tuple[str, int, int]], *, limit: int = 200_000) -> set[tuple[str, int, int]]:
        """Every cell that reads one of ``roots``, directly or through other cells (roots included)."""
        seen = set(roots)
        todo = list(roots)
        while todo and len(seen) < limit:
            sheet, row, col = todo.pop()
            for dependent in self._dependents(sheet, row, col):
                other, _, addr = str(dependent.cell).rpartition("!")
                other = other[1:-1].replace("''", "'") if other.startswith("'") else other
                key = (other, *parse_cell(addr))
                if key not in seen:
                    seen.add(key)
                    todo.append(key)
        return seen


def to_cell_value(raw: Any, *, date1904: bool = False) -> CellValue:
    """Convert an engine result to a :data:`CellValue` (dates become Excel serials)."""
    if raw is None or isinstance(raw, (bool, str)):
        return raw
    if isinstance(raw, (int, float)):
        value = float(raw)
        # Excel has no infinity or NaN: an overflowing result is #NUM!
        return value if math.isfinite(value) else ExcelError("#NUM!")
    if isinstance(raw, (dt.date, dt.datetime)):
        return date_to_serial(raw, date1904=date1904)
    if isinstance(raw, dt.time):
        return (raw.hour * 3600 + raw.minute * 60 + raw.second + raw.microsecond / 1e6) / 86400
    if isinstance(raw, dict) and raw.get("type") == "Error":
        kind = str(raw.get("kind", "Value"))
        return ExcelError(_ERROR_KINDS.get(kind, f"#{kind.upper()}!"))
    raise EvaluationError(f"the formula engine returned a value gpucredit cannot represent: {raw!r}")


def evaluate(data: bytes, *, path: str | Path, date1904: bool = False, time_limit_s: float | None = None) -> Evaluation:
    """Recalculate every formula of an ``.xlsx`` package held in memory.

    Circular references are calculated as Excel does under iterative calculation, with the
    workbook's ``iterateCount`` and ``iterateDelta`` (Excel's defaults, 100 and 0.001, when the
    workbook does not set them). Values that cannot be trusted (unknown functions) are refused
    later, by :func:`check_values`, when the caller knows which cells it will use or write.

    ``time_limit_s`` bounds the engine's recalculation (none when ``None``).

    Raises
    ------
    EvaluationError
        When the engine cannot load or evaluate the workbook, takes longer than
        ``time_limit_s``, or a circular reference does not converge.
    """
    package = Package.from_bytes(data)
    settings = _iteration_settings(package)
    try:
        if _prepare_engine_copy(package):
            data = package.to_bytes()
    except ValueError as exc:
        raise TemplateError.malformed_xml(exc).with_path(path) from exc
    try:
        book = _load(data, date1904, settings, iterate=True)
        with _time_limit(book, time_limit_s):
            book.evaluate_all()
    except _ENGINE_FAILURES as exc:
        if "CANCELLED" in str(exc):
            raise EvaluationError(f"recalculating the workbook took longer than the {time_limit_s:g} s limit; "
                                  "raise it with --max-eval-seconds if the model is that large", path=path) from exc
        raise EvaluationError(f"the formula engine could not evaluate the workbook: {exc}", path=path) from exc
    telemetry = book.last_cycle_telemetry()
    if telemetry.capped_sccs:
        _raise_not_converged(package, data, date1904, settings, path)
    iteration = Iteration(settings.enabled_in_workbook, settings.max_iterations, settings.max_change,
                          cycles=telemetry.iterated_sccs, passes=telemetry.max_passes_single_scc)
    return Evaluation(book, date1904=date1904, iteration=iteration)


@contextmanager
def _time_limit(book: Any, seconds: float | None) -> Iterator[None]:
    """Cancel the engine's recalculation after ``seconds`` (from a timer thread: the engine runs
    without the GIL and checks for cancellation as it goes; its own deadline is only checked
    between dependency layers, so one wide layer could overrun it)."""
    if seconds is None:
        yield
        return
    timer = threading.Timer(seconds, book.cancel)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _load(data: bytes, date1904: bool, settings: Iteration, *, iterate: bool) -> Any:
    config = fz.EvaluationConfig()
    config.date_system = "1904" if date1904 else "1900"
    if iterate:
        config.cycle_policy = "iterate"
        config.iterate_max_iterations = settings.max_iterations
        config.iterate_max_change = settings.max_change
    return fz.Workbook.from_bytes(data, config=fz.WorkbookConfig(eval_config=config))


def _iteration_settings(package: Package) -> Iteration:
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


def _raise_not_converged(package: Package, data: bytes, date1904: bool, settings: Iteration,
                         path: str | Path) -> None:
    """Name a cell of the cycle that did not converge (a second, non-iterating pass finds them)."""
    where = None
    try:
        book = _load(data, date1904, settings, iterate=False)
        book.evaluate_all()
    except _ENGINE_FAILURES as exc:
        raise EvaluationError(f"circular reference does not converge, and the engine failed naming it: {exc}",
                              path=path) from exc
    for entry in package.sheets():
        if where is None and package.has(entry.part):
            for row, col, _el in SheetXml(package.xml(entry.part)).formula_cells():
                raw = book.get_value(entry.name, row, col)
                if isinstance(raw, dict) and raw.get("kind") == "Circ":
                    where = (entry.name, f"{column_letter(col)}{row}")
                    break
    raise EvaluationError(
        f"circular reference does not converge within {settings.max_iterations} iterations (change under "
        f"{settings.max_change:g}); fix the model's loop, or its iteration settings in Excel",
        path=path, sheet=where[0] if where else None, cell=where[1] if where else None)


def _prepare_engine_copy(package: Package) -> bool:
    """Edit ``package`` (the engine's private copy) into what the engine needs, one pass per sheet;
    ``True`` when anything changed.

    - Array members emptied: the engine treats a member cell that holds a value as an obstacle
      (``#SPILL!``); Excel treats it as part of the array. Emptied, the engine spills into them.
    - Formulas rewritten: LAMBDA helpers unrolled (``engine.formula.lambdas``), implicit intersections
      spelled out (``engine.formula.legacy``), one-cell legacy arrays clipped. A legacy array formula
      shows only as much of its result as its range holds, while the engine spills the whole
      result, so a one-cell legacy array is given to it as ``INDEX((expr),1,1)`` (multi-cell
      legacy arrays hold results of their range's shape).
    """
    names = Names(package)
    candidate = re.compile(r":|SINGLE\(|LAMBDA\(" + "".join(f"|\\b{re.escape(n)}\\b" for n in sorted(names.multi_cell())),
                           re.IGNORECASE)
    changed_any = False
    for entry in package.sheets():
        if not package.has(entry.part) or b"<f" not in (raw := package.read(entry.part)):
            continue
        sheet = SheetXml(package.xml(entry.part))
        emptied = b' t="array"' in raw and _empty_array_members(sheet)
        expanded = _expand_candidate_groups(sheet, candidate)
        if _rewrite_formulas(sheet, entry.name, names, candidate) or emptied or expanded:
            package.write_xml(entry.part, sheet.root)
            changed_any = True
    return changed_any


def _empty_array_members(sheet: SheetXml) -> bool:
    changed = False
    for row, col in array_members(sheet):
        c_el = sheet.cell(row, col)
        if c_el is not None and c_el.find(m("f")) is None:
            for child in list(c_el):
                c_el.remove(child)
            c_el.attrib.pop("t", None)
            changed = True
    return changed


def _rewrite_formulas(sheet: SheetXml, sheet_name: str, names: Names, candidate: re.Pattern[str]) -> bool:
    changed = False
    for row, col, c_el in list(sheet.formula_cells()):
        f_el = c_el.find(m("f"))
        kind = f_el.get("t", "normal")
        if kind in ("dataTable", "shared") or not f_el.text:
            continue
        text = f_el.text
        if "LAMBDA(" in text.upper():
            text = unroll_lambdas(text, names, sheet_name)
        if candidate.search(without_range_only_calls(text)):
            text = intersect_formula(text, names, sheet=sheet_name, row=row, col=col, array=kind == "array")
        if kind == "array" and c_el.get("cm") is None and ":" not in f_el.get("ref", ":"):
            text = f"INDEX(({text}),1,1)"  # a one-cell legacy array shows its result's first value
        if text != f_el.text:
            f_el.text = text
            changed = True
    return changed


def _expand_candidate_groups(sheet: SheetXml, candidate: re.Pattern[str]) -> bool:
    """Expand the shared-formula groups whose text may need intersecting: each member reads its own cell."""
    expanded = False
    for group in shared_groups(sheet).values():
        master = next((el.find(m("f")).text for _r, _c, el in group if el.find(m("f")).text), None)
        if master and candidate.search(master):
            try:
                expand_shared_group(group)
            except ValueError:
                continue  # unreadable text: the engine gets the group as it is, and judges it
            expanded = True
    return expanded


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
        A cell still marked circular (``#CIRC!``): a cycle the engine did not iterate.
    """
    circular = [key for key, value in values.items() if isinstance(value, ExcelError) and value.code == "#CIRC!"]
    if circular:
        sheet, row, col = circular[0]  # the workbook's sheet order: the template's sheets first
        raise EvaluationError(
            f"circular reference ({len(circular)} cells) the formula engine did not iterate, so the model "
            "cannot be recomputed", path=path, sheet=sheet, cell=f"{column_letter(col)}{row}")
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
    """The functions a formula calls, as Excel shows them (without the file's ``_xlfn.`` prefixes)."""
    try:
        names = {str(n).upper() for n in collect_function_names(fz.parse("=" + formula.lstrip("=")))}
    except (ValueError, RuntimeError, fz.ParserError):
        names = set(re.findall(r"([A-Z_][A-Z0-9._]*)\s*\(", formula.upper()))
    return {function_name(name) for name in names}


@lru_cache(maxsize=512)
def is_supported(function: str) -> bool:
    """Whether the engine implements ``function``: an unknown name evaluates to ``#NAME?``."""
    probe = fz.Workbook()
    probe.sheet("Probe").set_formula(1, 1, f"={function}()")
    probe.evaluate_all()
    raw = probe.get_value("Probe", 1, 1)
    return not (isinstance(raw, dict) and raw.get("kind") == "Name")
