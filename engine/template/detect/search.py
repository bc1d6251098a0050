"""Detection of a TemplateProfile when none is given; ``docs/detection.md`` explains it.

The order is: defined names → labelled lines → timeline. A *line* is a row (periods across)
or a column (periods down) with a text label before its data. Every sheet is scanned for
*timelines* — runs of period dates, years or period numbers — and each gives a *frame* (the
sheet, the axis, the positions of the periods). Lines are read at a frame's positions and
their labels scored:

* tier 3 — the label says rent or lease ("Gross rental income", "Compute lease revenue",
  "Hosting rent ($/MW-month)");
* tier 2 — GPU/hosting revenue ("Colocation fees", "Compute revenue");
* tier 1 — a plain revenue line ("Revenue"), used only when it is the only one.

The highest tier wins; a line whose formulas read another candidate is *derived* from it and
drops out (the upstream line is the assumption to replace). Two candidates left is an error
naming both. :func:`inspect_workbook` reports what it found with a confidence per field;
:func:`detect_profile` returns the profile or raises :class:`DetectionError`.

The search is split by concern: ``detect_vocab`` (the words labels are read by), ``detect_sheets``
(the workbook snapshot), ``detect_timeline`` (timelines), ``detect_lines`` (the rent and debt
lines); this module runs them and holds the report types.
"""

from __future__ import annotations

from dataclasses import replace

from engine.formula.evaluate import Evaluation
from engine.template.detect.deal import Text, deal_texts, propose_security, propose_unit
from engine.template.detect.lines import Line, LineSearch, find_lines
from engine.template.detect.report import CONFIDENCE, Candidate, Detection, Finding
from engine.template.detect.scan import Sheet, WorkbookScan
from engine.template.detect.timelines import Run, TimelineSearch, find_frames
from engine.template.detect.vocab import normalise, rent_tier, revenue_kind
from engine.errors import DetectionError, GpuCreditError
from engine.template.profile import TemplateProfile
from engine.refs import CellRef, format_range
from engine.values import CellValue
from engine.xlsx.load import Source

__all__ = ["CONFIDENCE", "Candidate", "Detection", "Finding", "detect_profile", "inspect_workbook", "normalise",
           "rent_tier", "revenue_kind"]


def _profile(scan: WorkbookScan) -> TemplateProfile:
    timelines = TimelineSearch(scan)
    frames = [(sheet, frame) for sheet in scan.sheets.values() for frame in find_frames(sheet)]
    named_timeline = timelines.named_timeline()
    if named_timeline is not None:
        frames.insert(0, named_timeline)
    if not frames:
        raise scan.fail("no timeline found (no row or column of period dates, years or period numbers); "
                        "this does not look like a lender template — pass --profile")
    lines: dict[int, list[Line]] = {
        id(frame): find_lines(sheet, frame, [f for _, f in frames if f.sheet == frame.sheet and f.axis == frame.axis])
        for sheet, frame in frames}
    search = LineSearch(scan, lines)
    try:
        rent_line = search.rent(frames, lines)
    except DetectionError:
        _report_timeline(timelines, search, frames)
        raise
    frame = rent_line.frame
    timeline = timelines.timeline(scan.sheets[frame.sheet], frame)
    metrics = search.metrics(frames, lines, frame)
    covenant = search.covenant()
    found = TemplateProfile(timeline=timeline, rent=rent_line.cells, metrics=metrics, covenant=covenant,
                            origin="detected profile")
    return _deal(scan, found)


def _deal(scan: WorkbookScan, found: TemplateProfile) -> TemplateProfile:
    """The money unit and what secures the loan, proposed from the workbook's words."""
    def get(sheet: str, row: int, col: int) -> CellValue:
        return scan.sheets[sheet].values.get((row, col)) if sheet in scan.sheets else None

    texts = deal_texts(get, found) + [Text(CellRef(sheet.title, r, c), value.strip(), 3)
                                      for sheet in scan.sheets.values() for (r, c), value in sorted(sheet.values.items())
                                      if isinstance(value, str) and value.strip()]
    unit, security = propose_unit(texts), propose_security(texts)
    scan.note("unit", unit.where, unit.confidence, unit.how)
    scan.note("collateral", security.where, security.confidence, security.how)
    return replace(found, unit=unit.unit, collateral_kind=security.kind)


def _report_timeline(timelines: TimelineSearch, search: LineSearch, frames: list[tuple[Sheet, Run]]) -> None:
    sheet, frame = search.main_frame(frames)
    try:
        timelines.timeline(sheet, frame)
    except GpuCreditError as exc:
        timelines.scan.note("timeline", format_range(frame.cells()), "low",
                            f"'{frame.label}', but it cannot be read as periods: {exc.message}")


def inspect_workbook(source: Source, ev: Evaluation) -> Detection:
    """Everything detection finds in a workbook, with a confidence per field; never raises DetectionError."""
    scan = WorkbookScan(source, ev)
    try:
        scan.report.profile = _profile(scan)
    except GpuCreditError as exc:
        scan.report.error = exc.with_path(source.path)
    return scan.report


def detect_profile(source: Source, ev: Evaluation) -> TemplateProfile:
    """Find the timeline, rent, and debt lines of an unknown template.

    Raises
    ------
    DetectionError
        No timeline or no rent line, several rent candidates (named), or a field that could
        only be guessed (a period-number timeline with no start date): pass ``--profile``.
    """
    found = inspect_workbook(source, ev)
    problem = found.problem()
    if problem is not None:
        raise problem
    assert found.profile is not None
    return found.profile
