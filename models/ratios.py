"""Per-period credit ratios on plain arrays: LLCR, loan-to-value, the duration mismatch, recovery.

The building blocks of :mod:`models.credit`, which applies them to a workbook state's lines. Money is
positive and in one unit; rates are decimals per period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models.periods import month_index

__all__ = ["DurationMismatch", "dscr", "duration_mismatch", "llcr", "loan_to_value", "recovery_at_default"]

FloatArray = npt.NDArray[np.float64]


def dscr(cfads: npt.ArrayLike, debt_service: npt.ArrayLike) -> FloatArray:
    """CFADS / debt service, element by element (any shape); NaN where there is no debt service (> 0)
    or no CFADS number: such a period is not covered by a ratio, and never a breach by one."""
    cf = np.asarray(cfads, dtype=np.float64)
    ds = np.asarray(debt_service, dtype=np.float64)
    out = np.full(np.broadcast_shapes(cf.shape, ds.shape), np.nan)
    ok = np.isfinite(ds) & (np.nan_to_num(ds) > 0) & np.isfinite(cf)
    out[ok] = (cf / np.where(ok, ds, 1.0))[ok]
    return out

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
