"""Debt schedules and debt capacity: independent checks for ``gpucredit size``.

Money is positive; rates are decimals per period; periods are the template's. A schedule is a
loan's opening balance, interest, principal, payment and closing balance per period::

    interest[t]  = opening[t] * r[t]
    payment[t]   = interest[t] + principal[t]
    closing[t]   = opening[t] - principal[t]
    opening[t+1] = closing[t]

The sculpted debt capacity is the loan a CFADS line supports at a target DSCR when debt service is
sculpted to CFADS / target in every period of the loan life: the present value, at the loan rate, of
CFADS / target. It is the largest loan any repayment profile can carry at that DSCR (a level
annuity, or straight-line amortisation, carries at most that much), so it equals the answer of
``size`` for a model that sculpts, and bounds it otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import numpy_financial as npf

__all__ = [
    "DebtSchedule",
    "annuity_schedule",
    "balloon_schedule",
    "max_annuity_loan",
    "sculpted_capacity",
    "straight_line_schedule",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DebtSchedule:
    """One loan, period by period (money; one entry per period)."""

    opening: FloatArray
    interest: FloatArray
    principal: FloatArray
    payment: FloatArray
    closing: FloatArray


def _rate(rate_per_period: float) -> float:
    r = float(rate_per_period)
    if not np.isfinite(r) or r <= -1.0:
        raise ValueError(f"rate_per_period: {rate_per_period!r}; need a finite decimal > -1")
    return r


def _periods(n_periods: int) -> int:
    if int(n_periods) != n_periods or n_periods < 1:
        raise ValueError(f"n_periods: {n_periods!r}; need a whole number of periods >= 1")
    return int(n_periods)


def _schedule(loan: float, rate: float, principal: FloatArray) -> DebtSchedule:
    closing = loan - np.cumsum(principal)
    opening = np.concatenate(([loan], closing[:-1]))
    interest = opening * rate
    return DebtSchedule(opening, interest, principal, interest + principal, closing)


def annuity_schedule(loan: float, rate_per_period: float, n_periods: int) -> DebtSchedule:
    """A level payment over ``n_periods`` (numpy-financial's PMT, Excel's sign flipped); the last
    principal repays what is left, so rounding never leaves a residue."""
    r, n = _rate(rate_per_period), _periods(n_periods)
    if abs(r) < 1e-12:  # PMT divides by the rate (underflows below 1e-12); with none, the payment is all principal
        return _schedule(float(loan), r, np.full(n, float(loan) / n))
    payment = -float(npf.pmt(r, n, loan))
    principal = np.empty(n)
    balance = float(loan)
    for t in range(n):  # the balance carried forward, so the principal repays the loan exactly
        principal[t] = balance if t == n - 1 else payment - balance * r
        balance -= principal[t]
    return _schedule(float(loan), r, principal)


def straight_line_schedule(loan: float, rate_per_period: float, n_periods: int) -> DebtSchedule:
    """Equal principal each period; interest on the declining balance."""
    r, n = _rate(rate_per_period), _periods(n_periods)
    return _schedule(float(loan), r, np.full(n, float(loan) / n))


def balloon_schedule(loan: float, rate_per_period: float, n_periods: int, balloon_share: float) -> DebtSchedule:
    """An annuity on ``(1 - balloon_share)`` of the loan, the rest repaid with the last payment."""
    if not 0.0 <= balloon_share <= 1.0:
        raise ValueError(f"balloon_share: {balloon_share!r}; need a share in [0, 1]")
    r, n = _rate(rate_per_period), _periods(n_periods)
    amortising = annuity_schedule(float(loan) * (1.0 - balloon_share), r, n).principal
    principal = amortising.copy()
    principal[-1] += float(loan) * balloon_share
    return _schedule(float(loan), r, principal)


def sculpted_capacity(cfads: npt.ArrayLike, rate_per_period: float | npt.ArrayLike, target_dscr: float) -> float:
    """The loan a CFADS line carries at ``target_dscr`` with debt service sculpted to it.

    ``capacity = sum_t (CFADS_t / target) / prod_{k<=t} (1 + r_k)`` over the loan life (the periods
    given), CFADS arriving at period ends, the loan drawn at the start of the first period. A period
    with negative CFADS carries no debt service (it counts as zero).
    """
    cf = np.asarray(cfads, dtype=np.float64)
    if cf.ndim != 1 or cf.size == 0 or not np.all(np.isfinite(cf)):
        raise ValueError("cfads: need one finite number per period of the loan life")
    if not (np.isfinite(target_dscr) and target_dscr > 0):
        raise ValueError(f"target_dscr: {target_dscr!r}; need a positive ratio")
    r = np.broadcast_to(np.asarray(rate_per_period, dtype=np.float64), cf.shape)
    if not np.all(np.isfinite(r)) or np.any(r <= -1.0):
        raise ValueError(f"rate_per_period: {rate_per_period!r}; need finite decimals > -1")
    discount = np.cumprod(1.0 / (1.0 + r))
    return float(np.sum(np.maximum(cf, 0.0) / target_dscr * discount))


def max_annuity_loan(cfads: npt.ArrayLike, rate_per_period: float, target_dscr: float) -> float:
    """The largest level-annuity loan over the CFADS periods whose DSCR never falls below the target.

    The level payment may not exceed ``min_t CFADS_t / target``; the loan is that payment's present
    value at the loan rate.
    """
    cf = np.asarray(cfads, dtype=np.float64)
    if cf.ndim != 1 or cf.size == 0 or not np.all(np.isfinite(cf)):
        raise ValueError("cfads: need one finite number per period of the loan life")
    payment = max(float(cf.min()), 0.0) / target_dscr
    r = _rate(rate_per_period)
    # the present value of the level payment: the discount factors summed (numpy-financial's PV loses
    # digits for rates near zero, where this stays exact)
    return float(payment * np.cumprod(np.full(cf.size, 1.0 / (1.0 + r))).sum())
