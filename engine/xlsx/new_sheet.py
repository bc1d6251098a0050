"""Worksheets built from scratch (GPU_Curve, Credit_Summary, the Sensitivity and stress sheets): their
cells, and their XML written as text in one pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from engine.refs import column_letter
from engine.values import CellValue
from engine.xlsx.package import NS_MAIN, NS_R, check_well_formed, parse_xml, xml_attribute, xml_text
from engine.xlsx.sheet import cached_text, number_text


@dataclass
class NewSheet:
    """A worksheet built from scratch (GPU_Curve, Credit_Summary...)."""

    cells: dict[tuple[int, int], tuple[str, object, int | None]] = field(default_factory=dict)
    col_widths: dict[int, float] = field(default_factory=dict)
    freeze_row: int = 0
    tab_color: str | None = None
    fit_to_width: bool = False  # print landscape, one page wide
    print_scale: int | None = None  # print landscape at this percentage (instead of fit_to_width)
    page_break_after_col: int | None = None  # a manual page break right of this column (1-based)
    drawing_rel: str | None = None  # the relationship id of the sheet's drawing (its charts)

    def value(self, row: int, col: int, value: CellValue, style: int | None = None) -> None:
        self.cells[(row, col)] = ("value", value, style)

    def formula(self, row: int, col: int, formula: str, style: int | None = None) -> None:
        self.cells[(row, col)] = ("formula", formula, style)

    def contents(self) -> dict[tuple[int, int], tuple[str, object]]:
        """Each cell's kind and content without its style: what a live engine loads
        (:meth:`engine.formula.evaluate.Evaluation.add_sheet`)."""
        return {key: (kind, content) for key, (kind, content, _style) in self.cells.items()}

    @property
    def formula_count(self) -> int:
        return sum(kind == "formula" for kind, _content, _style in self.cells.values())

    def to_root(self, values: Callable[[int, int], CellValue] | None = None) -> etree._Element:
        """The worksheet XML as a tree; with ``values``, every formula cell carries ``values(row, col)``
        as its cached value. Written as text in one pass (rows and cells in order) and parsed once."""
        return parse_xml(self._text(values).encode())

    def to_xml(self, values: Callable[[int, int], CellValue] | None = None) -> bytes:
        """The worksheet part's bytes, as :func:`engine.xlsx.package.serialise_xml` would write
        :meth:`to_root`'s tree, without building the tree (for a sheet nothing edits afterwards: on the
        1,200-month variant the GPU_Curve tree took 35 MB). Checked well-formed as it is."""
        data = _XML_DECLARATION + self._text(values).encode()
        check_well_formed(data)
        return data

    def _text(self, values: Callable[[int, int], CellValue] | None) -> str:
        out = [f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_R}">']
        if self.tab_color or self.fit_to_width:
            out.append("<sheetPr>")
            if self.tab_color:
                out.append(f'<tabColor rgb={xml_attribute(self.tab_color)}/>')
            if self.fit_to_width:
                out.append('<pageSetUpPr fitToPage="1"/>')
            out.append("</sheetPr>")
        # empty elements written as lxml writes them (<x/>), so to_xml's bytes are serialise_xml's
        if self.freeze_row:
            out.append(f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{self.freeze_row}" '
                       f'topLeftCell="A{self.freeze_row + 1}" activePane="bottomLeft" state="frozen"/></sheetView>'
                       '</sheetViews>')
        else:
            out.append('<sheetViews><sheetView workbookViewId="0"/></sheetViews>')
        out.append('<sheetFormatPr defaultRowHeight="15"/>')
        if self.col_widths:
            out.append("<cols>")
            out.extend(f'<col min="{col}" max="{col}" width="{width:g}" customWidth="1"/>'
                       for col, width in sorted(self.col_widths.items()))
            out.append("</cols>")
        out.append("<sheetData>" if self.cells else "<sheetData/>")
        current = 0
        for (row, col), (kind, content, style) in sorted(self.cells.items()):
            if row != current:
                out.append("</row>" if current else "")
                out.append(f'<row r="{row}">')
                current = row
            style_attr = "" if style is None else f' s="{style}"'
            ref = f"{column_letter(col)}{row}"
            if kind == "formula":
                text = str(content)
                formula = xml_text(text[1:] if text.startswith("=") else text)
                if values is None:
                    out.append(f'<c r="{ref}"{style_attr}><f>{formula}</f></c>')
                else:
                    kind_attr, cached = cached_text(values(row, col))
                    type_attr = "" if kind_attr is None else f' t="{kind_attr}"'
                    cached = xml_text(cached) if kind_attr in ("str", "e") else cached  # a number or a boolean as it is
                    v = f"<v>{cached}</v>" if cached else "<v/>"
                    out.append(f'<c r="{ref}"{type_attr}{style_attr}><f>{formula}</f>{v}</c>')
            else:
                out.append(_constant_xml(ref, style_attr, content))  # type: ignore[arg-type]
        if current:
            out.append("</row>")
        out.append('</sheetData>' if self.cells else "")
        out.append('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>')
        if self.fit_to_width:
            out.append('<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>')
        elif self.print_scale is not None:
            out.append(f'<pageSetup orientation="landscape" scale="{self.print_scale}"/>')
        if self.page_break_after_col is not None:
            out.append(f'<colBreaks count="1" manualBreakCount="1"><brk id="{self.page_break_after_col}" max="1048575" '
                       'man="1"/></colBreaks>')
        if self.drawing_rel is not None:
            out.append(f"<drawing r:id={xml_attribute(self.drawing_rel)}/>")
        out.append("</worksheet>")
        return "".join(out)


_XML_DECLARATION = b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"


def _constant_xml(ref: str, style_attr: str, value: CellValue) -> str:
    """A constant cell as text; the content :meth:`engine.xlsx.sheet.SheetXml.set_value` gives an element."""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"{style_attr}><v>{"1" if value else "0"}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"{style_attr}><v>{number_text(float(value))}</v></c>'
    if isinstance(value, str):
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f'<c r="{ref}" t="inlineStr"{style_attr}><is><t{space}>{xml_text(value)}</t></is></c>'
    return f'<c r="{ref}"{style_attr}/>'
