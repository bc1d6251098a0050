"""The ``Stress`` sheet of a ``gpucredit stress`` output: the spec and seed, the run's figures, the
per-period table, a fan chart of DSCR percentiles with the covenant line and a column chart of the
probability of a breach by period (native Excel charts).

The figures come from thousands of evaluations of the model, so they are values, not formulas; the
sheet says so, and how to reproduce them (the file, the spec, the seed).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.refs import column_letter
from engine.values import date_to_serial
from engine.xlsx.charts import LineChart, Series, add_charts
from engine.xlsx.package import Package
from engine.xlsx.new_sheet import NewSheet
from engine.xlsx.workbook import add_sheet

SHEET = "Stress"
FAN = ("p5", "p25", "p50", "p75", "p95")
MONTHS = "mmm-yy"  # the charts' date axis


@dataclass(frozen=True)
class StressPage:
    """What the sheet shows besides the figures: how the run was made."""

    figures: Mapping[str, Any]  # StressRun.figures()
    description: str  # the spec's description
    varied: Sequence[tuple[str, str, str]]  # quantity, distribution, source
    shocks: Sequence[tuple[str, object, str]]  # copula parameter, value, meaning
    margin_note: str  # where the margin-call mechanics come from
    command: str  # the command that reproduces the run
    date1904: bool = False


def add_stress_sheet(package: Package, page: StressPage, styles: dict[str, int]) -> str:
    """Add the Stress sheet; returns its part name."""
    f = page.figures
    sheet = NewSheet(col_widths={1: 52, 2: 16, **{c: 12 for c in range(3, 9)}}, tab_color="FFC00000")
    sheet.value(1, 1, f"Monte Carlo stress through the workbook's own formulas (gpucredit, spec {f['spec']})",
                styles["title"])
    sheet.value(2, 1, f"{f['scenarios']:,} scenarios, seed {f['seed']}: values, not formulas. Reproduce with: "
                      f"{page.command}", styles["note"])
    sheet.value(3, 1, page.description, styles["note"])
    row = 5
    row = _table(sheet, row, "Figure", ("value",), _figure_rows(f), styles)
    row = _table(sheet, row + 1, "What each scenario draws", ("distribution", "source"), page.varied, styles)
    row = _table(sheet, row + 1, "Monthly shocks (Gaussian copula, convergence regime)", ("value", "meaning"),
                 page.shocks, styles)
    sheet.value(row + 1, 1, page.margin_note, styles["note"])
    sheet.value(row + 2, 1, f"How the run was computed: {f['path']}; {f['verified_scenarios']} scenarios checked "
                            "against the engine's own evaluation of the workbook, largest relative difference "
                            f"{f['worst_relative_difference']:.1e}.", styles["note"])
    table_row = row + 4
    last = _period_table(sheet, table_row, f, styles, page.date1904)
    part = add_sheet(package, sheet.to_root(), SHEET)
    root = package.xml(part)
    add_charts(package, part, root, _charts(f, table_row, last, page.date1904))
    package.write_xml(part, root)
    return part


def _figure_rows(f: Mapping[str, Any]) -> list[tuple[str, object, str]]:
    """(label, value, style) rows: probabilities as %, DSCRs as x, money in the workbook's unit."""
    rows: list[tuple[str, object, str]] = [("Probability of a covenant breach by maturity", f["p_breach_by_maturity"],
                                            "pct")]
    if "p_breach_before_refinancing" in f:
        rows.append((f"… before the refinancing date {f['refinancing_date']}", f["p_breach_before_refinancing"], "pct"))
    for key, value in (f.get("min_dscr") or {}).items():
        rows.append((f"Minimum DSCR, {key.upper()}", value if value is not None else "n/a", "ratio"))
    rows += [("Total shortfall (debt service not covered), mean", f["shortfall"]["mean"], "num2"),
             ("Total shortfall, 95 % expected shortfall", f["shortfall"]["expected_shortfall_95"], "num2")]
    recovery = f.get("recovery_at_breach")
    rows.append(("Recovery at the first breach (forced sale), mean",
                 recovery["mean"] if recovery else "n/a: no breach, or no secured balance", "pct"))
    if recovery:
        rows.append(("Recovery at the first breach, P5", recovery["p5"], "pct"))
    margin, alone = f.get("margin"), f.get("margin_independent")
    if margin:
        rows.append(("Probability of a margin call on the BTC-backed loan", margin["p_margin_call"], "pct"))
    if margin and alone:
        rows += [("Joint: a margin call and a DSCR breach in the same quarter", margin["p_joint_same_quarter"], "pct"),
                 ("… the same with BTC and GPU shocks independent (rho = 0)", alone["p_joint_same_quarter"], "pct"),
                 ("Cost of the convergence (joint less its rho = 0 figure)",
                  margin["p_joint_same_quarter"] - alone["p_joint_same_quarter"], "pct")]
    return rows


def _table(sheet: NewSheet, row: int, title: str, header: tuple[str, ...],
           rows: Sequence[tuple[str, object, str]], styles: dict[str, int]) -> int:
    """A title row and (label, value, third) rows: the third is a style name for a number value, else
    text for the next column."""
    sheet.value(row, 1, title, styles["header"])
    for offset, text in enumerate(header):
        sheet.value(row, 2 + offset, text, styles["header"])
    for label, value, third in rows:
        row += 1
        sheet.value(row, 1, label, styles["label"])
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        style = styles.get(third, styles["num"]) if number else styles["label"]
        sheet.value(row, 2, float(value) if number else str(value), style)  # type: ignore[arg-type]
        if third not in styles:
            sheet.value(row, 3, third, styles["note"])
    return row + 1


def _period_table(sheet: NewSheet, row: int, f: Mapping[str, Any], styles: dict[str, int], date1904: bool) -> int:
    fan = f.get("dscr_fan") or {}
    headers = ["period end", "P(breach)", *[f"DSCR {k.upper()}" for k in FAN if k in fan], "covenant"]
    for offset, text in enumerate(headers):
        sheet.value(row, 1 + offset, text, styles["header"])
    for p, end in enumerate(f["period_ends"]):
        r = row + 1 + p
        sheet.value(r, 1, date_to_serial(dt.date.fromisoformat(end), date1904=date1904), styles["date"])
        sheet.value(r, 2, f["p_breach_by_period"][p], styles["pct"])
        for k, key in enumerate(key for key in FAN if key in fan):
            value = fan[key][p]
            if value is not None:
                sheet.value(r, 3 + k, value, styles["ratio"])
        if f.get("covenant") is not None:
            sheet.value(r, len(headers), f["covenant"], styles["ratio"])
    return row + len(f["period_ends"])


def _charts(f: Mapping[str, Any], header: int, last: int, date1904: bool) -> list[LineChart]:
    ends = tuple(f["period_ends"])
    serials = tuple(date_to_serial(dt.date.fromisoformat(e), date1904=date1904) for e in ends)
    cats = f"{SHEET}!$A${header + 1}:$A${last}"
    fan = f.get("dscr_fan") or {}
    keys = [k for k in FAN if k in fan]
    cols = {k: 3 + i for i, k in enumerate(keys)}
    series = [Series(f"DSCR {k.upper()}", f"{SHEET}!${column_letter(c)}${header}", cats,
                     f"{SHEET}!${column_letter(c)}${header + 1}:${column_letter(c)}${last}", ends, tuple(fan[k]),
                     serials) for k, c in cols.items()]
    if f.get("covenant") is not None:
        c = 3 + len(keys)
        series.append(Series("covenant", f"{SHEET}!${column_letter(c)}${header}", cats,
                             f"{SHEET}!${column_letter(c)}${header + 1}:${column_letter(c)}${last}", ends,
                             (float(f["covenant"]),) * len(ends), serials))
    breach = Series("P(breach)", f"{SHEET}!$B${header}", cats, f"{SHEET}!$B${header + 1}:$B${last}", ends,
                    tuple(f["p_breach_by_period"]), serials)
    charts = [LineChart("Probability of a covenant breach, by period", (breach,), (9, 4, 19, 22), "0%",
                        category_format=MONTHS, columns=True)]
    if series:
        charts.insert(0, LineChart("DSCR percentiles by period (fan) and the covenant", tuple(series),
                                   (9, 24, 19, 44), "0.00", category_format=MONTHS,
                                   value_range=_fan_range(fan, f.get("covenant"))))
    return charts


def _fan_range(fan: Mapping[str, Sequence[float | None]], covenant: float | None) -> tuple[float, float]:
    """The fan chart's value axis: from the lowest P5 (or 0) to twice the highest median (or the
    covenant), so a wide upper tail does not flatten the band around the covenant."""
    lows = [v for v in fan.get("p5", ()) if v is not None]
    mids = [v for v in fan.get("p50", ()) if v is not None]
    low = math.floor(min([0.0, *lows]))
    high = math.ceil(2 * max([covenant or 0.0, *mids, 1.0]))
    return float(low), float(high)
