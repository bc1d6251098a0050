"""Debt the model sizes itself: the loan before and after re-pricing the rent, or held (issue 18 §2).

When the rent reaches the debt amount (debt sculpted or sized on CFADS), the converted model lends a
different amount: "debt sized by the model: 30.75 → 3.39". With ``--hold-debt`` the engine holds the
amount at the model's original sizing — in the engine and in the written workbook, where the cell
becomes that value with a comment keeping its formula — so DSCR after describes the loan the lender
made. Without it, the output shows the re-sized loan, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.formula.evaluate import Evaluation
from engine.refs import CellRef
from engine.xlsx.comments import add_notes
from engine.xlsx.package import Package, m
from engine.xlsx.shared import translate_shared
from engine.xlsx.sheet import SheetXml, sheet_of

AUTHOR = "gpucredit"


@dataclass(frozen=True)
class DebtSizing:
    """The debt amount cells, their values before and after re-pricing, and whether they were held."""

    cells: tuple[CellRef, ...]
    before: tuple[float | None, ...]
    after: tuple[float | None, ...]
    held: bool

    @property
    def resized(self) -> bool:
        """The re-priced rent changes the amount the model lends."""
        return any(a != b for a, b in zip(self.before, self.after, strict=True))

    def note(self) -> str | None:
        """The line the output prints; None when the model does not size its debt from the rent."""
        if not self.resized:
            return None
        where = ", ".join(str(c) for c in self.cells)
        moves = ", ".join(f"{_show(b)} → {_show(a)}" for b, a in zip(self.before, self.after, strict=True))
        if self.held:
            return (f"debt sized by the model ({where}): held at {', '.join(_show(b) for b in self.before)} "
                    f"(--hold-debt; the model would re-size it: {moves}); DSCR after is for the loan made")
        return (f"debt sized by the model ({where}): {moves}; DSCR after is for the re-sized loan — "
                "pass --hold-debt to keep the original sizing")

    def to_json(self) -> dict[str, Any]:
        return {"cells": [str(c) for c in self.cells], "before": list(self.before), "after": list(self.after),
                "resized": self.resized, "held": self.held}


def _show(value: float | None) -> str:
    return "–" if value is None else f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _number(ev: Evaluation, cell: CellRef) -> float | None:
    value = ev.get(cell.sheet, cell.row, cell.col)
    return value if isinstance(value, float) else None


def read_amounts(ev: Evaluation, cells: tuple[CellRef, ...]) -> tuple[float | None, ...]:
    return tuple(_number(ev, c) for c in cells)


def size_after_patch(ev: Evaluation, cells: tuple[CellRef, ...], before: tuple[float | None, ...], *,
                     hold: bool) -> DebtSizing:
    """Read the re-sized amounts on the patched engine; with ``hold``, put the original ones back as values
    (the engine then re-computes the debt lines from them)."""
    after = read_amounts(ev, cells)
    sizing = DebtSizing(cells, before, after, hold)
    if hold and sizing.resized:
        ev.set_values({(c.sheet, c.row, c.col): b for c, b in zip(cells, before, strict=True) if b is not None})
        ev.recalculate()
    return sizing


def write_held(package: Package, sizing: DebtSizing) -> None:
    """Write the held amounts into the output workbook, each with a comment keeping its formula."""
    if not (sizing.held and sizing.resized):
        return
    by_sheet: dict[str, list[tuple[CellRef, float, float | None]]] = {}
    for cell, before, after in zip(sizing.cells, sizing.before, sizing.after, strict=True):
        if before is not None:
            by_sheet.setdefault(cell.sheet, []).append((cell, before, after))
    for sheet_name, items in by_sheet.items():
        part = package.sheet_part(sheet_name)
        sheet = sheet_of(package, part)
        notes = []
        for cell, value, after in items:
            original = _formula(sheet, cell)
            sheet.set_value(cell.row, cell.col, value, style=sheet.style_of(cell.row, cell.col))
            notes.append((cell, f"gpucredit --hold-debt: the debt amount is held at {_show(value)}, what the model "
                                f"sized before the rent was re-priced (it would now size {_show(after)}).\n"
                                f"Original: {original or 'a value'}"))
        add_notes(package, part, sheet, notes, author=AUTHOR)
        package.write_xml(part, sheet.root)


def _formula(sheet: SheetXml, cell: CellRef) -> str | None:
    """The cell's formula as the workbook stores it (a shared formula's member: its own text)."""
    c_el = sheet.cell(cell.row, cell.col)
    f_el = c_el.find(m("f")) if c_el is not None else None
    if f_el is None:
        return None
    text = f_el.text or (translate_shared(sheet, f_el.get("si", ""), cell.row, cell.col)
                         if f_el.get("t") == "shared" else None)
    return "=" + text if text else None
