"""Credit metrics over a template's periods (DESIGN §7).

Per period: DSCR, LLCR, cumulative shortfall, loan-to-value; over the loan: minimum and
average DSCR, the first covenant breach and the breach count, the duration mismatch
(when forced-sale collateral value falls below the balance for good) and the recovery
if the borrower defaults at the first breach.  :func:`credit_metrics` gathers them in a
:class:`CreditMetrics`.

Money is positive (CFADS may be negative in a bad period) and in one unit throughout:
the template's, so collateral values in $ must be scaled to it by the caller.  Rates
are decimals per period.  A period with nothing to cover (no debt service for DSCR, no
opening balance for LLCR) has NaN: it is not tested, and never counts as a breach.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from models.periods import month_index

__all__ = [
    "CoverageMetrics", "CreditMetrics", "DurationMismatch", "average_dscr", "coverage_metrics",
    "credit_metrics", "cumulative_shortfall", "dscr", "duration_mismatch", "llcr",
    "loan_to_value", "recovery_at_default",
]  # fmt: skip

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CoverageMetrics:
    """Coverage of one workbook state ("before" or "after").

    ``first_breach`` is the end date of the first period whose DSCR is below the
    covenant (the covenant test date); periods with no DSCR are not tested.
    """

    min_dscr: float | None
    first_breach: dt.date | None
    breaches: int


def dscr(cfads: npt.ArrayLike, debt_service: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """CFADS / debt service per period; NaN where there is no debt service (not a breach).

    Both inputs are positive money per period.
    """
    cf = np.asarray(cfads, dtype=float)
    ds = np.asarray(debt_service, dtype=float)
    out = np.full(cf.shape, np.nan)
    mask = ds > 0
    out[mask] = cf[mask] / ds[mask]
    return out


def coverage_metrics(
    dscr_values: Sequence[float | None], period_ends: Sequence[dt.date], covenant: float | None
) -> CoverageMetrics:
    """Minimum DSCR, first breach date and breach count against ``covenant``.

    A period whose DSCR is ``None`` or NaN is skipped (no debt service to cover).
    With no covenant, no period is a breach.
    """
    if len(dscr_values) != len(period_ends):
        raise ValueError("one DSCR per period is needed")
    tested = [(v, end) for v, end in zip(dscr_values, period_ends) if v is not None and not np.isnan(v)]
    if not tested:
        return CoverageMetrics(None, None, 0)
    breaches = [end for v, end in tested if covenant is not None and v < covenant]
    return CoverageMetrics(
        min_dscr=min(v for v, _ in tested),
        first_breach=breaches[0] if breaches else None,
        breaches=len(breaches),
    )


# -- helpers ---------------------------------------------------------------------------
def _series(name: str, values: npt.ArrayLike, n: int | None = None, *, signed: bool = False) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected one value per period (1-D), got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name}: {arr.shape[0]} values for {n} periods")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: every period needs a finite number (found NaN or infinity)")
    if not signed and np.any(arr < 0):
        raise ValueError(f"{name}: money is positive inside models/; found a negative value")
    return arr


def _rates(rate_per_period: float | npt.ArrayLike, n: int) -> FloatArray:
    r = np.broadcast_to(np.asarray(rate_per_period, dtype=np.float64), (n,)).astype(np.float64)
    if not np.all(np.isfinite(r)) or np.any(r <= -1.0):
        raise ValueError(f"rate_per_period: {rate_per_period!r}; need finite decimals > -1")
    return r


def _tested(dscr_values: Sequence[float | None] | npt.ArrayLike) -> FloatArray:
    seq = dscr_values if isinstance(dscr_values, Sequence) else np.asarray(dscr_values).tolist()
    return np.array([np.nan if v is None else float(v) for v in seq], dtype=np.float64)


# -- per-period metrics ----------------------------------------------------------------
def average_dscr(dscr_values: Sequence[float | None] | npt.ArrayLike) -> float | None:
    """Arithmetic mean of the tested DSCRs (None / NaN skipped); None if none is tested."""
    arr = _tested(dscr_values)
    tested = arr[~np.isnan(arr)]
    return float(tested.mean()) if tested.size else None


def llcr(
    cfads: npt.ArrayLike,
    opening_balance: npt.ArrayLike,
    rate_per_period: float | npt.ArrayLike,
    *,
    maturity: int | None = None,
) -> FloatArray:
    """Loan life coverage ratio at each period.

    ``LLCR_i = sum_{j=i..m} CFADS_j / prod_{k=i..j} (1 + r_k) / opening_balance_i``:
    CFADS arrive at period ends and are discounted at the loan rate to the start of
    period i, where the opening balance is outstanding (Excel ``NPV`` convention).

    Parameters
    ----------
    cfads : array of float
        Cash flow available for debt service per period, money (may be negative).
    opening_balance : array of float
        Debt outstanding at the start of each period, money, >= 0.
    rate_per_period : float or array of float
        Loan interest rate per period (decimal, e.g. 0.02 a quarter), one or per period.
    maturity : int or None
        Position of the loan's last period; None means the last period whose opening
        balance is positive.

    Returns
    -------
    ndarray of float
        LLCR (a ratio); NaN where the opening balance is zero or after maturity.
    """
    cf = _series("cfads", cfads, signed=True)
    n = cf.shape[0]
    opening = _series("opening_balance", opening_balance, n)
    r = _rates(rate_per_period, n)
    out = np.full(n, np.nan)
    live = np.flatnonzero(opening > 0)
    m = int(live[-1]) if maturity is None and live.size else maturity
    if m is None:
        return out
    if not 0 <= m < n:
        raise ValueError(f"maturity: position {m} is outside the {n} periods")
    discount = np.cumprod(1.0 / (1.0 + r[: m + 1]))  # to the start of period 0
    before = np.concatenate(([1.0], discount[:-1]))  # discount to the start of period i
    pv = np.cumsum((cf[: m + 1] * discount)[::-1])[::-1] / before
    covered = opening[: m + 1] > 0
    out[: m + 1][covered] = pv[covered] / opening[: m + 1][covered]
    return out


def cumulative_shortfall(cfads: npt.ArrayLike, debt_service: npt.ArrayLike) -> FloatArray:
    """Running sum of debt service not covered by CFADS, ``cumsum(max(0, DS - CFADS))``, money."""
    cf = _series("cfads", cfads, signed=True)
    ds = _series("debt_service", debt_service, cf.shape[0])
    return np.cumsum(np.maximum(0.0, ds - cf))


def loan_to_value(balance: npt.ArrayLike, collateral_value: npt.ArrayLike) -> FloatArray:
    """Balance / collateral value per period (a ratio; 0.6 = 60 % LTV).

    Both in the same money unit, >= 0.  No balance gives 0; a balance against
    worthless collateral gives ``inf`` (unsecured), not an error.
    """
    bal = _series("balance", balance)
    value = _series("collateral_value", collateral_value, bal.shape[0])
    out = np.zeros_like(bal)
    secured = value > 0
    out[secured] = bal[secured] / value[secured]
    out[~secured & (bal > 0)] = np.inf
    return out


@dataclass(frozen=True)
class DurationMismatch:
    """Where forced-sale collateral value falls below the balance and stays there.

    Attributes
    ----------
    period : int
        Position of the first period from which, until the loan is repaid, the
        forced-sale value is below the outstanding balance.
    date : date
        That period's end date.
    balance : float
        The balance outstanding then, money.
    months : int
        Calendar months from the first period's end to `date`.
    """

    period: int
    date: dt.date
    balance: float
    months: int


def duration_mismatch(
    period_ends: Sequence[dt.date], balance: npt.ArrayLike, forced_value: npt.ArrayLike
) -> DurationMismatch | None:
    """First period after which forced-sale value stays below the balance for good.

    Periods after repayment (balance 0, or a rounding residue below a billionth of the
    peak balance) do not end the mismatch: the test runs over the periods with debt.  Returns None if the last such period is
    covered (or no balance is ever outstanding).

    Parameters
    ----------
    period_ends : sequence of date
        End date of each period.
    balance : array of float
        Balance outstanding at each period end, money, >= 0.
    forced_value : array of float
        Forced-sale collateral value at each period end, same money unit, >= 0.
    """
    n = len(period_ends)
    bal = _series("balance", balance, n)
    value = _series("forced_value", forced_value, n)
    # A balance below a billionth of the peak is a rounding residue of a repaid loan, not debt.
    owed = bal > 1e-9 * float(bal.max(initial=0.0))
    # A period "breaks" the mismatch if a balance is owed and the collateral covers it.
    covered = owed & (value >= bal)
    live = np.flatnonzero(owed)
    if live.size == 0:
        return None
    after = np.flatnonzero(covered)
    start = int(after[-1]) + 1 if after.size else 0
    candidates = live[live >= start]
    if candidates.size == 0:
        return None
    p = int(candidates[0])
    months = month_index(period_ends[p]) - month_index(period_ends[0])
    return DurationMismatch(period=p, date=period_ends[p], balance=float(bal[p]), months=months)


def recovery_at_default(
    balance: npt.ArrayLike, forced_value: npt.ArrayLike, default_period: int
) -> tuple[float, float]:
    """Recovery and loss given default, as shares of the balance, for a default then.

    ``recovery = min(forced_value, balance) / balance`` at `default_period` and
    ``LGD = 1 - recovery``; the exposure is the balance outstanding at that period's
    end.  With no balance outstanding nothing is lost: (1.0, 0.0).

    Returns
    -------
    tuple of float
        (recovery share, loss given default share), each in [0, 1].
    """
    bal = _series("balance", balance)
    value = _series("forced_value", forced_value, bal.shape[0])
    if not 0 <= default_period < bal.shape[0]:
        raise ValueError(f"default_period: position {default_period} is outside the {bal.shape[0]} periods")
    owed = float(bal[default_period])
    if owed == 0.0:
        return 1.0, 0.0
    recovery = min(float(value[default_period]), owed) / owed
    return recovery, 1.0 - recovery


# -- everything for one workbook state -------------------------------------------------
@dataclass(frozen=True)
class CreditMetrics:
    """Credit metrics of one workbook state ("before" or "after"), DESIGN §7.

    Attributes
    ----------
    min_dscr, avg_dscr : float or None
        Minimum and mean DSCR over the tested periods (ratios).
    first_breach : date or None
        End date of the first period with DSCR below the covenant.
    breaches : int
        Number of periods with DSCR below the covenant.
    min_llcr : float or None
        Minimum LLCR over the loan life (None without a rate).
    total_shortfall : float
        Debt service not covered by CFADS, summed over all periods, money.
    max_ltv, max_ltv_forced : float or None
        Maximum balance / orderly value and balance / forced-sale value (ratios;
        ``inf`` if a balance meets worthless collateral); None without collateral.
    mismatch_date, mismatch_balance, mismatch_months
        :class:`DurationMismatch` fields (None without one, or without collateral).
    recovery_at_breach, lgd_at_breach : float or None
        Shares of the balance recovered / lost by a forced sale at the first breach.
    """

    min_dscr: float | None
    avg_dscr: float | None
    first_breach: dt.date | None
    breaches: int
    min_llcr: float | None
    total_shortfall: float
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
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, dt.date) else value
        return out


def _opening(closing: FloatArray, debt_service: FloatArray, r: FloatArray) -> FloatArray:
    # opening[t] = closing[t-1]; the first from closing = opening (1 + r) - debt service.
    first = (closing[0] + debt_service[0]) / (1.0 + r[0])
    return np.concatenate(([first], closing[:-1]))


def credit_metrics(
    period_ends: Sequence[dt.date],
    dscr_values: Sequence[float | None] | None,
    cfads: npt.ArrayLike,
    debt_service: npt.ArrayLike,
    closing_balance: npt.ArrayLike,
    forced_value: npt.ArrayLike | None,
    orderly_value: npt.ArrayLike | None,
    covenant: float | None,
    rate_per_period: float | npt.ArrayLike | None,
    *,
    opening_balance: npt.ArrayLike | None = None,
) -> CreditMetrics:
    """Gather every DESIGN §7 metric from per-period arrays of one workbook state.

    Parameters
    ----------
    period_ends : sequence of date
        End date of each period (the covenant test dates).
    dscr_values : sequence of float or None, or None
        The template's DSCR per period (None / NaN = not tested); None computes
        ``cfads / debt_service``.
    cfads, debt_service : array of float
        Per period, money; debt service >= 0.
    closing_balance : array of float
        Balance outstanding at each period end, money, >= 0.
    forced_value, orderly_value : array of float or None
        Collateral value at each period end, same money unit; None skips the
        collateral metrics.
    covenant : float or None
        DSCR covenant (e.g. 1.20); None means no period is a breach.
    rate_per_period : float, array of float or None
        Loan rate per period for LLCR (decimal); None skips LLCR.
    opening_balance : array of float or None
        Balance at each period start; None takes the previous closing balance, and
        for the first period ``(closing + debt service) / (1 + rate)`` (no drawdown
        or fees in the first period).
    """
    n = len(period_ends)
    if n == 0:
        raise ValueError("period_ends: no periods to measure")
    cf = _series("cfads", cfads, n, signed=True)
    ds = _series("debt_service", debt_service, n)
    closing = _series("closing_balance", closing_balance, n)
    values = dscr(cf, ds) if dscr_values is None else _tested(dscr_values)
    if values.shape[0] != n:
        raise ValueError(f"dscr_values: {values.shape[0]} values for {n} periods")
    tested = [None if np.isnan(v) else float(v) for v in values]
    cover = coverage_metrics(tested, period_ends, covenant)
    min_llcr: float | None = None
    if rate_per_period is not None:
        r = _rates(rate_per_period, n)
        opening = _opening(closing, ds, r) if opening_balance is None else opening_balance
        ratios = llcr(cf, opening, r)
        min_llcr = float(np.nanmin(ratios)) if np.any(~np.isnan(ratios)) else None
    max_ltv = max_ltv_forced = recovery = lgd = None
    mismatch = None
    if orderly_value is not None:
        max_ltv = float(loan_to_value(closing, _series("orderly_value", orderly_value, n)).max())
    if forced_value is not None:
        forced = _series("forced_value", forced_value, n)
        max_ltv_forced = float(loan_to_value(closing, forced).max())
        mismatch = duration_mismatch(period_ends, closing, forced)
        below = np.flatnonzero(values < covenant) if covenant is not None else np.array([], int)
        if below.size:  # NaN (untested) compares False, so it is never a breach
            recovery, lgd = recovery_at_default(closing, forced, int(below[0]))
    return CreditMetrics(
        min_dscr=cover.min_dscr,
        avg_dscr=average_dscr(tested),
        first_breach=cover.first_breach,
        breaches=cover.breaches,
        min_llcr=min_llcr,
        total_shortfall=float(cumulative_shortfall(cf, ds)[-1]),
        max_ltv=max_ltv,
        max_ltv_forced=max_ltv_forced,
        mismatch_date=None if mismatch is None else mismatch.date,
        mismatch_balance=None if mismatch is None else mismatch.balance,
        mismatch_months=None if mismatch is None else mismatch.months,
        recovery_at_breach=recovery,
        lgd_at_breach=lgd,
    )
