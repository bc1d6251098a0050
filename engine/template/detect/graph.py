"""What a candidate rent line does in the model, measured on the loaded engine (issue 18 §1).

A label can lie ("Land & Leasing" is a cost); the model cannot. Each candidate line is raised by
1 % on the engine's copy (:meth:`engine.formula.evaluate.Evaluation.perturbed`, an incremental
re-evaluation), and detection reads what moved:

- the coverage lines of its periods (CFADS, debt service, DSCR): a line that moves none of them
  feeds nothing the lender tests — a memo line, never the rent;
- CFADS (or, without a CFADS line, DSCR where debt is served): raising the rent must raise it;
  costs, taxes, capex and fees fall out by sign, whatever their label says;
- the other candidates: one that moves is computed from this one — a copy (an income statement
  repeating the revenue schedule); the driver upstream is the line to replace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.errors import EvaluationError
from engine.formula.evaluate import Evaluation
from engine.refs import CellRef, format_range
from engine.values import CellValue

if TYPE_CHECKING:
    from engine.template.detect.lines import Line

STEP = 1.01  # +1 %
_NOISE = 1e-12  # relative change below which a line did not move


@dataclass
class Verdict:
    """What raising one candidate by 1 % did."""

    coverage: bool  # its frame has coverage lines to measure on
    moved: tuple[str, ...] = ()  # the coverage lines that moved ("cfads", "debt_service", "dscr")
    effect: float | None = None  # the summed change of CFADS (or DSCR), None when not measurable
    measured_on: str = ""
    copy_of: Line | None = None  # the candidate upstream this one repeats
    copies: list[Line] = field(default_factory=list)

    @property
    def income(self) -> bool:
        """It moves a coverage line and does not lower CFADS: it behaves as income."""
        return self.coverage and bool(self.moved) and (self.effect is None or self.effect > 0)

    @property
    def usable(self) -> bool:
        """It behaves as income and is not a copy of another candidate."""
        return self.income and self.copy_of is None

    def why_not(self) -> str:
        if not self.coverage:
            return "no CFADS, debt service or DSCR line over its periods to measure it on"
        if not self.moved:
            return "a memo line: raising it moves no CFADS, debt service or DSCR line"
        if self.effect is not None and self.effect <= 0:
            direction = "lowers" if self.effect < 0 else "does not move"
            return f"raising it {direction} {self.measured_on.upper()} (a cost, tax or fee, not income)"
        if self.copy_of is not None:
            return f"a copy of '{self.copy_of.label}' at {format_range(self.copy_of.cells)}"
        return "usable"

    def describe(self) -> str:
        """How the chosen line behaves, for the inspect report."""
        moved = ", ".join(m.replace("_", " ") for m in self.moved)
        text = f"+1 % moves {moved}"
        if self.effect is not None:
            text += f", raises {self.measured_on.upper()}"
        if self.copies:
            text += "; copies: " + ", ".join(f"'{c.label}' at {format_range(c.cells)}" for c in self.copies)
        return text


def _values(ev: Evaluation, cells: tuple[CellRef, ...]) -> list[CellValue]:
    return [ev.get(c.sheet, c.row, c.col) for c in cells]


def _changed(before: list[CellValue], after: list[CellValue]) -> bool:
    for a, b in zip(before, after, strict=True):
        if isinstance(a, float) and isinstance(b, float):
            if abs(b - a) > _NOISE * max(abs(a), abs(b), 1e-300):
                return True
        elif a != b:
            return True
    return False


def _effect(coverage: dict[str, tuple[CellRef, ...]], before: dict[str, list[CellValue]],
            after: dict[str, list[CellValue]]) -> tuple[float | None, str]:
    """Σ Δ CFADS, or without CFADS Σ Δ DSCR over the periods with debt service; None when neither."""
    key = "cfads" if "cfads" in coverage else "dscr" if "dscr" in coverage else ""
    if not key:
        return None, ""
    served = before.get("debt_service")
    total = scale = 0.0
    for p, (a, b) in enumerate(zip(before[key], after[key], strict=True)):
        paid = served[p] if served is not None else None
        if key == "dscr" and served is not None and not (isinstance(paid, float) and paid > 0):
            continue
        if isinstance(a, float) and isinstance(b, float) and math.isfinite(a) and math.isfinite(b):
            total += b - a
            scale += abs(a)
    return (0.0 if abs(total) <= _NOISE * max(scale, 1e-300) else total), key


def judge(ev: Evaluation, candidates: list[Line], coverage_of: dict[int, dict[str, tuple[CellRef, ...]]]
          ) -> dict[int, Verdict]:
    """A :class:`Verdict` for every candidate (by ``id(line)``); ``coverage_of`` gives the coverage lines
    over each candidate's periods (``{"cfads": cells, "debt_service": …, "dscr": …}``)."""
    verdicts: dict[int, Verdict] = {}
    moves: dict[int, set[int]] = {}  # candidate -> the other candidates it moves
    for line in candidates:
        coverage = {k: v for k, v in coverage_of.get(id(line), {}).items() if k in ("cfads", "debt_service", "dscr")}
        verdict = Verdict(coverage=bool(coverage))
        verdicts[id(line)] = verdict
        others = [o for o in candidates if o is not line]
        before = {k: _values(ev, cells) for k, cells in coverage.items()}
        others_before = {id(o): _values(ev, o.cells) for o in others}
        try:
            with ev.perturbed([(c.sheet, c.row, c.col) for c in line.cells], STEP) as changed:
                if not changed:
                    continue
                after = {k: _values(ev, cells) for k, cells in coverage.items()}
                moves[id(line)] = {id(o) for o in others if _changed(others_before[id(o)], _values(ev, o.cells))}
        except EvaluationError:
            continue  # the engine cannot evaluate the model with this line raised: not a line it can judge
        verdict.moved = tuple(k for k in coverage if _changed(before[k], after[k]))
        verdict.effect, verdict.measured_on = _effect(coverage, before, after)
    by_id = {id(line): line for line in candidates}
    for line in candidates:
        for other_id in moves.get(id(line), set()):
            # ``other`` repeats ``line`` unless they move each other (a loop): then neither is a copy
            if id(line) not in moves.get(other_id, set()) and verdicts[id(line)].income and verdicts[other_id].income:
                verdicts[other_id].copy_of = verdicts[other_id].copy_of or line
                verdicts[id(line)].copies.append(by_id[other_id])
    return verdicts
