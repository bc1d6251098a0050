"""Credit conclusions on edge-case templates (issue 17): every expected number worked by hand here.

For each book (``tests/edge_books.py``): ``--json``, the CLI's table and Credit_Summary as LibreOffice
recalculates it agree on every metric, the numbers are the hand ones, and the headline is true.

The curve used ("halving"): d = 0.5, utilisation 1, no floor, no launches, so the mean index of each
calendar year is 0.5^year of the anchor year's and index-mode rent is 12,000 × 0.5^p —
[12,000, 6,000, 3,000, 1,500, 750, 375] — on the six-year books. Their loan: debt service 7,400, 7,000,
6,600, 6,200, 5,800, 5,400 (interest 8 % of an opening balance of 30,000 falling 5,000 a year); CFADS
before = 12,000 × 1.03^p − 2,000 = [10,000, 10,360, 10,730.8, 11,112.724, 11,506.106, 11,911.289]; after
[10,000, 4,000, 1,000, −500, −1,250, −1,625].
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy_financial as npf
import openpyxl
import pytest

import edge_books as eb
from engine.convert import CurveChoice, convert
from engine.errors import ProfileError
from engine.report.metric_table import BY_KEY, METRICS, format_value
from engine.convert import CollateralChoice
from libreoffice import recalculate
from models.credit import CreditMetrics

HALVING = ("--set", "d=0.5", "--set", "util=1", "--set", "floor=0", "--no-launches")
FLAT = ("--set", "d=0", "--set", "util=1", "--no-launches")
DS = [7400.0, 7000.0, 6600.0, 6200.0, 5800.0, 5400.0]
CF_BEFORE = [12000.0 * 1.03 ** i - 2000.0 for i in range(6)]
CF_AFTER = [10000.0, 4000.0, 1000.0, -500.0, -1250.0, -1625.0]
SHORTFALL_AFTER = 3000.0 + 5600.0 + 6200.0 + 5800.0 + 5400.0  # min(DS, DS - CFADS) in years 2-6 = 26,000


def cli(*args: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "260"}
    return subprocess.run([sys.executable, "-m", "engine.shell.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=600, env=env)


def llcr_min(cfads: list[float], opening: list[float], rate: float) -> float:
    """LLCR_i = NPV at the rate of CFADS from i to maturity, at the start of i, ÷ the opening balance."""
    live = [i for i, b in enumerate(opening) if b > 0]
    m = live[-1]
    return min(float(npf.npv(rate, [0.0, *cfads[i:m + 1]])) / opening[i] for i in live)


# name -> (builder, CLI curve options, hand-worked expectations (before, after), the true headline)
CASES = {
    "usd_thousands": (eb.usd_thousands, (*HALVING, "--collateral", "launches=none"), None,
                      "DSCR falls below 1.25x in the year ending 31 Dec 2027; a forced sale at that point recovers "
                      "43% of the balance."),
    "no_cfads": (eb.no_cfads, HALVING, None, "DSCR falls below 1.25x in the year ending 31 Dec 2027."),
    "negative_debt_service": (eb.negative_debt_service, HALVING, None,
                              "DSCR falls below 1.25x in the year ending 31 Dec 2027."),
    "construction_and_tail": (eb.construction_and_tail, HALVING, None,
                              "DSCR falls below 1.30x in the year ending 31 Dec 2029."),
    "sculpted_at_covenant": (lambda f: eb.sculpted_at_covenant(f, [5000.0, 5329.0, 5342.0, 5500.0, 5355.0, 6000.0]),
                             FLAT, None, "DSCR stays at or above 1.30x in every tested period (minimum 1.30x)."),
    "negative_cfads": (eb.negative_cfads, HALVING, None, "DSCR falls below 1.25x in the year ending 31 Dec 2027."),
    "first_period_outlier": (eb.first_period_outlier, (*FLAT, "--anchor", "2"), None,
                             "DSCR stays at or above 1.25x in every tested period (minimum 1.45x)."),
}


def _hand(name: str) -> tuple[dict[str, object], dict[str, object]]:
    """The expected metrics of each book, worked from the numbers in the module docstring."""
    dscr_before = [c / d for c, d in zip(CF_BEFORE, DS)]  # 1.3514, 1.48, 1.6259, 1.7924, 1.9838, 2.2058
    dscr_after = [c / d for c, d in zip(CF_AFTER, DS)]  # 1.3514, 0.5714, 0.1515, -0.0806, -0.2155, -0.3009
    coverage_before = {"min_dscr": 10000 / 7400, "avg_dscr": sum(dscr_before) / 6, "periods_tested": 6,
                       "breaches": 0, "first_breach": None}
    # below 1.25 in years 2 to 6
    coverage_after = {"min_dscr": -1625 / 5400, "avg_dscr": sum(dscr_after) / 6, "periods_tested": 6,
                      "breaches": 5, "first_breach": "2027-12-31"}
    opening = [30000.0, 25000.0, 20000.0, 15000.0, 10000.0, 5000.0]
    if name in ("usd_thousands", "negative_debt_service"):
        before = {**coverage_before, "total_shortfall": 0.0, "min_llcr": llcr_min(CF_BEFORE, opening, 0.08)}
        after = {**coverage_after, "total_shortfall": SHORTFALL_AFTER, "min_llcr": llcr_min(CF_AFTER, opening, 0.08)}
        if name == "usd_thousands":
            # the template's DSCR is CFADS / debt service: they agree everywhere
            before.update(dscr_differs=0, min_dscr_cfads=10000 / 7400)
            after.update(dscr_differs=0, min_dscr_cfads=-1625 / 5400)
            # 1,000 GPUs at $30,000, valued from 2026-01-01, ages 11, 23, … 71 months at the period ends; in
            # US$ 000: orderly = 30,000 × e^(-0.25 t/12); forced = orderly × (0.65 × 0.85 × (1 - 0.1 ×
            # 0.5^1.5) - 0.07) (auction 35 %, cooling 15 %, depth of 1,000 of 2,000 a month, repossession 7 %)
            ages = [11 + 12 * i for i in range(6)]
            orderly = [30000.0 * math.exp(-0.25 * t / 12) for t in ages]
            keep = 0.65 * 0.85 * (1 - 0.1 * 0.5 ** 1.5) - 0.07
            forced = [o * keep for o in orderly]
            closing = opening[1:] + [0.0]
            # recovery at the first breach (2027-12-31, age 23): 8,601.4 of a 20,000 balance = 43.0 %
            recovery = forced[1] / 20000.0
            collateral = {"max_ltv": max(b / o for b, o in zip(closing, orderly)),
                          "max_ltv_forced": max(b / f for b, f in zip(closing, forced)),
                          "mismatch_date": "2026-12-31", "mismatch_balance": 25000.0, "mismatch_months": 0}
            before.update(collateral, recovery_at_breach=None, lgd_at_breach=None)
            after.update(collateral, recovery_at_breach=recovery, lgd_at_breach=1 - recovery)
        return before, after
    if name == "no_cfads":  # the template's DSCR stands; what needs CFADS is n/a, never 0
        return ({**coverage_before, "total_shortfall": None, "min_llcr": None},
                {**coverage_after, "total_shortfall": None, "min_llcr": None})
    if name == "construction_and_tail":
        # tested only in 2028-2031 (debt service 6,600 … 5,400): the template's zeros in construction and
        # after maturity, and the negative CFADS of construction, are not tested
        cf_b = [10000.0, 10360.0, 10730.8, 11112.724]
        cf_a = [10000.0, 4000.0, 1000.0, -500.0]
        ds = [6600.0, 6200.0, 5800.0, 5400.0]
        return ({"min_dscr": 10000 / 6600, "avg_dscr": sum(c / d for c, d in zip(cf_b, ds)) / 4, "periods_tested": 4,
                 "breaches": 0, "total_shortfall": 0.0},
                {"min_dscr": -500 / 5400, "avg_dscr": sum(c / d for c, d in zip(cf_a, ds)) / 4, "periods_tested": 4,
                 "breaches": 3, "first_breach": "2029-12-31", "total_shortfall": 2200.0 + 4800.0 + 5400.0})
    if name == "sculpted_at_covenant":
        # 5,329 / (5,329 / 1.30) = 1.2999999999999998: at the covenant within 1e-9, not a breach; the flat
        # curve keeps CFADS at 5,000 and the sculpted debt service follows it (DSCR 1.3 exactly)
        return ({"min_dscr": 1.2999999999999998, "breaches": 0, "periods_tested": 6, "total_shortfall": 0.0},
                {"min_dscr": 1.3, "breaches": 0, "periods_tested": 6, "total_shortfall": 0.0})
    if name == "negative_cfads":
        # 2028: CFADS 12,730.8 - 17,000 = -4,269.2 with 6,600 due: a breach although the template's DSCR
        # reads "n.m."; the shortfall is the whole 6,600 (not 10,869.2)
        return ({"min_dscr": 10000 / 7400, "breaches": 1, "first_breach": "2028-12-31", "total_shortfall": 6600.0,
                 "dscr_differs": 1, "min_dscr_cfads": -4269.2 / 6600},
                # after: CFADS 10,000, 4,000, 3,000 - 17,000 = -14,000, -500, -1,250, -1,625: the template shows
                # numbers only in 2026-27; breaches 2027 (0.571) and 2028-31 (CFADS < 0)
                {"min_dscr": 4000 / 7000, "breaches": 5, "first_breach": "2027-12-31", "dscr_differs": 4,
                 "min_dscr_cfads": -14000 / 6600, "total_shortfall": 3000.0 + 6600.0 + 6200.0 + 5800.0 + 5400.0})
    assert name == "first_period_outlier"
    # anchored on month 2 (2,670), the flat curve keeps every month's rent: DSCR (14,000 - 500) / 1,500 = 9.0
    # in month 1, then (2,670 - 500) / 1,500 = 1.4467
    same = {"min_dscr": 2170 / 1500, "avg_dscr": (9.0 + 5 * 2170 / 1500) / 6, "breaches": 0}
    return same, same


def _same(got: object, want: object) -> bool:
    if want is None:
        return got is None
    if isinstance(want, str):
        return got == want
    return isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-6)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edge")
    out = {}
    for name, (build, options, _hand_unused, _headline) in CASES.items():
        book = build(folder)
        src = folder / f"{book.name}.xlsx"
        proc = cli("convert", src, "-o", folder / f"{name}.gpu.xlsx", "--json", *options)
        assert proc.returncode == 0, proc.stderr
        table = cli("convert", src, "-o", folder / f"{name}.table.gpu.xlsx", *options)
        assert table.returncode == 0, table.stderr
        doc = json.loads(proc.stdout)
        out[name] = (doc, table, recalculate(Path(doc["output"]), folder / f"lo-{name}"))
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_hand_numbers(converted, name):
    doc = converted[name][0]
    before, after = _hand(name)
    for state, expected in (("before", before), ("after", after)):
        for key, value in expected.items():
            assert _same(doc["metrics"][state][key], value), (state, key, doc["metrics"][state][key], value)


@pytest.mark.parametrize("name", list(CASES))
def test_json_cli_and_the_recalculated_sheet_agree_and_the_headline_is_true(converted, name):
    doc, table, lo = converted[name]
    ws = openpyxl.load_workbook(lo, data_only=True)["Credit_Summary"]
    assert ws["A2"].value == doc["headline"] == CASES[name][3]
    rows = {ws.cell(r, 1).value: r for r in range(6, 40)}
    lines = [line for line in table.stdout.splitlines() if "│" in line]
    shown = 0
    for metric in METRICS:
        metrics = {state: CreditMetrics(**{k: _typed(k, v) for k, v in doc["metrics"][state].items()
                                           if k in BY_KEY}) for state in ("before", "after")}
        row = rows.get(metric.label)
        cli_row = [line for line in lines if line.split("│")[1].strip() == metric.label]
        if row is None:  # not shown on the sheet: then not in the table either
            assert not cli_row, metric.key
            continue
        shown += 1
        cells = [c.strip() for c in cli_row[0].split("│")[1:-1]]
        for col, state in ((3, "before"), (4, "after")):
            value = doc["metrics"][state][metric.key]
            assert _sheet_same(ws.cell(row, col).value, value), (metric.key, state, ws.cell(row, col).value, value)
            assert cells[2 if state == "before" else 3] == format_value(metric, metrics[state]), (metric.key, state)
    assert shown >= 7
    if name != "usd_thousands":  # what secures these loans has no value: no collateral rows anywhere
        assert not any(str(label).startswith(("Maximum loan-to-value", "Forced-sale")) for label in rows if label)


def _typed(key: str, value: object) -> object:
    if BY_KEY[key].unit.value == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def _sheet_same(cell: object, expected: object) -> bool:
    if expected is None:
        return cell in ("none", "n/a")
    if isinstance(expected, str):  # an ISO date
        return isinstance(cell, dt.datetime) and cell.date().isoformat() == expected
    return isinstance(cell, (int, float)) and math.isclose(cell, expected, rel_tol=1e-9, abs_tol=1e-6)


def test_the_money_unit_is_read_from_the_labels(converted):
    doc = converted["usd_thousands"][0]
    assert doc["money_unit"]["unit"] == "USD thousands" and doc["money_unit"]["scale"] == 1e-3
    assert "US$ 000" in doc["money_unit"]["source"]
    assert doc["security"]["kind"] == "gpu_fleet"
    ws = openpyxl.load_workbook(converted["usd_thousands"][2], data_only=True)["Credit_Summary"]
    assert "Money is in USD thousands" in ws["A3"].value
    units = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(6, 30)}
    assert units["Debt service not covered by CFADS"] == "USD thousands"
    header = [c.value for c in ws[58]]
    assert "rent (USD thousands) after" in header
    assert header.count("period end") == 1  # one date column


def test_a_dollar_figure_with_the_unit_unknown_is_refused(tmp_path):
    eb.usd_thousands(tmp_path, labelled=False)
    curve = CurveChoice(collateral=CollateralChoice({"launches": "none"}))
    with pytest.raises(ProfileError, match=r"money unit is unknown; set \[deal\] unit") as caught:
        convert(tmp_path / "unit_unknown.xlsx", tmp_path / "out.xlsx", curve=curve)
    assert "unit_unknown.xlsx" in str(caught.value)
    assert not (tmp_path / "out.xlsx").exists()
    # with no fleet to value there is no dollar figure, and the conversion goes on
    eb.usd_thousands(tmp_path, labelled=False, gpus=False)
    result = convert(tmp_path / "unit_unknown.xlsx", tmp_path / "out.xlsx", curve=curve)
    assert result.to_json()["money_unit"]["unit"] is None and result.metrics_after.max_ltv is None


def test_negative_debt_service_is_tested_by_its_size(converted):
    doc = converted["negative_debt_service"][0]
    assert any("negative amounts (outflows)" in w for w in doc["warnings"])


def test_an_outlier_first_period_is_flagged_and_the_anchor_option_named(tmp_path):
    eb.first_period_outlier(tmp_path)
    src = tmp_path / "first_period_outlier.xlsx"
    proc = cli("convert", src, "-o", tmp_path / "a.xlsx", "--json", *FLAT)
    doc = json.loads(proc.stdout)
    # 14,000 / 2,670 = 5.24: more than 3x
    assert doc["warnings"] == ["The first period with rent (Model!D5: 14,000.00) is 5.24x the next (Model!E5: "
                               "2,670.00); index mode scales every later period from it. If it is a one-off, "
                               "anchor on period 2: --anchor 2 (or [rent] anchor = 2 in the profile)."]
    assert "warning: first_period_outlier.xlsx: The first period with rent" in proc.stderr
    # anchored on the outlier every month earns 14,000 (5.2x the template's revenue) ...
    assert doc["rent_after"] == [14000.0] * 6
    # ... on month 2 (by number or by a date in it) the rent is the template's: 14,000 kept, then 2,670
    for anchor in ("2", "2026-02-15"):
        again = json.loads(cli("convert", src, "-o", tmp_path / "b.xlsx", "--json", "--force", "--anchor", anchor,
                               *FLAT).stdout)
        assert again["rent_after"] == [14000.0] + [2670.0] * 5 and again["warnings"] == []
        assert again["anchor"] == {"period": 2, "end": "2026-02-28"}
    inspected = cli("inspect", src, "--json")
    assert "--anchor 2" in json.loads(inspected.stdout)["warnings"][0] and "warning:" in inspected.stderr


def test_memo_numbers_equal_the_json(tmp_path):
    eb.usd_thousands(tmp_path)
    memo = tmp_path / "memo.md"
    proc = cli("convert", tmp_path / "usd_thousands.xlsx", "-o", tmp_path / "out.xlsx", "--json", "--memo", memo,
               *HALVING, "--collateral", "launches=none")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    text = memo.read_text()
    assert doc["memo"] == str(memo) and f"**{doc['headline']}**" in text
    table = {cells[0]: cells for line in text.splitlines() if line.startswith("| ") and "---" not in line
             for cells in [[c.strip() for c in line.strip("|").split("|")]]}
    checked = 0
    for metric in METRICS:
        if metric.label not in table:
            continue
        _label, unit, before, after = table[metric.label]
        for shown, value in ((before, doc["metrics"]["before"][metric.key]),
                             (after, doc["metrics"]["after"][metric.key])):
            checked += 1
            if value is None:
                assert shown in ("none", "n/a"), metric.key
            elif isinstance(value, str):
                assert shown == value
            else:  # the memo's digits are the JSON number, rounded as printed
                number = float(shown.rstrip("x%").replace(",", ""))
                scale = 100 if shown.endswith("%") else 1
                places = len(shown.rstrip("x%").partition(".")[2])
                assert number == pytest.approx(value * scale, abs=0.5 * 10 ** -places), metric.key
        assert unit == doc["metrics"]["units"][metric.key]
    assert checked >= 30
    for name in ("p0", "d", "util", "gpus"):
        assert f"| {name} |" in text
    assert "## What secures the loan" in text and "gpu_fleet" in text and "USD thousands" in text


def test_a_gpucredit_output_is_refused_as_input(converted, tmp_path):
    doc = converted["no_cfads"][0]
    proc = cli("convert", doc["output"], "-o", tmp_path / "again.xlsx")
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith(
        "GPU_Curve: already converted by gpucredit; edit its GPU_Curve inputs, or convert the original")
    assert not (tmp_path / "again.xlsx").exists()


def test_take_or_pay_contracted_then_merchant(tmp_path):
    """Contracted to 2030-12-31, then a six-month re-leasing gap, then the halving market. Hand table: the
    template's rent to 2030; 2031 keeps months 7-12 of 0.5^5 (the gap): 12,000 × 0.5^5 × (sqrt(2) - 1) =
    155.33 (docs/curve.md); 2032 12,000 × 0.5^6 = 187.5; 2033 93.75."""
    from conftest import edit_cells
    from libreoffice import cached_values

    eb.take_or_pay(tmp_path)
    src = tmp_path / "take_or_pay.xlsx"
    proc = cli("convert", src, "-o", tmp_path / "out.xlsx", "--json", "--contracted-until", "2030-12-31",
               "--releasing-gap-months", "6", *HALVING)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    before = [12000.0 * 1.03 ** i for i in range(8)]
    gap = math.sqrt(2) - 1
    assert doc["rent_before"] == pytest.approx(before, rel=1e-12)
    assert doc["rent_after"][:5] == doc["rent_before"][:5]  # exactly: contracted periods keep the template's rent
    assert doc["rent_after"][5:] == pytest.approx([12000 * 0.5 ** 5 * gap, 12000 * 0.5 ** 6, 12000 * 0.5 ** 7],
                                                  rel=1e-9)
    assert (doc["contracted_until"], doc["releasing_gap_months"]) == ("2030-12-31", 6)
    # the contract end is an input on GPU_Curve: move it to 2028-12-31 and LibreOffice re-prices 2029 on
    # (2029: 12,000 × 0.5^3 × (sqrt(2) - 1) = 621.32; 2030 750; 2031 375; 2032 187.5; 2033 93.75)
    edited = edit_cells(tmp_path / "out.xlsx", tmp_path / "edited.xlsx", "GPU_Curve", {"H22": 47118.0})
    assert dt.date(1899, 12, 30) + dt.timedelta(days=47118) == dt.date(2028, 12, 31)
    values = cached_values(recalculate(edited, tmp_path / "lo"))
    rent = [values[("Model", f"{eb.xl_col_to_name(eb.FIRST_COL + i)}5")] for i in range(1, 8)]
    assert rent == pytest.approx([before[1], before[2], 12000 * 0.125 * gap, 750.0, 375.0, 187.5, 93.75],
                                 rel=1e-9)
    assert values[("GPU_Curve", "Y8")] == "curve" and values[("GPU_Curve", "Y7")] == "contracted"


def test_contracted_to_the_lease_end_keeps_the_shipped_lease_rent(template_copy, tmp_path):
    src = template_copy("dc_lease_annual")
    result = convert(src, tmp_path / "out.xlsx", curve=CurveChoice(preset="h100-stress",
                                                                  contracted_until=dt.date(2035, 12, 31)))
    assert result.rent_after.tolist() == result.rent_before.tolist()
    assert result.metrics_after.breaches == result.metrics_before.breaches == 0


def test_batch_writes_a_memo_beside_each_output(tmp_path):
    eb.no_cfads(tmp_path)
    eb.negative_cfads(tmp_path)
    proc = cli("batch", tmp_path / "no_cfads.xlsx", tmp_path / "negative_cfads.xlsx", "--out", tmp_path / "out",
               "--memo", "--json", "--jobs", "1", *HALVING)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    for row in rows:
        memo = Path(row["memo"])
        assert memo.parent == tmp_path / "out" and memo.name.endswith(".gpu.memo.md")
        assert f"**{row['headline']}**" in memo.read_text()
        assert row["money_unit"] == "USD" and row["security"] == "none"
    # the metric table's numbers are the batch summary's columns: n/a stays null
    assert rows[0]["total_shortfall_after"] is None and rows[1]["total_shortfall_before"] == 6600.0
