"""The formulas a workbook stores, cell by cell, as Excel shows them (for ``FORMULATEXT``).

Read from the package as it was before the engine's copy was rewritten; a member of a shared
formula gets its master's text moved to its own cell, as Excel shows it.
"""

from __future__ import annotations

from engine.refs import parse_cell, split_sheet
from engine.xlsx.package import Package, formula_of, m
from engine.xlsx.shared import translate_shared
from engine.xlsx.sheet import sheet_of


class FormulaTexts:
    """Lazily parsed snapshot of every sheet's formulas."""

    def __init__(self, package: Package) -> None:
        self._package = package
        self._parts = {entry.name: entry.part for entry in package.sheets() if package.has(entry.part)}

    def key(self, ref: str, sheet: str) -> tuple[str, int, int] | None:
        """The cell a reference written on ``sheet`` names (a range: its first cell), or None."""
        return key_of(ref, sheet)

    def formula_at(self, ref: str, sheet: str) -> str | None:
        """The stored formula (without ``=``) of the cell ``ref`` names (a range: its first cell) as
        written on ``sheet``; ``""`` when that cell holds no formula; ``None`` when it cannot tell
        (not a plain reference, an unknown sheet, an array formula)."""
        found = key_of(ref, sheet)
        if found is None or found[0] not in self._parts:
            return None
        name, row, col = found
        xml = sheet_of(self._package, self._parts[name])  # the file's own tree: the engine's copy edits copies
        c_el = xml.cell(row, col)
        if c_el is None or c_el.find(m("f")) is None:
            return ""
        f_el = formula_of(c_el)
        if f_el.get("t") in ("array", "dataTable"):
            return None
        if f_el.get("t") == "shared" and not f_el.text:
            return translate_shared(xml, f_el.get("si", ""), row, col)
        return f_el.text or ""


def key_of(ref: str, sheet: str) -> tuple[str, int, int] | None:
    """``(sheet, row, column)`` of the cell a reference written on ``sheet`` names (a range: its first
    cell); None for anything but a plain reference."""
    try:
        where, address = split_sheet(ref)
        row, col = parse_cell(address.split(":")[0].replace("$", ""))
    except ValueError:
        return None
    return (where or sheet, row, col)


Quotes = dict[tuple[str, int, int], tuple[str, dict[str, tuple[tuple[str, int, int], str | None]]]]


def requoted(quotes: Quotes, formulas: dict[tuple[str, int, int], str]) -> dict[tuple[str, int, int], str]:
    """The engine formula (``=…``) of every FORMULATEXT reader that quotes a cell of ``formulas`` (cells
    just given a new formula): the literal it holds now shows the new text. ``quotes`` is
    :attr:`engine.formula.prepare.EngineCopy.quotes`."""
    from engine.formula.rewrites import excel_comparisons, formula_text_literals, offset_extents

    out = {}
    for reader, (stored, read) in quotes.items():
        if not any(key in formulas for key, _old in read.values()):
            continue

        def text_at(ref: str, read: dict[str, tuple[tuple[str, int, int], str | None]] = read) -> str | None:
            key, old = read.get(ref, (None, None))
            new = formulas.get(key) if key is not None else None
            return new.lstrip("=") if new is not None else old

        out[reader] = "=" + excel_comparisons(offset_extents(formula_text_literals(stored, text_at)))
    return out
