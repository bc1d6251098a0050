"""Parameters of the GPU rent curve and of the collateral model, and their parsing at the edge.

:class:`CurveParams` holds the curve's parameters with their short names (``p0``, ``d``, …, the
names the CLI, profiles, JSON and xlwings use; ``docs/curve.md`` defines each);
:class:`CollateralParams` those of the residual-value and forced-sale model (``docs/credit.md``).
:data:`CURVE` and :data:`COLLATERAL` parse a CLI / profile / xlwings text into a value for one of
them.  Every validation error starts with the parameter's name (``"d: ..."``).  Nothing here needs
numpy, so the presets (and the CLI's help) load without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum
from numbers import Integral, Real
from typing import Any

from models.validate import ParamSet, check, finite, parse_date, parse_float, parse_int, replace_known

__all__ = [
    "COLLATERAL",
    "COLLATERAL_PARAM_NAMES",
    "CURVE",
    "PARAM_NAMES",
    "SALE_CHANNELS",
    "CollateralParams",
    "SecurityKind",
    "CurveParams",
    "Launch",
    "RentMode",
    "d_from_lambda",
    "parse_collateral_param",
    "parse_launch",
    "parse_param",
]

PARAM_NAMES: tuple[str, ...] = (
    "price_date", "start", "p0", "d", "floor", "ramp_months", "util", "c",
    "p_contract", "contract_months", "gpus", "unit_scale", "launches",
)  # fmt: skip
"""The curve parameters' names, in the order of docs/curve.md (CLI, profiles, JSON, xlwings)."""


@dataclass(frozen=True)
class Launch:
    """A GPU generation launch that steps rents down.

    Parameters
    ----------
    date : date
        Date of volume availability.
    step : float
        Fractional step-down of the spot price once fully ramped (0.15 = −15 %),
        ``0 <= step < 1``.
    """

    date: date
    step: float

    def __post_init__(self) -> None:
        check("launches", self.step, finite(self.step) and 0 <= self.step < 1,
                      "a step in [0, 1)")  # fmt: skip


@dataclass(frozen=True)
class CurveParams:
    """Parameters of the GPU rent curve, with the short names of docs/curve.md.

    Parameters
    ----------
    price_date : date
        Date on which `p0` was observed (origin of the market clock).
    p0 : float
        Spot price at `price_date`, $ per GPU-hour, > 0.
    d : float
        Annual decline of the trend (0.25 = −25 % a year), ``0 <= d < 1``.
    floor : float
        Spot price floor, $ per GPU-hour, >= 0.
    ramp_months : int
        Months over which each launch step phases in (R), >= 0.
    util : tuple of float
        Utilisation per deal year (the last repeats), each in [0, 1].
    c : float
        Share of the fleet on take-or-pay contract, in [0, 1].
    p_contract : float
        Contract price, $ per GPU-hour, >= 0.
    contract_months : int
        Months from `start` during which the contract share applies, >= 0.
    launches : tuple of Launch, default ()
        Future generation launches.
    start : date or None, default None
        Deal start (origin of the deal clock); None means the template's anchor.
    gpus : float or None, default None
        Fleet size in GPUs (absolute mode only), > 0.
    unit_scale : float, default 1.0
        Converts dollars to the template's money unit (1e-6 for $m), > 0.
    """

    price_date: date
    p0: float
    d: float
    floor: float
    ramp_months: int
    util: tuple[float, ...]
    c: float
    p_contract: float
    contract_months: int
    launches: tuple[Launch, ...] = ()
    start: date | None = None
    gpus: float | None = None
    unit_scale: float = 1.0

    def __post_init__(self) -> None:
        # Accept lists from callers but store tuples, so the object stays hashable.
        object.__setattr__(self, "util", tuple(self.util))
        object.__setattr__(self, "launches", tuple(self.launches))
        self._coerce()
        check("p0", self.p0, finite(self.p0) and self.p0 > 0, "> 0")
        check("d", self.d, finite(self.d) and 0 <= self.d < 1, "in [0, 1)")
        check("floor", self.floor, finite(self.floor) and self.floor >= 0, ">= 0")
        for name in ("ramp_months", "contract_months"):
            v = getattr(self, name)
            ok = isinstance(v, int) and not isinstance(v, bool) and v >= 0
            check(name, v, ok, "an integer >= 0")
        check("util", self.util, len(self.util) > 0, "a non-empty list")
        for u in self.util:
            check("util", u, finite(u) and 0 <= u <= 1, "values in [0, 1]")
        check("c", self.c, finite(self.c) and 0 <= self.c <= 1, "in [0, 1]")
        ok = finite(self.p_contract) and self.p_contract >= 0
        check("p_contract", self.p_contract, ok, ">= 0")
        ok = self.gpus is None or (finite(self.gpus) and self.gpus > 0)
        check("gpus", self.gpus, ok, "None or > 0")
        ok = finite(self.unit_scale) and self.unit_scale > 0
        check("unit_scale", self.unit_scale, ok, "> 0")
        for launch in self.launches:
            check("launches", launch, isinstance(launch, Launch), "Launch objects")

    def _coerce(self) -> None:
        # numpy scalars and TOML ints become plain float/int, so to_dict stays JSON-ready;
        # values that do not convert are left for the checks to name.
        for name in ("p0", "d", "floor", "c", "p_contract", "unit_scale", "gpus"):
            v = getattr(self, name)
            if isinstance(v, Real) and not isinstance(v, bool):
                object.__setattr__(self, name, float(v))
        for name in ("ramp_months", "contract_months"):
            v = getattr(self, name)
            if isinstance(v, Integral) and not isinstance(v, bool):
                object.__setattr__(self, name, int(v))
        if all(isinstance(u, Real) and not isinstance(u, bool) for u in self.util):
            object.__setattr__(self, "util", tuple(float(u) for u in self.util))

    def with_overrides(self, **kw: Any) -> CurveParams:
        """Return a copy with the named parameters replaced (validated again)."""
        return replace_known(self, PARAM_NAMES, "curve", kw)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in :data:`PARAM_NAMES` order (dates as ISO strings)."""
        return {
            "price_date": self.price_date.isoformat(),
            "start": None if self.start is None else self.start.isoformat(),
            "p0": self.p0,
            "d": self.d,
            "floor": self.floor,
            "ramp_months": self.ramp_months,
            "util": list(self.util),
            "c": self.c,
            "p_contract": self.p_contract,
            "contract_months": self.contract_months,
            "gpus": self.gpus,
            "unit_scale": self.unit_scale,
            "launches": [{"date": k.date.isoformat(), "step": k.step} for k in self.launches],
        }


def d_from_lambda(lam: float) -> float:
    """Annual decline ``d = 1 - exp(-lam)`` from a continuous yearly rate `lam`."""
    return 1.0 - math.exp(-lam)


# -- parsing at the edge -------------------------------------------------------------
def parse_launch(text: str) -> Launch:
    """Parse one launch written ``DATE:STEP``, e.g. ``"2027-10-01:0.15"``."""
    parts = text.strip().split(":")
    if len(parts) != 2:
        raise ValueError(f"launches: {text!r} is not DATE:STEP (e.g. 2027-10-01:0.15)")
    return Launch(parse_date("launches", parts[0]), parse_float("launches", parts[1]))


def parse_param(name: str, text: str) -> object:
    """Parse a CLI / xlwings string value for the curve parameter `name`.

    Dates are ISO (``2026-07-01``); ``util`` is a comma list (``0.85,0.75``);
    ``launches`` a comma list of ``DATE:STEP`` (empty for none); ``start`` and
    ``gpus`` accept ``none``.  Range checks happen when the value is put into
    :class:`CurveParams`.

    Raises
    ------
    ValueError
        Naming the parameter, if `name` is unknown or `text` does not parse.
    """
    raw = text.strip()
    if name in ("start", "gpus") and raw.lower() in ("none", ""):
        return None
    if name in ("price_date", "start"):
        return parse_date(name, raw)
    if name in ("ramp_months", "contract_months"):
        return parse_int(name, raw)
    if name in ("p0", "d", "floor", "c", "p_contract", "gpus", "unit_scale"):
        return parse_float(name, raw)
    if name == "util":
        if not raw:
            raise ValueError("util: empty; give utilisations per deal year, e.g. 0.85,0.75")
        return tuple(parse_float(name, part) for part in raw.split(","))
    if name == "launches":
        if raw.lower() in ("", "none"):
            return ()
        return tuple(parse_launch(part) for part in raw.split(","))
    raise ValueError(f"{name}: not a curve parameter; known: {', '.join(PARAM_NAMES)}")


# -- collateral ------------------------------------------------------------------------
COLLATERAL_PARAM_NAMES: tuple[str, ...] = (
    "valuation_date", "mu", "launches", "ramp_months", "scrap_pct", "h_liq", "h_infra",
    "repo_cost_pct", "depth_k", "depth_exponent", "depth_cap", "monthly_volume",
    "cost_per_gpu", "gpus",
)  # fmt: skip
"""The collateral parameters' names (CLI ``--set``, profiles, JSON, xlwings)."""

# From the SpotWire valuator's liquidation factors (orderly 180 days 1.00, broker 90 days 0.85,
# auction 30 days 0.65, distressed 7 days 0.45; spotwire.ai, 2026-06-04; docs/sources.md).
SALE_CHANNELS: dict[str, float] = {"orderly": 0.0, "broker": 0.15, "auction": 0.35, "distressed": 0.55}
"""Liquidation haircut ``h_liq`` per sale channel; an enforcement sale is an auction."""

_FLOATS = ("mu", "scrap_pct", "h_liq", "h_infra", "repo_cost_pct", "depth_k",
           "depth_exponent", "depth_cap", "monthly_volume", "cost_per_gpu", "gpus")  # fmt: skip


@dataclass(frozen=True)
class CollateralParams:
    """Parameters of the residual-value curve and the forced-sale haircut (docs/credit.md; sources in docs/sources.md).

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
        Secondary-market units a month for the SKU, > 0.  An ASSUMPTION: there is no
        public data on the depth of the secondary market.
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
        check("valuation_date", self.valuation_date, isinstance(self.valuation_date, date), "a date")
        check("mu", self.mu, finite(self.mu) and self.mu >= 0, ">= 0")
        for launch in self.launches:
            check("launches", launch, isinstance(launch, Launch), "Launch objects")
        ok = isinstance(self.ramp_months, int) and not isinstance(self.ramp_months, bool)
        check("ramp_months", self.ramp_months, ok and self.ramp_months >= 0, "an integer >= 0")
        for name in ("scrap_pct", "h_liq", "h_infra"):
            v = getattr(self, name)
            check(name, v, finite(v) and 0 <= v < 1, "in [0, 1)")
        for name in ("repo_cost_pct", "depth_cap"):
            v = getattr(self, name)
            check(name, v, finite(v) and 0 <= v <= 1, "in [0, 1]")
        check("depth_k", self.depth_k, finite(self.depth_k) and self.depth_k >= 0, ">= 0")
        ok = finite(self.depth_exponent) and self.depth_exponent > 0
        check("depth_exponent", self.depth_exponent, ok, "> 0")
        ok = finite(self.monthly_volume) and self.monthly_volume > 0
        check("monthly_volume", self.monthly_volume, ok, "> 0")
        for name in ("cost_per_gpu", "gpus"):
            v = getattr(self, name)
            check(name, v, v is None or (finite(v) and v > 0), "None or > 0")

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


class RentMode(Enum):
    """How the new rent is derived: scaled from the anchor, or from the fleet size."""

    INDEX = "index"
    ABSOLUTE = "absolute"


class SecurityKind(StrEnum):
    """What secures the loan (docs/credit.md), which decides the collateral rows of every report."""

    GPU_FLEET = "gpu_fleet"  # the GPUs: residual value, forced-sale haircuts, depth of the market
    SITE = "site"  # the site and the lease: the template's own value lines, where it has them
    NONE = "none"  # unsecured, or security gpucredit does not value: no collateral rows at all

    @classmethod
    def parse(cls, text: str) -> SecurityKind:
        """The kind a profile or ``--collateral kind=`` names; a ValueError listing the kinds."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"kind: {text!r} is not a kind of security; use one of "
                             + ", ".join(k.value for k in cls)) from None


def parse_collateral_param(name: str, text: str) -> object:
    """Parse a CLI / profile / xlwings string for the collateral parameter `name`.

    ``kind`` is a :class:`SecurityKind`; ``launches`` is a comma list of ``DATE:STEP`` (empty or ``none`` for none);
    ``h_liq`` also takes a channel name from :data:`SALE_CHANNELS`; ``cost_per_gpu``
    and ``gpus`` accept ``none``.  Range checks happen in :class:`CollateralParams`.

    Raises
    ------
    ValueError
        Naming the parameter, if `name` is unknown or `text` does not parse.
    """
    raw = text.strip()
    if name == "kind":
        return SecurityKind.parse(raw)
    if name in ("cost_per_gpu", "gpus") and raw.lower() in ("none", ""):
        return None
    if name == "h_liq" and raw.lower() in SALE_CHANNELS:
        return SALE_CHANNELS[raw.lower()]
    if name == "h_liq" and raw and not raw.lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError(f"h_liq: {raw!r} is not a sale channel or a number; channels: "
                         + ", ".join(f"{k} ({v:g})" for k, v in SALE_CHANNELS.items()))
    if name == "valuation_date":
        return parse_date(name, raw)
    if name == "ramp_months":
        return parse_int(name, raw)
    if name in _FLOATS:
        return parse_float(name, raw)
    if name == "launches":
        if raw.lower() in ("", "none"):
            return ()
        return tuple(parse_launch(part) for part in raw.split(","))
    raise ValueError(f"{name}: not a collateral parameter; known: {', '.join(COLLATERAL_PARAM_NAMES)}")


CURVE = ParamSet("curve", PARAM_NAMES, parse_param)
"""The curve's parameters: ``CURVE.parse_assignments(["d=0.3", "util=0.9,0.8"])``."""
COLLATERAL = ParamSet("collateral", ("kind", *COLLATERAL_PARAM_NAMES), parse_collateral_param)
"""The collateral's parameters (``--collateral KEY=VALUE``, xlwings override ranges), and ``kind``: what
secures the loan (:class:`SecurityKind`), which is a choice about the deal, not a parameter of the model."""
