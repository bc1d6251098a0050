"""``gpucredit breakeven``: the value of one curve parameter at which the minimum DSCR reaches a target.

For each parameter (``d``, ``p0``, ``util``, a launch step) the model is evaluated on a grid across
the parameter's valid range, from the easy end to the hard end (no decline to a 95 % decline; a high
price to a low one). The answer is the first crossing met — the *smallest* decline, the *highest*
price — at which the minimum DSCR over the tested periods falls to the target; scipy's ``brentq``
then polishes it inside that grid step, on the lender's own model. Minimum DSCR need not be monotone
in a parameter (in index mode a steeper decline before the deal starts lowers the anchor's price, so
a price floor becomes a larger share of it), which is why the grid comes first. Where no crossing
exists in the range, the result says which end holds ("breaches even with no decline", "never
breaches below a 95 % decline").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq

from engine.errors import ParameterError
from engine.report.questions import Block
from engine.scenarios.knobs import Knob, knob, min_dscr
from engine.session import ModelSession

DEFAULT_PARAMETERS = ("d", "p0", "util", "step1")
GRID_POINTS = 24


@dataclass(frozen=True)
class Breakeven:
    """Where one parameter takes the minimum DSCR to one target.

    ``value`` is the breakeven (None when there is none in the range, ``reason`` says why);
    ``min_dscr`` is the minimum DSCR the model gives there (equal to the target within brentq's
    tolerance).
    """

    parameter: str
    target: str
    target_dscr: float
    base: float
    low: float
    high: float
    value: float | None
    min_dscr: float | None
    reason: str | None

    def to_json(self) -> dict[str, object]:
        return {"parameter": self.parameter, "target": self.target, "target_dscr": self.target_dscr,
                "base": self.base, "range": [self.low, self.high], "value": self.value,
                "min_dscr": self.min_dscr, "reason": self.reason}


def breakeven(session: ModelSession, parameters: tuple[str, ...] = DEFAULT_PARAMETERS,
              targets: dict[str, float] | None = None, *, points: int = GRID_POINTS) -> list[Breakeven]:
    """Breakevens of ``parameters`` for each of ``targets`` (default: the covenant and 1.00x).

    The session is left as it was opened. Launch steps the curve does not have are skipped when they
    were not asked for by name (``step1`` with no launches).
    """
    if targets is None:
        covenant = session.lines().covenant
        targets = {"1.00x": 1.0} if covenant is None else {"covenant": float(covenant), "1.00x": 1.0}
    results: list[Breakeven] = []
    for name in parameters:
        try:
            k = knob(session, name)
        except ParameterError:
            if name in DEFAULT_PARAMETERS and name.startswith("step") and not session.params.launches:
                continue
            raise
        try:
            results += _solve(session, k, targets, points)
        finally:
            k.set(session, k.base)
    return results


def _solve(session: ModelSession, k: Knob, targets: dict[str, float], points: int) -> list[Breakeven]:
    easy, hard = (k.low, k.high) if k.stress_high else (k.high, k.low)
    xs = np.linspace(easy, hard, points)
    values = []
    for x in xs:
        k.set(session, float(x))
        values.append(min_dscr(session.metrics()))
    out = []
    for label, target in targets.items():
        f = np.array(values) - target
        base = Breakeven(k.name, label, target, k.base, k.low, k.high, None, None, None)
        if f[0] < 0:
            out.append(_replace(base, reason=_easy_reason(k, easy, target, values[0])))
            continue
        below = np.flatnonzero(f < 0)
        if below.size == 0:
            out.append(_replace(base, reason=_hard_reason(k, hard, target, values[-1])))
            continue
        i = int(below[0])

        def g(x: float, target: float = target) -> float:
            k.set(session, x)
            return min_dscr(session.metrics()) - target

        a, b = float(xs[i - 1]), float(xs[i])
        root = float(brentq(g, a, b))
        out.append(_replace(base, value=root, min_dscr=g(root) + target))
    return out


def _replace(b: Breakeven, **kw: object) -> Breakeven:
    return replace(b, **kw)  # type: ignore[arg-type]


def _easy_reason(k: Knob, easy: float, target: float, dscr: float) -> str:
    what = {"d": "with no decline", "p0": f"at p0 = {easy:g}", "util": "at 100 % utilisation",
            }.get(k.name, f"at {k.name} = {easy:g}")
    return f"the loan breaches even {what} (min DSCR {dscr:.2f}x below {target:.2f}x)"


def _hard_reason(k: Knob, hard: float, target: float, dscr: float) -> str:
    what = {"d": f"below a {hard:.0%} decline", "p0": f"down to p0 = {hard:g}",
            "util": f"down to {hard:.0%} utilisation"}.get(k.name, f"up to {k.name} = {hard:g}")
    return f"the loan never breaches {target:.2f}x {what} (min DSCR {dscr:.2f}x there)"


def breakeven_block(results: list[Breakeven]) -> Block:
    """The answers as a block for Credit_Summary."""
    rows = tuple((f"{b.parameter} for {b.target}", b.base, b.value if b.value is not None else b.reason,
                  b.min_dscr) for b in results)
    return Block("Breakeven (gpucredit breakeven)", ("parameter, target", "now", "breakeven", "min DSCR there"),
                 rows, note="Values from many evaluations of this workbook, not formulas; re-run gpucredit "
                            "breakeven to update")
