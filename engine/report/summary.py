"""The Credit_Summary sheet: before/after metrics, the per-period table, charts, a headline.

"After" numbers are Excel formulas over the template's own cells wherever Excel can compute them,
so they follow edits (on GPU_Curve or in the template). "Before" numbers describe the original
workbook, which the output no longer contains, so they are values; so are the metrics that need
gpucredit's models (LLCR, collateral, recovery), and the sheet says so.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from engine.xlsx.charts import LineChart, Series, add_charts
from engine.report.metrics import StateLines
from engine.xlsx.package import Package
from engine.xlsx.workbook import add_sheet
from engine.template.profile import TemplateProfile
from engine.formula.evaluate import Evaluation
from engine.refs import CellRef, column_letter
from engine.xlsx.sheet import NewSheet, sheet_of
from engine.values import date_to_serial
from models.credit import CreditMetrics
from models.periods import PeriodGrid

SHEET = "Credit_Summary"
TABLE_HEADER = 58  # per-period table header row (below the charts); data from the next row
HEADLINE_ROW = 2
COLS = {"end": 1, "label": 2, "rent_before": 3, "rent_after": 4, "dscr_before": 5, "dscr_after": 6,
        "covenant": 7, "breach": 8, "shortfall": 9, "balance": 10, "forced": 11, "orderly": 12}
# metric key, label, unit, style, how the "after" column is filled
METRICS = (
    ("min_dscr", "Minimum DSCR", "x", "ratio", "formula"),
    ("avg_dscr", "Average DSCR", "x", "ratio", "formula"),
    ("first_breach", "First covenant breach (test date)", "date", "date", "formula"),
    ("breaches", "Periods in breach", "periods", None, "formula"),
    ("total_shortfall", "Debt service not covered by CFADS", "money", "num2", "formula"),
    ("min_llcr", "Minimum LLCR", "x", "ratio", "gpucredit"),
    ("max_ltv", "Maximum loan-to-value (orderly sale)", "%", "pct", "gpucredit"),
    ("max_ltv_forced", "Maximum loan-to-value (forced sale)", "%", "pct", "gpucredit"),
    ("mismatch_date", "Forced-sale value below the balance for good from", "date", "date", "gpucredit"),
    ("mismatch_balance", "Balance outstanding then", "money", "num2", "gpucredit"),
    ("recovery_at_breach", "Forced-sale recovery at the first breach", "% of balance", "pct", "gpucredit"),
    ("lgd_at_breach", "Loss given default at the first breach", "% of balance", "pct", "gpucredit"),
)
FIRST_METRIC_ROW = 6
COVENANT_ROW = FIRST_METRIC_ROW + len(METRICS)


@dataclass(frozen=True)
class SummaryLayout:
    """Where the summary sheet lives and where its gpucredit-computed "after" cells are."""

    part: str
    n_periods: int
    after_value_rows: dict[str, int]
    cells: dict[tuple[int, int], tuple[str, object]]  # what the sheet holds, to load into the engine


def build_summary(
    package: Package, *, profile: TemplateProfile, grid: PeriodGrid, before: StateLines,
    metrics_before: CreditMetrics, collateral: tuple[np.ndarray, np.ndarray] | None, note: str,
    styles: dict[str, int], date1904: bool,
) -> SummaryLayout:
    """Add Credit_Summary with its formulas and "before" values (the "after" values come later)."""
    sheet = NewSheet(col_widths={1: 44, 2: 13, 3: 14, 4: 14, 5: 14, 6: 14, 7: 11, 8: 9, 9: 14, 10: 16, 11: 16,
                                 12: 16}, tab_color="FF9C0006", fit_to_width=True)
    sheet.value(1, 1, "Credit summary (gpucredit)", styles["title"])
    sheet.value(HEADLINE_ROW, 1, "", styles["headline"])
    sheet.value(3, 1, note, styles["note"])
    for col, text in enumerate(("Metric", "Unit", "Before", "After", "After is"), start=1):
        sheet.value(FIRST_METRIC_ROW - 1, col, text, styles["header"])
    first, last = TABLE_HEADER + 1, TABLE_HEADER + grid.n_periods
    col_range = {k: f"${column_letter(c)}${first}:${column_letter(c)}${last}" for k, c in COLS.items()}
    formulas = {
        "min_dscr": f"MIN({col_range['dscr_after']})",
        "avg_dscr": f'IFERROR(AVERAGE({col_range["dscr_after"]}),"")',
        "first_breach": f'IFERROR(INDEX({col_range["end"]},MATCH(1,{col_range["breach"]},0)),"none")',
        "breaches": f"SUM({col_range['breach']})",
        "total_shortfall": f"SUM({col_range['shortfall']})",
    }
    after_rows = {}
    for i, (key, label, unit, style, how) in enumerate(METRICS):
        row = FIRST_METRIC_ROW + i
        cell_style = styles[style] if style else None
        sheet.value(row, 1, label, styles["label"])
        sheet.value(row, 2, unit, styles["label"])
        sheet.value(row, 3, _metric_value(key, getattr(metrics_before, key), date1904), cell_style)
        if how == "formula":
            sheet.formula(row, 4, formulas[key], cell_style)
            sheet.value(row, 5, "Excel formula", styles["note"])
        else:
            after_rows[key] = row
            sheet.value(row, 5, "computed by gpucredit", styles["note"])
    sheet.value(COVENANT_ROW, 1, "DSCR covenant", styles["label"])
    sheet.value(COVENANT_ROW, 2, "x", styles["label"])
    sheet.value(COVENANT_ROW, 3, before.covenant, styles["ratio"])
    if isinstance(profile.covenant, CellRef):
        sheet.formula(COVENANT_ROW, 4, profile.covenant.formula_ref(), styles["ratio"])
    else:
        sheet.value(COVENANT_ROW, 4, profile.covenant, styles["ratio"])
    _period_table(sheet, profile, grid, before, collateral, styles, date1904)
    part = add_sheet(package, sheet.to_root(), SHEET)
    return SummaryLayout(part=part, n_periods=grid.n_periods, after_value_rows=after_rows,
                         cells={key: (kind, content) for key, (kind, content, _style) in sheet.cells.items()})


def _period_table(sheet: NewSheet, profile: TemplateProfile, grid: PeriodGrid, before: StateLines,
                  collateral: tuple[np.ndarray, np.ndarray] | None, styles: dict[str, int], date1904: bool) -> None:
    headers = {"end": "period end", "label": "period", "rent_before": "rent before", "rent_after": "rent after",
               "dscr_before": "DSCR before", "dscr_after": "DSCR after", "covenant": "covenant",
               "breach": "breach", "shortfall": "shortfall", "balance": "balance", "forced": "forced-sale value",
               "orderly": "orderly value"}
    for key, text in headers.items():
        sheet.value(TABLE_HEADER, COLS[key], text, styles["header"])
    sheet.value(TABLE_HEADER - 1, 1, "Per period (after = live links to the template's cells)", styles["header"])
    metrics = profile.metrics
    for p in range(grid.n_periods):
        row = TABLE_HEADER + 1 + p
        c = {k: f"{column_letter(v)}{row}" for k, v in COLS.items()}
        sheet.value(row, COLS["end"], date_to_serial(grid.ends[p], date1904=date1904), styles["date"])
        sheet.value(row, COLS["label"], grid.ends[p].isoformat(), None)
        sheet.value(row, COLS["rent_before"], _number(before.rent[p]), styles["num2"])
        sheet.formula(row, COLS["rent_after"], profile.rent[p].formula_ref(absolute=False), styles["num2"])
        sheet.value(row, COLS["dscr_before"], before.dscr[p], styles["ratio"])
        if "dscr" in metrics:
            sheet.formula(row, COLS["dscr_after"], metrics["dscr"][p].formula_ref(absolute=False), styles["ratio"])
        elif "cfads" in metrics and "debt_service" in metrics:
            cf, ds = (metrics[k][p].formula_ref(absolute=False) for k in ("cfads", "debt_service"))
            sheet.formula(row, COLS["dscr_after"], f'IF(N({ds})>0,{cf}/{ds},"")', styles["ratio"])
        sheet.formula(row, COLS["covenant"], f"$D${COVENANT_ROW}", styles["ratio"])
        sheet.formula(row, COLS["breach"], f"IF(AND(ISNUMBER({c['dscr_after']}),ISNUMBER({c['covenant']})),"
                                           f"IF({c['dscr_after']}<{c['covenant']},1,0),0)", None)
        if "cfads" in metrics and "debt_service" in metrics:
            cf, ds = (metrics[k][p].formula_ref(absolute=False) for k in ("cfads", "debt_service"))
            sheet.formula(row, COLS["shortfall"], f"MAX(0,N({ds})-N({cf}))", styles["num2"])
        else:
            sheet.value(row, COLS["shortfall"], 0.0, styles["num2"])
        if "closing_balance" in metrics:
            sheet.formula(row, COLS["balance"], metrics["closing_balance"][p].formula_ref(absolute=False),
                          styles["num2"])
        if collateral is not None:
            sheet.value(row, COLS["forced"], _number(collateral[1][p]), styles["num2"])
            sheet.value(row, COLS["orderly"], _number(collateral[0][p]), styles["num2"])


def finish_summary(package: Package, layout: SummaryLayout, *, after: Evaluation, metrics_after: CreditMetrics,
                   headline: str, styles: dict[str, int], date1904: bool) -> None:
    """Write the gpucredit-computed "after" values and the headline, and draw the charts."""
    sheet = sheet_of(package, layout.part)
    for key, row in layout.after_value_rows.items():
        style = next(s for k, _l, _u, s, _h in METRICS if k == key)
        sheet.set_value(row, 4, _metric_value(key, getattr(metrics_after, key), date1904), styles[style] if style else None)
    sheet.set_value(HEADLINE_ROW, 1, headline, styles["headline"])
    add_charts(package, layout.part, sheet.root, _charts(layout, after))
    package.write_xml(layout.part, sheet.root)


def _charts(layout: SummaryLayout, after: Evaluation) -> list[LineChart]:
    first, last = TABLE_HEADER + 1, TABLE_HEADER + layout.n_periods
    labels = tuple(str(after.get(SHEET, r, COLS["label"])) for r in range(first, last + 1))

    def series(key: str) -> Series:
        col = column_letter(COLS[key])
        values = []
        for r in range(first, last + 1):
            v = after.get(SHEET, r, COLS[key])
            values.append(v if isinstance(v, float) and math.isfinite(v) else None)
        return Series(
            name=str(after.get(SHEET, TABLE_HEADER, COLS[key])), name_ref=f"{SHEET}!${col}${TABLE_HEADER}",
            categories_ref=f"{SHEET}!$B${first}:$B${last}", values_ref=f"{SHEET}!${col}${first}:${col}${last}",
            categories=labels, values=tuple(values))

    width, height = 9, 18
    left = 6  # column G, right of the metrics table
    return [
        LineChart("Rent before vs after", (series("rent_before"), series("rent_after")),
                  (left, 0, left + width, height), "#,##0"),
        LineChart("DSCR before vs after, with the covenant",
                  (series("dscr_before"), series("dscr_after"), series("covenant")),
                  (left, height + 1, left + width, 2 * height + 1), "0.00"),
        LineChart("Outstanding balance vs forced-sale collateral value", (series("balance"), series("forced")),
                  (left, 2 * height + 2, left + width, 3 * height + 2), "#,##0"),
    ]


def _number(value: float) -> float | str:
    """A per-period number for a cell; a period with none (NaN: the cell held no number) reads n/a."""
    return float(value) if math.isfinite(float(value)) else "n/a"


def _metric_value(key: str, value: object, date1904: bool) -> float | str | None:
    if value is None:
        return "none" if key in ("first_breach", "mismatch_date") else "n/a"
    if isinstance(value, dt.date):
        return date_to_serial(value, date1904=date1904)
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(float(value)) else "n/a"
    return str(value)


def headline(metrics: CreditMetrics, covenant: float | None, frequency_months: int) -> str:
    """One plain-language line: when DSCR breaks the covenant and what a forced sale recovers then."""
    if metrics.first_breach is None:
        cov = f"{covenant:.2f}x" if covenant is not None else "the covenant"
        low = f" (minimum {metrics.min_dscr:.2f}x)" if metrics.min_dscr is not None else ""
        return f"DSCR stays at or above {cov} in every period{low}."
    when = _period_name(metrics.first_breach, frequency_months)
    text = f"DSCR falls below {covenant:.2f}x in {when}" if covenant is not None else f"DSCR breaches in {when}"
    if metrics.recovery_at_breach is not None:
        text += f"; a forced sale at that point recovers {metrics.recovery_at_breach:.0%} of the balance"
    return text + "."


def _period_name(end: dt.date, frequency_months: int) -> str:
    if frequency_months == 3:
        return f"Q{(end.month - 1) // 3 + 1} {end.year}"
    if frequency_months == 12:
        return f"the year ending {end:%d %b %Y}"
    if frequency_months == 1:
        return f"{end:%B %Y}"
    return f"the period ending {end:%d %b %Y}"
