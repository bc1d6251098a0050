"""What the credit questions add to the output workbook: a block of answers on Credit_Summary
(breakeven, sizing) and the Sensitivity sheet (a grid of a metric, a colour scale with the covenant
as its midpoint, and a native line chart of the metric against the first input, one series per value
of the second).

The answers come from many evaluations of the model, so they are values, not formulas; the block says
so.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from engine.xlsx.charts import LineChart, Series, add_charts
from engine.xlsx.package import Package, m
from engine.xlsx.new_sheet import NewSheet
from engine.xlsx.sheet import insert_in_order
from engine.xlsx.workbook import add_sheet

SENSITIVITY_SHEET = "Sensitivity"
BLOCK_COLUMN = 15  # column O of Credit_Summary, right of its tables and charts
LOW, MID, HIGH = "FFF8696B", "FFFFEB84", "FF63BE7B"  # red, yellow, green: Excel's own 3-colour scale


@dataclass(frozen=True)
class Block:
    """Rows of answers under a title: each row a label and its values."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    note: str = ""


def add_blocks(sheet: NewSheet, blocks: list[Block], styles: dict[str, int], *, top: int = 5) -> None:
    """Write ``blocks`` one under another on ``sheet`` (Credit_Summary's cells) from row ``top``, column O."""
    row = top
    for block in blocks:
        sheet.value(row, BLOCK_COLUMN, block.title, styles["header"])
        row += 1
        for offset, text in enumerate(block.header):
            sheet.value(row, BLOCK_COLUMN + offset, text, styles["header"])
        for values in block.rows:
            row += 1
            for offset, value in enumerate(values):
                style = styles["label"] if offset == 0 else styles["num"]
                sheet.value(row, BLOCK_COLUMN + offset, _cell_value(value), style)
        if block.note:
            row += 1
            sheet.value(row, BLOCK_COLUMN, block.note, styles["note"])
        row += 2


def add_sensitivity_sheet(package: Package, *, metric: str, axes: tuple[tuple[str, tuple[float, ...]], ...],
                          values: list[object], covenant: float | None, styles: dict[str, int], note: str) -> str:
    """Add the Sensitivity sheet; returns its part name."""
    sheet = NewSheet(col_widths={1: 22, **{c: 11 for c in range(2, 40)}}, tab_color="FF2F75B5")
    sheet.value(1, 1, f"Sensitivity of {metric} (gpucredit)", styles["title"])
    sheet.value(2, 1, note, styles["note"])
    first_name, first_values = axes[0]
    grid: list[list[object]] = [list(row) for row in values] if len(axes) == 2 else [[v] for v in values]  # type: ignore[call-overload]
    second_name, second_values = axes[1] if len(axes) == 2 else (metric, (0.0,))
    sheet.value(4, 1, f"{first_name} \\ {second_name}" if len(axes) == 2 else first_name, styles["header"])
    for j, value in enumerate(second_values):
        sheet.value(4, 2 + j, value if len(axes) == 2 else metric, styles["header"])
    for i, value in enumerate(first_values):
        sheet.value(5 + i, 1, value, styles["num"])
        for j, cell in enumerate(grid[i]):
            sheet.value(5 + i, 2 + j, _cell_value(cell), styles["num"])
    part = add_sheet(package, sheet.to_root(), SENSITIVITY_SHEET)
    last_row, last_col = 4 + len(first_values), 1 + len(second_values)
    root = package.xml(part)
    _colour_scale(root, f"B5:{_col(last_col)}{last_row}", covenant)
    series = tuple(Series(
        name=str(second_values[j]) if len(axes) == 2 else metric,
        name_ref=f"{SENSITIVITY_SHEET}!${_col(2 + j)}$4",
        categories_ref=f"{SENSITIVITY_SHEET}!$A$5:$A${last_row}",
        values_ref=f"{SENSITIVITY_SHEET}!${_col(2 + j)}$5:${_col(2 + j)}${last_row}",
        categories=tuple(f"{v:g}" for v in first_values),
        values=tuple(c if isinstance(c, float) else None for c in (row[j] for row in grid)))
        for j in range(len(second_values)))
    top = last_row + 2
    add_charts(package, part, root, [LineChart(f"{metric} against {first_name}", series, (0, top, 10, top + 20),
                                               "0.00")])
    package.write_xml(part, root)
    return part


def _colour_scale(root: etree._Element, sqref: str, covenant: float | None) -> None:
    """Red below, green above, yellow at the covenant (or at the middle value without one)."""
    cf = etree.Element(m("conditionalFormatting"))
    cf.set("sqref", sqref)
    rule = etree.SubElement(cf, m("cfRule"))
    rule.set("type", "colorScale")
    rule.set("priority", "1")
    scale = etree.SubElement(rule, m("colorScale"))
    etree.SubElement(scale, m("cfvo")).set("type", "min")
    mid = etree.SubElement(scale, m("cfvo"))
    if covenant is None:
        mid.set("type", "percentile")
        mid.set("val", "50")
    else:
        mid.set("type", "num")
        mid.set("val", repr(float(covenant)))
    etree.SubElement(scale, m("cfvo")).set("type", "max")
    for colour in (LOW, MID, HIGH):
        etree.SubElement(scale, m("color")).set("rgb", colour)
    insert_in_order(root, cf)


def _cell_value(value: object) -> float | str | None:
    """A number, a text or nothing for a cell (an int or a bool counts as a number; a date as its ISO text)."""
    if value is None or isinstance(value, (float, str)):
        return value
    if isinstance(value, (int, bool)):
        return float(value)
    return str(value)


def _col(col: int) -> str:
    from engine.refs import column_letter

    return column_letter(col)
