"""Detection of a TemplateProfile when none is given (DESIGN §4): defined names, then labels.

A *line* is a row (periods across) or a column (periods down) with a text label before its
data. The timeline is the dated line; the rent and the debt lines are labelled lines read at
the timeline's positions. Two equally good rent candidates are an error naming both.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import openpyxl
from openpyxl.styles.numbers import is_date_format
from openpyxl.worksheet.worksheet import Worksheet

from engine.errors import DetectionError
from engine.profile import TemplateProfile, Timeline
from engine.recalc import Evaluation
from engine.refs import CellRef, format_range, parse_range
from engine.workbook import Source
from models.periods import Frequency

LABEL_DEPTH = 4  # labels live in the first few columns (or header rows)
RENT = re.compile(r"\b(rent|rental|lease|leasing)\b", re.I)
RENT_EXCLUDE = re.compile(r"\b(mining|total|escalat|holiday|term|year|months?|rate|growth|start|end)\b", re.I)
METRICS = {
    "dscr": (re.compile(r"^\s*dscr\b|debt service cover", re.I), re.compile(r"target|minimum|min\b", re.I)),
    "cfads": (re.compile(r"\bcfads\b|cash flow available for debt", re.I), re.compile(r"npv|total", re.I)),
    "debt_service": (re.compile(r"debt service", re.I), re.compile(r"cover|dscr|check|after|total|reserve", re.I)),
    "closing_balance": (re.compile(r"closing (debt|loan )?balance|ending balance|closing debt", re.I), None),
    "interest": (re.compile(r"^\s*interest( paid| expense)?\s*$", re.I), None),
    "principal": (re.compile(r"^\s*(principal|scheduled principal|principal repayment|repayment)s?\s*$", re.I), None),
}
COVENANT = re.compile(r"covenant|minimum dscr|min\.? dscr", re.I)
NAMES = {"rent": ("rent", "rental_income", "rentalincome", "lease_revenue", "revenue_rent"),
         "dscr": ("dscr",), "cfads": ("cfads",), "debt_service": ("debtservice", "debt_service"),
         "closing_balance": ("closingbalance", "closing_balance"), "covenant": ("covenant", "min_dscr")}


@dataclass(frozen=True)
class Line:
    """A labelled row or column; ``cells`` are its data cells in order."""

    label: str
    label_cell: CellRef
    axis: str  # "row": periods across; "col": periods down
    index: int  # the row (or column) number


def detect_profile(source: Source, ev: Evaluation) -> TemplateProfile:
    """Find the timeline, rent, and debt lines of an unknown template."""
    wb = openpyxl.load_workbook(io.BytesIO(source.data), read_only=False, data_only=False)
    names = _defined_names(wb)
    timeline = None
    for ws in wb.worksheets:
        timeline = _find_timeline(ws, ev)
        if timeline is not None:
            break
    if timeline is None:
        raise DetectionError("no timeline found (a row or column of period dates); pass --profile", path=source.path)
    rent = names.get("rent") or _find_rent(wb[timeline.cells[0].sheet], timeline, source)
    if len(rent) != len(timeline.cells):
        raise DetectionError(f"rent range {format_range(rent)} has {len(rent)} cells but the timeline "
                             f"{format_range(timeline.cells)} has {len(timeline.cells)}; pass --profile",
                             path=source.path)
    ws = wb[timeline.cells[0].sheet]
    metrics: dict[str, tuple[CellRef, ...]] = {}
    for key in METRICS:
        named = names.get(key)
        if named is not None and len(named) == len(timeline.cells):
            metrics[key] = named
            continue
        found = _first_line(ws, timeline, *METRICS[key])
        if found is not None:
            metrics[key] = found
    covenant = names.get("covenant")
    return TemplateProfile(timeline=timeline, rent=rent, metrics=metrics,
                           covenant=covenant[0] if covenant else _find_covenant(wb, ev),
                           origin="detected profile")


def _defined_names(wb: openpyxl.Workbook) -> dict[str, tuple[CellRef, ...]]:
    out: dict[str, tuple[CellRef, ...]] = {}
    for name, dn in wb.defined_names.items():
        key = next((k for k, aliases in NAMES.items() if name.lower() in aliases), None)
        if key is None or not dn.attr_text or "!" not in dn.attr_text:
            continue
        try:
            out[key] = parse_range(dn.attr_text.replace("$", ""))
        except ValueError:
            continue
    return out


def _label(ws: Worksheet, row: int, col: int, axis: str) -> tuple[str, CellRef] | None:
    """The text label of a line: the first text cell before ``(row, col)`` along the line."""
    if axis == "row":
        spots = [(row, c) for c in range(1, min(col, LABEL_DEPTH + 1))]
    else:
        spots = [(r, col) for r in range(row - 1, max(row - 8, 0), -1)]
    for r, c in spots:
        value = ws.cell(r, c).value
        if isinstance(value, str) and value.strip() and not value.startswith("="):
            return value.strip(), CellRef(ws.title, r, c)
    return None


def _date_run(ws: Worksheet, ev: Evaluation, cells: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest run of consecutive date-formatted cells with increasing values."""
    best: list[tuple[int, int]] = []
    run: list[tuple[int, int]] = []
    last = None
    for r, c in cells:
        value = ev.get(ws.title, r, c)
        ok = isinstance(value, float) and is_date_format(ws.cell(r, c).number_format) and 1 < value < 2_958_465
        if ok and (last is None or value > last):
            run.append((r, c))
            last = value
        else:
            best = run if len(run) > len(best) else best
            run = [(r, c)] if ok else []
            last = value if ok else None
    return run if len(run) > len(best) else best


def _find_timeline(ws: Worksheet, ev: Evaluation) -> Timeline | None:
    found: list[tuple[int, str, list[tuple[int, int]], str]] = []
    for r in range(1, min(ws.max_row, 200) + 1):
        run = _date_run(ws, ev, [(r, c) for c in range(2, ws.max_column + 1)])
        label = _label(ws, r, run[0][1], "row") if len(run) >= 2 else None
        if label:
            found.append((len(run), label[0], run, "row"))
    for c in range(1, min(ws.max_column, 60) + 1):
        run = _date_run(ws, ev, [(r, c) for r in range(2, ws.max_row + 1)])
        label = _label(ws, run[0][0], c, "col") if len(run) >= 2 else None
        if label:
            found.append((len(run), label[0], run, "col"))
    if not found:
        return None
    longest = max(n for n, *_ in found)
    candidates = [f for f in found if f[0] == longest]
    # a period-end line is the covenant test date; prefer it, then a start line
    candidates.sort(key=lambda f: (0 if re.search(r"\bend", f[1], re.I) else 1 if re.search(r"start|begin", f[1], re.I)
                                   else 2))
    _, label, run, _axis = candidates[0]
    serials = [ev.get(ws.title, r, c) for r, c in run]
    from engine.values import serial_to_date

    dates = [serial_to_date(float(s)) for s in serials]  # type: ignore[arg-type]
    gaps = {(b.year - a.year) * 12 + b.month - a.month for a, b in zip(dates, dates[1:])}
    if len(gaps) != 1 or next(iter(gaps)) not in (1, 3, 6, 12):
        return None
    frequency = Frequency(next(iter(gaps)))
    if re.search(r"\bend", label, re.I):
        kind = "period_end"
    elif re.search(r"start|begin", label, re.I):
        kind = "period_start"
    else:
        kind = "period_start" if all(d.day == 1 for d in dates) else "period_end"
    return Timeline(cells=tuple(CellRef(ws.title, r, c) for r, c in run), kind=kind, frequency=frequency)


def _lines(ws: Worksheet, timeline: Timeline) -> list[tuple[str, tuple[CellRef, ...]]]:
    """Every labelled line parallel to the timeline, read at the timeline's positions."""
    first = timeline.cells[0]
    across = len({c.row for c in timeline.cells}) == 1
    out = []
    if across:
        cols = [c.col for c in timeline.cells]
        for r in range(1, ws.max_row + 1):
            label = _label(ws, r, cols[0], "row")
            if label and r != first.row:
                out.append((label[0], tuple(CellRef(ws.title, r, c) for c in cols)))
    else:
        rows = [c.row for c in timeline.cells]
        for c in range(1, ws.max_column + 1):
            label = _label(ws, rows[0], c, "col")
            if label and c != first.col:
                out.append((label[0], tuple(CellRef(ws.title, r, c) for r in rows)))
    return [(label, cells) for label, cells in out
            if any(ws.cell(cell.row, cell.col).value is not None for cell in cells)]


def _find_rent(ws: Worksheet, timeline: Timeline, source: Source) -> tuple[CellRef, ...]:
    candidates = [(label, cells) for label, cells in _lines(ws, timeline)
                  if RENT.search(label) and not RENT_EXCLUDE.search(label)]
    if not candidates:
        raise DetectionError(f"no rent row found on sheet '{ws.title}' (no line labelled rent, rental income or "
                             "lease revenue); pass --profile with [rent] cells", path=source.path, sheet=ws.title)
    if len(candidates) > 1:
        listed = "; ".join(f"'{label}' at {format_range(cells)}" for label, cells in candidates)
        raise DetectionError(f"several lines could be the rent: {listed}; pass --profile to choose",
                             path=source.path, sheet=ws.title)
    return candidates[0][1]


def _first_line(ws: Worksheet, timeline: Timeline, pattern: re.Pattern[str],
                exclude: re.Pattern[str] | None) -> tuple[CellRef, ...] | None:
    for label, cells in _lines(ws, timeline):
        if pattern.search(label) and not (exclude and exclude.search(label)):
            return cells
    return None


def _find_covenant(wb: openpyxl.Workbook, ev: Evaluation) -> CellRef | None:
    for ws in wb.worksheets:
        for row in ws.iter_rows(max_col=LABEL_DEPTH + 1):
            for cell in row:
                if isinstance(cell.value, str) and COVENANT.search(cell.value) and "breach" not in cell.value.lower():
                    for col in range(cell.column + 1, cell.column + 4):
                        value = ev.get(ws.title, cell.row, col)
                        if isinstance(value, float) and 0.5 <= value <= 5:
                            return CellRef(ws.title, cell.row, col)
    return None
