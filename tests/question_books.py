"""Workbooks built for the credit-question tests (not a test module).

``sculpting_model``: eight annual periods; the debt service is sculpted to CFADS / target DSCR, and
whatever the loan has left at maturity is repaid then (a balloon), so a loan above the sculpted
capacity breaches the target in the last period and one at or below it never does. Cached values
are computed here by a plain loop, the way Excel would compute the formulas.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlsxwriter

YEARS = 8
COLS = "EFGHIJKL"
LOAN, RATE, TARGET, OPEX, RENT = 40.0, 0.08, 1.30, 4.0, 50.0
GPUS, UNIT_SCALE = 1000, 1e-6  # absolute mode: the rent is the fleet's, in $m


def sculpting_model(folder: Path) -> tuple[Path, float]:
    """The workbook and its profile in ``folder``; returns the path and the loan it was built with."""
    path = folder / "sculpted.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    inputs = wb.add_worksheet("Inputs")
    model = wb.add_worksheet("Model")
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    for row, (label, value) in enumerate((("Senior loan amount", LOAN), ("Interest rate", RATE),
                                          ("Target DSCR", TARGET), ("Operating costs", OPEX)), start=2):
        inputs.write(row, 1, label)
        inputs.write_number(row, 2, value)
    model.write("A5", "Period end")
    for label, row in (("Rent", 6), ("Operating costs", 7), ("CFADS", 8), ("Opening balance", 10), ("Interest", 11),
                       ("Debt service", 12), ("Closing balance", 13), ("DSCR", 14)):
        model.write(f"A{row}", label)
    opening = LOAN
    for i, col in enumerate(COLS):
        end = dt.date(2027 + i, 12, 31)
        model.write_datetime(f"{col}5", dt.datetime(end.year, end.month, end.day), date)
        model.write_number(f"{col}6", RENT)
        model.write_formula(f"{col}7", "=Inputs!$C$6", None, OPEX)
        cfads = RENT - OPEX
        model.write_formula(f"{col}8", f"={col}6-{col}7", None, cfads)
        prev = COLS[i - 1] if i else None
        model.write_formula(f"{col}10", f"={prev}13" if prev else "=Inputs!$C$3", None, opening)
        interest = opening * RATE
        model.write_formula(f"{col}11", f"={col}10*Inputs!$C$4", None, interest)
        last = i == YEARS - 1
        due = opening + interest
        ds = due if last else min(cfads / TARGET, due)
        formula = f"={col}10+{col}11" if last else f"=MIN({col}8/Inputs!$C$5,{col}10+{col}11)"
        model.write_formula(f"{col}12", formula, None, ds)
        closing = due - ds
        model.write_formula(f"{col}13", f"={col}10+{col}11-{col}12", None, closing)
        model.write_formula(f"{col}14", f'=IF({col}12>0,{col}8/{col}12,"n/a")', None,
                            cfads / ds if ds > 0 else "n/a")
        opening = closing
    wb.close()
    (folder / "sculpted.toml").write_text(f'''[timeline]
cells = "Model!E5:L5"
kind = "period_end"
frequency = "annual"

[rent]
cells = "Model!E6:L6"

[metrics]
cfads = "Model!E8:L8"
debt_service = "Model!E12:L12"
interest = "Model!E11:L11"
closing_balance = "Model!E13:L13"
dscr = "Model!E14:L14"
covenant = "Inputs!C5"

[deal]
gpus = {GPUS}
unit_scale = {UNIT_SCALE}
loan_amount = "Inputs!C3"
''', encoding="utf-8")
    return path, LOAN
