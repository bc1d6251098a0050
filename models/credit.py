"""Credit metrics over a template's periods (docs/credit.md), one function per metric.

:class:`CreditInputs` holds one workbook state's per-period lines ("before" or "after"): CFADS,
debt service, the template's own DSCR, the closing balance, interest, the covenant and the
collateral value. A line the template does not have is ``None``; a period whose cell holds no
number is NaN. Every metric is a function of a :class:`CreditInputs` returning its value, or
``None`` (n/a, JSON null — never 0) when an input it needs is missing; :func:`credit_metrics`
gathers them in a :class:`CreditMetrics`. ``engine/report/metric_table.py`` gives each its label,
unit and the Excel formula that computes it live on ``Credit_Summary``.

Which periods are tested: those with debt service > 0 (with no debt-service line, those whose DSCR
is a number). In a tested period it is a breach when DSCR is below the covenant by more than a
relative :data:`BREACH_TOLERANCE` (1.2999999999999998 against 1.30 is not a breach) or when CFADS
is negative. The DSCR of a period is the template's own where it has a DSCR line (read as it is),
else CFADS ÷ debt service.

Money is positive (CFADS may be negative in a bad period; debt service arrives here positive,
whatever sign the template books it with) and in one unit throughout: the template's, so collateral
values in $ must be converted by the caller. Rates are decimals per period.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from models.ratios import DurationMismatch, dscr, duration_mismatch, llcr, loan_to_value, recovery_at_default

__all__ = [
    "BREACH_TOLERANCE", "CreditInputs", "CreditMetrics", "DurationMismatch", "avg_dscr", "breach_flags",
    "breaches", "computed_dscr", "credit_metrics", "dscr", "dscr_differs", "dscr_differs_flags", "duration_mismatch",
    "first_breach", "lgd_at_breach", "llcr", "loan_to_value", "max_ltv", "max_ltv_forced", "min_dscr",
    "min_dscr_cfads", "min_llcr", "mismatch_balance", "mismatch_date", "mismatch_months", "period_dscr",
    "rate_per_period", "recovery_at_breach", "recovery_at_default", "shortfall", "periods_tested", "dscr_when_tested",
    "is_tested", "total_shortfall",
]  # fmt: skip

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

BREACH_TOLERANCE = 1e-9
"""Relative: a DSCR is below the covenant only when ``covenant - dscr > 1e-9 * |covenant|`` (docs/credit.md)."""
DIFFER_TOLERANCE = 1e-9
"""Relative: the template's DSCR differs from CFADS ÷ debt service when ``|t - c| > 1e-9 * |c|``."""


@dataclass(frozen=True)
class CreditInputs:
    """One workbook state's per-period lines, in the template's money unit.

    Attributes
    ----------
    period_ends : tuple of date
        End date of each period (the covenant test dates).
    cfads, debt_service, template_dscr, balance, interest : ndarray of float or None
        Per period; None where the template has no such line, NaN where a cell holds no number.
        ``debt_service`` is positive (an outflow the template books negative arrives flipped);
        ``balance`` is the closing balance; ``template_dscr`` the template's own DSCR line.
    covenant : float or None
        Minimum DSCR (e.g. 1.20); None: no period can be tested for a breach.
    orderly_value, forced_value : ndarray of float or None
        Collateral value at each period end (orderly and forced sale), or None without one.
    """

    period_ends: tuple[dt.date, ...]
    cfads: FloatArray | None = None
    debt_service: FloatArray | None = None
    template_dscr: FloatArray | None = None
    balance: FloatArray | None = None
    interest: FloatArray | None = None
    covenant: float | None = None
    orderly_value: FloatArray | None = None
    forced_value: FloatArray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "period_ends", tuple(self.period_ends))
        n = len(self.period_ends)
        if n == 0:
            raise ValueError("period_ends: no periods to measure")
        for f in fields(self):
            if f.name in ("period_ends", "covenant"):
                continue
            value = getattr(self, f.name)
            if value is None:
                continue
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape != (n,):
                raise ValueError(f"{f.name}: {arr.size} values for {n} periods (one per period)")
            object.__setattr__(self, f.name, arr)
        if self.covenant is not None and not np.isfinite(self.covenant):
            raise ValueError(f"covenant: {self.covenant!r} is not a finite number")


def _finite(values: FloatArray) -> BoolArray:
    return np.asarray(np.isfinite(values), dtype=np.bool_)


def _money(values: FloatArray | None, n: int) -> FloatArray:
    """A line as numbers for sums: NaN (no number) counts 0, a missing line is all 0."""
    return np.zeros(n) if values is None else np.nan_to_num(values, nan=0.0)


# -- per period ------------------------------------------------------------------------
def computed_dscr(x: CreditInputs) -> FloatArray | None:
    """CFADS ÷ debt service where debt service > 0 and CFADS is a number (else NaN); None without both lines."""
    if x.cfads is None or x.debt_service is None:
        return None
    return dscr(x.cfads, x.debt_service)


def period_dscr(x: CreditInputs) -> FloatArray | None:
    """The DSCR of each period: the template's own line as it is, else CFADS ÷ debt service; None with neither."""
    return x.template_dscr if x.template_dscr is not None else computed_dscr(x)


def is_tested(x: CreditInputs) -> BoolArray | None:
    """Which periods are tested: debt service > 0 (no debt-service line: the DSCR is a number)."""
    values = period_dscr(x)
    if values is None:
        return None
    if x.debt_service is not None:
        return np.asarray(np.nan_to_num(x.debt_service) > 0, dtype=np.bool_)
    return _finite(values)


def dscr_when_tested(x: CreditInputs) -> FloatArray | None:
    """The DSCR of the tested periods (NaN elsewhere, and where the DSCR cell holds no number)."""
    values, flags = period_dscr(x), is_tested(x)
    if values is None or flags is None:
        return None
    return np.where(flags & _finite(values), values, np.nan)


def breach_flags(x: CreditInputs) -> BoolArray | None:
    """Tested periods in breach: DSCR below the covenant by more than the tolerance, or CFADS < 0."""
    values, flags = period_dscr(x), is_tested(x)
    if values is None or flags is None or x.covenant is None:
        return None
    cov = x.covenant
    below = _finite(values) & (cov - np.nan_to_num(values) > BREACH_TOLERANCE * abs(cov))
    negative = np.zeros_like(flags) if x.cfads is None else _finite(x.cfads) & (np.nan_to_num(x.cfads) < 0)
    return np.asarray(flags & (below | negative), dtype=np.bool_)


def shortfall(x: CreditInputs) -> FloatArray | None:
    """Debt service not covered by CFADS in each tested period: ``min(DS, max(0, DS - CFADS))``.

    Capped at the debt service: a negative CFADS leaves the whole debt service uncovered (the rest
    is an operating loss, not debt service). 0 where the period is not tested or CFADS is no number.
    """
    if x.cfads is None or x.debt_service is None:
        return None
    ds = np.nan_to_num(x.debt_service)
    ok = (ds > 0) & _finite(x.cfads)
    cf = np.nan_to_num(x.cfads)
    return np.where(ok, np.minimum(ds, np.maximum(0.0, ds - cf)), 0.0)


def dscr_differs_flags(x: CreditInputs) -> BoolArray | None:
    """Tested periods where the template's DSCR and CFADS ÷ debt service disagree (one a number and the
    other not, or both numbers more than a relative 1e-9 apart); None unless the template has all three lines."""
    calc = computed_dscr(x)
    own, flags = x.template_dscr, is_tested(x)
    if own is None or calc is None or flags is None:
        return None
    both = _finite(own) & _finite(calc)
    apart = both & (np.abs(np.nan_to_num(own) - np.nan_to_num(calc)) > DIFFER_TOLERANCE * np.abs(np.nan_to_num(calc)))
    return np.asarray(flags & ((_finite(own) != _finite(calc)) | apart), dtype=np.bool_)


# -- coverage metrics ------------------------------------------------------------------
def _min(values: FloatArray | None) -> float | None:
    if values is None or not np.any(_finite(values)):
        return None
    return float(np.nanmin(values))


def min_dscr(x: CreditInputs) -> float | None:
    """Minimum DSCR over the tested periods (a ratio); None if no period is tested."""
    return _min(dscr_when_tested(x))


def avg_dscr(x: CreditInputs) -> float | None:
    """Arithmetic mean DSCR over the tested periods; None if no period is tested."""
    values = dscr_when_tested(x)
    if values is None or not np.any(_finite(values)):
        return None
    return float(np.mean(values[_finite(values)]))


def min_dscr_cfads(x: CreditInputs) -> float | None:
    """Minimum CFADS ÷ debt service over the tested periods, beside the template's own DSCR line; None
    unless the template has a DSCR line and the CFADS and debt-service lines."""
    calc, flags = computed_dscr(x), is_tested(x)
    if x.template_dscr is None or calc is None or flags is None:
        return None
    return _min(np.where(flags, calc, np.nan))


def dscr_differs(x: CreditInputs) -> int | None:
    """How many tested periods the template's DSCR disagrees with CFADS ÷ debt service."""
    flags = dscr_differs_flags(x)
    return None if flags is None else int(flags.sum())


def periods_tested(x: CreditInputs) -> int | None:
    """How many periods are tested (debt service > 0); None with no DSCR at all."""
    flags = is_tested(x)
    return None if flags is None else int(flags.sum())


def first_breach(x: CreditInputs) -> dt.date | None:
    """End date of the first period in breach (the covenant test date); None: none, or not testable."""
    flags = breach_flags(x)
    if flags is None or not flags.any():
        return None
    return x.period_ends[int(np.flatnonzero(flags)[0])]


def breaches(x: CreditInputs) -> int | None:
    """How many tested periods are in breach; None without a covenant or a DSCR."""
    flags = breach_flags(x)
    return None if flags is None else int(flags.sum())


def total_shortfall(x: CreditInputs) -> float | None:
    """Σ debt service not covered by CFADS over the tested periods (money); None without both lines."""
    values = shortfall(x)
    return None if values is None else float(values.sum())


# -- loan life -------------------------------------------------------------------------
def rate_per_period(interest: FloatArray, closing_balance: FloatArray) -> float | None:
    """The loan's rate per period, read off the template: median of interest ÷ previous closing balance.

    The median ignores periods where a draw or a capitalisation makes one quotient unrepresentative;
    None where no period has both a positive interest and a positive previous balance.
    """
    if len(interest) < 2:
        return None
    previous, paid = closing_balance[:-1], interest[1:]
    ok = _finite(previous) & _finite(paid) & (np.nan_to_num(previous) > 0) & (np.nan_to_num(paid) > 0)
    # statistics.median: the same number as numpy's (the middle value, or the mean of the middle two) without
    # numpy.median importing numpy.ma (5 ms of a command's start)
    return statistics.median((paid[ok] / previous[ok]).tolist()) if ok.any() else None


def min_llcr(x: CreditInputs) -> float | None:
    """Minimum LLCR over the loan life at the loan rate (:func:`rate_per_period`); None without the CFADS,
    interest and balance lines, or without a rate."""
    if x.cfads is None or x.interest is None or x.balance is None:
        return None
    rate = rate_per_period(x.interest, x.balance)
    if rate is None:
        return None
    n = len(x.period_ends)
    closing = np.maximum(_money(x.balance, n), 0.0)
    ds = np.maximum(_money(x.debt_service, n), 0.0)
    # opening[t] = closing[t-1]; the first from closing = opening (1 + r) - debt service
    opening = np.concatenate((((closing[0] + ds[0]) / (1.0 + rate),), closing[:-1]))
    return _min(llcr(_money(x.cfads, n), opening, rate))


# -- collateral ------------------------------------------------------------------------
def _ltv(x: CreditInputs, value: FloatArray | None) -> float | None:
    if x.balance is None or value is None:
        return None
    n = len(x.period_ends)
    return float(loan_to_value(np.maximum(_money(x.balance, n), 0.0), np.maximum(_money(value, n), 0.0)).max())


def max_ltv(x: CreditInputs) -> float | None:
    """Maximum balance ÷ orderly collateral value (a ratio; ``inf`` if a balance meets worthless collateral)."""
    return _ltv(x, x.orderly_value)


def max_ltv_forced(x: CreditInputs) -> float | None:
    """Maximum balance ÷ forced-sale collateral value."""
    return _ltv(x, x.forced_value)


def _mismatch(x: CreditInputs) -> DurationMismatch | None:
    if x.balance is None or x.forced_value is None:
        return None
    n = len(x.period_ends)
    return duration_mismatch(x.period_ends, np.maximum(_money(x.balance, n), 0.0),
                             np.maximum(_money(x.forced_value, n), 0.0))


def mismatch_date(x: CreditInputs) -> dt.date | None:
    """End of the first period from which forced-sale value stays below the balance (:func:`duration_mismatch`)."""
    found = _mismatch(x)
    return None if found is None else found.date


def mismatch_balance(x: CreditInputs) -> float | None:
    """The balance outstanding at :func:`mismatch_date` (money)."""
    found = _mismatch(x)
    return None if found is None else found.balance


def mismatch_months(x: CreditInputs) -> int | None:
    """Calendar months from the first period's end to :func:`mismatch_date`."""
    found = _mismatch(x)
    return None if found is None else found.months


def _recovery(x: CreditInputs) -> tuple[float, float] | None:
    flags = breach_flags(x)
    if flags is None or not flags.any() or x.balance is None or x.forced_value is None:
        return None
    n = len(x.period_ends)
    return recovery_at_default(np.maximum(_money(x.balance, n), 0.0), np.maximum(_money(x.forced_value, n), 0.0),
                               int(np.flatnonzero(flags)[0]))


def recovery_at_breach(x: CreditInputs) -> float | None:
    """Forced-sale value ÷ balance at the first breach, capped at 1 (no balance then: 1)."""
    found = _recovery(x)
    return None if found is None else found[0]


def lgd_at_breach(x: CreditInputs) -> float | None:
    """1 − :func:`recovery_at_breach`."""
    found = _recovery(x)
    return None if found is None else found[1]


# -- everything for one workbook state -------------------------------------------------
MetricValue = float | int | dt.date | None


@dataclass(frozen=True)
class CreditMetrics:
    """Every credit metric (docs/credit.md) of one workbook state; each field is the function of the same name.

    None is n/a (an input line missing, nothing tested) — or, for the dates, no such event.
    """

    min_dscr: float | None
    avg_dscr: float | None
    min_dscr_cfads: float | None
    dscr_differs: int | None
    periods_tested: int | None
    first_breach: dt.date | None
    breaches: int | None
    total_shortfall: float | None
    min_llcr: float | None
    max_ltv: float | None
    max_ltv_forced: float | None
    mismatch_date: dt.date | None
    mismatch_balance: float | None
    mismatch_months: int | None
    recovery_at_breach: float | None
    lgd_at_breach: float | None

    def to_dict(self) -> dict[str, Any]:
        """Field name to value, dates as ISO strings (``inf`` LTVs stay floats)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, dt.date) else value
        return out


def credit_metrics(x: CreditInputs) -> CreditMetrics:
    """Every metric of one state: ``CreditMetrics(name=name(x), …)`` for each field."""
    return CreditMetrics(**{f.name: globals()[f.name](x) for f in fields(CreditMetrics)})
