"""Patching: add the GPU_Curve sheet and rewire the changed rent cells to it; nothing else in the template changes (docs/preservation.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.patch.curve_sheet import SHEET_NAME, CurveSheetLayout, build_curve_sheet
from engine.errors import TemplateError
from engine.xlsx.package import Package
from engine.xlsx.workbook import add_sheet, styles_part
from engine.template.profile import TemplateProfile
from engine.refs import CellRef
from engine.xlsx.new_sheet import NewSheet
from engine.xlsx.sheet import SheetXml, array_covering, array_ranges, expand_shared_formula, sheet_of, split_array_formula
from engine.xlsx.styles import StyleBook, StyleSpec
from engine.values import CellValue
from models.curves import Contract, CurveParams, RentMode
from models.periods import PeriodGrid

ALREADY_CONVERTED = "already converted by gpucredit; edit its GPU_Curve inputs, or convert the original"
INPUT_BLUE = "FF0000FF"
INPUT_FILL = "FFFFF2CC"


@dataclass(frozen=True)
class RentChange:
    """One template rent cell rewired to GPU_Curve."""

    cell: CellRef
    period: int
    new_formula: str
    old_formula: str | None
    old_value: CellValue


@dataclass(frozen=True)
class PatchResult:
    """What the patch did to the package: the rewired cells, the GPU_Curve sheet (its cells, to mirror
    into a loaded engine) and whether a rent cell sat inside an array formula that had to be split."""

    changes: tuple[RentChange, ...]
    layout: CurveSheetLayout
    curve_part: str
    styles: dict[str, int]
    curve_sheet: NewSheet
    split_arrays: bool = False


def curve_styles(book: StyleBook) -> dict[str, int]:
    """The handful of styles GPU_Curve uses, appended to the workbook's styles."""
    return {
        "title": book.add(StyleSpec(bold=True)),
        "header": book.add(StyleSpec(bold=True, fill="FFD9E1F2")),
        "label": book.add(StyleSpec()),
        "note": book.add(StyleSpec(italic=True, font_color="FF595959")),
        "input": book.add(StyleSpec(number_format="0.0000", font_color=INPUT_BLUE, fill=INPUT_FILL)),
        "input_date": book.add(StyleSpec(number_format="yyyy-mm-dd", font_color=INPUT_BLUE, fill=INPUT_FILL)),
        "date": book.add(StyleSpec(number_format="yyyy-mm-dd")),
        "num": book.add(StyleSpec(number_format="0.0000")),
        "num2": book.add(StyleSpec(number_format="#,##0.00")),
        "num2_bold": book.add(StyleSpec(number_format="#,##0.00", bold=True)),
        "ratio": book.add(StyleSpec(number_format='0.00"x"')),
        "pct": book.add(StyleSpec(number_format="0.0%")),
        "headline": book.add(StyleSpec(bold=True, font_color="FF9C0006")),
    }


def apply_patch(
    package: Package,
    *,
    profile: TemplateProfile,
    grid: PeriodGrid,
    params: CurveParams,
    rent_before: np.ndarray,
    changed: np.ndarray,
    mode: RentMode,
    preset: str,
    old_values: list[CellValue],
    date1904: bool = False,
    defer_curve_sheet: bool = False,
    anchor: int | None = None,
    contract: Contract | None = None,
) -> PatchResult:
    """Add GPU_Curve and point every changed rent cell at its period's value there.

    With ``defer_curve_sheet`` the GPU_Curve part holds an empty worksheet until the caller writes
    ``result.curve_sheet.to_root(values)`` into ``result.curve_part`` (a model session does, once
    the values are known)."""
    sheets = package.sheets()
    if any(entry.name.lower() == SHEET_NAME.lower() for entry in sheets):
        raise TemplateError(ALREADY_CONVERTED, sheet=SHEET_NAME)
    style_name = styles_part(package)
    book = StyleBook(package.xml(style_name))
    styles = curve_styles(book)
    new_sheet, layout = build_curve_sheet(params, grid, rent_before, profile.rent, changed, mode, preset, styles,
                                          date1904=date1904, anchor=anchor, contract=contract)
    package.write_xml(style_name, book.root)
    curve_part = add_sheet(package, NewSheet().to_root() if defer_curve_sheet else new_sheet.to_root(), SHEET_NAME)
    changes, split = _rewire(package, profile.rent, layout, changed, old_values)
    return PatchResult(changes=changes, layout=layout, curve_part=curve_part, styles=styles, curve_sheet=new_sheet,
                       split_arrays=split)


def _rewire(
    package: Package, rent: tuple[CellRef, ...], layout: CurveSheetLayout, changed: np.ndarray,
    old_values: list[CellValue],
) -> tuple[tuple[RentChange, ...], bool]:
    changes: list[RentChange] = []
    split = False
    by_sheet: dict[str, list[int]] = {}
    for p, cell in enumerate(rent):
        if changed[p]:
            by_sheet.setdefault(cell.sheet, []).append(p)
    for sheet_name, periods in by_sheet.items():
        part = package.sheet_part(sheet_name)
        sheet = sheet_of(package, part)
        arrays = array_ranges(sheet)
        covering = {p: array_covering(arrays, rent[p].row, rent[p].col) for p in periods}
        for p in periods:  # first, so that a member of a shared formula shows its own text below
            expand_shared_formula(sheet, rent[p].row, rent[p].col)
        olds = {p: "{=" + (found[0].text or "") + "}" if (found := covering[p]) is not None
                else _old_formula(sheet, rent[p]) for p in periods}
        for f_el, bounds in {id(found[0]): found for found in covering.values() if found is not None}.values():
            split_array_formula(sheet, f_el.text or "", bounds)
            split = True
        for p in periods:
            cell = rent[p]
            new = "=" + layout.rent_after[p].formula_ref()
            sheet.set_formula(cell.row, cell.col, new, style=sheet.style_of(cell.row, cell.col))
            changes.append(RentChange(cell=cell, period=p, new_formula=new, old_formula=olds[p],
                                      old_value=old_values[p]))
        package.write_xml(part, sheet.root)
    return tuple(changes), split


def _old_formula(sheet: SheetXml, cell: CellRef) -> str | None:
    old = sheet.formula(cell.row, cell.col)
    return None if old is None else "=" + old
