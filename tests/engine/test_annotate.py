"""Annotations coexist with what the lender's workbook already has: notes, charts."""

from __future__ import annotations

import shutil
import zipfile

import openpyxl
from openpyxl.chart import LineChart, Reference
from lxml import etree
from openpyxl.comments import Comment

from conftest import TEMPLATES
from engine.convert import CurveChoice, convert
from libreoffice import cached_values, compare


def test_lender_notes_and_charts_survive(tmp_path, lo_cache):
    wb = openpyxl.load_workbook(TEMPLATES / "dc_lease_annual.xlsx")
    ws = wb["Model"]
    ws["F11"].comment = Comment("lender note on year-2 rent", "Bank")
    ws["A13"].comment = Comment("CFADS per the credit memo", "Bank")
    chart = LineChart()
    chart.add_data(Reference(ws, min_col=5, max_col=14, min_row=24, max_row=24), from_rows=True)
    ws.add_chart(chart, "P5")
    src = tmp_path / "noted.xlsx"
    wb.save(src)
    shutil.copy2(TEMPLATES / "dc_lease_annual.toml", tmp_path / "noted.toml")

    result = convert(src, tmp_path / "noted.gpu.xlsx", curve=CurveChoice(preset="h100-stress"))

    out = openpyxl.load_workbook(result.output)["Model"]
    assert out["F11"].comment.text.startswith("gpucredit: rent now follows GPU_Curve!$X$6.")
    assert out["F11"].comment.text.endswith("lender note on year-2 rent")
    assert out["A13"].comment.text == "CFADS per the credit memo"
    assert "Original: =F11*(1+Inputs!$C$13)*G8" in out["G11"].comment.text
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(result.output) as b:
        charts = [n for n in a.namelist() if n.startswith("xl/charts/") or n.startswith("xl/drawings/drawing")]
        assert charts
        for part in charts:
            assert a.read(part) == b.read(part), part
        vml = [n for n in b.namelist() if n.endswith(".vml")]
        assert len(vml) == 1
        shapes = etree.fromstring(b.read(vml[0])).findall("{urn:schemas-microsoft-com:vml}shape")
        # the two lender notes, plus one per changed cell that had no note (F11 had one)
        assert len(shapes) == 2 + len(result.changed_cells) - 1
        assert len({s.get("id") for s in shapes}) == len(shapes)
    assert compare(cached_values(result.output), lo_cache(result.output)) == []
