"""Regenerate the synthetic lender templates shipped in ``templates/``.

Usage::

    python templates/build_templates.py [OUTDIR]      # default OUTDIR: this folder

Four workbooks are written, each in the layout of a real lender model (an ``Inputs`` sheet of
labelled assumptions, a period model, a debt schedule, DSCR, covenant-breach flags and a summary
block), with a profile (``NAME.toml``, the README's "Profiles") beside each:

``dc_lease_annual.xlsx``
    Ten-year data-centre lease to a GPU neocloud; annual periods in columns; US$ millions; level
    annuity senior loan (PMT / IPMT / PPMT).
``gpu_ddtl_quarterly.xlsx``
    GPU delayed-draw term loan; 20 quarterly periods in rows; US$; draws in the first three
    quarters, interest-only for a year, then straight-line amortisation; workbook defined names.
``miner_hosting_monthly.xlsx``
    Bitcoin miner converting part of its site to AI hosting; 120 monthly periods in columns; US$;
    three-month rent holiday during the build-out with interest capitalised, then a monthly
    annuity. Also the 120-month benchmark template.
``miner_double_leverage_monthly.xlsx``
    A listed miner's double leverage (``miner_double_leverage.py``): BTC pledged to a BTC-backed loan
    with a margin-call line, convertible notes with a put date, an HPC hosting contract then merchant,
    mining revenue on a BTC price deck; 60 monthly periods in columns; the ``gpucredit stress`` template.

Every formula is one that LibreOffice Calc 7.4 and formualizer 0.13.0 evaluate identically (no
LET / LAMBDA / XLOOKUP / dynamic arrays / volatile functions / whole-column references). After
openpyxl writes a workbook, formualizer fills the formula cells' cached values in place; the zip
is then rewritten with fixed entry timestamps so that the output is byte-for-byte reproducible.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import formualizer
from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.writer.excel import ExcelWriter

TEMPLATES_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(TEMPLATES_DIR))  # the sibling modules, when this file is imported by path

from house_style import (  # noqa: E402
    BORDER_TOP, FILL_HEADER, FILL_INPUT, FILL_KEY, FIXED_TIMESTAMP, FMT_DATE, FMT_FLAG, FMT_INT, FMT_MONEY, FMT_MONEY_M, FMT_MW,
    FMT_PCT, FMT_X, FONT_BODY, FONT_BOLD, FONT_HEADER, FONT_INPUT, FONT_SUB, ColumnModel, InputSheet, new_workbook,
    style, summary_block, write_title,
)
from miner_double_leverage import build_miner_double_leverage_monthly  # noqa: E402

# ---------------------------------------------------------------------------------------------
# (a) dc_lease_annual: ten-year data-centre lease, annual periods in columns, US$ millions.
# ---------------------------------------------------------------------------------------------
DC_GPUS = 4096  # 4,096 GPUs × 8,760 h × $2.40 × 79 % utilisation ≈ $68.0m year-1 rent


def build_dc_lease_annual() -> tuple[Workbook, str]:
    wb = new_workbook()
    inp = InputSheet(wb, "Project Halcyon — data-centre lease financing",
                     "Senior secured term loan against a ten-year single-tenant lease · US$ millions unless stated")
    inp.section("Timing")
    start = inp.add("Lease commencement / model start date", dt.datetime(2026, 1, 1), FMT_DATE, "date",
                    "Financial close coincides with lease commencement")
    years = inp.add("Model horizon", 10, FMT_INT, "years")
    inp.section("Lease")
    inp.add("Tenant", "GPU neocloud (single tenant, triple-net)", "@", "text")
    rent = inp.add("Base rent, lease year 1", 68.0, FMT_MONEY_M, "US$m p.a.",
                   "Contracted rent for 30 MW of critical IT capacity (≈4,096 GPUs)")
    rent_esc = inp.add("Annual rent escalator", 0.03, FMT_PCT, "% p.a.", "Fixed escalator per lease")
    inp.section("Operating costs")
    opex = inp.add("Landlord operating costs, year 1", 9.5, FMT_MONEY_M, "US$m p.a.",
                   "Insurance, property tax, structural maintenance, asset management")
    opex_esc = inp.add("Opex inflation", 0.025, FMT_PCT, "% p.a.")
    inp.section("Senior debt")
    project_cost = inp.add("Total project cost", 400.0, FMT_MONEY_M, "US$m", "Land, shell, power and cooling fit-out")
    loan = inp.add("Senior loan amount", 300.0, FMT_MONEY_M, "US$m", "75 % loan-to-cost")
    rate = inp.add("Interest rate (fixed, all-in)", 0.07, FMT_PCT, "% p.a.", "Swapped fixed rate plus margin")
    term = inp.add("Loan tenor", 10, FMT_INT, "years", "Level annual annuity, payments in arrears")
    annuity = inp.add("Level annual debt service (PMT)", f"=PMT({rate},{term},-{loan})", FMT_MONEY_M, "US$m p.a.")
    inp.section("Covenants and valuation")
    covenant = inp.add("Minimum DSCR covenant", 1.20, FMT_X, "x", "Tested annually on 31 December")
    disc = inp.add("Discount rate for NPV", 0.08, FMT_PCT, "% p.a.")

    ws = wb.create_sheet("Model")
    ws.sheet_view.showGridLines = False
    write_title(ws, "Project Halcyon — annual cash flow and debt model",
           "US$ millions · periods are lease years ending 31 December · all flows positive")
    n = 10
    m = ColumnModel(ws, first_col=5, n_periods=n)  # A label, B unit, C total, D close, E..N years
    ws["C4"] = "Total"
    ws["D4"] = "Close"
    for ref in ("C4", "D4"):
        style(ws[ref], FONT_HEADER, fill=FILL_HEADER, align=Alignment(horizontal="right"))
    m.header_row(4, "Year", "#", FMT_INT, lambda i, c, p: f"={p}4+1" if p else "=1")
    m.line(5, "Period start", "date", FMT_DATE, lambda i, c, p: f"=EDATE({start},12*({c}4-1))")
    m.line(6, "Period end", "date", FMT_DATE, lambda i, c, p: f"=EOMONTH({c}5,11)", bold=True)
    m.line(7, "Calendar year", "yyyy", FMT_INT, lambda i, c, p: f"=YEAR({c}6)")
    m.line(8, "In model horizon (1 = yes)", "flag", FMT_FLAG, lambda i, c, p: f"=IF({c}4<={years},1,0)")
    ws["D5"] = f"={start}"
    style(ws["D5"], FONT_BODY, FMT_DATE)

    m.section(10, "Cash flow available for debt service")
    m.line(11, "Rental income", "US$m", FMT_MONEY_M,
           lambda i, c, p: f"={rent}*{c}8" if not p else f"={p}11*(1+{rent_esc})*{c}8", total=True)
    m.line(12, "Operating expenses", "US$m", FMT_MONEY_M,
           lambda i, c, p: f"={opex}*{c}8" if not p else f"={p}12*(1+{opex_esc})*{c}8", total=True)
    m.line(13, "CFADS", "US$m", FMT_MONEY_M, lambda i, c, p: f"={c}11-{c}12", total=True, bold=True, key=True)

    m.section(15, "Senior debt")
    m.line(16, "Opening balance", "US$m", FMT_MONEY_M, lambda i, c, p: f"={loan}" if not p else f"={p}19")
    m.line(17, "Interest", "US$m", FMT_MONEY_M,
           lambda i, c, p: f"=IF({c}4<={term},IPMT({rate},{c}4,{term},-{loan}),0)", total=True)
    m.line(18, "Principal repayment", "US$m", FMT_MONEY_M,
           lambda i, c, p: f"=IF({c}4<={term},PPMT({rate},{c}4,{term},-{loan}),0)", total=True)
    m.line(19, "Closing balance", "US$m", FMT_MONEY_M, lambda i, c, p: f"={c}16-{c}18", bold=True)
    m.line(20, "Debt service", "US$m", FMT_MONEY_M, lambda i, c, p: f"={c}17+{c}18", total=True, bold=True, key=True)
    m.line(21, "Check: debt service less PMT", "US$m", FMT_MONEY_M,
           lambda i, c, p: f"=IF({c}4<={term},ROUND({c}20-{annuity},6),0)")

    m.section(23, "Coverage")
    m.line(24, "DSCR", "x", FMT_X, lambda i, c, p: f'=IF({c}20>0,{c}13/{c}20,"n/a")', bold=True, key=True)
    m.line(25, "Covenant", "x", FMT_X, lambda i, c, p: f"={covenant}")
    m.line(26, "Covenant breach (1 = breach)", "flag", FMT_FLAG,
           lambda i, c, p: f"=IF({c}24<{covenant},1,0)", total=True)
    m.line(27, "Headroom over covenant", "US$m", FMT_MONEY_M,
           lambda i, c, p: f"={c}13-{covenant}*{c}20")

    m.section(29, "Returns")
    m.line(30, "Unlevered project cash flow", "US$m", FMT_MONEY_M, lambda i, c, p: f"={c}13", total=True)
    ws["D30"] = f"=-{project_cost}"
    style(ws["D30"], FONT_BODY, FMT_MONEY_M)

    s = m.span
    summary_block(ws, 32, 1, [
        ("Minimum DSCR", f"=MIN({s(24)})", FMT_X),
        ("Average DSCR", f"=AVERAGE({s(24)})", FMT_X),
        ("Maximum DSCR", f"=MAX({s(24)})", FMT_X),
        ("Year of minimum DSCR", f"=INDEX({s(4)},MATCH(MIN({s(24)}),{s(24)},0))", FMT_INT),
        ("Covenant breaches (count)", f'=COUNTIF({s(24)},"<"&{covenant})', FMT_INT),
        ("Years flagged in breach", f"=SUM({s(26)})", FMT_INT),
        ("NPV of CFADS at discount rate", f"=NPV({disc},{s(13)})", FMT_MONEY_M),
        ("Loan life cover ratio at close", f"=NPV({rate},{s(13)})/{loan}", FMT_X),
        ("Project IRR (unlevered)", "=IF(SUM($D$30:$N$30)<=0,\"n.m.\",IFERROR(IRR($D$30:$N$30),\"no IRR\"))", FMT_PCT),
        ("Total debt service", f"=SUM({s(20)})", FMT_MONEY_M),
        ("Weighted average life", f"=SUMPRODUCT({s(4)},{s(18)})/SUM({s(18)})", '0.00" yrs"'),
        ("Balance at maturity", "=$N$19", FMT_MONEY_M),
        ("Balance check", '=IF(ABS($N$19)<0.000001,"OK","ERROR")', "@"),
    ])
    ws.column_dimensions["D"].width = 11
    ws.freeze_panes = "E7"

    profile = f'''# Project Halcyon: ten-year single-tenant data-centre lease to a GPU neocloud, financed by a
# level-annuity senior term loan. Annual periods in columns (sheet Model), US$ millions.
# Generated by templates/build_templates.py; regenerate rather than edit by hand.

[timeline]
cells = "{m.profile_range(6)}"      # period end dates, 31-Dec-2026 … 31-Dec-2035
kind = "period_end"
frequency = "annual"

[rent]
cells = "{m.profile_range(11)}"     # "Rental income": year 1 = Inputs rent, then × (1 + 3 %)

[metrics]
cfads = "{m.profile_range(13)}"
debt_service = "{m.profile_range(20)}"
interest = "{m.profile_range(17)}"
principal = "{m.profile_range(18)}"
closing_balance = "{m.profile_range(19)}"
dscr = "{m.profile_range(24)}"
covenant = "{covenant.replace("$", "")}"         # minimum DSCR 1.20x

[deal]
gpus = {DC_GPUS}                 # 4,096 GPUs × 8,760 h × $2.40 × 79 % ≈ $68.0m year-1 rent
unit = "USD millions"       # the model is in US$ millions

[collateral]
kind = "site"               # the site and the lease secure the loan; the GPUs belong to the tenant
                            # (the model has no site value line, so no loan-to-value is computed)
'''
    return wb, profile


# ---------------------------------------------------------------------------------------------
# (b) gpu_ddtl_quarterly: delayed-draw term loan, quarterly periods in rows, US$.
# ---------------------------------------------------------------------------------------------
DDTL_GPUS = 1024  # 1,024 GPUs × 24 h × 91.3 d × $2.40 × 90 % ≈ $4.85m a quarter


def build_gpu_ddtl_quarterly() -> tuple[Workbook, str]:
    wb = new_workbook()
    inp = InputSheet(wb, "Atlas Compute — GPU delayed-draw term loan",
                     "Senior DDTL secured on 1,024 H100 GPUs leased to an AI lab · US$ unless stated")
    inp.section("Timing")
    start = inp.add("First period start (financial close)", dt.datetime(2026, 7, 1), FMT_DATE, "date")
    quarters = inp.add("Number of quarters modelled", 20, FMT_INT, "quarters")
    inp.section("Lease")
    gpus = inp.add("GPUs financed", DDTL_GPUS, "#,##0", "GPUs", "HGX H100 8-GPU servers, 128 nodes")
    rent = inp.add("Contracted lease rent, lease year 1", 4_850_000, FMT_MONEY, "US$ / quarter",
                   "≈ $2.40 per GPU-hour at 90 % billed utilisation")
    rent_esc = inp.add("Lease escalator", 0.02, FMT_PCT, "% p.a.", "Applied on each lease anniversary")
    inp.add("Implied rate per GPU-hour", f"={rent}/({gpus}*24*91.3125)", '"$"0.00', "US$ / GPU-hr")
    inp.section("Operating costs")
    opex = inp.add("Operating costs, year 1", 1_500_000, FMT_MONEY, "US$ / quarter",
                   "Colocation, power, insurance, servicing")
    opex_esc = inp.add("Opex escalator", 0.03, FMT_PCT, "% p.a.")
    inp.section("Facility")
    commitment = inp.add("Facility commitment", 30_000_000, FMT_MONEY, "US$", "≈ $29.3k per GPU")
    rate = inp.add("Interest rate (fixed, all-in)", 0.09, FMT_PCT, "% p.a.")
    rate_q = inp.add("Quarterly interest rate", f"={rate}/4", "0.0000%", "% per quarter")
    io_q = inp.add("Interest-only period (availability)", 4, FMT_INT, "quarters",
                   "Then straight-line amortisation to maturity")
    inp.section("Covenants and valuation")
    covenant = inp.add("Minimum DSCR covenant", 1.25, FMT_X, "x", "Tested quarterly")
    disc = inp.add("Discount rate for NPV", 0.10, FMT_PCT, "% p.a.")

    inp.section("Draw schedule")
    draw_first = inp.row
    draws = [(1, 12_000_000), (2, 12_000_000), (3, 6_000_000)]
    for q, amount in draws:
        inp.add(f"Draw in quarter {q}", q, FMT_INT, "quarter #")
        inp.ws[f"D{inp.row - 1}"] = amount
        style(inp.ws[f"D{inp.row - 1}"], FONT_INPUT, FMT_MONEY, FILL_INPUT)
        inp.ws[f"E{inp.row - 1}"] = "Quarter # in C, amount (US$) in D; draws at the start of the quarter"
        style(inp.ws[f"E{inp.row - 1}"], FONT_SUB)
    draw_last = inp.row - 1
    draw_q = f"Inputs!$C${draw_first}:$C${draw_last}"
    draw_amt = f"Inputs!$D${draw_first}:$D${draw_last}"
    total_draws = inp.add("Total drawn", f"=SUM({draw_amt})", FMT_MONEY, "US$", "Must not exceed the commitment")
    inp.add("Commitment check", f'=IF({total_draws}<={commitment},"OK","OVER-DRAWN")', "@", "check")
    amort = inp.add("Quarterly amortisation", f"={total_draws}/({quarters}-{io_q})", FMT_MONEY, "US$ / quarter")

    inp.section("Escalator table")
    esc_first = inp.row
    for year in range(1, 7):
        inp.add(f"Lease year {year}", year, FMT_INT, "year")
        r = inp.row - 1
        inp.ws[f"D{r}"] = f"=(1+{rent_esc})^(C{r}-1)"
        style(inp.ws[f"D{r}"], FONT_BODY, "0.0000")
        inp.ws[f"E{r}"] = "Lease year in C, rent factor in D"
        style(inp.ws[f"E{r}"], FONT_SUB)
    esc_last = inp.row - 1
    esc_year = f"Inputs!$C${esc_first}:$C${esc_last}"
    esc_factor = f"Inputs!$D${esc_first}:$D${esc_last}"

    ws = wb.create_sheet("Schedule")
    ws.sheet_view.showGridLines = False
    write_title(ws, "Atlas Compute — quarterly facility schedule",
           "US$ · one row per quarter · draws at the start of a quarter, debt service in arrears")
    columns = [
        ("A", "Quarter #", FMT_INT, 10),
        ("B", "Period start", FMT_DATE, 12),
        ("C", "Period end", FMT_DATE, 12),
        ("D", "Lease year", FMT_INT, 10),
        ("E", "Draw", FMT_MONEY, 14),
        ("F", "Opening balance", FMT_MONEY, 15),
        ("G", "Interest", FMT_MONEY, 13),
        ("H", "Principal", FMT_MONEY, 13),
        ("I", "Closing balance", FMT_MONEY, 15),
        ("J", "Lease revenue", FMT_MONEY, 14),
        ("K", "Operating costs", FMT_MONEY, 14),
        ("L", "CFADS", FMT_MONEY, 14),
        ("M", "Debt service", FMT_MONEY, 14),
        ("N", "DSCR", FMT_X, 9),
        ("O", "Covenant breach", FMT_FLAG, 10),
    ]
    header, first, n = 5, 6, 20
    last = first + n - 1
    for col, label, _fmt, width in columns:
        ws.column_dimensions[col].width = width
        ws[f"{col}{header}"] = label
        style(ws[f"{col}{header}"], FONT_HEADER, fill=FILL_HEADER,
               align=Alignment(horizontal="center", vertical="center", wrap_text=True))
    ws.row_dimensions[header].height = 30
    ws["E4"] = "Facility"
    ws["J4"] = "Cash flow"
    ws["N4"] = "Coverage"
    for ref in ("E4", "J4", "N4"):
        style(ws[ref], FONT_BOLD)

    for k in range(n):
        r = first + k
        prev = r - 1
        formulas = {
            "A": "=1" if k == 0 else f"=A{prev}+1",
            "B": f"={start}" if k == 0 else f"=EDATE(B{prev},3)",
            "C": f"=EOMONTH(B{r},2)",
            "D": f"=INT((A{r}-1)/4)+1",
            "E": f"=IFERROR(INDEX({draw_amt},MATCH(A{r},{draw_q},0)),0)",
            "F": "=0" if k == 0 else f"=I{prev}",
            "G": f"=(F{r}+E{r})*{rate_q}",
            "H": f"=IF(A{r}>{io_q},MIN(F{r}+E{r},{amort}),0)",
            "I": f"=F{r}+E{r}-H{r}",
            "J": f"={rent}*INDEX({esc_factor},MATCH(D{r},{esc_year},0))",
            "K": f"={opex}*(1+{opex_esc})^(D{r}-1)",
            "L": f"=J{r}-K{r}",
            "M": f"=G{r}+H{r}",
            "N": f'=IFERROR(L{r}/M{r},"n/a")',
            "O": f"=IF(AND(ISNUMBER(N{r}),N{r}<Covenant),1,0)",
        }
        for col, _label, fmt, _w in columns:
            cell = ws[f"{col}{r}"]
            cell.value = formulas[col]
            style(cell, FONT_BOLD if col in "LMN" else FONT_BODY, fmt, FILL_KEY if col in "LN" else None)
    tot = last + 1
    ws[f"A{tot}"] = "Total"
    style(ws[f"A{tot}"], FONT_BOLD, border=BORDER_TOP)
    for col in "EGHJKLMO":
        ws[f"{col}{tot}"] = f"=SUM({col}{first}:{col}{last})"
        fmt = next(f for c, _l, f, _w in columns if c == col)
        style(ws[f"{col}{tot}"], FONT_BOLD, fmt, border=BORDER_TOP)
    ws.freeze_panes = f"B{first}"

    def rng(col: str) -> str:
        return f"Schedule!${col}${first}:${col}${last}"

    names = {"Rent": rng("J"), "DSCR": rng("N"), "CFADS": rng("L"), "DebtService": rng("M"),
             "ClosingBalance": rng("I"), "PeriodEnd": rng("C"), "Covenant": covenant}
    for name, ref in names.items():
        wb.defined_names[name] = DefinedName(name, attr_text=ref)

    summary = wb.create_sheet("Summary")
    summary.sheet_view.showGridLines = False
    write_title(summary, "Atlas Compute — credit summary", "US$ · figures recompute from the Schedule sheet")
    summary.column_dimensions["A"].width = 44
    summary.column_dimensions["B"].width = 18
    summary_block(summary, 4, 1, [
        ("Minimum DSCR", "=MIN(DSCR)", FMT_X),
        ("Average DSCR", "=AVERAGE(DSCR)", FMT_X),
        ("Quarter of minimum DSCR (period end)", "=INDEX(PeriodEnd,MATCH(MIN(DSCR),DSCR,0))", FMT_DATE),
        ("Covenant breaches (count)", '=COUNTIF(DSCR,"<"&Covenant)', FMT_INT),
        ("First covenant breach (period end)",
         f'=IFERROR(INDEX(PeriodEnd,MATCH(1,{rng("O")},0)),"none")', FMT_DATE),
        ("Total drawn", f"=SUM({rng('E')})", FMT_MONEY),
        ("Peak balance", "=MAX(ClosingBalance)", FMT_MONEY),
        ("Balance at maturity", f"=Schedule!$I${last}", FMT_MONEY),
        ("Total debt service", "=SUM(DebtService)", FMT_MONEY),
        ("Total lease revenue", "=SUM(Rent)", FMT_MONEY),
        ("NPV of CFADS at discount rate", f"=NPV({disc}/4,CFADS)", FMT_MONEY),
        ("Weighted average life of principal",
         f"=SUMPRODUCT({rng('A')},{rng('H')})/SUM({rng('H')})/4", '0.00" yrs"'),
    ])

    profile = f'''# Atlas Compute: senior delayed-draw term loan secured on 1,024 H100 GPUs leased to an AI lab.
# Quarterly periods in rows (sheet Schedule), US$. Draws in quarters 1-3, interest-only for four
# quarters, then straight-line amortisation. The workbook also defines the names Rent, DSCR, CFADS,
# DebtService, ClosingBalance, Covenant and PeriodEnd over these same ranges.
# Generated by templates/build_templates.py; regenerate rather than edit by hand.

[timeline]
cells = "Schedule!C{first}:C{last}"    # period end dates, 30-Sep-2026 … 30-Jun-2031
kind = "period_end"
frequency = "quarterly"

[rent]
cells = "Schedule!J{first}:J{last}"    # "Lease revenue": Inputs rent × escalator table (INDEX/MATCH)

[metrics]
cfads = "Schedule!L{first}:L{last}"
debt_service = "Schedule!M{first}:M{last}"
interest = "Schedule!G{first}:G{last}"
principal = "Schedule!H{first}:H{last}"
closing_balance = "Schedule!I{first}:I{last}"
dscr = "Schedule!N{first}:N{last}"
covenant = "{covenant.replace("$", "")}"          # minimum DSCR 1.25x (defined name Covenant)

[deal]
gpus = {DDTL_GPUS}                  # 1,024 GPUs × 24 h × 91.3 d × $2.40 × 90 % ≈ $4.85m a quarter
cost_per_gpu = 33000          # all-in per H100: an 8-GPU HGX server at ~$265k (reference S1: $250-400k)
unit = "USD"                # the model is in US$

[collateral]
kind = "gpu_fleet"          # the loan is secured on the 1,024 GPUs it finances
'''
    return wb, profile


# ---------------------------------------------------------------------------------------------
# (c) miner_hosting_monthly: miner converting to AI hosting, 120 months in columns, US$.
# ---------------------------------------------------------------------------------------------
MINER_GPUS = 2048  # 2,048 GPUs × 24 h × 30.4 d × $2.40 × 85 % ≈ $3.05m a month


def build_miner_hosting_monthly(months: int = 120) -> tuple[Workbook, str]:
    """The shipped monthly template; ``months`` > 120 builds the long variant ``benchmarks/convert.py``
    times (the same model over more months, the loan's tenor the whole horizon)."""
    wb = new_workbook()
    inp = InputSheet(wb, "Boreal Digital — AI hosting conversion term loan",
                     "Bitcoin miner converting 16 MW of its 40 MW site to GPU hosting · US$ unless stated")
    inp.section("Timing")
    start = inp.add("First month (financial close)", dt.datetime(2026, 7, 1), FMT_DATE, "date")
    inp.add("Months modelled", months, FMT_INT, "months")
    holiday = inp.add("Conversion build-out (no hosting income)", 3, FMT_INT, "months",
                      "Hosting contract starts the month after the build-out")
    inp.section("Bitcoin self-mining")
    mining0 = inp.add("Self-mining revenue, month 1 (whole site)", 2_400_000, FMT_MONEY, "US$ / month",
                      "≈ 40 MW at $82 per MWh of hashprice")
    mining_decline = inp.add("Self-mining revenue decline", 0.01, FMT_PCT, "% per month",
                             "Network difficulty growth net of BTC price")
    retained = inp.add("Mining capacity retained after conversion", 0.60, FMT_PCT, "% of site")
    mining_mw = inp.add("Mining load, whole site", 40.0, FMT_MW, "MW")
    inp.section("AI hosting contract")
    gpus = inp.add("GPUs hosted", MINER_GPUS, "#,##0", "GPUs", "256 HGX nodes, single AI-lab tenant")
    rent = inp.add("Hosting rent, first contract month", 3_050_000, FMT_MONEY, "US$ / month",
                   "≈ $2.40 per GPU-hour at 85 % billed utilisation")
    rent_esc = inp.add("Hosting rent escalator", 0.03, FMT_PCT, "% p.a.", "On each contract anniversary")
    inp.add("Implied rate per GPU-hour", f"={rent}/({gpus}*24*30.4375)", '"$"0.00', "US$ / GPU-hr")
    hosting_mw = inp.add("Hosting IT load", 3.2, FMT_MW, "MW")
    pue = inp.add("Hosting PUE", 1.25, "0.00", "x")
    inp.section("Operating costs")
    power_price = inp.add("Power price, year 1", 45.0, '"$"#,##0.00', "US$ / MWh", "Fixed-price PPA")
    power_esc = inp.add("Power price escalator", 0.02, FMT_PCT, "% p.a.")
    opex = inp.add("Site operating costs, year 1", 350_000, FMT_MONEY, "US$ / month",
                   "Staff, maintenance, insurance, security")
    opex_esc = inp.add("Opex escalator", 0.025, FMT_PCT, "% p.a.")
    inp.section("Term loan")
    loan = inp.add("Term loan amount", 150_000_000, FMT_MONEY, "US$", "Conversion capex and refinancing")
    rate = inp.add("Interest rate (fixed, all-in)", 0.10, FMT_PCT, "% p.a.")
    rate_m = inp.add("Monthly interest rate", f"={rate}/12", "0.0000%", "% per month")
    term = inp.add("Loan tenor", months, FMT_INT, "months")
    cap_months = inp.add("Interest capitalised during build-out", 3, FMT_INT, "months", "No cash debt service")
    amort_months = inp.add("Amortisation period", f"={term}-{cap_months}", FMT_INT, "months")
    amort_balance = inp.add("Balance at start of amortisation", f"=FV({rate_m},{cap_months},0,-{loan})",
                            FMT_MONEY, "US$", "Loan plus capitalised interest")
    payment = inp.add("Level monthly debt service (PMT)", f"=PMT({rate_m},{amort_months},-{amort_balance})",
                      FMT_MONEY, "US$ / month")
    inp.section("Covenants and valuation")
    covenant = inp.add("Minimum DSCR covenant", 1.25, FMT_X, "x", "Tested monthly once debt service starts")
    disc = inp.add("Discount rate for NPV", 0.10, FMT_PCT, "% p.a.")

    ws = wb.create_sheet("Monthly")
    ws.sheet_view.showGridLines = False
    write_title(ws, "Boreal Digital — monthly operating and debt model",
           "US$ · months across · flows positive · hosting rent holiday during the conversion build-out")
    n = months
    m = ColumnModel(ws, first_col=5, n_periods=n, label_width=44)  # A label, B unit, C total, D close, E.. months
    ws["C4"] = "Total"
    ws["D4"] = "Close"
    for ref in ("C4", "D4"):
        style(ws[ref], FONT_HEADER, fill=FILL_HEADER, align=Alignment(horizontal="right"))
    m.header_row(4, "Month #", "#", FMT_INT, lambda i, c, p: f"={p}4+1" if p else "=1")
    m.line(5, "Period start", "date", FMT_DATE,
           lambda i, c, p: f"=EDATE({p}5,1)" if p else f"={start}", bold=True)
    m.line(6, "Period end", "date", FMT_DATE, lambda i, c, p: f"=EOMONTH({c}5,0)")
    m.line(7, "Days in month", "days", FMT_INT, lambda i, c, p: f"={c}6-{c}5+1")
    m.line(8, "Operating year", "#", FMT_INT, lambda i, c, p: f"=INT(({c}4-1)/12)+1")
    m.line(9, "Hosting contract year", "#", FMT_INT,
           lambda i, c, p: f"=IF({c}4<={holiday},0,INT(({c}4-{holiday}-1)/12)+1)")
    m.line(10, "Phase", "", "@", lambda i, c, p: f'=IF({c}4<={holiday},"Build-out","Operating")')

    m.section(12, "Revenue")
    m.line(13, "Bitcoin self-mining revenue", "US$", FMT_MONEY,
           lambda i, c, p: f"={mining0}*(1-{mining_decline})^({c}4-1)*IF({c}4<={holiday},1,{retained})",
           total=True)
    m.line(14, "Hosting rent", "US$", FMT_MONEY,
           lambda i, c, p: (f"=IF({c}4<={holiday},0,{rent})" if not p else
                            f"=IF({c}4<={holiday},0,IF({c}4={holiday}+1,{rent},"
                            f"IF(MOD({c}4-{holiday}-1,12)=0,{p}14*(1+{rent_esc}),{p}14)))"),
           total=True)
    m.line(15, "Total revenue", "US$", FMT_MONEY, lambda i, c, p: f"={c}13+{c}14", total=True, bold=True)

    m.section(17, "Operating costs")
    m.line(18, "Site power load", "MW", FMT_MW,
           lambda i, c, p: f"=IF({c}4<={holiday},{mining_mw},{mining_mw}*{retained}+{hosting_mw}*{pue})")
    m.line(19, "Power price", "US$/MWh", '#,##0.00',
           lambda i, c, p: f"={power_price}*(1+{power_esc})^({c}8-1)")
    m.line(20, "Power cost", "US$", FMT_MONEY, lambda i, c, p: f"={c}18*24*{c}7*{c}19", total=True)
    m.line(21, "Site operating costs", "US$", FMT_MONEY,
           lambda i, c, p: f"={opex}*(1+{opex_esc})^({c}8-1)", total=True)
    m.line(22, "Total operating costs", "US$", FMT_MONEY, lambda i, c, p: f"={c}20+{c}21", total=True, bold=True)

    m.line(24, "CFADS", "US$", FMT_MONEY, lambda i, c, p: f"={c}15-{c}22", total=True, bold=True, key=True)

    m.section(26, "Term loan")
    m.line(27, "Opening balance", "US$", FMT_MONEY, lambda i, c, p: f"={p}32" if p else f"={loan}")
    m.line(28, "Interest accrued", "US$", FMT_MONEY, lambda i, c, p: f"={c}27*{rate_m}", total=True)
    m.line(29, "Interest capitalised", "US$", FMT_MONEY,
           lambda i, c, p: f"=IF({c}4<={cap_months},{c}28,0)", total=True)
    m.line(30, "Interest paid", "US$", FMT_MONEY,
           lambda i, c, p: (f"=IF(AND({c}4>{cap_months},{c}4<={term}),"
                            f"IPMT({rate_m},{c}4-{cap_months},{amort_months},-{amort_balance}),0)"), total=True)
    m.line(31, "Principal repayment", "US$", FMT_MONEY,
           lambda i, c, p: (f"=IF(AND({c}4>{cap_months},{c}4<={term}),"
                            f"PPMT({rate_m},{c}4-{cap_months},{amort_months},-{amort_balance}),0)"), total=True)
    m.line(32, "Closing balance", "US$", FMT_MONEY, lambda i, c, p: f"={c}27+{c}29-{c}31", bold=True)
    m.line(33, "Debt service", "US$", FMT_MONEY, lambda i, c, p: f"={c}30+{c}31", total=True, bold=True, key=True)
    m.line(34, "Check: debt service less PMT", "US$", FMT_MONEY,
           lambda i, c, p: f"=IF({c}33>0,ROUND({c}33-{payment},4),0)")

    m.section(36, "Coverage")
    m.line(37, "DSCR", "x", FMT_X, lambda i, c, p: f'=IF({c}33>0,{c}24/{c}33,"n/a")', bold=True, key=True)
    m.line(38, "Covenant breach (1 = breach)", "flag", FMT_FLAG,
           lambda i, c, p: f"=IF({c}33>0,IF({c}37<{covenant},1,0),0)", total=True)
    m.line(39, "Cash after debt service", "US$", FMT_MONEY, lambda i, c, p: f"={c}24-{c}33", total=True)
    m.line(40, "Lender net cash flow", "US$", FMT_MONEY, lambda i, c, p: f"={c}33", total=True)
    ws["D40"] = f"=-{loan}"  # the loan is advanced at close, one month before the first payment date
    style(ws["D40"], FONT_BODY, FMT_MONEY)

    s = m.span
    summary_block(ws, 42, 1, [
        ("Minimum DSCR", f"=MIN({s(37)})", FMT_X),
        ("Average DSCR", f"=AVERAGE({s(37)})", FMT_X),
        ("Maximum DSCR", f"=MAX({s(37)})", FMT_X),
        ("Month of minimum DSCR (period start)", f"=INDEX({s(5)},MATCH(MIN({s(37)}),{s(37)},0))", FMT_DATE),
        ("Covenant breaches (count of months)", f'=COUNTIF({s(37)},"<"&{covenant})', FMT_INT),
        ("First breach (period start)", f'=IFERROR(INDEX({s(5)},MATCH(1,{s(38)},0)),"none")', FMT_DATE),
        ("Months with debt service", f'=COUNTIF({s(33)},">0")', FMT_INT),
        ("Hosting share of total revenue", f"=SUM({s(14)})/SUM({s(15)})", FMT_PCT),
        ("NPV of CFADS at discount rate", f"=NPV((1+{disc})^(1/12)-1,{s(24)})", FMT_MONEY),
        ("Lender IRR (annualised, nominal)", f"=IRR($D$40:${m.cols[-1]}$40,0.01)*12", FMT_PCT),
        ("Total debt service", f"=SUM({s(33)})", FMT_MONEY),
        ("Peak balance", f"=MAX({s(32)})", FMT_MONEY),
        ("Balance at maturity", f"=${m.cols[-1]}$32", FMT_MONEY),
        ("Weighted average life of principal", f"=SUMPRODUCT({s(4)},{s(31)})/SUM({s(31)})/12", '0.00" yrs"'),
    ])
    ws.freeze_panes = "E6"
    ws.column_dimensions["D"].width = 14

    profile = f'''# Boreal Digital: bitcoin miner converting 16 MW of a 40 MW site to AI (GPU) hosting, financed by a
# 120-month term loan with interest capitalised during a three-month build-out, then a monthly annuity.
# Monthly periods in columns (sheet Monthly), US$. Only "Hosting rent" is rent: "Bitcoin
# self-mining revenue" sits beside it and must not be replaced. The hosting rent is zero for the
# first three months (rent holiday; those months have no debt service and DSCR shows "n/a").
# This is also the 120-month benchmark template. Generated by templates/build_templates.py.

[timeline]
cells = "{m.profile_range(5)}"     # period start dates, 01-Jul-2026 … 01-Jun-2036
kind = "period_start"
frequency = "monthly"

[rent]
cells = "{m.profile_range(14)}"    # "Hosting rent": 0 in the build-out, then Inputs rent, +3 % a contract year

[metrics]
cfads = "{m.profile_range(24)}"
debt_service = "{m.profile_range(33)}"
interest = "{m.profile_range(30)}"           # interest paid in cash (capitalised interest is row 29)
principal = "{m.profile_range(31)}"
closing_balance = "{m.profile_range(32)}"
dscr = "{m.profile_range(37)}"               # "n/a" (text) while debt service is zero
covenant = "{covenant.replace("$", "")}"          # minimum DSCR 1.25x

[deal]
gpus = {MINER_GPUS}                 # 2,048 GPUs × 24 h × 30.4 d × $2.40 × 85 % ≈ $3.05m a month
unit = "USD"                # the model is in US$

[collateral]
kind = "gpu_fleet"          # the hosted GPU fleet secures the term loan
'''
    return wb, profile


BUILDERS: dict[str, Callable[[], tuple[Workbook, str]]] = {
    "dc_lease_annual": build_dc_lease_annual,
    "gpu_ddtl_quarterly": build_gpu_ddtl_quarterly,
    "miner_hosting_monthly": build_miner_hosting_monthly,
    "miner_double_leverage_monthly": build_miner_double_leverage_monthly,
}


def _write_workbook(wb: Workbook, path: Path) -> None:
    """Save without openpyxl's wall-clock ``modified`` stamp (``save_workbook`` always sets it)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()


def _cache_values_wide(path: Path) -> None:
    """Write every formula's value into a workbook wider than formualizer's ``recalculate_xlsx_file``
    accepts: the same engine, loaded as gpucredit loads a template."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from engine.formula.cached import write_cached_values
    from engine.formula.evaluate import evaluate
    from engine.xlsx.package import Package

    data = path.read_bytes()
    package = Package.from_bytes(data)
    write_cached_values(package, evaluate(data, path=path), path=path)
    path.write_bytes(package.to_bytes())


def _normalise_zip(path: Path) -> None:
    """Rewrite the package with fixed entry timestamps so identical content gives identical bytes."""
    with zipfile.ZipFile(path) as src:
        parts = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def build(name: str, outdir: Path, *, months: int | None = None) -> Path:
    """Build one template (workbook with cached values, and its profile); return the workbook path.

    ``months`` (the monthly template only) builds a variant over that many months, named
    ``miner_hosting_monthly_{months}m``.
    """
    if months is not None:
        wb, profile = build_miner_hosting_monthly(months)
        name = f"miner_hosting_monthly_{months}m"
    else:
        wb, profile = BUILDERS[name]()
    path = outdir / f"{name}.xlsx"
    _write_workbook(wb, path)
    if months is not None and months > 120:
        _cache_values_wide(path)  # formualizer's one-call recalculation refuses sheets this wide
    else:
        result = formualizer.recalculate_xlsx_file(str(path))
        errors = result["summary"].get("error_summary") or {}
        unknown = result["summary"].get("unknown_functions") or []
        if errors or unknown:
            raise RuntimeError(f"{path}: formula errors after recalculation: {errors or unknown}")
    _normalise_zip(path)
    (outdir / f"{name}.toml").write_text(profile, encoding="utf-8")
    return path


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print("usage: python templates/build_templates.py [OUTDIR]", file=sys.stderr)
        return 2
    outdir = Path(argv[0]) if argv else TEMPLATES_DIR
    outdir.mkdir(parents=True, exist_ok=True)
    for name in BUILDERS:
        print(build(name, outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
