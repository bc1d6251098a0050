"""Legacy formulas evaluated as Excel evaluates them: implicit intersection, ``@``, one-cell arrays.

The rewrite rules are checked on formula text (hand-written expectations, from Excel's rule: a
multi-cell reference where one value is wanted reads the cell in the formula's row or column);
the engine's results on a generated workbook are checked against hand-computed values and
against LibreOffice, which evaluates legacy formulas with the same rule.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from conftest import parts_of
from engine.formula.legacy import intersect_formula
from engine.xlsx.names import Names
from engine.xlsx.package import Package
from engine.formula.evaluate import evaluate
from engine.refs import Area, parse_area
from engine.values import ExcelError


class _Names(Names):
    """Names defined in the test, without a workbook."""

    def __init__(self, areas: dict[str, str]) -> None:  # noqa: D107 - a test double
        self._areas = {(None, name.upper()): parse_area(text) for name, text in areas.items()}
        self._multi_cell = frozenset(n for (_s, n), a in self._areas.items() if not a.single_cell)


NAMES = _Names({"outYear": "'Cash Flow'!$B$2:$CX$2", "Pmt_Nbr": "'Sched'!$B$18:$B$537", "rate": "Inputs!$B$3"})

CASES = [
    # (formula, sheet, row, column, expected rewrite) — Excel's rule applied by hand
    ('IF(ISNUMBER(outYear),C62*2,"")', "Inputs", 62, 4, "IF(ISNUMBER('Cash Flow'!$D$2),C62*2,\"\")"),
    ("SUM(A1:A10)+A1:A10*2", "S", 5, 3, "SUM(A1:A10)+$A$5*2"),  # SUM takes the range, + takes a value
    ("SUMPRODUCT((A1:A10>0)*B1:B10)", "S", 5, 3, "SUMPRODUCT((A1:A10>0)*B1:B10)"),  # array argument
    ("MATCH(1,outYear,0)+outYear", "S", 5, 300, "MATCH(1,outYear,0)+#VALUE!"),  # column 300 is past CX
    ("NPV(rate/100, C80:CX80)", "S", 8, 5, "NPV(rate/100, C80:CX80)"),
    ("A1:B3", "S", 2, 2, "$B$2"),  # the whole result of a formula is one value
    ("A1:B3", "S", 2, 9, "#VALUE!"),  # a two-dimensional range needs both row and column inside it
    ("'x y'!C:C+Sheet2!3:3", "S", 7, 4, "'x y'!$C$7+Sheet2!$D$3"),
    ("SUM(A1:INDEX(B:B,2))", "S", 3, 3, "SUM(A1:INDEX(B:B,2))"),  # a reference built with ':'
    ("IF(A1>0,B1:B9,C1:C9)", "S", 4, 1, "IF(A1>0,$B$4,$C$4)"),
    ("SUM(IF(A1>0,B1:B9,C1:C9))", "S", 4, 1, "SUM(IF(A1>0,B1:B9,C1:C9))"),  # IF passes the reference on
    ("VLOOKUP(A1:A9,B1:C9,2,FALSE)", "S", 3, 5, "VLOOKUP($A$3,B1:C9,2,FALSE)"),
    ("SUM(IFERROR(A1:A9,0))", "S", 3, 5, "SUM(IFERROR($A$3,0))"),  # legacy Excel needed CSE for the array
    ('_xlfn.SINGLE(Pmt_Nbr)=""', "Sched", 20, 9, '(Sched!$B$20)=""'),
    ("Table1[Amount]*2", "S", 3, 3, "Table1[Amount]*2"),  # structured references are left to the engine
    ("rate*2", "S", 3, 3, "rate*2"),  # a one-cell name needs nothing
]


@pytest.mark.parametrize(("formula", "sheet", "row", "col", "expected"), CASES, ids=[c[0] for c in CASES])
def test_intersections_are_spelled_out(formula, sheet, row, col, expected):
    assert intersect_formula(formula, NAMES, sheet=sheet, row=row, col=col) == expected


def test_array_formulas_only_lose_single():
    # In an array formula every range stays an array; only @ (_xlfn.SINGLE) intersects.
    text = "SUM(A1:A10*B1:B10)+_xlfn.SINGLE(A1:A10)"
    assert intersect_formula(text, NAMES, sheet="S", row=4, col=3, array=True) == "SUM(A1:A10*B1:B10)+($A$4)"


def test_an_unreadable_formula_is_left_alone():
    assert intersect_formula('IF(("', NAMES, sheet="S", row=1, col=1) == 'IF(("'


@pytest.mark.parametrize(("text", "area"), [
    ("'Cash Flow'!$B$2:$CX$2", Area("Cash Flow", 2, 2, 2, 102)),
    ("A:A", Area(None, 1, 1, 1_048_576, 1)),
    ("$3:$5", Area(None, 3, 1, 5, 16_384)),
    ("Sheet1!B7", Area("Sheet1", 7, 2, 7, 2)),
    ("'It''s'!C3:A1", Area("It's", 1, 1, 3, 3)),
], ids=["row", "column", "rows", "cell", "quoted-backwards"])
def test_areas_parse(text, area):
    assert parse_area(text) == area


@pytest.mark.parametrize("text", ["#REF!", "OFFSET(A1,0,0,3)", "[1]Sheet!A1", "A1:XFE3", "Sheet1!A0"])
def test_what_is_not_one_area_is_not_parsed(text):
    assert parse_area(text) is None


def _book(tmp_path: Path) -> Path:
    """Legacy formulas leaning on intersection: names over a row and a column, a whole column."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Model"
    data = wb.create_sheet("Data")
    for col in range(2, 8):  # Data!B2:G2 = 10, 20, … 60; Data!B3:G3 = "", 1, "", 3, "", 5
        data.cell(2, col, 10 * (col - 1))
        data.cell(3, col, (col - 2) if col % 2 else "")
    for row in range(5, 11):  # Model!A5:A10 = 1.5, 3, … 9
        ws.cell(row, 1, 1.5 * (row - 4))
    wb.defined_names["years"] = DefinedName("years", attr_text="Data!$B$2:$G$2")
    wb.defined_names["flags"] = DefinedName("flags", attr_text="Data!$B$3:$G$3")
    wb.defined_names["amounts"] = DefinedName("amounts", attr_text="Model!$A$5:$A$10")
    wb.defined_names["local"] = DefinedName("local", attr_text="Data!$B$2:$G$2", localSheetId=0)
    for col in range(2, 8):
        letter = openpyxl.utils.get_column_letter(col)
        ws[f"{letter}2"] = "=years*2"  # row range read by column
        ws[f"{letter}3"] = '=IF(ISNUMBER(flags),flags*100,"none")'
        ws[f"{letter}4"] = "=SUM(years)"  # SUM takes the whole range
    for row in range(5, 11):
        ws[f"H{row}"] = "=amounts+A:A"  # column range and whole column read by row
    ws["H11"] = "=amounts*1"  # row 11 is outside A5:A10: #VALUE!
    ws["H12"] = "=SUMPRODUCT(amounts*2)"  # an array argument: no intersection
    ws["C6"] = "=local+0"  # sheet-local name
    path = tmp_path / "legacy.xlsx"
    wb.save(path)
    return path


# Hand-computed from the data above.
EXPECTED = {
    **{f"{c}2": 20.0 * (i + 1) for i, c in enumerate("BCDEFG")},
    **{f"{c}3": ("none" if i % 2 == 0 else 100.0 * i) for i, c in enumerate("BCDEFG")},
    **{f"{c}4": 210.0 for c in "BCDEFG"},
    **{f"H{row}": 3.0 * (row - 4) for row in range(5, 11)},
    "H11": ExcelError("#VALUE!"), "H12": 63.0, "C6": 20.0,
}


def test_engine_reads_legacy_formulas_as_excel_does(tmp_path, lo_cache):
    path = _book(tmp_path)
    evaluation = evaluate(path.read_bytes(), path=path)
    got = {ref: evaluation.get("Model", *openpyxl.utils.cell.coordinate_to_tuple(ref)) for ref in EXPECTED}
    assert got == EXPECTED
    libreoffice = lo_cache(path)
    assert {ref: libreoffice[("Model", ref)] for ref in EXPECTED if ref != "H11"} == {
        ref: v for ref, v in EXPECTED.items() if ref != "H11"}
    assert libreoffice[("Model", "H11")] == "#VALUE!"


def test_single_and_one_cell_arrays(tmp_path):
    """``_xlfn.SINGLE`` (LibreOffice 7.4 lacks it: hand values only) and a one-cell legacy array."""
    path = _book(tmp_path)
    parts = parts_of(path)
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    extra = ('<row r="20"><c r="B20"><f>_xlfn.SINGLE(years)+1</f></c><c r="C20"><f>_xlfn.SINGLE(years)+1</f></c>'
             '<c r="D20"><f t="array" ref="D20">A5:A10*2</f></c>'
             '<c r="E20"><f t="array" ref="E20">_xlfn.SINGLE(A5:A10)*2</f></c></row>')
    parts["xl/worksheets/sheet1.xml"] = sheet.replace("</sheetData>", extra + "</sheetData>").encode()
    package = Package(parts, {})
    evaluation = evaluate(package.to_bytes(), path=path)
    # B20 reads years in column B (10), C20 in column C (20); D20 shows the array's first value
    # (A5*2 = 3); E20 is in row 20, outside A5:A10, so @ gives #VALUE!.
    assert [evaluation.get("Model", 20, c) for c in (2, 3, 4, 5)] == [11.0, 21.0, 3.0, ExcelError("#VALUE!")]


def test_formulas_nested_past_excels_limit_are_left_to_the_engine():
    deep = "(" * 3000 + "A1:A3" + ")" * 3000  # Excel allows 64 levels; this is not an Excel formula
    assert intersect_formula(deep, NAMES, sheet="S", row=2, col=1) == deep
    shallow = "(" * 60 + "A1:A3" + ")" * 60
    assert intersect_formula(shallow, NAMES, sheet="S", row=2, col=1) == "(" * 60 + "$A$2" + ")" * 60


@pytest.mark.parametrize(("formula", "expected"), [
    ("LAMBDA(x,y,x*y)(2,3)", "LET(x,2,y,3,x*y)"),
    ("LAMBDA(x,x+1)()", "#VALUE!"),  # Excel: a LAMBDA called with the wrong number of arguments
    ("1+LAMBDA(x,LAMBDA(y,x*y)(3))(2)", "1+LET(x,2,LET(y,3,x*y))"),
    ("BYROW(A1:B2,LAMBDA(r,SUM(r)))", "VSTACK(LET(r,S!$A$1:$B$1,SUM(r)),LET(r,S!$A$2:$B$2,SUM(r)))"),
    ("MAP(SEQUENCE(3),LAMBDA(v,v))", "MAP(SEQUENCE(3),LAMBDA(v,v))"),  # size unknown: left alone
    ("LAMBDA(x,x+1)(2)*3", "LET(x,2,x+1)*3"),
    ('MAP(A1:A2,LAMBDA(v,v))&"z"', 'VSTACK(HSTACK(LET(v,S!$A$1,v)),HSTACK(LET(v,S!$A$2,v)))&"z"'),
], ids=["call", "wrong-count", "nested", "byrow", "computed-array", "call-then-more", "helper-then-more"])
def test_lambda_helpers_are_unrolled(formula, expected):
    from engine.formula.lambdas import unroll_lambdas

    assert unroll_lambdas(formula, NAMES, "S") == expected


def test_unrolling_stops_before_the_text_explodes():
    from engine.formula.lambdas import MAX_UNROLLED_CHARS, unroll_lambdas

    nested = "MAP(A1:A100,LAMBDA(v,SUM(MAP(B1:B100,LAMBDA(w,SUM(MAP(C1:C100,LAMBDA(u,u*v*w))))))))"
    unrolled = unroll_lambdas(nested, NAMES, "S")
    assert unrolled.startswith("MAP(A1:A100,LAMBDA(v,SUM(VSTACK(")  # the outer level is left alone
    assert len(unrolled) < MAX_UNROLLED_CHARS


@pytest.mark.parametrize(("formula", "left"), [
    ("SUM(E11:N11)+A1", "0+A1"),  # SUM of a plain range: nothing inside can be intersected
    ("SUM('It''s'!B2:C2)*2", "0*2"),
    ("SUM(A1:A3*2)", "SUM(A1:A3*2)"),  # an expression inside: it may be (legacy Excel intersects it)
    ("NPV(r,A1:A9)", "NPV(r,A1:A9)"),  # NPV's first argument is a value
    ("XSUM(A1:B2)", "XSUM(A1:B2)"),
])
def test_the_cheap_pre_check_only_blanks_calls_that_cannot_intersect(formula, left):
    from engine.formula.legacy import without_range_only_calls

    assert without_range_only_calls(formula) == left
