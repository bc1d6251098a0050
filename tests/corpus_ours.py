"""Our own lender-style models for the test corpus: ``tests/corpus/ours-*.xlsx`` (not a test module).

The public workbooks found (tests/corpus/MANIFEST.md) do not show every pattern issue 18 is about,
so these models reproduce them: a semi-annual timeline on a Timing sheet, a "Land & Leasing" cost
and a "Management (% of revenue)" fee beside the real revenue, a memo line that feeds nothing,
a period counter inside the block, MIN(DSCR) beside the covenant, a "Max debt service" sizing
line, debt sculpted and sized on CFADS, a legacy array over a range, balance checks, a circular
interest loop under iterative calculation, OFFSET with a negative width, SUMPRODUCT(ABS(range)),
LET with array arithmetic, FORMULATEXT / CELL("filename") / NOW / TODAY, a defined name at another
workbook, an external link a formula reads, a What-If data table read by a formula, an undated
model, and a workbook written by xlsxwriter with no Excel values at all.

Every formula is written with the value Excel gives for it, computed here in Python (arithmetic
and numpy-financial's PMT, as each model's docstring says) — never by gpucredit's engine. Run
``python tests/corpus_ours.py`` to regenerate the files; ``tests/engine/test_corpus.py`` checks
that they are what this script writes.
"""

from __future__ import annotations

import calendar
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy_financial as npf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from xlsx_books import Array, Book, DataTable, Dynamic, ExternalBook, F, write_book  # noqa: E402
from xlsxwriter.utility import xl_col_to_name  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "corpus"


def _col(c: int) -> str:
    """Column letters of a 1-based column."""
    return xl_col_to_name(c - 1)


def _eomonth(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, day.day)


def _serial(day: dt.date) -> int:
    return (day - dt.date(1899, 12, 30)).days


class Grid:
    """Cells of one sheet, written line by line: a label in column A, a unit in B, periods from ``first``."""

    def __init__(self, n: int, first: int) -> None:
        self.n, self.first = n, first
        self.cells: dict[str, Any] = {}
        self.values: dict[str, Any] = {}

    def cols(self) -> list[str]:
        return [_col(self.first + p) for p in range(self.n)]

    def line(self, row: int, label: str, make: Callable[[int, str, str], tuple[str, Any]] | None = None,
             values: list[Any] | None = None, unit: str | None = None) -> list[Any]:
        """One line; ``make(p, col, prev_col)`` gives period ``p``'s formula and value, ``values`` constants."""
        self.cells[f"A{row}"] = label
        if unit is not None:
            self.cells[f"B{row}"] = unit
        out = []
        for p, col in enumerate(self.cols()):
            prev = _col(self.first + p - 1)
            if make is not None:
                formula, value = make(p, col, prev)
                self.cells[f"{col}{row}"] = F(formula, value)
            else:
                assert values is not None
                value = values[p]
                self.cells[f"{col}{row}"] = value
            self.values[f"{col}{row}"] = value
            out.append(value)
        return out


# ------------------------------------------------------------------------------------------------------
def solar_semiannual_timing() -> tuple[Book, dict[str, Any]]:
    """A 100 MW solar plant selling power under a PPA, in EUR millions, semi-annual.

    The timeline sits on the Timing sheet (period start and end dates, a counter, a flag); the
    Cashflow sheet is laid out in the same columns without dates. Beside the revenue: a "Land &
    Leasing" cost and a "Management (% of revenue)" fee (costs whatever their labels say), a
    "Rental income (sublet roof)" memo line ``=Inputs!$G$3/12`` that feeds nothing, and an
    "Operating period counter" inside the block. "Minimum DSCR" (``MIN`` of the DSCR line) sits on
    the row below the DSCR; the covenant is an input on the Inputs sheet. Senior debt is an annuity
    (``PMT``), interest on the opening balance. Values: Python arithmetic, numpy-financial's PMT.
    """
    n, first = 16, 5  # E..T
    inputs = {"A1": "#Inputs (EUR millions unless stated)", "A3": "Financial close", "B3": dt.date(2026, 1, 1),
              "A4": "Capacity (MW)", "B4": 100.0, "A5": "Energy yield (MWh/MW/yr)", "B5": 1800.0,
              "A6": "PPA tariff (EUR/MWh)", "B6": 65.0, "A7": "Tariff indexation (per half-year)", "B7": 0.01,
              "A8": "Operating costs (EURm per half-year)", "B8": 0.9, "A9": "Land & Leasing (EURm per half-year)",
              "B9": 0.25, "A10": "Management (% of revenue)", "B10": 0.03, "A11": "Corporate tax rate", "B11": 0.25,
              "A12": "Senior debt (EURm)", "B12": 40.0, "A13": "Interest rate (per half-year)", "B13": 0.025,
              "A14": "Tenor (half-years)", "B14": 16.0, "A15": "Minimum DSCR covenant", "B15": 1.15,
              "G2": "Sublet roof rent (EURm a year)", "G3": 0.12}
    start = dt.date(2026, 1, 1)
    timing = Grid(n, first)
    timing.cells["A1"] = "#Timing"
    starts = [_add_months(start, 6 * p) for p in range(n)]
    timing.line(4, "Period start", lambda p, c, prev: ("Inputs!$B$3" if p == 0 else f"EDATE({prev}4,6)",
                                                       _serial(starts[p])))
    timing.line(5, "Period end", lambda p, c, prev: (f"EOMONTH({c}4,5)", _serial(_eomonth(starts[p], 5))))
    timing.line(6, "Half-year number", lambda p, c, prev: ("1" if p == 0 else f"{prev}6+1", float(p + 1)))
    timing.line(7, "Operations flag", lambda p, c, prev: (f"IF({c}6<=Inputs!$B$14,1,0)", 1.0))
    for col in timing.cols():  # dates as dates
        for row in (4, 5):
            spec = timing.cells[f"{col}{row}"]
            timing.cells[f"{col}{row}"] = F(spec.formula, dt.date(1899, 12, 30) + dt.timedelta(days=spec.value))

    g = Grid(n, first)
    g.cells["A1"] = "#Cash flow (EUR millions)"
    cap, yield_, tariff0, index = 100.0, 1800.0, 65.0, 0.01
    flag = g.line(3, "Operations flag", lambda p, c, prev: (f"Timing!{c}7", 1.0))
    gen = g.line(6, "Generation", lambda p, c, prev: (f"Inputs!$B$4*Inputs!$B$5/2*{c}3", cap * yield_ / 2 * flag[p]),
                 unit="MWh")
    price = g.line(7, "Tariff", lambda p, c, prev: (f"Inputs!$B$6*(1+Inputs!$B$7)^(Timing!{c}6-1)",
                                                    tariff0 * (1 + index) ** (p + 1 - 1)), unit="EUR/MWh")
    revenue = g.line(8, "Revenue €m", lambda p, c, prev: (f"{c}6*{c}7/1000000", gen[p] * price[p] / 1_000_000))
    g.line(9, "Rental income (sublet roof)", lambda p, c, prev: ("Inputs!$G$3/12", 0.12 / 12))
    fee = g.line(10, "Management (% of revenue)", lambda p, c, prev: (f"-{c}8*Inputs!$B$10", -revenue[p] * 0.03))
    land = g.line(11, "Land & Leasing", lambda p, c, prev: ("-Inputs!$B$9", -0.25))
    opex = g.line(12, "Operating costs", lambda p, c, prev: ("-Inputs!$B$8", -0.9))
    ebitda = g.line(13, "EBITDA", lambda p, c, prev: (f"SUM({c}8,{c}10:{c}12)",
                                                       revenue[p] + fee[p] + land[p] + opex[p]))
    rate, tenor, debt = 0.025, 16, 40.0
    ds = float(npf.pmt(rate, tenor, -debt))
    opening: list[float] = []
    interest: list[float] = []
    principal: list[float] = []
    closing: list[float] = []
    for p in range(n):
        o = debt if p == 0 else closing[-1]
        i = o * rate
        opening.append(o)
        interest.append(i)
        principal.append(ds - i)
        closing.append(o - (ds - i))
    tax = g.line(14, "Tax paid", lambda p, c, prev: (f"-MAX(0,{c}13-{c}21)*Inputs!$B$11",
                                                     -max(0.0, ebitda[p] - interest[p]) * 0.25))
    cfads = g.line(16, "Cash flow available for debt service", lambda p, c, prev: (f"{c}13+{c}14", ebitda[p] + tax[p]))
    g.line(18, "Operating period counter", lambda p, c, prev: (f"Timing!{c}6", float(p + 1)))
    g.line(20, "Opening balance €m", lambda p, c, prev: ("Inputs!$B$12" if p == 0 else f"{prev}23", opening[p]))
    g.line(21, "Interest €m", lambda p, c, prev: (f"{c}20*Inputs!$B$13", interest[p]))
    g.line(22, "Principal repayment €m", lambda p, c, prev: (f"{c}24-{c}21", principal[p]))
    g.line(23, "Closing balance €m", lambda p, c, prev: (f"{c}20-{c}22", closing[p]))
    g.line(24, "Debt service €m", lambda p, c, prev: ("PMT(Inputs!$B$13,Inputs!$B$14,-Inputs!$B$12)", ds))
    dscr = g.line(26, "DSCR", lambda p, c, prev: (f"{c}16/{c}24", cfads[p] / ds), unit="x")
    g.cells["A27"], g.cells["E27"] = "Minimum DSCR", F("MIN(E26:T26)", min(dscr))
    expected = {"rent": "Cashflow!E8:T8", "timeline": "Timing!E5:T5", "kind": "period_end", "frequency": "semiannual",
                "cfads": "Cashflow!E16:T16", "debt_service": "Cashflow!E24:T24", "dscr": "Cashflow!E26:T26",
                "covenant": "Inputs!B15", "closing_balance": "Cashflow!E23:T23"}
    return Book({"Inputs": inputs, "Timing": timing.cells, "Cashflow": g.cells},
                widths={"Inputs": {0: 40, 6: 30}, "Timing": {0: 28}, "Cashflow": {0: 40}}), expected



def sculpted_quarterly() -> tuple[Book, dict[str, Any]]:
    """A data-centre lease in US$ thousands, quarterly, whose senior debt is sized and sculpted on CFADS.

    "Max debt service" (CFADS / the target DSCR) is the sizing line; the debt amount on Inputs is
    ``MIN(gearing cap, SUMPRODUCT(max debt service, discount factors))``, so the rent reaches the
    loan itself (issue 18 §2); the senior debt service is the sizing line scaled to repay exactly
    that amount, and the DSCR divides CFADS by it. Values: Python arithmetic.
    """
    n, first = 20, 4  # D..W
    rent0, esc, opex, target, rate, cap = 2500.0, 0.005, 0.2, 1.35, 0.015, 60000.0
    g = Grid(n, first)
    g.cells["A1"] = "#Project Tallis — quarterly cash flow (US$ 000)"
    g.line(2, "Quarter", values=[float(p + 1) for p in range(n)])
    end0 = dt.date(2026, 3, 31)
    ends = [_eomonth(end0, 3 * p) for p in range(n)]
    g.line(3, "Quarter ending", lambda p, c, prev: ("Inputs!$B$3" if p == 0 else f"EOMONTH({prev}3,3)", ends[p]))
    rent: list[float] = []
    for p in range(n):
        rent.append(rent0 if p == 0 else rent[-1] * (1 + esc))
    g.line(5, "Rental income US$ 000", lambda p, c, prev: ("Inputs!$B$4" if p == 0 else f"{prev}5*(1+Inputs!$B$5)",
                                                          rent[p]))
    costs = g.line(6, "Operating costs US$ 000", lambda p, c, prev: (f"-{c}5*Inputs!$B$6", -rent[p] * opex))
    cfads = g.line(7, "CFADS US$ 000", lambda p, c, prev: (f"{c}5+{c}6", rent[p] + costs[p]))
    max_ds = g.line(9, "Max debt service US$ 000", lambda p, c, prev: (f"{c}7/Inputs!$B$7", cfads[p] / target))
    df = g.line(10, "Discount factor", lambda p, c, prev: (f"1/(1+Inputs!$B$8)^{c}2", 1 / (1 + rate) ** (p + 1)))
    pv = 0.0
    for a, b in zip(max_ds, df, strict=True):
        pv += a * b
    debt = min(cap, pv)
    ds = [m * debt / pv for m in max_ds]
    opening, interest, principal, closing = [], [], [], []
    for p in range(n):
        o = debt if p == 0 else closing[-1]
        i = o * rate
        opening.append(o)
        interest.append(i)
        principal.append(ds[p] - i)
        closing.append(o - (ds[p] - i))
    g.line(12, "Opening balance US$ 000", lambda p, c, prev: ("Inputs!$B$10" if p == 0 else f"{prev}15", opening[p]))
    g.line(13, "Interest US$ 000", lambda p, c, prev: (f"{c}12*Inputs!$B$8", interest[p]))
    g.line(14, "Principal US$ 000", lambda p, c, prev: (f"{c}16-{c}13", principal[p]))
    g.line(15, "Closing balance US$ 000", lambda p, c, prev: (f"{c}12-{c}14", closing[p]))
    g.line(16, "Senior debt service US$ 000",
           lambda p, c, prev: (f"{c}9*Inputs!$B$10/SUMPRODUCT($D$9:$W$9,$D$10:$W$10)", ds[p]))
    g.line(18, "DSCR", lambda p, c, prev: (f"{c}7/{c}16", cfads[p] / ds[p]))
    inputs = {"A1": "#Inputs (US$ 000 unless stated)", "A3": "First quarter end", "B3": end0,
              "A4": "Rent (US$ 000 per quarter)", "B4": rent0, "A5": "Rent escalation (per quarter)", "B5": esc,
              "A6": "Opex (% of rent)", "B6": opex, "A7": "Target DSCR (sizing)", "B7": target,
              "A8": "Interest rate (per quarter)", "B8": rate, "A9": "Gearing cap (US$ 000)", "B9": cap,
              "A10": "Senior debt amount (US$ 000)", "B10": F("MIN(B9,SUMPRODUCT(Model!D9:W9,Model!D10:W10))", debt),
              "A11": "Minimum DSCR covenant", "B11": 1.10}
    expected = {"rent": "Model!D5:W5", "timeline": "Model!D3:W3", "kind": "period_end", "frequency": "quarterly",
                "cfads": "Model!D7:W7", "debt_service": "Model!D16:W16", "dscr": "Model!D18:W18",
                "covenant": "Inputs!B11", "closing_balance": "Model!D15:W15", "debt_amount": "Inputs!B10",
                "sized_by_model": True}
    return Book({"Inputs": inputs, "Model": g.cells}, widths={"Inputs": {0: 34}, "Model": {0: 32}}), expected


def circular_annual() -> tuple[Book, dict[str, Any]]:
    """A colocation hosting business in US$ millions, annual (a row of years), with a circular debt
    schedule under iterative calculation (Excel's 100 iterations, change 0.001).

    Interest is charged on the average of the opening and closing balance, and principal is a 25 %
    sweep of the cash left after interest: interest reads the closing balance, which reads the
    principal, which reads the interest. The cached values are the loop's exact fixed point, per
    year ``I = r(2·O − s·X) / (2 − r·s)`` (X the CFADS, O the opening balance), a state Excel's
    iteration keeps. A sources-and-uses check compares totals that agree to 15 significant digits
    but not in binary (``IF(sources<>uses, …)``: "OK" in Excel); a corkscrew check sums
    ``SUMPRODUCT(ABS(range))``. Values: Python arithmetic.
    """
    n, first = 15, 5  # E..S
    revenue0, esc, opex, rate, sweep = 14.0, 0.02, 3.5, 0.07, 0.25
    capex, fees, idc, equity, debt = 75.39, 0.88, 0.57, 34.83, 42.01
    uses, sources = capex + fees + idc, equity + debt
    assert uses != sources and f"{uses:.15g}" == f"{sources:.15g}"  # equal to Excel, not to IEEE
    inputs = {"A1": "#Inputs (US$m)", "A3": "Colocation contract (US$m a year)", "B3": revenue0,
              "A4": "Escalation", "B4": esc, "A5": "Operating costs (US$m a year)", "B5": opex,
              "A6": "Interest rate", "B6": rate, "A7": "Cash sweep (% of cash after interest)", "B7": sweep,
              "A8": "DSCR covenant", "B8": 1.2,
              "A10": "#Sources and uses", "A11": "Capex", "B11": capex, "A12": "Fees", "B12": fees, "A13": "IDC",
              "B13": idc, "A14": "Total uses", "B14": F("SUM(B11:B13)", uses), "A15": "Equity", "B15": equity,
              "A16": "Senior debt", "B16": debt, "A17": "Total sources", "B17": F("B15+B16", sources),
              "A18": "Sources = uses", "B18": F('IF(B17<>B14,"Check","OK")', "OK")}
    g = Grid(n, first)
    g.cells["A1"] = "#Hosting cash flow (US$m)"
    g.line(3, "Year", values=[float(2027 + p) for p in range(n)])
    revenue: list[float] = []
    for p in range(n):
        revenue.append(revenue0 if p == 0 else revenue[-1] * (1 + esc))
    g.line(5, "Colocation revenue", lambda p, c, prev: ("Inputs!$B$3" if p == 0 else f"{prev}5*(1+Inputs!$B$4)",
                                                       revenue[p]))
    g.line(6, "Operating costs", lambda p, c, prev: ("-Inputs!$B$5", -opex))
    cfads = g.line(7, "CFADS", lambda p, c, prev: (f"{c}5+{c}6", revenue[p] - opex))
    opening, interest, principal, closing = [], [], [], []
    for p in range(n):
        o = debt if p == 0 else closing[-1]
        x = cfads[p]
        i = rate * (2 * o - sweep * x) / (2 - rate * sweep)
        pr = sweep * (x - i)
        assert 0 < pr < o, "the sweep must not repay the loan inside the model"
        opening.append(o)
        interest.append(i)
        principal.append(pr)
        closing.append(o - pr)
    g.line(9, "Opening balance", lambda p, c, prev: ("Inputs!$B$16" if p == 0 else f"{prev}12", opening[p]))
    g.line(10, "Interest (on average balance)", lambda p, c, prev: (f"Inputs!$B$6*({c}9+{c}12)/2", interest[p]))
    g.line(11, "Principal (cash sweep)", lambda p, c, prev: (f"MIN({c}9,Inputs!$B$7*({c}7-{c}10))", principal[p]))
    g.line(12, "Closing balance", lambda p, c, prev: (f"{c}9-{c}11", closing[p]))
    served = g.line(13, "Debt service", lambda p, c, prev: (f"{c}10+{c}11", interest[p] + principal[p]))
    g.line(15, "DSCR", lambda p, c, prev: (f"{c}7/{c}13", cfads[p] / served[p]))
    checks = g.line(17, "Corkscrew check", lambda p, c, prev: (f"{c}12-({c}9-{c}11)",
                                                               closing[p] - (opening[p] - principal[p])))
    g.cells["A19"], g.cells["B19"] = "Sum of corkscrew errors", F("SUMPRODUCT(ABS(E17:S17))", sum(abs(v) for v in checks))
    expected = {"rent": "Model!E5:S5", "timeline": "Model!E3:S3", "kind": "year", "frequency": "annual",
                "cfads": "Model!E7:S7", "debt_service": "Model!E13:S13", "dscr": "Model!E15:S15",
                "covenant": "Inputs!B8", "closing_balance": "Model!E12:S12"}
    return Book({"Inputs": inputs, "Model": g.cells}, iterate=(100, 0.001),
                widths={"Inputs": {0: 38}, "Model": {0: 32}}), expected


CALCULATED_AT = dt.datetime(2026, 11, 30, 10, 30)  # when "Excel last calculated" the Excel 365 model
FOLDER = "C:\\Deals\\Kestrel\\"


def excel365_quarterly() -> tuple[Book, dict[str, Any]]:
    """A GPU lease in US$ millions, quarterly with text labels (Q1 2027 …), using Excel 365's functions.

    The contract price is a legacy array ``{=Inputs!B4}`` entered over the whole price row (Excel
    shows the one value in every cell); LTM lines use ``OFFSET`` with a negative width; checks use
    ``LET`` with array arithmetic and ``SUMPRODUCT(ABS(range))``; a ``SEQUENCE`` spills the quarter
    numbers and ``COUNT(D4#)`` reads the spill; an audit column shows ``FORMULATEXT``; the cover
    sheet shows ``NOW()``, ``TODAY()`` and ``CELL("filename")`` as Excel last calculated them
    (2026-11-30 10:30, the file in ``C:\\Deals\\Kestrel``); the defined name ``OldTariff`` points at
    another workbook and nothing uses it. Values: Python arithmetic, numpy-financial's PMT.
    """
    n, first = 16, 4  # D..S
    gpus, price, hours, util, opex, debt, rate, tenor = 4096.0, 2.1, 2190.0, 0.85, 3.2, 60.0, 0.02, 16.0
    name = "ours-excel365-functions.xlsx"
    now = (CALCULATED_AT - dt.datetime(1899, 12, 30)).total_seconds() / 86400
    cover = {"A1": "#Kestrel GPU lease — lender model", "A3": "Printed", "B3": F("NOW()", now),
             "A4": "Model date", "B4": F("TODAY()", float(int(now))),
             "A5": "File", "B5": F('CELL("filename")', f"{FOLDER}[{name}]Cover"),
             "A6": "Sheet", "B6": F('MID(CELL("filename",A1),FIND("]",CELL("filename",A1))+1,31)', "Cover")}
    inputs = {"A1": "#Inputs", "A3": "GPUs", "B3": gpus, "A4": "Contract price (US$ per GPU-hour)", "B4": price,
              "A5": "Hours per quarter", "B5": hours, "A6": "Utilisation", "B6": util,
              "A7": "Operating costs (US$m per quarter)", "B7": opex, "A8": "Senior debt (US$m)", "B8": debt,
              "A9": "Interest rate (per quarter)", "B9": rate, "A10": "Tenor (quarters)", "B10": tenor,
              "A11": "DSCR covenant", "B11": 1.25}
    g = Grid(n, first)
    g.cells["A1"] = "#Cash flow (US$m)"
    labels = [f"Q{p % 4 + 1} {2027 + p // 4}" for p in range(n)]
    g.line(3, "Quarter", values=labels)
    g.cells["A4"], g.cells["D4"] = "Quarter number", Dynamic("_xlfn.SEQUENCE(1,16)", [[float(p + 1) for p in range(n)]])
    g.cells["A6"], g.cells["D6"] = "Contract price (US$/GPU-hr)", Array("Inputs!B4", "D6:S6", [[price] * n])
    rent = gpus * util * hours * price / 1_000_000
    g.line(7, "GPU lease revenue", lambda p, c, prev: (f"Inputs!$B$3*Inputs!$B$6*Inputs!$B$5*{c}6/1000000", rent))
    g.line(8, "Operating costs", lambda p, c, prev: ("-Inputs!$B$7", -opex))
    cfads = g.line(9, "CFADS", lambda p, c, prev: (f"{c}7+{c}8", rent - opex))
    g.line(10, "LTM CFADS", lambda p, c, prev: (f"SUM(OFFSET({c}9,0,0,1,-4))", sum(cfads[max(0, p - 3):p + 1])))
    ds = float(npf.pmt(rate, tenor, -debt))
    opening, interest, principal, closing = [], [], [], []
    for p in range(n):
        o = debt if p == 0 else closing[-1]
        opening.append(o)
        interest.append(o * rate)
        principal.append(ds - o * rate)
        closing.append(o - (ds - o * rate))
    g.line(12, "Opening balance", lambda p, c, prev: ("Inputs!$B$8" if p == 0 else f"{prev}15", opening[p]))
    g.line(13, "Interest", lambda p, c, prev: (f"{c}12*Inputs!$B$9", interest[p]))
    g.line(14, "Principal", lambda p, c, prev: (f"{c}16-{c}13", principal[p]))
    g.line(15, "Closing balance", lambda p, c, prev: (f"{c}12-{c}14", closing[p]))
    g.line(16, "Debt service", lambda p, c, prev: ("PMT(Inputs!$B$9,Inputs!$B$10,-Inputs!$B$8)", ds))
    g.line(17, "LTM debt service", lambda p, c, prev: (f"SUM(OFFSET({c}16,0,0,1,-4))", ds * min(p + 1, 4)))
    g.line(19, "DSCR", lambda p, c, prev: (f"{c}9/{c}16", cfads[p] / ds))
    g.line(20, "LTM DSCR", lambda p, c, prev: (f"{c}10/{c}17", sum(cfads[max(0, p - 3):p + 1]) / (ds * min(p + 1, 4))))
    g.cells["A22"] = "Corkscrew holds"
    g.cells["B22"] = Dynamic("_xlfn.LET(_xlpm.x,D15:S15,MAX(ABS(_xlpm.x-(D12:S12-D14:S14)))<0.01)", [[True]])
    g.cells["A23"], g.cells["B23"] = "Sum of balances", F("SUMPRODUCT(ABS(D15:S15))", sum(abs(v) for v in closing))
    g.cells["A24"], g.cells["B24"] = "Quarters in the model", F("COUNT(_xlfn.ANCHORARRAY(D4))", float(n))
    g.cells["U2"] = "Formula (first quarter)"
    for row, text in ((8, "=-Inputs!$B$7"), (9, "=D7+D8"), (10, "=SUM(OFFSET(D9,0,0,1,-4))")):
        g.cells[f"U{row}"] = F(f"_xlfn.FORMULATEXT(D{row})", text)
    g.cells["A26"], g.cells["B26"] = "Sheet", F('MID(CELL("filename",A1),FIND("]",CELL("filename",A1))+1,31)', "Model")
    expected = {"rent": "Model!D7:S7", "timeline": "Model!D3:S3", "kind": "label", "frequency": "quarterly",
                "cfads": "Model!D9:S9", "debt_service": "Model!D16:S16", "dscr": "Model!D19:S19",
                "covenant": "Inputs!B11", "closing_balance": "Model!D15:S15"}
    book = Book({"Cover": cover, "Inputs": inputs, "Model": g.cells}, names={"OldTariff": "[1]Prices!$B$2"},
                external=(ExternalBook("file:///C:/Deals/Kestrel/old_prices.xlsx", {"Prices": {"B2": 1.95}}),),
                widths={"Cover": {0: 14, 1: 60}, "Inputs": {0: 36}, "Model": {0: 30, 20: 34}})
    return book, expected


def _undated_model(esc: float) -> dict[str, list[float]]:
    """The lines of the undated model for a rent escalation ``esc`` (the data table varies it)."""
    n, rent0, power, mwh, other, loan, rate, term = 12, 14.0, 48.5, 60000.0, 1.1, 55.0, 0.065, 12.0
    lease, opening, interest, closing, served, dscr = [], [], [], [], [], []
    for p in range(n):
        lease.append(rent0 if p == 0 else lease[-1] * (1 + esc))
        o = loan if p == 0 else closing[-1]
        i = o * rate
        principal = loan / term
        opening.append(o)
        interest.append(i)
        closing.append(o - principal)
        served.append(i + principal)
    cfads = [lease[p] + -power * mwh / 1_000_000 + -other for p in range(n)]
    dscr = [cfads[p] / served[p] for p in range(n)]
    return {"lease": lease, "cfads": cfads, "opening": opening, "interest": interest, "closing": closing,
            "served": served, "dscr": dscr}


def undated_datatable() -> tuple[Book, dict[str, Any]]:
    """A lease in US$ millions whose twelve years are numbered (1 … 12) with no date anywhere: convert
    needs ``--set start``. The power price comes from the sponsor's workbook through an external link
    (the value Excel stored for it, 48.5 US$/MWh); a What-If data table on Inputs shows the minimum
    DSCR for five rent escalations, and "Worst case minimum DSCR" reads the table. Values: Python
    arithmetic, the table recomputed for each escalation.
    """
    n, first = 12, 3  # C..N
    base = _undated_model(0.025)
    g = Grid(n, first)
    g.cells["A1"] = "#Annual cash flow (US$m)"
    g.line(3, "Year", values=[float(p + 1) for p in range(n)])
    g.line(5, "Lease income", lambda p, c, prev: ("Inputs!$B$3" if p == 0 else f"{prev}5*(1+Inputs!$B$4)",
                                                 base["lease"][p]))
    g.line(6, "Power cost", lambda p, c, prev: ("-Inputs!$B$5*Inputs!$B$6/1000000", -48.5 * 60000.0 / 1_000_000))
    g.line(7, "Other operating costs", lambda p, c, prev: ("-Inputs!$B$7", -1.1))
    g.line(8, "CFADS", lambda p, c, prev: (f"{c}5+{c}6+{c}7", base["cfads"][p]))
    g.line(10, "Opening balance", lambda p, c, prev: ("Inputs!$B$8" if p == 0 else f"{prev}13", base["opening"][p]))
    g.line(11, "Interest", lambda p, c, prev: (f"{c}10*Inputs!$B$9", base["interest"][p]))
    g.line(12, "Principal", lambda p, c, prev: ("Inputs!$B$8/Inputs!$B$10", 55.0 / 12.0))
    g.line(13, "Closing balance", lambda p, c, prev: (f"{c}10-{c}12", base["closing"][p]))
    g.line(14, "Debt service", lambda p, c, prev: (f"{c}11+{c}12", base["served"][p]))
    g.line(16, "DSCR", lambda p, c, prev: (f"{c}8/{c}14", base["dscr"][p]))
    g.cells["A18"], g.cells["B18"] = "Minimum DSCR (output)", F("MIN(C16:N16)", min(base["dscr"]))
    escalations = [0.0, 0.01, 0.02, 0.03, 0.04]
    table = [min(_undated_model(e)["dscr"]) for e in escalations]
    inputs = {"A1": "#Inputs (US$m unless stated)", "A3": "Lease rent (US$m a year)", "B3": 14.0,
              "A4": "Rent escalation", "B4": 0.025, "A5": "Power price (US$/MWh, sponsor model)",
              "B5": F("[1]Assumptions!$B$4", 48.5), "A6": "Power (MWh a year)", "B6": 60000.0,
              "A7": "Other opex (US$m a year)", "B7": 1.1, "A8": "Term loan (US$m)", "B8": 55.0,
              "A9": "Interest rate", "B9": 0.065, "A10": "Loan term (years)", "B10": 12.0,
              "A11": "Minimum DSCR", "B11": 1.2,
              "D1": "#Sensitivity: minimum DSCR by rent escalation", "E2": F("Model!B18", min(base["dscr"])),
              "A13": "Worst case minimum DSCR", "B13": F("MIN(E3:E7)", min(table))}
    for k, (e, value) in enumerate(zip(escalations, table, strict=True)):
        inputs[f"D{3 + k}"] = e
        inputs[f"E{3 + k}"] = value
    expected = {"rent": "Model!C5:N5", "timeline": "Model!C3:N3", "kind": "period_number", "frequency": "annual",
                "cfads": "Model!C8:N8", "debt_service": "Model!C14:N14", "dscr": "Model!C16:N16",
                "covenant": "Inputs!B11", "closing_balance": "Model!C13:N13", "start": None}
    book = Book({"Inputs": inputs, "Model": g.cells}, tables=(DataTable("Inputs", "E3:E7", "B4"),),
                external=(ExternalBook("file:///C:/Sponsor/assumptions.xlsx", {"Assumptions": {"B4": 48.5}}),),
                widths={"Inputs": {0: 36, 3: 12}, "Model": {0: 28}})
    return book, expected


def uncalculated_lease() -> tuple[Book, dict[str, Any]]:
    """A quarterly data-centre lease written by xlsxwriter as it is, with no Excel values: every
    formula caches 0 (what xlsxwriter writes), there is no calculation chain. Nothing to reconcile."""
    n, first = 12, 3  # C..N
    g = Grid(n, first)
    g.cells["A1"] = "#Lease cash flow (US$m)"
    end0 = dt.date(2027, 3, 31)
    g.line(3, "Period end", lambda p, c, prev: ("Inputs!$B$3" if p == 0 else f"EOMONTH({prev}3,3)",
                                               _eomonth(end0, 3 * p)))
    g.line(5, "Rental income", lambda p, c, prev: ("Inputs!$B$4" if p == 0 else f"{prev}5*(1+Inputs!$B$5)", 0))
    g.line(6, "Operating costs", lambda p, c, prev: (f"-{c}5*Inputs!$B$6", 0))
    g.line(7, "CFADS", lambda p, c, prev: (f"{c}5+{c}6", 0))
    g.line(9, "Interest", lambda p, c, prev: ((f"Inputs!$B$7*Inputs!$B$8" if p == 0 else f"{prev}12*Inputs!$B$8"), 0))
    g.line(10, "Principal", lambda p, c, prev: ("Inputs!$B$7/12", 0))
    g.line(11, "Debt service", lambda p, c, prev: (f"{c}9+{c}10", 0))
    g.line(12, "Closing balance", lambda p, c, prev: (f"Inputs!$B$7-{c}10" if p == 0 else f"{prev}12-{c}10", 0))
    g.line(14, "DSCR", lambda p, c, prev: (f"{c}7/{c}11", 0))
    inputs = {"A1": "#Inputs", "A3": "First period end", "B3": end0, "A4": "Rent (US$m per quarter)", "B4": 11.0,
              "A5": "Escalation (per quarter)", "B5": 0.006, "A6": "Opex (% of rent)", "B6": 0.25,
              "A7": "Senior debt (US$m)", "B7": 60.0, "A8": "Interest rate (per quarter)", "B8": 0.018,
              "A9": "DSCR covenant", "B9": 1.3}
    expected = {"rent": "Model!C5:N5", "timeline": "Model!C3:N3", "kind": "period_end", "frequency": "quarterly",
                "cfads": "Model!C7:N7", "debt_service": "Model!C11:N11", "dscr": "Model!C14:N14",
                "covenant": "Inputs!B9", "closing_balance": "Model!C12:N12"}
    return Book({"Inputs": inputs, "Model": g.cells}, calculated=False,
                app="written by xlsxwriter with no Excel values"), expected

MODELS: dict[str, Callable[[], tuple[Book, dict[str, Any]]]] = {
    "ours-solar-semiannual-timing.xlsx": solar_semiannual_timing,
    "ours-sculpted-debt-quarterly.xlsx": sculpted_quarterly,
    "ours-circular-annual.xlsx": circular_annual,
    "ours-excel365-functions.xlsx": excel365_quarterly,
    "ours-undated-datatable.xlsx": undated_datatable,
    "ours-uncalculated-xlsxwriter.xlsx": uncalculated_lease,
}


def build(folder: Path = CORPUS) -> dict[str, Path]:
    """Write every model into ``folder``; returns the paths by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    return {name: write_book(folder / name, make()[0]) for name, make in MODELS.items()}


def expected(name: str) -> dict[str, Any]:
    """What a correct detection finds in model ``name`` (profile-style range strings, or ``refused``)."""
    return MODELS[name]()[1]


if __name__ == "__main__":
    for name, path in build().items():
        print(f"wrote {path.relative_to(CORPUS.parent.parent)}")
