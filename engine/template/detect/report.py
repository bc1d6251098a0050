"""What detection reports: where each profile field was found, how sure it is, and the candidates."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from engine.errors import DetectionError, GpuCreditError
from engine.refs import CellRef, format_range
from engine.template.profile import TemplateProfile, profile_to_toml

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
    unit: str = ""  # the money unit written in the line's label ("US$ 000", "€m"), when it has one

    def __post_init__(self) -> None:
        object.__setattr__(self, "confidence", Confidence(self.confidence))

    def to_json(self) -> dict[str, str]:
        doc = {"where": self.where, "confidence": self.confidence, "how": self.how}
        if self.unit:
            doc["unit"] = self.unit
        return doc


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
    units: dict[str, str] = field(default_factory=dict)  # profile field -> the unit its label carries
    external_links: list[dict[str, Any]] = field(default_factory=list)  # linked workbooks formulas read

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
                "unit": "deal.unit", "collateral": "collateral.kind", "debt_amount": "debt.amount"}
        return {keys.get(name, f"metrics.{name}"): f"{f.confidence}: {f.how}" for name, f in self.findings.items()}

    def alternatives(self) -> list[str]:
        """The other rent candidates as commented profile lines, each with why it was not chosen."""
        chosen = self.profile.rent if self.profile is not None else ()
        out = []
        for c in self.rent_candidates + [c for c in self.revenue_lines if c.note]:
            if c.cells != chosen:
                out.append(f'cells = "{format_range(c.cells)}"  # \'{c.label}\' ({c.kind}): {c.note}')
        return out

    def profile_text(self) -> str:
        """The profile ``inspect --write-profile`` writes: the best candidate active with how each field was
        found, the other rent candidates commented out with their reasons; without a timeline or a rent
        line, a skeleton to fill in (convert refuses it until its ranges are there)."""
        head = f"# detected from {self.path.name} by gpucredit inspect\n"
        problem = self.problem()
        if problem is not None:
            head += f"# detection did not settle it: {problem.message}\n"
        if self.profile is not None:
            return head + profile_to_toml(self.profile, comments=self.comments(), alternatives=self.alternatives())
        lines = [head + "# nothing to convert yet: fill in the ranges below, then pass this file with --profile", "",
                 "[timeline]", 'cells = ""  # ' + self._found("timeline", 'one cell per period, e.g. "Model!E6:N6"'),
                 'kind = "period_end"  # period_end | period_start | year | period_number | label',
                 'frequency = "annual"  # monthly | quarterly | semiannual | annual', "", "[rent]",
                 'cells = ""  # the rent (or revenue) line, one cell per period']
        lines += [f"# {alternative}" for alternative in self.alternatives()]
        lines += ["", "[metrics]", '# cfads = "Model!E13:N13"', '# debt_service = "Model!E20:N20"',
                  '# dscr = "Model!E24:N24"', '# covenant = "Inputs!C27"']
        return "\n".join(lines) + "\n"

    def _found(self, name: str, default: str) -> str:
        finding = self.findings.get(name)
        return f"{finding.where} ({finding.how})" if finding is not None else default

    def to_json(self) -> dict[str, Any]:
        problem = self.problem()
        return {"file": str(self.path), "ok": problem is None,
                "error": problem.one_line() if problem is not None else None,
                "fields": {name: f.to_json() for name, f in self.findings.items()},
                "rent_candidates": [c.to_json() for c in self.rent_candidates],
                "revenue_lines": [c.to_json() for c in self.revenue_lines], "warnings": list(self.warnings),
                "units": dict(self.units), "external_links": self.external_links}
