"""The Credit_Summary sheet: recalculated by LibreOffice, its numbers are the --json ones; its headline is live;
its charts are there and render; the lease is secured on its site."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from conftest import TEMPLATE_NAMES, TEMPLATES, edit_cells, parts_of, write_parts
from engine.convert import CurveChoice, convert
from engine.report.metric_table import METRICS
from engine.report.summary import FIRST_METRIC_ROW, SHEET
from engine.xlsx.charts import NS_A, NS_C, PALETTE
from engine.xlsx.package import Package
from libreoffice import colour_pixels, ink_share, recalculate, render_sheet


@pytest.fixture(scope="module")
def stressed(template_copy, tmp_path_factory):
    folder = tmp_path_factory.mktemp("summary")
    out = {}
    for name in TEMPLATE_NAMES:
        result = convert(template_copy(name), folder / f"{name}.xlsx", curve=CurveChoice(preset="h100-stress"))
        lo = recalculate(result.output, folder / f"lo-{name}")
        out[name] = (result, openpyxl.load_workbook(lo, data_only=True)[SHEET])
    return out


def _same(cell: object, expected: object) -> bool:
    if expected is None:
        return cell in ("none", "n/a")
    if isinstance(expected, str):  # an ISO date in the JSON
        return isinstance(cell, dt.datetime) and cell.date().isoformat() == expected
    return isinstance(cell, (int, float)) and math.isclose(cell, expected, rel_tol=1e-9, abs_tol=1e-6)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_metric_recalculated_by_libreoffice_equals_the_json(stressed, name):
    result, ws = stressed[name]
    doc = result.to_json()
    rows = {ws.cell(r, 1).value: r for r in range(FIRST_METRIC_ROW, FIRST_METRIC_ROW + len(METRICS))}
    shown = [m for m in METRICS if m.label in rows]
    assert len(shown) >= 9
    for metric in shown:
        row = rows[metric.label]
        for col, state in ((3, "before"), (4, "after")):
            expected = doc["metrics"][state][metric.key]
            assert _same(ws.cell(row, col).value, expected), (metric.key, state, ws.cell(row, col).value, expected)
    assert set(doc["metrics"]["after"]) == {m.key for m in METRICS}
    # the live rows are formulas in both columns; gpucredit's own rows say why they are not
    formulas = openpyxl.load_workbook(result.output)[SHEET]
    for metric in shown:
        cell = formulas.cell(rows[metric.label], 4).value
        live = isinstance(cell, str) and cell.startswith("=")
        assert live == (metric.excel is not None), metric.key
        assert live or formulas.cell(rows[metric.label], 5).value.startswith("computed by gpucredit")


def _period_name(end: dt.date, months: int) -> str:
    return {3: f"Q{(end.month - 1) // 3 + 1} {end.year}", 1: f"{end:%B %Y}",
            12: f"the year ending {end.day} {end:%b %Y}"}[months]


@pytest.mark.parametrize(("name", "months"), [("dc_lease_annual", 12), ("gpu_ddtl_quarterly", 3),
                                              ("miner_hosting_monthly", 1)])
def test_headline_says_when_coverage_breaks(stressed, name, months):
    result, ws = stressed[name]
    after = result.metrics_after
    expected = f"DSCR falls below {result.credit.inputs_after.covenant:.2f}x in {_period_name(after.first_breach, months)}"
    if after.recovery_at_breach is not None:  # FIXED rounds half away from zero; no tie here
        expected += f"; a forced sale at that point recovers {after.recovery_at_breach:.0%} of the balance"
    assert ws["A2"].value == result.headline == expected + "."


def test_the_lease_is_secured_on_its_site_with_no_ltv_rows(stressed, tmp_path):
    result, ws = stressed["dc_lease_annual"]
    doc = result.to_json()
    assert doc["security"]["kind"] == "site" and doc["metrics"]["after"]["max_ltv_forced"] is None
    labels = [ws.cell(r, 1).value or "" for r in range(FIRST_METRIC_ROW, 40)]
    assert not any(label.startswith(("Maximum loan-to-value", "Forced-sale", "Loss given")) for label in labels)
    assert "the GPUs belong to the tenant" in ws["A3"].value
    proc = subprocess.run([sys.executable, "-m", "engine.shell.cli", "convert", str(result.input), "-o",
                           str(tmp_path / "x.xlsx"), "--preset", "h100-stress", "--memo", str(tmp_path / "m.md")],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    for text in (proc.stdout, (tmp_path / "m.md").read_text()):
        assert "Maximum loan-to-value" not in text and "recovery" not in text and "site" in text


def test_money_cells_carry_the_unit_and_there_is_one_date_column(stressed):
    _result, ws = stressed["dc_lease_annual"]
    header = [c.value for c in ws[58]]
    assert header.count("period end") == 1 and "period" not in header
    assert "rent (USD millions) before" in header and "CFADS (USD millions) after" in header
    units = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(6, 30)}
    assert units["Debt service not covered by CFADS"] == "USD millions"
    assert "money" not in {str(u) for u in units.values()}


def test_the_headline_is_live(template_copy, tmp_path):
    """Decline 0 typed into GPU_Curve: LibreOffice recomputes the model and the headline turns no-breach."""
    curve = CurveChoice(preset="h100-stress", overrides={"util": "0.85"}, launches=())
    result = convert(template_copy("gpu_ddtl_quarterly"), tmp_path / "out.xlsx", curve=curve)
    assert result.headline.startswith("DSCR falls below 1.25x in ")
    assert openpyxl.load_workbook(result.output)["GPU_Curve"]["A8"].value == "d"
    edited = edit_cells(result.output, tmp_path / "edited.xlsx", "GPU_Curve", {"B8": 0.0})
    ws = openpyxl.load_workbook(recalculate(edited, tmp_path / "lo"), data_only=True)[SHEET]
    rows = {ws.cell(r, 1).value: r for r in range(6, 30)}
    low = ws.cell(rows["Minimum DSCR (tested periods)"], 4).value
    assert ws.cell(rows["Tested periods in breach"], 4).value == 0
    assert ws["A2"].value == f"DSCR stays at or above 1.25x in every tested period (minimum {low:.2f}x)."
    # the unchanged before column still says what the original workbook did
    assert ws.cell(rows["Minimum DSCR (tested periods)"], 3).value == pytest.approx(result.metrics_before.min_dscr,
                                                                                     rel=1e-9)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_three_charts_on_the_summary_sheet(stressed, name):
    result, _ws = stressed[name]
    package = Package.from_bytes(result.output.read_bytes())
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
    third = "Outstanding balance" if name == "dc_lease_annual" else "Outstanding balance vs collateral value"
    assert titles == ["Rent before vs after", "DSCR before vs after, with the covenant", third]


def test_summary_renders_with_its_charts(stressed, tmp_path):
    """LibreOffice draws the charts: the page has clearly more ink than the same page without them."""
    output = stressed["gpu_ddtl_quarterly"][0].output
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
    assert json.dumps(stressed["gpu_ddtl_quarterly"][0].to_json())  # JSON-ready


def _without_theme(src: Path, target: Path) -> Path:
    """``src`` with its theme part gone, as LibreOffice saves an .xlsx."""
    parts = parts_of(src)
    del parts["xl/theme/theme1.xml"]
    parts["xl/_rels/workbook.xml.rels"] = re.sub(rb"<Relationship [^>]*/theme[^>]*/>", b"",
                                                 parts["xl/_rels/workbook.xml.rels"])
    parts["[Content_Types].xml"] = re.sub(rb"<Override [^>]*theme[^>]*/>", b"", parts["[Content_Types].xml"])
    assert b"theme" not in parts["xl/_rels/workbook.xml.rels"] + parts["[Content_Types].xml"]
    return write_parts(target, parts)


def test_charts_have_colour_in_a_workbook_without_a_theme(tmp_path):
    """Each series names its colour, so the lines are drawn in a workbook with no theme to take them from:
    LibreOffice's rendering has blue ("before") and red ("after") line pixels, and the same chart without
    the explicit colours has none of the blue."""
    src = _without_theme(TEMPLATES / "gpu_ddtl_quarterly.xlsx", tmp_path / "gpu_ddtl_quarterly.xlsx")
    shutil.copy2(TEMPLATES / "gpu_ddtl_quarterly.toml", tmp_path)
    output = convert(src, tmp_path / "out.xlsx", curve=CurveChoice(preset="h100-stress")).output
    parts = parts_of(output)
    charts = sorted(n for n in parts if n.startswith("xl/charts/chart"))
    assert len(charts) == 3 and "xl/theme/theme1.xml" not in parts
    for name in charts:
        series = etree.fromstring(parts[name]).findall(f".//{{{NS_C}}}ser")
        fills = [s.find(f"{{{NS_C}}}spPr/{{{NS_A}}}ln/{{{NS_A}}}solidFill/{{{NS_A}}}srgbClr") for s in series]
        assert series and all(f is not None for f in fills), name
        assert [f.get("val") for f in fills] == list(PALETTE[:len(series)])
    _pdf, png = render_sheet(output, SHEET, tmp_path / "with")
    uncoloured = dict(parts)
    for name in charts:
        uncoloured[name] = re.sub(rb"<a:solidFill><a:srgbClr val=\"[0-9A-F]{6}\"/></a:solidFill>", b"", parts[name])
    _pdf, bare = render_sheet(write_parts(tmp_path / "bare.xlsx", uncoloured), SHEET, tmp_path / "without")
    blue, red = PALETTE[0], PALETTE[1]
    assert colour_pixels(png, blue) > 200 and colour_pixels(bare, blue) < 20
    assert colour_pixels(png, red) > colour_pixels(bare, red) + 200  # the headline is red in both
