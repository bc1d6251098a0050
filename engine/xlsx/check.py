"""Package integrity check (``gpucredit check FILE``): the structural rules Excel enforces on open.

Checks: every XML part is well-formed; every internal relationship target exists; every part
has a content type (an Override or a Default for its extension); worksheet ids and names are
unique and names are valid; defined names are valid and their local sheet ids exist.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from engine.xlsx.package import NS_CT, Package, m
from engine.xlsx.load import load

_BAD_SHEET_CHARS = re.compile(r"[\\/?*\[\]:]")
_NAME = re.compile(r"^[A-Za-z_\\][A-Za-z0-9_.\\?]*$")
_XML_SUFFIXES = (".xml", ".rels", ".vml")


@dataclass(frozen=True)
class Problem:
    """One integrity problem: which part, and what is wrong."""

    part: str
    message: str

    def __str__(self) -> str:
        return f"{self.part}: {self.message}"


def check_file(path: str | Path) -> list[Problem]:
    """Load ``path`` safely and check its package; an empty list means it is sound."""
    return check_package(load(path).package)


def check_package(package: Package) -> list[Problem]:
    problems: list[Problem] = []
    parsed: dict[str, etree._Element] = {}
    for name in package.names():
        if name.lower().endswith(_XML_SUFFIXES) or name == "[Content_Types].xml":
            try:
                parsed[name] = package.xml(name)
            except (etree.XMLSyntaxError, ValueError) as exc:
                problems.append(Problem(name, f"not well-formed XML: {exc}"))
    problems += _content_types(package, parsed.get("[Content_Types].xml"))
    problems += _relationships(package)
    problems += _workbook(package)
    return problems


def _content_types(package: Package, root: etree._Element | None) -> list[Problem]:
    if root is None:
        return [Problem("[Content_Types].xml", "missing or unreadable")]
    overrides = {el.get("PartName", "").lstrip("/") for el in root.iter(f"{{{NS_CT}}}Override")}
    defaults = {(el.get("Extension") or "").lower() for el in root.iter(f"{{{NS_CT}}}Default")}
    out = []
    for name in package.names():
        if name == "[Content_Types].xml" or name in overrides:
            continue
        extension = name.rsplit("/", 1)[-1].rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension not in defaults:
            out.append(Problem(name, "part has no content type"))
    for name in sorted(overrides - set(package.names())):
        out.append(Problem("[Content_Types].xml", f"content type for a missing part /{name}"))
    return out


def _relationships(package: Package) -> list[Problem]:
    out = []
    for name in package.names():
        if not name.endswith(".rels"):
            continue
        folder, base = posixpath.split(name)
        source = posixpath.join(posixpath.dirname(folder), base[: -len(".rels")])
        if source and not package.has(source):
            out.append(Problem(name, f"relationships of a missing part {source}"))
        try:
            rels = package.relationships(source)
        except (etree.XMLSyntaxError, ValueError):
            continue  # already reported as malformed
        ids = [rid for rid, *_ in rels]
        if len(ids) != len(set(ids)):
            out.append(Problem(name, "duplicate relationship ids"))
        for rid, _rtype, target, mode in rels:
            if mode != "External" and not package.has(target):
                out.append(Problem(name, f"{rid} points at missing part {target}"))
    return out


def _workbook(package: Package) -> list[Problem]:
    try:
        wb_part = package.workbook_part()
        root = package.xml(wb_part)
    except (KeyError, etree.XMLSyntaxError, ValueError) as exc:
        return [Problem("workbook", f"cannot read the workbook part: {exc}")]
    out = []
    sheets = root.find(m("sheets"))
    entries = list(sheets) if sheets is not None else []
    if not entries:
        out.append(Problem(wb_part, "the workbook has no sheets"))
    ids = [el.get("sheetId") for el in entries]
    names = [(el.get("name") or "") for el in entries]
    if len(ids) != len(set(ids)):
        out.append(Problem(wb_part, "duplicate sheetId"))
    if len({n.lower() for n in names}) != len(names):
        out.append(Problem(wb_part, "duplicate sheet names (Excel ignores case)"))
    for name in names:
        if not 1 <= len(name) <= 31 or _BAD_SHEET_CHARS.search(name) or name.startswith("'") or name.endswith("'"):
            out.append(Problem(wb_part, f"invalid sheet name {name!r}"))
    defined = root.find(m("definedNames"))
    seen = set()
    for el in defined if defined is not None else []:
        name = el.get("name") or ""
        local = el.get("localSheetId")
        key = (name.lower(), local)
        if not _NAME.match(name) or re.fullmatch(r"[A-Za-z]{1,3}\d+", name):
            out.append(Problem(wb_part, f"invalid defined name {name!r}"))
        if key in seen:
            out.append(Problem(wb_part, f"defined name {name!r} appears twice in the same scope"))
        seen.add(key)
        if local is not None and not (local.isdigit() and int(local) < len(entries)):
            out.append(Problem(wb_part, f"defined name {name!r} refers to sheet index {local}, which does not exist"))
        if not (el.text or "").strip():
            out.append(Problem(wb_part, f"defined name {name!r} is empty"))
    return out
