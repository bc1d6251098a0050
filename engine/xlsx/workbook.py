"""Workbook-level edits: appending a worksheet, finding the styles part."""

from __future__ import annotations

from lxml import etree

from engine.errors import TemplateError
from engine.xlsx.package import CT_WORKSHEET, NS_R, REL_STYLES, REL_WORKSHEET, Package, m, register_sheet_title


def styles_part(package: Package) -> str:
    part = package.related_part(package.workbook_part(), REL_STYLES)
    if part is None or not package.has(part):
        raise TemplateError("the workbook has no styles part; re-save it in Excel")
    return part


def add_sheet(package: Package, root: etree._Element, name: str) -> str:
    """Append a new worksheet part named ``name``; returns the part name."""
    part = package.new_part_name("xl/worksheets/sheet{}.xml")
    package.write_xml(part, root)
    package.set_content_type(part, CT_WORKSHEET)
    wb_part = package.workbook_part()
    rel_id = package.add_relationship(wb_part, REL_WORKSHEET, part)
    wb = package.xml(wb_part)
    sheets_el = wb.find(m("sheets"))
    if sheets_el is None:
        raise TemplateError("the workbook lists no sheets (workbook.xml has no <sheets>); re-save it in Excel")
    next_id = 1 + max((int(el.get("sheetId", "0")) for el in sheets_el), default=0)
    el = etree.SubElement(sheets_el, m("sheet"))
    el.set("name", name)
    el.set("sheetId", str(next_id))
    el.set(f"{{{NS_R}}}id", rel_id)
    package.write_xml(wb_part, wb)
    register_sheet_title(package, name)
    return part
