"""Timelines for detection (``engine/template/detect/search.py``): runs of period dates, years, period numbers or text
period labels (``FY2026``, ``Q1-26``, ``Jan 2026``, ``Year 1``; read by ``engine/template/labels.py``).

Every sheet is scanned for *runs* (regular period markers along a row or a column); one run per
group of overlapping runs is kept as a *frame* (:func:`find_frames`). :class:`TimelineSearch`
reads the rent line's frame as the profile's :class:`~engine.template.profile.Timeline`, noting how sure
it is of the kind, frequency and start.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from engine.template.detect.scan import Sheet, WorkbookScan, line_label
from engine.template.detect.vocab import (
    FISCAL_LABEL,
    NOT_START,
    PER_YEAR_LABEL,
    START_LABEL,
    START_PREFERRED,
    frequency_from_words,
    normalise,
)
from engine.errors import GpuCreditError
from engine.template.labels import PeriodLabelError, parse_label
from engine.template.profile import Timeline, TimelineKind
from engine.refs import CellRef, format_range
from engine.template.timeline import read_grid
from engine.values import CellValue, serial_to_date
from models.periods import Frequency

MIN_PERIODS = 3
KIND_RANK = {"date": 0, "text": 1, "year": 2, "number": 3, "textnum": 3}  # dates beat labels beat years …
_PART = re.compile(r"[qh]\s*[1-4]", re.IGNORECASE)  # "Q1" … "Q4", "H1", "H2" with the year on another line


class Axis(StrEnum):
    """Which way a timeline runs: along a row (periods across) or down a column."""

    ROW = "row"
    COL = "col"


class Marker(StrEnum):
    """What marks each period of a run."""

    DATE = "date"
    YEAR = "year"
    NUMBER = "number"
    TEXT = "text"  # dated labels: FY2026, Q1-26, Jan 2026
    TEXTNUM = "textnum"  # numbered labels: Year 1, Period 2


@dataclass(frozen=True)
class Run:
    """A run of period markers along a row (axis ``row``) or a column (axis ``col``)."""

    sheet: str
    axis: Axis
    index: int  # the row (axis row) or column (axis col)
    positions: tuple[int, ...]  # the columns (axis row) or rows (axis col)
    kind: Marker
    values: tuple[float, ...]  # serials, years, numbers; a text label's first month index
    label: str
    unit: int = 0  # text: months per period; textnum: months per period the word says (0: "Period")
    years_index: int | None = None  # text: the line holding the years of "Q1" … "Q4" labels
    borrowed_from: str | None = None  # a sheet without its own timeline reads this sheet's (a "Timing" sheet)

    def __post_init__(self) -> None:
        object.__setattr__(self, "axis", Axis(self.axis))
        object.__setattr__(self, "kind", Marker(self.kind))

    def cells(self) -> tuple[CellRef, ...]:
        return self._along(self.index)

    def year_cells(self) -> tuple[CellRef, ...]:
        return () if self.years_index is None else self._along(self.years_index)

    def _along(self, index: int) -> tuple[CellRef, ...]:
        sheet = self.borrowed_from or self.sheet
        if self.axis == "row":
            return tuple(CellRef(sheet, index, p) for p in self.positions)
        return tuple(CellRef(sheet, p, index) for p in self.positions)

    def rank(self) -> tuple[int, int, int]:
        label = normalise(self.label)
        pref = 0 if re.search(r"\bend\w*\b|\bto\b|ending", label) else 1 if re.search(r"start|begin|from", label) else 2
        return (KIND_RANK[self.kind], pref, -len(self.positions))


def _cell_label(sheet: Sheet, frame: Run, i: int) -> str:
    """The text of timeline cell ``i`` of a text frame, with its year when that is on a line of its own."""
    cell = frame.cells()[i]
    text = sheet.text(cell.row, cell.col) or ""
    if frame.years_index is None:
        return text
    year = frame.year_cells()[i]
    return f"{text} {sheet.number(year.row, year.col) or 0:.0f}"


def _months_between(a: float, b: float) -> int:
    da, db = serial_to_date(a), serial_to_date(b)
    return (db.year - da.year) * 12 + db.month - da.month


def _marker(sheet: Sheet, r: int, c: int) -> tuple[str, float, int] | None:
    """(kind, value, unit) of a cell that could mark a period; see :class:`Run`."""
    value = sheet.number(r, c)
    if value is None:
        text = sheet.text(r, c)
        return _text_marker(text) if text is not None else None
    if (r, c) in sheet.dated:
        return ("date", value, 0) if 1 < value < 2_958_465 else None
    if value.is_integer():
        return ("year", value, 0) if 1950 <= value <= 2200 else ("number", value, 0) if 0 <= value < 1950 else None
    return None


def _text_marker(text: str) -> tuple[str, float, int] | None:
    try:
        label = parse_label(text)
    except PeriodLabelError:
        return None
    months = label.frequency.value if label.frequency is not None else 0
    if label.dated:  # calendar month index: a fiscal year start shifts every label alike
        return "text", float(label.first_month()), months
    return "textnum", float(label.index), months


def _part_marker(sheet: Sheet, axis: str, years_at: int, r: int, c: int) -> tuple[str, float, int] | None:
    """A "Q1" / "H2" cell read with the year on line ``years_at`` (a year row repeated per quarter)."""
    text = sheet.text(r, c)
    year = sheet.number(years_at, c) if axis == "row" else sheet.number(r, years_at)
    if text is None or not _PART.fullmatch(text) or year is None or not year.is_integer():
        return None
    return _text_marker(f"{text} {int(year)}")


def _steps_ok(kind: str, prev: float, value: float, step: int | None, unit: int) -> bool:
    if kind == "date":
        gap = _months_between(prev, value)
        return gap in (1, 3, 6, 12) and (step is None or gap == step) and value > prev
    return value == prev + (unit if kind == "text" else 1)


def _runs_along(sheet: Sheet, axis: str, index: int, positions: list[int],
                years_at: int | None = None) -> Iterable[Run]:
    """Maximal runs of one kind with a regular step among consecutive positions of a line; with
    ``years_at``, runs of "Q1" … "Q4" labels whose years are on that line."""
    run: list[tuple[int, float]] = []
    kind: str | None = None
    step: int | None = None
    unit = 0

    def flush() -> Iterable[Run]:
        leading_zero = kind in ("number", "textnum") and run and run[0][1] == 0
        kept = run[1:] if leading_zero else run  # period 0: financial close or construction
        if kind is not None and len(kept) >= MIN_PERIODS:
            label = line_label(sheet, axis, index, run[0][0])
            yield Run(sheet.title, Axis(axis), index, tuple(p for p, _ in kept), Marker(kind),
                      tuple(v for _, v in kept), label[0] if label else "", unit, years_at)

    for p in positions:
        r, c = (index, p) if axis == "row" else (p, index)
        mark = _marker(sheet, r, c) if years_at is None else _part_marker(sheet, axis, years_at, r, c)
        if mark and kind == mark[0] and unit == mark[2] and run and run[-1][0] == p - 1 and \
                _steps_ok(kind, run[-1][1], mark[1], step, unit):
            if kind == "date" and step is None:
                step = _months_between(run[-1][1], mark[1])
            run.append((p, mark[1]))
            continue
        yield from flush()
        run, kind, step, unit = ([(p, mark[1])], mark[0], None, mark[2]) if mark else ([], None, None, 0)
    yield from flush()


def _part_runs(sheet: Sheet, axis: str, lines: dict[int, list[int]]) -> list[Run]:
    """Quarter/half labels without a year ("Q1" … "Q4") read with a line of years within three lines."""
    out = []
    for index, positions in lines.items():
        parts = sorted(p for p in positions if _PART.fullmatch(
            sheet.text(*((index, p) if axis == "row" else (p, index))) or ""))
        if len(parts) < MIN_PERIODS:
            continue
        for other in sorted((o for o in lines if o != index and abs(o - index) <= 3), key=lambda o: abs(o - index)):
            runs = list(_runs_along(sheet, axis, index, parts, years_at=other))
            if runs:
                out += runs
                break
    return out


def _all_runs(sheet: Sheet) -> list[Run]:
    by_row: dict[int, list[int]] = {}
    by_col: dict[int, list[int]] = {}
    for r, c in sheet.values:
        by_row.setdefault(r, []).append(c)
        by_col.setdefault(c, []).append(r)
    runs = [run for r, cols in by_row.items() for run in _runs_along(sheet, "row", r, sorted(cols))]
    runs += [run for c, rows in by_col.items() for run in _runs_along(sheet, "col", c, sorted(rows))]
    runs += _part_runs(sheet, "row", by_row) + _part_runs(sheet, "col", by_col)
    # a column of bare integers counting 1, 2, 3 … is as often a row index as a timeline; keep it
    # only when a label says it counts periods
    return [run for run in runs if run.kind != "number" or frequency_from_words(run.label) is not None
            or re.search(r"\bperiod|\bno\b|#", normalise(run.label) + run.label)]


def find_frames(sheet: Sheet) -> list[Run]:
    """One timeline per group of overlapping runs on the same axis: dates beat years beat numbers. A
    counter of period numbers over the columns of a dated timeline ("Operating period counter") is
    part of that block, however far below it sits, and does not start one of its own."""
    chosen: list[Run] = []
    for run in sorted(_all_runs(sheet), key=Run.rank):
        span = set(run.positions)
        twin = next((k for k, o in enumerate(chosen) if o.axis == run.axis and span & set(o.positions) and _near(o, run)),
                    None)
        if twin is not None:
            chosen[twin] = _paired(chosen[twin], run)
            continue
        if run.kind in ("number", "textnum") and any(
                o.axis == run.axis and o.kind in ("date", "text", "year") and span <= set(o.positions) for o in chosen):
            continue
        chosen.append(run)
    return chosen


def _paired(kept: Run, other: Run) -> Run:
    """Rows of period start and end dates together: the periods are the positions both cover (an end
    row often starts one position early, with the model's start date)."""
    if kept.kind != "date" or other.kind != "date" or len(other.positions) < MIN_PERIODS:
        return kept
    both = [k for k, p in enumerate(kept.positions) if p in set(other.positions)]
    if len(both) == len(kept.positions) or len(both) < MIN_PERIODS or both != list(range(both[0], both[-1] + 1)):
        return kept
    return replace(kept, positions=tuple(kept.positions[k] for k in both), values=tuple(kept.values[k] for k in both))


def _near(a: Run, b: Run) -> bool:
    """Two runs over the same positions within a few lines of each other describe the same periods."""
    return abs(a.index - b.index) <= 12


class TimelineSearch:
    """Reads a frame as the profile's timeline; finds the timeline a defined name gives."""

    def __init__(self, scan: WorkbookScan) -> None:
        self.scan = scan

    def timeline(self, sheet: Sheet, frame: Run) -> Timeline:
        cells = frame.cells()
        where = format_range(cells)
        label = frame.label or "unlabelled"
        if frame.kind == "date":
            step = _months_between(frame.values[0], frame.values[1])
            kind, confidence, why = self._date_kind(frame)
            timeline = Timeline(cells=cells, kind=TimelineKind(kind), frequency=Frequency(step))
            self.scan.note("timeline", where, "high", f"'{label}': {len(cells)} dates, {step} month(s) apart")
            self.scan.note("kind", kind, confidence, why)
            self.scan.note("frequency", Frequency(step).name.lower(), "high", "from the spacing of the dates")
        elif frame.kind == "text":
            timeline = self._labelled(sheet, frame)
        elif frame.kind == "year":
            timeline = Timeline(cells=cells, kind=TimelineKind.YEAR, frequency=Frequency.ANNUAL)
            self.scan.note("timeline", where, "high", f"'{label}': years {frame.values[0]:.0f}–{frame.values[-1]:.0f}")
            self.scan.note("kind", "year", "medium" if "fy" in normalise(label).split() else "high",
                       "calendar years" + (" (a fiscal year starting in January; check)"
                                           if "fy" in normalise(label).split() else ""))
            self.scan.note("frequency", "annual", "high", "one year per period")
        else:
            timeline = self._numbered(sheet, frame)
        try:
            read_grid(self.scan.ev, timeline, path=self.scan.source.path, date1904=self.scan.source.date1904)
        except GpuCreditError as exc:
            raise self.scan.fail(f"the timeline at {where} does not describe consecutive periods ({exc.message}); "
                            "pass --profile", sheet=sheet.title) from exc
        return timeline

    def _date_kind(self, frame: Run) -> tuple[str, str, str]:
        label = normalise(frame.label)
        if re.search(r"\bend\w*\b|\bto\b|\bending\b|\bpayment\b|\btest\b", label):
            return "period_end", "high", f"label '{frame.label}'"
        if re.search(r"\bstart\w*\b|\bbegin\w*\b|\bfrom\b", label):
            return "period_start", "high", f"label '{frame.label}'"
        dates = [serial_to_date(v, date1904=self.scan.source.date1904) for v in frame.values]
        if all(d.day == 1 for d in dates):
            return "period_start", "medium", "every date is the first of a month"
        if all((d + dt.timedelta(days=1)).day == 1 for d in dates):
            return "period_end", "medium", "every date is a month end"
        return "period_end", "low", "dates fall mid-month; read as period ends (payment dates)"

    def _labelled(self, sheet: Sheet, frame: Run) -> Timeline:
        """A timeline of dated text labels ("FY2026", "Q1-26", "Jan 2026", or "Q1" under a year)."""
        cells, years = frame.cells(), frame.year_cells()
        first, last = (_cell_label(sheet, frame, i) for i in (0, -1))
        freq = Frequency(frame.unit)
        fiscal_month, k_conf, k_how = self._fiscal_start(frame, first)
        how = f"'{frame.label or 'unlabelled'}': text labels '{first}'–'{last}'"
        if years:
            how += f", the years read from {format_range(years)}"
        self.scan.note("timeline", format_range(cells), "medium" if years or not frame.label else "high", how)
        self.scan.note("kind", "label", k_conf, k_how)
        self.scan.note("frequency", freq.name.lower(), "high", "from the labels")
        return Timeline(cells=cells, kind=TimelineKind.LABEL, frequency=freq, fiscal_start_month=fiscal_month,
                        years=years)

    def _fiscal_start(self, frame: Run, first: str) -> tuple[int, str, str]:
        """The month the fiscal year starts, when the labels (or the timeline's label) say FY."""
        fiscal = parse_label(first).basis == "fiscal" or re.search(r"\b(fy|fiscal|financial year)\b",
                                                                    normalise(frame.label))
        if not fiscal:
            return 1, "high", "text period labels; calendar periods"
        for sheet, r, c, label in self.scan.labelled_cells(FISCAL_LABEL):
            for cc in range(c + 1, c + 5):
                month = self._month_in(sheet, r, cc)
                if month is not None:
                    ends = re.search(r"\bend", normalise(label)) is not None
                    start = month % 12 + 1 if ends else month
                    return start, "high", f"FY labels; '{label}' at {CellRef(sheet.title, r, cc)}"
        return 1, "medium", ("FY labels read as calendar years (nothing says when the fiscal year starts); "
                             "check fiscal_start_month")

    def _month_in(self, sheet: Sheet, r: int, c: int) -> int | None:
        """The month a fiscal-year input names: a date, a month number or a month name."""
        value = sheet.values.get((r, c))
        if isinstance(value, float) and (r, c) in sheet.dated and 1 < value < 2_958_465:
            return serial_to_date(value, date1904=self.scan.source.date1904).month
        if isinstance(value, float) and value.is_integer() and 1 <= value <= 12:
            return int(value)
        if isinstance(value, str):
            try:
                label = parse_label(f"{value.strip()} 2000")
            except PeriodLabelError:
                return None
            return label.index if label.kind == "month" else None
        return None

    def _numbered(self, sheet: Sheet, frame: Run) -> Timeline:
        cells = frame.cells()
        if frame.kind == "textnum" and frame.unit:
            freq, f_conf, f_how = Frequency(frame.unit), "high", f"the labels say '{_cell_label(sheet, frame, 0)}'"
        else:
            freq, f_conf, f_how = self._frequency(frame)
        start, s_conf, s_how = self._start()
        where = format_range(cells)
        kind = "label" if frame.kind == "textnum" else "period_number"
        what = "text period numbers" if kind == "label" else "period numbers"
        self.scan.note("timeline", where, "high" if frame.label or kind == "label" else "medium",
                   f"'{frame.label or 'unlabelled'}': {what} {frame.values[0]:.0f}–{frame.values[-1]:.0f}")
        self.scan.note("kind", kind, "high", "the cells count periods")
        self.scan.note("frequency", freq.name.lower(), f_conf, f_how)
        self.scan.note("start", start.isoformat(), s_conf, s_how)
        return Timeline(cells=cells, kind=TimelineKind(kind), frequency=freq, start=start)

    def _frequency(self, frame: Run) -> tuple[Frequency, str, str]:
        found = frequency_from_words(frame.label)
        if found is not None:
            return found, "high", f"timeline label '{frame.label}'"
        for sheet, r, c, label in self.scan.labelled_cells(PER_YEAR_LABEL):
            for value in self._values_right_of(sheet, r, c):
                if isinstance(value, float) and value in (1, 2, 4, 12):
                    return Frequency(int(12 // value)), "high", f"'{label}' = {value:g}"
                if isinstance(value, str) and (word := frequency_from_words(value)) is not None:
                    return word, "high", f"'{label}' = {value}"
        return Frequency.ANNUAL, "guess", "nothing says how long a period is; assumed a year — check"

    def _start(self) -> tuple[dt.date, str, str]:
        found: list[tuple[int, dt.date, str]] = []
        for sheet, r, c, label in self.scan.labelled_cells(START_LABEL):
            if NOT_START.search(normalise(label)):
                continue
            for cc in range(c + 1, c + 5):
                value = sheet.number(r, cc)
                if value is not None and (r, cc) in sheet.dated and 1 < value < 2_958_465:
                    pref = 0 if START_PREFERRED.search(normalise(label)) else 1
                    found.append((pref, serial_to_date(value, date1904=self.scan.source.date1904),
                                  f"'{label}' at {CellRef(sheet.title, r, cc)}"))
                    break
        if not found:
            return dt.date(2026, 1, 1), "guess", "no start date found; assumed 2026-01-01 — set it"
        found.sort(key=lambda f: f[0])
        top = [f for f in found if f[0] == found[0][0]]
        if len({d for _, d, _ in top}) > 1:
            listed = ", ".join(f"{how} = {d.isoformat()}" for _, d, how in top)
            return top[0][1], "guess", f"several start dates ({listed}); took the first — check"
        return top[0][1], "high" if top[0][0] == 0 else "medium", top[0][2]

    def _values_right_of(self, sheet: Sheet, r: int, c: int) -> list[CellValue]:
        return [sheet.values.get((r, cc)) for cc in range(c + 1, c + 5) if (r, cc) in sheet.values]

    def named_timeline(self) -> tuple[Sheet, Run] | None:
        entry = self.scan.names.get("timeline")
        if entry is None:
            return None
        name, cells = entry
        sheet = self.scan.sheets.get(cells[0].sheet)
        if sheet is None or len(cells) < 2:
            return None
        axis = "row" if len({c.row for c in cells}) == 1 else "col"
        positions = [c.col if axis == "row" else c.row for c in cells]
        runs = list(_runs_along(sheet, axis, cells[0].row if axis == "row" else cells[0].col, positions))
        full = [r for r in runs if len(r.positions) == len(cells)]
        return (sheet, Run(**{**full[0].__dict__, "label": full[0].label or name})) if full else None
