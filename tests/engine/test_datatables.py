"""What-If data tables are recomputed, checked against a loop over the same model (issue 8)."""

from __future__ import annotations

import math
import shutil
import zipfile
from pathlib import Path

import numpy_financial as npf
import openpyxl
import pytest

from conftest import TEMPLATES
from engine.convert import CurveChoice, convert

RATES = (0.05, 0.07, 0.09)
TERMS = (8, 10, 12)


def _with_tables(tmp_path: Path, *, feed_table: bool = False) -> Path:
    """The lease template plus, on its Inputs sheet, a one-variable table of the annual debt service
    against the rate (column input) and a two-variable table against rate × term."""
    src = tmp_path / "tables.xlsx"
    shutil.copy2(TEMPLATES / "dc_lease_annual.toml", tmp_path / "tables.toml")
    wb = openpyxl.load_workbook(TEMPLATES / "dc_lease_annual.xlsx")
    ws = wb["Inputs"]
    rate, term, loan = "Inputs!$C$22", "Inputs!$C$23", "Inputs!$C$21"
    assert isinstance(ws["C22"].value, float) and isinstance(ws["C23"].value, int)
    ws["G40"] = f"=PMT({rate},{term},-{loan})"           # one-variable: formula above the results
    for i, r in enumerate(RATES):
        ws[f"F{41 + i}"] = r                              # inputs down the left column
    ws["F50"] = f"=PMT({rate},{term},-{loan})"           # two-variable: formula at the corner
    for j, n in enumerate(TERMS):
        ws.cell(50, 7 + j, n)                             # terms along the top row
    for i, r in enumerate(RATES):
        ws[f"F{51 + i}"] = r
    if feed_table:
        ws["G60"] = "=MAX(G41:G43)"
    wb.save(src)
    with zipfile.ZipFile(src) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = _insert(_insert(xml, 41, 7, '<f t="dataTable" ref="G41:G43" dt2D="0" '
                                                        'dtr="0" r1="C22"/>'),
                                                51, 7, '<f t="dataTable" ref="G51:I53" dt2D="1" dtr="0" r1="C23" '
                                                'r2="C22"/>').encode()
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return src


def _insert(xml: str, row: int, col: int, formula: str) -> str:
    """Put a data-table master cell into a row that already exists (after its column's left cell)."""
    ref = f"{openpyxl.utils.get_column_letter(col)}{row}"
    left = f"{openpyxl.utils.get_column_letter(col - 1)}{row}"
    start = xml.index(f'<c r="{left}"')
    end = xml.index("</c>", start) + len("</c>")
    return xml[:end] + f'<c r="{ref}">{formula}</c>' + xml[end:]


def test_one_and_two_variable_tables_match_a_loop(tmp_path):
    src = _with_tables(tmp_path)
    result = convert(src, tmp_path / "out.xlsx", curve=CurveChoice(preset="h100-stress"))
    ws = openpyxl.load_workbook(result.output, data_only=True)["Inputs"]
    loan, term = ws["C21"].value, ws["C23"].value
    for i, r in enumerate(RATES):  # the loop: numpy-financial's PMT at each rate
        assert math.isclose(ws.cell(41 + i, 7).value, float(npf.pmt(r, term, -loan)), rel_tol=1e-9)
        for j, n in enumerate(TERMS):
            assert math.isclose(ws.cell(51 + i, 7 + j).value, float(npf.pmt(r, n, -loan)), rel_tol=1e-9)
    # the inputs are back as they were, and the model's own numbers are the base case
    assert ws["C22"].value == openpyxl.load_workbook(src, data_only=True)["Inputs"]["C22"].value
    formulas = openpyxl.load_workbook(result.output)["Inputs"]
    assert formulas["G41"].value is not None  # the table master keeps its TABLE definition


def test_a_formula_reading_a_table_is_evaluated_after_the_table(tmp_path):
    """Excel calculates a table before the formulas that read it: G60 = MAX(G41:G43) is the largest
    debt service of the table, checked against numpy-financial's PMT (never the engine's own)."""
    src = _with_tables(tmp_path, feed_table=True)
    result = convert(src, tmp_path / "out.xlsx", curve=CurveChoice(preset="h100-stress"))
    cached = openpyxl.load_workbook(src, data_only=True)["Inputs"]
    term, loan = cached["C23"].value, cached["C21"].value
    want = max(float(npf.pmt(r, term, -loan)) for r in RATES)
    got = openpyxl.load_workbook(result.output, data_only=True)["Inputs"]["G60"].value
    assert math.isclose(got, want, rel_tol=1e-9)
