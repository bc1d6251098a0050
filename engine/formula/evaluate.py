"""Recalculation: the adapter to the formula engine (loading, evaluating, reading values).

The engine is formualizer (a Rust calculation engine with Python bindings);
see ``docs/decisions/recalc-engine.md`` for the measurements behind the choice.
Every result leaves this module as a plain :data:`engine.values.CellValue`. The engine's private
copy of a workbook is prepared by :mod:`engine.formula.prepare`; which functions it supports is
decided in :mod:`engine.formula.support`. Only ``engine/formula/`` imports formualizer.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import formualizer as fz

from engine.errors import EvaluationError
from engine.formula.cycles import Iteration, circular_cells, iteration_settings, seed_from_cache, strip_iterate
from engine.formula.environment import Environment
from engine.formula.functions import register_functions
from engine.formula.prepare import prepare_engine_copy
from engine.formula.formula_texts import Quotes, requoted
from engine.formula.probe import perturbed
from engine.formula.running import ENGINE_FAILURES, run
from engine.xlsx.package import Package, m
from engine.refs import Area, column_letter, parse_area, parse_cell, quote_sheet
from engine.values import CellValue, ExcelError, date_to_serial

Key = tuple[str, int, int]

ENGINE_NAME = f"formualizer {getattr(fz, '__version__', '0.13')}"

_ERROR_KINDS = {
    "Null": "#NULL!", "Div": "#DIV/0!", "Value": "#VALUE!", "Ref": "#REF!", "Name": "#NAME?",
    "Num": "#NUM!", "Na": "#N/A", "NA": "#N/A", "Spill": "#SPILL!", "Calc": "#CALC!",
    "Circ": "#CIRC!", "GettingData": "#GETTING_DATA",
}


class Evaluation:
    """The values of one recalculated workbook; read any cell with :meth:`get`.

    ``environment`` lists the cells whose results depend on where and when Excel calculated
    (:mod:`engine.formula.environment`); ``circular`` the cells of circular references (and what
    reads them), seeded with Excel's cached values before iterating; ``external_links`` the
    indices of linked workbooks whose values Excel stored in the file and formulas read.
    """

    def __init__(self, book: Any, *, date1904: bool = False, iteration: Iteration | None = None,
                 unsupported: dict[tuple[str, int, int], frozenset[str]] | None = None,
                 path: str | Path | None = None, time_limit_s: float | None = None,
                 name_users: tuple[tuple[Area, frozenset[tuple[str, int, int]]], ...] = (),
                 environment: Environment | None = None, circular: tuple[Key, ...] = (),
                 quotes: Quotes | None = None) -> None:
        self._book = book
        self._date1904 = date1904
        self.iteration = iteration or Iteration(enabled_in_workbook=False)
        # formula cells that call a function the engine lacks (engine.formula.support), by cell
        self.unsupported = unsupported or {}
        self._path = path
        self._time_limit_s = time_limit_s
        self._name_users = name_users
        self.environment = environment or Environment()
        self.circular = circular
        self.external_links: tuple[int, ...] = tuple(getattr(book, "cached_external_link_indices", ()) or ())
        self._valued: set[Key] = set()  # cells given a value through set_value since loading
        self._quotes = quotes or {}  # FORMULATEXT readers (engine.formula.prepare.EngineCopy.quotes)
        self.overrides: dict[tuple[str, int, int], CellValue] = {}

    # -- editing the loaded workbook (a model session) ---------------------------------------------
    def set_values(self, values: dict[tuple[str, int, int], CellValue]) -> None:
        """Set constant cells (``None`` empties one); :meth:`recalculate` then re-computes what depends
        on them, and only that."""
        runs: list[tuple[str, int, int, list[CellValue]]] = []  # (sheet, first row, column, values down it)
        for (sheet, row, col), value in sorted(values.items(), key=lambda item: (item[0][0], item[0][2], item[0][1])):
            value = value.code if isinstance(value, ExcelError) else value
            last = runs[-1] if runs else None
            if last is not None and value is not None and last[0] == sheet and last[2] == col \
                    and last[1] + len(last[3]) == row and last[3][-1] is not None:
                last[3].append(value)
            else:
                runs.append((sheet, row, col, [value]))
            self._valued.add((sheet, row, col))
        for sheet, row, col, column in runs:
            if len(column) == 1:
                self._book.set_value(sheet, row, col, column[0])
            else:  # one call for a run down a column (a scenario's monthly shocks: 120 cells)
                self._book.sheet(sheet).set_values_batch(row, col, len(column), 1, [[v] for v in column])

    def formula(self, sheet: str, row: int, col: int) -> str | None:
        """The formula the engine holds for a cell (its own copy's text), or None for a constant or an
        empty cell."""
        try:
            text = self._book.get_formula(sheet, row, col)
        except ENGINE_FAILURES as exc:
            raise EvaluationError(f"the formula engine cannot read this cell: {exc}", sheet=sheet,
                                  cell=f"{column_letter(col)}{row}") from exc
        return str(text) if text else None

    def named_ranges(self) -> list[dict[str, Any]]:
        """The workbook's defined names as the engine holds them (name, scope, sheet, rows, columns)."""
        return list(self._book.get_named_ranges())

    def set_formulas(self, formulas: dict[tuple[str, int, int], str]) -> None:
        """Give cells formulas (Excel text, with or without the leading ``=``); cells side by side in a
        row go to the engine in one batch (one graph update instead of one per cell)."""
        by_sheet: dict[str, dict[tuple[int, int], tuple[str, object]]] = {}
        for (sheet, row, col), text in formulas.items():
            if (sheet, row, col) in self._valued:
                # formualizer 0.13 ignores a batched formula over a cell given a value with set_value
                # (perturbed, or set as an input): such a cell gets its formula on its own
                self._book.set_formula(sheet, row, col, text if text.startswith("=") else "=" + text)
                self._valued.discard((sheet, row, col))
                continue
            by_sheet.setdefault(sheet, {})[(row, col)] = ("formula", text)
        for sheet, cells in by_sheet.items():
            _put(self._book.sheet(sheet), cells)
        for reader, text in requoted(self._quotes, formulas).items():  # FORMULATEXT of the cells just set
            self._book.set_formula(*reader, text)

    def add_sheet(self, name: str, cells: dict[tuple[int, int], tuple[str, object]]) -> None:
        """Add a sheet holding ``cells``: ``(row, col) -> ("value", v)`` or ``("formula", text)``."""
        self._book.add_sheet(name)
        _put(self._book.sheet(name), cells)

    def recalculate(self) -> None:
        """Re-compute the cells that depend on what was set since the last evaluation.

        Raises
        ------
        EvaluationError
            When the engine fails, takes longer than the time limit, or a circular reference does
            not converge.
        """
        run(self._book, self._time_limit_s, self._path)
        telemetry = self._book.last_cycle_telemetry()
        if telemetry.capped_sccs:
            raise EvaluationError(
                f"circular reference does not converge within {self.iteration.max_iterations} iterations "
                f"(change under {self.iteration.max_change:g}) once the rent is re-priced; fix the model's loop, "
                "or its iteration settings in Excel", path=self._path)
        self.overrides.clear()

    @property
    def iterating(self) -> bool:
        """Whether the last evaluation iterated circular references. The engine iterates them again in every
        evaluation, whatever changed, and their values move a little each time: none is final before the last."""
        return bool(self._book.last_cycle_telemetry().iterated_sccs)

    def get(self, sheet: str, row: int, col: int) -> CellValue:
        """Value of a cell (formula or constant); ``None`` for an empty cell."""
        if self.overrides and (sheet, row, col) in self.overrides:
            return self.overrides[(sheet, row, col)]
        try:
            raw = self._book.get_value(sheet, row, col)
        except ENGINE_FAILURES as exc:
            raise EvaluationError(f"the formula engine cannot read this cell: {exc}", sheet=sheet,
                                  cell=f"{column_letter(col)}{row}") from exc
        if type(raw) is float and math.isfinite(raw):  # the common case, without the conversions below
            return raw
        return to_cell_value(raw, date1904=self._date1904)

    def what_if(self, inputs: dict[tuple[str, int, int], float], target: tuple[str, int, int]) -> CellValue:
        """The value of ``target`` with ``inputs`` set (What-If); call :meth:`settle` afterwards."""
        for (sheet, row, col), value in inputs.items():
            self._book.set_value(sheet, row, col, value)
        sheet, row, col = target
        try:
            return to_cell_value(self._book.evaluate_cell(sheet, row, col), date1904=self._date1904)
        except ENGINE_FAILURES as exc:
            raise EvaluationError(f"the formula engine could not evaluate {quote_sheet(sheet)}!"
                                  f"{column_letter(col)}{row} for a What-If table: {exc}") from exc

    def settle(self, originals: dict[tuple[str, int, int], CellValue]) -> None:
        """Put What-If inputs back and recalculate, so every value is the workbook's own again."""
        for (sheet, row, col), value in originals.items():
            self._book.set_value(sheet, row, col, value)
        try:
            self._book.evaluate_all()
        except ENGINE_FAILURES as exc:
            raise EvaluationError(f"the formula engine could not recalculate the workbook: {exc}") from exc

    def perturbed(self, cells: Iterable[Key], factor: float) -> AbstractContextManager[list[Key]]:
        """A ``with`` block in which every number among ``cells`` is multiplied by ``factor`` and what reads
        them is recomputed; on leaving, the workbook is its own again (:func:`engine.formula.probe.perturbed`)."""
        return perturbed(self, cells, factor)

    def spill_member(self, sheet: str, row: int, col: int) -> bool:
        """Whether the cell is filled by another cell's spilling array (it holds no formula of its own)."""
        try:
            report = self._book.inspect_cell(f"{quote_sheet(sheet)}!{column_letter(col)}{row}", include_values=False)
        except ENGINE_FAILURES:
            return True
        spill = report.to_dict().get("cell", {}).get("spill")
        return bool(spill) and spill.get("kind") == "Member"

    def precedents(self, sheet: str, row: int, col: int) -> list[tuple[str, int, int, int, int]]:
        """The areas a formula cell reads directly, as (sheet, first row, first column, last row, last
        column); names resolved where the engine resolves them."""
        try:
            report = self._book.precedents(f"{quote_sheet(sheet)}!{column_letter(col)}{row}", max_links=1024)
        except ENGINE_FAILURES:
            return []
        areas = []
        for item in report.to_dict().get("precedents", []):
            ref = item.get("reference", {})
            text = ref.get("address") or ref.get("resolved") or (ref.get("resolution") or {}).get("resolved")
            area = parse_area(text) if text else None
            if area is not None:
                areas.append((area.sheet or sheet, area.first_row, area.first_col, area.last_row, area.last_col))
        return areas

    def dependents(self, sheet: str, row: int, col: int) -> int:
        """How many cells read this one."""
        return len(self._dependents(sheet, row, col))

    def _dependents(self, sheet: str, row: int, col: int) -> list[Any]:
        try:
            report = self._book.dependents(f"{quote_sheet(sheet)}!{column_letter(col)}{row}", max_results=100_000)
        except ENGINE_FAILURES as exc:
            raise EvaluationError(f"the formula engine cannot trace this cell: {exc}", sheet=sheet,
                                  cell=f"{column_letter(col)}{row}") from exc
        return list(report.dependents)

    def downstream(self, roots: list[tuple[str, int, int]], *, limit: int = 200_000) -> set[tuple[str, int, int]]:
        """Every cell that reads one of ``roots``, directly or through other cells (roots included)."""
        seen = set(roots)
        todo = list(roots)
        while todo and len(seen) < limit:
            sheet, row, col = todo.pop()
            found = []
            for dependent in self._dependents(sheet, row, col):
                other, _, addr = str(dependent.cell).rpartition("!")
                other = other[1:-1].replace("''", "'") if other.startswith("'") else other
                found.append((other, *parse_cell(addr)))
            for area, users in self._name_users:  # references made through a defined name
                if area.sheet == sheet and area.first_row <= row <= area.last_row and \
                        area.first_col <= col <= area.last_col:
                    found.extend(users)
            for key in found:
                if key not in seen:
                    seen.add(key)
                    todo.append(key)
        return seen


def _put(sheet: Any, cells: dict[tuple[int, int], tuple[str, object]]) -> None:
    """Set ``cells`` on an engine sheet in as few batch calls as the layout allows: each run of same-kind
    cells along a row, and runs spanning the same columns on consecutive rows as one block (a monthly
    table of formulas is one call)."""
    runs: list[tuple[int, int, str, list[object]]] = []  # (row, first column, kind, contents)
    for (row, col), (kind, content) in sorted(cells.items()):
        if kind != "formula" and content is None:
            continue
        last = runs[-1] if runs else None
        if last is not None and last[0] == row and last[2] == kind and last[1] + len(last[3]) == col:
            last[3].append(content)
        else:
            runs.append((row, col, kind, [content]))
    blocks: dict[tuple[int, int, str], list[tuple[int, list[object]]]] = {}
    for row, col, kind, contents in runs:  # group the runs by their columns, then cut at row gaps
        blocks.setdefault((col, len(contents), kind), []).append((row, contents))
    for (col, width, kind), rows in blocks.items():
        start = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or rows[i][0] != rows[i - 1][0] + 1:
                data = [contents for _row, contents in rows[start:i]]
                if kind == "formula":
                    data = [[str(t) if str(t).startswith("=") else "=" + str(t) for t in line] for line in data]
                    sheet.set_formulas_batch(rows[start][0], col, len(data), width, data)
                else:
                    sheet.set_values_batch(rows[start][0], col, len(data), width, data)
                start = i


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


def evaluate(data: bytes, *, path: str | Path, date1904: bool = False, time_limit_s: float | None = None,
             package: Package | None = None, meanwhile: Callable[[], None] | None = None) -> Evaluation:
    """Recalculate every formula of an ``.xlsx`` package held in memory.

    Circular references are calculated as Excel does under iterative calculation, with the
    workbook's ``iterateCount`` and ``iterateDelta`` (Excel's defaults, 100 and 0.001, when the
    workbook does not set them). The cells calling a function the engine lacks are listed in
    :attr:`Evaluation.unsupported`; the caller refuses them where it uses them
    (:func:`engine.formula.support.refuse_unsupported`).

    ``time_limit_s`` bounds the engine's recalculation (none when ``None``). ``package``, when given, is
    ``data`` already loaded (its parsed parts are reused; it is not changed). ``meanwhile()`` runs while
    the engine evaluates (:func:`engine.formula.running.run`); it may read ``package``, not change it.

    Raises
    ------
    EvaluationError
        When the engine cannot load or evaluate the workbook, takes longer than
        ``time_limit_s``, or a circular reference does not converge.
    """
    package = package if package is not None else Package.from_bytes(data)  # only read
    settings = iteration_settings(package)
    prepared = prepare_engine_copy(package, date1904=date1904)
    if prepared.changed:
        data = package.to_bytes(replace=prepared.parts, compress=False)  # read once, in memory
    try:
        book = _load(data, date1904, settings, iterate=True, clock=prepared.environment.clock)
    except ENGINE_FAILURES as exc:
        raise EvaluationError(f"the formula engine could not load the workbook: {exc}", path=path) from exc
    unsupported: dict[Key, frozenset[str]] = {}

    def alongside() -> None:  # while the engine evaluates
        unsupported.update(prepared.unsupported_calls())
        if meanwhile is not None:
            meanwhile()

    run(book, time_limit_s, path, alongside)
    telemetry = book.last_cycle_telemetry()
    circular: list[Key] = []
    if telemetry.iterated_sccs or telemetry.capped_sccs:
        engine_copy = Package.from_bytes(data)
        circular = _circular(data, date1904, settings, engine_copy, path)
        if seed_from_cache(book, engine_copy, circular):  # start the loops where Excel left them
            run(book, time_limit_s, path)
            telemetry = book.last_cycle_telemetry()
    if telemetry.capped_sccs:
        where = circular[0] if circular else None
        raise EvaluationError(
            f"circular reference does not converge within {settings.max_iterations} iterations (change under "
            f"{settings.max_change:g}); fix the model's loop, or its iteration settings in Excel",
            path=path, sheet=where[0] if where else None,
            cell=f"{column_letter(where[2])}{where[1]}" if where else None)
    iteration = Iteration(settings.enabled_in_workbook, settings.max_iterations, settings.max_change,
                          cycles=telemetry.iterated_sccs, passes=telemetry.max_passes_single_scc)
    return Evaluation(book, date1904=date1904, iteration=iteration, unsupported=unsupported, path=path,
                      time_limit_s=time_limit_s, name_users=prepared.name_users, environment=prepared.environment,
                      circular=tuple(circular), quotes=prepared.quotes)


def _circular(data: bytes, date1904: bool, settings: Iteration, package: Package, path: str | Path) -> list[Key]:
    """The cells of the workbook's circular references (a second, non-iterating pass finds them)."""
    try:
        book = _load(strip_iterate(data), date1904, settings, iterate=False)
        book.evaluate_all()
    except ENGINE_FAILURES as exc:
        raise EvaluationError(f"the workbook has circular references, and the engine failed finding them: {exc}",
                              path=path) from exc
    return circular_cells(book, package)


def _usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system has that call), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


# The engine evaluates independent cells on several threads by default. On two cores that is slower
# (the 120-month template's first evaluation 29 -> 21 ms without it, the 1,200-month variant's 766 ->
# 672 ms: docs/benchmarks.md), and a batch already runs one worker per core; with more cores the
# engine's default is kept, as it could not be measured here.
PARALLEL = _usable_cpus() > 2


def _load(data: bytes, date1904: bool, settings: Iteration, *, iterate: bool,
          clock: dt.datetime | None = None) -> Any:
    config = fz.EvaluationConfig()
    config.date_system = "1904" if date1904 else "1900"
    config.enable_parallel = PARALLEL
    if iterate:
        config.cycle_policy = "iterate"
        config.iterate_max_iterations = settings.max_iterations
        config.iterate_max_change = settings.max_change
    book = fz.Workbook.from_bytes(data, config=fz.WorkbookConfig(eval_config=config))
    register_functions(book)
    if clock is not None:  # Excel's clock at its last calculation, as local time (engine.formula.environment)
        book.set_deterministic_clock(clock.replace(tzinfo=dt.timezone.utc), "utc")
    return book
