"""Labelled lines for detection (``engine/template/detect/search.py``): reading them at a frame's periods, and ranking
them as the rent, the debt metrics and the covenant.

A *line* is a row (periods across) or a column (periods down) with a text label before its data.
:class:`LineSearch` picks the rent by tier (:func:`~engine.template.detect.vocab.rent_tier`), dropping hidden
helpers and lines derived from another candidate, then the debt lines by the patterns of
:data:`~engine.template.detect.vocab.METRICS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.template.detect.report import Candidate, LineKind
from engine.template.detect.scan import Sheet, WorkbookScan, line_label
from engine.template.detect.timelines import Run
from engine.template.detect.vocab import (
    COVENANT,
    COVENANT_WEAK,
    METRICS,
    TIER_KIND,
    normalise,
    rent_tier,
    revenue_kind,
)
from engine.errors import DetectionError
from engine.refs import column_index, CellRef, format_range
from engine.values import ExcelError


@dataclass(frozen=True)
class Line:
    """A labelled row or column read at its frame's period positions."""

    label: str
    cells: tuple[CellRef, ...]
    index: int
    hidden: bool
    frame: Run


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
    for index in sorted(others - {frame.index}):
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


def _numeric(sheet: Sheet, line: Line) -> bool:
    """Numbers (blanks, or error values convert will name) in every period, and not all zero."""
    values = [sheet.values.get((c.row, c.col)) for c in line.cells]
    nums = [v for v in values if isinstance(v, float)]
    errors = sum(isinstance(v, ExcelError) for v in values)
    return any(v != 0 for v in nums) and len(nums) + errors >= len(values) - values.count(None)


_REF = re.compile(r"(?:(?:'((?:[^']|'')+)'|([A-Za-z_][\w.]*))!)?\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?")


def _reads(sheet: Sheet, line: Line, target: Line) -> bool:
    """Whether any formula of ``line`` refers to a cell of ``target`` (so ``line`` derives from it)."""
    wanted = {(c.sheet, c.row, c.col) for c in target.cells}
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


def _best_line(lines: list[Line], patterns: tuple[re.Pattern[str], ...],
               exclude: re.Pattern[str] | None) -> tuple[Line, str] | None:
    """The first line matching the most preferred pattern; ``medium`` when several matched it."""
    usable = [line for line in lines if not (exclude and exclude.search(normalise(line.label)))]
    for pattern in patterns:
        hits = [line for line in usable if pattern.search(normalise(line.label))]
        visible = [line for line in hits if not line.hidden] or hits
        if visible:
            totals = [line for line in visible if "total" in normalise(line.label)]
            pick = (totals or visible)[0]
            return pick, "high" if len(visible) == 1 else "medium"
    return None


class LineSearch:
    """Finds the rent line among the labelled lines of every frame, then the debt lines and covenant."""

    def __init__(self, scan: WorkbookScan, lines: dict[int, list[Line]]) -> None:
        self.scan = scan
        self.lines = lines  # the labelled lines of each frame, by id(frame)

    def rent(self, frames: list[tuple[Sheet, Run]], lines: dict[int, list[Line]]) -> Line:
        named = self._named_line("rent", frames)
        if named is not None:
            self.scan.note("rent", format_range(named.cells), "high", f"defined name {self.scan.names['rent'][0]}")
            return named
        scored: list[tuple[int, Line]] = []
        for sheet, frame in frames:
            for line in lines[id(frame)]:
                tier = rent_tier(line.label)
                kind = revenue_kind(line.label)
                if tier == 0 and kind:
                    self.scan.report.revenue_lines.append(Candidate(line.label, line.cells, LineKind(kind), f"{kind}, not rent"))
                if tier and _numeric(sheet, line):
                    scored.append((tier, line))
        if not scored:
            raise self._no_rent(frames)
        top = max(t for t, _ in scored)
        best = [line for t, line in scored if t == top]
        for tier, line in scored:
            if tier < top:
                self.scan.report.revenue_lines.append(Candidate(
                    line.label, line.cells, LineKind(TIER_KIND[tier]), f"{TIER_KIND[tier]}; a {TIER_KIND[top]} line ranks above"))
        chosen = self._narrow(best)
        for line in best:
            self.scan.report.rent_candidates.append(Candidate(
                line.label, line.cells, LineKind(TIER_KIND[top]), "chosen" if line in chosen else self._why_not(line, chosen)))
        if len(chosen) > 1:
            listed = "; ".join(f"'{line.label}' at {format_range(line.cells)}" for line in chosen)
            raise self.scan.fail(f"several lines could be the rent: {listed}; pass --profile to choose "
                            "(gpucredit inspect --write-profile writes one to edit)", sheet=chosen[0].frame.sheet)
        line = chosen[0]
        confidence = {3: "high" if len(best) == 1 else "medium", 2: "medium", 1: "low"}[top]
        self.scan.note("rent", format_range(line.cells), confidence, f"label '{line.label}' ({TIER_KIND[top]})")
        return line

    def _narrow(self, best: list[Line]) -> list[Line]:
        """Drop hidden helpers, lines derived from another candidate, and frames without debt lines."""
        visible = [line for line in best if not line.hidden] or best
        upstream = [line for line in visible
                    if not any(o is not line and _reads(self.scan.sheets[line.frame.sheet], line, o) for o in visible)]
        chosen = upstream or visible
        if len({id(line.frame) for line in chosen}) > 1:
            scores = {id(line.frame): self._debt_lines(line.frame) for line in chosen}
            top = max(scores.values())
            chosen = [line for line in chosen if scores[id(line.frame)] == top]
        return chosen

    def _why_not(self, line: Line, chosen: list[Line]) -> str:
        if line.hidden:
            return "hidden helper line"
        if any(_reads(self.scan.sheets[line.frame.sheet], line, o) for o in chosen):
            return "derived from the chosen line"
        return "on a sheet without debt lines"

    def _debt_lines(self, frame: Run) -> int:
        labels = [normalise(line.label) for line in self.lines[id(frame)]]
        balance = re.compile(r"\bbalance\b")
        return sum(any(p.search(lab) for p in METRICS[key][0] for lab in labels) for key in METRICS) + \
            any(balance.search(lab) for lab in labels)

    def main_frame(self, frames: list[tuple[Sheet, Run]]) -> tuple[Sheet, Run]:
        """The frame an analyst would call the model: most debt lines, then most income lines."""
        def score(item: tuple[Sheet, Run]) -> tuple[int, int, int]:
            frame = item[1]
            income = sum(c.cells[0].sheet == frame.sheet for c in self.scan.report.revenue_lines)
            return (-self._debt_lines(frame), -income, frame.rank()[0])
        return min(frames, key=score)

    def _no_rent(self, frames: list[tuple[Sheet, Run]]) -> DetectionError:
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

    def metrics(self, frames: list[tuple[Sheet, Run]], lines: dict[int, list[Line]],
                 frame: Run) -> dict[str, tuple[CellRef, ...]]:
        """Debt lines on the rent's frame first, then on frames with the same periods (another sheet)."""
        same = [frame] + [f for _, f in frames if f is not frame and f.values == frame.values and f.kind == frame.kind]
        out: dict[str, tuple[CellRef, ...]] = {}
        for key, (patterns, exclude) in METRICS.items():
            named = self._named_line(key, [(self.scan.sheets[f.sheet], f) for f in same])
            if named is not None:
                out[key] = named.cells
                self.scan.note(key, format_range(named.cells), "high", f"defined name {self.scan.names[key][0]}")
                continue
            for candidate_frame in same:
                hit = _best_line(lines[id(candidate_frame)], patterns, exclude)
                if hit is not None:
                    line, confidence = hit
                    out[key] = line.cells
                    self.scan.note(key, format_range(out[key]), confidence, f"label '{line.label}'")
                    break
        if "dscr" not in out:
            how = "not in the template; computed as CFADS / debt service" if {"cfads", "debt_service"} <= set(out) \
                else "not found, and no CFADS and debt service to compute it from"
            self.scan.note("dscr", "–", "medium" if "cfads" in out else "low", how)
        return out

    def covenant(self) -> CellRef | None:
        named = self.scan.names.get("covenant")
        if named is not None and len(named[1]) == 1:
            self.scan.note("covenant", str(named[1][0]), "high", f"defined name {named[0]}")
            return named[1][0]
        found: list[tuple[int, CellRef, str]] = []
        for sheet, r, c, label in self.scan.labelled_cells(COVENANT):
            if "breach" in normalise(label):
                continue
            for rr, cc in [(r, c + k) for k in range(1, 5)] + [(r + 1, c)]:
                value = sheet.number(rr, cc)
                if value is not None and 0.5 <= value <= 5:
                    found.append((1 if COVENANT_WEAK.search(normalise(label)) else 0, CellRef(sheet.title, rr, cc),
                                  label))
                    break
        if not found:
            self.scan.note("covenant", "–", "low", "no covenant found; breaches are not counted")
            return None
        found.sort(key=lambda f: f[0])
        pref, cell, label = found[0]
        distinct = {f[1] for f in found if f[0] == pref}
        self.scan.note("covenant", str(cell), "high" if len(distinct) == 1 else "medium", f"label '{label}'")
        return cell

    def _named_line(self, key: str, frames: list[tuple[Sheet, Run]]) -> Line | None:
        """A defined name over one row/column of a frame, read at the frame's positions."""
        entry = self.scan.names.get(key)
        if entry is None:
            return None
        name, cells = entry
        for sheet, frame in frames:
            if cells[0].sheet != frame.sheet:
                continue
            if frame.axis == "row" and len({c.row for c in cells}) == 1 and cells[0].row != frame.index:
                picked = tuple(CellRef(sheet.title, cells[0].row, p) for p in frame.positions)
            elif frame.axis == "col" and len({c.col for c in cells}) == 1 and cells[0].col != frame.index:
                picked = tuple(CellRef(sheet.title, p, cells[0].col) for p in frame.positions)
            else:
                continue
            if set(picked) <= set(cells) or set(cells) <= set(picked):
                return Line(name, picked, picked[0].row if frame.axis == "row" else picked[0].col, False, frame)
        return None
