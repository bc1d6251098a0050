"""The Credit_Summary sheet: its numbers are the --json ones, its charts are there and render."""

from __future__ import annotations

import datetime as dt
import math
import zipfile

import openpyxl
import pytest
from lxml import etree

from conftest import TEMPLATE_NAMES
from engine.convert import CurveChoice, convert
from engine.xlsx.package import Package
from engine.report.summary import FIRST_METRIC_ROW, METRICS, SHEET
from libreoffice import ink_share, render_sheet


@pytest.fixture(scope="module")
def stressed(template_copy, tmp_path_factory):
    folder = tmp_path_factory.mktemp("summary")
    return {name: convert(template_copy(name), folder / f"{name}.xlsx", curve=CurveChoice(preset="h100-stress"))
            for name in TEMPLATE_NAMES}


def _same(cell: object, expected: object) -> bool:
    if expected is None:
        return cell in ("none", "n/a")
    if isinstance(expected, str):  # an ISO date in the JSON
        return isinstance(cell, dt.datetime) and cell.date().isoformat() == expected
    return isinstance(cell, (int, float)) and math.isclose(cell, expected, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_summary_numbers_equal_the_json(stressed, name):
    result = stressed[name]
    doc = result.to_json()
    ws = openpyxl.load_workbook(result.output, data_only=True)[SHEET]
    for i, (key, label, _unit, _style, _how) in enumerate(METRICS):
        row = FIRST_METRIC_ROW + i
        assert ws.cell(row, 1).value == label
        for col, state in ((3, "before"), (4, "after")):
            expected = doc["metrics"][state][key]
            assert _same(ws.cell(row, col).value, expected), (key, state, ws.cell(row, col).value, expected)
    # the after column's coverage metrics are live formulas over the template's cells
    formulas = openpyxl.load_workbook(result.output)[SHEET]
    for i, (key, *_rest, how) in enumerate(METRICS):
        cell = formulas.cell(FIRST_METRIC_ROW + i, 4).value
        assert (isinstance(cell, str) and cell.startswith("=")) == (how == "formula"), key


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_headline_says_when_coverage_breaks(stressed, name):
    result = stressed[name]
    headline = openpyxl.load_workbook(result.output, data_only=True)[SHEET]["A2"].value
    assert result.metrics_after.first_breach is not None
    assert headline.startswith("DSCR falls below ") and "forced sale at that point recovers" in headline
    share = f"{result.metrics_after.recovery_at_breach:.0%}"
    assert share in headline


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_three_charts_on_the_summary_sheet(stressed, name):
    package = Package.from_bytes(stressed[name].output.read_bytes())
    part = package.sheet_part(SHEET)
    drawings = [t for _i, rtype, t, _m in package.relationships(part) if rtype.endswith("/drawing")]
    assert len(drawings) == 1
    charts = [t for _i, rtype, t, _m in package.relationships(drawings[0]) if rtype.endswith("/chart")]
    assert len(charts) == 3
    titles = []
    for chart in charts:
        root = package.xml(chart)
        titles.append("".join(root.find(".//{*}title").itertext()))
        refs = [f.text for f in root.iter("{http://schemas.openxmlformats.org/drawingml/2006/chart}f")]
        assert refs and all(r.startswith(f"{SHEET}!") for r in refs)
        assert len(root.findall(".//{*}ser")) >= 2
    assert titles == ["Rent before vs after", "DSCR before vs after, with the covenant",
                      "Outstanding balance vs forced-sale collateral value"]


def test_summary_renders_with_its_charts(stressed, tmp_path):
    """LibreOffice draws the charts: the page has clearly more ink than the same page without them."""
    output = stressed["gpu_ddtl_quarterly"].output
    pdf, png = render_sheet(output, SHEET, tmp_path / "with")
    assert pdf.stat().st_size > 5000
    bare = tmp_path / "bare.xlsx"
    package = Package.from_bytes(output.read_bytes())
    part = package.sheet_part(SHEET)
    root = package.xml(part)
    for drawing in root.findall("{*}drawing"):
        root.remove(drawing)
    package.write_xml(part, root)
    bare.write_bytes(package.to_bytes())
    _pdf, bare_png = render_sheet(bare, SHEET, tmp_path / "without")
    with_charts, without = ink_share(png), ink_share(bare_png)
    assert without > 0.005  # the tables are there in both
    assert with_charts > without * 1.3, (with_charts, without)
    with zipfile.ZipFile(output) as zf:
        assert etree.fromstring(zf.read(part)).find("{*}drawing") is not None
