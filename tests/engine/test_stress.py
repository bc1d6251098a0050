"""Monte Carlo stress through the lender's own model (issue 15), at the engine's level: the lanes
against the engine, a certain spec against the deterministic conversion, independence against the
binomial error, the Stress sheet, the dump and a scenario converted again (checked by LibreOffice).
The command line (``gpucredit stress``, ``convert --scenario``) is tested in test_cli_stress.py."""

from __future__ import annotations

import csv
import math
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from conftest import TEMPLATE_NAMES
from engine.convert import CurveChoice, convert
from engine.errors import ParameterError
from engine.scenarios.replay import apply_scenario, read_scenario
from engine.scenarios.stress import StressModel
from engine.scenarios.stress_job import stress
from engine.scenarios.stress_run import run_stress
from engine.session import ModelSession
from libreoffice import ink_share, recalculate, render_sheet
from models.scenarios import load_spec

MINER = "miner_double_leverage_monthly"


def _certain(tmp_path: Path, name: str) -> Path:
    """The shipped spec with nothing uncertain, as a spec file: no draws, sigma 0, no regime."""
    spec = load_spec(name)
    text = f'name = "certain"\npreset = "{spec.preset}"\n'
    if spec.btc_price0 is not None:
        text += f"[btc]\nprice0 = {spec.btc_price0!r}\n"
    path = tmp_path / "certain.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_a_certain_spec_gives_the_deterministic_conversion(name, template_copy, tmp_path):
    path = template_copy(name)
    spec_name = "miner-convergence" if name == MINER else "h100-stress-mc"
    spec_file = _certain(tmp_path, spec_name)
    run = stress(path, tmp_path / "s.xlsx", spec=str(spec_file), scenarios=40, seed=1, check=5).run
    preset = load_spec(spec_name).preset
    deterministic = convert(path, tmp_path / "d.xlsx", curve=CurveChoice(preset=preset)).metrics_after
    lanes = run.lanes
    assert set(lanes.min_dscr.tolist()) == {deterministic.min_dscr}
    assert lanes.shortfall.tolist() == pytest.approx([deterministic.total_shortfall] * 40, rel=1e-12, abs=1e-9)
    assert set(lanes.breach.sum(axis=1).tolist()) == {deterministic.breaches}
    assert run.figures()["p_breach_by_maturity"] == (1.0 if deterministic.breaches else 0.0)


def test_every_lane_equals_the_engine_with_verify(template_copy, tmp_path):
    """--verify: each of 300 scenarios through GPU_Curve and the engine; the run fails on a difference."""
    session = ModelSession.open(template_copy(MINER), curve=CurveChoice(preset="h100-base"))
    run = run_stress(StressModel(session, load_spec("miner-convergence")), scenarios=300, seed=3, verify_all=True)
    assert run.verified == 300 and run.path == "vectorised"
    assert run.worst_difference < 1e-9


def test_a_wrong_lane_fails_loudly(template_copy):
    session = ModelSession.open(template_copy("gpu_ddtl_quarterly"), curve=CurveChoice(preset="h100-stress"))
    model = StressModel(session, load_spec("h100-stress-mc"))
    from engine.errors import ConsistencyError
    from engine.scenarios.stress import draws_of

    draws = draws_of(model, 5, [0, 1])
    out = model._outputs(draws, model.rents(draws), 2)
    out["cfads"][1, 3] *= 1 + 1e-6  # one cell of one lane off by a millionth
    with pytest.raises(ConsistencyError, match="scenario 1: the vectorised lane gives"):
        model.verify(draws, out, [0, 1])


INDEPENDENT = '''
name = "independent"
preset = "h100-base"
[vary.d]
dist = "uniform"
low = 0.0
high = 0.08
[shocks]
sigma_gpu = 0.30
sigma_btc = 0.70
rho = {rho}
rho_stress = {rho_stress}
p_enter = {p_enter}
p_exit = 0.2
stress_drift_gpu = -0.06
stress_drift_btc = -0.10
[btc]
price0 = 75000.0
[margin]
loan = 130000000.0
btc_pledged = 3467.0
'''


def _z(calls: np.ndarray, breaches: np.ndarray) -> np.ndarray:
    """Per quarter, (p_joint - p_call x p_breach) over its standard error under independence.

    With J = C B per scenario, the delta method gives n Var(p_J - p_C p_B) =
    p_J (1 - p_J) - p_B^2 p_C (1 - p_C) - p_C^2 p_B (1 - p_B) (the covariances of p_J with p_C and p_B
    are p_C p_B (1 - p_C) / n and p_C p_B (1 - p_B) / n)."""
    n = calls.shape[0]
    pc, pb, pj = calls.mean(axis=0), breaches.mean(axis=0), (calls & breaches).mean(axis=0)
    var = (pj * (1 - pj) - pb**2 * pc * (1 - pc) - pc**2 * pb * (1 - pb)) / n
    keep = (pc > 0.05) & (pc < 0.95) & (pb > 0.05) & (pb < 0.95)
    return (pj - pc * pb)[keep] / np.sqrt(var[keep])


def test_with_rho_0_the_joint_probability_is_the_product_of_the_marginals(template_copy):
    """The GPU loan's breaches (GPU rent) and the BTC-backed loan's margin calls (models/ mechanics):
    with rho = 0 and no shared regime, each quarter's joint probability is the product of the
    marginals within 4 standard errors; with the convergence regime it is not."""
    curve = CurveChoice(preset="h100-base", launches=(), overrides={"util": (0.85,)})
    session = ModelSession.open(template_copy("gpu_ddtl_quarterly"), curve=curve)
    n = 20_000
    alone = load_spec("i", text=INDEPENDENT.format(rho=0.0, rho_stress=0.0, p_enter=0.0))
    lanes = run_stress(StressModel(session, alone), scenarios=n, seed=11, check=5).lanes
    assert lanes.margin_q is not None
    z = _z(lanes.margin_q, lanes.breach_q)
    assert z.size >= 10 and np.abs(z).max() < 4, z
    joined = load_spec("j", text=INDEPENDENT.format(rho=0.5, rho_stress=0.9, p_enter=0.05))
    lanes = run_stress(StressModel(session, joined), scenarios=n, seed=11, check=5).lanes
    assert lanes.margin_q is not None and lanes.btc_independent_q is not None
    assert _z(lanes.margin_q, lanes.breach_q).min() > 4  # converging: far more joint than the product
    # the run's own rho = 0 counterfactual (BTC redrawn with independent shocks and regime) is independent
    assert lanes.breach_independent_q is not None
    assert np.abs(_z(lanes.btc_independent_q, lanes.breach_independent_q)).max() < 4


def test_the_stress_sheet_holds_the_run(template_copy, tmp_path):
    path = template_copy(MINER)
    outcome = stress(path, tmp_path / "s.xlsx", scenarios=600, seed=7, dump=tmp_path / "d.csv")
    figures = outcome.run.figures()
    wb = openpyxl.load_workbook(outcome.result.output, data_only=True)
    sheet = wb["Stress"]
    labels = {sheet.cell(r, 1).value: sheet.cell(r, 2).value for r in range(1, 40)}
    assert labels["Probability of a covenant breach by maturity"] == figures["p_breach_by_maturity"]
    assert labels["Joint: a margin call and a DSCR breach in the same quarter"] == \
        figures["p_joint_margin_call_and_breach_same_quarter"]
    assert labels["… the same with BTC and GPU shocks independent (rho = 0)"] == \
        figures["p_joint_margin_call_and_breach_same_quarter_rho0"]
    assert "own margin-call line" in " ".join(str(sheet.cell(r, 1).value) for r in range(1, 60))
    with zipfile.ZipFile(outcome.result.output) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert sum("<c:barChart>" in c for c in charts) == 1
    assert any("DSCR percentiles" in c and "covenant" in c for c in charts)
    # LibreOffice opens the workbook, keeps the sheet and draws its charts
    saved = openpyxl.load_workbook(recalculate(outcome.result.output, tmp_path / "lo"), data_only=True)
    assert saved["Stress"]["A6"].value == "Probability of a covenant breach by maturity"
    assert saved["Stress"]["B6"].value == pytest.approx(figures["p_breach_by_maturity"])
    _pdf, png = render_sheet(outcome.result.output, "Stress", tmp_path / "png")
    assert ink_share(png) > 0.02


def test_a_dumped_scenario_converts_again_and_libreoffice_agrees(template_copy, tmp_path, lo_cache):
    """The replayed scenario's workbook (its shocks on GPU_Curve, its BTC path in the deck), recalculated
    by LibreOffice, has the stress lane's minimum DSCR."""
    path = template_copy(MINER)
    outcome = stress(path, tmp_path / "s.xlsx", scenarios=50, seed=9, dump=tmp_path / "d.csv")
    rows = list(csv.DictReader((tmp_path / "d.csv").read_text(encoding="utf-8").splitlines()))
    assert [int(r["scenario"]) for r in rows] == list(range(50))
    assert rows[0]["spec"] == "miner-convergence" and rows[0]["seed"] == "9"
    wanted = int(np.argmin(outcome.run.lanes.min_dscr))  # the worst scenario
    scenario = read_scenario(f"{tmp_path / 'd.csv'}:{wanted}")
    result = convert(path, tmp_path / "r.xlsx", curve=CurveChoice(preset="h100-base"),
                     prepare=lambda s: apply_scenario(s, scenario))
    assert result.metrics_after.min_dscr == pytest.approx(float(rows[wanted]["min_dscr"]), rel=1e-9)
    lo = lo_cache(result.output)
    dscr = [lo[("Monthly", f"{openpyxl.utils.get_column_letter(5 + i)}50")] for i in range(60)]
    assert min(v for v in dscr if isinstance(v, float)) == pytest.approx(result.metrics_after.min_dscr, rel=1e-9)
    wb = openpyxl.load_workbook(result.output, data_only=True)
    notes = [c.value for row in wb["Credit_Summary"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "Stress scenario replayed" in notes


def test_a_replay_refuses_what_it_cannot_rebuild(template_copy, tmp_path):
    path = template_copy(MINER)
    spec = tmp_path / "mine.toml"
    spec.write_text((Path(__file__).parents[2] / "models" / "specs" / "miner-convergence.toml")
                    .read_text(encoding="utf-8"), encoding="utf-8")
    stress(path, tmp_path / "s.xlsx", spec=str(spec), scenarios=5, seed=2, dump=tmp_path / "d.csv", check=2)
    with pytest.raises(ParameterError, match="no scenario 9"):
        read_scenario(f"{tmp_path / 'd.csv'}:9")
    with pytest.raises(ParameterError, match="give the dump and a scenario id"):
        read_scenario(str(tmp_path / "d.csv"))
    spec.write_text(spec.read_text(encoding="utf-8").replace("sigma_btc = 0.70", "sigma_btc = 0.60"),
                    encoding="utf-8")
    with pytest.raises(ParameterError, match="has changed since the run"):
        read_scenario(f"{tmp_path / 'd.csv'}:1")
    other = template_copy("gpu_ddtl_quarterly")
    stress(path, tmp_path / "s2.xlsx", scenarios=3, seed=2, dump=tmp_path / "e.csv", check=1)
    back = read_scenario(f"{tmp_path / 'e.csv'}:1")
    with pytest.raises(ParameterError, match="the dump is of miner_double_leverage_monthly.xlsx"):
        convert(other, tmp_path / "x.xlsx", prepare=lambda s: apply_scenario(s, back))
    assert not (tmp_path / "x.xlsx").exists()


def test_nothing_is_written_over_existing_files(template_copy, tmp_path):
    path = template_copy(MINER)
    (tmp_path / "s.xlsx").write_bytes(b"keep")
    with pytest.raises(Exception, match="output file exists"):
        stress(path, tmp_path / "s.xlsx", scenarios=3)
    assert (tmp_path / "s.xlsx").read_bytes() == b"keep"


def test_a_workbook_the_lanes_cannot_run_is_evaluated_scenario_by_scenario(tmp_path):
    """A function outside the vectorised set (SQRT) between the rent and CFADS: the run says so, with
    its expected time, before it starts, and still equals the deterministic conversion."""
    from question_books import sculpting_model

    path, _loan = sculpting_model(tmp_path)
    wb = openpyxl.load_workbook(path)
    for col in "EFGHIJKL":
        wb["Model"][f"{col}8"] = f"=SQRT(({col}6-{col}7)^2)"
    wb.save(path)
    recalculate(path, tmp_path / "cached").replace(path)  # cached values as a spreadsheet application writes them
    notices: list[str] = []
    spec = tmp_path / "certain.toml"
    spec.write_text('name = "certain"\npreset = "h100-base"\n', encoding="utf-8")
    run = stress(path, tmp_path / "s.xlsx", spec=str(spec), scenarios=4, seed=1, check=2, notice=notices.append,
                 curve=CurveChoice(preset="h100-base")).run
    assert run.path == "per scenario" and "SQRT" in run.fallback_reason
    assert len(notices) == 1 and "scenario by scenario, about" in notices[0]
    deterministic = convert(path, tmp_path / "d.xlsx", curve=CurveChoice(preset="h100-base")).metrics_after
    assert run.lanes.min_dscr.tolist() == pytest.approx([deterministic.min_dscr] * 4, rel=1e-12)
    assert not math.isnan(run.worst_difference)
