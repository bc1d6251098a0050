"""Dynamic arrays (issue 8): each function against a hand-written expectation, written back as spills.

The workbook is written as Excel 365 writes one (xlsxwriter: ``_xlfn.``/``_xlpm.`` prefixes,
array formulas over the spill range with the dynamic-array ``cm`` metadata). The engine computes
it; the values are checked against results worked out by hand from the data, then written back
into the package and read from the spill cells' ``<v>``. LibreOffice 7.4 lacks these functions,
so it is not the oracle here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter
from lxml import etree

from engine.xlsx.package import Package, m
from engine.formula.evaluate import evaluate
from engine.refs import parse_cell
from engine.values import ExcelError
from engine.formula.cached import write_cached_values

DATA = [3, 1, 2, 3, 5]  # Data!A1:A5
LABELS = ["c", "a", "b", "c", "e"]  # Data!B1:B5

# (name, spill range, formula, expected values row by row) — worked out by hand from DATA/LABELS
CASES = [
    ("SEQUENCE", "D1:E3", "=SEQUENCE(3,2,10,5)", [[10, 15], [20, 25], [30, 35]]),
    ("FILTER", "G1:G3", "=FILTER(A1:A5,A1:A5>2)", [[3], [3], [5]]),
    ("SORT", "I1:I5", "=SORT(A1:A5,1,-1)", [[5], [3], [3], [2], [1]]),
    ("UNIQUE", "K1:K4", "=UNIQUE(A1:A5)", [[3], [1], [2], [5]]),
    ("XLOOKUP", "M1", '=XLOOKUP(5,A1:A5,B1:B5,"none")', [["e"]]),
    ("XLOOKUP-missing", "N1", '=XLOOKUP(4,A1:A5,B1:B5,"none")', [["none"]]),
    # LET and LAMBDA names as Excel stores them (_xlpm.), which xlsxwriter leaves to the author
    ("LET", "P1", "=LET(_xlpm.x,A1*2,_xlpm.y,_xlpm.x+1,_xlpm.x*_xlpm.y)", [[42]]),  # x = 6, y = 7
    ("LAMBDA", "R1", "=LAMBDA(_xlpm.a,_xlpm.b,_xlpm.a*_xlpm.b)(A2,A3)", [[2]]),  # 1 × 2
    ("MAP", "T1:T5", "=MAP(A1:A5,LAMBDA(_xlpm.v,_xlpm.v*10))", [[30], [10], [20], [30], [50]]),
    ("MAP-two-arrays", "V1:V5", "=MAP(A1:A5,B1:B5,LAMBDA(_xlpm.v,_xlpm.t,_xlpm.v&_xlpm.t))",
     [["3c"], ["1a"], ["2b"], ["3c"], ["5e"]]),
    ("BYROW", "X1:X5", "=BYROW(A1:B5,LAMBDA(_xlpm.r,COUNT(_xlpm.r)))", [[1], [1], [1], [1], [1]]),
    ("BYCOL", "Z1:AA1", "=BYCOL(A1:B5,LAMBDA(_xlpm.c,COUNTA(_xlpm.c)))", [[5, 5]]),
    # D1# and @ as Excel stores them: _xlfn.ANCHORARRAY(D1), _xlfn.SINGLE(…); and as typed
    ("spill-operator", "AC1", "=SUM(_xlfn.ANCHORARRAY(D1))", [[135]]),  # 10+15+20+25+30+35
    ("spill-operator-typed", "AD1", "=SUM(D1#)", [[135]]),
    ("single", "AE1", "=_xlfn.SINGLE(A1:A5)+100", [[103]]),  # row 1 of A1:A5
    ("single-typed", "AF1", "=@A1:A5+100", [[103]]),
    ("inside-a-formula", "AG1", "=SUM(MAP(A1:A5,LAMBDA(_xlpm.v,_xlpm.v*2)))+LAMBDA(_xlpm.x,_xlpm.x)(1)",
     [[29]]),  # 2·14 + 1
]


def _book(tmp_path: Path) -> Path:
    path = tmp_path / "dynamic.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"use_future_functions": True})
    ws = wb.add_worksheet("Data")
    for row, (value, label) in enumerate(zip(DATA, LABELS, strict=True)):
        ws.write_number(row, 0, value)
        ws.write_string(row, 1, label)
    for _name, spill, formula, _expected in CASES:
        ws.write_dynamic_array_formula(spill, formula)
    wb.close()
    return path


@pytest.fixture(scope="module")
def computed(tmp_path_factory):
    path = _book(tmp_path_factory.mktemp("dynamic"))
    package = Package.from_bytes(path.read_bytes())
    evaluation = evaluate(path.read_bytes(), path=path)
    write_cached_values(package, evaluation, path=path)
    return package, evaluation


def _cells(spill: str) -> list[list[tuple[int, int]]]:
    first, _, last = spill.partition(":")
    (r1, c1), (r2, c2) = parse_cell(first), parse_cell(last or first)
    return [[(r, c) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]


@pytest.mark.parametrize(("name", "spill", "formula", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_function_matches_the_hand_result(computed, name, spill, formula, expected):
    _package, evaluation = computed
    got = [[evaluation.get("Data", r, c) for r, c in row] for row in _cells(spill)]
    want = [[float(v) if isinstance(v, int) else v for v in row] for row in expected]
    assert got == want, formula


@pytest.mark.parametrize(("name", "spill", "formula", "expected"), CASES, ids=[c[0] for c in CASES])
def test_results_are_written_back_as_spills(computed, name, spill, formula, expected):
    package, _evaluation = computed
    root = package.xml(package.sheet_part("Data"))
    by_ref = {c.get("r"): c for c in root.iter(m("c"))}
    anchor = by_ref[spill.partition(":")[0]]
    assert anchor.find(m("f")).get("t") == "array" and anchor.find(m("f")).get("ref") == spill
    assert anchor.get("cm") is not None  # the dynamic-array flag stays
    from openpyxl.utils import get_column_letter

    stored = [[by_ref[f"{get_column_letter(c)}{r}"].findtext(m("v")) for r, c in row] for row in _cells(spill)]
    want = [[f"{v:g}" if isinstance(v, (int, float)) else v for v in row] for row in expected]
    assert stored == want, etree.tostring(anchor)


def test_a_lambda_over_a_computed_array_is_refused_by_name(tmp_path):
    """MAP over an array computed on the fly is not unrolled: the engine's #NAME? names MAP."""
    from engine.formula.support import check_values

    path = tmp_path / "computed.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"use_future_functions": True})
    wb.add_worksheet("Data").write_dynamic_array_formula("A1:A3", "=MAP(SEQUENCE(3),LAMBDA(v,v*2))")
    wb.close()
    evaluation = evaluate(path.read_bytes(), path=path)
    value = evaluation.get("Data", 1, 1)
    assert value == ExcelError("#NAME?")
    from engine.errors import UnsupportedFunctionError

    with pytest.raises(UnsupportedFunctionError, match="function MAP is not supported"):
        check_values({("Data", 1, 1): value}, {("Data", 1, 1): "_xlfn.MAP(_xlfn.SEQUENCE(3),_xlfn.LAMBDA(_xlpm.v,_xlpm.v*2))"},
                     path=path)
