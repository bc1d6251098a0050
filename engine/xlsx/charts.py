"""Native Excel line and column charts on a sheet: a drawing part, one chart part per chart (DrawingML)."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from engine.xlsx.package import NS_R, Package, xml_attribute, xml_text
from engine.xlsx.sheet import insert_in_order
from engine.xlsx.package import m

REL_DRAWING = NS_R + "/drawing"
REL_CHART = NS_R + "/chart"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
NS_C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
NS_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
NS_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
# Each series gets its colour written out: a chart that leaves it to the theme has none in a
# workbook without a theme part (as LibreOffice saves them). Blue, red, dark grey: the first
# series is "before", the second "after", the third a reference line (the covenant).
PALETTE = ("2F75B5", "C00000", "404040", "70AD47", "7030A0", "ED7D31")


@dataclass(frozen=True)
class Series:
    """One line: its name, category and value ranges, and their current values (the chart's cache)."""

    name: str
    name_ref: str
    categories_ref: str
    values_ref: str
    categories: tuple[str, ...]
    values: tuple[float | None, ...]
    category_serials: tuple[float, ...] | None = None  # date categories: their serials (see LineChart)


@dataclass(frozen=True)
class LineChart:
    """A line chart placed over cells ``(from_col, from_row)``–``(to_col, to_row)`` (0-based)."""

    title: str
    series: tuple[Series, ...]
    anchor: tuple[int, int, int, int]
    number_format: str = "General"
    category_format: str | None = None  # e.g. "yyyy-mm-dd": categories are dates (numbers), shown so
    columns: bool = False  # a column (vertical bar) chart instead of lines
    value_range: tuple[float, float] | None = None  # the value axis's min and max (None: automatic)


def add_charts(package: Package, sheet_part: str, sheet_root: etree._Element, charts: list[LineChart]) -> list[str]:
    """Add a drawing with ``charts`` to the sheet; returns the chart part names.

    The sheet root gets its ``<drawing>`` element; the caller writes the sheet part.
    """
    rel_id, names = add_drawing(package, sheet_part, charts)
    element = etree.Element(m("drawing"))
    element.set(f"{{{NS_R}}}id", rel_id)
    insert_in_order(sheet_root, element)
    return names


def add_drawing(package: Package, sheet_part: str, charts: list[LineChart]) -> tuple[str, list[str]]:
    """Add a drawing with ``charts`` for the sheet ``sheet_part``: the relationship id its ``<drawing>``
    element names (written by the caller), and the chart part names."""
    drawing = package.new_part_name("xl/drawings/drawing{}.xml")
    package.write(drawing, b"<wsDr/>")  # reserve the name while the charts are named
    anchors = []
    names = []
    for i, chart in enumerate(charts):
        part = package.new_part_name("xl/charts/chart{}.xml")
        package.write(part, _chart_xml(chart, axis_base=500_000_000 + 10 * i))
        package.set_content_type(part, CT_CHART)
        rel_id = package.add_relationship(drawing, REL_CHART, part)
        anchors.append(_anchor_xml(chart, rel_id, i + 2))
        names.append(part)
    package.write(drawing, (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xdr:wsDr xmlns:xdr="{NS_XDR}" '
        f'xmlns:a="{NS_A}">' + "".join(anchors) + "</xdr:wsDr>").encode())
    package.set_content_type(drawing, CT_DRAWING)
    return package.add_relationship(sheet_part, REL_DRAWING, drawing), names


def _anchor_xml(chart: LineChart, rel_id: str, shape_id: int) -> str:
    c1, r1, c2, r2 = chart.anchor
    return (
        '<xdr:twoCellAnchor editAs="oneCell">'
        f"<xdr:from><xdr:col>{c1}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{r1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
        f"<xdr:to><xdr:col>{c2}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{r2}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>"
        f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="{shape_id}" name={xml_attribute(chart.title)}/>'
        "<xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>"
        '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
        f'<a:graphic><a:graphicData uri="{NS_C}"><c:chart xmlns:c="{NS_C}" xmlns:r="{NS_R}" r:id="{rel_id}"/>'
        "</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>"
    )


def _str_cache(values: tuple[str, ...]) -> str:
    points = "".join(f'<c:pt idx="{i}"><c:v>{xml_text(v)}</c:v></c:pt>' for i, v in enumerate(values))
    return f'<c:strCache><c:ptCount val="{len(values)}"/>{points}</c:strCache>'


def _num_cache(values: tuple[float | None, ...], number_format: str) -> str:
    points = "".join(f'<c:pt idx="{i}"><c:v>{v!r}</c:v></c:pt>' for i, v in enumerate(values) if v is not None)
    return (f"<c:numCache><c:formatCode>{xml_text(number_format)}</c:formatCode>"
            f'<c:ptCount val="{len(values)}"/>{points}</c:numCache>')


def _categories(s: Series, date_format: str | None) -> str:
    if date_format is not None and s.category_serials is not None:
        return f"<c:numRef><c:f>{xml_text(s.categories_ref)}</c:f>{_num_cache(s.category_serials, date_format)}</c:numRef>"
    return f"<c:strRef><c:f>{xml_text(s.categories_ref)}</c:f>{_str_cache(s.categories)}</c:strRef>"


def _bounds(chart: LineChart) -> str:
    if chart.value_range is None:
        return ""
    low, high = chart.value_range
    return f'<c:max val="{high!r}"/><c:min val="{low!r}"/>'


def _column_series(chart: LineChart) -> str:
    return "".join(
        f'<c:ser><c:idx val="{i}"/><c:order val="{i}"/>'
        f"<c:tx><c:strRef><c:f>{xml_text(s.name_ref)}</c:f>{_str_cache((s.name,))}</c:strRef></c:tx>"
        '<c:spPr><a:solidFill><a:srgbClr val="C00000"/></a:solidFill></c:spPr><c:invertIfNegative val="0"/>'
        f"<c:cat>{_categories(s, chart.category_format)}</c:cat>"
        f"<c:val><c:numRef><c:f>{xml_text(s.values_ref)}</c:f>{_num_cache(s.values, chart.number_format)}</c:numRef>"
        "</c:val></c:ser>"
        for i, s in enumerate(chart.series))


def _chart_xml(chart: LineChart, axis_base: int) -> bytes:
    series = _column_series(chart) if chart.columns else "".join(
        f'<c:ser><c:idx val="{i}"/><c:order val="{i}"/>'
        f"<c:tx><c:strRef><c:f>{xml_text(s.name_ref)}</c:f>{_str_cache((s.name,))}</c:strRef></c:tx>"
        f'<c:spPr><a:ln w="22225"><a:solidFill><a:srgbClr val="{PALETTE[i % len(PALETTE)]}"/></a:solidFill>'
        '</a:ln></c:spPr><c:marker><c:symbol val="none"/></c:marker>'
        f"<c:cat>{_categories(s, chart.category_format)}</c:cat>"
        f"<c:val><c:numRef><c:f>{xml_text(s.values_ref)}</c:f>{_num_cache(s.values, chart.number_format)}</c:numRef>"
        '</c:val><c:smooth val="0"/></c:ser>'
        for i, s in enumerate(chart.series))
    cat, val = axis_base + 1, axis_base + 2
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<c:chartSpace xmlns:c="{NS_C}" '
        f'xmlns:a="{NS_A}" xmlns:r="{NS_R}"><c:roundedCorners val="0"/><c:chart>'
        f"<c:title><c:tx><c:rich><a:bodyPr/><a:p><a:r><a:t>{xml_text(chart.title)}</a:t></a:r></a:p></c:rich></c:tx>"
        '<c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/><c:plotArea><c:layout/>'
        + (f'<c:barChart><c:barDir val="col"/><c:grouping val="clustered"/><c:varyColors val="0"/>{series}'
           f'<c:gapWidth val="40"/><c:axId val="{cat}"/><c:axId val="{val}"/></c:barChart>' if chart.columns else
           f'<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>{series}<c:marker val="1"/>'
           f'<c:axId val="{cat}"/><c:axId val="{val}"/></c:lineChart>') +
        f'<c:catAx><c:axId val="{cat}"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/>'
        f'<c:axPos val="b"/><c:numFmt formatCode={xml_attribute(chart.category_format or "General")} sourceLinked="0"/>'
        '<c:tickLblPos val="low"/>'
        f'<c:crossAx val="{val}"/><c:crosses val="autoZero"/><c:auto val="{0 if chart.category_format else 1}"/>'
        '<c:lblAlgn val="ctr"/>'
        '<c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>'
        f'<c:valAx><c:axId val="{val}"/><c:scaling><c:orientation val="minMax"/>{_bounds(chart)}</c:scaling>'
        '<c:delete val="0"/>'
        f'<c:axPos val="l"/><c:majorGridlines/><c:numFmt formatCode={xml_attribute(chart.number_format)} '
        f'sourceLinked="0"/><c:tickLblPos val="nextTo"/><c:crossAx val="{cat}"/><c:crosses val="autoZero"/>'
        '<c:crossBetween val="between"/></c:valAx></c:plotArea>'
        '<c:legend><c:legendPos val="b"/><c:overlay val="0"/></c:legend><c:plotVisOnly val="1"/>'
        '<c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>'
    ).encode()
