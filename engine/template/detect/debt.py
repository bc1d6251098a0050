"""The debt lines, the covenant and the debt amount, for detection (``engine/template/detect/search.py``).

- The lines (CFADS, debt service, DSCR, closing balance, interest, principal) are found by label
  (:data:`~engine.template.detect.vocab.METRICS`) on the rent's frame, then on frames with the
  same periods. The debt service is the line the DSCR divides by, when the DSCR's formulas say
  so: a "Max debt service" sizing line beside it is not the debt service.
- The covenant is an input (a constant, or a formula that does not read the DSCR line), never an
  output such as ``MIN(DSCR)`` written beside it.
- The debt amount: a labelled cell (``Debt amount``, ``Senior debt``, ``Loan amount`` …) the debt
  lines read. When the rent reaches it, the model sizes its own debt (sculpted or sized on CFADS)
  and a converted model describes a different loan (issue 18 §2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.formula.tree import Slot, parse_formula
from engine.refs import CellRef, format_range, parse_ref
from engine.template.detect.lines import Line, LineSearch, best_line
from engine.template.detect.scan import Sheet, WorkbookScan
from engine.template.detect.timelines import Run
from engine.template.detect.vocab import COVENANT, COVENANT_WEAK, METRICS, normalise

Notes = list[tuple[str, str, str, str, str]]  # (field, where, confidence, how, unit)
DEBT_AMOUNT = re.compile(r"\b(debt|loan|facility|senior debt|term loan)( amount| size| quantum| sized| capacity)\b|"
                         r"\b(senior|total|initial|maximum|max|sized|sculpted) (debt|loan|facility)( amount| size)?$|"
                         r"^(debt|loan|senior debt|facility)$|\bdebt limit\b|\bloan principal\b")
NOT_AMOUNT = re.compile(r"\b(service|repayment|repayments|interest|fee|fees|rate|margin|ratio|dscr|cover|balance c|"
                        r"drawn to date|tenor|term years|%|percent|share)\b")


@dataclass
class DebtLines:
    """The debt lines over one frame's periods, and how each was found (applied to the report once the
    rent's frame is known)."""

    cells: dict[str, tuple[CellRef, ...]] = field(default_factory=dict)
    notes: Notes = field(default_factory=list)


def divisor_cells(sheet: Sheet, dscr: tuple[CellRef, ...]) -> tuple[tuple[CellRef, ...], tuple[CellRef, ...]] | None:
    """``(numerators, divisors)``: the cells each DSCR formula divides (``=IF(J19>0,J39/J43,0)`` gives
    J39 and J43); ``None`` unless every DSCR cell with a formula has one such division."""
    numerators, divisors = [], []
    for cell in dscr:
        formula = sheet.formulas.get((cell.row, cell.col))
        if not formula:
            return None
        found = _division(formula.lstrip("="), cell.sheet)
        if found is None:
            return None
        numerators.append(found[0])
        divisors.append(found[1])
    return (tuple(numerators), tuple(divisors)) if divisors else None


def _division(formula: str, sheet: str) -> tuple[CellRef, CellRef] | None:
    """The single-cell operands of the one ``a / b`` in ``formula`` (at any depth)."""
    tree = parse_formula(formula)
    if tree is None:
        return None
    found: list[tuple[CellRef, CellRef]] = []

    def walk(slot: Slot) -> None:
        text = slot.text(formula)
        items = [item for item in slot.items if item.kind == "ref"]
        if "/" in text and len(items) == 2 and not slot.comparisons:
            a, b = (_cell(str(item.token.value), sheet) for item in items)
            between = formula[items[0].end:items[1].start]
            if a is not None and b is not None and between.strip() == "/":
                found.append((a, b))
        for item in slot.items:
            for inner in item.slots:
                walk(inner)

    walk(tree)
    return found[0] if len(found) == 1 else None


def _cell(text: str, sheet: str) -> CellRef | None:
    try:
        ref = parse_ref(text.replace("$", "") if "!" in text else f"'{sheet}'!{text.replace('$', '')}")
    except ValueError:
        return None
    return ref


class DebtSearch:
    """The debt lines of a frame, the covenant and the debt amount."""

    def __init__(self, scan: WorkbookScan, search: LineSearch, lines: dict[int, list[Line]]) -> None:
        self.scan, self.search, self.lines = scan, search, lines

    def lines_for(self, frames: list[tuple[Sheet, Run]], frame: Run) -> DebtLines:
        """Debt lines on ``frame`` first, then on frames with the same periods (another sheet)."""
        others = [f for _, f in frames if f is not frame and f.values == frame.values and f.kind == frame.kind]
        same = [frame] + sorted(others, key=lambda f: -self.search.debt_lines(f))  # the debt sheet first
        found = DebtLines()
        picked: dict[str, Line] = {}
        for key, (patterns, exclude) in METRICS.items():
            named = self.search.named_line(key, [(self.scan.sheets[f.sheet], f) for f in same])
            if named is not None:
                found.cells[key] = named.cells
                picked[key] = named
                found.notes.append((key, format_range(named.cells), "high", f"defined name {self.scan.names[key][0]}",
                                    ""))
                continue
            for candidate_frame in same:
                hit = best_line(self.lines[id(candidate_frame)], patterns, exclude)
                if hit is not None:
                    line, confidence = hit
                    found.cells[key] = line.cells
                    picked[key] = line
                    found.notes.append((key, format_range(line.cells), confidence, f"label '{line.label}'", line.unit))
                    break
        if "dscr" in found.cells:
            self._divided(found, picked["dscr"] if "dscr" in picked else None)
        elif {"cfads", "debt_service"} <= set(found.cells):
            found.notes.append(("dscr", "–", "medium", "not in the template; computed as CFADS / debt service", ""))
        else:
            found.notes.append(("dscr", "–", "low", "not found, and no CFADS and debt service to compute it from", ""))
        return found

    def _divided(self, found: DebtLines, dscr: Line | None) -> None:
        """The DSCR's own numerator and divisor replace the lines found by label."""
        cells = found.cells["dscr"]
        sheet = self.scan.sheets[cells[0].sheet]
        division = divisor_cells(sheet, cells)
        if division is None:
            return
        numerators, divisors = division
        for key, operand, what in (("debt_service", divisors, "the line the DSCR divides by"),
                                   ("cfads", numerators, "the line the DSCR divides")):
            if found.cells.get(key) == operand:
                continue
            if key == "cfads" and key in found.cells:
                continue  # a CFADS line found by its label is kept; the divisor is what matters
            found.cells[key] = operand
            found.notes = [n for n in found.notes if n[0] != key]
            line = self._line_of(operand)
            found.notes.append((key, format_range(operand), "high",
                                f"{what}{f' (label {line.label!r})' if line else ''}", line.unit if line else ""))

    def _line_of(self, cells: tuple[CellRef, ...]) -> Line | None:
        for frame_lines in self.lines.values():
            for line in frame_lines:
                if line.cells == cells:
                    return line
        return None

    def covenant(self, dscr: tuple[CellRef, ...] = ()) -> tuple[CellRef | None, Notes]:
        """The covenant: a labelled input between 0.5 and 5; a formula reading the DSCR line (``MIN(DSCR)``)
        is an output, not the covenant."""
        named = self.scan.names.get("covenant")
        if named is not None and len(named[1]) == 1:
            return named[1][0], [("covenant", str(named[1][0]), "high", f"defined name {named[0]}", "")]
        outputs = {(c.sheet, c.row, c.col) for c in dscr}
        found: list[tuple[int, CellRef, str]] = []
        for sheet, r, c, label in self.scan.labelled_cells(COVENANT):
            if "breach" in normalise(label):
                continue
            for rr, cc in [(r, c + k) for k in range(1, 5)] + [(r + 1, c)]:
                value = sheet.number(rr, cc)
                if value is None or not 0.5 <= value <= 5:
                    continue
                if self._reads_line(sheet, rr, cc, outputs):
                    continue  # MIN(DSCR), AVERAGE(DSCR): an output beside the label
                found.append((1 if COVENANT_WEAK.search(normalise(label)) else 0, CellRef(sheet.title, rr, cc), label))
                break
        if not found:
            return None, [("covenant", "–", "low", "no covenant found; breaches are not counted", "")]
        found.sort(key=lambda f: f[0])
        pref, cell, label = found[0]
        distinct = {f[1] for f in found if f[0] == pref}
        return cell, [("covenant", str(cell), "high" if len(distinct) == 1 else "medium", f"label '{label}'", "")]

    def _reads_line(self, sheet: Sheet, row: int, col: int, cells: set[tuple[str, int, int]], depth: int = 0) -> bool:
        """Whether the formula in ``(row, col)`` reads one of ``cells`` (directly, or through one formula)."""
        if (sheet.title, row, col) in cells:
            return True
        if (row, col) not in sheet.formulas or not cells:
            return False
        for s, r1, c1, r2, c2 in self.scan.ev.precedents(sheet.title, row, col):
            if any(x == s and r1 <= r <= r2 and c1 <= c <= c2 for x, r, c in cells):
                return True
            other = self.scan.sheets.get(s)
            if depth == 0 and (r1, c1) == (r2, c2) and other is not None and (r1, c1) in other.formulas \
                    and self._reads_line(other, r1, c1, cells, depth + 1):
                return True
        return False

    def debt_amount(self) -> list[tuple[CellRef, str]]:
        """Labelled single cells holding a debt amount (a positive number), with their labels."""
        found: list[tuple[CellRef, str]] = []
        for sheet, r, c, label in self.scan.labelled_cells(DEBT_AMOUNT):
            text = normalise(label)
            if NOT_AMOUNT.search(text):
                continue
            for cc in range(c + 1, c + 5):
                value = sheet.number(r, cc)
                if value is not None:
                    if value > 0:
                        found.append((CellRef(sheet.title, r, cc), label))
                    break
        return found
