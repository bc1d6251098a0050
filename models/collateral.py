"""Collateral value of a GPU fleet: residual value and forced-sale recovery (docs/credit.md).

Sources of the defaults: ``docs/sources.md``.  Ages ``t`` are whole months
from the valuation month (the month containing ``valuation_date``, when the fleet is
new); values are shares of the all-in cost per GPU unless a name says ``value``::

    M_L           = months from the valuation month to the first month-start on or
                    after launch L (launches on or before valuation_date are ignored,
                    as in the rent curve: the cost already prices them)
    ramp_L(t)     = 0 (t < M_L); (t - M_L)/R (M_L <= t < M_L + R); 1 (t >= M_L + R)
    orderly(t)    = max(scrap_pct, exp(-mu * t/12) * prod_L (1 - r_L * ramp_L(t)))
    h_depth(Q)    = min(depth_cap, depth_k * (Q / monthly_volume) ** depth_exponent)
    forced(t, Q)  = max(0, orderly * (1 - h_liq) * (1 - h_infra) * (1 - h_depth(Q))
                           - repo_cost_pct * orderly)
    value         = share * cost_per_gpu * gpus                          [$]

Reference check (tests/models/test_collateral.py): with the base steps and a 2026-07-01
valuation, ages 1, 3, 4, 5, 6 years give 0.66, 0.31, 0.24, 0.19, 0.15 as the calibration
quotes.
Year 2 gives 0.39, not the quoted 0.46: Feynman's volume date 2028-07-01 is exactly
month 24, and the calibration's own formula (launches ``L <= t``) applies it there; 0.46 is the
value just before that step (or with any ramp of 1-9 months).  We follow the formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from models.curves import launch_month
from models.params import COLLATERAL_PARAM_NAMES, SALE_CHANNELS, CollateralParams, parse_collateral_param
from models.validate import check, finite
from models.periods import month_index

__all__ = [
    "COLLATERAL_PARAM_NAMES",
    "SALE_CHANNELS",
    "CollateralParams",
    "CollateralPath",
    "collateral_path",
    "depth_haircut",
    "forced_share",
    "months_since_valuation",
    "orderly_share",
    "parse_collateral_param",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# -- the curve -------------------------------------------------------------------------
def _ages(months: npt.ArrayLike) -> IntArray:
    arr = np.asarray(months)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"months: expected whole months from valuation, got dtype {arr.dtype}")
    if np.any(arr < 0):
        raise ValueError("months: negative age; the fleet is new at valuation_date (age 0)")
    return arr.astype(np.int64)


def months_since_valuation(params: CollateralParams, dates: Sequence[date]) -> IntArray:
    """Age in whole calendar months of each date's month from the valuation month."""
    origin = month_index(params.valuation_date)
    return np.array([month_index(d) - origin for d in dates], dtype=np.int64)


def orderly_share(params: CollateralParams, months_from_valuation: npt.ArrayLike) -> FloatArray:
    """Orderly-sale residual value as a share of cost (RV_orderly / C0).

    Parameters
    ----------
    params : CollateralParams
    months_from_valuation : array of int
        Age in whole months from the valuation month, >= 0.

    Returns
    -------
    ndarray of float
        ``max(scrap_pct, exp(-mu t/12) prod_L (1 - r_L ramp_L(t)))``, dimensionless.
    """
    t = _ages(months_from_valuation)
    share: FloatArray = np.exp(-params.mu * t / 12.0)
    origin = month_index(params.valuation_date)
    for launch in params.launches:
        if launch.date <= params.valuation_date:
            continue  # the cost already prices launches on or before valuation
        m_l = launch_month(launch) - origin
        if params.ramp_months == 0:
            ramp = (t >= m_l).astype(np.float64)
        else:
            ramp = np.clip((t - m_l) / params.ramp_months, 0.0, 1.0)
        share = share * (1.0 - launch.step * ramp)
    floored: FloatArray = np.maximum(params.scrap_pct, share)
    return floored


def depth_haircut(params: CollateralParams, units_sold: float) -> float:
    """Market-depth haircut (share) for selling `units_sold` GPUs at once.

    ``min(depth_cap, depth_k * (units_sold / monthly_volume) ** depth_exponent)``.
    """
    check("units_sold", units_sold, finite(units_sold) and units_sold >= 0, ">= 0")
    ratio = units_sold / params.monthly_volume
    return float(min(params.depth_cap, params.depth_k * ratio**params.depth_exponent))


def forced_share(
    params: CollateralParams, months: npt.ArrayLike, units_sold: float | None = None
) -> FloatArray:
    """Forced-sale net recovery as a share of cost, floored at 0.

    Parameters
    ----------
    params : CollateralParams
    months : array of int
        Age in whole months from the valuation month, >= 0.
    units_sold : float or None
        GPUs sold at once (depth haircut); None means ``params.gpus``, or 0 if unset.

    Returns
    -------
    ndarray of float
        ``orderly (1-h_liq)(1-h_infra)(1-h_depth) - repo_cost_pct orderly``.
    """
    orderly = orderly_share(params, months)
    q = units_sold if units_sold is not None else (params.gpus or 0.0)
    keep = (1.0 - params.h_liq) * (1.0 - params.h_infra) * (1.0 - depth_haircut(params, q))
    return np.maximum(0.0, orderly * (keep - params.repo_cost_pct)).astype(np.float64)


@dataclass(frozen=True)
class CollateralPath:
    """Collateral value of the whole fleet over a set of ages.

    Attributes
    ----------
    months : ndarray of int
        Age in whole months from the valuation month.
    orderly_value : ndarray of float
        Orderly-sale value, $ (share x cost_per_gpu x gpus).
    forced_value : ndarray of float
        Forced-sale net recovery of the whole fleet sold at once, $.
    """

    months: IntArray
    orderly_value: FloatArray
    forced_value: FloatArray


def collateral_path(params: CollateralParams, months: npt.ArrayLike) -> CollateralPath:
    """Orderly and forced-sale value of the fleet in dollars at each age in `months`.

    Raises
    ------
    ValueError
        If ``cost_per_gpu`` or ``gpus`` is not set.
    """
    for name in ("cost_per_gpu", "gpus"):
        if getattr(params, name) is None:
            raise ValueError(f"{name}: not set; collateral value in money needs cost_per_gpu and gpus")
    assert params.cost_per_gpu is not None and params.gpus is not None
    t = _ages(months)
    fleet_cost = params.cost_per_gpu * params.gpus
    return CollateralPath(
        months=t,
        orderly_value=orderly_share(params, t) * fleet_cost,
        forced_value=forced_share(params, t, params.gpus) * fleet_cost,
    )
