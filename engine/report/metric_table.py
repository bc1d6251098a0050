"""The one metric table (docs/credit.md): each credit metric defined once.

Each :class:`Metric` holds a metric's key (its name in ``--json``, the batch summary and
:class:`~models.credit.CreditMetrics`), its label, its unit, its Python computation (a function of
:mod:`models.credit`), the Excel formula that computes it live on ``Credit_Summary`` (or why Excel
cannot), and the lines it needs — without one of them it is n/a (JSON null), never 0. ``--json``, the
CLI's table, Credit_Summary's before and after columns, the batch summary and the memo all read
:data:`METRICS`; a new metric is one entry here and one function in ``models/credit.py``.

The Excel formulas read the per-period table of Credit_Summary (``engine/report/period_table.py``),
whose columns compute, per period and per state, the tested DSCR, the breach flag and the shortfall
by the same rules as :mod:`models.credit`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import models.credit as credit
from models.credit import CreditInputs, CreditMetrics, MetricValue


class Unit(StrEnum):
    """What a metric's number is (how it is formatted, and what the unit column says)."""

    RATIO = "x"
    DATE = "date"
    PERIODS = "periods"
    MONEY = "money"  # shown as the template's money unit, never as the word "money"
    SHARE = "share"  # of the balance
    MONTHS = "months"


class Group(StrEnum):
    """Which rows show: coverage always; the DSCR check where the template has its own DSCR and the
    lines to recompute it; collateral only where something secures the loan and has a value."""

    COVERAGE = "coverage"
    DSCR_CHECK = "dscr_check"
    COLLATERAL = "collateral"


@dataclass(frozen=True)
class Ranges:
    """One state's columns of the per-period table (absolute ranges such as ``$C$59:$C$68``; None where
    the template has no such line) and the cell holding that state's covenant."""

    end: str
    covenant: str
    dscr: str | None = None  # the DSCR of each period (the template's, or CFADS / debt service)
    dscr_tested: str | None = None  # the DSCR where the period is tested, else blank
    dscr_cfads: str | None = None  # CFADS / debt service where tested, beside the template's own
    differs: str | None = None  # 1 where the two disagree in a tested period
    debt_service: str | None = None
    breach: str | None = None
    shortfall: str | None = None
    balance: str | None = None
    forced: str | None = None


Formula = Callable[[Ranges], str]


@dataclass(frozen=True)
class Metric:
    """One credit metric: where its number comes from, what it means, and what it needs."""

    key: str
    label: str
    unit: Unit
    group: Group
    compute: Callable[[CreditInputs], MetricValue]
    needs: tuple[str, ...]  # names of :data:`NEEDS`; without one the metric is n/a
    excel: Formula | None = None  # the live formula over the per-period table
    not_live: str = ""  # why Excel cannot compute it live (shown on the sheet)


def _tested_min(column: Callable[[Ranges], str | None], fn: str) -> Formula:
    return lambda r: f'IF(COUNT({column(r)})=0,"n/a",{fn}({column(r)}))'


def _first(r: Ranges, column: str) -> str:
    return f"INDEX({column},MATCH(1,{r.breach},0))"


def _recovery(r: Ranges) -> str:
    owed = f"N({_first(r, str(r.balance))})"
    return f"IF({owed}<=0,1,MIN(1,N({_first(r, str(r.forced))})/{owed}))"


def _with_covenant(formula: Formula) -> Formula:
    return lambda r: f'IF(ISNUMBER({r.covenant}),{formula(r)},"n/a")'


# The inputs a metric may need, as the reason the sheet gives when one is missing.
NEEDS: dict[str, tuple[Callable[[CreditInputs], bool], str]] = {
    "dscr": (lambda x: x.template_dscr is not None or (x.cfads is not None and x.debt_service is not None),
             "no DSCR line, and no CFADS and debt-service lines to compute it from"),
    "template_dscr": (lambda x: x.template_dscr is not None, "the template has no DSCR line of its own"),
    "cfads": (lambda x: x.cfads is not None, "the template has no CFADS line"),
    "debt_service": (lambda x: x.debt_service is not None, "the template has no debt-service line"),
    "covenant": (lambda x: x.covenant is not None, "no covenant (set [metrics] covenant)"),
    "balance": (lambda x: x.balance is not None, "the template has no closing-balance line"),
    "interest": (lambda x: x.interest is not None, "no interest line to read the loan rate from"),
    "orderly": (lambda x: x.orderly_value is not None, "no collateral value"),
    "forced": (lambda x: x.forced_value is not None, "no forced-sale collateral value"),
}
MODEL = "computed by gpucredit: it needs gpucredit's collateral model"

METRICS: tuple[Metric, ...] = (
    Metric("min_dscr", "Minimum DSCR (tested periods)", Unit.RATIO, Group.COVERAGE, credit.min_dscr, ("dscr",),
           _tested_min(lambda r: r.dscr_tested, "MIN")),
    Metric("avg_dscr", "Average DSCR (tested periods)", Unit.RATIO, Group.COVERAGE, credit.avg_dscr, ("dscr",),
           _tested_min(lambda r: r.dscr_tested, "AVERAGE")),
    Metric("min_dscr_cfads", "Minimum CFADS ÷ debt service (beside the template's own DSCR)", Unit.RATIO,
           Group.DSCR_CHECK, credit.min_dscr_cfads, ("template_dscr", "cfads", "debt_service"),
           _tested_min(lambda r: r.dscr_cfads, "MIN")),
    Metric("dscr_differs", "Tested periods where the template's DSCR ≠ CFADS ÷ debt service", Unit.PERIODS,
           Group.DSCR_CHECK, credit.dscr_differs, ("template_dscr", "cfads", "debt_service"),
           lambda r: f"SUM({r.differs})"),
    Metric("periods_tested", "Periods tested (debt service > 0)", Unit.PERIODS, Group.COVERAGE,
           credit.periods_tested, ("dscr",),
           lambda r: f'COUNTIF({r.debt_service},">0")' if r.debt_service else f"COUNT({r.dscr})"),
    Metric("first_breach", "First covenant breach (test date)", Unit.DATE, Group.COVERAGE, credit.first_breach,
           ("dscr", "covenant"), _with_covenant(lambda r: f'IFERROR({_first(r, r.end)},"none")')),
    Metric("breaches", "Tested periods in breach", Unit.PERIODS, Group.COVERAGE, credit.breaches,
           ("dscr", "covenant"), _with_covenant(lambda r: f"SUM({r.breach})")),
    Metric("total_shortfall", "Debt service not covered by CFADS", Unit.MONEY, Group.COVERAGE,
           credit.total_shortfall, ("cfads", "debt_service"), lambda r: f"SUM({r.shortfall})"),
    Metric("min_llcr", "Minimum LLCR", Unit.RATIO, Group.COVERAGE, credit.min_llcr,
           ("cfads", "balance", "interest"),
           not_live="computed by gpucredit: it needs the loan rate, read off the interest and balance lines"),
    Metric("max_ltv", "Maximum loan-to-value (orderly value)", Unit.SHARE, Group.COLLATERAL, credit.max_ltv,
           ("balance", "orderly"), not_live=MODEL),
    Metric("max_ltv_forced", "Maximum loan-to-value (forced sale)", Unit.SHARE, Group.COLLATERAL,
           credit.max_ltv_forced, ("balance", "forced"), not_live=MODEL),
    Metric("mismatch_date", "Forced-sale value below the balance for good from", Unit.DATE, Group.COLLATERAL,
           credit.mismatch_date, ("balance", "forced"), not_live=MODEL),
    Metric("mismatch_balance", "Balance outstanding then", Unit.MONEY, Group.COLLATERAL, credit.mismatch_balance,
           ("balance", "forced"), not_live=MODEL),
    Metric("mismatch_months", "Months from the first period to then", Unit.MONTHS, Group.COLLATERAL,
           credit.mismatch_months, ("balance", "forced"), not_live=MODEL),
    Metric("recovery_at_breach", "Forced-sale recovery at the first breach", Unit.SHARE, Group.COLLATERAL,
           credit.recovery_at_breach, ("dscr", "covenant", "balance", "forced"),
           _with_covenant(lambda r: f'IFERROR({_recovery(r)},"n/a")')),
    Metric("lgd_at_breach", "Loss given default at the first breach", Unit.SHARE, Group.COLLATERAL,
           credit.lgd_at_breach, ("dscr", "covenant", "balance", "forced"),
           _with_covenant(lambda r: f'IFERROR(1-{_recovery(r)},"n/a")')),
)
"""Every metric, in the order the reports show them."""

BY_KEY = {metric.key: metric for metric in METRICS}


def missing(metric: Metric, x: CreditInputs) -> str | None:
    """Why ``metric`` is n/a for these inputs (the first input it needs that is missing), or None."""
    for name in metric.needs:
        present, reason = NEEDS[name]
        if not present(x):
            return reason
    return None


def measure(x: CreditInputs) -> CreditMetrics:
    """Every metric of one state, each by its own computation; n/a where an input it needs is missing."""
    values: dict[str, Any] = {m.key: None if missing(m, x) else m.compute(x) for m in METRICS}
    return CreditMetrics(**values)


def shown(metric: Metric, *, dscr_check: bool, collateral: bool) -> bool:
    """Whether a report shows the metric's row: DSCR-check rows only where the template has its own DSCR
    and the lines to recompute it; collateral rows only where the loan's security has a value."""
    if metric.group is Group.DSCR_CHECK:
        return dscr_check
    if metric.group is Group.COLLATERAL:
        return collateral
    return True


def json_value(value: MetricValue) -> float | int | str | None:
    """A metric's value in ``--json``: dates as ISO strings; n/a (and an unbounded LTV) as null."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def none_text(metric: Metric, metrics: CreditMetrics) -> str:
    """What a report shows for a None: "none" for an event that did not happen, else "n/a"."""
    if metric.key == "first_breach" and metrics.breaches is not None:
        return "none"
    if metric.key == "mismatch_date" and metrics.max_ltv_forced is not None:
        return "none"
    return "n/a"


def unit_label(metric: Metric, money: str) -> str:
    """The unit column's text; ``money`` is the template's money unit as it reads (``USD thousands``)."""
    return {Unit.RATIO: "x", Unit.DATE: "date", Unit.PERIODS: "periods", Unit.MONEY: money,
            Unit.SHARE: "% of balance" if "recovery" in metric.key or "lgd" in metric.key else "%",
            Unit.MONTHS: "months"}[metric.unit]


def format_value(metric: Metric, metrics: CreditMetrics) -> str:
    """A metric's value as the CLI and the memo print it (the sheet's number formats show the same digits)."""
    value = getattr(metrics, metric.key)
    if value is None:
        return none_text(metric, metrics)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and math.isinf(value):
        return "∞ (unsecured)"
    if metric.unit is Unit.RATIO:
        return f"{value:.2f}x"
    if metric.unit is Unit.MONEY:
        return f"{value:,.2f}"
    if metric.unit is Unit.SHARE:
        return f"{value:.1%}"
    return f"{value:d}"
