"""Excel's own rules where formualizer differs, reproduced on the engine's private copy (issue 18 §3).

Each workbook is written with xlsxwriter with the value Excel gives for every formula, worked out
by hand (or with numpy-financial) in the test; the engine must reproduce them (reconcile first).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy_financial as npf
import pytest

from engine.formula.evaluate import evaluate
from engine.formula.reconcile import MismatchCause, reconcile
from engine.formula.rewrites import excel_comparisons, offset_extents
from engine.values import ExcelError
from engine.xlsx.load import load
from xlsx_books import Array, Book, Dynamic, F, write_book


def _reconciled(path: Path):
    source = load(path)
    ev = evaluate(source.data, path=source.path)
    return ev, reconcile(source.package, ev)


def test_equality_compares_numbers_to_15_significant_digits(tmp_path):
    # Excel: 0.1+0.2 (0.30000000000000004 in binary) equals 0.3; text compares without case;
    # a blank equals 0; a number never equals text
    sheet = {"A1": 0.1, "A2": 0.2, "A3": F("A1+A2", 0.1 + 0.2), "A4": 0.3,
             "B1": F('IF(A3=A4,"OK","Check")', "OK"), "B2": F("A3<>A4", False),
             "B3": F("SUMPRODUCT(--(A1:A3=A4))", 1), "B4": F('"Abc"="aBC"', True),
             "B5": F("A9=0", True), "B6": F('1="1"', False), "B7": F("(A3=A4)=TRUE", True),
             "B8": F("A3>=A4", True)}  # >= is IEEE's: 0.30000000000000004 >= 0.3
    ev, result = _reconciled(write_book(tmp_path / "eq.xlsx", Book({"S": sheet})))
    assert [str(m) for m in result.mismatches] == []
    assert ev.get("S", 1, 2) == "OK" and ev.get("S", 3, 2) == 1.0


def test_comparison_rewrite_keeps_precedence_and_strings():
    assert excel_comparisons('IF(A1=B1,"x=y",C1<>0)') == 'IF(GPUCREDIT.EQ(A1,B1),"x=y",GPUCREDIT.NE(C1,0))'
    assert excel_comparisons("-A1=B1&C1") == "GPUCREDIT.EQ(-A1,B1&C1)"  # & binds tighter than =
    assert excel_comparisons("a<b=c") == "GPUCREDIT.EQ(a<b,c)"  # comparisons associate to the left
    assert excel_comparisons("A1>=2") == "A1>=2"


def test_value_functions_apply_to_each_element_of_an_array(tmp_path):
    values = [-2.0, -1.0, 0.0, 1.5, 2.0]
    sheet = {f"C{i + 1}": v for i, v in enumerate(values)}
    sheet["D1"] = F("SUMPRODUCT(ABS(C1:C5))", sum(abs(v) for v in values))  # 6.5
    sheet["D2"] = Array("MAX(ABS(C1:C5-1))", "D2", [[3.0]])  # |-2 - 1|
    sheet["D3"] = Dynamic("_xlfn.LET(_xlpm.x,C1:C5,MAX(ABS(_xlpm.x-C1:C5))<0.01)", [[True]])
    sheet["D4"] = F("SUMPRODUCT(SIGN(C1:C5))", 0.0)  # -1 -1 0 1 1
    sheet["D5"] = F("SUMPRODUCT(INT(C1:C5))", -2 - 1 + 0 + 1 + 2)
    sheet["D6"] = F("ABS(C1)", 2.0)  # a single value, as ever
    ev, result = _reconciled(write_book(tmp_path / "abs.xlsx", Book({"S": sheet})))
    assert [str(m) for m in result.mismatches] == []
    assert ev.get("S", 1, 4) == 6.5 and ev.get("S", 3, 4) is True


def test_offset_counts_a_negative_height_or_width_back_from_the_reference(tmp_path):
    sheet = {f"E{i}": float(i) for i in range(1, 7)} | {"G1": 1.0, "H1": 2.0, "I1": 3.0, "J1": 4.0, "K1": 5.0,
                                                       "L1": 6.0, "H2": 3.0}
    sheet |= {"F1": F("SUM(OFFSET(E6,0,0,-3))", 4 + 5 + 6), "F2": F("SUM(OFFSET(E6,,,-2,1))", 5 + 6),
              "F3": F("SUM(OFFSET(E6,0,0,-H2))", 15.0), "F4": F("SUM(OFFSET(L1,0,0,1,-4))", 3 + 4 + 5 + 6),
              "F5": F("SUM(OFFSET(L1,,,,-H2))", 4 + 5 + 6),  # height omitted: the reference's (one row)
              "F6": F("SUM(OFFSET(E1,1,0,2))", 2 + 3)}  # positive extents unchanged
    ev, result = _reconciled(write_book(tmp_path / "offset.xlsx", Book({"S": sheet})))
    assert [str(m) for m in result.mismatches] == []
    assert offset_extents("OFFSET(A1,1,2,3,4)") == "OFFSET(A1,1,2,3,4)"


def test_formulatext_is_the_text_excel_shows(tmp_path):
    sheet = {"E1": 1.0, "E2": 2.0, "E3": 3.0, "M1": F("E1*2+SUM(E2:E3)", 7.0),
             "M2": F("_xlfn.FORMULATEXT(M1)", "=E1*2+SUM(E2:E3)"),
             "M3": F('_xlfn.FORMULATEXT(M4)', '=IF(E1=1,"a ""b""",CONCAT("c"))'),  # shown without _xlfn.
             "M4": F('IF(E1=1,"a ""b""",_xlfn.CONCAT("c"))', 'a "b"')}
    ev, result = _reconciled(write_book(tmp_path / "ft.xlsx", Book({"S": sheet})))
    assert [str(m) for m in result.mismatches] == []
    assert ev.get("S", 2, 13) == "=E1*2+SUM(E2:E3)"  # formualizer alone answers "=E1 * 2 + SUM(E2:E3)"


def test_environment_functions_keep_excels_value(tmp_path):
    """Excel last calculated on 2025-12-01 at 12:00 (serial 45,992.5), with the file at C:\\Deals\\env.xlsx."""
    path = "C:\\Deals\\[env.xlsx]S"
    sheet = {"A1": 1.0,
             "N1": F('MID(CELL("filename",A1),FIND("]",CELL("filename",A1))+1,31)', "S"),
             "N2": F('CELL("filename")', path), "N3": F('N1&" sheet"', "S sheet"),
             "O1": F("NOW()", 45_992.5), "O2": F("TODAY()", 45_992.0),
             "O3": F("YEAR(TODAY())+A1*0", 2025.0),  # reads the model too: reproduced by Excel's clock
             "O4": F("RAND()", 0.123), "O5": F("O4*2", 0.246), "O6": F('CELL("row",A1)', 1.0)}
    assert dt.date(1899, 12, 30) + dt.timedelta(days=45_992) == dt.date(2025, 12, 1)
    ev, result = _reconciled(write_book(tmp_path / "env.xlsx", Book({"S": sheet})))
    assert [str(m) for m in result.mismatches] == []
    assert sorted(result.environment) == ["S!N1", "S!N2", "S!O1", "S!O2", "S!O3", "S!O4"]
    assert ev.get("S", 3, 14) == "S sheet" and ev.get("S", 5, 15) == 0.246
    assert result.to_json()["environment"]["count"] == 6 and result.share == 1.0  # O5, N3, O6 checked


def test_a_legacy_array_fills_its_range_as_excel_does(tmp_path):
    sheet = {"P1": 7.0, "Q1": Array("P1", "Q1:S1", [[7.0, 7.0, 7.0]]),  # one value fills every cell
             "T1": 1.0, "U1": 2.0, "V1": 3.0,
             "T2": Array("T1:V1*2", "T2:V3", [[2.0, 4.0, 6.0], [2.0, 4.0, 6.0]])}  # one row repeats down
    ev, result = _reconciled(write_book(tmp_path / "cse.xlsx", Book({"S": sheet})))
    assert [str(m) for m in result.mismatches] == []
    assert [ev.get("S", 1, c) for c in (17, 18, 19)] == [7.0, 7.0, 7.0]


def test_a_loop_starts_from_excels_values_and_lands_on_excels_point(tmp_path):
    """W1 = 100 + 0.9·W2, W2 = W1: the fixed point is 1000 (100 / (1 − 0.9)). Iterated from blanks
    with Excel's default change of 0.001, the engine would stop near 999.99; from Excel's values
    it stays at 1000."""
    sheet = {"W1": F("100+0.9*W2", 1000.0), "W2": F("W1", 1000.0), "W3": F("W2*2", 2000.0)}
    ev, result = _reconciled(write_book(tmp_path / "loop.xlsx", Book({"S": sheet}, iterate=(100, 0.001))))
    assert [str(m) for m in result.mismatches] == []
    assert math.isclose(ev.get("S", 1, 23), 1000.0, rel_tol=1e-12)
    assert ("S", 1, 23) in ev.circular


def test_a_workbook_nobody_calculated_is_not_checked_against_zeros(tmp_path):
    sheet = {"A1": 5.0, "A2": F("A1*2", 10.0)}
    _ev, result = _reconciled(write_book(tmp_path / "raw.xlsx", Book({"S": sheet}, calculated=False)))
    report = result.to_json()
    assert result.uncalculated and report["share"] is None and report["total"] == 0
    assert report["note"].startswith("no Excel values to check against")


def test_mismatch_causes_are_named(tmp_path):
    sheet = {"Z1": 5.0, "Z2": F("Z1", 4.0),  # a plain reference: Excel's value is stale
             "Z3": F("Z1+1", 7.0), "Z4": F("Z3*2", 14.0),  # Z3 differs (other), Z4 because Z3 does
             "Z5": F("IF(Z1*3=15.000001,1,0)", 1.0)}  # a comparison that Excel answered otherwise
    _ev, result = _reconciled(write_book(tmp_path / "causes.xlsx", Book({"S": sheet})))
    causes = {m.cell: m.cause for m in result.mismatches}
    assert causes == {"Z2": MismatchCause.STALE, "Z3": MismatchCause.OTHER, "Z4": MismatchCause.PRECEDENT,
                      "Z5": MismatchCause.EQUALITY}


def test_solvers_agree_to_excels_documented_accuracy(tmp_path):
    flows = [-1.0, 1000.0, 0.0, 0.0]  # a rate of 999 (99,900 %): large enough for 1e-9 to exceed 1e-6
    exact = float(npf.irr(flows))
    assert math.isclose(exact, 999.0, rel_tol=1e-12)
    sheet = {"A1": flows[0], "A2": flows[1], "A3": flows[2], "A4": flows[3],
             "B1": F("IRR(A1:A4)", exact * (1 + 5e-9)),  # Excel stops within 0.000001 percent
             "B2": F("IRR(A1:A4)*0+0.5", 0.5)}
    _ev, result = _reconciled(write_book(tmp_path / "irr.xlsx", Book({"S": sheet})))
    assert result.mismatches == () and result.solver == ("S!B1",)


def test_engine_values_are_plain_cell_values(tmp_path):
    sheet = {"A1": F("1/0", ExcelError("#DIV/0!").code)}
    ev, _result = _reconciled(write_book(tmp_path / "err.xlsx", Book({"S": sheet})))
    assert ev.get("S", 1, 1) == ExcelError("#DIV/0!")


@pytest.mark.parametrize("factor", [1.01, 0.5])
def test_perturbed_cells_are_restored_exactly(tmp_path, factor):
    sheet = {"A1": 100.0, "A2": F("A1*3", 300.0), "A3": F("A2+A1", 400.0), "A4": F("SUM(A1:A3)", 800.0)}
    source = load(write_book(tmp_path / "p.xlsx", Book({"S": sheet})))
    ev = evaluate(source.data, path=source.path)
    before = [ev.get("S", r, 1) for r in range(1, 5)]
    with ev.perturbed([("S", 2, 1)], factor) as changed:
        assert changed == [("S", 2, 1)]
        assert ev.get("S", 3, 1) == 300.0 * factor + 100.0
    assert [ev.get("S", r, 1) for r in range(1, 5)] == before
    assert ev.formula("S", 2, 1) is not None  # the formula is back, not its value


def test_formulatext_of_a_rent_cell_shows_its_new_formula_after_conversion(tmp_path):
    """The engine's copy holds FORMULATEXT's answer as text; when the conversion rewires the rent cell it
    reads, the answer follows (the output caches the formula the written cell holds)."""
    import shutil

    import openpyxl

    from conftest import TEMPLATES, parts_of, write_parts
    from engine.convert import convert

    src = tmp_path / "lease.xlsx"
    shutil.copy2(TEMPLATES / "dc_lease_annual.xlsx", src)
    shutil.copy2(TEMPLATES / "dc_lease_annual.toml", tmp_path / "lease.toml")
    parts = parts_of(src)
    xml = parts["xl/worksheets/sheet2.xml"].decode()
    cell = '<c r="P11" t="str"><f>_xlfn.FORMULATEXT(F11)</f><v>=E11*(1+Inputs!$C$13)*F8</v></c>'
    assert '<c r="N11"' in xml and "P11" not in xml
    start = xml.index('<c r="N11"')
    end = xml.index("</c>", start) + len("</c>")
    parts["xl/worksheets/sheet2.xml"] = (xml[:end] + cell + xml[end:]).encode()
    write_parts(src, parts)
    before = evaluate(load(src).data, path=src)
    assert before.get("Model", 11, 16) == "=E11*(1+Inputs!$C$13)*F8"
    result = convert(src, tmp_path / "out.xlsx")
    formulas = openpyxl.load_workbook(result.output)["Model"]
    values = openpyxl.load_workbook(result.output, data_only=True)["Model"]
    assert formulas["F11"].value.startswith("=GPU_Curve!")
    assert values["P11"].value == formulas["F11"].value
