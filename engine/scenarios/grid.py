"""``gpucredit grid``: a credit metric over one or two varied inputs, on the lender's own model.

Each point sets the knobs (:mod:`engine.scenarios.knobs`), re-evaluates the session incrementally and
reads the metric from the same table ``convert`` reports (``models/credit.py``), so a point equals a
full conversion with the same inputs.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass

import numpy as np

from engine.errors import ParameterError
from engine.scenarios.knobs import knob
from engine.session import ModelSession
from models.credit import CreditMetrics

METRICS = ("min_dscr", "avg_dscr", "first_breach", "breaches", "total_shortfall", "min_llcr", "recovery_at_breach")
MAX_POINTS = 10_000


@dataclass(frozen=True)
class Axis:
    """One varied input and its values."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class Grid:
    """The metric at each point: ``values[i]`` (one axis) or ``values[i][j]`` (two)."""

    metric: str
    axes: tuple[Axis, ...]
    values: list[object]
    covenant: float | None

    def to_json(self) -> dict[str, object]:
        return {"metric": self.metric, "covenant": self.covenant,
                "axes": [{"name": a.name, "values": list(a.values)} for a in self.axes], "values": self.values}


def parse_axis(text: str) -> Axis:
    """``d=0.10:0.50:0.05`` (start:stop:step, both ends included) or ``util=0.6,0.7,0.8``."""
    name, sep, spec = text.partition("=")
    if not sep or not name.strip() or not spec.strip():
        raise ParameterError(f"--vary {text!r}: expected NAME=START:STOP:STEP or NAME=V1,V2,...")
    try:
        if ":" in spec and "!" not in spec:
            start, stop, step = (float(x) for x in spec.split(":"))
            if step <= 0 or stop < start:
                raise ValueError("the step must be positive and the stop not below the start")
            count = int(np.floor((stop - start) / step + 1e-9)) + 1
            values = tuple(float(round(start + i * step, 12)) for i in range(count))
        else:
            values = tuple(float(x) for x in re.split(r"[,;]", spec) if x.strip())
    except ValueError as exc:
        raise ParameterError(f"--vary {text!r}: {exc}") from exc
    if not values or not all(np.isfinite(values)):
        raise ParameterError(f"--vary {text!r}: no finite values")
    return Axis(name.strip(), values)


def grid(session: ModelSession, axes: tuple[Axis, ...], metric: str = "min_dscr") -> Grid:
    """The metric over every combination of the axes' values (one or two axes); the session is left as
    it was opened."""
    if metric not in METRICS:
        raise ParameterError(f"--metric {metric}: choose one of {', '.join(METRICS)}")
    if not 1 <= len(axes) <= 2:
        raise ParameterError("give one or two --vary options")
    if len({a.name for a in axes}) != len(axes):
        raise ParameterError("the two --vary options name the same input")
    if int(np.prod([len(a.values) for a in axes])) > MAX_POINTS:
        raise ParameterError(f"the grid has more than {MAX_POINTS:,} points; use fewer values")
    knobs = [knob(session, a.name) for a in axes]
    values: dict[tuple[int, ...], object] = {}
    try:
        for index in itertools.product(*(range(len(a.values)) for a in axes)):
            for k, axis, i in zip(knobs, axes, index, strict=True):
                k.apply(session, axis.values[i])
            session.evaluate()
            values[index] = _metric(session.metrics(), metric)
    finally:
        for k in knobs:
            k.apply(session, k.base)
        session.evaluate()
    if len(axes) == 1:
        table: list[object] = [values[(i,)] for i in range(len(axes[0].values))]
    else:
        table = [[values[(i, j)] for j in range(len(axes[1].values))] for i in range(len(axes[0].values))]
    return Grid(metric, axes, table, session.lines().covenant)


def _metric(metrics: CreditMetrics, name: str) -> object:
    value = getattr(metrics, name)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


__all__ = ["METRICS", "Axis", "Grid", "grid", "parse_axis"]
