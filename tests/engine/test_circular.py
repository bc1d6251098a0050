"""Circular references, calculated as Excel does under iterative calculation (issue 8)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from conftest import TEMPLATES
from engine.convert import CurveChoice, convert


def _circular_lease(tmp_path: Path, calc_pr: str | None) -> Path:
    """The lease template with opex at 10 % of CFADS, so CFADS = rent − 0.1·CFADS = rent / 1.1."""
    src = tmp_path / "circular.xlsx"
    shutil.copy2(TEMPLATES / "dc_lease_annual.toml", tmp_path / "circular.toml")
    wb = openpyxl.load_workbook(TEMPLATES / "dc_lease_annual.xlsx")
    ws = wb["Model"]
    for col in "EFGHIJKLMN":
        ws[f"{col}12"] = f"=0.1*{col}13"
    wb.save(src)
    if calc_pr is not None:
        with zipfile.ZipFile(src) as zf:
            parts = {n: zf.read(n) for n in zf.namelist()}
        xml = parts["xl/workbook.xml"].decode()
        start = xml.index("<calcPr")
        end = xml.index("/>", start) + 2
        parts["xl/workbook.xml"] = (xml[:start] + calc_pr + xml[end:]).encode()
        with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in parts.items():
                zf.writestr(name, data)
    return src


@pytest.mark.parametrize(("calc_pr", "count", "delta", "tolerance"), [
    (None, 100, 0.001, 2e-3),
    ('<calcPr calcId="191029" iterate="1" iterateCount="200" iterateDelta="1E-9"/>', 200, 1e-9, 1e-8),
], ids=["excel-defaults", "workbook-settings"])
def test_converging_cycle_reaches_its_fixed_point(tmp_path, calc_pr, count, delta, tolerance):
    result = convert(_circular_lease(tmp_path, calc_pr), tmp_path / "out.xlsx",
                     curve=CurveChoice(preset="h100-stress"))
    assert result.iteration["max_iterations"] == count and result.iteration["max_change"] == delta
    assert result.iteration["cycles"] >= 10  # one loop per year
    assert result.iteration["enabled_in_workbook"] is (calc_pr is not None)
    cfads = [c.value for c in openpyxl.load_workbook(result.output, data_only=True)["Model"]["E13:N13"][0]]
    # closed form: CFADS = rent / 1.1 (rent after conversion, which the loop does not touch)
    np.testing.assert_allclose(cfads, np.array(result.rent_after) / 1.1, rtol=0, atol=tolerance)
