"""Round-trip defects seen on public workbooks (issue 18 §4): shared-formula rent cells keep their own
formula in the comment, text keeps its spaces, sheet names are quoted in messages, and
``inspect --json`` always prints one object with an ``error`` field."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import openpyxl
import pytest

from conftest import ROOT, TEMPLATES, parts_of, write_parts
from engine.convert import CurveChoice, convert
from engine.errors import DetectionError, GpuCreditError


def _lease(tmp_path, name="lease"):
    import shutil

    shutil.copy2(TEMPLATES / "dc_lease_annual.toml", tmp_path / f"{name}.toml")
    return shutil.copy2(TEMPLATES / "dc_lease_annual.xlsx", tmp_path / f"{name}.xlsx")


def test_a_rent_cell_inside_a_shared_formula_keeps_its_own_formula_in_the_comment(tmp_path):
    """Model!F11:N11 written as Excel writes a filled-right formula: F11 the master, the rest members."""
    src = _lease(tmp_path)
    parts = parts_of(src)
    xml = parts["xl/worksheets/sheet2.xml"].decode()
    for k, col in enumerate("FGHIJKLMN"):
        prev = chr(ord(col) - 1)
        own = f"<f>{prev}11*(1+Inputs!$C$13)*{col}8</f>"
        assert own in xml
        xml = xml.replace(own, '<f t="shared" ref="F11:N11" si="90">E11*(1+Inputs!$C$13)*F8</f>' if k == 0
                          else '<f t="shared" si="90"/>')
    parts["xl/worksheets/sheet2.xml"] = xml.encode()
    write_parts(src, parts)
    result = convert(src, tmp_path / "out.xlsx", curve=CurveChoice(preset="h100-stress"))
    model = openpyxl.load_workbook(result.output)["Model"]
    assert "Original: =E11*(1+Inputs!$C$13)*F8" in model["F11"].comment.text
    assert "Original: =F11*(1+Inputs!$C$13)*G8" in model["G11"].comment.text  # not "Original: ="
    assert "Original: =M11*(1+Inputs!$C$13)*N8" in model["N11"].comment.text


def test_text_with_leading_or_trailing_spaces_keeps_them(tmp_path):
    src = _lease(tmp_path)
    parts = parts_of(src)
    xml = parts["xl/worksheets/sheet2.xml"].decode()
    row = '<row r="60"><c r="A60" t="str"><f>"  Note: "&amp;"see inputs "</f><v xml:space="preserve">  Note: see inputs </v></c></row>'
    assert '<row r="60"' not in xml
    xml = xml.replace("</sheetData>", row + "</sheetData>")
    parts["xl/worksheets/sheet2.xml"] = xml.encode()
    write_parts(src, parts)
    result = convert(src, tmp_path / "out.xlsx")
    out = parts_of(result.output)["xl/worksheets/sheet2.xml"].decode()
    assert re.search(r'<c r="A60"[^>]*><f>[^<]*</f><v xml:space="preserve">  Note: see inputs </v>', out)
    assert openpyxl.load_workbook(result.output, data_only=True)["Model"]["A60"].value == "  Note: see inputs "


@pytest.mark.parametrize(("sheet", "shown"), [("Solar Model", "'Solar Model'!G82"), ("Model", "Model!G82"),
                                              ("2026", "'2026'!G82"), ("A1", "'A1'!G82"),
                                              ("O'Brien", "'O''Brien'!G82")])
def test_sheet_names_are_quoted_in_messages_as_in_formulas(sheet, shown):
    error = GpuCreditError("rent cell holds #REF!", path="deal.xlsx", sheet=sheet, cell="G82")
    assert error.one_line() == f"deal.xlsx: {shown}: rent cell holds #REF!"


def _inspect_json(path, *extra):
    proc = subprocess.run([sys.executable, "-m", "engine.shell.cli", "inspect", "--json", str(path), *extra],
                          capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    return proc.returncode, json.loads(lines[0]), proc.stderr


def test_inspect_json_prints_one_object_with_an_error_on_every_failure(tmp_path):
    not_a_book = tmp_path / "notes.xlsx"
    not_a_book.write_text("not a workbook")
    code, doc, err = _inspect_json(not_a_book)
    assert code == 1 and doc["ok"] is False and doc["error"].startswith("notes.xlsx: ") and "error: " in err

    code, doc, _err = _inspect_json(tmp_path / "missing.xlsx")
    assert code == 1 and "no such file" in doc["error"]

    loop = tmp_path / "loop.xlsx"  # evaluation fails: a loop that does not converge
    wb = openpyxl.Workbook()
    wb.active["A1"], wb.active["A2"] = "=A2+1", "=A1+1"
    wb.save(loop)
    code, doc, _err = _inspect_json(loop)
    assert code == 1 and "does not converge" in doc["error"] and doc["ok"] is False

    numbered = tmp_path / "numbered.xlsx"  # detection only guesses: the error says what to do
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Model"
    rows = {1: "Year", 3: "Rental income", 4: "Operating costs", 5: "CFADS", 6: "Debt service", 7: "DSCR"}
    for r, label in rows.items():
        ws.cell(r, 1, label)
    for p in range(6):
        col = openpyxl.utils.get_column_letter(2 + p)
        ws.cell(1, 2 + p, p + 1)
        ws.cell(3, 2 + p, 100.0)
        ws.cell(4, 2 + p, f"=-0.3*{col}3")
        ws.cell(5, 2 + p, f"={col}3+{col}4")
        ws.cell(6, 2 + p, 40.0)
        ws.cell(7, 2 + p, f"={col}5/{col}6")
    wb.save(numbered)
    code, doc, _err = _inspect_json(numbered)
    assert code == 1 and doc["error"] is not None and "--set start=YYYY-MM-DD" in doc["error"]
    with pytest.raises(DetectionError, match=r"--set start=YYYY-MM-DD"):
        convert(numbered, tmp_path / "out.xlsx")


@pytest.mark.parametrize(("name", "loads"), [(" ", True), ("", False)])
def test_a_sheet_named_with_one_space_loads_as_excel_wrote_it(tmp_path, name, loads):
    """Excel for the web saved the CFG corpus model with a sheet named " " (its cover); a name that is
    empty is still refused as damaged."""
    from engine.errors import MalformedWorkbookError
    from engine.xlsx.load import load

    src = _lease(tmp_path)
    parts = parts_of(src)
    book = parts["xl/workbook.xml"].decode()
    first = re.search(r'<sheet [^>]*name="([^"]*)"', book)
    assert first is not None
    parts["xl/workbook.xml"] = book.replace(f'name="{first.group(1)}"', f'name="{name}"', 1).encode()
    write_parts(src, parts)
    if loads:
        assert [e.name for e in load(src).package.sheets()][0] == " "
    else:
        with pytest.raises(MalformedWorkbookError, match="sheet entry without a name"):
            load(src)
