"""Read a template's timeline cells into a PeriodGrid (DESIGN §3, "Periods")."""

from __future__ import annotations

from pathlib import Path

from engine.errors import TemplateError
from engine.profile import Timeline
from engine.recalc import Evaluation
from engine.values import ExcelError, serial_to_date
from models.periods import PeriodGrid

_MIN_SERIAL, _MAX_SERIAL = 1.0, 2_958_465.0  # 1900-01-01 … 9999-12-31


def read_grid(ev: Evaluation, timeline: Timeline, *, path: Path, date1904: bool = False) -> PeriodGrid:
    """The periods the timeline cells describe; a clear error for a cell that is not a date/year."""
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
