"""What the scenario commands can turn: curve parameters and template input cells, by one name each.

A knob's name is a curve parameter (``d``, ``p0``, ``floor``, ``c``, ``p_contract``), ``util`` (one
utilisation level for every deal year), ``step1`` … ``stepN`` (the step of the curve's first, …,
N-th launch) or a template input cell (``Inputs!C12``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import ParameterError
from engine.session import ModelSession
from models.credit import CreditMetrics

_STEP = re.compile(r"^step([1-9][0-9]?)$")
_CURVE_FLOATS = ("d", "p0", "floor", "c", "p_contract")


@dataclass(frozen=True)
class Knob:
    """One input a question varies.

    Attributes
    ----------
    name : str
        As the user types it (``d``, ``util``, ``step1``, ``Inputs!C12``).
    base : float
        Its value in the session as opened.
    low, high : float
        The valid range the questions search.
    stress_high : bool
        Whether a higher value is the harder case for the loan (a steeper decline, a deeper step).
    """

    name: str
    base: float
    low: float
    high: float
    stress_high: bool
    apply: Callable[[ModelSession, float], None]

    def set(self, session: ModelSession, value: float) -> None:
        """Set the knob and re-evaluate the model."""
        self.apply(session, value)
        session.evaluate()


def knob(session: ModelSession, name: str) -> Knob:
    """The knob called ``name`` in this session (a ParameterError lists what there is)."""
    params = session.params
    key = name.strip()
    if key in _CURVE_FLOATS:
        base = float(getattr(params, key))
        limits = {"d": (0.0, 0.95, True), "p0": (base * 0.01, base * 4.0, False), "floor": (0.0, params.p0, False),
                  "c": (0.0, 1.0, False), "p_contract": (base * 0.01, max(base, params.p0) * 4.0, False)}[key]
        def set_param(s: ModelSession, v: float, k: str = key) -> None:
            s.set_curve(**{k: float(v)})

        return Knob(key, base, limits[0], limits[1], limits[2], set_param)
    if key == "util":
        def set_util(s: ModelSession, v: float) -> None:
            s.set_curve(util=(float(v),))

        return Knob("util", float(min(params.util)), 0.01, 1.0, False, set_util)
    step = _STEP.match(key)
    if step is not None:
        k = int(step.group(1)) - 1
        if k >= len(params.launches):
            raise ParameterError(f"{key}: the curve has {len(params.launches)} launch(es); use step1 … "
                                 f"step{len(params.launches)} or set launches with --launch")
        base_launches = params.launches

        def set_step(s: ModelSession, v: float, k: int = k) -> None:
            launches = list(s.params.launches)
            launches[k] = dataclasses.replace(base_launches[k], step=float(v))
            s.set_curve(launches=tuple(launches))

        return Knob(key, base_launches[k].step, 0.0, 0.95, True, set_step)
    if "!" in key:
        value = session.value(key)
        if not isinstance(value, float):
            raise ParameterError(f"{key}: holds {value!r}, not a number to vary")
        lo, hi = sorted((value * 0.0, value * 3.0)) if value else (0.0, 1.0)
        def set_cell(s: ModelSession, v: float, ref: str = key) -> None:
            s.set_cells({ref: v})

        return Knob(key, value, lo, hi, False, set_cell)
    raise ParameterError(f"{name}: not something to vary; give a curve parameter (d, p0, floor, c, p_contract), "
                         "util, step1 … stepN, or a template input cell such as Inputs!C12")


def min_dscr(metrics: CreditMetrics) -> float:
    """The minimum DSCR over the tested periods; +inf when no period carries debt service."""
    return float("inf") if metrics.min_dscr is None else float(metrics.min_dscr)
