"""Round trip of workbooks carrying features openpyxl would damage (issue 3).

For each feature book (tests/roundtrip_books.py): convert; every part outside the intended
changes is byte-identical; inside the changed sheet parts only the rewired cells, cached values
and added elements differ; the output passes `gpucredit check`, loads in openpyxl and in
LibreOffice, and its cached values match LibreOffice's except where LibreOffice 7.4 lacks a
function (listed by name in roundtrip_books.LIBREOFFICE_LACKS).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

import roundtrip_books as rb
from conftest import ROOT, parts_of
from engine.xlsx.check import check_file
from engine.convert import CurveChoice, convert
from libreoffice import cached_values, compare

FEATURES = [*rb.FEATURES, "shared-formula", "vba", "threaded-comment"]
ALWAYS_CHANGED = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                  "docProps/app.xml"}
M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def vba_project() -> bytes:
    """A real VBA project: the one in the shipped button workbook (made with xlwings quickstart)."""
    button = ROOT / "templates" / "excel" / "gpucredit_button.xlsm"
    if not button.is_file():  # before the Excel add-in lands, xlwings' own quickstart book
        import xlwings

        button = Path(xlwings.__file__).parent / "quickstart.xlsm"
    with zipfile.ZipFile(button) as zf:
        return zf.read("xl/vbaProject.bin")


def add_threaded_comment(path: Path) -> None:
    """Attach a modern threaded comment (and its person list) to Inputs!A3, as Excel 365 saves it."""
    ns = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    parts["xl/threadedComments/threadedComment1.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><ThreadedComments xmlns="{ns}">'
        '<threadedComment ref="A3" dT="2026-05-01T09:00:00.00" personId="{11111111-1111-1111-1111-111111111111}" '
        'id="{22222222-2222-2222-2222-222222222222}"><text>Is year-1 rent net of incentives?</text>'
        '</threadedComment></ThreadedComments>').encode()
    parts["xl/persons/person.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><personList xmlns="{ns}">'
        '<person displayName="Credit Analyst" id="{11111111-1111-1111-1111-111111111111}" userId="analyst" '
        'providerId="None"/></personList>').encode()
    rel = ('<Relationship Id="rIdTC1" Type="http://schemas.microsoft.com/office/2017/10/relationships/'
           'threadedComment" Target="../threadedComments/threadedComment1.xml"/>')
    parts["xl/worksheets/_rels/sheet1.xml.rels"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships">{rel}</Relationships>').encode()
    wb_rels = parts["xl/_rels/workbook.xml.rels"].decode()
    parts["xl/_rels/workbook.xml.rels"] = wb_rels.replace(
        "</Relationships>", '<Relationship Id="rIdP1" Type="http://schemas.microsoft.com/office/2017/10/'
        'relationships/person" Target="persons/person.xml"/></Relationships>').encode()
    types = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = types.replace("</Types>", (
        '<Override PartName="/xl/threadedComments/threadedComment1.xml" ContentType="application/'
        'vnd.ms-excel.threadedcomments+xml"/><Override PartName="/xl/persons/person.xml" '
        'ContentType="application/vnd.ms-excel.person+xml"/></Types>')).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    folder = tmp_path_factory.mktemp("features")
    out = {}
    for feature in FEATURES:
        if feature == "vba":
            path = rb.build("vba", folder, vba=vba_project())
        else:
            path = rb.build(feature, folder)
            if feature == "threaded-comment":
                add_threaded_comment(path)
        before = path.read_bytes()
        result = convert(path, folder / f"{feature}.gpu{path.suffix}", curve=CurveChoice(preset="h100-stress"))
        assert path.read_bytes() == before
        out[feature] = (path, result)
    return out


def _model_part(parts: dict[str, bytes]) -> str:
    return "xl/worksheets/sheet2.xml"


@pytest.mark.parametrize("feature", FEATURES)
def test_untouched_parts_are_byte_identical(books, feature):
    src, result = books[feature]
    before, after = parts_of(src), parts_of(result.output)
    model = _model_part(before)
    intended = ALWAYS_CHANGED | {model, "xl/worksheets/_rels/sheet2.xml.rels", "xl/calcChain.xml"}
    # notes on the model sheet are merged into its comments and VML parts
    intended |= {n for n in before if n.startswith(("xl/comments", "xl/drawings/vmlDrawing"))}
    for name, data in before.items():
        if name in intended:
            continue
        assert name in after, f"{name} was dropped"
        assert after[name] == data, f"{name} changed"
    added = set(after) - set(before)
    assert all(n.startswith(("xl/worksheets/sheet", "xl/comments", "xl/drawings/", "xl/charts/chart",
                             "xl/worksheets/_rels/")) for n in added), added


def _cells(xml: bytes) -> dict[str, etree._Element]:
    return {c.get("r"): c for c in etree.fromstring(xml).iter(f"{M}c")}


@pytest.mark.parametrize("feature", FEATURES)
def test_inside_the_model_sheet_only_intended_cells_change(books, feature):
    src, result = books[feature]
    before, after = _cells(parts_of(src)[_model_part({})]), _cells(parts_of(result.output)[_model_part({})])
    rewired = {c.a1 for c in result.changed_cells}
    assert rewired
    for ref, old in before.items():
        new = after[ref]
        if ref in rewired:
            assert new.findtext(f"{M}f").startswith("GPU_Curve!")
            continue
        old_f, new_f = old.find(f"{M}f"), new.find(f"{M}f")
        if old_f is None:
            assert new_f is None and new.get("s") == old.get("s"), ref
            if old.get("t") in ("s", "inlineStr") or old.find(f"{M}v") is None:
                assert etree.tostring(new) == etree.tostring(old), ref
            continue
        assert new_f is not None and new.get("s") == old.get("s") and new.get("cm") == old.get("cm"), ref
        if old_f.get("t") == "shared" and feature == "shared-formula":
            continue  # the rent row's shared group is expanded to plain formulas (checked below)
        assert (new_f.text, dict(new_f.attrib)) == (old_f.text, dict(old_f.attrib)), ref


@pytest.mark.parametrize("feature", FEATURES)
def test_output_is_sound_and_matches_libreoffice(books, feature, lo_cache):
    src, result = books[feature]
    assert [str(p) for p in check_file(result.output)] == []
    wb = openpyxl.load_workbook(result.output)  # loads
    assert wb.sheetnames == ["Inputs", rb.MODEL, "GPU_Curve", "Credit_Summary"]
    ours, theirs = cached_values(result.output), lo_cache(result.output)
    lacking = {cell for cells in rb.LIBREOFFICE_LACKS.get(feature, {}).values() for cell in cells}
    skipped = {k for k in ours if k[0] == rb.MODEL and k[1] in lacking}
    assert skipped == {(rb.MODEL, c) for c in lacking if (rb.MODEL, c) in ours}
    mismatches = compare({k: v for k, v in ours.items() if k not in skipped},
                         {k: v for k, v in theirs.items() if k not in skipped})
    assert mismatches == []


def test_formula_text_survives_outside_the_rent_row(books):
    for feature, (src, result) in books.items():
        old = openpyxl.load_workbook(src)[rb.MODEL]
        new = openpyxl.load_workbook(result.output)[rb.MODEL]
        rewired = {c.a1 for c in result.changed_cells}
        for row in old.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("=") and cell.coordinate not in rewired:
                    assert new[cell.coordinate].value == cell.value, (feature, cell.coordinate)


def test_dynamic_array_spills_and_keeps_its_metadata(books):
    src, result = books["dynamic-array"]
    after = parts_of(result.output)
    assert after["xl/metadata.xml"] == parts_of(src)["xl/metadata.xml"]
    cells = _cells(after[_model_part({})])
    assert cells["B40"].get("cm") == "1" and cells["B40"].find(f"{M}f").get("ref") == "B40:K40"
    assert [cells[f"{c}40"].findtext(f"{M}v") for c in "BCDEFGHIJK"] == [str(i) for i in range(1, 11)]
    assert cells["B41"].findtext(f"{M}v") == "55"


def test_vba_project_passes_through(books):
    src, result = books["vba"]
    assert result.output.suffix == ".xlsm"
    assert parts_of(result.output)["xl/vbaProject.bin"] == vba_project()
    types = parts_of(result.output)["[Content_Types].xml"].decode()
    assert "macroEnabled" in types


def test_shared_rent_row_is_expanded_not_broken(books):
    _src, result = books["shared-formula"]
    cells = _cells(parts_of(result.output)[_model_part({})])
    assert cells["E11"].findtext(f"{M}f") == "Inputs!$B$3"  # the anchor keeps its formula
    for col in "FGHIJKLMN":
        f = cells[f"{col}11"].find(f"{M}f")
        assert f.get("t") is None and f.text.startswith("GPU_Curve!$X$")
