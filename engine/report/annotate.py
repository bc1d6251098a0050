"""Annotations: a comment and a highlight on every changed cell, DSCR below covenant marked red."""

from __future__ import annotations

from collections import defaultdict

from lxml import etree

from engine.xlsx.comments import add_notes
from engine.xlsx.package import Package, m
from engine.patch.rewire import PatchResult
from engine.xlsx.workbook import styles_part
from engine.refs import CellRef, format_range
from engine.xlsx.sheet import insert_in_order, sheet_of
from engine.xlsx.styles import StyleBook, StyleSpec

AUTHOR = "gpucredit"
CHANGED_FILL = "FFFCE4D6"


def annotate(package: Package, patch: PatchResult, *, comment_lines: list[str],
             dscr: tuple[CellRef, ...] | None, covenant: str | None) -> None:
    """Comment and highlight each changed rent cell; conditional format on the DSCR cells."""
    book = StyleBook(package.xml(styles_part(package)))
    by_sheet: dict[str, list[tuple[CellRef, str]]] = defaultdict(list)
    for change in patch.changes:
        old = change.old_formula if change.old_formula is not None else f"value {change.old_value!r}"
        text = "\n".join([f"gpucredit: rent now follows {change.new_formula[1:]}.", f"Original: {old}",
                          *comment_lines])
        by_sheet[change.cell.sheet].append((change.cell, text))
    dxf = book.add_dxf(font_color="FF9C0006", fill="FFFFC7CE") if dscr and covenant else None
    for sheet_name, notes in by_sheet.items():
        part = package.sheet_part(sheet_name)
        sheet = sheet_of(package, part)
        for cell, _text in notes:
            base = sheet.style_of(cell.row, cell.col)
            sheet.set_style(cell.row, cell.col, book.add(StyleSpec(fill=CHANGED_FILL), base_xf=base))
        add_notes(package, part, sheet, notes, author=AUTHOR)
        package.write_xml(part, sheet.root)
    if dscr and covenant and dxf is not None:
        _mark_dscr(package, dscr, covenant, dxf)
    package.write_xml(styles_part(package), book.root)


def _mark_dscr(package: Package, dscr: tuple[CellRef, ...], covenant: str, dxf: int) -> None:
    part = package.sheet_part(dscr[0].sheet)
    root = package.xml(part)
    priority = 1 + max((int(r.get("priority", "0")) for r in root.iter(m("cfRule"))), default=0)
    cf = etree.Element(m("conditionalFormatting"))
    cf.set("sqref", format_range(dscr).split("!")[-1])
    rule = etree.SubElement(cf, m("cfRule"))
    for key, value in (("type", "cellIs"), ("dxfId", str(dxf)), ("priority", str(priority)),
                       ("operator", "lessThan")):
        rule.set(key, value)
    etree.SubElement(rule, m("formula")).text = covenant
    insert_in_order(root, cf)
    package.write_xml(part, root)
