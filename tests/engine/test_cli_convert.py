"""The ``gpucredit convert`` command as a user meets it: exit codes, one-line errors, nothing written."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from conftest import TEMPLATES

REQUIRED_KEYS = {"input", "output", "preset", "params", "rent_cells", "period_starts", "period_ends",
                 "rent_before", "rent_after", "dscr_before", "dscr_after", "metrics"}
PARAM_KEYS = {"price_date", "start", "p0", "d", "floor", "ramp_months", "util", "c", "p_contract",
              "contract_months", "gpus", "unit_scale", "launches"}


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.shell.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in proc.stderr


def copy_template(tmp_path: Path, name: str = "dc_lease_annual", *, with_profile: bool = True) -> Path:
    target = tmp_path / f"{name}.xlsx"
    shutil.copy2(TEMPLATES / f"{name}.xlsx", target)
    if with_profile:
        shutil.copy2(TEMPLATES / f"{name}.toml", tmp_path / f"{name}.toml")
    return target


def test_json_output_has_every_field(tmp_path):
    src = copy_template(tmp_path, "gpu_ddtl_quarterly")
    proc = run("convert", src, "--preset", "h100-severe", "--set", "d=0.3", "--set", "util=0.9,0.7",
               "--launch", "2027-03-01:0.2", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert REQUIRED_KEYS <= set(doc)
    assert set(doc["params"]) == PARAM_KEYS
    assert doc["params"]["d"] == 0.3 and doc["params"]["util"] == [0.9, 0.7]
    assert doc["params"]["launches"] == [{"date": "2027-03-01", "step": 0.2}]
    assert doc["params"]["start"] == "2026-07-01"
    assert doc["output"].endswith("gpu_ddtl_quarterly.gpu.xlsx") and Path(doc["output"]).is_file()
    assert len(doc["rent_cells"]) == len(doc["period_ends"]) == 20
    assert doc["rent_cells"][0] == "Schedule!J6"
    assert {"min_dscr", "first_breach", "breaches", "min_llcr", "total_shortfall", "max_ltv", "max_ltv_forced",
            "mismatch_date", "mismatch_balance", "recovery_at_breach", "lgd_at_breach"} <= set(doc["metrics"]["after"])
    assert doc["collateral"]["gpus"] == 1024
    assert doc["metrics"]["after"]["min_dscr"] < doc["metrics"]["before"]["min_dscr"]


def test_table_output_and_refusal_to_overwrite(tmp_path):
    src = copy_template(tmp_path)
    first = run("convert", src)
    assert first.returncode == 0, first.stderr
    assert "rent before" in first.stdout and "DSCR after" in first.stdout
    out = tmp_path / "dc_lease_annual.gpu.xlsx"
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    again = run("convert", src, "--preset", "h100-severe")
    assert_one_line_error(again, "dc_lease_annual.gpu.xlsx", "--force")
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
    forced = run("convert", src, "--preset", "h100-severe", "--force")
    assert forced.returncode == 0, forced.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() != digest


def test_xlsm_keeps_its_extension(tmp_path):
    from engine.convert import default_output

    assert default_output(Path("deal.xlsm")) == Path("deal.gpu.xlsm")
    assert default_output(Path("deal.xlsx")) == Path("deal.gpu.xlsx")


def test_missing_file(tmp_path):
    proc = run("convert", tmp_path / "nowhere.xlsx")
    assert_one_line_error(proc, "nowhere.xlsx", "no such file")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("content", "needle"), [
    (b"just some text, not a workbook\n", "not an Excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "save it as .xlsx"),
    (b"", "empty"),
], ids=["text", "xls-ole", "empty"])
def test_not_a_workbook(tmp_path, content, needle):
    src = tmp_path / "deal.xlsx"
    src.write_bytes(content)
    proc = run("convert", src)
    assert_one_line_error(proc, "deal.xlsx", needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deal.xlsx"]
    assert src.read_bytes() == content


def test_template_without_rent_row(tmp_path):
    src = copy_template(tmp_path, with_profile=False)
    wb = openpyxl.load_workbook(src)
    ws = wb["Model"]
    assert ws["A11"].value == "Rental income"
    ws["A11"] = "Other income"
    wb.save(src)
    before = src.read_bytes()
    proc = run("convert", src)
    assert_one_line_error(proc, "dc_lease_annual.xlsx", "Model", "no line labelled rent")
    assert src.read_bytes() == before
    assert not (tmp_path / "dc_lease_annual.gpu.xlsx").exists()


def test_rent_cell_with_ref_error_is_named(tmp_path):
    src = copy_template(tmp_path)
    wb = openpyxl.load_workbook(src)
    wb["Model"]["H11"] = "=#REF!*2"
    wb.save(src)
    proc = run("convert", src)
    assert_one_line_error(proc, "dc_lease_annual.xlsx", "Model!H11", "#REF!")
    assert not (tmp_path / "dc_lease_annual.gpu.xlsx").exists()


def test_profile_naming_a_missing_sheet(tmp_path):
    src = copy_template(tmp_path)
    profile = tmp_path / "bad.toml"
    profile.write_text((TEMPLATES / "dc_lease_annual.toml").read_text().replace('"Model!E11:N11"',
                                                                                 '"Modell!E11:N11"'))
    proc = run("convert", src, "--profile", profile)
    assert_one_line_error(proc, "dc_lease_annual.xlsx", "Modell")


def test_unsupported_function_is_named(tmp_path):
    src = copy_template(tmp_path)
    wb = openpyxl.load_workbook(src)
    wb["Model"]["E13"] = "=NOSUCHFUNC(E11)-E12"
    wb.save(src)
    proc = run("convert", src)
    assert_one_line_error(proc, "NOSUCHFUNC", "Model!E13")
    assert not (tmp_path / "dc_lease_annual.gpu.xlsx").exists()


@pytest.mark.parametrize("args", [["--mode", "sideways"], ["--bogus"], []], ids=["bad-mode", "bad-flag", "no-input"])
def test_bad_usage_exits_2(tmp_path, args):
    src = copy_template(tmp_path)
    proc = run("convert", *( [src] if args else []), *args)
    assert proc.returncode == 2


@pytest.mark.parametrize(("flag", "needle"), [("--set=d=2", "d"), ("--set=nope=1", "nope"),
                                               ("--preset=h100-bsae", "h100-bsae"),
                                               ("--launch=2027-13-01:0.1", "launches")])
def test_bad_parameters_are_one_line_errors(tmp_path, flag, needle):
    src = copy_template(tmp_path)
    proc = run("convert", src, flag)
    assert_one_line_error(proc, needle)
    assert not (tmp_path / "dc_lease_annual.gpu.xlsx").exists()


def test_check_command(tmp_path):
    src = copy_template(tmp_path)
    ok = run("check", src)
    assert ok.returncode == 0 and "ok" in ok.stdout
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a zip")
    proc = run("check", src, bad)
    assert proc.returncode == 1
    assert "bad.xlsx" in proc.stderr and "Traceback" not in proc.stderr


def test_curve_command_prints_the_monthly_table_and_draws_it(tmp_path):
    png = tmp_path / "curve.png"
    proc = run("curve", "h100-base", "--months", "25", "--png", png, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    months = doc["months"]
    assert len(months) == 25 and months[0]["month"] == "2026-07-01" and months[0]["index"] == 1.0
    # docs/sources.md: H100 base path at year 1 = 2.40·e^(−0.12)·(1 − 0.15) = 1.8093 (quoted 1.81)
    assert months[12]["month"] == "2027-07-01"
    assert abs(months[12]["spot"] - 2.40 * math.exp(-0.12) * 0.85) < 1e-9
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    table = run("curve", "h100-stress", "--months", "3", "--set", "d=0.5")
    assert table.returncode == 0 and "2026-09-01" in table.stdout and "realised" in table.stdout
    bad = run("curve", "h100-bsae")
    assert_one_line_error(bad, "h100-bsae")


def test_collateral_overrides_and_profile_cost(tmp_path):
    src = copy_template(tmp_path, "gpu_ddtl_quarterly")
    proc = run("convert", src, "--json", "--collateral", "h_liq=distressed", "--collateral", "mu=0.4")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["collateral"]["h_liq"] == 0.55 and doc["collateral"]["mu"] == 0.4
    assert doc["collateral"]["cost_per_gpu"] == 33000  # from the profile's [deal]
    bad = run("convert", src, "--force", "--collateral", "h_liq=2")
    assert_one_line_error(bad, "h_liq")
