"""Credit_Summary's per-period table: one row per period, one block of columns per state.

The "before" block holds the original workbook's lines as values (the output no longer contains
that workbook); the "after" block links to the template's cells, so it follows edits on GPU_Curve.
In each block the same formulas compute, per period, what :mod:`models.credit` computes: the DSCR
of the tested periods (debt service > 0), the breach flag (below the covenant by more than a
relative 1e-9, or CFADS < 0), the shortfall (capped at the debt service) and, where the template has
its own DSCR, CFADS ÷ debt service beside it. The metric formulas of ``metric_table.py`` read these
columns, so both of Credit_Summary's metric columns are live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.refs import CellRef, column_letter
from engine.report.metric_table import Ranges
from engine.xlsx.new_sheet import NewSheet
from models.credit import BREACH_TOLERANCE, DIFFER_TOLERANCE, CreditInputs

HEADER_ROW = 58  # below the charts; data from the next row
STATES = ("before", "after")
# a block's columns, in order, and their headers ("{money}" is the template's money unit)
COLUMNS = {"rent": "rent ({money})", "cfads": "CFADS ({money})", "debt_service": "debt service ({money})",
           "dscr": "DSCR", "dscr_cfads": "CFADS ÷ debt service", "differs": "DSCR differs",
           "dscr_tested": "DSCR, tested periods", "breach": "breach", "shortfall": "shortfall ({money})",
           "balance": "closing balance ({money})", "forced": "forced-sale value ({money})",
           "orderly": "collateral value ({money})"}
STYLES = {"rent": "num2", "cfads": "num2", "debt_service": "num2", "dscr": "ratio", "dscr_cfads": "ratio",
          "dscr_tested": "ratio", "shortfall": "num2", "balance": "num2", "forced": "num2", "orderly": "num2"}


@dataclass(frozen=True)
class StateCells:
    """Where one state's per-period numbers come from: the template's cells (after) or values (before).

    ``lines`` maps a block column to, per period, either a formula reference into the template or a
    value; ``sign`` is "-" where the template books debt service negative (an outflow).
    """

    links: dict[str, tuple[str, ...]]  # key -> per-period references (after)
    values: dict[str, np.ndarray]  # key -> per-period values (before, and gpucredit's collateral values)
    sign: str = ""
    formulas: dict[str, tuple[str, ...]] | None = None  # key -> per-period formulas written as they are


@dataclass(frozen=True)
class PeriodLayout:
    """Which columns the table has, and where."""

    first_row: int
    last_row: int
    columns: dict[str, dict[str, int]]  # state -> key -> column
    end_col: int = 1
    covenant_col: int = 0

    def range(self, state: str, key: str) -> str | None:
        col = self.columns[state].get(key)
        if col is None:
            return None
        letter = column_letter(col)
        return f"${letter}${self.first_row}:${letter}${self.last_row}"

    def ranges(self, state: str, covenant: str) -> Ranges:
        keys = ("dscr", "dscr_tested", "dscr_cfads", "differs", "debt_service", "breach", "shortfall", "balance",
                "forced")
        return Ranges(end=f"$A${self.first_row}:$A${self.last_row}", covenant=covenant,
                      **{key: self.range(state, key) for key in keys})


def layout_for(x: CreditInputs, n_periods: int) -> PeriodLayout:
    """The columns a template's lines call for (the same in both states)."""
    has = {"rent": True, "cfads": x.cfads is not None, "debt_service": x.debt_service is not None,
           "dscr": x.template_dscr is not None or (x.cfads is not None and x.debt_service is not None)}
    check = x.template_dscr is not None and has["cfads"] and has["debt_service"]
    has.update(dscr_cfads=check, differs=check, dscr_tested=has["dscr"], breach=has["dscr"],
               shortfall=has["cfads"] and has["debt_service"], balance=x.balance is not None,
               forced=x.forced_value is not None, orderly=x.orderly_value is not None)
    keys = [k for k in COLUMNS if has[k]]
    columns = {state: {k: 2 + i * 2 + s for i, k in enumerate(keys)} for s, state in enumerate(STATES)}
    return PeriodLayout(first_row=HEADER_ROW + 1, last_row=HEADER_ROW + n_periods, columns=columns,
                        covenant_col=2 + 2 * len(keys))


def write_table(sheet: NewSheet, layout: PeriodLayout, *, ends: list[float], cells: dict[str, StateCells],
                covenants: dict[str, str], money: str, own_dscr: bool, styles: dict[str, int]) -> None:
    """Headers and one row per period; ``covenants`` holds each state's covenant cell (``$C$22``)."""
    sheet.value(HEADER_ROW - 1, 1, "Per period: before = the original workbook (values); after = live links to "
                                   "the template's cells", styles["header"])
    sheet.value(HEADER_ROW, 1, "period end", styles["header"])
    for state in STATES:
        for key, col in layout.columns[state].items():
            sheet.value(HEADER_ROW, col, f"{COLUMNS[key].format(money=money)} {state}", styles["header"])
    sheet.value(HEADER_ROW, layout.covenant_col, "covenant", styles["header"])
    for p, end in enumerate(ends):
        row = layout.first_row + p
        sheet.value(row, 1, end, styles["date"])
        for state in STATES:
            _row(sheet, layout.columns[state], row, p, cells[state], covenants[state], own_dscr, styles)
        sheet.formula(row, layout.covenant_col, covenants["after"], styles["ratio"])


def _row(sheet: NewSheet, cols: dict[str, int], row: int, p: int, src: StateCells, covenant: str, own_dscr: bool,
         styles: dict[str, int]) -> None:
    here = {key: f"{column_letter(col)}{row}" for key, col in cols.items()}

    def put(key: str, formula: str | None = None) -> None:
        style = styles.get(STYLES.get(key, ""), None)
        if formula is None and src.formulas and key in src.formulas:
            formula = src.formulas[key][p]
        if formula is not None:
            sheet.formula(row, cols[key], formula, style)
        elif key in src.links:
            ref = src.links[key][p]
            sign = src.sign if key == "debt_service" else ""
            sheet.formula(row, cols[key], ref if key == "rent" else f'IF(ISNUMBER({ref}),{sign}{ref},"n/a")', style)
        else:
            sheet.value(row, cols[key], _number(src.values[key][p]), style)

    cf, ds, dscr = here.get("cfads"), here.get("debt_service"), here["dscr"] if "dscr" in cols else None
    tested = _if_number(ds, f"{ds}>0") if ds else (f"ISNUMBER({dscr})" if dscr else "FALSE")
    ratio = f'IF(AND({tested},ISNUMBER({cf})),{cf}/{ds},"{{blank}}")' if cf and ds else None
    for key in cols:
        if key == "dscr" and not own_dscr:
            assert ratio is not None
            put(key, ratio.replace("{blank}", "n/a"))
        elif key == "dscr_cfads":
            assert ratio is not None
            put(key, ratio.replace("{blank}", ""))
        elif key == "differs":
            calc = here["dscr_cfads"]
            apart = f"IF(ABS({dscr}-{calc})>{_literal(DIFFER_TOLERANCE)}*ABS({calc}),1,0)"
            put(key, f"IF({tested},IF(AND(ISNUMBER({dscr}),ISNUMBER({calc})),{apart},"
                     f"IF(ISNUMBER({dscr})=ISNUMBER({calc}),0,1)),0)")
        elif key == "dscr_tested":
            put(key, f'IF({tested},IF(ISNUMBER({dscr}),{dscr},""),"")')
        elif key == "breach":
            below = _if_number(str(dscr), f"{covenant}-{dscr}>{_literal(BREACH_TOLERANCE)}*ABS({covenant})")
            negative = f",{_if_number(cf, f'{cf}<0')}" if cf else ""
            put(key, f"IF(ISNUMBER({covenant}),IF({tested},IF(OR({below}{negative}),1,0),0),0)")
        elif key == "shortfall":
            put(key, f"IF({tested},IF(ISNUMBER({cf}),MIN({ds},MAX(0,{ds}-{cf})),0),0)")
        else:
            put(key)


def _literal(x: float) -> str:
    """A number as a decimal literal every spreadsheet reads (no exponent)."""
    return format(x, ".15f").rstrip("0")


def _if_number(cell: str, test: str) -> str:
    # IF, not AND: Excel evaluates every argument of AND, and text in arithmetic is #VALUE!
    return f"IF(ISNUMBER({cell}),{test},FALSE)"


def _number(value: float) -> float | str:
    """A per-period number for a cell; a period with none (NaN: the cell held no number) reads n/a."""
    return float(value) if math.isfinite(float(value)) else "n/a"


def links(cells: tuple[CellRef, ...]) -> tuple[str, ...]:
    """Relative references to the template's cells, one per period."""
    return tuple(c.formula_ref(absolute=False) for c in cells)

