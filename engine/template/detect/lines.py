"""Labelled lines for detection (``engine/template/detect/search.py``): reading them at a frame's periods, and
ranking them as the rent.

A *line* is a row (periods across) or a column (periods down) with a text label before its data.
:class:`LineSearch` collects the rent candidates by label tier
(:func:`~engine.template.detect.vocab.rent_tier`), judges each by what it does in the model
(:mod:`engine.template.detect.graph`: it must move the coverage lines, and raising it must raise
CFADS; a copy of another candidate gives way to it), then picks the highest tier left, dropping
hidden helpers. The debt lines and the covenant are found by :mod:`engine.template.detect.debt`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.errors import DetectionError
from engine.refs import CellRef, column_index, format_range
from engine.template.detect.graph import Verdict, judge
from engine.template.detect.label_units import split_unit
from engine.template.detect.report import Candidate, LineKind
from engine.template.detect.scan import Sheet, WorkbookScan, line_label
from engine.template.detect.timelines import Run
from engine.template.detect.vocab import METRICS, TIER_KIND, normalise, rent_tier, revenue_kind
from engine.values import ExcelError


@dataclass(frozen=True)
class Line:
    """A labelled row or column read at its frame's period positions; ``bare`` is its label without the
    money unit written after it, ``unit`` that unit (``Revenue €m``: ``Revenue``, ``€m``)."""

    label: str
    cells: tuple[CellRef, ...]
    index: int
    hidden: bool
    frame: Run
    bare: str = ""
    unit: str = ""

    def __post_init__(self) -> None:
        if not self.bare:
            bare, unit = split_unit(self.label)
            object.__setattr__(self, "bare", bare)
            object.__setattr__(self, "unit", unit)

    @property
    def where(self) -> str:
        return format_range(self.cells)


def _owner(index: int, siblings: list[Run]) -> Run:
    """The timeline a line belongs to: the nearest one before it (a block's header), else the first after."""
    before = [f for f in siblings if f.index <= index]
    return max(before, key=lambda f: f.index) if before else min(siblings, key=lambda f: f.index)


def find_lines(sheet: Sheet, frame: Run, siblings: list[Run] | None = None) -> list[Line]:
    """Labelled lines read at ``frame``'s positions; with ``siblings`` (the other timelines along the
    same axis of the sheet), only the lines of ``frame``'s block."""
    out = []
    first = frame.positions[0]
    others = {r for r, _ in sheet.values} if frame.axis == "row" else {c for _, c in sheet.values}
    own = None if frame.borrowed_from else frame.index  # a borrowed frame's timeline is on another sheet
    for index in sorted(others - {own}):
        if siblings and len(siblings) > 1 and _owner(index, siblings) is not frame:
            continue
        label = line_label(sheet, frame.axis, index, first)
        if label is None:
            continue
        if frame.axis == "row":
            cells = tuple(CellRef(sheet.title, index, p) for p in frame.positions)
            hidden = index in sheet.hidden_rows
        else:
            cells = tuple(CellRef(sheet.title, p, index) for p in frame.positions)
            hidden = index in sheet.hidden_cols
        if any((c.row, c.col) in sheet.values for c in cells):
            out.append(Line(label[0], cells, index, hidden, frame))
    return out


def numeric(sheet: Sheet, line: Line) -> bool:
    """Numbers (blanks, or error values convert will name) in every period, and not all zero."""
    values = [sheet.values.get((c.row, c.col)) for c in line.cells]
    nums = [v for v in values if isinstance(v, float)]
    errors = sum(isinstance(v, ExcelError) for v in values)
    return any(v != 0 for v in nums) and len(nums) + errors >= len(values) - values.count(None)


_REF = re.compile(r"(?:(?:'((?:[^']|'')+)'|([A-Za-z_][\w.]*))!)?\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?")


def reads(sheet: Sheet, line: Line, target: tuple[CellRef, ...]) -> bool:
    """Whether any formula of ``line`` refers to one of ``target``'s cells."""
    wanted = {(c.sheet, c.row, c.col) for c in target}
    for cell in line.cells:
        formula = sheet.formulas.get((cell.row, cell.col))
        if not formula:
            continue
        for quoted, plain, c1, r1, c2, r2 in _REF.findall(formula):
            ref_sheet = quoted.replace("''", "'") if quoted else plain or cell.sheet
            col1, row1 = column_index(c1), int(r1)
            col2, row2 = (column_index(c2), int(r2)) if c2 else (col1, row1)
            if any(s == ref_sheet and row1 <= r <= row2 and col1 <= c <= col2 for s, r, c in wanted):
                return True
    return False


def best_line(lines: list[Line], patterns: tuple[re.Pattern[str], ...],
              exclude: re.Pattern[str] | None) -> tuple[Line, str] | None:
    """The first line matching the most preferred pattern (on its bare label); ``medium`` when several
    matched it."""
    usable = [line for line in lines if not (exclude and exclude.search(normalise(line.bare)))]
    for pattern in patterns:
        hits = [line for line in usable if pattern.search(normalise(line.bare))]
        visible = [line for line in hits if not line.hidden] or hits
        if visible:
            totals = [line for line in visible if "total" in normalise(line.bare)]
            pick = (totals or visible)[0]
            return pick, "high" if len(visible) == 1 else "medium"
    return None


@dataclass
class RentChoice:
    """What the rent search decided: the line, how sure, and every candidate with its verdict."""

    line: Line | None
    confidence: str = ""
    how: str = ""
    ranked: list[tuple[int, Line, Verdict]] = field(default_factory=list)
    error: DetectionError | None = None


class LineSearch:
    """Finds the rent line among the labelled lines of every frame."""

    def __init__(self, scan: WorkbookScan, lines: dict[int, list[Line]]) -> None:
        self.scan = scan
        self.lines = lines  # the labelled lines of each frame, by id(frame)

    def candidates(self, frames: list[tuple[Sheet, Run]]) -> list[tuple[int, Line]]:
        """Every labelled line that could be income, with its label tier (0: not the rent by its label);
        the other income lines are recorded for the report."""
        scored: list[tuple[int, Line]] = []
        for sheet, frame in frames:
            for line in self.lines[id(frame)]:
                tier = rent_tier(line.bare)
                kind = revenue_kind(line.bare)
                if tier == 0 and kind:
                    self.scan.report.revenue_lines.append(Candidate(line.label, line.cells, LineKind(kind),
                                                                    f"{kind}, not rent"))
                if tier and numeric(sheet, line):
                    scored.append((tier, line))
        return scored

    def rent(self, frames: list[tuple[Sheet, Run]],
             coverage_of: Callable[[Run], dict[str, tuple[CellRef, ...]]]) -> RentChoice:
        """The rent line: the named line, else the best candidate that moves the coverage lines over its
        periods (``coverage_of(frame)``), raises CFADS, and is not a copy of another."""
        named = self.named_line("rent", frames)
        if named is not None:
            return RentChoice(named, "high", f"defined name {self.scan.names['rent'][0]}")
        scored = self.candidates(frames)
        if not scored:
            return RentChoice(None, error=self.no_rent(frames))
        verdicts = judge(self.scan.ev, [line for _t, line in scored],
                         {id(line): coverage_of(line.frame) for _t, line in scored})
        ranked = [(tier, line, verdicts[id(line)]) for tier, line in scored]
        usable = [(tier, line) for tier, line, verdict in ranked if verdict.usable]
        if not usable:
            return RentChoice(None, ranked=ranked, error=self._none_usable(ranked, frames))
        top = max(t for t, _ in usable)
        best = [line for t, line in usable if t == top]
        chosen = self._narrow(best)
        self._report(ranked, top, chosen)
        if len(chosen) > 1:
            listed = "; ".join(f"'{line.label}' at {line.where}" for line in chosen)
            error = self.scan.fail(f"several lines could be the rent: {listed}; pass --profile to choose "
                                   "(gpucredit inspect --write-profile writes one to edit)", sheet=chosen[0].frame.sheet)
            return RentChoice(chosen[0], "guess", "first of several rent lines", ranked, error)
        line = chosen[0]
        alone = len([1 for _t, _l in usable]) == 1
        confidence = {3: "high" if len(best) == 1 else "medium", 2: "medium", 1: "medium" if alone else "low"}[top]
        verdict = verdicts[id(line)]
        return RentChoice(line, confidence, f"label '{line.label}' ({TIER_KIND[top]}); {verdict.describe()}", ranked)

    def _narrow(self, best: list[Line]) -> list[Line]:
        """Drop hidden helpers, lines derived from another candidate, and frames without debt lines."""
        visible = [line for line in best if not line.hidden] or best
        upstream = [line for line in visible
                    if not any(o is not line and reads(self.scan.sheets[line.frame.sheet], line, o.cells)
                               for o in visible)]
        chosen = upstream or visible
        if len({id(line.frame) for line in chosen}) > 1:
            scores = {id(line.frame): self.debt_lines(line.frame) for line in chosen}
            top = max(scores.values())
            chosen = [line for line in chosen if scores[id(line.frame)] == top]
        return chosen

    def _report(self, ranked: list[tuple[int, Line, Verdict]], top: int, chosen: list[Line]) -> None:
        for tier, line, verdict in ranked:
            kind = LineKind(TIER_KIND[tier])
            if not verdict.usable:
                note = verdict.why_not()
            elif line in chosen:
                note = "chosen" if len(chosen) == 1 else "one of several"
            elif tier < top:
                note = f"{TIER_KIND[tier]}; a {TIER_KIND[top]} line ranks above"
            elif line.hidden:
                note = "hidden helper line"
            elif any(reads(self.scan.sheets[line.frame.sheet], line, o.cells) for o in chosen):
                note = "derived from the chosen line"
            else:
                note = "on a sheet without debt lines"
            target = self.scan.report.rent_candidates if tier == top or not verdict.usable else \
                self.scan.report.revenue_lines
            target.append(Candidate(line.label, line.cells, kind, note))

    def debt_lines(self, frame: Run) -> int:
        labels = [normalise(line.bare) for line in self.lines[id(frame)]]
        balance = re.compile(r"\bbalance\b")
        return sum(any(p.search(lab) for p in METRICS[key][0] for lab in labels) for key in METRICS) + \
            any(balance.search(lab) for lab in labels)

    def main_frame(self, frames: list[tuple[Sheet, Run]]) -> tuple[Sheet, Run]:
        """The frame an analyst would call the model: most debt lines, then most income lines."""
        def score(item: tuple[Sheet, Run]) -> tuple[int, int, int]:
            frame = item[1]
            income = sum(c.cells[0].sheet == frame.sheet for c in self.scan.report.revenue_lines)
            return (-self.debt_lines(frame), -income, frame.rank()[0])
        return min(frames, key=score)

    def no_rent(self, frames: list[tuple[Sheet, Run]]) -> DetectionError:
        sheet, frame = self.main_frame(frames)
        found = f"found a timeline at {format_range(frame.cells())} ('{frame.label}') but no line labelled " \
                "rent, rental income or lease revenue"
        lines = sorted(self.scan.report.revenue_lines, key=lambda c: c.cells[0].sheet != sheet.title)
        if lines:
            seen: dict[str, Candidate] = {}
            for c in lines:
                seen.setdefault(c.label, c)
            listed = "; ".join(f"'{c.label}' at {format_range(c.cells)} ({c.kind})" for c in list(seen.values())[:4])
            found += f"; the income lines are {listed}, not rent"
        return self.scan.fail(found + "; pass --profile with [rent] cells if one of them is the rent", sheet=sheet.title)

    def _none_usable(self, ranked: list[tuple[int, Line, Verdict]], frames: list[tuple[Sheet, Run]]) -> DetectionError:
        """No candidate passed the behaviour tests: say why each failed (the first four)."""
        if all(not verdict.coverage for _t, _l, verdict in ranked):
            sheet, frame = self.main_frame(frames)
            return self.scan.fail(
                f"found a timeline at {format_range(frame.cells())} and income lines, but no CFADS, debt service "
                "or DSCR line to measure coverage on; pass --profile with [rent] and [metrics] cells",
                sheet=sheet.title)
        listed = "; ".join(f"'{line.label}' at {line.where}: {verdict.why_not()}" for _t, line, verdict in ranked[:4])
        return self.scan.fail(f"no income line raises CFADS when raised ({listed}); pass --profile with [rent] "
                              "cells", sheet=ranked[0][1].frame.sheet)

    def named_line(self, key: str, frames: list[tuple[Sheet, Run]]) -> Line | None:
        """A defined name over one row/column of a frame, read at the frame's positions."""
        entry = self.scan.names.get(key)
        if entry is None:
            return None
        name, cells = entry
        for sheet, frame in frames:
            if cells[0].sheet != sheet.title:
                continue
            own = None if frame.borrowed_from else frame.index
            if frame.axis == "row" and len({c.row for c in cells}) == 1 and cells[0].row != own:
                picked = tuple(CellRef(sheet.title, cells[0].row, p) for p in frame.positions)
            elif frame.axis == "col" and len({c.col for c in cells}) == 1 and cells[0].col != own:
                picked = tuple(CellRef(sheet.title, p, cells[0].col) for p in frame.positions)
            else:
                continue
            if set(picked) <= set(cells) or set(cells) <= set(picked):
                return Line(name, picked, picked[0].row if frame.axis == "row" else picked[0].col, False, frame)
        return None
