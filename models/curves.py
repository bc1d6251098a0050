"""The GPU rent curve (docs/curve.md defines it) and the re-priced rent row.

Two clocks, in whole calendar months (see :mod:`models.periods` for month indices):

* the market clock ``n(t) = t - month(price_date)`` drives the spot price;
* the deal clock ``m(t) = t - month(start)`` drives utilisation and contract roll-off.

::

    M_k         = month of the first month-start on or after launch k (launches on or
                  before price_date are ignored: p0 already prices them)
    ramp_k(t)   = 0 (t < M_k); (t - M_k)/R (M_k <= t < M_k + R); 1 (t >= M_k + R)
    spot(t)     = max(floor, p0 * (1 - d)**(n/12) * prod_k (1 - s_k * ramp_k(t)))
    util(t)     = util[clamp(floor(m/12), 0, len(util) - 1)]
    contract(t) = c if 0 <= m < contract_months else 0
    realised(t) = contract * p_contract + (1 - contract) * util * spot   [$ / installed GPU-hour]
    index(t)    = realised(t) / realised(start month)

Prices are in $ per GPU-hour; utilisation and contract share are fractions.
The parameter types (:class:`CurveParams`, :class:`Launch`, :func:`parse_param`) live in
:mod:`models.params` and are re-exported here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from numbers import Integral

import numpy as np
import numpy.typing as npt

from models.params import (
    PARAM_NAMES,
    CurveParams,
    Launch,
    RentMode,
    d_from_lambda,
    parse_launch,
    parse_param,
)
from models.periods import PeriodGrid, days_in_month, month_index, month_start, period_means
from models.validate import check

__all__ = [
    "PARAM_NAMES",
    "Contract",
    "CurveParams",
    "Launch",
    "MonthlyCurve",
    "RentMode",
    "OUTLIER_RATIO",
    "anchor_outlier",
    "anchor_period",
    "changed_periods",
    "contract_share",
    "d_from_lambda",
    "default_start",
    "index",
    "launch_month",
    "monthly_curve",
    "parse_launch",
    "parse_param",
    "realised",
    "rent_after",
    "resolve_start",
    "spot",
    "utilisation",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

HOURS_PER_DAY = 24.0
OUTLIER_RATIO = 3.0
"""A first period with rent more than 3x (or under a third of) the next is flagged as a possible one-off."""


# -- the curve, vectorised over month indices ----------------------------------------
def _months(months: npt.ArrayLike) -> IntArray:
    arr = np.asarray(months)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"months: expected integer month indices, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _deal_clock(params: CurveParams, months: IntArray) -> IntArray:
    if params.start is None:
        raise ValueError("start: not set; the deal clock needs a start date (see resolve_start)")
    return months - month_index(params.start)


def launch_month(launch: Launch) -> int:
    """M_k: month index of the first month-start on or after the launch date."""
    m = month_index(launch.date)
    return m if launch.date.day == 1 else m + 1


def spot(params: CurveParams, months: npt.ArrayLike, shocks: npt.ArrayLike | None = None) -> FloatArray:
    """Spot price in $ per GPU-hour for each month index (docs/curve.md ``spot``).

    ``shocks`` (one per month, a stress scenario's) multiply the price before the floor applies;
    without them every month's is 1.
    """
    t = _months(months)
    n = (t - month_index(params.price_date)).astype(np.float64)
    price = params.p0 * np.power(1.0 - params.d, n / 12.0)
    if shocks is not None:
        shock = np.asarray(shocks, dtype=np.float64)
        if shock.shape != t.shape or not np.all(np.isfinite(shock)) or np.any(shock <= 0):
            raise ValueError(f"shocks: need one positive multiplier per month ({t.shape[0]}), got {shock.shape}")
        price = price * shock
    for launch in params.launches:
        if launch.date <= params.price_date:
            continue  # p0 already prices launches on or before the price date
        m_k = launch_month(launch)
        if params.ramp_months == 0:
            ramp = (t >= m_k).astype(np.float64)
        else:
            ramp = np.clip((t - m_k) / params.ramp_months, 0.0, 1.0)
        price = price * (1.0 - launch.step * ramp)
    return np.maximum(params.floor, price)


def utilisation(params: CurveParams, months: npt.ArrayLike) -> FloatArray:
    """Utilisation (fraction) for each month index, one value per deal year."""
    m = _deal_clock(params, _months(months))
    year = np.clip(m // 12, 0, len(params.util) - 1)
    return np.asarray(params.util, dtype=np.float64)[year]


def contract_share(params: CurveParams, months: npt.ArrayLike) -> FloatArray:
    """Share of the fleet on contract (fraction): c while 0 <= m < contract_months."""
    m = _deal_clock(params, _months(months))
    on = (m >= 0) & (m < params.contract_months)
    return np.where(on, params.c, 0.0).astype(np.float64)


def realised(params: CurveParams, months: npt.ArrayLike) -> FloatArray:
    """Realised revenue in $ per installed GPU-hour for each month index."""
    t = _months(months)
    share = contract_share(params, t)
    return share * params.p_contract + (1.0 - share) * utilisation(params, t) * spot(params, t)


def _realised_at_start(params: CurveParams) -> float:
    assert params.start is not None  # callers go through _deal_clock first
    base = float(realised(params, np.array([month_index(params.start)]))[0])
    if base <= 0.0:
        raise ValueError(
            f"start: realised rent in {params.start:%Y-%m} is {base}; "
            "the index needs a positive base (check util, c and p_contract)"
        )
    return base


def index(params: CurveParams, months: npt.ArrayLike) -> FloatArray:
    """Realised rent relative to the start month (dimensionless; 1 at start)."""
    values = realised(params, months)
    return values / _realised_at_start(params)


@dataclass(frozen=True)
class MonthlyCurve:
    """The curve's components over consecutive months.

    Attributes
    ----------
    months : ndarray of int
        Month indices.
    spot, realised : ndarray of float
        $ per GPU-hour (realised is per installed GPU).
    util, contract : ndarray of float
        Fractions.
    index : ndarray of float
        Realised relative to the start month.
    """

    months: IntArray
    spot: FloatArray
    util: FloatArray
    contract: FloatArray
    realised: FloatArray
    index: FloatArray


def monthly_curve(params: CurveParams, first_month: int, n_months: int,
                  shocks: npt.ArrayLike | None = None) -> MonthlyCurve:
    """Evaluate every component for `n_months` months from month index `first_month` (``shocks``: one
    spot-price multiplier per month, see :func:`spot`; the index is then relative to the start month's
    shocked realised price, which must be among the months)."""
    if n_months < 1:
        raise ValueError(f"n_months: {n_months}; need at least one month")
    t = np.arange(first_month, first_month + n_months, dtype=np.int64)
    util_t = utilisation(params, t)
    share = contract_share(params, t)
    spot_t = spot(params, t, shocks)
    real_t = share * params.p_contract + (1.0 - share) * util_t * spot_t
    if shocks is None:
        base = _realised_at_start(params)
    else:
        assert params.start is not None
        at = month_index(params.start) - first_month
        if not 0 <= at < n_months or real_t[at] <= 0:
            raise ValueError("shocks: the deal's start month must be among the months, with a positive price")
        base = float(real_t[at])
    return MonthlyCurve(t, spot_t, util_t, share, real_t, real_t / base)


# -- re-pricing the rent row ---------------------------------------------------------
def _rents(rent_before: npt.ArrayLike) -> FloatArray:
    rents = np.asarray(rent_before, dtype=np.float64)
    if rents.ndim != 1 or not np.all(np.isfinite(rents)):
        raise ValueError("rent_before: expected a 1-D array of finite numbers")
    return rents


def anchor_period(rent_before: npt.ArrayLike, anchor: int | None = None) -> int:
    """Position of the anchor period: ``anchor`` when given, else the first period whose original rent is not zero.

    Raises
    ------
    ValueError
        Every rent is zero, or ``anchor`` is outside the periods or has no rent.
    """
    rents = _rents(rent_before)
    if anchor is not None:
        if not 0 <= anchor < rents.shape[0]:
            raise ValueError(f"anchor: period {anchor + 1} is outside the {rents.shape[0]} periods")
        if rents[anchor] == 0.0:
            raise ValueError(f"anchor: period {anchor + 1} has no rent; the anchor must be a period with rent")
        return anchor
    nonzero = np.flatnonzero(rents != 0.0)
    if nonzero.size == 0:
        raise ValueError("rent_before: every period's rent is zero; there is no anchor period")
    return int(nonzero[0])


def anchor_outlier(rent_before: npt.ArrayLike, ratio: float = OUTLIER_RATIO) -> tuple[int, int, float] | None:
    """The first period with rent and the next one, when they differ by more than ``ratio`` either way.

    Returns ``(first, next, next / first)`` (positions and the ratio), or None: an index-mode anchor on a
    one-off (a pre-sale, a stub period) scales every later period from it.
    """
    rents = _rents(rent_before)
    nonzero = np.flatnonzero(rents != 0.0)
    if nonzero.size < 2:
        return None
    first, following = int(nonzero[0]), int(nonzero[1])
    change = float(rents[following] / rents[first])
    return (first, following, change) if not 1.0 / ratio <= abs(change) <= ratio else None


def default_start(grid: PeriodGrid, rent_before: npt.ArrayLike, anchor: int | None = None) -> date:
    """First day of the first month of the anchor period (the default deal start)."""
    return month_start(month_index(grid.starts[anchor_period(rent_before, anchor)]))


def changed_periods(rent_before: npt.ArrayLike, mode: RentMode, anchor: int | None = None) -> BoolArray:
    """Which periods get a new rent (are rewired to the curve).

    Index mode: periods after the anchor with non-zero rent (the anchor keeps its rent).  Absolute
    mode: the anchor and later periods with non-zero rent.  A contracted period (:class:`Contract`)
    is among them — it keeps its rent while it is contracted, and the contract end stays an input.
    """
    rents = _rents(rent_before)
    positions = np.arange(rents.shape[0])
    first = anchor_period(rents, anchor)
    after = positions > first if mode is RentMode.INDEX else positions >= first
    return np.asarray(after & (rents != 0.0), dtype=np.bool_)


def resolve_start(params: CurveParams, grid: PeriodGrid, rent_before: npt.ArrayLike,
                  anchor: int | None = None) -> CurveParams:
    """Return `params` with ``start`` set to :func:`default_start` when it is None."""
    if params.start is not None:
        return params
    return dataclasses.replace(params, start=default_start(grid, rent_before, anchor))


@dataclass(frozen=True)
class Contract:
    """Contracted, then merchant (docs/curve.md): the template's rent until ``until``, then the market.

    Parameters
    ----------
    until : date
        E: a period whose end date is on or before it is contracted and keeps its original rent
        exactly. A tenant default on a date D is the same with ``until = D``.
    releasing_gap_months : int, default 0
        g: the g calendar months after the month of E earn nothing (re-leasing the fleet), >= 0.
    """

    until: date
    releasing_gap_months: int = 0

    def __post_init__(self) -> None:
        check("contracted_until", self.until, isinstance(self.until, date), "a date")
        g = self.releasing_gap_months
        if isinstance(g, Integral) and not isinstance(g, bool):
            object.__setattr__(self, "releasing_gap_months", int(g))
        ok = isinstance(self.releasing_gap_months, int) and not isinstance(self.releasing_gap_months, bool)
        check("releasing_gap_months", g, ok and self.releasing_gap_months >= 0, "an integer >= 0")

    def contracted(self, grid: PeriodGrid) -> BoolArray:
        """Which periods are contracted: those ending on or before ``until``."""
        return np.array([end <= self.until for end in grid.ends], dtype=np.bool_)

    def earning(self, months: npt.ArrayLike) -> FloatArray:
        """1 for a month that earns, 0 for the ``releasing_gap_months`` months after the month of ``until``."""
        t = _months(months)
        gap_start = month_index(self.until) + 1
        gap = (t >= gap_start) & (t < gap_start + self.releasing_gap_months)
        return np.where(gap, 0.0, 1.0).astype(np.float64)


def rent_after(
    rent_before: npt.ArrayLike, grid: PeriodGrid, params: CurveParams, mode: RentMode, *,
    anchor: int | None = None, contract: Contract | None = None, shocks: npt.ArrayLike | None = None,
) -> FloatArray:
    """Re-price a rent row with the GPU curve (docs/curve.md, "Modes").

    Parameters
    ----------
    rent_before : ndarray of float, shape (grid.n_periods,)
        Original rent per period, in the template's money unit.
    grid : PeriodGrid
        The template's periods.
    params : CurveParams
        Curve parameters; ``start`` None means the anchor period's first month.
    mode : RentMode
        INDEX: ``rent(anchor) * mean_index(p) / mean_index(anchor)``.
        ABSOLUTE: ``unit_scale * gpus * sum_{t in p} 24 * days(t) * realised(t)``.
    anchor : int or None
        Position of the anchor period; None: the first period with rent.
    contract : Contract or None
        Contracted, then merchant: contracted periods keep their rent, the re-leasing gap's
        months count 0 in the period mean (index) or sum (absolute).
    shocks : array of float or None
        A stress scenario's monthly multipliers on the spot price (:func:`spot`), one per month from
        the first month of the grid (or of the deal start, when that is earlier) to the last.

    Returns
    -------
    ndarray of float, shape (grid.n_periods,)
        New rent per period; unchanged periods keep `rent_before` exactly.

    Raises
    ------
    ValueError
        If the lengths differ, all rents are zero, ABSOLUTE mode lacks ``gpus``, the anchor has no
        rent, or the contract ends before the anchor period does (nothing would be contracted).
    """
    rents = _rents(rent_before)
    if rents.shape[0] != grid.n_periods:
        raise ValueError(
            f"rent_before: {rents.shape[0]} values for {grid.n_periods} periods"
        )
    if mode is RentMode.ABSOLUTE and params.gpus is None:
        raise ValueError("gpus: absolute mode needs the fleet size (gpus)")
    position = anchor_period(rents, anchor)
    if contract is not None and contract.until < grid.ends[position]:
        raise ValueError(f"contracted_until: {contract.until.isoformat()} is before the anchor period ends "
                         f"({grid.ends[position].isoformat()}), so no period would be contracted")
    resolved = resolve_start(params, grid, rents, position)
    assert resolved.start is not None
    lo, hi = grid.span()
    start_m = month_index(resolved.start)
    first, last = min(lo, start_m), max(hi, start_m)
    curve = monthly_curve(resolved, first, last - first + 1, shocks)
    earning = np.ones(curve.months.shape[0]) if contract is None else contract.earning(curve.months)
    changed = changed_periods(rents, mode, position)
    if contract is not None:
        changed &= ~contract.contracted(grid)
    out = rents.copy()
    if mode is RentMode.INDEX:
        means = period_means(curve.index * earning, first, grid)
        new = rents[position] * means / means[position]
    else:
        assert resolved.gpus is not None
        days = np.array([days_in_month(int(t)) for t in curve.months], dtype=np.float64)
        revenue = HOURS_PER_DAY * days * curve.realised * earning  # $ per GPU per month
        sums = np.array([revenue[grid.first_month[p] - first: grid.last_month[p] - first + 1].sum()
                         for p in range(grid.n_periods)], dtype=np.float64)  # fmt: skip
        new = resolved.unit_scale * resolved.gpus * sums
    out[changed] = new[changed]
    return out
