"""Package editing: parts kept byte for byte, relationships and content types consistent."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from lxml import etree

from conftest import TEMPLATES
from engine.xlsx.package import CT_WORKSHEET, REL_WORKSHEET, Package, parse_xml
from engine.xlsx.sheet import SheetXml, expand_shared_formula, set_cached_value
from engine.xlsx.styles import StyleBook, StyleSpec
from engine.values import ExcelError


def test_round_trip_keeps_every_part():
    data = (TEMPLATES / "dc_lease_annual.xlsx").read_bytes()
    again = Package.from_bytes(Package.from_bytes(data).to_bytes())
    original = Package.from_bytes(data)
    assert again.names() == original.names()
    assert all(again.read(n) == original.read(n) for n in original.names())


def test_adding_a_part_wires_relationship_and_content_type():
    package = Package.from_bytes((TEMPLATES / "dc_lease_annual.xlsx").read_bytes())
    part = package.new_part_name("xl/worksheets/sheet{}.xml")
    package.write(part, b"<worksheet/>")
    package.set_content_type(part, CT_WORKSHEET)
    rid = package.add_relationship("xl/workbook.xml", REL_WORKSHEET, part)
    rels = {r[0]: r[2] for r in package.relationships("xl/workbook.xml")}
    assert rels[rid] == part
    assert f'PartName="/{part}"'.encode() in package.read("[Content_Types].xml")
    with zipfile.ZipFile(io.BytesIO(package.to_bytes())) as zf:
        assert zf.read(part) == b"<worksheet/>"


def test_xml_with_a_dtd_is_refused():
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><a>&lol;</a>'
    with pytest.raises(ValueError, match="DTD"):
        parse_xml(bomb)


def _sheet(xml: str) -> SheetXml:
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    return SheetXml(etree.fromstring(f'<worksheet xmlns="{ns}"><sheetData>{xml}</sheetData></worksheet>'.encode()))


def test_cells_are_created_in_order():
    sheet = _sheet('<row r="2"><c r="B2"><v>1</v></c></row><row r="5"><c r="A5"><v>2</v></c></row>')
    sheet.set_formula(2, 1, "=B2*2")
    sheet.set_value(3, 3, "x")
    sheet.set_formula(2, 4, "A2+1")
    rows = [(r.get("r"), [c.get("r") for c in r]) for r in sheet.data]
    assert rows == [("2", ["A2", "B2", "D2"]), ("3", ["C3"]), ("5", ["A5"])]
    assert sheet.formula(2, 1) == "B2*2"


@pytest.mark.parametrize(("value", "t", "text"), [
    (1.5, None, "1.5"), (3.0, None, "3"), (True, "b", "1"), ("n/a", "str", "n/a"),
    (ExcelError("#DIV/0!"), "e", "#DIV/0!"), (None, None, "0"), (0.1 + 0.2, None, repr(0.1 + 0.2)),
], ids=["float", "integer", "bool", "text", "error", "empty", "full-precision"])
def test_cached_values_are_typed(value, t, text):
    sheet = _sheet('<row r="1"><c r="A1" t="s"><f>X</f><v>0</v></c></row>')
    cell = sheet.cell(1, 1)
    set_cached_value(cell, value)
    assert cell.get("t") == t
    assert cell.findtext("{*}v") == text
    assert cell.findtext("{*}f") == "X"


def test_shared_formula_group_is_expanded_with_translated_references():
    sheet = _sheet('<row r="1"><c r="A1"><f t="shared" ref="A1:C1" si="0">A2*2</f></c>'
                   '<c r="B1"><f t="shared" si="0"/></c><c r="C1"><f t="shared" si="0"/></c></row>')
    expand_shared_formula(sheet, 1, 2)
    assert [sheet.formula(1, c) for c in (1, 2, 3)] == ["A2*2", "B2*2", "C2*2"]
    assert all(sheet.cell(1, c).find("{*}f").get("t") is None for c in (1, 2, 3))


def test_styles_are_appended_never_renumbered(tmp_path):
    package = Package.from_bytes((TEMPLATES / "dc_lease_annual.xlsx").read_bytes())
    root = package.xml("xl/styles.xml")
    before = {tag: [etree.tostring(el) for el in root.find("{*}" + tag)] for tag in ("cellXfs", "fonts", "fills")}
    count = len(before["cellXfs"])
    book = StyleBook(root)
    index = book.add(StyleSpec(number_format="0.000%", bold=True, fill="FFFFFF00"), base_xf=1)
    assert index == count
    for tag, old in before.items():
        now = [etree.tostring(el) for el in root.find("{*}" + tag)]
        assert now[:len(old)] == old and len(now) == len(old) + 1, tag
        assert root.find("{*}" + tag).get("count") == str(len(now))
    package.write_xml("xl/styles.xml", root)
    out = tmp_path / "styled.xlsx"
    out.write_bytes(package.to_bytes())
    wb = openpyxl.load_workbook(out)  # still a valid styles part
    assert wb.sheetnames[0] == "Inputs"


def test_a_new_sheet_is_listed_in_app_properties():
    from engine.xlsx.package import register_sheet_title

    app = ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
           'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><HeadingPairs>'
           '<vt:vector size="4" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant>'
           '<vt:variant><vt:i4>2</vt:i4></vt:variant><vt:variant><vt:lpstr>Named Ranges</vt:lpstr></vt:variant>'
           '<vt:variant><vt:i4>1</vt:i4></vt:variant></vt:vector></HeadingPairs><TitlesOfParts>'
           '<vt:vector size="3" baseType="lpstr"><vt:lpstr>Inputs</vt:lpstr><vt:lpstr>Model</vt:lpstr>'
           '<vt:lpstr>Rent</vt:lpstr></vt:vector></TitlesOfParts></Properties>')
    package = Package({"docProps/app.xml": app.encode()}, {})
    register_sheet_title(package, "GPU_Curve")
    root = package.xml("docProps/app.xml")
    vt = "{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}"
    assert [e.text for e in root.iter(f"{vt}lpstr")][2:] == ["Inputs", "Model", "GPU_Curve", "Rent"]
    assert [e.text for e in root.iter(f"{vt}i4")] == ["3", "1"]
    assert root.find(f".//{{*}}TitlesOfParts/{vt}vector").get("size") == "4"


@pytest.mark.parametrize(("mutate", "needle"), [
    (lambda p: p.delete("xl/styles.xml"), "missing part xl/styles.xml"),
    (lambda p: p.write("xl/extra.bin", b"\0"), "no content type"),
    (lambda p: p.write("xl/workbook.xml", b"<workbook"), "not well-formed"),
    (lambda p: p.write("xl/workbook.xml", p.read("xl/workbook.xml").replace(b'name="Model"', b'name="Inputs"')),
     "duplicate sheet names"),
], ids=["dangling-relationship", "no-content-type", "malformed-xml", "duplicate-sheet"])
def test_check_finds_broken_packages(mutate, needle):
    from engine.xlsx.check import check_package

    package = Package.from_bytes((TEMPLATES / "dc_lease_annual.xlsx").read_bytes())
    assert check_package(package) == []
    mutate(package)
    assert any(needle in str(p) for p in check_package(package)), [str(p) for p in check_package(package)]


_SHARED_ROW = ('<row r="1"><c r="A1"><f t="shared" ref="A1:C1" si="0">A2*2</f><v>2</v></c>'
               '<c r="B1"><f t="shared" si="0"/><v>4</v></c><c r="C1"><f t="shared" si="0"/><v>6</v></c></row>'
               '<row r="2"><c r="A2"><v>1</v></c><c r="B2"><v>2</v></c><c r="C2"><v>3</v></c></row>')


@pytest.mark.parametrize("overwrite", ["value", "formula", "cached value"])
def test_overwriting_a_shared_master_keeps_its_neighbours_formulas(overwrite):
    sheet = _sheet(_SHARED_ROW)
    if overwrite == "value":
        sheet.set_value(1, 1, 10.0)
    elif overwrite == "formula":
        sheet.set_formula(1, 1, "=99")
    else:
        assert sheet.hold_cached_value(1, 1)
    assert sheet.formula(1, 2) == "B2*2" and sheet.formula(1, 3) == "C2*2"
    assert all(f.get("t") != "shared" for _r, _c, _el, f in sheet.formulas())


def test_chart_text_with_quotes_and_markup_stays_well_formed():
    # a number format such as 0.00"x" (Excel's way of showing 1.25x) sits in an attribute of the chart
    # XML: its quotes must be escaped there, and <, > and & everywhere
    from engine.xlsx.charts import LineChart, Series, add_charts

    package = Package.from_bytes((TEMPLATES / "dc_lease_annual.xlsx").read_bytes())
    part = package.sheets()[0].part
    root = package.xml(part)
    series = Series(name='DSCR "after" <R&D>', name_ref="Sheet1!$A$1", categories_ref="Sheet1!$A$2:$A$3",
                    values_ref="Sheet1!$B$2:$B$3", categories=("2027", "2028"), values=(1.25, 0.9))
    chart = LineChart(title='Coverage "after" <R&D>', series=(series,), anchor=(0, 0, 5, 10),
                      number_format='0.00"x"', category_format='yyyy"-"mm')
    names = add_charts(package, part, root, [chart])
    tree = etree.fromstring(package.read(names[0]))  # raises on malformed XML
    ns = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart"}
    assert {el.get("formatCode") for el in tree.iterfind(".//c:numFmt", ns)} == {'0.00"x"', 'yyyy"-"mm'}
    assert tree.findtext(".//{*}t") == 'Coverage "after" <R&D>'
    drawing = next(n for n in package.names() if n.startswith("xl/drawings/drawing"))
    names_in_drawing = [el.get("name") for el in etree.fromstring(package.read(drawing)).iter("{*}cNvPr")]
    assert names_in_drawing == ['Coverage "after" <R&D>']


@pytest.mark.parametrize("frozen", [0, 3])
def test_a_new_sheet_written_as_bytes_is_what_its_tree_serialises_to(frozen):
    # to_xml skips building the tree for a sheet nothing edits afterwards (GPU_Curve); the bytes must
    # be lxml's own serialisation of to_root's tree, whatever the cells hold
    from engine.xlsx.package import serialise_xml
    from engine.xlsx.new_sheet import NewSheet

    sheet = NewSheet(freeze_row=frozen, tab_color="FF2F75B5", col_widths={1: 12.5, 3: 9})
    sheet.value(1, 1, "Curve <inputs> & notes", 2)
    sheet.value(1, 2, "  padded  ")
    sheet.value(2, 1, 1.25)
    sheet.value(2, 2, True)
    sheet.value(2, 3, None)
    results = {(3, 1): 2.5e-7, (3, 2): "", (3, 3): ' "quoted" <b> ', (4, 1): False, (4, 2): ExcelError("#DIV/0!"),
               (4, 3): None, (4, 4): 12345678901234567.0}
    for (row, col) in results:
        sheet.formula(row, col, f'=IF(A2>1,"a<b",A2&"&")+{row}', 5)
    made = sheet.to_xml(values=lambda row, col: results[(row, col)])
    assert made == serialise_xml(sheet.to_root(values=lambda row, col: results[(row, col)]))
    assert NewSheet().to_xml() == serialise_xml(NewSheet().to_root())  # an empty sheet: <sheetData/>
    assert b'<v>0.00000025</v>' not in made and b"<v>2.5e-07</v>" in made  # numbers as Python repr writes them


def test_a_new_sheet_refuses_text_that_is_not_xml():
    from engine.xlsx.new_sheet import NewSheet

    sheet = NewSheet()
    sheet.value(1, 1, "a control character \x01 is not XML")
    with pytest.raises(ValueError, match="malformed XML"):
        sheet.to_xml()


def test_the_quick_cell_reference_check_accepts_exactly_the_grid():
    # load checks a sheet's cell addresses with one regex over all of them; the rule per address decides
    # when that regex says no. The regex must never accept an address the rule refuses, and should take
    # every column of the grid (A..XFD), or wide sheets pay the per-address rule.
    import itertools
    import re
    import string

    from engine.xlsx.schema import _CELL_OR_RANGE, _grid_ref

    quick = re.compile(_CELL_OR_RANGE)
    letters = ["".join(t) for n in (1, 2, 3) for t in itertools.product(string.ascii_uppercase, repeat=n)]
    for row in ("1", "999999"):
        accepted = {c for c in letters if quick.fullmatch(c + row)}
        assert accepted == {c for c in letters if _grid_ref(c + row)}
    assert len(accepted) == 16_384  # A..XFD (Excel's limit)
    assert not quick.fullmatch("A1048576") and _grid_ref("A1048576")  # 7-digit rows: the rule decides
