"""What detection reports: where each profile field was found, how sure it is, and the candidates."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from engine.errors import DetectionError, GpuCreditError
from engine.refs import CellRef, format_range
from engine.template.profile import TemplateProfile

class Confidence(StrEnum):
    """How sure detection is of a field; a ``guess`` must be checked before converting."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    GUESS = "guess"


class LineKind(StrEnum):
    """What an income line is, as the inspect report describes it."""

    RENT = "rent"
    HOSTING_REVENUE = "hosting revenue"
    REVENUE = "revenue"
    SAVINGS = "savings"


CONFIDENCE = tuple(level.value for level in Confidence)


@dataclass(frozen=True)
class Finding:
    """Where one profile field was found, how sure detection is, and how it knew."""

    field: str
    where: str
    confidence: Confidence
    how: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "confidence", Confidence(self.confidence))

    def to_json(self) -> dict[str, str]:
        return {"where": self.where, "confidence": self.confidence, "how": self.how}


@dataclass(frozen=True)
class Candidate:
    """A labelled line that could be income: its label, cells and why it was (not) chosen."""

    label: str
    cells: tuple[CellRef, ...]
    kind: LineKind
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", LineKind(self.kind))

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
    reconciliation: dict[str, Any] | None = None  # engine.formula.reconcile's report, when asked for
    warnings: list[str] = field(default_factory=list)  # what convert would warn about (an anchor on an outlier)

    def guesses(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.confidence is Confidence.GUESS]

    def only_start_is_guessed(self) -> bool:
        """The model is undated (numbered periods) and everything else was found: ``--set start`` is all
        convert needs."""
        return [g.field for g in self.guesses()] == ["start"]

    def problem(self) -> GpuCreditError | None:
        """Why convert cannot use what was found: the detection error, or the fields only guessed."""
        if self.error is not None:
            return self.error
        guesses = self.guesses()
        if not guesses:
            return None
        if self.only_start_is_guessed():
            return DetectionError(
                "the model's periods are numbered, not dated, and nothing in it says when the first one starts; "
                "pass --set start=YYYY-MM-DD (the first period's start date) to convert, or a profile with "
                "[timeline] start", path=self.path)
        what = "; ".join(f"{g.field}: {g.how}" for g in guesses)
        return DetectionError(f"detection could only guess ({what}); run gpucredit inspect --write-profile, "
                              "correct the profile and pass it with --profile", path=self.path)

    def comments(self) -> dict[str, str]:
        """Notes for :func:`engine.template.profile.profile_to_toml`: how each field was found, and how sure."""
        keys = {"timeline": "timeline.cells", "kind": "timeline.kind", "frequency": "timeline.frequency",
                "start": "timeline.start", "rent": "rent.cells", "covenant": "metrics.covenant",
                "unit": "deal.unit", "collateral": "collateral.kind"}
        return {keys.get(name, f"metrics.{name}"): f"{f.confidence}: {f.how}" for name, f in self.findings.items()}

    def to_json(self) -> dict[str, Any]:
        problem = self.problem()
        return {"file": str(self.path), "ok": problem is None,
                "error": problem.one_line() if problem is not None else None,
                "fields": {name: f.to_json() for name, f in self.findings.items()},
                "rent_candidates": [c.to_json() for c in self.rent_candidates],
                "revenue_lines": [c.to_json() for c in self.revenue_lines], "warnings": list(self.warnings)}
