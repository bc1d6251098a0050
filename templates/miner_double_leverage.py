"""``miner_double_leverage_monthly.xlsx``: a listed bitcoin miner's double leverage, for ``gpucredit stress``.

A miner (Northlight Mining, fictional) runs 140 MW of bitcoin mining and 12.5 MW (IT) of HPC hosting for
10,000 GPUs. Its lender model, 60 months across:

- the BTC treasury: 3,467 BTC pledged to a $130m BTC-backed loan (interest only); loan-to-value each month
  on the BTC price deck, a margin call at 70 % and liquidation at 80 % (the terms of such facilities);
- $400m convertible notes: a coupon, a maturity and a holder put date (the refinancing wall);
- an HPC hosting contract for 36 months (contracted rent), then merchant hosting at the contract rate
  escalated 2 % a year (the real-estate way gpucredit replaces with the GPU curve);
- mining revenue = BTC price x BTC mined (network difficulty growth, the April 2028 halving), curtailed
  at zero margin over power;
- a $250m GPU term loan amortising over the contract, senior and secured on the GPU fleet;
- CFADS, debt service of all three facilities, DSCR against a 1.30x covenant.

The BTC price deck is a row of inputs (flat at the valuation-date price), so a stress run can put each
scenario's BTC path into it and let the workbook's own formulas compute mining revenue, LTV and the
margin-call line. Every formula is one LibreOffice Calc 7.4 and formualizer 0.13.0 evaluate alike.
"""

from __future__ import annotations

import datetime as dt

from house_style import (
    FMT_DATE, FMT_FLAG, FMT_INT, FMT_MONEY, FMT_MW, FMT_PCT, FMT_X, FONT_INPUT, FILL_INPUT, ColumnModel,
    InputSheet, new_workbook, style, summary_block, write_title,
)
from openpyxl import Workbook

MONTHS = 60
GPUS = 10_000  # 10,000 GPUs x 24 h x 30.44 d x $2.10 x 95 % billed = $14.57m a month
BTC_PRICE = 75_000.0  # the valuation-date price of the miner-convergence spec
BTC_PLEDGED = 3_467.0  # a 50 % starting LTV at $75,000: 130m / (0.50 x 75,000)
HALVING = dt.datetime(2028, 4, 1)  # block subsidy 3.125 -> 1.5625 BTC, about 210,000 blocks after April 2024


def build_miner_double_leverage_monthly() -> tuple[Workbook, str]:
    wb = new_workbook()
    inp = InputSheet(wb, "Northlight Mining — HPC hosting term loan, with the BTC treasury and the notes",
                     "Listed bitcoin miner: 140 MW mining, 12.5 MW IT of GPU hosting · US$ unless stated")
    inp.section("Timing")
    start = inp.add("First month (financial close)", dt.datetime(2026, 7, 1), FMT_DATE, "date")
    inp.add("Months modelled", MONTHS, FMT_INT, "months")
    inp.section("Bitcoin mining")
    mined0 = inp.add("BTC mined, month 1", 180.0, "#,##0.0", "BTC / month",
                     "≈ 8 EH/s of 140 MW fleet at ~17 J/TH; block subsidy and fees at mid-2026 difficulty")
    growth = inp.add("Network difficulty growth", 0.008, FMT_PCT, "% per month",
                     "≈ 10 % a year: hashrate growth net of fleet upgrades")
    halving = inp.add("Next halving", HALVING, FMT_DATE, "date", "Block subsidy halves (every 210,000 blocks)")
    mining_mw = inp.add("Mining load", 140.0, FMT_MW, "MW")
    inp.section("HPC hosting")
    gpus = inp.add("GPUs hosted", GPUS, "#,##0", "GPUs", "1,250 HGX nodes for one AI lab")
    rent = inp.add("Hosting rent, contract", 14_574_672, FMT_MONEY, "US$ / month",
                   "$2.10 per GPU-hour at 95 % billed utilisation")
    inp.add("Implied rate per GPU-hour", f"={rent}/({gpus}*24*30.44*0.95)", '"$"0.00', "US$ / GPU-hr")
    contract_months = inp.add("Hosting contract term", 36, FMT_INT, "months", "Take-or-pay; then merchant")
    contract_end = inp.add("Contract end", f"=EOMONTH({start},{contract_months}-1)", FMT_DATE, "date")
    merchant_esc = inp.add("Merchant rent escalator (after the contract)", 0.02, FMT_PCT, "% p.a.",
                           "Lender's case: the contract rate rolls over, +2 % a year")
    it_mw = inp.add("Hosting IT load", 12.5, FMT_MW, "MW")
    pue = inp.add("Hosting PUE", 1.30, "0.00", "x")
    hosting_opex = inp.add("Hosting operating costs", 500_000, FMT_MONEY, "US$ / month",
                           "Staff, spares, network, insurance")
    inp.section("Costs")
    power = inp.add("Power price, year 1", 36.0, '"$"#,##0.00', "US$ / MWh", "Fixed-price PPA with escalator")
    power_esc = inp.add("Power price escalator", 0.02, FMT_PCT, "% p.a.")
    ga = inp.add("Corporate G&A", 500_000, FMT_MONEY, "US$ / month")
    inp.section("GPU term loan (senior, secured on the GPU fleet)")
    loan = inp.add("GPU term loan amount", 250_000_000, FMT_MONEY, "US$", "GPU and fit-out capex")
    rate = inp.add("Interest rate (fixed, all-in)", 0.11, FMT_PCT, "% p.a.")
    rate_m = inp.add("Monthly interest rate", f"={rate}/12", "0.0000%", "% per month")
    term = inp.add("Loan tenor (matches the hosting contract)", 36, FMT_INT, "months")
    inp.section("BTC-backed loan (secured on pledged BTC)")
    btc_loan = inp.add("BTC-backed loan", 130_000_000, FMT_MONEY, "US$",
                       "Like Hut 8's $130m Coinbase Credit facility at 9 % (TheMinerMag, 2025-06-24)")
    btc_rate = inp.add("BTC loan interest (interest only)", 0.09, FMT_PCT, "% p.a.")
    pledged = inp.add("BTC pledged", BTC_PLEDGED, "#,##0", "BTC", "50 % LTV at close at $75,000")
    call_ltv = inp.add("Margin call at LTV", 0.70, FMT_PCT, "%",
                       "Lender terms: 50 % at origination, call at 70 %, 80 % (Nebeus bullet loans)")
    liq_ltv = inp.add("Liquidation at LTV", 0.80, FMT_PCT, "%", "Lender sells pledged BTC (80-90 % in the market)")
    inp.section("Convertible notes")
    notes = inp.add("Convertible notes outstanding", 400_000_000, FMT_MONEY, "US$")
    coupon = inp.add("Coupon", 0.0175, FMT_PCT, "% p.a.", "As Cipher's 1.75 % notes due 2030 (2025)")
    maturity = inp.add("Maturity", dt.datetime(2031, 10, 1), FMT_DATE, "date", "As Cipher's 0 % notes due 2031")
    put = inp.add("Holder put date (the refinancing wall)", dt.datetime(2029, 10, 1), FMT_DATE, "date",
                  "Holders may put at par (Cipher's 2031 notes: 2029-10-01): refinance or repay")
    inp.section("Covenants")
    covenant = inp.add("Minimum DSCR covenant", 1.30, FMT_X, "x", "All facilities' debt service, monthly")

    ws = wb.create_sheet("Monthly")
    ws.sheet_view.showGridLines = False
    write_title(ws, "Northlight Mining — monthly model",
                "US$ · months across · the BTC price deck is an input row · HPC hosting contracted, then merchant")
    m = ColumnModel(ws, first_col=5, n_periods=MONTHS, label_width=48)
    m.header_row(4, "Month #", "#", FMT_INT, lambda i, c, p: f"={p}4+1" if p else "=1")
    m.line(5, "Period start", "date", FMT_DATE, lambda i, c, p: f"=EDATE({p}5,1)" if p else f"={start}", bold=True)
    m.line(6, "Period end", "date", FMT_DATE, lambda i, c, p: f"=EOMONTH({c}5,0)")
    m.line(7, "Days in month", "days", FMT_INT, lambda i, c, p: f"={c}6-{c}5+1")
    m.line(8, "Operating year", "#", FMT_INT, lambda i, c, p: f"=INT(({c}4-1)/12)+1")
    m.line(9, "Power price", "US$/MWh", "#,##0.00", lambda i, c, p: f"={power}*(1+{power_esc})^({c}8-1)")

    m.section(11, "Bitcoin mining")
    m.line(12, "BTC price deck", "US$/BTC", FMT_MONEY, lambda i, c, p: BTC_PRICE)
    for col in m.cols:  # the deck is typed in, month by month: inputs
        style(ws[f"{col}12"], FONT_INPUT, FMT_MONEY, FILL_INPUT)
    m.line(13, "Halving factor", "x", "0.00", lambda i, c, p: f"=IF({c}5>={halving},0.5,1)")
    m.line(14, "BTC mined", "BTC", "#,##0.0", lambda i, c, p: f"={mined0}*(1-{growth})^({c}4-1)*{c}13", total=True)
    m.line(15, "Mining revenue", "US$", FMT_MONEY, lambda i, c, p: f"={c}12*{c}14", total=True)
    m.line(16, "Mining power cost", "US$", FMT_MONEY, lambda i, c, p: f"={mining_mw}*24*{c}7*{c}9", total=True)
    m.line(17, "Mining margin (curtailed at zero)", "US$", FMT_MONEY, lambda i, c, p: f"=MAX(0,{c}15-{c}16)",
           total=True, bold=True)

    m.section(19, "HPC hosting")
    m.line(20, "Under the hosting contract (1 = yes)", "flag", FMT_FLAG, lambda i, c, p: f"=IF({c}6<={contract_end},1,0)")
    m.line(21, "HPC hosting rent", "US$", FMT_MONEY,
           lambda i, c, p: f"=IF({c}20=1,{rent},{rent}*(1+{merchant_esc})^(INT(({c}4-{contract_months}-1)/12)+1))",
           total=True, bold=True)
    m.line(22, "Hosting power cost", "US$", FMT_MONEY, lambda i, c, p: f"={it_mw}*{pue}*24*{c}7*{c}9", total=True)
    m.line(23, "Hosting operating costs", "US$", FMT_MONEY, lambda i, c, p: f"={hosting_opex}", total=True)

    m.section(25, "Cash flow")
    m.line(26, "Corporate G&A", "US$", FMT_MONEY, lambda i, c, p: f"={ga}", total=True)
    m.line(27, "CFADS", "US$", FMT_MONEY, lambda i, c, p: f"={c}17+{c}21-{c}22-{c}23-{c}26", total=True, bold=True,
           key=True)

    m.section(29, "GPU term loan")
    m.line(30, "Opening balance", "US$", FMT_MONEY, lambda i, c, p: f"={p}33" if p else f"={loan}")
    m.line(31, "Interest", "US$", FMT_MONEY,
           lambda i, c, p: f"=IF({c}4<={term},IPMT({rate_m},{c}4,{term},-{loan}),0)", total=True)
    m.line(32, "Principal (the last payment clears the balance)", "US$", FMT_MONEY,
           lambda i, c, p: f"=IF({c}4<{term},PPMT({rate_m},{c}4,{term},-{loan}),IF({c}4={term},{c}30,0))",
           total=True)
    m.line(33, "Closing balance", "US$", FMT_MONEY, lambda i, c, p: f"={c}30-{c}32", bold=True)

    m.section(35, "BTC-backed loan")
    m.line(36, "Loan outstanding", "US$", FMT_MONEY, lambda i, c, p: f"={btc_loan}")
    m.line(37, "Loan-to-value", "%", FMT_PCT, lambda i, c, p: f"={c}36/({pledged}*{c}12)")
    m.line(38, "Margin call (1 = call)", "flag", FMT_FLAG, lambda i, c, p: f"=IF({c}37>={call_ltv},1,0)", total=True)
    m.line(39, "Liquidation (1 = pledged BTC sold)", "flag", FMT_FLAG, lambda i, c, p: f"=IF({c}37>={liq_ltv},1,0)",
           total=True)
    m.line(40, "BTC loan interest", "US$", FMT_MONEY, lambda i, c, p: f"={c}36*{btc_rate}/12", total=True)

    m.section(42, "Convertible notes")
    m.line(43, "Notes outstanding", "US$", FMT_MONEY, lambda i, c, p: f"=IF({c}5<{maturity},{notes},0)")
    m.line(44, "Coupon", "US$", FMT_MONEY, lambda i, c, p: f"={c}43*{coupon}/12", total=True)
    m.line(45, "Months to the holder put", "months", FMT_INT,
           lambda i, c, p: f"=(YEAR({put})-YEAR({c}5))*12+MONTH({put})-MONTH({c}5)")

    m.section(47, "Coverage")
    m.line(48, "Interest, all facilities", "US$", FMT_MONEY, lambda i, c, p: f"={c}31+{c}40+{c}44", total=True)
    m.line(49, "Debt service, all facilities", "US$", FMT_MONEY, lambda i, c, p: f"={c}31+{c}32+{c}40+{c}44",
           total=True, bold=True, key=True)
    m.line(50, "DSCR", "x", FMT_X, lambda i, c, p: f'=IF({c}49>0,{c}27/{c}49,"n/a")', bold=True, key=True)
    m.line(51, "Covenant breach (1 = breach)", "flag", FMT_FLAG,
           lambda i, c, p: f"=IF({c}49>0,IF({c}50<{covenant},1,0),0)", total=True)

    s = m.span
    summary_block(ws, 53, 1, [
        ("Minimum DSCR", f"=MIN({s(50)})", FMT_X),
        ("Month of minimum DSCR (period start)", f"=INDEX({s(5)},MATCH(MIN({s(50)}),{s(50)},0))", FMT_DATE),
        ("Covenant breaches (count of months)", f"=SUM({s(51)})", FMT_INT),
        ("First breach (period start)", f'=IFERROR(INDEX({s(5)},MATCH(1,{s(51)},0)),"none")', FMT_DATE),
        ("Margin calls (count of months)", f"=SUM({s(38)})", FMT_INT),
        ("Peak loan-to-value", f"=MAX({s(37)})", FMT_PCT),
        ("Hosting share of CFADS before costs", f"=SUM({s(21)})/(SUM({s(21)})+SUM({s(17)}))", FMT_PCT),
        ("Total debt service", f"=SUM({s(49)})", FMT_MONEY),
    ])
    ws.freeze_panes = "E6"

    r = m.profile_range
    profile = f'''# Northlight Mining: a listed bitcoin miner's double leverage. 3,467 BTC pledged to a $130m BTC-backed
# loan (margin call at 70 % LTV, liquidation at 80 %), $400m convertible notes (put 2029-10-01), and a
# $250m GPU term loan on 10,000 hosted GPUs: a 36-month HPC hosting contract, then merchant. Monthly
# periods in columns (sheet Monthly), US$, 60 months. Only "HPC hosting rent" is rent; mining revenue is
# BTC price x BTC mined, on the BTC price deck (an input row that gpucredit stress draws).
# Generated by templates/build_templates.py; regenerate rather than edit by hand.

[timeline]
cells = "{r(5)}"     # period start dates, 01-Jul-2026 … 01-Jun-2031
kind = "period_start"
frequency = "monthly"

[rent]
cells = "{r(21)}"    # "HPC hosting rent": the contract for 36 months, then merchant (+2 % a year)
contracted_until = 2029-06-30  # the hosting contract's end (Inputs "Contract end")
releasing_gap_months = 0       # the same tenant's capacity goes merchant without a gap

[metrics]
cfads = "{r(27)}"
debt_service = "{r(49)}"          # GPU term loan, BTC-backed loan interest, notes coupon
interest = "{r(48)}"
principal = "{r(32)}"
closing_balance = "{r(33)}"       # the GPU term loan: the debt the GPU fleet secures
dscr = "{r(50)}"
covenant = "{covenant.replace("$", "")}"          # minimum DSCR 1.30x

[deal]
gpus = {GPUS}
unit = "USD"
cost_per_gpu = 33000         # all-in per H100: an 8-GPU HGX server at ~$265k (reference S1: $250-400k)
loan_amount = "{loan.replace("$", "")}"  # the GPU term loan
tenor = "{term.replace("$", "")}"

[collateral]
kind = "gpu_fleet"           # the GPU term loan is secured on the hosted GPU fleet

[stress]
btc_price = "{r(12)}"    # the BTC price deck: each scenario's BTC path goes here
margin_call = "{r(38)}"  # the template's own margin-call line on the BTC-backed loan
refinancing = "2029-10-01"   # the notes' holder put date (Inputs "Holder put date")
'''
    return wb, profile
