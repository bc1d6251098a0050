"""Read a template's timeline cells into a PeriodGrid (docs/curve.md, "Periods")."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from engine.errors import TemplateError
from engine.template.labels import PeriodLabel, PeriodLabelError, parse_label
from engine.template.profile import Timeline
from engine.formula.evaluate import Evaluation
from engine.refs import CellRef
from engine.values import CellValue, ExcelError, serial_to_date
from models.periods import PeriodGrid, month_start

_MIN_SERIAL, _MAX_SERIAL = 1.0, 2_958_465.0  # 1900-01-01 … 9999-12-31


def read_grid(ev: Evaluation, timeline: Timeline, *, path: Path, date1904: bool = False) -> PeriodGrid:
    """The periods the timeline cells describe; a clear error for a cell that is not a date/year/label."""
    if timeline.kind == "label":
        return _label_grid(ev, timeline, path)
    raw = []
    for cell in timeline.cells:
        value = ev.get(cell.sheet, cell.row, cell.col)
        if isinstance(value, bool) or not isinstance(value, float):
            shown = value.code if isinstance(value, ExcelError) else repr(value)
            raise TemplateError(f"timeline cell holds {shown}, expected a {_expected(timeline.kind)}",
                                path=path, sheet=cell.sheet, cell=cell.a1)
        raw.append((cell, value))
    try:
        if timeline.kind == "year":
            years = []
            for cell, value in raw:
                if not value.is_integer() or not 1900 <= value <= 9999:
                    raise TemplateError(f"timeline cell holds {value!r}, expected a year",
                                        path=path, sheet=cell.sheet, cell=cell.a1)
                years.append(int(value))
            return PeriodGrid.from_years(years, timeline.fiscal_start_month)
        if timeline.kind == "period_number":
            assert timeline.start is not None
            return PeriodGrid.from_start(timeline.start, timeline.frequency, len(raw))
        dates = []
        for cell, value in raw:
            if not _MIN_SERIAL <= value <= _MAX_SERIAL:
                raise TemplateError(f"timeline cell holds {value!r}, expected a date",
                                    path=path, sheet=cell.sheet, cell=cell.a1)
            dates.append(serial_to_date(value, date1904=date1904))
        if timeline.kind == "period_end":
            return PeriodGrid.from_ends(dates, timeline.frequency)
        return PeriodGrid.from_starts(dates, timeline.frequency)
    except ValueError as exc:
        first = timeline.cells[0]
        raise TemplateError(f"the timeline does not describe consecutive periods: {exc}",
                            path=path, sheet=first.sheet, cell=first.a1) from exc


def _expected(kind: str) -> str:
    return {"year": "year", "period_number": "period number"}.get(kind, "date")


def _shown(value: CellValue) -> str:
    return value.code if isinstance(value, ExcelError) else repr(value)


def _label_text(ev: Evaluation, timeline: Timeline, i: int, path: Path) -> str:
    """The label of period ``i``: the cell's text (a numeric year reads as its text), with its year if
    the timeline keeps years on a line of their own."""
    cell = timeline.cells[i]
    value = ev.get(cell.sheet, cell.row, cell.col)
    if isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
        value = str(int(value))
    if not isinstance(value, str) or not value.strip():
        raise TemplateError(f"timeline cell holds {_shown(value)}, expected a period label such as "
                            "'FY2026', 'Q1 2026', 'Jan-26' or 'Year 1'", path=path, sheet=cell.sheet, cell=cell.a1)
    if not timeline.years:
        return value.strip()
    year_cell = timeline.years[i]
    year = ev.get(year_cell.sheet, year_cell.row, year_cell.col)
    if isinstance(year, bool) or not isinstance(year, float) or not year.is_integer():
        raise TemplateError(f"timeline year cell holds {_shown(year)}, expected a year", path=path,
                            sheet=year_cell.sheet, cell=year_cell.a1)
    return f"{value.strip()} {int(year)}"


def _label_grid(ev: Evaluation, timeline: Timeline, path: Path) -> PeriodGrid:
    """Periods from text labels (``engine/template/labels.py``): consecutive, of the profile's frequency."""
    labels: list[tuple[CellRef, str, PeriodLabel]] = []
    for i, cell in enumerate(timeline.cells):
        text = _label_text(ev, timeline, i, path)
        try:
            labels.append((cell, text, parse_label(text)))
        except PeriodLabelError as exc:
            raise TemplateError(f"timeline cell holds {text!r}, which is not a period ({exc.reason})",
                                path=path, sheet=cell.sheet, cell=cell.a1) from exc
    first_cell, first_text, first = labels[0]
    for cell, text, label in labels:
        if label.frequency not in (timeline.frequency, None) or label.dated != first.dated:
            what = f"a {label.kind}" if label.dated else "a period number"
            raise TemplateError(f"timeline cell holds {text!r} ({what}), but the timeline is "
                                f"{timeline.frequency.name.lower()} from {first_text!r}; one period length "
                                "per timeline (or correct the profile's frequency)",
                                path=path, sheet=cell.sheet, cell=cell.a1)
    step = timeline.frequency.value if first.dated else 1

    def position(label: PeriodLabel) -> int:  # dated: the first month; numbered: the period number
        return label.first_month(timeline.fiscal_start_month) if first.dated else label.index

    for (_, before_text, before), (cell, text, label) in pairwise(labels):
        if position(label) != position(before) + step:
            raise TemplateError(f"timeline cell holds {text!r} after {before_text!r}; the periods must follow "
                                "each other", path=path, sheet=cell.sheet, cell=cell.a1)
    if first.dated:
        start = month_start(first.first_month(timeline.fiscal_start_month))
    elif timeline.start is None:
        raise TemplateError(f"timeline cell holds {first_text!r}, a period number; set start = \"YYYY-MM-DD\" "
                            "in the profile's [timeline]", path=path, sheet=first_cell.sheet, cell=first_cell.a1)
    else:
        start = timeline.start
    return PeriodGrid.from_start(start, timeline.frequency, len(labels))
