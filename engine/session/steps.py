"""The steps of a model session that need none of its state: reading the rent row, resolving the profile,
the cells a conversion relies on, writing input edits into the package (:mod:`engine.session`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from engine.errors import ParameterError, ProfileError, RentRowError
from engine.formula.evaluate import Evaluation
from engine.refs import CellRef, parse_ref
from engine.template.profile import TemplateProfile, given_profile
from engine.values import CellValue, ExcelError
from engine.xlsx.load import Source
from engine.xlsx.package import Package
from engine.xlsx.sheet import sheet_of

Key = tuple[str, int, int]


def identical(a: CellValue, b: CellValue) -> bool:
    return type(a) is type(b) and a == b


def cell_ref(ref: str) -> CellRef:
    try:
        return parse_ref(ref)
    except ValueError as exc:
        raise ParameterError(f"{ref!r}: not a cell reference such as Inputs!C12 ({exc})") from exc


def apply_edits(package: Package, edits: dict[Key, CellValue]) -> None:
    """Write the session's input edits (template cells, GPU_Curve inputs) into the package's sheets."""

    by_sheet: dict[str, list[tuple[int, int, CellValue]]] = {}
    for (sheet_name, row, col), value in edits.items():
        by_sheet.setdefault(sheet_name, []).append((row, col, value))
    for sheet_name, cells in by_sheet.items():
        part = package.sheet_part(sheet_name)
        sheet = sheet_of(package, part)
        for row, col, value in cells:
            sheet.set_value(row, col, value, style=sheet.style_of(row, col))
        package.write_xml(part, sheet.root)


def used_cells(ev: Evaluation, profile: TemplateProfile) -> set[Key]:
    """The cells a conversion relies on: everything the rent reaches, the timeline, the metric lines."""
    rent = [(c.sheet, c.row, c.col) for c in profile.rent]
    used = ev.downstream(rent)
    for cells in (profile.timeline.cells, profile.timeline.years, *profile.metrics.values()):
        used.update((c.sheet, c.row, c.col) for c in cells)
    if isinstance(profile.covenant, CellRef):
        used.add((profile.covenant.sheet, profile.covenant.row, profile.covenant.col))
    return used


def resolve_profile(source: Source, profile: TemplateProfile | str | Path | None, ev: Evaluation, *,
                     start: dt.date | None = None) -> TemplateProfile:
    chosen = given_profile(source.path, profile)
    if chosen is None:
        from engine.template.detect.search import detect_profile

        chosen = detect_profile(source, ev, start=start)  # start: --set start dates an undated model
    names = {entry.name for entry in source.package.sheets()}
    for sheet in sorted(chosen.sheets()):
        if sheet not in names:
            raise ProfileError(f"the {chosen.origin} names sheet '{sheet}', which the workbook does not have "
                               f"(sheets: {', '.join(sorted(names))})", path=source.path)
    return chosen


def read_rent(ev: Evaluation, cells: tuple[CellRef, ...], path: Path) -> np.ndarray:
    values = []
    for cell in cells:
        value = ev.get(cell.sheet, cell.row, cell.col)
        if value is None:
            value = 0.0
        if isinstance(value, ExcelError):
            raise RentRowError(f"rent cell holds {value.code}; fix the template or pass --profile",
                               path=path, sheet=cell.sheet, cell=cell.a1)
        if isinstance(value, (bool, str)):
            raise RentRowError(f"rent cell holds {'text' if isinstance(value, str) else 'TRUE/FALSE'} "
                               f"{value!r}, not a number; fix the template or pass --profile",
                               path=path, sheet=cell.sheet, cell=cell.a1)
        values.append(float(value))
    rent = np.array(values)
    if not np.any(rent != 0):
        first = cells[0]
        raise RentRowError("rent is zero or empty in every period, so there is no rent to re-price",
                           path=path, sheet=first.sheet, cell=first.a1)
    return rent


def covenant_formula(profile: TemplateProfile) -> str | None:
    if isinstance(profile.covenant, CellRef):
        return profile.covenant.formula_ref()
    if profile.covenant is not None:
        return repr(float(profile.covenant))
    return None

