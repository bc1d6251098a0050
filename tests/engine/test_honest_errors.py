"""Errors that never lie (issue 12): an unsupported function is named even when IFERROR hides it, a
malformed file is named as one, a gpucredit bug is reported as a bug, and a period with no number
reads n/a instead of failing the conversion."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEMPLATES, parts_of, write_parts
from engine.convert import convert
from engine.errors import MalformedWorkbookError, UnsupportedFunctionError
from engine.xlsx.load import load

MODEL = "xl/worksheets/sheet2.xml"  # dc_lease_annual's Model sheet
# Excel: VDB(1000, 100, 10, 0, 1) = 200 (double-declining first year: 1000 × 2/10); the engine lacks VDB,
# so without a check by name IFERROR would turn its #NAME? into a plausible 0.
VDB = "IFERROR(VDB(1000,100,10,0,1),0)"


def _lease(tmp_path: Path, edit: tuple[bytes, bytes] | None = None) -> Path:
    src = tmp_path / "dc_lease_annual.xlsx"
    shutil.copy2(TEMPLATES / "dc_lease_annual.toml", tmp_path / "dc_lease_annual.toml")
    parts = parts_of(TEMPLATES / "dc_lease_annual.xlsx")
    if edit is not None:
        old, new = edit
        assert parts[MODEL].count(old) == 1, old
        parts[MODEL] = parts[MODEL].replace(old, new)
    return write_parts(src, parts)


def test_a_function_the_engine_lacks_is_named_even_inside_iferror(tmp_path):
    """CFADS E13 reads the rent; ``+VDB(...)*0`` leaves its cached value as Excel computed it."""
    src = _lease(tmp_path, (b'<c r="E13" s="23"><f>E11-E12</f>',
                            f'<c r="E13" s="23"><f>E11-E12+{VDB}*0</f>'.encode()))
    with pytest.raises(UnsupportedFunctionError) as err:
        convert(src, tmp_path / "out.xlsx")
    assert "function VDB" in str(err.value) and "Model!E13" in str(err.value)
    assert str(err.value).startswith("dc_lease_annual.xlsx: Model!E13: ")
    assert not (tmp_path / "out.xlsx").exists()


def test_a_function_the_engine_lacks_outside_the_rents_reach_keeps_excels_value(tmp_path):
    """A memo cell (nothing the rent reaches) with Excel's cached 200: converted, and the output keeps 200."""
    xml = parts_of(TEMPLATES / "dc_lease_annual.xlsx")[MODEL]
    start = xml.index(b'<row r="30">')
    row = xml[start:xml.index(b"</row>", start)]
    src = _lease(tmp_path, (row + b"</row>", row + f'<c r="Z30"><f>{VDB}</f><v>200</v></c></row>'.encode()))
    result = convert(src, tmp_path / "out.xlsx")
    assert result.kept_excel_values >= 1
    import openpyxl

    wb = openpyxl.load_workbook(tmp_path / "out.xlsx", data_only=True)
    assert wb["Model"]["Z30"].value == 200


@pytest.mark.parametrize(("formulas", "expected"), [
    # a call's name in a string literal or a quoted sheet name is no call; the quick search over the
    # whole sheet may stop at it, then the formula-by-formula search decides
    ({"A1": '"NOSUCHFUNC(1)"&SUM(B1:B3)', "A2": "'VDB (old)'!B1+1"}, {}),
    ({"A1": "SUM(B1:B3)", "A2": "MAX(B1,2)"}, {}),
    ({"A1": '"NOTE(x)"&SUM(B1)', "A2": f"1+{VDB}", "A3": "ROUND(B1,2)"}, {("S", 2, 1): frozenset({"VDB"})}),
])
def test_the_cells_calling_a_function_the_engine_lacks_are_found_and_no_others(formulas, expected):
    from engine.formula.support import unsupported_in_sheet
    from engine.xlsx.package import parse_xml
    from engine.xlsx.sheet import SheetXml

    cells = "".join(f'<row r="{ref[1:]}"><c r="{ref}"><f>{text.replace("&", "&amp;")}</f></c></row>'
                    for ref, text in formulas.items())
    sheet = SheetXml(parse_xml(f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                               f'<sheetData>{cells}</sheetData></worksheet>'.encode()))
    assert unsupported_in_sheet(sheet, "S") == expected


@pytest.mark.parametrize("old, new, what", [
    (b'<c r="E13" s="23">', b'<c r="R1C1" s="23">', "cell address r='R1C1'"),
    (b'<row r="30">', b'<row r="inf">', "row number r='inf'"),
    (b'<c r="E13" s="23">', b'<c r="E13" s="-1">', "style index s='-1'"),
], ids=["cell-address", "row-number", "style-index"])
def test_a_value_excel_never_writes_is_named_as_a_damaged_file(tmp_path, old, new, what):
    src = _lease(tmp_path, (old, new))
    with pytest.raises(MalformedWorkbookError) as err:
        load(src)
    message = str(err.value)
    assert message.startswith("dc_lease_annual.xlsx: Model") and what in message and "re-save it in Excel" in message
    with pytest.raises(MalformedWorkbookError):
        convert(src, tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


def test_a_blank_rent_cell_converts_as_no_rent(tmp_path):
    """The last rent cell left blank (a rent holiday as some models write it): converted, the period's
    rent read as Excel reads a blank, 0, in --json and on Credit_Summary alike (this failed with "the
    workbook's XML holds a value Excel would not write"). Excel's cached values are dropped so the
    blank cell does not disagree with them."""
    import re

    parts = parts_of(TEMPLATES / "dc_lease_annual.xlsx")
    for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
        parts[name] = re.sub(rb"(</f>)<v>[^<]*</v>", rb"\1", parts[name])
    xml = parts[MODEL]
    i = xml.index(b'<c r="N11"')
    parts[MODEL] = xml[:i] + xml[xml.index(b"</c>", i) + len(b"</c>"):]
    src = write_parts(tmp_path / "dc_lease_annual.xlsx", parts)
    shutil.copy2(TEMPLATES / "dc_lease_annual.toml", tmp_path / "dc_lease_annual.toml")
    result = convert(src, tmp_path / "out.xlsx")
    assert result.rent_before[-1] == 0.0
    import openpyxl

    ws = openpyxl.load_workbook(tmp_path / "out.xlsx", data_only=True)["Credit_Summary"]
    rows = [r for r in range(1, ws.max_row + 1) if getattr(ws.cell(r, 1).value, "year", None) == 2035]
    header = [c.value for c in ws[rows[0] - 10]]
    rent_before = header.index("rent (USD millions) before") + 1
    assert ws.cell(rows[0], rent_before).value == 0


def test_an_undefined_metric_reads_n_a_on_the_summary_sheet():
    """A metric with nothing to measure reads n/a (JSON null), never 0; an unbounded LTV says so; a period
    with no number reads n/a; and nothing raises."""
    import math
    from dataclasses import replace

    from engine.report.metric_table import BY_KEY, json_value
    from engine.report.period_table import _number
    from engine.report.summary import metric_cell
    from models.credit import CreditMetrics

    empty = CreditMetrics(**{key: None for key in BY_KEY})
    assert metric_cell(BY_KEY["lgd_at_breach"], empty, False) == "n/a"
    assert metric_cell(BY_KEY["max_ltv"], replace(empty, max_ltv=math.inf), False) == "∞ (unsecured)"
    assert json_value(math.inf) is None and json_value(None) is None
    assert _number(math.nan) == "n/a" and _number(2.5) == 2.5


def test_a_bug_is_reported_as_an_internal_error_not_as_the_users_file(tmp_path):
    """A bug (here: a ValueError raised deep in the pipeline) gives one line that says so, exit 3."""
    src = _lease(tmp_path)
    code = (
        "import sys, engine.report.credit_report as s\n"
        "def broken(*a, **k): raise ValueError('a cell cannot hold NaN or infinity')\n"
        "s.build_summary = broken\n"
        "from engine.shell.cli import main\n"
        f"sys.argv = ['gpucredit', 'convert', {str(src)!r}, '-o', {str(tmp_path / 'out.xlsx')!r}]\n"
        "main()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: internal error in gpucredit (a bug")
    assert "re-save" not in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out.xlsx").exists()


def test_the_texts_searched_for_functions_the_engine_lacks_are_the_engines():
    # the engine reads rewritten texts (a LAMBDA unrolled, an intersection spelled out): those are searched
    from engine.formula.support import unsupported_in_sheet
    from engine.xlsx.package import parse_xml
    from engine.xlsx.sheet import SheetXml

    sheet = SheetXml(parse_xml(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                               b'<sheetData><row r="1"><c r="A1"><f>MYFN(1)</f></c><c r="B1"><f>NOSUCHFUNC(2)</f>'
                               b'</c></row></sheetData></worksheet>'))
    rewrites = {(1, 1): VDB, (1, 2): "SUM(2)"}
    assert unsupported_in_sheet(sheet, "S", rewrites=rewrites) == {("S", 1, 1): frozenset({"VDB"})}
    assert unsupported_in_sheet(sheet, "S") == {("S", 1, 1): frozenset({"MYFN"}), ("S", 1, 2): frozenset({"NOSUCHFUNC"})}


def test_a_value_the_engine_could_not_name_is_refused_with_the_function_when_written(tmp_path):
    # write_cached_values keeps only the #NAME? cells' formulas for check_values: the error names the
    # function and the cell, and nothing is cached
    import xlsxwriter

    from engine.formula.cached import write_cached_values
    from engine.formula.evaluate import evaluate
    from engine.xlsx.package import Package

    path = tmp_path / "name.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("S")
    ws.write_number("A1", 2)
    ws.write_formula("B1", "=A1*2")
    ws.write_formula("B2", "=NOSUCHFUNC(A1)+1")
    wb.close()
    evaluation = evaluate(path.read_bytes(), path=path)
    with pytest.raises(UnsupportedFunctionError, match=r"function NOSUCHFUNC .*S!B2"):
        write_cached_values(Package.from_bytes(path.read_bytes()), evaluation, path=path)
