"""The forms Excel always writes: attribute values and the package's structure, checked once at load.

``engine.xlsx.load`` calls :func:`attribute_problem` on every element it streams and
:func:`structure_problem` on the whole package, so later steps — and openpyxl, which detection
reads the workbook with — can trust what they parse. A problem is a phrase for the message
("a cell address r='R1C1'"); None means nothing is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from engine.xlsx.package import NS_CT, NS_PKG_REL, NS_R, REL_STYLES, Package, m

C, F, ROW, XF, SHEET, NUMFMT, CFRULE, COL = (m("c"), m("f"), m("row"), m("xf"), m("sheet"), m("numFmt"), m("cfRule"),
                                             m("col"))
CHECKED_TAGS = (C, F, ROW, XF, SHEET, NUMFMT, CFRULE, COL)
"""The elements :func:`attribute_problem` checks (streamed by ``load``)."""
_CELL_REF = re.compile(r"\$?[A-Z]{1,3}\$?[1-9][0-9]{0,6}")
_CELL_TYPES = frozenset(("n", "s", "str", "inlineStr", "b", "e", "d"))
_FORMULA_TYPES = frozenset(("normal", "array", "shared", "dataTable"))
_XF_IDS = ("numFmtId", "fontId", "fillId", "borderId", "xfId")
_MAX_ID = 2**31 - 1


def _whole(text: str | None, low: int, high: int) -> bool:
    """A whole number written in ASCII digits (as Excel writes them), ``low <= n <= high``."""
    return (text is not None and 0 < len(text) <= 12 and text.isascii() and text.isdigit()
            and low <= int(text) <= high)


def _grid_ref(text: str) -> bool:
    """``A1`` or ``A1:C9`` inside Excel's grid (XFD1048576)."""
    for part in text.split(":", 1):
        if not _CELL_REF.fullmatch(part):
            return False
        letters = part.replace("$", "").rstrip("0123456789")
        col = 0
        for ch in letters:
            col = col * 26 + ord(ch) - 64
        if col > 16_384 or int(part.replace("$", "")[len(letters):]) > 1_048_576:
            return False
    return True


WORKSHEET = m("worksheet")


def attribute_problem(el: etree._Element) -> str | None:
    """What is wrong with an attribute Excel always writes in one form (a cell address, a row number,
    a style index, a formula kind); None when nothing is. Checked once here, so later steps can
    trust the package."""
    get = el.get
    if el.tag == C:
        if get("r") is not None and not _grid_ref(get("r", "")) or ":" in get("r", ""):
            return f"cell address r={get('r', '')[:20]!r}"
        if get("s") is not None and not _whole(get("s"), 0, _MAX_ID):
            return f"style index s={get('s', '')[:20]!r}"
        if get("t") is not None and get("t") not in _CELL_TYPES:
            return f"cell type t={get('t', '')[:20]!r}"
    elif el.tag == ROW:
        if get("r") is not None and not _whole(get("r"), 1, 1_048_576):
            return f"row number r={get('r', '')[:20]!r}"
        if get("s") is not None and not _whole(get("s"), 0, _MAX_ID):
            return f"row style s={get('s', '')[:20]!r}"
    elif el.tag == F:
        if get("t") is not None and get("t") not in _FORMULA_TYPES:
            return f"formula type t={get('t', '')[:20]!r}"
        if get("si") is not None and not _whole(get("si"), 0, _MAX_ID):
            return f"shared formula index si={get('si', '')[:20]!r}"
        if get("ref") is not None and not _grid_ref(get("ref", "")):
            return f"formula range ref={get('ref', '')[:20]!r}"
        for key in ("r1", "r2"):
            if get(key) is not None and not _grid_ref(get(key, "")):
                return f"data table input {key}={get(key, '')[:20]!r}"
    elif el.tag == XF:
        for key in _XF_IDS:
            if get(key) is not None and not _whole(get(key), 0, _MAX_ID):
                return f"style attribute {key}={get(key, '')[:20]!r}"
    elif el.tag == SHEET and get("sheetId") is not None and not _whole(get("sheetId"), 0, _MAX_ID):
        return f"sheet id sheetId={get('sheetId', '')[:20]!r}"
    elif el.tag == NUMFMT and get("numFmtId") is not None and not _whole(get("numFmtId"), 0, _MAX_ID):
        return f"number format id numFmtId={get('numFmtId', '')[:20]!r}"
    elif el.tag == CFRULE and get("priority") is not None and not _whole(get("priority"), 0, _MAX_ID):
        return f"conditional format priority={get('priority', '')[:20]!r}"
    elif el.tag == COL:
        for key in ("min", "max"):
            if not _whole(get(key), 1, 16_384):
                return f"column range {key}={get(key, '')[:20]!r}"
        if get("style") is not None and not _whole(get("style"), 0, _MAX_ID):
            return f"column style style={get('style', '')[:20]!r}"
    return None


def style_index(el: etree._Element) -> int:
    """The cell style (an index into the styles part's ``cellXfs``) an element checked by
    :func:`attribute_problem` uses: a cell's ``s``, a row's ``s``, a column's ``style``; 0 if none."""
    text = el.get("style") if el.tag == COL else el.get("s") if el.tag in (C, ROW) else None
    return int(text) if text else 0


def cell_style_count(package: Package, styles: str | None) -> int:
    """How many cell styles (``cellXfs/xf``) the styles part defines; without one, the single default."""
    if styles is None or not package.has(styles):
        return 1
    found = package.xml(styles).find(m("cellXfs"))
    return 1 if found is None else max(len(found.findall(XF)), 1)


_FIRST_CUSTOM_FORMAT = 164  # ids below are Excel's built-in number formats; from 164 on, the part defines them


def _styles_problem(root: etree._Element) -> str | None:
    """A cell format that points past the fonts, fills, borders or cell style formats the part defines, or
    at a custom number format it does not define."""
    def count(list_tag: str, item: str) -> int | None:
        found = root.find(m(list_tag))
        return None if found is None else len(found.findall(m(item)))

    limits = {"fontId": count("fonts", "font"), "fillId": count("fills", "fill"),
              "borderId": count("borders", "border"), "xfId": count("cellStyleXfs", "xf")}
    custom = root.find(m("numFmts"))
    number_formats = {el.get("numFmtId") for el in (custom.findall(NUMFMT) if custom is not None else [])}
    for list_tag in ("cellXfs", "cellStyleXfs"):
        formats = root.find(m(list_tag))
        for xf in formats.findall(XF) if formats is not None else []:
            number_format = xf.get("numFmtId")
            if number_format is not None and int(number_format) >= _FIRST_CUSTOM_FORMAT and \
                    number_format not in number_formats:
                return f"cell format numFmtId={number_format} in {list_tag} that numFmts does not define"
            for key, available in limits.items():
                if key == "xfId" and list_tag == "cellStyleXfs":
                    continue
                value = xf.get(key)
                if value is not None and available is not None and int(value) >= available:
                    return f"cell format {key}={value} in {list_tag}, beyond the {available} defined"
    return None


_DIGITS = (re.compile(r"(?:[0-9]{1,9}\n)*"), lambda v: _whole(v, 0, _MAX_ID))
# the columns of Excel's grid (A to XFD) and rows up to 999999: the common case, matched at once
_CELL_OR_RANGE = r"(?:[A-Z]{1,2}|[A-W][A-Z]{2}|X[A-E][A-Z]|XF[A-D])[1-9][0-9]{0,5}"
_NEVER = re.compile(r"(?!)")
XPATH_CHECKS: dict[str, tuple[tuple[str, re.Pattern[str], Callable[[str], bool]], ...]] = {
    # root element: (XPath, a regex all the values match when all is well, the exact per-value rule);
    # the same rules as attribute_problem, for a part parsed whole (engine.xlsx.load)
    m("worksheet"): (
        ("//m:c/@r", re.compile(rf"(?:{_CELL_OR_RANGE}\n)*"), lambda v: _grid_ref(v) and ":" not in v),
        ("//m:c/@s | //m:row/@s | //m:f/@si | //m:cfRule/@priority", *_DIGITS),
        ("//m:c/@t", re.compile(r"(?:(?:n|s|str|inlineStr|b|e|d)\n)*"), lambda v: v in _CELL_TYPES),
        ("//m:row/@r", re.compile(r"(?:[1-9][0-9]{0,5}\n)*"), lambda v: _whole(v, 1, 1_048_576)),
        ("//m:f/@t", re.compile(r"(?:(?:normal|array|shared|dataTable)\n)*"), lambda v: v in _FORMULA_TYPES),
        ("//m:f/@ref | //m:f/@r1 | //m:f/@r2", re.compile(rf"(?:{_CELL_OR_RANGE}(?::{_CELL_OR_RANGE})?\n)*"),
         _grid_ref),
        ("//m:col/@min | //m:col/@max", re.compile(r"(?:[1-9][0-9]{0,4}\n)*"), lambda v: _whole(v, 1, 16_384)),
        ("//m:col/@style", *_DIGITS),
        ("//m:col[not(@min) or not(@max)]", _NEVER, lambda v: False),  # any such column fails
    ),
    m("styleSheet"): (("//m:xf/@numFmtId | //m:xf/@fontId | //m:xf/@fillId | //m:xf/@borderId | //m:xf/@xfId "
                       "| //m:numFmt/@numFmtId", *_DIGITS),),
    m("workbook"): (("//m:sheet/@sheetId", *_DIGITS),),
}
"""XPath forms of the checks above, by root element, for parts parsed whole."""


_W3CDTF = re.compile(r"\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?")
_CORE_DATES = ("{http://purl.org/dc/terms/}created", "{http://purl.org/dc/terms/}modified")


_WORKBOOK_TYPES = frozenset(f"application/vnd.{kind}.main+xml" for kind in (
    "openxmlformats-officedocument.spreadsheetml.sheet", "openxmlformats-officedocument.spreadsheetml.template",
    "ms-excel.sheet.macroEnabled", "ms-excel.template.macroEnabled"))


def structure_problem(package: Package) -> tuple[str, str] | None:
    """``(part, problem)`` for the first entry of the package's structure Excel would never write, else None:
    a content type without its attributes or none saying which part is the workbook, a relationship
    without an id, type or target (or an id twice),
    a sheet without a name, an id or a relationship to its part, two sheets of one name, a cell format
    that points past the fonts, fills, borders, style or number formats defined, a document date that is not a
    date."""
    workbook = package.workbook_part()
    declared: set[str] = set()
    for el in package.xml("[Content_Types].xml"):
        needed = {f"{{{NS_CT}}}Default": ("Extension", "ContentType"),
                  f"{{{NS_CT}}}Override": ("PartName", "ContentType")}.get(el.tag, ())
        missing = [key for key in needed if not el.get(key)]
        if missing:
            return "[Content_Types].xml", f"content type entry without {missing[0]}"
        if needed and (el.get("PartName") is None or el.get("PartName", "").lower() == "/" + workbook.lower()):
            declared.add(el.get("ContentType", ""))
    if not declared & _WORKBOOK_TYPES:
        return "[Content_Types].xml", f"list of content types that does not say {workbook[:60]} is a workbook"
    for name in package.names():
        if name.endswith(".rels"):
            problem = _relationships_problem(package.xml(name))
            if problem is not None:
                return name, problem
    rels = {rid for rid, _t, _target, _m in package.relationships(workbook)}
    seen: set[str] = set()
    sheets = package.xml(workbook).find(m("sheets"))
    for el in sheets if sheets is not None else []:
        if el.tag != SHEET:
            continue
        title, rid = el.get("name") or "", el.get(f"{{{NS_R}}}id") or ""
        if not title or el.get("sheetId") is None:  # " " is a name Excel writes (the CFG corpus model has one)
            return workbook, "sheet entry without a name or a sheetId"
        if title.lower() in seen:
            return workbook, f"second sheet named {title[:40]!r}"
        seen.add(title.lower())
        if rid not in rels:
            return workbook, f"sheet {title[:40]!r} whose relationship id {rid[:20]!r} the workbook does not define"
    styles = package.related_part(workbook, REL_STYLES)
    if styles is not None and package.has(styles):
        problem = _styles_problem(package.xml(styles))
        if problem is not None:
            return styles, problem
    if package.has("docProps/core.xml"):
        for el in package.xml("docProps/core.xml"):
            text = (el.text or "").strip()
            if el.tag in _CORE_DATES and text and not _W3CDTF.fullmatch(text):
                return "docProps/core.xml", f"document date {(el.text or '')[:30]!r}"
    return None


def _relationships_problem(root: etree._Element) -> str | None:
    ids: set[str] = set()
    for rel in root:
        if rel.tag != f"{{{NS_PKG_REL}}}Relationship":
            continue
        for key in ("Id", "Type", "Target"):
            if not rel.get(key):
                return f"relationship without {key}"
        if rel.get("Id") in ids:
            return f"relationship id {rel.get('Id', '')[:20]!r} given twice"
        ids.add(rel.get("Id", ""))
    return None
