"""The house style and sheet builders shared by the template scripts (``build_templates.py`` and
``miner_double_leverage.py``): blue inputs on a pale fill, black formulas, navy section bars."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

#: Timestamp written into every package (document properties and zip entries) for reproducibility.
FIXED_TIMESTAMP = dt.datetime(2026, 1, 1, 0, 0, 0)

# ---------------------------------------------------------------------------------------------
# House style: blue inputs on a pale fill, black formulas, navy section bars (bank convention).
# ---------------------------------------------------------------------------------------------
FMT_MONEY = '#,##0;(#,##0);"–"'
FMT_MONEY_M = '#,##0.00;(#,##0.00);"–"'
FMT_PCT = "0.00%"
FMT_DATE = "dd-mmm-yy"
FMT_X = '0.00"x"'
FMT_INT = "0"
FMT_MW = "#,##0.00"
FMT_FLAG = '0;-0;"–"'

FONT_TITLE = Font(name="Arial", size=14, bold=True, color="1F3864")
FONT_SUB = Font(name="Arial", size=9, italic=True, color="595959")
FONT_BOLD = Font(name="Arial", size=10, bold=True)
FONT_BODY = Font(name="Arial", size=10)
FONT_INPUT = Font(name="Arial", size=10, color="0000FF")
FONT_HEADER = Font(name="Arial", size=10, bold=True, color="FFFFFF")
FILL_HEADER = PatternFill("solid", fgColor="1F3864")
FILL_SECTION = PatternFill("solid", fgColor="D9E1F2")
FILL_INPUT = PatternFill("solid", fgColor="FFF2CC")
FILL_KEY = PatternFill("solid", fgColor="E2EFDA")
THIN = Side(style="thin", color="808080")
BORDER_TOP = Border(top=THIN)


def style(cell, font=FONT_BODY, fmt: str | None = None, fill=None, border=None, align=None):
    cell.font = font
    if fmt is not None:
        cell.number_format = fmt
    if fill is not None:
        cell.fill = fill
    if border is not None:
        cell.border = border
    if align is not None:
        cell.alignment = align


def write_title(ws: Worksheet, title: str, subtitle: str) -> None:
    ws["A1"] = title
    style(ws["A1"], FONT_TITLE)
    ws["A2"] = subtitle
    style(ws["A2"], FONT_SUB)


class InputSheet:
    """The ``Inputs`` sheet: labels in column B, values in C, units in D, notes in E."""

    def __init__(self, wb: Workbook, title: str, subtitle: str) -> None:
        self.ws = wb.active
        self.ws.title = "Inputs"
        self.ws.sheet_view.showGridLines = False
        write_title(self.ws, title, subtitle)
        self.row = 4
        for col, width in zip("ABCDE", (2, 46, 16, 14, 58)):
            self.ws.column_dimensions[col].width = width
        for col, text in zip("BCDE", ("Assumption", "Value", "Unit", "Note / source")):
            cell = self.ws[f"{col}{self.row}"]
            cell.value = text
            style(cell, FONT_HEADER, fill=FILL_HEADER)
        self.row += 1
        self.ws.freeze_panes = "A5"

    def section(self, text: str) -> None:
        self.row += 1
        for col in "BCDE":
            style(self.ws[f"{col}{self.row}"], FONT_BOLD, fill=FILL_SECTION)
        self.ws[f"B{self.row}"] = text
        self.row += 1

    def add(self, label: str, value, fmt: str, unit: str = "", note: str = "") -> str:
        """Write one labelled input (or derived formula); return its absolute reference."""
        r = self.row
        self.ws[f"B{r}"] = label
        style(self.ws[f"B{r}"])
        cell = self.ws[f"C{r}"]
        cell.value = value
        derived = isinstance(value, str) and value.startswith("=")
        style(cell, FONT_BODY if derived else FONT_INPUT, fmt, None if derived else FILL_INPUT,
               align=Alignment(horizontal="right"))
        self.ws[f"D{r}"] = unit
        style(self.ws[f"D{r}"], FONT_SUB)
        self.ws[f"E{r}"] = note
        style(self.ws[f"E{r}"], FONT_SUB)
        self.row += 1
        return f"Inputs!$C${r}"


class ColumnModel:
    """A period model with periods across columns; labels in A, units in B, totals in C."""

    def __init__(self, ws: Worksheet, first_col: int, n_periods: int, label_width: float = 40) -> None:
        self.ws = ws
        self.first_col = first_col
        self.n = n_periods
        self.cols = [get_column_letter(first_col + i) for i in range(n_periods)]
        ws.column_dimensions["A"].width = label_width
        ws.column_dimensions["B"].width = 10
        ws.column_dimensions["C"].width = 14
        for col in range(3, first_col):
            ws.column_dimensions[get_column_letter(col)].width = 14
        for c in self.cols:
            ws.column_dimensions[c].width = 12.5

    def span(self, row: int) -> str:
        return f"${self.cols[0]}${row}:${self.cols[-1]}${row}"

    def profile_range(self, row: int) -> str:
        return f"{self.ws.title}!{self.cols[0]}{row}:{self.cols[-1]}{row}"

    def section(self, row: int, text: str) -> None:
        last = self.first_col + self.n - 1
        for col in range(1, last + 1):
            style(self.ws.cell(row, col), FONT_BOLD, fill=FILL_SECTION)
        self.ws.cell(row, 1).value = text

    def line(self, row: int, label: str, unit: str, fmt: str,
             formula: Callable[[int, str, str | None], str], total: bool = False,
             bold: bool = False, key: bool = False) -> None:
        """Write one model line; ``formula(i, col, prev_col)`` gives period *i*'s formula."""
        ws = self.ws
        font = FONT_BOLD if bold else FONT_BODY
        fill = FILL_KEY if key else None
        border = BORDER_TOP if bold else None
        ws.cell(row, 1).value = label
        style(ws.cell(row, 1), font, fill=fill)
        ws.cell(row, 2).value = unit
        style(ws.cell(row, 2), FONT_SUB, fill=fill)
        if total:
            ws.cell(row, 3).value = f"=SUM({self.cols[0]}{row}:{self.cols[-1]}{row})"
        style(ws.cell(row, 3), font, fmt, fill, border)
        for i, col in enumerate(self.cols):
            prev = self.cols[i - 1] if i else None
            cell = ws[f"{col}{row}"]
            cell.value = formula(i, col, prev)
            style(cell, font, fmt, fill, border)

    def header_row(self, row: int, label: str, unit: str, fmt: str,
                   formula: Callable[[int, str, str | None], str]) -> None:
        self.line(row, label, unit, fmt, formula)
        for col in range(1, self.first_col + self.n):
            cell = self.ws.cell(row, col)
            style(cell, FONT_HEADER, cell.number_format, FILL_HEADER,
                   align=Alignment(horizontal="right") if col >= 3 else None)


def summary_block(ws: Worksheet, row: int, col: int, items: list[tuple[str, str, str]],
                   title: str = "Summary") -> int:
    """Write a (label, formula, format) block starting at (row, col); return the next free row."""
    for c in (col, col + 1):
        style(ws.cell(row, c), FONT_HEADER, fill=FILL_HEADER)
    ws.cell(row, col).value = title
    row += 1
    for label, formula, fmt in items:
        ws.cell(row, col).value = label
        style(ws.cell(row, col))
        ws.cell(row, col + 1).value = formula
        style(ws.cell(row, col + 1), FONT_BOLD, fmt, FILL_KEY)
        row += 1
    return row


def new_workbook() -> Workbook:
    wb = Workbook()
    wb.properties.creator = "gpucredit templates/build_templates.py"
    wb.properties.lastModifiedBy = "gpucredit"
    wb.properties.created = FIXED_TIMESTAMP
    wb.properties.modified = FIXED_TIMESTAMP
    wb.calculation.fullCalcOnLoad = True
    return wb
