"""``gpucredit stress``: Monte Carlo through the lender's own model.

Each scenario draws the curve's uncertain parameters, template inputs and monthly GPU (and, for a
miner, BTC) shocks from its own seeded stream (``models/scenarios.py``). Its rent row is the curve
under those draws (``models.scenarios.lane_rents``, equal to what GPU_Curve's formulas give); its
rent, varied inputs and BTC price line go into the workbook's own input cells, and the workbook's own
formulas compute CFADS, debt service, DSCR and balances — for all scenarios at once, on the part of
the formula graph between those inputs and the metric lines compiled to numpy lanes
(``engine.formula.lanes``). Every run checks a sample of scenarios (``--verify``: all) against the
engine's own evaluation of that scenario through GPU_Curve, at a relative 1e-9, and fails loudly
if one differs; a part of the graph the lanes cannot run is evaluated scenario by scenario instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.errors import ConsistencyError, ParameterError
from engine.formula.lane_ops import NotVectorisable, numbers
from engine.formula.lanes import LaneProgram
from engine.refs import CellRef
from engine.session import ModelSession
from models.curves import RentMode, changed_periods
from models.periods import add_months, month_index
from models.scenarios import Draws, StressSpec, draw, lane_rents, margin_calls

Key = tuple[str, int, int]
REL_TOL, ABS_TOL = 1e-9, 1e-6


@dataclass
class Lanes:
    """Per-scenario results of a chunk (rows: scenarios in id order)."""

    ids: np.ndarray
    min_dscr: np.ndarray  # inf where no period carries debt service
    dscr: np.ndarray  # (n, periods), NaN where untested
    breach: np.ndarray  # (n, periods) bool
    shortfall: np.ndarray
    first_breach: np.ndarray  # period position, -1 for none
    recovery: np.ndarray  # share of the balance a forced sale recovers at the first breach, NaN: no breach
    margin_q: np.ndarray | None  # (n, quarters) bool: a margin call in the quarter
    breach_q: np.ndarray  # (n, quarters) bool
    quantities: dict[str, np.ndarray] = field(default_factory=dict)
    btc_independent_q: np.ndarray | None = None  # margin calls with the factors independent
    breach_independent_q: np.ndarray | None = None

    @staticmethod
    def join(parts: Sequence[Lanes]) -> Lanes:
        def cat(name: str) -> Any:
            first = getattr(parts[0], name)
            return None if first is None else np.concatenate([getattr(p, name) for p in parts])

        out = Lanes(*(cat(f) for f in ("ids", "min_dscr", "dscr", "breach", "shortfall", "first_breach", "recovery",
                                       "margin_q", "breach_q")))
        out.quantities = {k: np.concatenate([p.quantities[k] for p in parts]) for k in parts[0].quantities}
        out.btc_independent_q = cat("btc_independent_q")
        out.breach_independent_q = cat("breach_independent_q")
        return out


class StressModel:
    """A stress run's fixed part: the session, the compiled lanes, and where each input goes."""

    def __init__(self, session: ModelSession, spec: StressSpec, *, compile_lanes: bool = True) -> None:
        self.session, self.spec = session, spec
        profile = session.profile
        self.grid = session.grid
        self.rent_cells: list[Key] = [(c.sheet, c.row, c.col) for c in profile.rent]
        self.btc_cells: list[Key] = [(c.sheet, c.row, c.col) for c in profile.btc_price]
        self.var_cells = {name: _key(name) for name in spec.cells}
        self.base = params = session.params  # the file's curve: every scenario's draws apply to it
        assert params.start is not None
        lo, hi = self.grid.span()
        self.first_month = min(lo, month_index(params.start))
        self.n_months = max(hi, month_index(params.start)) - self.first_month + 1
        self.changed = changed_periods(session.rent_before, session.mode, session.anchor_position)
        lines = profile.metrics
        self.outputs = {name: [(c.sheet, c.row, c.col) for c in cells] for name, cells in lines.items()}
        if profile.margin_call:
            self.outputs["margin_call"] = [(c.sheet, c.row, c.col) for c in profile.margin_call]
        inputs = self.rent_cells + self.btc_cells + list(self.var_cells.values())
        self.program: LaneProgram | None = None
        self.fallback_reason = ""
        if compile_lanes:  # a replay of one scenario needs none
            try:
                self.program = LaneProgram(session.engine, inputs, [k for keys in self.outputs.values() for k in keys])
            except NotVectorisable as exc:
                self.fallback_reason = str(exc)
        self.covenant = session.lines().covenant
        # the collateral's forced-sale value by period (the curve's, not a scenario's: the fleet's resale
        # follows its own model), read once so a chunk never touches the engine
        self.forced = session.security.values(session.engine, self.grid.n_periods)[1]
        self.quarters = np.array([(e.year * 12 + e.month - 1) // 3 for e in self.grid.ends])
        self.quarter_ids = np.unique(self.quarters)

    # -- one chunk --------------------------------------------------------------------------------
    def chunk(self, seed: int, first: int, n: int) -> Lanes:
        draws = draw(self.spec, seed, first, n, self.n_months)
        rents = self.rents(draws)
        outputs = self._outputs(draws, rents, n)
        lanes = self._measure(draws, outputs, n)
        if self.spec.margin is not None and draws.btc_price is not None:
            alone = draw(self.spec, seed, first, n, self.n_months, independent=True)
            lanes.btc_independent_q = self._margin_quarters(alone, self._outputs(alone, rents, n), n)
            lanes.breach_independent_q = self._measure(alone, self._outputs(alone, rents, n), n).breach_q \
                if self.btc_cells else lanes.breach_q
        return lanes

    def rents(self, draws: Draws) -> np.ndarray:
        s = self.session
        return lane_rents(s.rent_before, self.grid, s.params, self.changed, s.anchor_position,
                          s.mode is RentMode.INDEX, draws, self.first_month, contract=s.contract)

    def _inputs(self, draws: Draws, rents: np.ndarray) -> dict[Key, np.ndarray]:
        inputs = {key: rents[:, p] for p, key in enumerate(self.rent_cells)}
        if self.btc_cells and draws.btc_price is not None:
            for p, key in enumerate(self.btc_cells):
                month = month_index(self.grid.starts[p]) - self.first_month
                inputs[key] = draws.btc_price[:, month]
        for name, key in self.var_cells.items():
            inputs[key] = draws.quantities[name]
        return inputs

    def _outputs(self, draws: Draws, rents: np.ndarray, n: int) -> dict[str, np.ndarray]:
        inputs = self._inputs(draws, rents)
        if self.program is not None:
            values = self.program.run(inputs, n)
            return {name: np.stack([numbers(values[k], n) for k in keys], axis=1) for name, keys in self.outputs.items()}
        return self._per_scenario(inputs, n)

    def _per_scenario(self, inputs: dict[Key, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """The engine, one scenario at a time (the part of the graph the lanes cannot run)."""
        s = self.session
        out = {name: np.full((n, len(keys)), np.nan) for name, keys in self.outputs.items()}
        for i in range(n):
            s.engine.set_values({key: float(v[i]) for key, v in inputs.items()})
            s.engine.recalculate()
            for name, keys in self.outputs.items():
                for j, key in enumerate(keys):
                    value = s.engine.get(*key)
                    out[name][i, j] = value if isinstance(value, float) else np.nan
        return out

    def _measure(self, draws: Draws, out: dict[str, np.ndarray], n: int) -> Lanes:
        cfads, ds = out.get("cfads"), out.get("debt_service")
        if ds is not None and self.session.credit.sign == "-":  # debt service booked as negative outflows
            ds = -ds
        if "dscr" in out:
            dscr = out["dscr"]
        elif cfads is not None and ds is not None:
            with np.errstate(all="ignore"):
                dscr = np.where(ds > 0, cfads / ds, np.nan)
        else:
            raise ParameterError("stress needs the DSCR line, or CFADS and debt service, in the profile")
        tested = (np.nan_to_num(ds) > 0) if ds is not None else np.isfinite(dscr)
        dscr = np.where(tested, dscr, np.nan)
        cov = self.covenant
        breach = np.zeros(dscr.shape, dtype=bool)
        if cov is not None:
            breach = tested & (np.nan_to_num(dscr, nan=np.inf) < cov * (1 - REL_TOL))
        if cfads is not None:
            breach |= tested & (np.nan_to_num(cfads) < 0)
        min_dscr = np.where(tested.any(axis=1), np.nanmin(np.where(tested, dscr, np.inf), axis=1), np.inf)
        shortfall = np.zeros(n)
        if cfads is not None and ds is not None:
            gap = np.where(tested, np.clip(np.nan_to_num(ds) - np.nan_to_num(cfads), 0.0, np.nan_to_num(ds)), 0.0)
            shortfall = gap.sum(axis=1)
        first = np.where(breach.any(axis=1), breach.argmax(axis=1), -1)
        recovery = self._recovery(out, first, n)
        breach_q = np.stack([breach[:, self.quarters == q].any(axis=1) for q in self.quarter_ids], axis=1)
        return Lanes(draws.ids, min_dscr, dscr, breach, shortfall, first, recovery,
                     self._margin_quarters(draws, out, n), breach_q, dict(draws.quantities))

    def _recovery(self, out: dict[str, np.ndarray], first: np.ndarray, n: int) -> np.ndarray:
        forced = self.forced
        balance = out.get("closing_balance")
        result = np.full(n, np.nan)
        if forced is None or balance is None:
            return result
        rows = np.flatnonzero(first >= 0)
        owed = np.abs(balance[rows, first[rows]])
        value = forced[first[rows]]
        with np.errstate(all="ignore"):
            # NaN where the secured loan is already repaid at the breach: nothing to recover
            result[rows] = np.where(owed > 0, np.minimum(value, owed) / owed, np.nan)
        return result

    def _margin_quarters(self, draws: Draws, out: dict[str, np.ndarray], n: int) -> np.ndarray | None:
        if "margin_call" in out:  # the template's own margin-call line, per period
            calls = np.nan_to_num(out["margin_call"]) > 0
            return np.stack([calls[:, self.quarters == q].any(axis=1) for q in self.quarter_ids], axis=1)
        if self.spec.margin is None or draws.btc_price is None:
            return None
        calls, _liq = margin_calls(draws.btc_price, self.spec.margin)
        months = self.first_month + np.arange(self.n_months)
        quarter_of_month = months // 3
        return np.stack([calls[:, quarter_of_month == q].any(axis=1) for q in self.quarter_ids], axis=1)

    # -- the engine's own evaluation of one scenario (the check) ---------------------------------
    def replay_inputs(self, draws: Draws, i: int) -> dict[str, Any]:
        """Scenario ``i`` of ``draws`` as a conversion takes it: curve overrides, the monthly shocks on
        GPU_Curve, and template cell values."""
        params = self.base
        q = {k: float(v[i]) for k, v in draws.quantities.items()}
        overrides: dict[str, Any] = {}
        for name in ("d", "p0", "floor"):
            if name in q:
                overrides[name] = q[name]
        if "util_scale" in q:
            overrides["util"] = tuple(min(max(u * q["util_scale"], 0.0), 1.0) for u in params.util)
        if "launch_jitter_months" in q or "launch_step_scale" in q:
            shift, scale = int(q.get("launch_jitter_months", 0.0)), q.get("launch_step_scale", 1.0)
            overrides["launches"] = tuple(
                type(k)(add_months(k.date, shift) if k.date > params.price_date else k.date,
                        min(k.step * scale, 0.999) if k.date > params.price_date else k.step)
                for k in params.launches)
        cells = {f"{_ref(key)}": float(draws.quantities[name][i]) for name, key in self.var_cells.items()}
        if self.btc_cells and draws.btc_price is not None:
            for p, key in enumerate(self.btc_cells):
                cells[_ref(key)] = float(draws.btc_price[i, month_index(self.grid.starts[p]) - self.first_month])
        return {"overrides": overrides, "shocks": tuple(float(x) for x in draws.gpu_shock[i]), "cells": cells}

    def verify(self, draws: Draws, out: dict[str, np.ndarray], lanes: Sequence[int]) -> float:
        """The largest relative difference between the lanes and the engine's own evaluation of those
        scenarios through GPU_Curve; a ConsistencyError beyond the tolerance."""
        s = self.session
        base = self.base
        worst = 0.0
        try:
            for i in lanes:
                scenario = self.replay_inputs(draws, i)
                s.set_curve(**scenario["overrides"])
                s.set_shocks(scenario["shocks"])
                s.set_cells(scenario["cells"]) if scenario["cells"] else None
                s.evaluate()
                s.check_rent()
                for name, keys in self.outputs.items():
                    for j, key in enumerate(keys):
                        want = s.engine.get(*key)
                        got = out[name][i, j]
                        if isinstance(want, float):
                            diff = abs(got - want)
                            if not diff <= max(REL_TOL * abs(want), ABS_TOL):
                                raise ConsistencyError(
                                    f"scenario {int(draws.ids[i])}: the vectorised lane gives {got!r} for {_ref(key)} "
                                    f"but the workbook's own evaluation gives {want!r}; this is a gpucredit bug, "
                                    "please report it with the template and the spec")
                            worst = max(worst, diff / max(abs(want), 1e-300))
                        elif not math.isnan(got):
                            raise ConsistencyError(
                                f"scenario {int(draws.ids[i])}: the vectorised lane gives {got!r} for {_ref(key)} "
                                f"but the workbook holds {want!r} there; this is a gpucredit bug, please report it")
        finally:
            s.set_curve(**{name: getattr(base, name) for name in ("d", "p0", "floor", "util", "launches")})
            s.set_shocks(None)
            s.reset_cells()
            s.evaluate()
        return worst


def _key(ref: str) -> Key:
    from engine.refs import parse_ref

    try:
        cell = parse_ref(ref)
    except ValueError as exc:
        raise ParameterError(f"vary.{ref}: not a cell such as Inputs!C9 ({exc})") from exc
    return (cell.sheet, cell.row, cell.col)


def _ref(key: Key) -> str:
    return str(CellRef(*key))


def draws_of(model: StressModel, seed: int, ids: Sequence[int]) -> Draws:
    """The draws of the scenarios ``ids`` (each from its own stream, so the same as in the run)."""
    parts = [draw(model.spec, seed, i, 1, model.n_months) for i in ids]
    return Draws(np.array(ids, dtype=np.int64), {k: np.concatenate([p.quantities[k] for p in parts])
                                                 for k in parts[0].quantities},
                 np.concatenate([p.gpu_shock for p in parts]),
                 None if parts[0].btc_price is None else np.concatenate([p.btc_price for p in parts if p.btc_price is not None]),
                 np.concatenate([p.stress_months for p in parts]))
