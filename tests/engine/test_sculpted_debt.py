"""A sculpted debt schedule with a debt service reserve account (issue 8), against a numpy loop.

Project-finance debt is sized so that debt service is CFADS / target DSCR in every period
("sculpted"), and the debt is the present value of that service at the loan rate; a reserve
account (DSRA) holds the next period's debt service, funded from cash and released as it falls.
The workbook the test writes holds the model as formulas; the engine's values are checked against
the same model computed by a plain loop, and against its identities (closing balance 0, DSCR
equal to the target, Σ principal = debt).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from engine.formula.evaluate import evaluate

CFADS = [120.0, 135.0, 150.0, 150.0, 160.0, 140.0, 130.0, 125.0, 110.0, 100.0]  # per half-year
RATE = 0.035  # per half-year
TARGET_DSCR = 1.30
LINES = ("cfads", "service", "opening", "interest", "principal", "closing",
         "dsra_target", "dsra_opening", "dsra_funding", "dsra_release", "dsra_closing", "equity", "dscr")
ROW = {name: 5 + i for i, name in enumerate(LINES)}


def _model(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Debt"
    ws["A1"], ws["B1"] = "Rate per period", RATE
    ws["A2"], ws["B2"] = "Target DSCR", TARGET_DSCR
    n = len(CFADS)
    first, last = get_column_letter(3), get_column_letter(2 + n)
    for name, row in ROW.items():
        ws.cell(row, 1, name)
    for k in range(n):
        c, col = get_column_letter(3 + k), 3 + k
        prev, nxt = get_column_letter(2 + k), get_column_letter(4 + k)
        r = ROW
        ws.cell(r["cfads"], col, CFADS[k])
        ws[f"{c}{r['service']}"] = f"={c}{r['cfads']}/$B$2"
        ws[f"{c}{r['opening']}"] = (f"=NPV($B$1,{first}{r['service']}:{last}{r['service']})" if k == 0
                                    else f"={prev}{r['closing']}")
        ws[f"{c}{r['interest']}"] = f"={c}{r['opening']}*$B$1"
        ws[f"{c}{r['principal']}"] = f"={c}{r['service']}-{c}{r['interest']}"
        ws[f"{c}{r['closing']}"] = f"={c}{r['opening']}-{c}{r['principal']}"
        ws[f"{c}{r['dsra_target']}"] = f"={nxt}{r['service']}" if k < n - 1 else "=0"
        ws[f"{c}{r['dsra_opening']}"] = "=0" if k == 0 else f"={prev}{r['dsra_closing']}"
        ws[f"{c}{r['dsra_funding']}"] = f"=MAX({c}{r['dsra_target']}-{c}{r['dsra_opening']},0)"
        ws[f"{c}{r['dsra_release']}"] = f"=MAX({c}{r['dsra_opening']}-{c}{r['dsra_target']},0)"
        ws[f"{c}{r['dsra_closing']}"] = (f"={c}{r['dsra_opening']}+{c}{r['dsra_funding']}"
                                         f"-{c}{r['dsra_release']}")
        ws[f"{c}{r['equity']}"] = (f"={c}{r['cfads']}-{c}{r['service']}-{c}{r['dsra_funding']}"
                                   f"+{c}{r['dsra_release']}")
        ws[f"{c}{r['dscr']}"] = f"={c}{r['cfads']}/{c}{r['service']}"
    wb.save(path)
    return path


def _loop() -> dict[str, list[float]]:
    """The same model, one period at a time."""
    out: dict[str, list[float]] = {name: [] for name in LINES}
    service = [c / TARGET_DSCR for c in CFADS]
    balance = sum(s / (1 + RATE) ** (t + 1) for t, s in enumerate(service))
    reserve = 0.0
    for k, cfads in enumerate(CFADS):
        interest = balance * RATE
        principal = service[k] - interest
        target = service[k + 1] if k + 1 < len(CFADS) else 0.0
        funding, release = max(target - reserve, 0.0), max(reserve - target, 0.0)
        values = {"cfads": cfads, "service": service[k], "opening": balance, "interest": interest,
                  "principal": principal, "closing": balance - principal, "dsra_target": target,
                  "dsra_opening": reserve, "dsra_funding": funding, "dsra_release": release,
                  "dsra_closing": reserve + funding - release,
                  "equity": cfads - service[k] - funding + release, "dscr": cfads / service[k]}
        for name, value in values.items():
            out[name].append(value)
        balance, reserve = values["closing"], values["dsra_closing"]
    return out


@pytest.fixture(scope="module")
def computed(tmp_path_factory):
    path = _model(tmp_path_factory.mktemp("sculpted") / "sculpted.xlsx")
    evaluation = evaluate(path.read_bytes(), path=path)
    return {name: [evaluation.get("Debt", row, 3 + k) for k in range(len(CFADS))] for name, row in ROW.items()}


@pytest.mark.parametrize("line", LINES)
def test_each_line_matches_the_loop(computed, line):
    np.testing.assert_allclose(computed[line], _loop()[line], rtol=1e-9, atol=1e-9)


def test_sculpting_identities_hold(computed):
    debt = computed["opening"][0]
    assert computed["closing"][-1] == pytest.approx(0.0, abs=1e-9)  # the debt is repaid exactly
    assert sum(computed["principal"]) == pytest.approx(debt, rel=1e-12)
    assert computed["dscr"] == pytest.approx([TARGET_DSCR] * len(CFADS), rel=1e-12)
    assert computed["dsra_closing"][-1] == 0.0  # the reserve is released with the last payment
    # hand check of the first period: debt = Σ (CFADS_t / 1.3) / 1.035^t; 120/1.3 = 92.3077
    assert computed["service"][0] == pytest.approx(92.30769230769, rel=1e-12)
