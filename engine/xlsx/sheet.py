"""Cell-level edits inside one worksheet part: formulas, cached values, styles (new sheets:
:mod:`engine.xlsx.new_sheet`)."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from engine.xlsx.package import Package, drop, formula_of, m
from engine.refs import column_letter, parse_cell
from engine.values import CellValue, ExcelError
from engine.xlsx.shared import expand_shared_formula as expand_shared_formula
from engine.xlsx.shared import expand_shared_group as expand_shared_group
from engine.xlsx.shared import shared_groups as shared_groups
from engine.xlsx.shared import translate_shared as translate_shared

# CT_Worksheet child order (ECMA-376 Part 1, §18.3.1.99); new children go in their place.
WORKSHEET_ORDER = (
    "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr",
    "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState", "dataConsolidate",
    "customSheetViews", "mergeCells", "phoneticPr", "conditionalFormatting", "dataValidations",
    "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter", "rowBreaks",
    "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing",
    "legacyDrawing", "legacyDrawingHF", "picture", "oleObjects", "controls", "webPublishItems",
    "tableParts", "extLst",
)


XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def insert_in_order(root: etree._Element, child: etree._Element) -> None:
    """Insert ``child`` into a worksheet root after every sibling that must precede it."""
    local = etree.QName(child).localname
    rank = WORKSHEET_ORDER.index(local)
    position = 0
    for i, existing in enumerate(root):
        name = etree.QName(existing).localname if isinstance(existing.tag, str) else ""
        if name in WORKSHEET_ORDER and WORKSHEET_ORDER.index(name) <= rank:
            position = i + 1
    root.insert(position, child)


class SheetXml:
    """A parsed worksheet part with an index of its cells."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        data = root.find(m("sheetData"))
        if data is None:
            data = etree.Element(m("sheetData"))
            insert_in_order(root, data)
        self.data = data
        self._rows: dict[int, etree._Element] = {}
        self._cells: dict[tuple[int, int], etree._Element] = {}
        # the formula cells and their <f>, kept up to date by the methods below
        self._formulas: dict[tuple[int, int], tuple[etree._Element, etree._Element]] = {}
        f_tag, c_tag = m("f"), m("c")
        for row_el in data.iterchildren(m("row")):
            r = int(row_el.get("r", "0"))
            self._rows[r] = row_el
            for c_el in row_el.iterchildren(c_tag):
                ref = c_el.get("r")
                if ref:
                    key = parse_cell(ref)
                    self._cells[key] = c_el
                    for f_el in c_el.iterchildren(f_tag):  # the first <f>, as c_el.find(f_tag) in half the time
                        self._formulas[key] = (c_el, f_el)
                        break

    def cells(self) -> Iterator[tuple[tuple[int, int], etree._Element]]:
        """Every cell the sheet holds: ``((row, col), <c>)``, in the sheet's order."""
        return iter(list(self._cells.items()))

    def cell(self, row: int, col: int) -> etree._Element | None:
        return self._cells.get((row, col))

    def ensure_cell(self, row: int, col: int) -> etree._Element:
        found = self._cells.get((row, col))
        if found is not None:
            return found
        row_el = self._rows.get(row)
        if row_el is None:
            row_el = etree.Element(m("row"))
            row_el.set("r", str(row))
            later = [r for r in self._rows if r > row]
            if later:
                self._rows[min(later)].addprevious(row_el)
            else:
                self.data.append(row_el)
            self._rows[row] = row_el
        c_el = etree.Element(m("c"))
        c_el.set("r", f"{column_letter(col)}{row}")
        last = row_el[-1] if len(row_el) else None
        if last is not None and last.tag == m("c") and last.get("r") and parse_cell(last.get("r", ""))[1] < col:
            row_el.append(c_el)  # the usual case: cells written left to right
        else:
            after = next((other for other in row_el.iterchildren(m("c"))
                          if other.get("r") and parse_cell(other.get("r", ""))[1] > col), None)
            if after is not None:
                after.addprevious(c_el)
            else:
                row_el.append(c_el)
        self._cells[(row, col)] = c_el
        if "spans" in row_el.attrib:
            del row_el.attrib["spans"]  # an optimisation hint; stale spans confuse some readers
        return c_el

    def formula_cells(self) -> Iterator[tuple[int, int, etree._Element]]:
        """Each formula cell's row, column and ``<c>``, in the order the sheet holds them."""
        for (row, col), (c_el, _f) in list(self._formulas.items()):
            yield row, col, c_el

    def formulas(self) -> Iterator[tuple[int, int, etree._Element, etree._Element]]:
        """Each formula cell's row, column, ``<c>`` and ``<f>``."""
        for (row, col), (c_el, f_el) in list(self._formulas.items()):
            yield row, col, c_el, f_el

    @property
    def formula_count(self) -> int:
        return len(self._formulas)

    def formula(self, row: int, col: int) -> str | None:
        c_el = self._cells.get((row, col))
        if c_el is None:
            return None
        f_el = c_el.find(m("f"))
        return None if f_el is None else (f_el.text or "")

    def _release_shared(self, row: int, col: int) -> None:
        """Before a cell is overwritten: when it is the master of a shared formula, its neighbours borrow
        its text, so the group becomes plain formulas first (``ValueError`` when that text is unreadable)."""
        found = self._formulas.get((row, col))
        if found is not None and found[1].get("t") == "shared" and found[1].text:
            expand_shared_formula(self, row, col)

    def set_formula(self, row: int, col: int, formula: str, style: int | None = None) -> None:
        """Replace the cell's content by ``formula`` (with or without the leading ``=``)."""
        self._release_shared(row, col)
        c_el = self.ensure_cell(row, col)
        for child in list(c_el):
            c_el.remove(child)
        drop(c_el, "t")
        f_el = etree.SubElement(c_el, m("f"))
        f_el.text = formula[1:] if formula.startswith("=") else formula
        self._formulas[(row, col)] = (c_el, f_el)
        if style is not None:
            c_el.set("s", str(style))

    def set_value(self, row: int, col: int, value: CellValue, style: int | None = None) -> None:
        """A constant: number, bool, text (inline string) or nothing."""
        self._release_shared(row, col)
        c_el = self.ensure_cell(row, col)
        for child in list(c_el):
            c_el.remove(child)
        drop(c_el, "t")
        self._formulas.pop((row, col), None)
        _write_constant(c_el, value)
        if style is not None:
            c_el.set("s", str(style))

    def hold_cached_value(self, row: int, col: int) -> bool:
        """Replace a formula cell by the value cached in it (a constant from now on); False when the cell
        has no formula or no cached value. The engine's private copy uses it for environment cells."""
        found = self._formulas.get((row, col))
        c_el = found[0] if found is not None else None
        v_el = c_el.find(m("v")) if c_el is not None else None
        if c_el is None or v_el is None or v_el.text is None:
            return False
        try:
            self._release_shared(row, col)
        except ValueError:
            return False  # its neighbours could not be given their own text: the engine evaluates it
        f_el = c_el.find(m("f"))
        if f_el is not None:
            c_el.remove(f_el)
        self._formulas.pop((row, col), None)
        if c_el.get("t") == "str":  # a formula's text result; as a constant it is an inline string
            text = v_el.text
            c_el.remove(v_el)
            c_el.set("t", "inlineStr")
            t_el = etree.SubElement(etree.SubElement(c_el, m("is")), m("t"))
            t_el.text = text
            t_el.set(XML_SPACE, "preserve")
        elif c_el.get("t") not in ("b", "e"):
            drop(c_el, "t")
        return True

    def style_of(self, row: int, col: int) -> int:
        c_el = self._cells.get((row, col))
        if c_el is None:
            row_el = self._rows.get(row)
            if row_el is not None and row_el.get("customFormat") == "1":
                return int(row_el.get("s", "0"))
            return 0
        return int(c_el.get("s", "0"))

    def set_style(self, row: int, col: int, style: int) -> None:
        self.ensure_cell(row, col).set("s", str(style))


def sheet_of(package: Package, part: str) -> SheetXml:
    """The sheet part's cell index, built once per tree (edit its cells through it, then
    ``package.write_xml(part, sheet.root)``)."""
    return package.view(part, "sheet", SheetXml)


def _write_constant(c_el: etree._Element, value: CellValue) -> None:
    """A constant's children and type on an empty ``<c>``: number, bool, text (inline string) or nothing."""
    if isinstance(value, bool):
        c_el.set("t", "b")
        etree.SubElement(c_el, m("v")).text = "1" if value else "0"
    elif isinstance(value, (int, float)):
        etree.SubElement(c_el, m("v")).text = number_text(float(value))
    elif isinstance(value, str):
        c_el.set("t", "inlineStr")
        t_el = etree.SubElement(etree.SubElement(c_el, m("is")), m("t"))
        t_el.text = value
        if value != value.strip():
            t_el.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def set_cached_value(c_el: etree._Element, value: CellValue) -> None:
    """Write the cached result of a formula cell (keeps its ``<f>``); the cell's ``<v>`` is reused where it
    has one (in its place, before any ``<extLst>``), else added."""
    kind, text = cached_text(value)
    if kind is None:
        drop(c_el, "t")
    else:
        c_el.set("t", kind)
    found = list(c_el.iterchildren(_V))
    if found:
        v_el = found[0]
        for extra in found[1:]:
            c_el.remove(extra)
        if v_el.attrib:
            v_el.attrib.clear()
    else:
        v_el = etree.SubElement(c_el, _V)
    v_el.text = text
    if kind == "str" and text != text.strip():  # Excel trims the text of an element that does not say preserve
        v_el.set(XML_SPACE, "preserve")


_V = m("v")


def number_text(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("a cell cannot hold NaN or infinity")
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def cached_text(value: CellValue) -> tuple[str | None, str]:
    """A formula result as a cell stores it: its type attribute (None: a number) and its text."""
    if isinstance(value, bool):
        return "b", "1" if value else "0"
    if isinstance(value, (int, float)):
        return None, number_text(float(value))
    if isinstance(value, ExcelError):
        return "e", value.code
    if isinstance(value, str):
        return "str", value
    return None, "0"  # an empty result: Excel caches a formula pointing at a blank cell as 0


def array_members(sheet: SheetXml) -> list[tuple[int, int]]:
    """Cells covered by an array formula (legacy or dynamic spill) or a What-If data table,
    other than the master cell that holds the ``<f>``.

    The file stores their results as plain values; they change when the master's result does.
    """
    return [(r, c) for row, col, _f, (r1, c1, r2, c2) in array_ranges(sheet, ("array", "dataTable"))
            for r in range(r1, r2 + 1) for c in range(c1, c2 + 1) if (r, c) != (row, col)]


def array_ranges(sheet: SheetXml, kinds: tuple[str, ...] = ("array",)
                 ) -> list[tuple[int, int, etree._Element, tuple[int, int, int, int]]]:
    """Each multi-cell formula of the given ``t`` kinds: master row, column, ``<f>`` and the
    range it covers as (first row, first column, last row, last column)."""
    found = []
    for row, col, _c, f_el in sheet.formulas():
        ref = f_el.get("ref") if f_el.get("t") in kinds else None
        if not ref or ":" not in ref:
            continue
        first, last = ref.split(":")
        r1, c1 = parse_cell(first)
        r2, c2 = parse_cell(last)
        found.append((row, col, f_el, (r1, c1, r2, c2)))
    return found


def array_covering(ranges: list[tuple[int, int, etree._Element, tuple[int, int, int, int]]], row: int, col: int
                   ) -> tuple[etree._Element, tuple[int, int, int, int]] | None:
    """The ``<f>`` and range of the array formula (from :func:`array_ranges`) covering a cell."""
    for _r, _c, f_el, (r1, c1, r2, c2) in ranges:
        if r1 <= row <= r2 and c1 <= col <= c2:
            return f_el, (r1, c1, r2, c2)
    return None


def split_array_formula(sheet: SheetXml, expression: str, bounds: tuple[int, int, int, int]) -> None:
    """Give each cell of an array formula (``expression`` over ``bounds``) its own single-cell array formula.

    Excel cannot change part of an array, so a rent cell inside one (a rent row that is one
    legacy array formula) needs the array split first. The master (top-left) cell keeps its
    formula as a one-cell array, which shows the same first element; the cell i rows and j
    columns into the range becomes ``{=INDEX((expr),i,j)}``, the value it held as a member.
    A dynamic array loses its spill metadata: a spill would collide with the split cells.
    """
    r1, c1, r2, c2 = bounds
    for r in range(r1, r2 + 1):
        for c in range(c1, c2 + 1):
            c_el = sheet.ensure_cell(r, c)
            drop(c_el, "cm")
            if (r, c) != (r1, c1):
                sheet.set_formula(r, c, f"INDEX(({expression}),{r - r1 + 1},{c - c1 + 1})")
            split = formula_of(c_el)
            split.set("t", "array")
            split.set("ref", f"{column_letter(c)}{r}")
