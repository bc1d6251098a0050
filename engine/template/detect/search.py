"""Detection of a TemplateProfile when none is given (DESIGN §4); ``docs/detection.md`` explains it.

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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.template.detect.lines import Line, LineSearch, find_lines
from engine.template.detect.scan import Sheet
from engine.template.detect.timelines import Run, TimelineSearch, find_frames
from engine.template.detect.vocab import normalise, rent_tier, revenue_kind
from engine.errors import DetectionError, GpuCreditError
from engine.template.profile import TemplateProfile
from engine.formula.evaluate import Evaluation
from engine.refs import CellRef, format_range
from engine.xlsx.load import Source

__all__ = ["CONFIDENCE", "Candidate", "Detection", "Finding", "detect_profile", "inspect_workbook", "normalise",
           "rent_tier", "revenue_kind"]

CONFIDENCE = ("high", "medium", "low", "guess")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Finding:
    """Where one profile field was found, how sure detection is, and how it knew."""

    field: str
    where: str
    confidence: str
    how: str

    def to_json(self) -> dict[str, str]:
        return {"where": self.where, "confidence": self.confidence, "how": self.how}


@dataclass(frozen=True)
class Candidate:
    """A labelled line that could be income: its label, cells and why it was (not) chosen."""

    label: str
    cells: tuple[CellRef, ...]
    kind: str  # rent | hosting revenue | revenue | savings
    note: str = ""

    def to_json(self) -> dict[str, str]:
        return {"label": self.label, "cells": format_range(self.cells), "kind": self.kind, "note": self.note}


@dataclass
class Detection:
    """What :func:`inspect_workbook` found; ``profile`` is None when detection failed (``error``)."""

    path: Path
    profile: TemplateProfile | None = None
    findings: dict[str, Finding] = field(default_factory=dict)
    rent_candidates: list[Candidate] = field(default_factory=list)
    revenue_lines: list[Candidate] = field(default_factory=list)
    error: GpuCreditError | None = None

    def guesses(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.confidence == "guess"]

    def comments(self) -> dict[str, str]:
        """Notes for :func:`engine.template.profile.profile_to_toml`: how each field was found, and how sure."""
        keys = {"timeline": "timeline.cells", "kind": "timeline.kind", "frequency": "timeline.frequency",
                "start": "timeline.start", "rent": "rent.cells", "covenant": "metrics.covenant"}
        return {keys.get(name, f"metrics.{name}"): f"{f.confidence}: {f.how}" for name, f in self.findings.items()}

    def to_json(self) -> dict[str, Any]:
        return {"file": str(self.path), "ok": self.error is None and not self.guesses(),
                "error": self.error.one_line() if self.error else None,
                "fields": {name: f.to_json() for name, f in self.findings.items()},
                "rent_candidates": [c.to_json() for c in self.rent_candidates],
                "revenue_lines": [c.to_json() for c in self.revenue_lines]}


# --------------------------------------------------------------------------- the search


class _Search(TimelineSearch, LineSearch):
    """One detection run over a loaded workbook."""

    def __init__(self, source: Source, ev: Evaluation) -> None:
        super().__init__(source, ev)
        self.result = Detection(path=source.path)
        self.lines = {}

    def run(self) -> Detection:
        try:
            self.result.profile = self._profile()
        except GpuCreditError as exc:
            self.result.error = exc.with_path(self.source.path)
        return self.result

    def _profile(self) -> TemplateProfile:
        frames = [(sheet, frame) for sheet in self.sheets.values() for frame in find_frames(sheet)]
        named_timeline = self._named_timeline()
        if named_timeline is not None:
            frames.insert(0, named_timeline)
        if not frames:
            raise self.fail("no timeline found (no row or column of period dates, years or period numbers); "
                            "this does not look like a lender template — pass --profile")
        lines = self.lines = {id(frame): find_lines(sheet, frame, [f for _, f in frames if f.sheet == frame.sheet
                                                                   and f.axis == frame.axis])
                              for sheet, frame in frames}
        try:
            rent_line = self._rent(frames, lines)
        except DetectionError:
            self._report_timeline(frames)
            raise
        frame = rent_line.frame
        sheet = self.sheets[frame.sheet]
        timeline = self._timeline(sheet, frame)
        metrics = self._metrics(frames, lines, frame)
        covenant = self._covenant()
        return TemplateProfile(timeline=timeline, rent=rent_line.cells, metrics=metrics, covenant=covenant,
                               origin="detected profile")

    def _report_timeline(self, frames: list[tuple[Sheet, Run]]) -> None:
        sheet, frame = self._main_frame(frames)
        try:
            self._timeline(sheet, frame)
        except GpuCreditError as exc:
            self._note("timeline", format_range(frame.cells()), "low",
                       f"'{frame.label}', but it cannot be read as periods: {exc.message}")

    def _note(self, name: str, where: str, confidence: str, how: str) -> None:
        self.result.findings[name] = Finding(name, where, confidence, how)

    def _candidate(self, line: Line, kind: str, note: str) -> Candidate:
        return Candidate(line.label, line.cells, kind, note)


def inspect_workbook(source: Source, ev: Evaluation) -> Detection:
    """Everything detection finds in a workbook, with a confidence per field; never raises DetectionError."""
    return _Search(source, ev).run()


def detect_profile(source: Source, ev: Evaluation) -> TemplateProfile:
    """Find the timeline, rent, and debt lines of an unknown template.

    Raises
    ------
    DetectionError
        No timeline or no rent line, several rent candidates (named), or a field that could
        only be guessed (a period-number timeline with no start date): pass ``--profile``.
    """
    found = inspect_workbook(source, ev)
    if found.error is not None:
        raise found.error
    guesses = found.guesses()
    if guesses:
        what = "; ".join(f"{g.field}: {g.how}" for g in guesses)
        raise DetectionError(f"detection could only guess ({what}); run gpucredit inspect --write-profile, "
                             "correct the profile and pass it with --profile", path=source.path)
    assert found.profile is not None
    return found.profile
