"""``gpucredit stress``, ``convert --scenario`` and the question commands (breakeven, size, grid) on
the command line (issues 14 and 15): a dumped scenario converts to the stress lane's minimum DSCR, the
same seed gives the same JSON whatever the split, and what cannot be done is one line and exit 1."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from engine.shell.cli import app

MINER = "miner_double_leverage_monthly"
runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_twenty_dumped_scenarios_convert_to_their_lanes_min_dscr(template_copy, tmp_path):
    src = template_copy(MINER)
    code, _out, err = _run("stress", src, "--scenarios", "400", "--seed", "5", "--jobs", "1",
                           "-o", tmp_path / "s.xlsx", "--dump", tmp_path / "d.csv")
    assert code == 0, err
    rows = list(csv.DictReader((tmp_path / "d.csv").read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 400
    picked = rows[::20]  # 20 scenarios across the run
    for row in picked:
        out = tmp_path / f"r{row['scenario']}.xlsx"
        code, _out, err = _run("convert", src, "--scenario", f"{tmp_path / 'd.csv'}:{row['scenario']}",
                               "-o", out, "--json")
        assert code == 0, err
        doc = json.loads(_out)
        assert doc["metrics"]["after"]["min_dscr"] == pytest.approx(float(row["min_dscr"]), rel=1e-9), row["scenario"]


def test_the_same_seed_gives_the_same_json_on_any_split(template_copy, tmp_path):
    from distributed import LocalCluster

    src = template_copy("miner_hosting_monthly")
    out = tmp_path / "s.xlsx"
    docs = []
    for extra in (["--jobs", "1"], ["--jobs", "2"]):
        code, stdout, err = _run("stress", src, "--scenarios", "6000", "--seed", "7", "-o", out, "--force",
                                 "--json", *extra)
        assert code == 0, err
        docs.append(json.loads(stdout))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code, stdout, err = _run("stress", src, "--scenarios", "6000", "--seed", "7", "-o", out, "--force",
                                 "--json", "--scheduler", cluster.scheduler_address)
    assert code == 0, err
    docs.append(json.loads(stdout))
    assert docs[0] == docs[1] == docs[2]
    assert docs[0]["scenarios"] == 6000 and docs[0]["spec"] == "h100-stress-mc"
    code, stdout, _err = _run("stress", src, "--scenarios", "6000", "--seed", "8", "-o", out, "--force", "--json",
                              "--jobs", "1")
    assert json.loads(stdout)["min_dscr"] != docs[0]["min_dscr"]  # another seed, other numbers


def test_a_miner_run_reports_the_joint_figure_beside_rho_0(template_copy, tmp_path):
    code, stdout, err = _run("stress", template_copy(MINER), "--scenarios", "2000", "--jobs", "1",
                             "-o", tmp_path / "s.xlsx", "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["spec"] == "miner-convergence"  # chosen because the profile has a BTC price line
    joint, alone = doc["p_joint_margin_call_and_breach_same_quarter"], doc["p_joint_margin_call_and_breach_same_quarter_rho0"]
    assert 0 < alone < joint < 1
    assert doc["refinancing_date"] == "2029-10-01" and 0 < doc["p_breach_before_refinancing"] <= doc["p_breach_by_maturity"]


@pytest.mark.parametrize("args, message", [
    (["--spec", "h100-strss"], "not a shipped spec"),
    (["--scenarios", "0"], "Invalid value"),
])
def test_bad_stress_options_are_one_line(template_copy, tmp_path, args, message):
    code, _out, err = _run("stress", template_copy(MINER), "-o", tmp_path / "s.xlsx", *args)
    assert code != 0 and message in err
    assert not (tmp_path / "s.xlsx").exists()


def test_an_existing_output_is_kept(template_copy, tmp_path):
    (tmp_path / "s.xlsx").write_bytes(b"keep")
    code, _out, err = _run("stress", template_copy(MINER), "--scenarios", "5", "-o", tmp_path / "s.xlsx")
    assert code == 1 and "--force" in err and err.count("\n") == 1
    assert (tmp_path / "s.xlsx").read_bytes() == b"keep"


def test_a_scenario_that_is_not_in_the_dump_is_one_line(template_copy, tmp_path):
    src = template_copy(MINER)
    _run("stress", src, "--scenarios", "3", "--jobs", "1", "-o", tmp_path / "s.xlsx", "--dump", tmp_path / "d.csv")
    code, _out, err = _run("convert", src, "--scenario", f"{tmp_path / 'd.csv'}:7", "-o", tmp_path / "r.xlsx")
    assert code == 1 and "no scenario 7" in err and not (tmp_path / "r.xlsx").exists()


def test_size_writes_the_sized_loan_and_says_so(template_copy, tmp_path):
    src = template_copy("gpu_ddtl_quarterly")
    curve = ["--preset", "h100-base", "--mode", "absolute", "--no-launches", "--set", "util=0.8", "--set", "p0=3.5",
             "--set", "d=0.05"]  # a curve the loan can carry (test_questions.py)
    code, stdout, err = _run("size", src, "--target-dscr", "1.3", "--json", *curve, "-o", tmp_path / "sized.xlsx")
    assert code == 0, err
    sized = json.loads(stdout)["size"]
    assert sized["min_dscr"] == pytest.approx(1.3, rel=1e-9)
    wb = openpyxl.load_workbook(tmp_path / "sized.xlsx", data_only=True)
    for cell, amount in zip(sized["cells"], sized["amounts"], strict=True):
        sheet, _, a1 = cell.rpartition("!")
        assert wb[sheet.strip("'")][a1].value == pytest.approx(amount, rel=1e-12)
    notes = [c.value for row in wb["Credit_Summary"].iter_rows() for c in row if isinstance(c.value, str)]
    assert any(n.startswith("Loan sized to a minimum DSCR of 1.30x") for n in notes)


def test_breakeven_and_grid_agree_with_each_other(template_copy, tmp_path):
    """The grid's minimum DSCR at the breakeven decline is the covenant (two commands, one model)."""
    src = template_copy("miner_hosting_monthly")
    curve = ["--preset", "h100-base", "--mode", "absolute", "--no-launches", "--set", "util=0.8", "--set", "p0=14"]
    code, stdout, err = _run("breakeven", src, "--param", "d", "--json", *curve, "-o", tmp_path / "b.xlsx")
    assert code == 0, err
    covenant = next(r for r in json.loads(stdout)["breakeven"] if r["target"] == "covenant")
    d = covenant["value"]
    code, stdout, err = _run("grid", src, "--vary", f"d={d!r},{d * 0.5!r}", "--json", *curve,
                             "-o", tmp_path / "g.xlsx")
    assert code == 0, err
    values = json.loads(stdout)["values"]
    assert values[0] == pytest.approx(covenant["target_dscr"], abs=1e-6) and values[1] > values[0]
    wb = openpyxl.load_workbook(tmp_path / "g.xlsx", data_only=True)
    assert wb["Sensitivity"]["B5"].value == pytest.approx(values[0], rel=1e-12)
    blocks = openpyxl.load_workbook(tmp_path / "b.xlsx", data_only=True)["Credit_Summary"]
    assert "Breakeven (gpucredit breakeven)" in [c.value for row in blocks.iter_rows() for c in row]


@pytest.mark.parametrize("given, expected", [((), "h100-stress"), (("--preset", "h100-base"), "h100-base")])
def test_a_replay_takes_the_runs_preset_unless_one_is_given(template_copy, tmp_path, given, expected):
    # h100-stress-mc runs on h100-stress; an explicit --preset, even the default's name, is the user's choice
    src = template_copy("miner_hosting_monthly")
    _run("stress", src, "--spec", "h100-stress-mc", "--scenarios", "3", "--jobs", "1", "-o", tmp_path / "s.xlsx",
         "--dump", tmp_path / "d.csv")
    code, stdout, err = _run("convert", src, "--scenario", f"{tmp_path / 'd.csv'}:1", "-o", tmp_path / "r.xlsx",
                             "--json", *given)
    assert code == 0, err
    assert json.loads(stdout)["preset"] == expected
