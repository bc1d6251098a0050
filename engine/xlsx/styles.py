"""Append cell styles to a workbook's styles part — never renumber the existing ones."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from engine.xlsx.package import m

_FIRST_CUSTOM_NUMFMT = 164  # ids below are Excel's built-in formats


@dataclass(frozen=True)
class StyleSpec:
    """What a new cell style looks like."""

    number_format: str | None = None
    bold: bool = False
    italic: bool = False
    font_color: str | None = None  # ARGB, e.g. "FF0000FF"
    fill: str | None = None  # ARGB solid fill


class StyleBook:
    """The parsed ``styles.xml`` with helpers that only ever append."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self._cache: dict[tuple[object, ...], int] = {}

    def _section(self, tag: str) -> etree._Element:
        found = self.root.find(m(tag))
        if found is not None:
            return found
        order = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles",
                 "dxfs", "tableStyles", "colors", "extLst")
        el = etree.Element(m(tag))
        rank = order.index(tag)
        position = 0
        for i, child in enumerate(self.root):
            name = etree.QName(child).localname if isinstance(child.tag, str) else ""
            if name in order and order.index(name) < rank:
                position = i + 1
        self.root.insert(position, el)
        return el

    @staticmethod
    def _append(section: etree._Element, child: etree._Element) -> int:
        section.append(child)
        count = len(section.findall(child.tag))
        section.set("count", str(count))
        return count - 1

    def _numfmt_id(self, code: str) -> int:
        section = self._section("numFmts")
        ids = [int(el.get("numFmtId", "0")) for el in section]
        for el in section:
            if el.get("formatCode") == code:
                return int(el.get("numFmtId", "0"))
        new_id = max([_FIRST_CUSTOM_NUMFMT - 1, *ids]) + 1
        el = etree.Element(m("numFmt"))
        el.set("numFmtId", str(new_id))
        el.set("formatCode", code)
        self._append(section, el)
        return new_id

    def _font(self, spec: StyleSpec, base_font: int | None) -> int:
        fonts = self._section("fonts")
        base = fonts[base_font] if base_font is not None and base_font < len(fonts) else None
        font = etree.Element(m("font"))
        if base is not None:
            for child in base:
                if etree.QName(child).localname not in ("b", "i", "color"):
                    font.append(etree.fromstring(etree.tostring(child)))
        else:
            etree.SubElement(font, m("sz")).set("val", "11")
            etree.SubElement(font, m("name")).set("val", "Calibri")
        if spec.bold:
            font.insert(0, etree.Element(m("b")))
        if spec.italic:
            font.insert(1 if spec.bold else 0, etree.Element(m("i")))
        if spec.font_color:
            color = etree.Element(m("color"))
            color.set("rgb", spec.font_color)
            sz = font.find(m("sz"))
            (sz.addnext(color) if sz is not None else font.append(color))
        return self._append(fonts, font)

    def _fill(self, argb: str) -> int:
        fill = etree.Element(m("fill"))
        pattern = etree.SubElement(fill, m("patternFill"))
        pattern.set("patternType", "solid")
        etree.SubElement(pattern, m("fgColor")).set("rgb", argb)
        etree.SubElement(pattern, m("bgColor")).set("indexed", "64")
        return self._append(self._section("fills"), fill)

    def add(self, spec: StyleSpec, *, base_xf: int = 0) -> int:
        """A new ``cellXfs`` entry: ``base_xf`` with ``spec`` laid over it; returns its index."""
        key = ("xf", spec, base_xf)
        if key in self._cache:
            return self._cache[key]
        xfs = self._section("cellXfs")
        if len(xfs) == 0:
            default = etree.SubElement(xfs, m("xf"))
            for attr in ("numFmtId", "fontId", "fillId", "borderId", "xfId"):
                default.set(attr, "0")
            xfs.set("count", "1")
        base = xfs[base_xf] if base_xf < len(xfs) else xfs[0]
        xf = etree.fromstring(etree.tostring(base))
        if spec.number_format is not None:
            xf.set("numFmtId", str(self._numfmt_id(spec.number_format)))
            xf.set("applyNumberFormat", "1")
        if spec.bold or spec.italic or spec.font_color:
            xf.set("fontId", str(self._font(spec, int(base.get("fontId", "0")))))
            xf.set("applyFont", "1")
        if spec.fill:
            xf.set("fillId", str(self._fill(spec.fill)))
            xf.set("applyFill", "1")
        index = self._append(xfs, xf)
        self._cache[key] = index
        return index

    def add_dxf(self, *, font_color: str, fill: str) -> int:
        """A differential format (for conditional formatting); returns its index."""
        dxf = etree.Element(m("dxf"))
        font = etree.SubElement(dxf, m("font"))
        etree.SubElement(font, m("b"))
        etree.SubElement(font, m("color")).set("rgb", font_color)
        fill_el = etree.SubElement(dxf, m("fill"))
        pattern = etree.SubElement(fill_el, m("patternFill"))
        etree.SubElement(pattern, m("bgColor")).set("rgb", fill)
        return self._append(self._section("dxfs"), dxf)
