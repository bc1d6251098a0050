"""The GPU_Curve sheet: the curve's inputs as cells and its formulas (docs/curve.md) as live Excel formulas.

Layout (rows fixed so a person can find things; the monthly table grows with the timeline)::

    A1            title                     S4:Y4   per-period header
    A5:B17        inputs (label, value)     S5…     one row per template period:
    B19:…19       util per deal year                 #, start, end, rent before, mean index,
    A22:E29       launches (date, step,              rent after, changed?
                  first month, active)      G21:I24 contracted, then merchant: contract end E (H22),
    A32:R32       monthly header, then               re-leasing gap g (H23), the anchor period (H24)
                  one row per calendar month;   Z33…    a stress scenario's monthly shock on the spot
                                                        price (1 unless a scenario is replayed)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from engine.errors import ParameterError
from engine.refs import CellRef, column_letter
from engine.xlsx.new_sheet import NewSheet
from engine.values import CellValue, date_to_serial
from models.curves import Contract, CurveParams, RentMode
from models.periods import PeriodGrid, month_index, month_start

SHEET_NAME = "GPU_Curve"
INPUT_ROWS = {
    "price_date": 5, "start": 6, "p0": 7, "d": 8, "floor": 9, "ramp_months": 10, "c": 11,
    "p_contract": 12, "contract_months": 13, "gpus": 14, "unit_scale": 15,
}
INPUT_NOTES = {
    "price_date": "date p0 was observed (market clock starts here)",
    "start": "deal clock starts here (default: first month of the anchor period)",
    "p0": "spot price at price_date, $ per GPU-hour",
    "d": "annual decline of the spot price (0.25 = -25 % a year)",
    "floor": "spot never falls below this, $ per GPU-hour",
    "ramp_months": "months over which each launch step phases in",
    "c": "share of the fleet on take-or-pay contract",
    "p_contract": "contract price, $ per GPU-hour",
    "contract_months": "contract length from start, months",
    "gpus": "GPUs in the fleet (absolute mode)",
    "unit_scale": "dollars to the template's money unit (absolute mode)",
}
MODE_ROW, PRESET_ROW = 16, 17
UTIL_ROW, UTIL_COLS = 19, 10
LAUNCH_ROW0, LAUNCH_SLOTS = 22, 8
MONTH_HEADER_ROW = 32
FIRST_LAUNCH_COL = 4  # D: one factor column per launch slot
COL = {"month": 1, "n": 2, "m": 3, "spot": 12, "util": 13, "contract": 14, "realised": 15, "index": 16,
       "hours": 17, "earns": 18, "shock": 26}
# Z: a stress scenario's monthly multiplier on the spot price (1 unless a scenario is replayed; an input)
# Contracted, then merchant (docs/curve.md): the contract end E and the re-leasing gap g, beside the launches
CONTRACT_CELLS = {"contracted_until": "$H$22", "releasing_gap_months": "$H$23"}
CONTRACT_NOTES = {
    "contracted_until": "contract end E: periods ending on or before it keep the template's rent (empty: none)",
    "releasing_gap_months": "re-leasing gap g: months after the month of E that earn nothing",
}
ANCHOR_CELL = "$H$24"
PERIOD_COL0, PERIOD_ROW0 = 19, 5  # S5


@dataclass(frozen=True)
class CurveSheetLayout:
    """Where the per-period rent of each template period lives on GPU_Curve."""

    rent_after: tuple[CellRef, ...]
    first_month: int
    n_months: int


def shock_cells(layout: CurveSheetLayout) -> list[tuple[int, int]]:
    """(row, column) of each month's shock input, in month order."""
    first = MONTH_HEADER_ROW + 1
    return [(first + i, COL["shock"]) for i in range(layout.n_months)]


def input_cell(name: str) -> str:
    """The input cell of a curve parameter (``$B$8`` for d), or of the contract end and gap (``$H$22``)."""
    return CONTRACT_CELLS[name] if name in CONTRACT_CELLS else f"$B${INPUT_ROWS[name]}"


def build_curve_sheet(
    params: CurveParams,
    grid: PeriodGrid,
    rent_before: np.ndarray,
    rent_cells: tuple[CellRef, ...],
    changed: np.ndarray,
    mode: RentMode,
    preset: str,
    styles: dict[str, int],
    *,
    date1904: bool = False,
    anchor: int | None = None,
    contract: Contract | None = None,
) -> tuple[NewSheet, CurveSheetLayout]:
    """Lay out GPU_Curve for ``params`` over ``grid``; returns the sheet and where rent-after lives.

    Dates are written as serials of the workbook's date system (``date1904``). ``anchor`` is the
    anchor period's position (default: the first period with rent); ``contract`` fills the contract
    end and re-leasing gap input cells (empty without one).
    """
    assert params.start is not None, "resolve the start date before building the sheet"
    serial = partial(date_to_serial, date1904=date1904)
    sheet = NewSheet(col_widths={1: 16, 2: 12, 3: 12, 12: 11, 13: 11, 15: 11, 16: 11, 19: 8, 20: 12,
                                 21: 12, 22: 14, 23: 12, 24: 14, 25: 10},
                     freeze_row=0, tab_color="FF2F75B5")
    sheet.value(1, 1, "GPU rental curve (gpucredit)", styles["title"])
    sheet.value(2, 1, "Edit the blue inputs: the monthly curve, the per-period rent and the template's rent "
                      "cells follow. spot = max(floor, p0·(1−d)^(n/12)·Π(1 − step·ramp)); realised = "
                      "contract·p_contract + (1 − contract)·util·spot; index = realised ÷ realised in the start "
                      "month (gpucredit's docs/curve.md states the whole model).", styles["note"])
    sheet.value(4, 1, "Input", styles["header"])
    sheet.value(4, 2, "Value", styles["header"])
    sheet.value(4, 3, "Meaning", styles["header"])
    _inputs(sheet, params, mode, preset, styles, date1904)
    anchor = int(np.flatnonzero(rent_before != 0)[0]) if anchor is None else anchor
    _contract_inputs(sheet, contract, anchor, styles, serial)
    first = min(int(grid.first_month[0]), month_index(params.start))
    last = max(int(grid.last_month[-1]), month_index(params.start))
    n_months = last - first + 1
    _monthly_table(sheet, first, n_months, max(UTIL_COLS, len(params.util)), styles, serial)
    rent_after = _period_table(sheet, grid, rent_before, rent_cells, changed, mode, first, anchor, styles, serial)
    return sheet, CurveSheetLayout(rent_after=rent_after, first_month=first, n_months=n_months)


def input_values(params: CurveParams, *, date1904: bool = False) -> dict[tuple[int, int], CellValue]:
    """The value of each input cell of GPU_Curve for ``params`` (dates as serials of the workbook's
    date system; ``None`` for an empty slot) — what the sheet is built with, and what a model session
    sets to change the curve."""
    if len(params.launches) > LAUNCH_SLOTS:
        raise ParameterError(f"launches: {len(params.launches)} given, but GPU_Curve has room for {LAUNCH_SLOTS}; "
                             "merge launches or drop the smallest steps")
    values: dict[tuple[int, int], CellValue] = {}
    for name, row in INPUT_ROWS.items():
        value = getattr(params, name)
        if isinstance(value, dt.date):
            values[(row, 2)] = date_to_serial(value, date1904=date1904)
        else:
            values[(row, 2)] = None if value is None else float(value)
    for i in range(max(UTIL_COLS, len(params.util))):
        values[(UTIL_ROW, 2 + i)] = params.util[i] if i < len(params.util) else None
    for k in range(LAUNCH_SLOTS):
        launch = params.launches[k] if k < len(params.launches) else None
        values[(LAUNCH_ROW0 + k, 2)] = None if launch is None else date_to_serial(launch.date, date1904=date1904)
        values[(LAUNCH_ROW0 + k, 3)] = None if launch is None else launch.step
    return values


def _inputs(sheet: NewSheet, params: CurveParams, mode: RentMode, preset: str, styles: dict[str, int],
            date1904: bool) -> None:
    values = input_values(params, date1904=date1904)
    for name, row in INPUT_ROWS.items():
        sheet.value(row, 1, name, styles["label"])
        style = "input_date" if name in ("price_date", "start") else "input"
        sheet.value(row, 2, values[(row, 2)], styles[style])
        sheet.value(row, 3, INPUT_NOTES[name], styles["note"])
    sheet.value(MODE_ROW, 1, "mode", styles["label"])
    sheet.value(MODE_ROW, 2, mode.value, styles["label"])
    sheet.value(MODE_ROW, 3, "how rent follows the curve (fixed at conversion)", styles["note"])
    sheet.value(PRESET_ROW, 1, "preset", styles["label"])
    sheet.value(PRESET_ROW, 2, preset, styles["label"])
    sheet.value(PRESET_ROW, 3, "starting point; the inputs above may override it", styles["note"])
    sheet.value(UTIL_ROW - 1, 1, "util by deal year", styles["header"])
    sheet.value(UTIL_ROW, 1, "util", styles["label"])
    for i in range(max(UTIL_COLS, len(params.util))):
        sheet.value(UTIL_ROW, 2 + i, values[(UTIL_ROW, 2 + i)], styles["input"])
    sheet.value(UTIL_ROW + 1, 2, "year 1, year 2, …; the last value repeats; leave later cells empty",
                styles["note"])
    sheet.value(LAUNCH_ROW0 - 1, 1, "Launches", styles["header"])
    for col, text in ((2, "date"), (3, "step"), (4, "first month"), (5, "applies")):
        sheet.value(LAUNCH_ROW0 - 1, col, text, styles["header"])
    for k in range(LAUNCH_SLOTS):
        row = LAUNCH_ROW0 + k
        sheet.value(row, 1, f"launch {k + 1}", styles["label"])
        sheet.value(row, 2, values[(row, 2)], styles["input_date"])
        sheet.value(row, 3, values[(row, 3)], styles["input"])
        # M_k: the first month-start on or after the launch date
        sheet.formula(row, 4, f'IF(B{row}="","",EOMONTH(B{row}-1,0)+1)', styles["date"])
        # launches on or before price_date are already in p0
        sheet.formula(row, 5, f'IF(B{row}="",FALSE,B{row}>{input_cell("price_date")})', None)


def _contract_inputs(sheet: NewSheet, contract: Contract | None, anchor: int, styles: dict[str, int],
                     serial: Callable[[dt.date], float]) -> None:
    sheet.value(21, 7, "Contracted, then merchant", styles["header"])
    sheet.value(22, 7, "contracted_until", styles["label"])
    sheet.value(22, 8, None if contract is None else serial(contract.until), styles["input_date"])
    sheet.value(23, 7, "releasing_gap_months", styles["label"])
    sheet.value(23, 8, 0.0 if contract is None else float(contract.releasing_gap_months), styles["input"])
    for row, name in ((22, "contracted_until"), (23, "releasing_gap_months")):
        sheet.value(row, 9, CONTRACT_NOTES[name], styles["note"])
    sheet.value(24, 7, "anchor period", styles["label"])
    sheet.value(24, 8, float(anchor + 1), None)
    sheet.value(24, 9, "the period whose rent the index scales (fixed at conversion; --anchor)", styles["note"])


def _months_between(later: str, earlier: str) -> str:
    return f"(YEAR({later})-YEAR({earlier}))*12+MONTH({later})-MONTH({earlier})"


def _monthly_table(sheet: NewSheet, first: int, n_months: int, util_cols: int, styles: dict[str, int],
                   serial: Callable[[dt.date], float]) -> None:
    h = MONTH_HEADER_ROW
    headers = {COL["month"]: "month", COL["n"]: "n (market)", COL["m"]: "m (deal)", COL["spot"]: "spot",
               COL["util"]: "util", COL["contract"]: "contract", COL["realised"]: "realised",
               COL["index"]: "index", COL["hours"]: "hours", COL["earns"]: "earns", COL["shock"]: "shock"}
    for k in range(LAUNCH_SLOTS):
        headers[FIRST_LAUNCH_COL + k] = f"launch {k + 1}"
    for col, text in headers.items():
        sheet.value(h, col, text, styles["header"])
    sheet.value(h - 1, 1, "Monthly curve ($ per installed GPU-hour; index = realised / realised at start)",
                styles["header"])
    r0, r1 = h + 1, h + n_months
    month_col = column_letter(COL["month"])
    realised_col = column_letter(COL["realised"])
    util_range = f"$B${UTIL_ROW}:${column_letter(1 + util_cols)}${UTIL_ROW}"
    for i in range(n_months):
        row = r0 + i
        a = f"{month_col}{row}"
        sheet.value(row, COL["month"], serial(month_start(first + i)), styles["date"])
        sheet.formula(row, COL["n"], _months_between(a, input_cell("price_date")), None)
        sheet.formula(row, COL["m"], _months_between(a, input_cell("start")), None)
        for k in range(LAUNCH_SLOTS):
            lr = LAUNCH_ROW0 + k
            j = _months_between(a, f"$D${lr}")
            ramp = f"IF({a}<$D${lr},0,IF({input_cell('ramp_months')}=0,1,MIN(1,({j})/{input_cell('ramp_months')})))"
            sheet.formula(row, FIRST_LAUNCH_COL + k, f"IF($E${lr},1-$C${lr}*{ramp},1)", styles["num"])
        factors = f"{column_letter(FIRST_LAUNCH_COL)}{row}:{column_letter(FIRST_LAUNCH_COL + LAUNCH_SLOTS - 1)}{row}"
        shock = f"{column_letter(COL['shock'])}{row}"
        sheet.value(row, COL["shock"], 1.0, styles["input"])
        sheet.formula(row, COL["spot"], f"MAX({input_cell('floor')},{input_cell('p0')}*(1-{input_cell('d')})"
                                        f"^(B{row}/12)*PRODUCT({factors})*{shock})", styles["num"])
        sheet.formula(row, COL["util"], f"INDEX({util_range},MIN(MAX(INT(C{row}/12),0),COUNT({util_range})-1)+1)",
                      styles["num"])
        sheet.formula(row, COL["contract"],
                      f"IF(AND(C{row}>=0,C{row}<{input_cell('contract_months')}),{input_cell('c')},0)", styles["num"])
        sheet.formula(row, COL["realised"], f"N{row}*{input_cell('p_contract')}+(1-N{row})*M{row}*L{row}",
                      styles["num"])
        sheet.formula(row, COL["index"],
                      f"O{row}/INDEX(${realised_col}${r0}:${realised_col}${r1},"
                      f"MATCH(EOMONTH({input_cell('start')},-1)+1,${month_col}${r0}:${month_col}${r1},0))",
                      styles["num"])
        sheet.formula(row, COL["hours"], f"24*DAY(EOMONTH({a},0))", None)
        end, gap = input_cell("contracted_until"), input_cell("releasing_gap_months")
        # 0 in the re-leasing gap: the g months after the month of E
        sheet.formula(row, COL["earns"], f"IF(ISNUMBER({end}),IF(AND({a}>EOMONTH({end},0),{a}<=EOMONTH({end},"
                                         f"N({gap}))),0,1),1)", None)


def _period_table(
    sheet: NewSheet, grid: PeriodGrid, rent_before: np.ndarray, rent_cells: tuple[CellRef, ...],
    changed: np.ndarray, mode: RentMode, first: int, anchor: int, styles: dict[str, int],
    serial: Callable[[dt.date], float],
) -> tuple[CellRef, ...]:
    c0 = PERIOD_COL0
    for offset, text in enumerate(("period", "start", "end", "rent before", "mean index", "rent after",
                                   "changed")):
        sheet.value(PERIOD_ROW0 - 1, c0 + offset, text, styles["header"])
    mean_col = column_letter(c0 + 4)
    end_col, before_col = column_letter(c0 + 2), column_letter(c0 + 3)
    until = input_cell("contracted_until")
    anchor_ref = rent_cells[anchor].formula_ref()
    out = []
    for p in range(grid.n_periods):
        row = PERIOD_ROW0 + p
        months = grid.months_of(p)
        ra = MONTH_HEADER_ROW + 1 + months[0] - first
        rb = MONTH_HEADER_ROW + 1 + months[-1] - first
        sheet.value(row, c0, p + 1, None)
        sheet.value(row, c0 + 1, serial(grid.starts[p]), styles["date"])
        sheet.value(row, c0 + 2, serial(grid.ends[p]), styles["date"])
        sheet.value(row, c0 + 3, float(rent_before[p]), styles["num2"])
        # the mean index of the months that earn (the re-leasing gap counts 0)
        sheet.formula(row, c0 + 4, f"SUMPRODUCT(P{ra}:P{rb},R{ra}:R{rb})/ROWS(P{ra}:P{rb})", styles["num"])
        contracted = f"AND(ISNUMBER({until}),{end_col}{row}<={until})"
        if not changed[p]:
            formula = rent_cells[p].formula_ref()
        elif mode is RentMode.INDEX:
            formula = f"IF({contracted},{before_col}{row},{anchor_ref}*{mean_col}{row}/${mean_col}${PERIOD_ROW0 + anchor})"
        else:
            formula = (f"IF({contracted},{before_col}{row},{input_cell('unit_scale')}*{input_cell('gpus')}"
                       f"*SUMPRODUCT(Q{ra}:Q{rb},O{ra}:O{rb},R{ra}:R{rb}))")
        sheet.formula(row, c0 + 5, formula, styles["num2_bold"])
        if changed[p]:
            sheet.formula(row, c0 + 6, f'IF({contracted},"contracted","curve")', None)
        else:
            sheet.value(row, c0 + 6, "kept", None)
        out.append(CellRef(SHEET_NAME, row, c0 + 5))
    return tuple(out)
