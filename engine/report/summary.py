"""The Credit_Summary sheet: the metric table before and after, a live headline, the per-period table, charts.

Both metric columns are Excel formulas over the per-period table (``period_table.py``) wherever Excel
can compute the metric — "before" over the original workbook's values, "after" over live links to the
template — so the after column and the headline follow edits on GPU_Curve. Metrics that need
gpucredit's models (LLCR, loan-to-value, the duration mismatch) are values, and the sheet says so. Every
row comes from the one metric table, ``metric_table.py``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from engine.formula.evaluate import Evaluation
from engine.refs import CellRef, column_letter
from engine.report.metric_table import METRICS, Metric, Unit, missing, none_text, shown, unit_label
from engine.report.period_table import HEADER_ROW, STATES, PeriodLayout, StateCells, layout_for, write_table
from engine.xlsx.new_sheet import NewSheet
from engine.values import date_to_serial
from engine.xlsx.charts import LineChart, Series, add_drawing
from engine.xlsx.package import Package
from engine.xlsx.workbook import add_sheet
from models.credit import CreditInputs, CreditMetrics

SHEET = "Credit_Summary"
HEADLINE_ROW = 2
FIRST_METRIC_ROW = 6
STYLE = {Unit.RATIO: "ratio", Unit.DATE: "date", Unit.MONEY: "num2", Unit.SHARE: "pct"}
DATES = "yyyy-mm-dd"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


@dataclass(frozen=True)
class SummaryLayout:
    """Where Credit_Summary keeps its metric rows, its covenant row and its per-period table."""

    part: str
    rows: dict[str, int]  # metric key -> row, for the metrics shown
    computed: tuple[str, ...]  # metrics whose after value gpucredit writes once the after state is known
    covenant_row: int
    table: PeriodLayout
    money: str
    ends: tuple[dt.date, ...]
    end_serials: tuple[float, ...]
    # the sheet itself, finished by finish_summary and the answer blocks, written once by write_summary
    sheet: NewSheet


def build_summary(
    package: Package, *, before: CreditInputs, metrics_before: CreditMetrics, cells: dict[str, StateCells],
    covenant: CellRef | float | None, money: str, lines: list[str], notes: list[str], frequency_months: int,
    styles: dict[str, int], date1904: bool,
) -> SummaryLayout:
    """Add Credit_Summary with its formulas, the "before" values and the live headline.

    ``before`` decides which lines and rows exist; ``lines`` are the sentences under the headline (money
    unit, security, curve); ``notes`` the warnings under the table.
    """
    n = len(before.period_ends)
    table = layout_for(before, n)
    sheet = NewSheet(col_widths={1: 44, 2: 12, 3: 14, 4: 14, 5: 24, **{c: 13 for c in range(6, table.covenant_col + 1)}},
                     tab_color="FF9C0006", print_scale=40, page_break_after_col=16)  # page 1: the table, charts
    sheet.value(1, 1, "Credit summary (gpucredit)", styles["title"])
    for i, text in enumerate(lines[:2]):
        sheet.value(3 + i, 1, text, styles["note"])
    for col, text in enumerate(("Metric", "Unit", "Before", "After", "How"), start=1):
        sheet.value(FIRST_METRIC_ROW - 1, col, text, styles["header"])
    dscr_check = table.range("after", "dscr_cfads") is not None
    collateral = table.range("after", "forced") is not None or table.range("after", "orderly") is not None
    metrics = [m for m in METRICS if shown(m, dscr_check=dscr_check, collateral=collateral)]
    covenant_row = FIRST_METRIC_ROW + len(metrics)
    cov_cells = {"before": f"$C${covenant_row}", "after": f"$D${covenant_row}"}
    rows: dict[str, int] = {}
    computed: list[str] = []
    for i, metric in enumerate(metrics):
        row = FIRST_METRIC_ROW + i
        rows[metric.key] = row
        style = styles.get(STYLE.get(metric.unit, ""))
        sheet.value(row, 1, metric.label, styles["label"])
        sheet.value(row, 2, unit_label(metric, money), styles["label"])
        why = missing(metric, before)
        if why is not None:
            for col in (3, 4):
                sheet.value(row, col, "n/a", style)
            sheet.value(row, 5, f"n/a: {why}", styles["note"])
        elif metric.excel is not None:
            for col, state in ((3, "before"), (4, "after")):
                sheet.formula(row, col, metric.excel(table.ranges(state, cov_cells[state])), style)
            sheet.value(row, 5, "Excel formula (both columns)", styles["note"])
        else:
            sheet.value(row, 3, metric_cell(metric, metrics_before, date1904), style)
            computed.append(metric.key)
            sheet.value(row, 5, metric.not_live, styles["note"])
    sheet.value(covenant_row, 1, "DSCR covenant", styles["label"])
    sheet.value(covenant_row, 2, "x", styles["label"])
    sheet.value(covenant_row, 3, "n/a" if before.covenant is None else before.covenant, styles["ratio"])
    if isinstance(covenant, CellRef):
        sheet.formula(covenant_row, 4, f'IF(ISNUMBER({covenant.formula_ref()}),{covenant.formula_ref()},"n/a")',
                      styles["ratio"])
    else:
        sheet.value(covenant_row, 4, "n/a" if covenant is None else covenant, styles["ratio"])
    for i, text in enumerate(notes):
        sheet.value(covenant_row + 2 + i, 1, text, styles["note"])
    sheet.formula(HEADLINE_ROW, 1, headline_formula(rows, covenant_row, frequency_months), styles["headline"])
    ends = [date_to_serial(d, date1904=date1904) for d in before.period_ends]
    write_table(sheet, table, ends=ends, cells=cells, covenants=cov_cells, money=money,
                own_dscr=before.template_dscr is not None, styles=styles)
    part = add_sheet(package, NewSheet().to_root(), SHEET)  # its content: write_summary, once it is known
    return SummaryLayout(part=part, rows=rows, computed=tuple(computed), covenant_row=covenant_row, table=table,
                         money=money, ends=before.period_ends, end_serials=tuple(ends), sheet=sheet)


def headline_formula(rows: dict[str, int], covenant_row: int, frequency_months: int) -> str:
    """The headline as an Excel formula over the after column: it changes when the model does."""
    cell = {key: f"$D${row}" for key, row in rows.items()}
    cov, low = f"$D${covenant_row}", cell["min_dscr"]
    first = cell["first_breach"]
    names = ",".join(f'"{m}"' for m in MONTHS)
    abbreviations = ",".join(f'"{m[:3]}"' for m in MONTHS)
    month = f"CHOOSE(MONTH({first}),{names})"
    short = f"CHOOSE(MONTH({first}),{abbreviations})"
    day = f'DAY({first})&" "&{short}&" "&YEAR({first})'
    when = {3: f'"Q"&ROUNDUP(MONTH({first})/3,0)&" "&YEAR({first})', 1: f'{month}&" "&YEAR({first})',
            12: f'"the year ending "&{day}'}.get(frequency_months, f'"the period ending "&{day}')
    recovery = ""
    if "recovery_at_breach" in rows:
        rec = cell["recovery_at_breach"]
        recovery = f'&IF(ISNUMBER({rec}),"; a forced sale at that point recovers "&FIXED({rec}*100,0)&"% of the balance","")'
    return (f'IF(NOT(ISNUMBER({low})),"DSCR cannot be tested: no period has both debt service and a DSCR.",'
            f'IF(NOT(ISNUMBER({cell["breaches"]})),"Minimum DSCR "&FIXED({low},2)&"x; no covenant is set, so no '
            f'period is tested for a breach.",IF({cell["breaches"]}=0,"DSCR stays at or above "&FIXED({cov},2)'
            f'&"x in every tested period (minimum "&FIXED({low},2)&"x).","DSCR falls below "&FIXED({cov},2)&"x in "'
            f'&{when}{recovery}&".")))')


def metric_cell(metric: Metric, metrics: CreditMetrics, date1904: bool) -> float | str:
    """A gpucredit-computed metric as a cell value: a number or date serial, "none" or "n/a"."""
    value = getattr(metrics, metric.key)
    if value is None:
        return none_text(metric, metrics)
    if isinstance(value, dt.date):
        return date_to_serial(value, date1904=date1904)
    if math.isinf(float(value)):
        return "∞ (unsecured)"
    return float(value)


def finish_summary(package: Package, layout: SummaryLayout, *, after: Evaluation, metrics_after: CreditMetrics,
                   styles: dict[str, int], date1904: bool) -> None:
    """Put the gpucredit-computed "after" values on the sheet and draw the charts (over the evaluated
    table); the sheet is written by :func:`write_summary`."""
    sheet = layout.sheet
    by_key = {m.key: m for m in METRICS}
    for key in layout.computed:
        metric = by_key[key]
        sheet.value(layout.rows[key], 4, metric_cell(metric, metrics_after, date1904),
                    styles.get(STYLE.get(metric.unit, "")))
    sheet.drawing_rel, _charts_added = add_drawing(package, layout.part, _charts(layout, after))


def write_summary(package: Package, layout: SummaryLayout, after: Evaluation) -> int:
    """Write Credit_Summary into its part, every formula with its value in ``after``, as bytes: nothing
    edits it afterwards, and its tree would be the largest after the model's (28 MB on the 1,200-month
    variant). Returns the number of formula cells written."""
    package.write(layout.part, layout.sheet.to_xml(values=lambda row, col: after.get(SHEET, row, col)))
    return layout.sheet.formula_count


def live_problems(ev: Evaluation, layout: SummaryLayout, metrics: dict[str, CreditMetrics], date1904: bool) -> list[str]:
    """Live metric cells whose evaluated value differs from gpucredit's computation (a bug guard)."""
    problems = []
    for metric in METRICS:
        row = layout.rows.get(metric.key)
        if row is None or metric.key in layout.computed:
            continue
        for col, state in ((3, "before"), (4, "after")):
            got, want = ev.get(SHEET, row, col), getattr(metrics[state], metric.key)
            if not _same(got, want, date1904):
                problems.append(f"{SHEET}!{column_letter(col)}{row} ({metric.key} {state}): the sheet computes "
                                f"{got!r}, gpucredit {want!r}")
    return problems


def _same(got: object, want: object, date1904: bool) -> bool:
    if want is None:
        return got in ("n/a", "none")
    if isinstance(want, dt.date):
        want = date_to_serial(want, date1904=date1904)
    if not isinstance(got, float) or isinstance(got, bool):
        return False
    return math.isclose(got, float(want), rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[arg-type]


def _charts(layout: SummaryLayout, after: Evaluation) -> list[LineChart]:
    table = layout.table
    first, last = table.first_row, table.last_row
    labels = tuple(end.isoformat() for end in layout.ends)

    def series(state: str, key: str) -> Series | None:
        col = table.covenant_col if key == "covenant" else table.columns[state].get(key)
        if col is None:
            return None
        letter = column_letter(col)
        values = []
        for r in range(first, last + 1):
            v = after.get(SHEET, r, col)
            values.append(v if isinstance(v, float) and math.isfinite(v) else None)
        return Series(name=str(after.get(SHEET, HEADER_ROW, col)), name_ref=f"{SHEET}!${letter}${HEADER_ROW}",
                      categories_ref=f"{SHEET}!$A${first}:$A${last}", values_ref=f"{SHEET}!${letter}${first}:${letter}${last}",
                      categories=labels, values=tuple(values), category_serials=layout.end_serials)

    def some(*items: Series | None) -> tuple[Series, ...]:
        return tuple(s for s in items if s is not None)

    width, height, left = 9, 18, 6  # column G, right of the metric table
    collateral = some(series("after", "forced")) or some(series("after", "orderly"))
    return [
        LineChart("Rent before vs after", some(*(series(s, "rent") for s in STATES)), (left, 0, left + width, height),
                  "#,##0", DATES),
        LineChart("DSCR before vs after, with the covenant",
                  some(*(series(s, "dscr") for s in STATES), series("after", "covenant")),
                  (left, height + 1, left + width, 2 * height + 1), "0.00", DATES),
        LineChart("Outstanding balance vs collateral value" if collateral else "Outstanding balance",
                  some(series("after", "balance"), *collateral), (left, 2 * height + 2, left + width, 3 * height + 2),
                  "#,##0", DATES),
    ]

