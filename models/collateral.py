"""Collateral value of a GPU fleet: residual value and forced-sale recovery (DESIGN §7).

Calibrated from ``reference/gpu-market-facts.md`` §3(b).  Ages ``t`` are whole months
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
valuation, ages 1, 3, 4, 5, 6 years give 0.66, 0.31, 0.24, 0.19, 0.15 as §3(b) quotes.
Year 2 gives 0.39, not the quoted 0.46: Feynman's volume date 2028-07-01 is exactly
month 24, and §3(b)'s own formula (launches ``L <= t``) applies it there; 0.46 is the
value just before that step (or with any ramp of 1-9 months).  We follow the formula.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from numbers import Integral, Real
from typing import Any

import numpy as np
import numpy.typing as npt

from models.curves import launch_month
from models.params import Launch, _parse_date, _parse_float, _parse_int, parse_launch, replace_known
from models.periods import month_index

__all__ = [
    "COLLATERAL_PARAM_NAMES",
    "COLLATERAL_PRESET_NAMES",
    "SALE_CHANNELS",
    "CollateralParams",
    "CollateralPath",
    "collateral_path",
    "collateral_preset",
    "depth_haircut",
    "forced_share",
    "months_since_valuation",
    "orderly_share",
    "parse_collateral_param",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

COLLATERAL_PARAM_NAMES: tuple[str, ...] = (
    "valuation_date", "mu", "launches", "ramp_months", "scrap_pct", "h_liq", "h_infra",
    "repo_cost_pct", "depth_k", "depth_exponent", "depth_cap", "monthly_volume",
    "cost_per_gpu", "gpus",
)  # fmt: skip
"""The collateral parameters' names (CLI ``--set``, profiles, JSON, xlwings)."""

# §3(b) "h_liq by sale channel", from S4's liquidation factors (orderly 180d 1.00,
# broker 90d 0.85, auction 30d 0.65, distressed 7d 0.45).
SALE_CHANNELS: dict[str, float] = {"orderly": 0.0, "broker": 0.15, "auction": 0.35, "distressed": 0.55}
"""Liquidation haircut ``h_liq`` per sale channel; an enforcement sale is an auction."""

_FLOATS = ("mu", "scrap_pct", "h_liq", "h_infra", "repo_cost_pct", "depth_k",
           "depth_exponent", "depth_cap", "monthly_volume", "cost_per_gpu", "gpus")  # fmt: skip


def _finite(x: object) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool) and math.isfinite(x)


def _check(name: str, value: object, ok: bool, rule: str) -> None:
    if not ok:
        raise ValueError(f"{name}: {value!r} is invalid; must be {rule}")


@dataclass(frozen=True)
class CollateralParams:
    """Parameters of the residual-value curve and the forced-sale haircut (§3(b)).

    Parameters
    ----------
    valuation_date : date
        Date at which the fleet is new (age 0); presets use 2026-07-01.
    mu : float, default 0.25
        Continuous age decay per year (0.25 ≈ −22 % a year), >= 0.
    launches : tuple of Launch, default ()
        Generation launches; ``step`` is the resale step-down r_L in [0, 1).
    ramp_months : int, default 0
        Months over which each step phases in; 0 = immediate, >= 0.
    scrap_pct : float, default 0.05
        Floor of the orderly value, share of cost, in [0, 1).
    h_liq : float, default 0.35
        Sale-channel haircut (30-day auction, the enforcement default), in [0, 1).
        See :data:`SALE_CHANNELS`.
    h_infra : float, default 0.15
        Cooling / site-dependency haircut (direct-liquid-cooled HGX; air 0.05,
        NVL72 0.25; stress doubles), in [0, 1).
    repo_cost_pct : float, default 0.07
        Repossession costs, share of the orderly value, in [0, 1].
    depth_k, depth_exponent, depth_cap : float, defaults 0.10, 1.5, 0.40
        Market-depth haircut ``min(cap, k * (Q / monthly_volume) ** exponent)``;
        k >= 0, exponent > 0, cap in [0, 1].
    monthly_volume : float, default 2000.0
        Secondary-market units a month for the SKU, > 0.  An ASSUMPTION: §3(b)
        says there is no public depth data.
    cost_per_gpu : float or None, default None
        All-in cost per GPU including its server share, $ per GPU, > 0.
    gpus : float or None, default None
        Fleet size in GPUs, > 0; also the units sold in a forced sale.
    """

    valuation_date: date
    mu: float = 0.25
    launches: tuple[Launch, ...] = ()
    ramp_months: int = 0
    scrap_pct: float = 0.05
    h_liq: float = 0.35
    h_infra: float = 0.15
    repo_cost_pct: float = 0.07
    depth_k: float = 0.10
    depth_exponent: float = 1.5
    depth_cap: float = 0.40
    monthly_volume: float = 2000.0
    cost_per_gpu: float | None = None
    gpus: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "launches", tuple(self.launches))
        for name in _FLOATS:  # numpy scalars / TOML ints become floats (JSON-ready)
            v = getattr(self, name)
            if isinstance(v, Real) and not isinstance(v, bool):
                object.__setattr__(self, name, float(v))
        if isinstance(self.ramp_months, Integral) and not isinstance(self.ramp_months, bool):
            object.__setattr__(self, "ramp_months", int(self.ramp_months))
        _check("valuation_date", self.valuation_date, isinstance(self.valuation_date, date), "a date")
        _check("mu", self.mu, _finite(self.mu) and self.mu >= 0, ">= 0")
        for launch in self.launches:
            _check("launches", launch, isinstance(launch, Launch), "Launch objects")
        ok = isinstance(self.ramp_months, int) and not isinstance(self.ramp_months, bool)
        _check("ramp_months", self.ramp_months, ok and self.ramp_months >= 0, "an integer >= 0")
        for name in ("scrap_pct", "h_liq", "h_infra"):
            v = getattr(self, name)
            _check(name, v, _finite(v) and 0 <= v < 1, "in [0, 1)")
        for name in ("repo_cost_pct", "depth_cap"):
            v = getattr(self, name)
            _check(name, v, _finite(v) and 0 <= v <= 1, "in [0, 1]")
        _check("depth_k", self.depth_k, _finite(self.depth_k) and self.depth_k >= 0, ">= 0")
        ok = _finite(self.depth_exponent) and self.depth_exponent > 0
        _check("depth_exponent", self.depth_exponent, ok, "> 0")
        ok = _finite(self.monthly_volume) and self.monthly_volume > 0
        _check("monthly_volume", self.monthly_volume, ok, "> 0")
        for name in ("cost_per_gpu", "gpus"):
            v = getattr(self, name)
            _check(name, v, v is None or (_finite(v) and v > 0), "None or > 0")

    def with_overrides(self, **kw: Any) -> CollateralParams:
        """Return a copy with the named parameters replaced (validated again)."""
        return replace_known(self, COLLATERAL_PARAM_NAMES, "collateral", kw)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in :data:`COLLATERAL_PARAM_NAMES` order (dates as ISO strings)."""
        out: dict[str, Any] = {}
        for name in COLLATERAL_PARAM_NAMES:
            out[name] = getattr(self, name)
        out["valuation_date"] = self.valuation_date.isoformat()
        out["launches"] = [{"date": k.date.isoformat(), "step": k.step} for k in self.launches]
        return out


def parse_collateral_param(name: str, text: str) -> object:
    """Parse a CLI / profile / xlwings string for the collateral parameter `name`.

    ``launches`` is a comma list of ``DATE:STEP`` (empty or ``none`` for none);
    ``h_liq`` also takes a channel name from :data:`SALE_CHANNELS`; ``cost_per_gpu``
    and ``gpus`` accept ``none``.  Range checks happen in :class:`CollateralParams`.

    Raises
    ------
    ValueError
        Naming the parameter, if `name` is unknown or `text` does not parse.
    """
    raw = text.strip()
    if name in ("cost_per_gpu", "gpus") and raw.lower() in ("none", ""):
        return None
    if name == "h_liq" and raw.lower() in SALE_CHANNELS:
        return SALE_CHANNELS[raw.lower()]
    if name == "valuation_date":
        return _parse_date(name, raw)
    if name == "ramp_months":
        return _parse_int(name, raw)
    if name in _FLOATS:
        return _parse_float(name, raw)
    if name == "launches":
        if raw.lower() in ("", "none"):
            return ()
        return tuple(parse_launch(part) for part in raw.split(","))
    raise ValueError(f"{name}: not a collateral parameter; known: {', '.join(COLLATERAL_PARAM_NAMES)}")


# -- presets ---------------------------------------------------------------------------
VALUATION_DATE = date(2026, 7, 1)  # §3 header: t in years from 2026-07-01
_RUBIN, _RUBIN_ULTRA, _FEYNMAN = date(2026, 10, 1), date(2027, 10, 1), date(2028, 7, 1)  # §1.4
# r_L, §3(b): 0.15 per major launch, 0.10 for Ultra refreshes.
_STEPS_BASE = (Launch(_RUBIN, 0.15), Launch(_RUBIN_ULTRA, 0.10), Launch(_FEYNMAN, 0.15))
# Stress: S5 "when a new architecture ships, values step down 20-30 %" (§3(b) range 0.20-0.30).
_STEPS_STRESS = (Launch(_RUBIN, 0.25), Launch(_RUBIN_ULTRA, 0.20), Launch(_FEYNMAN, 0.25))
# Upside: 0.10 per launch, an ASSUMPTION below the base steps (the reference gives none).
_STEPS_UPSIDE = (Launch(_RUBIN, 0.10), Launch(_RUBIN_ULTRA, 0.10), Launch(_FEYNMAN, 0.10))
_H_INFRA_STRESS = 2 * 0.15  # §3(b) h_infra "stress: double these" (DLC HGX 0.15)

# All-in $ per GPU including the server share (§3(b) C0).
_COST_H100 = 35_000.0  # S1: new $25-40k, 8-GPU server $250-400k -> $31-50k/GPU; mid-low pick
_COST_A100 = 15_000.0  # ASSUMPTION: S2 quotes only used A100 at $4-18k; no new price in §1.7
_COST_H200 = 38_000.0  # ASSUMPTION: S3 used H200 $28-31k plus a server share like the H100's
_COST_B200 = 50_000.0  # ASSUMPTION: S3 B200 retail $40-43k plus a server share
# mu, h_liq, h_infra, repo costs and depth (monthly_volume 2,000 is itself an ASSUMPTION,
# stated for H100 only) are the §3(b) defaults for every SKU; the reference has no per-SKU values.


def _preset(cost: float, launches: tuple[Launch, ...], h_infra: float = 0.15) -> CollateralParams:
    return CollateralParams(VALUATION_DATE, launches=launches, h_infra=h_infra, cost_per_gpu=cost)


_PRESETS: dict[str, CollateralParams] = {
    "h100-base": _preset(_COST_H100, _STEPS_BASE),
    "h100-stress": _preset(_COST_H100, _STEPS_STRESS, _H_INFRA_STRESS),
    "h100-severe": _preset(_COST_H100, _STEPS_STRESS, _H_INFRA_STRESS),
    "h100-upside": _preset(_COST_H100, _STEPS_UPSIDE),
    "a100-base": _preset(_COST_A100, _STEPS_BASE),
    "h200-base": _preset(_COST_H200, _STEPS_BASE),
    "b200-base": _preset(_COST_B200, _STEPS_BASE),
}
COLLATERAL_PRESET_NAMES: tuple[str, ...] = tuple(_PRESETS)
"""Names accepted by :func:`collateral_preset` (the rent curve's preset names)."""


def collateral_preset(name: str) -> CollateralParams:
    """Collateral parameters for a curve preset name (case-insensitive).

    Raises
    ------
    ValueError
        If `name` is unknown; the message lists the known names.
    """
    key = name.strip().lower()
    if key not in _PRESETS:
        raise ValueError(f"preset: unknown name {name!r}; known: {', '.join(COLLATERAL_PRESET_NAMES)}")
    return _PRESETS[key]


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
    _check("units_sold", units_sold, _finite(units_sold) and units_sold >= 0, ">= 0")
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
