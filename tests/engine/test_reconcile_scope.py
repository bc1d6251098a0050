"""Reconcile first, scoped: a disagreement the rent reaches stops the conversion (or is marked
unverified on request); one the rent cannot reach keeps Excel's own cached value."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import TEMPLATES
from engine.convert import CurveChoice, convert
from engine.errors import ReconciliationError


def _tampered(tmp_path: Path, cell: str, value: str, part: str = "xl/worksheets/sheet2.xml") -> Path:
    """The lease template with one cached value changed (Model sheet by default), as if Excel had computed it."""
    src = tmp_path / "tampered.xlsx"
    shutil.copy2(TEMPLATES / "dc_lease_annual.toml", tmp_path / "tampered.toml")
    with zipfile.ZipFile(TEMPLATES / "dc_lease_annual.xlsx") as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    xml = parts[part].decode()
    xml, count = re.subn(rf'(<c r="{cell}"[^>]*>(?:<f>[^<]*</f>)?<v>)[^<]*(</v>)', rf"\g<1>{value}\g<2>", xml)
    assert count == 1, cell
    parts[part] = xml.encode()
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return src


def test_a_disagreement_the_rent_reaches_is_refused_or_marked(tmp_path):
    src = _tampered(tmp_path, "H24", "9.99")  # DSCR of year 4: downstream of the rent
    with pytest.raises(ReconciliationError) as err:
        convert(src, tmp_path / "out.xlsx")
    assert (err.value.sheet, err.value.cell) == ("Model", "H24")
    assert not (tmp_path / "out.xlsx").exists()
    result = convert(src, tmp_path / "out.xlsx", curve=CurveChoice(preset="h100-stress"), accept_unreconciled=True)
    assert [u.split(":")[0] for u in result.unverified] == ["Model!H24"]
    assert result.to_json()["unverified"] == list(result.unverified)


def test_a_disagreement_the_rent_cannot_reach_keeps_excels_value(tmp_path):
    # Inputs!C24, the level annual payment shown beside the inputs: no rent reaches it, nothing reads it
    src = _tampered(tmp_path, "C24", "123.456", "xl/worksheets/sheet1.xml")
    result = convert(src, tmp_path / "out.xlsx", curve=CurveChoice(preset="h100-stress"))
    assert result.kept_excel_values == 1 and result.unverified == ()
    assert openpyxl.load_workbook(result.output, data_only=True)["Inputs"]["C24"].value == 123.456


def test_inspect_reports_reconciliation_and_convert_accepts_on_request(tmp_path):
    import json
    import subprocess
    import sys

    def cli(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "engine.shell.cli", *map(str, args)], capture_output=True, text=True,
                              timeout=300)

    src = _tampered(tmp_path, "H24", "9.99")
    report = json.loads(cli("inspect", "--reconcile", "--json", src).stdout)["reconcile"]
    assert (report["total"], report["reproduced"]) == (214, 213)
    assert report["share"] == pytest.approx(213 / 214, rel=1e-12)
    assert report["causes"]["other"]["cells"][0].startswith("Model!H24: cached 9.99")
    refused = cli("convert", src, "-o", tmp_path / "a.xlsx")
    assert refused.returncode == 1 and "Model!H24" in refused.stderr and "--accept-unreconciled" in refused.stderr
    accepted = cli("convert", src, "-o", tmp_path / "b.xlsx", "--accept-unreconciled", "--json")
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout)["unverified"][0].startswith("Model!H24")
