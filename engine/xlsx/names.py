"""Defined names that stand for one area of cells, workbook-wide or local to a sheet."""

from __future__ import annotations

from engine.xlsx.package import Package, m
from engine.refs import Area, parse_area


class Names:
    """The workbook's defined names that stand for one area, workbook-wide or local to a sheet."""

    def __init__(self, package: Package) -> None:
        sheets = [entry.name for entry in package.sheets()]
        self._areas: dict[tuple[str | None, str], Area] = {}
        defined = package.xml(package.workbook_part()).find(m("definedNames"))
        for el in defined if defined is not None else []:
            area = parse_area(el.text or "")
            if el.tag != m("definedName") or area is None or area.sheet not in sheets:
                continue
            local = el.get("localSheetId")
            scope = sheets[int(local)] if local is not None and local.isdigit() and int(local) < len(sheets) else None
            self._areas[(scope, el.get("name", "").upper())] = area
        self._multi_cell = frozenset(name for (_scope, name), area in self._areas.items() if not area.single_cell)

    def areas(self) -> dict[str, list[Area]]:
        """Every name's areas (a name local to several sheets has several), by upper-case name."""
        out: dict[str, list[Area]] = {}
        for (_scope, name), area in self._areas.items():
            out.setdefault(name, []).append(area)
        return out

    def multi_cell(self) -> frozenset[str]:
        """Upper-case names of the areas larger than one cell (the only ones intersection changes)."""
        return self._multi_cell

    def area(self, text: str, sheet: str) -> Area | None:
        """The area a name in a formula on ``sheet`` stands for (``Sheet!name`` looks there first)."""
        scope, _, name = text.rpartition("!")
        scope = scope[1:-1].replace("''", "'") if scope.startswith("'") else scope
        key = name.upper()
        return self._areas.get((scope or sheet, key)) or self._areas.get((None, key))
