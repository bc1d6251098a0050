"""The workbook as detection reads it (``engine/template/detect/search.py``): a snapshot of each sheet's cells,
the defined names that say what a range holds, line labels, and :class:`WorkbookScan`, the state
the timeline and line searches share.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import openpyxl
from openpyxl.styles.numbers import is_date_format
from openpyxl.worksheet.worksheet import Worksheet

from engine.template.detect.report import Confidence, Detection, Finding
from engine.template.detect.vocab import NAMES, normalise
from engine.errors import DetectionError, MalformedWorkbookError
from engine.formula.evaluate import Evaluation, to_cell_value
from engine.refs import column_index, CellRef, parse_range
from engine.values import CellValue, ExcelError
from engine.xlsx.load import Source, brief

HEADER_DEPTH = 8  # rows above a column-wise timeline searched for a column's label


@dataclass
class Sheet:
    """The non-empty cells of one worksheet: computed values, formulas, date formats, hidden lines."""

    title: str
    values: dict[tuple[int, int], CellValue]
    formulas: dict[tuple[int, int], str]
    dated: set[tuple[int, int]]
    hidden_rows: set[int]
    hidden_cols: set[int]

    def text(self, r: int, c: int) -> str | None:
        value = self.values.get((r, c))
        return value.strip() if isinstance(value, str) and value.strip() else None

    def number(self, r: int, c: int) -> float | None:
        value = self.values.get((r, c))
        return value if isinstance(value, float) else None


def _snapshot(ws: Worksheet, ev: Evaluation) -> Sheet:
    values: dict[tuple[int, int], CellValue] = {}
    formulas: dict[tuple[int, int], str] = {}
    dated: set[tuple[int, int]] = set()
    # openpyxl keeps only the cells present in the file here; ws.iter_rows would walk every
    # column up to max_column (16,384 on some lender sheets)
    for (r, c), cell in ws._cells.items():  # noqa: SLF001
        raw = cell.value
        if raw is None:
            continue
        text = getattr(raw, "text", raw)  # ArrayFormula
        if isinstance(text, str) and text.startswith("="):
            formulas[(r, c)] = text
        values[(r, c)] = ev.get(ws.title, r, c)
        if isinstance(raw, (dt.date, dt.datetime)) or (cell.number_format and is_date_format(cell.number_format)):
            dated.add((r, c))
    hidden_rows = {r for r, dim in ws.row_dimensions.items() if dim.hidden}
    hidden_cols: set[int] = set()
    for key, dim in ws.column_dimensions.items():
        if dim.hidden:
            lo = dim.min or column_index(key)
            hidden_cols.update(range(lo, (dim.max or lo) + 1))
    return Sheet(ws.title, values, formulas, dated, hidden_rows, hidden_cols)


def line_label(sheet: Sheet, axis: str, index: int, first: int) -> tuple[str, CellRef] | None:
    """The label of a line: its text cells before the first period (joined), nearest first for columns."""
    if axis == "row":
        spots = [(index, c) for c in range(1, first)]
    else:  # the block of header text directly above the first period (blank rows before it allowed)
        spots = []
        for r in range(first - 1, max(first - 1 - HEADER_DEPTH, 0), -1):
            if (r, index) in sheet.values and sheet.text(r, index) is None:
                break
            if sheet.text(r, index) is None:
                if spots or first - r > 3:
                    break
                continue
            spots.insert(0, (r, index))
    texts = [(t, CellRef(sheet.title, r, c)) for r, c in spots if (t := sheet.text(r, c)) and not t.startswith("=")]
    if not texts:
        return None
    # a wrapped header ("Payment\nDate") reads as one line of text
    return " ".join(" ".join(t.split()) for t, _ in texts), texts[-1][1]


def _fill_from_cache(sheets: dict[str, Sheet], source: Source) -> None:
    """Where the engine gives an error, use the value Excel cached, to *locate* lines only.

    Detection only decides where things are; convert still refuses a workbook whose cached
    values the engine does not reproduce (reconcile first).
    """
    wanted = {title: {k for k, v in sheet.values.items() if isinstance(v, ExcelError)}
              for title, sheet in sheets.items()}
    if not any(wanted.values()):
        return
    wb = _read_with_openpyxl(source, read_only=True, data_only=True)
    try:
        for title, keys in wanted.items():
            if not keys or title not in wb.sheetnames:
                continue
            first, last = min(r for r, _ in keys), max(r for r, _ in keys)
            with _openpyxl_reading(source):  # read-only mode parses the sheet while it is iterated
                rows = list(wb[title].iter_rows(min_row=first, max_row=last, max_col=max(c for _, c in keys),
                                                values_only=True))
            for i, row in enumerate(rows):
                for j, raw in enumerate(row):
                    if (first + i, j + 1) in keys and raw is not None:
                        sheets[title].values[(first + i, j + 1)] = to_cell_value(raw, date1904=source.date1904)
    finally:
        wb.close()


# What openpyxl raises for a value it cannot read. Its reader is stricter than Excel's in places
# (every attribute is type-checked), so a package that load() accepted can still be refused here.
_OPENPYXL_REFUSALS = (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError, SyntaxError,
                      OSError)


@contextmanager
def _openpyxl_reading(source: Source) -> Iterator[None]:
    """Turn openpyxl's refusal of a part into the one-line damaged-workbook error."""
    try:
        with warnings.catch_warnings():  # openpyxl warns about parts it drops (images, extensions); we only read cells
            warnings.simplefilter("ignore", UserWarning)
            yield
    except _OPENPYXL_REFUSALS as exc:
        raise MalformedWorkbookError(
            f"detection cannot read the workbook ({brief(exc)}); the file is damaged or was written by another "
            "program — re-save it in Excel, or pass --profile to say where its lines are", path=source.path) from exc


def _read_with_openpyxl(source: Source, **options: bool) -> openpyxl.Workbook:
    with _openpyxl_reading(source):
        return openpyxl.load_workbook(io.BytesIO(source.data), **options)


def _defined_names(wb: openpyxl.Workbook) -> dict[str, tuple[str, tuple[CellRef, ...]]]:
    """Workbook-level and sheet-level names that say what a range holds, by profile field."""
    found: list[tuple[str, str]] = [(name, dn.attr_text) for name, dn in wb.defined_names.items()]
    for ws in wb.worksheets:
        found += [(name, dn.attr_text) for name, dn in ws.defined_names.items()]
    out: dict[str, tuple[str, tuple[CellRef, ...]]] = {}
    for name, text in found:
        key = re.sub(r"[^a-z0-9]", "", name.lower())
        field_name = next((k for k, aliases in NAMES.items() if key in aliases), None)
        if field_name is None or not text or "!" not in text or "," in text:
            continue
        try:
            out.setdefault(field_name, (name, parse_range(text.replace("$", ""))))
        except ValueError:
            continue
    if "rent" not in out and "revenue" in out:
        out["rent"] = out["revenue"]
    return out


class WorkbookScan:
    """One detection run's view of a workbook: sheet snapshots by title, defined names by profile field,
    and the :class:`~engine.template.detect.report.Detection` the searches record what they find in.
    """

    def __init__(self, source: Source, ev: Evaluation) -> None:
        self.source = source
        self.ev = ev
        self.report = Detection(path=source.path)
        wb = _read_with_openpyxl(source, read_only=False, data_only=False)
        with _openpyxl_reading(source):  # openpyxl looks a cell's style up when it is first read
            self.sheets = {ws.title: _snapshot(ws, ev) for ws in wb.worksheets}
        self.names = _defined_names(wb)
        _fill_from_cache(self.sheets, source)

    def fail(self, message: str, sheet: str | None = None) -> DetectionError:
        return DetectionError(message, path=self.source.path, sheet=sheet)

    def note(self, name: str, where: str, confidence: str, how: str, unit: str = "") -> None:
        """Record where profile field ``name`` was found, how sure detection is, and how it knew (and the
        money unit its label carries, if any)."""
        self.report.findings[name] = Finding(name, where, Confidence(confidence), how, unit)
        if unit:
            self.report.units[name] = unit

    def labelled_cells(self, pattern: re.Pattern[str]) -> Iterable[tuple[Sheet, int, int, str]]:
        for sheet in self.sheets.values():
            for (r, c), value in sorted(sheet.values.items()):
                if isinstance(value, str) and pattern.search(normalise(value)):
                    yield sheet, r, c, value.strip()
