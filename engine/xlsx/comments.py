"""Cell notes (legacy comments): the comments part and its VML shapes, merged with a sheet's existing notes."""

from __future__ import annotations

import re

from lxml import etree

from engine.refs import CellRef
from engine.xlsx.package import CT_COMMENTS, CT_VML, NS_MAIN, NS_R, REL_COMMENTS, REL_VML, Package, m
from engine.xlsx.sheet import SheetXml, insert_in_order

NS_V, NS_O, NS_X = ("urn:schemas-microsoft-com:vml", "urn:schemas-microsoft-com:office:office",
                    "urn:schemas-microsoft-com:office:excel")


def add_notes(package: Package, part: str, sheet: SheetXml, notes: list[tuple[CellRef, str]], *, author: str) -> None:
    """Add a note (legacy comment) per cell to the sheet ``part``; a cell that already has one gets ours first,
    as a run in the same comment. The caller writes the sheet part (it may gain a ``<legacyDrawing>``)."""
    comments_part = package.related_part(part, REL_COMMENTS)
    if comments_part is None:
        comments_part = package.new_part_name("xl/comments{}.xml")
        root = etree.Element(m("comments"), nsmap={None: NS_MAIN})  # type: ignore[dict-item]
        package.add_relationship(part, REL_COMMENTS, comments_part)
        package.set_content_type(comments_part, CT_COMMENTS)
    else:
        root = package.xml(comments_part)
    authors = _child(root, "authors", first=True)  # a comments part may lack either list
    names = [a.text for a in authors]
    if author not in names:
        etree.SubElement(authors, m("author")).text = author
        names.append(author)
    clist = _child(root, "commentList")
    taken = {c.get("ref") for c in clist}
    for cell, text in notes:
        if cell.a1 in taken:  # keep the lender's note; ours goes first in the same comment
            existing = _child(next(c for c in clist if c.get("ref") == cell.a1), "text")
            bare = existing.find(m("t"))
            if bare is not None:  # a plain-text note: make it a run, since runs cannot follow a bare <t>
                existing.remove(bare)
                run = etree.Element(m("r"))
                run.append(bare)
                existing.insert(0, run)
            existing.insert(0, _run(text + "\n"))
            continue
        comment = etree.SubElement(clist, m("comment"))
        comment.set("ref", cell.a1)
        comment.set("authorId", str(names.index(author)))
        etree.SubElement(comment, m("text")).append(_run(text))
    package.write_xml(comments_part, root)
    _add_vml_shapes(package, part, sheet, [cell for cell, _ in notes if cell.a1 not in taken])


def _child(parent: etree._Element, tag: str, *, first: bool = False) -> etree._Element:
    """``parent``'s ``tag`` child, added (first or last) when the part has none."""
    found = parent.find(m(tag))
    if found is None:
        found = etree.Element(m(tag))
        parent.insert(0, found) if first else parent.append(found)
    return found


def _run(text: str) -> etree._Element:
    run = etree.Element(m("r"))
    t = etree.SubElement(run, m("t"))
    t.text = text
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    return run


def _add_vml_shapes(package: Package, part: str, sheet: SheetXml, cells: list[CellRef]) -> None:
    vml_part = package.related_part(part, REL_VML)
    if vml_part is None:
        vml_part = package.new_part_name("xl/drawings/vmlDrawing{}.vml")
        root = etree.fromstring(_VML_HEAD.encode())
        rel_id = package.add_relationship(part, REL_VML, vml_part)
        package.ensure_default_content_type("vml", CT_VML)
        legacy = etree.Element(m("legacyDrawing"))
        legacy.set(f"{{{NS_R}}}id", rel_id)
        insert_in_order(sheet.root, legacy)
    else:
        root = package.xml(vml_part)
    ids = [int(n) for n in re.findall(r"_x0000_s(\d+)", etree.tostring(root).decode())]
    next_id = max([1024, *ids]) + 1
    for cell in cells:
        shape = etree.fromstring(_VML_SHAPE.format(
            id=next_id, col=cell.col - 1, row=cell.row - 1, c1=cell.col, r1=max(cell.row - 2, 0),
            c2=cell.col + 2, r2=cell.row + 3).encode())
        root.append(shape)
        next_id += 1
    package.write(vml_part, etree.tostring(root))


_VML_HEAD = (
    f'<xml xmlns:v="{NS_V}" xmlns:o="{NS_O}" xmlns:x="{NS_X}">'
    '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="1"/></o:shapelayout>'
    '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
    '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype></xml>'
)
_VML_SHAPE = (
    f'<v:shape xmlns:v="{NS_V}" xmlns:o="{NS_O}" xmlns:x="{NS_X}" id="_x0000_s{{id}}" type="#_x0000_t202" '
    'style="position:absolute;margin-left:59.25pt;margin-top:1.5pt;width:240pt;height:80pt;z-index:1;'
    'visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
    '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
    '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"/></v:textbox>'
    '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
    '<x:Anchor>{c1}, 15, {r1}, 10, {c2}, 15, {r2}, 4</x:Anchor><x:AutoFill>False</x:AutoFill>'
    '<x:Row>{row}</x:Row><x:Column>{col}</x:Column></x:ClientData></v:shape>'
)
