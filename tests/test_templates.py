"""The shipped lender templates (``templates/*.xlsx`` + ``*.toml``) and the script that builds them.

The expected numbers below come from the templates' own inputs (``templates/build_templates.py``):
period counts and dates are the deal terms written there; the profile schema is the README's "Profiles".
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import formualizer
import openpyxl
import pytest
from openpyxl.utils.cell import coordinate_from_string, range_boundaries

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
SCRIPT = TEMPLATES / "build_templates.py"

# name, periods, first timeline date, last timeline date (from the deal terms in build_templates.py)
CASES = [
    ("dc_lease_annual", 10, dt.datetime(2026, 12, 31), dt.datetime(2035, 12, 31)),
    ("gpu_ddtl_quarterly", 20, dt.datetime(2026, 9, 30), dt.datetime(2031, 6, 30)),
    ("miner_hosting_monthly", 120, dt.datetime(2026, 7, 1), dt.datetime(2036, 6, 1)),
    ("miner_double_leverage_monthly", 60, dt.datetime(2026, 7, 1), dt.datetime(2031, 6, 1)),
]
NAMES = [case[0] for case in CASES]
RENT_WORD = re.compile(r"\b(rent|rental|lease)\b", re.IGNORECASE)
METRICS = ("cfads", "debt_service", "interest", "principal", "closing_balance", "dscr")
# Functions LibreOffice 7.4 lacks or that are volatile (docs/decisions/recalc-engine.md); whole-column references.
FORBIDDEN = re.compile(r"\b(LET|LAMBDA|XLOOKUP|XMATCH|FILTER|SORT|UNIQUE|SEQUENCE|TODAY|NOW|RAND|"
                       r"RANDBETWEEN|OFFSET|INDIRECT)\(|\$?[A-Z]{1,3}:\$?[A-Z]{1,3}\b")


def _profile(name: str) -> dict:
    return tomllib.loads((TEMPLATES / f"{name}.toml").read_text(encoding="utf-8"))


def _split(ref: str) -> tuple[str, str]:
    sheet, _, cells = ref.rpartition("!")
    return sheet.strip("'"), cells


def _cells(wb: openpyxl.Workbook, ref: str) -> list:
    """The cells of a one-dimensional ``Sheet!A1:B9`` range, in period order."""
    sheet, cells = _split(ref)
    min_col, min_row, max_col, max_row = range_boundaries(cells)
    assert min_col == max_col or min_row == max_row, f"{ref} is not one row or one column"
    ws = wb[sheet]
    return [ws.cell(r, c) for r in range(min_row, max_row + 1) for c in range(min_col, max_col + 1)]


def _label(ws, cells: list) -> str:
    """The row label (column A) for a horizontal range, the column header above a vertical one."""
    first = cells[0]
    if len(cells) > 1 and cells[1].row == first.row:
        return str(ws.cell(first.row, 1).value or "")
    for row in range(first.row - 1, 0, -1):
        value = ws.cell(row, first.column).value
        if isinstance(value, str) and not value.startswith("="):
            return value
    return ""


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("templates")
    subprocess.run([sys.executable, str(SCRIPT), str(outdir)], check=True, capture_output=True)
    return outdir


@pytest.fixture(scope="module")
def books() -> dict[str, tuple[openpyxl.Workbook, openpyxl.Workbook]]:
    """name -> (formulas, cached values) of each shipped workbook."""
    return {name: (openpyxl.load_workbook(TEMPLATES / f"{name}.xlsx"),
                   openpyxl.load_workbook(TEMPLATES / f"{name}.xlsx", data_only=True)) for name in NAMES}


def _formula_cells(wb: openpyxl.Workbook):
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    yield ws.title, cell


@pytest.mark.parametrize("name", NAMES)
def test_script_regenerates_the_shipped_files_byte_for_byte(rebuilt: Path, name: str) -> None:
    shipped = zipfile.ZipFile(TEMPLATES / f"{name}.xlsx")
    fresh = zipfile.ZipFile(rebuilt / f"{name}.xlsx")
    assert shipped.namelist() == fresh.namelist()
    for part in shipped.namelist():
        assert shipped.read(part) == fresh.read(part), f"{name}.xlsx: {part} differs from a fresh build"
    assert (TEMPLATES / f"{name}.toml").read_text() == (rebuilt / f"{name}.toml").read_text()


@pytest.mark.parametrize(("name", "periods", "first", "last"), CASES, ids=NAMES)
def test_profile_ranges_have_one_cell_per_period(books, name: str, periods: int,
                                                 first: dt.datetime, last: dt.datetime) -> None:
    profile = _profile(name)
    wb, values = books[name]
    assert profile["timeline"]["kind"] in {"period_end", "period_start", "year"}
    assert profile["timeline"]["frequency"] in {"monthly", "quarterly", "semiannual", "annual"}
    timeline = [values[c.parent.title][c.coordinate].value for c in _cells(wb, profile["timeline"]["cells"])]
    assert len(timeline) == periods
    assert (timeline[0], timeline[-1]) == (first, last)
    assert timeline == sorted(timeline)
    ranges = [profile["rent"]["cells"]] + [profile["metrics"][key] for key in METRICS]
    for ref in ranges:
        assert len(_cells(wb, ref)) == periods, ref
    sheet, cell = _split(profile["metrics"]["covenant"])
    coordinate_from_string(cell)  # a single cell, not a range
    assert isinstance(values[sheet][cell].value, float)
    assert profile["deal"]["gpus"] > 0 and profile["deal"]["unit"] in ("USD", "USD millions")
    assert profile["collateral"]["kind"] == ("site" if name == "dc_lease_annual" else "gpu_fleet")


@pytest.mark.parametrize("name", NAMES)
def test_rent_cells_are_formulas_labelled_rent_or_lease(books, name: str) -> None:
    wb, values = books[name]
    cells = _cells(wb, _profile(name)["rent"]["cells"])
    assert all(isinstance(c.value, str) and c.value.startswith("=") for c in cells)
    assert RENT_WORD.search(_label(cells[0].parent, cells))
    assert all(values[c.parent.title][c.coordinate].value >= 0 for c in cells)


def test_mining_revenue_beside_hosting_rent_is_not_labelled_rent(books) -> None:
    wb, _ = books["miner_hosting_monthly"]
    rent = _cells(wb, _profile("miner_hosting_monthly")["rent"]["cells"])
    ws = rent[0].parent
    mining_rows = [r for r in range(1, ws.max_row + 1) if "mining revenue" in str(ws.cell(r, 1).value).lower()]
    assert mining_rows == [rent[0].row - 1]
    assert not RENT_WORD.search(ws.cell(mining_rows[0], 1).value)


def test_miner_rent_holiday_then_escalation(books) -> None:
    # build_templates.py: three build-out months at zero, then $3,050,000 a month, +3 % a contract year.
    wb, values = books["miner_hosting_monthly"]
    rent = [values["Monthly"][c.coordinate].value for c in _cells(wb, _profile("miner_hosting_monthly")["rent"]["cells"])]
    assert rent[:3] == [0, 0, 0]
    assert rent[3] == pytest.approx(3_050_000, abs=0.005)
    assert rent[15] == pytest.approx(3_050_000 * 1.03, abs=0.005)


@pytest.mark.parametrize("name", NAMES)
def test_every_formula_has_a_cached_value_and_no_error(books, name: str) -> None:
    wb, values = books[name]
    count = 0
    for sheet, cell in _formula_cells(wb):
        cached = values[sheet][cell.coordinate].value
        assert cached is not None, f"{name}: {sheet}!{cell.coordinate} has no cached value"
        assert not (isinstance(cached, str) and cached.startswith("#")), f"{sheet}!{cell.coordinate}: {cached}"
        assert not FORBIDDEN.search(cell.value), f"{sheet}!{cell.coordinate}: {cell.value}"
        count += 1
    assert count >= (2000 if name == "miner_hosting_monthly" else 150)


@pytest.mark.parametrize("name", NAMES)
def test_workbook_recalculates_on_open(name: str) -> None:
    workbook_xml = zipfile.ZipFile(TEMPLATES / f"{name}.xlsx").read("xl/workbook.xml").decode()
    assert 'fullCalcOnLoad="1"' in workbook_xml


def test_ddtl_defined_names(books) -> None:
    wb, _ = books["gpu_ddtl_quarterly"]
    profile = _profile("gpu_ddtl_quarterly")
    expected = {"Rent": profile["rent"]["cells"], "DSCR": profile["metrics"]["dscr"],
                "CFADS": profile["metrics"]["cfads"], "DebtService": profile["metrics"]["debt_service"],
                "ClosingBalance": profile["metrics"]["closing_balance"],
                "Covenant": profile["metrics"]["covenant"], "PeriodEnd": profile["timeline"]["cells"]}
    for name, ref in expected.items():
        assert wb.defined_names[name].attr_text.replace("$", "") == ref


@pytest.mark.parametrize("name", NAMES)
def test_each_dscr_depends_on_its_own_period_rent(name: str) -> None:
    """Bump one period's rent at a time: that period's DSCR moves wherever debt service is paid."""
    profile = _profile(name)
    wb = formualizer.load_workbook(str(TEMPLATES / f"{name}.xlsx"))
    wb.evaluate_all()
    shape = openpyxl.load_workbook(TEMPLATES / f"{name}.xlsx")
    rent = [(c.parent.title, c.row, c.column) for c in _cells(shape, profile["rent"]["cells"])]
    dscr = [(c.parent.title, c.row, c.column) for c in _cells(shape, profile["metrics"]["dscr"])]
    base_rent = [wb.get_value(*ref) for ref in rent]
    base_dscr = [wb.evaluate_cell(*ref) for ref in dscr]
    assert sum(isinstance(v, float) for v in base_dscr) >= len(dscr) - 3
    for ref, value in zip(rent, base_rent):
        wb.set_value(*ref, value)
    for k, (ref, value) in enumerate(zip(rent, base_rent)):
        wb.set_value(*ref, value + 1000.0)
        moved = wb.evaluate_cell(*dscr[k])
        if isinstance(base_dscr[k], float):
            assert moved > base_dscr[k], f"{name}: DSCR of period {k + 1} does not depend on its rent"
        wb.set_value(*ref, value)


@pytest.mark.libreoffice
def test_libreoffice_agrees_with_the_cached_values(tmp_path: Path, books) -> None:
    """The accuracy oracle: LibreOffice, forced to recalculate, reproduces every cached value."""
    soffice = shutil.which("soffice") or "/usr/bin/soffice"
    profile_dir = tmp_path / "lo-profile"
    (profile_dir / "user").mkdir(parents=True)
    (profile_dir / "user" / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<item oor:path="/org.openoffice.Office.Calc/Formula/Load">'
        '<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item></oor:items>\n')
    # Poison every cached formula value first, so a LibreOffice that merely kept them would fail.
    poisoned = tmp_path / "poisoned"
    poisoned.mkdir()
    for name in NAMES:
        with zipfile.ZipFile(TEMPLATES / f"{name}.xlsx") as src, \
                zipfile.ZipFile(poisoned / f"{name}.xlsx", "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename.startswith("xl/worksheets/"):
                    xml = re.sub(r"(<f>[^<]*</f>)<v>[^<]*</v>", r"\1<v>999999</v>", data.decode())
                    data = xml.replace('t="str"', 't="n"').encode()
                dst.writestr(info, data)
    outdir = tmp_path / "out"
    subprocess.run([soffice, f"-env:UserInstallation={profile_dir.as_uri()}", "--headless", "--convert-to",
                    "xlsx", "--outdir", str(outdir)] + [str(poisoned / f"{n}.xlsx") for n in NAMES],
                   check=True, capture_output=True, timeout=300)
    for name in NAMES:
        wb, values = books[name]
        lo = openpyxl.load_workbook(outdir / f"{name}.xlsx", data_only=True)
        for sheet, cell in _formula_cells(wb):
            ours, theirs = values[sheet][cell.coordinate].value, lo[sheet][cell.coordinate].value
            where = f"{name}: {sheet}!{cell.coordinate} {cell.value}"
            if isinstance(ours, (int, float)) and not isinstance(ours, bool):
                assert theirs == pytest.approx(ours, rel=1e-9, abs=1e-6), where
            else:
                assert theirs == ours, where
