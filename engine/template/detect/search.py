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

import datetime as dt
from dataclasses import replace

from engine.formula.evaluate import Evaluation
from engine.template.detect.borrowed import borrowed_frames
from engine.template.detect.deal import Text, deal_texts, propose_security, propose_unit
from engine.template.detect.debt import DebtLines, DebtSearch
from engine.template.detect.lines import Line, LineSearch, find_lines
from engine.template.detect.sizing import sized_debt
from engine.template.detect.report import CONFIDENCE, Candidate, Detection, Finding
from engine.template.detect.scan import Sheet, WorkbookScan
from engine.template.detect.timelines import Run, TimelineSearch, find_frames
from engine.template.detect.vocab import normalise, rent_tier, revenue_kind
from engine.errors import GpuCreditError
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
    frames = borrowed_frames(scan.sheets, frames)
    if not frames:
        raise scan.fail("no timeline found (no row or column of period dates, years or period numbers); "
                        "this does not look like a lender template — pass --profile")
    lines: dict[int, list[Line]] = {
        id(frame): find_lines(sheet, frame, [f for s, f in frames if s.title == sheet.title and f.axis == frame.axis])
        for sheet, frame in frames}
    search = LineSearch(scan, lines)
    debt = DebtSearch(scan, search, lines)
    found: dict[int, DebtLines] = {}

    def debt_lines(frame: Run) -> DebtLines:
        if id(frame) not in found:
            found[id(frame)] = debt.lines_for(frames, frame)
        return found[id(frame)]

    choice = search.rent(frames, lambda frame: debt_lines(frame).cells)
    if choice.line is None:
        _report_timeline(timelines, search, frames)
        assert choice.error is not None
        raise choice.error
    frame = choice.line.frame
    timeline = timelines.timeline(scan.sheets[frame.borrowed_from or frame.sheet], frame)
    metrics = debt_lines(frame)
    for note in metrics.notes:
        scan.note(*note)
    covenant, notes = debt.covenant(metrics.cells.get("dscr", ()))
    for note in notes:
        scan.note(*note)
    scan.note("rent", format_range(choice.line.cells), choice.confidence, choice.how, choice.line.unit)
    profile = TemplateProfile(timeline=timeline, rent=choice.line.cells, metrics=metrics.cells, covenant=covenant,
                              debt_amount=sized_debt(scan, debt, choice.line, metrics.cells),
                              origin="detected profile")
    profile = _deal(scan, profile)
    if choice.error is not None:
        scan.report.profile = profile  # the best candidate, for --write-profile to offer
        raise choice.error
    return profile


def _deal(scan: WorkbookScan, found: TemplateProfile) -> TemplateProfile:
    """The money unit and what secures the loan, proposed from the workbook's words."""
    def get(sheet: str, row: int, col: int) -> CellValue:
        return scan.sheets[sheet].values.get((row, col)) if sheet in scan.sheets else None

    texts = deal_texts(get, found) + [Text(CellRef(sheet.title, r, c), value.strip(), 3)
                                      for sheet in scan.sheets.values() for (r, c), value in sorted(sheet.values.items())
                                      if isinstance(value, str) and value.strip()]
    unit, security = propose_unit(texts), propose_security(texts)
    money = unit.unit
    if money is not None and money.currency != "USD":  # a profile in another currency needs its fx_rate too
        scan.note("unit", unit.where, "low", f"{unit.how}; set [deal] unit and fx_rate ({money.currency} per "
                  "US dollar) in a profile to use it")
        money = None
    else:
        scan.note("unit", unit.where, unit.confidence, unit.how)
    scan.note("collateral", security.where, security.confidence, security.how)
    return replace(found, unit=money, collateral_kind=security.kind)


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
    except GpuCreditError as exc:  # the report keeps a best-candidate profile when there is one
        scan.report.error = exc.with_path(source.path)
    return scan.report


def detect_profile(source: Source, ev: Evaluation, *, start: dt.date | None = None) -> TemplateProfile:
    """Find the timeline, rent, and debt lines of an unknown template.

    ``start`` dates a model whose periods are only numbered (``--set start``) when nothing in the
    workbook says when the first period starts.

    Raises
    ------
    DetectionError
        No timeline or no rent line, several rent candidates (named), or a field that could
        only be guessed (a period-number timeline with no start date and no ``start``): pass
        ``--profile``, or ``--set start`` for an undated model.
    """
    found = inspect_workbook(source, ev)
    if start is not None and found.error is None and found.only_start_is_guessed() and found.profile is not None:
        profile = found.profile
        return replace(profile, timeline=replace(profile.timeline, start=start))
    problem = found.problem()
    if problem is not None:
        raise problem
    assert found.profile is not None
    return found.profile
