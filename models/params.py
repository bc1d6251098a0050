"""Parameters of the GPU rent curve (DESIGN §3 "Parameters") and their parsing at the edge.

:class:`CurveParams` holds the curve's parameters with DESIGN §3's short names;
:func:`parse_param` turns a CLI / profile / xlwings string into a value for one of
them.  Every validation error starts with the parameter's name (``"d: ..."``).
Re-exported by :mod:`models.curves`, which is where callers import them from.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date
from numbers import Integral, Real
from typing import Any, TypeVar

__all__ = [
    "PARAM_NAMES",
    "CurveParams",
    "Launch",
    "d_from_lambda",
    "parse_launch",
    "parse_param",
]

PARAM_NAMES: tuple[str, ...] = (
    "price_date", "start", "p0", "d", "floor", "ramp_months", "util", "c",
    "p_contract", "contract_months", "gpus", "unit_scale", "launches",
)  # fmt: skip
"""The curve parameters' names, in DESIGN §3 order (CLI, profiles, JSON, xlwings)."""


def _check_number(name: str, value: object, ok: bool, rule: str) -> None:
    if not ok:
        raise ValueError(f"{name}: {value!r} is invalid; must be {rule}")


def _finite(x: object) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool) and math.isfinite(x)


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
        _check_number("launches", self.step, _finite(self.step) and 0 <= self.step < 1,
                      "a step in [0, 1)")  # fmt: skip


@dataclass(frozen=True)
class CurveParams:
    """Parameters of the GPU rent curve, with DESIGN §3's short names.

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
        _check_number("p0", self.p0, _finite(self.p0) and self.p0 > 0, "> 0")
        _check_number("d", self.d, _finite(self.d) and 0 <= self.d < 1, "in [0, 1)")
        _check_number("floor", self.floor, _finite(self.floor) and self.floor >= 0, ">= 0")
        for name in ("ramp_months", "contract_months"):
            v = getattr(self, name)
            ok = isinstance(v, int) and not isinstance(v, bool) and v >= 0
            _check_number(name, v, ok, "an integer >= 0")
        _check_number("util", self.util, len(self.util) > 0, "a non-empty list")
        for u in self.util:
            _check_number("util", u, _finite(u) and 0 <= u <= 1, "values in [0, 1]")
        _check_number("c", self.c, _finite(self.c) and 0 <= self.c <= 1, "in [0, 1]")
        ok = _finite(self.p_contract) and self.p_contract >= 0
        _check_number("p_contract", self.p_contract, ok, ">= 0")
        ok = self.gpus is None or (_finite(self.gpus) and self.gpus > 0)
        _check_number("gpus", self.gpus, ok, "None or > 0")
        ok = _finite(self.unit_scale) and self.unit_scale > 0
        _check_number("unit_scale", self.unit_scale, ok, "> 0")
        for launch in self.launches:
            _check_number("launches", launch, isinstance(launch, Launch), "Launch objects")

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
def _parse_date(name: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not an ISO date (YYYY-MM-DD)") from None


def _parse_float(name: str, text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{name}: {text!r} is not a finite number")
    return value


def _parse_int(name: str, text: str) -> int:
    value = _parse_float(name, text)
    if not value.is_integer():
        raise ValueError(f"{name}: {text!r} is not a whole number of months")
    return int(value)


_P = TypeVar("_P")


def replace_known(params: _P, names: tuple[str, ...], kind: str, overrides: dict[str, Any]) -> _P:
    """``dataclasses.replace`` that first refuses a name outside ``names`` (``kind`` names the set)."""
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ValueError(f"{unknown[0]}: not a {kind} parameter; known: {', '.join(names)}")
    return dataclasses.replace(params, **overrides)  # type: ignore[type-var]


def parse_launch(text: str) -> Launch:
    """Parse one launch written ``DATE:STEP``, e.g. ``"2027-10-01:0.15"``."""
    parts = text.strip().split(":")
    if len(parts) != 2:
        raise ValueError(f"launches: {text!r} is not DATE:STEP (e.g. 2027-10-01:0.15)")
    return Launch(_parse_date("launches", parts[0]), _parse_float("launches", parts[1]))


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
        return _parse_date(name, raw)
    if name in ("ramp_months", "contract_months"):
        return _parse_int(name, raw)
    if name in ("p0", "d", "floor", "c", "p_contract", "gpus", "unit_scale"):
        return _parse_float(name, raw)
    if name == "util":
        if not raw:
            raise ValueError("util: empty; give utilisations per deal year, e.g. 0.85,0.75")
        return tuple(_parse_float(name, part) for part in raw.split(","))
    if name == "launches":
        if raw.lower() in ("", "none"):
            return ()
        return tuple(parse_launch(part) for part in raw.split(","))
    raise ValueError(f"{name}: not a curve parameter; known: {', '.join(PARAM_NAMES)}")
