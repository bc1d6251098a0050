"""External links: the workbooks a file links to, and the formulas that read them.

gpucredit never opens, fetches or resolves a linked file. A formula that reads one (``'[1]Sheet1'!A1``)
computes from the values Excel stored for the link in the workbook (``xl/externalLinks/``), as Excel
does when one answers "Don't update"; the conversion says so. A formula at a link the workbook does
not list, or at a link Excel stored no values for, is refused (:class:`engine.errors.ExternalLinkError`),
naming the cell. A defined name at another workbook that no formula uses does nothing.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from engine.errors import ExternalLinkError
from engine.refs import quote_sheet
from engine.xlsx.package import Package, m

REL_EXTERNAL_LINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink"
# "[1]Sheet1!A1", "'[2]My sheet'!B2", "[1]!Name": a workbook index in brackets that starts a reference;
# not a table's "Table1[1]" (a name before it) nor "[[#This Row],[1]]" (a bracket or comma after it).
EXTERNAL_REF = re.compile(r"(?<![\w\].])\[\d+\](?![\],\]])")
STRING_LITERAL = re.compile(r'"(?:[^"]|"")*"')
Links = dict[int, tuple[str, str]]  # index as formulas write it: (linked file name, link part)


@dataclass(frozen=True)
class ExternalLinks:
    """The workbooks a file links to (``{index as formulas write it: file name}``) and the formula cells
    that read one (sheet, cell, index). gpucredit never opens a linked file: formulas read the values
    Excel stored for the link in the workbook (as Excel does when one answers "Don't update")."""

    books: dict[int, str] = field(default_factory=dict)
    readers: tuple[tuple[str, str, int], ...] = ()

    def to_json(self) -> list[dict[str, object]]:
        out = []
        for index, book in sorted(self.books.items()):
            cells = [f"{quote_sheet(s)}!{c}" for s, c, k in self.readers if k == index]
            if cells:
                out.append({"index": index, "workbook": book, "formulas": len(cells), "cells": cells[:10]})
        return out

    def note(self) -> str | None:
        """One line for the output, when formulas read linked workbooks."""
        used = []
        for index, book in sorted(self.books.items()):
            cells = [f"{quote_sheet(s)}!{c}" for s, c, k in self.readers if k == index]
            if cells:
                used.append(f"[{index}] {book}: {len(cells)} formula(s), e.g. {cells[0]}")
        if not used:
            return None
        listed = "; ".join(used)
        return (f"formulas read linked workbooks ({listed}); gpucredit used the values Excel stored for the links "
                "and never opened the linked files")


def external_links(package: Package, workbook_part: str) -> Links:
    """The workbook's external links, ``{index as written in formulas: (linked file name, link part)}``.

    Formulas say ``[1]`` for the first ``<externalReference>``; the file name is for messages only and
    is never opened.
    """
    if not any(rtype == REL_EXTERNAL_LINK for _r, rtype, _t, _m in package.relationships(workbook_part)):
        return {}
    links: Links = {}
    for index, (_rid, rtype, target, _mode) in enumerate(
            (rel for rel in package.relationships(workbook_part) if rel[1] == REL_EXTERNAL_LINK), start=1):
        linked = "another workbook"
        if package.has(target):
            for _r, _t, link_target, _m in package.relationships(target):
                linked = unquote(posixpath.basename(link_target.replace("\\", "/")))[:80] or linked
        links[index] = (linked, target)
    return links


def external_index(formula: str, links: Links, path: Path, *, sheet: str | None,
                    cell: str | None) -> int | None:
    """The link a formula reads (``[1]Sheet1!A1``), or None; a link the workbook does not list is refused."""
    found = EXTERNAL_REF.search(STRING_LITERAL.sub('""', formula))
    if found is None:
        return None
    index = int(found.group()[1:-1]) if len(found.group()) < 12 else 0
    if index not in links:
        raise ExternalLinkError(
            f"the formula refers to another workbook ({found.group()}), which this workbook does not list among its "
            "links, so Excel stored no values for it; in Excel use Data > Edit Links > Break Link (or paste the "
            "values) and convert again", path=path, sheet=sheet, cell=cell)
    return index


def check_external_names(workbook_root: etree._Element, links: Links, path: Path) -> None:
    """A defined name pointing at a linked workbook needs no check here: unused, it does nothing; used, the
    formula that reads it is computed from the values Excel stored. A name at an unlisted link is refused."""
    names = workbook_root.find(m("definedNames"))
    for defined in names if names is not None else []:
        if defined.tag == m("definedName") and "[" in (defined.text or ""):
            external_index(defined.text or "", links, path, sheet=None,
                            cell=f"name {defined.get('name', '?')[:40]}")


def require_stored_values(package: Package, links: Links,
                           readers: list[tuple[str, str, int]], path: Path) -> None:
    """Formulas that read a link need the values Excel stored for it (Excel's "save external link values")."""
    for sheet, cell, index in readers:
        book, part = links[index]
        if not package.has(part) or b"sheetDataSet" not in package.read(part):
            raise ExternalLinkError(
                f"the formula reads the linked workbook [{index}] = {book}, and Excel stored no values for it (Save "
                "external link values was off); gpucredit never opens linked files — in Excel update the link and "
                "save, or use Data > Edit Links > Break Link, and convert again", path=path, sheet=sheet, cell=cell)
