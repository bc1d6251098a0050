"""A stress run: scenarios in chunks through a :class:`~engine.scenarios.stress.StressModel`, on this
process, local worker processes or a Dask scheduler (the same numbers whatever the split: each
scenario draws from its own stream), a sample checked against the engine, and the run's figures."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import ParameterError
from engine.refs import format_range
from engine.report.stress_sheet import StressPage
from engine.scenarios.stress import Lanes, StressModel, draws_of
from engine.session import ModelSession
from models.scenarios import StressSpec

CHUNK = 2_500
PERCENTILES = (1, 5, 25, 50, 75, 95)


@dataclass(frozen=True)
class StressRun:
    """A whole run: every scenario's results (in id order) and how they were computed."""

    spec: StressSpec
    seed: int
    lanes: Lanes
    period_ends: tuple[dt.date, ...]
    covenant: float | None
    path: str  # "vectorised" or "per scenario"
    fallback_reason: str
    verified: int
    worst_difference: float
    refinancing: dt.date | None
    seconds: float

    @property
    def scenarios(self) -> int:
        return int(self.lanes.ids.shape[0])

    def figures(self) -> dict[str, Any]:
        """The run's figures, JSON-ready (None where a figure has no meaning for this workbook)."""
        lanes, n = self.lanes, self.scenarios
        finite = np.where(np.isfinite(lanes.min_dscr), lanes.min_dscr, np.nan)
        shortfall = np.sort(lanes.shortfall)
        tail = shortfall[int(math.floor(0.95 * n)):] if n else shortfall
        tested = np.isfinite(lanes.dscr).any(axis=0)  # periods with debt service in some scenario
        fan = {f"p{q}": _nan_list(np.where(tested, np.nanpercentile(np.where(tested, lanes.dscr, 0.0), q, axis=0),
                                           np.nan)) for q in PERCENTILES} if tested.any() else {}
        any_breach = lanes.breach.any(axis=1)
        out: dict[str, Any] = {
            "scenarios": n, "seed": self.seed, "spec": self.spec.name, "path": self.path,
            "fallback_reason": self.fallback_reason or None, "verified_scenarios": self.verified,
            "worst_relative_difference": self.worst_difference,
            "period_ends": [d.isoformat() for d in self.period_ends], "covenant": self.covenant,
            "p_breach_by_period": _nan_list(lanes.breach.mean(axis=0)),
            "p_breach_by_maturity": float(any_breach.mean()),
            "min_dscr": {f"p{q}": _num(np.nanpercentile(finite, q)) for q in (1, 5, 50, 95)}
            if np.isfinite(finite).any() else None,
            "dscr_fan": fan,
            "shortfall": {"mean": float(shortfall.mean()), "expected_shortfall_95": float(tail.mean())},
            "recovery_at_breach": _summary(lanes.recovery),
        }
        if self.refinancing is not None:
            before = np.array([e <= self.refinancing for e in self.period_ends])
            out["refinancing_date"] = self.refinancing.isoformat()
            out["p_breach_before_refinancing"] = float(lanes.breach[:, before].any(axis=1).mean())
        if lanes.margin_q is not None:
            out["margin"] = _joint(lanes.margin_q, lanes.breach_q, "correlated")
            if lanes.btc_independent_q is not None and lanes.breach_independent_q is not None:
                out["margin_independent"] = _joint(lanes.btc_independent_q, lanes.breach_independent_q, "rho = 0")
                out["p_joint_margin_call_and_breach_same_quarter"] = out["margin"]["p_joint_same_quarter"]
                out["p_joint_margin_call_and_breach_same_quarter_rho0"] = out["margin_independent"]["p_joint_same_quarter"]
        return out


def _joint(margin_q: np.ndarray, breach_q: np.ndarray, label: str) -> dict[str, Any]:
    both = (margin_q & breach_q).any(axis=1)
    call, breach = margin_q.any(axis=1), breach_q.any(axis=1)
    return {"regime": label, "p_margin_call": float(call.mean()), "p_breach": float(breach.mean()),
            "p_joint_same_quarter": float(both.mean())}


def _nan_list(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in values]


def _num(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _summary(values: np.ndarray) -> dict[str, Any] | None:
    present = values[np.isfinite(values)]
    if present.size == 0:
        return None
    return {"scenarios": int(present.size), "mean": float(present.mean()),
            "p5": float(np.percentile(present, 5)), "p50": float(np.percentile(present, 50))}


def sample_lanes(seed: int, scenarios: int, count: int) -> list[int]:
    """The scenarios every run checks against the engine (``count`` of them, the same for a seed)."""
    count = min(count, scenarios)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**32 - 1,)))
    return sorted(int(i) for i in rng.choice(scenarios, size=count, replace=False))


def run_stress(model: StressModel, *, scenarios: int, seed: int, check: int = 20, verify_all: bool = False,
               jobs: int = 1, scheduler: Any = None, opener: dict[str, Any] | None = None,
               progress: Callable[[int], None] | None = None) -> StressRun:
    """Run ``scenarios`` scenarios; the same numbers whatever ``jobs`` or ``scheduler`` split them.

    ``opener`` (path, curve, profile, spec text) lets worker processes open their own session.
    """
    if scenarios < 1:
        raise ParameterError("--scenarios must be at least 1")
    started = time.perf_counter()
    chunks = [(first, min(CHUNK, scenarios - first)) for first in range(0, scenarios, CHUNK)]
    if scheduler is not None or jobs > 1:
        if opener is None:
            raise ParameterError("parallel stress runs need the inputs to reopen the model in each worker")
        _MODELS.pop(_opener_key(opener), None)
        if model.program is not None:  # local workers forked from here start with the compiled model
            _MODELS[_opener_key(opener)] = model
        parts = _parallel(chunks, seed, jobs, scheduler, opener, progress)
    else:
        parts = []
        for first, n in chunks:
            parts.append(model.chunk(seed, first, n))
            if progress is not None:
                progress(n)
    lanes = Lanes.join(parts)
    checked = list(range(scenarios)) if verify_all else sample_lanes(seed, scenarios, check)
    worst = 0.0
    for start in range(0, len(checked), CHUNK):
        ids = checked[start:start + CHUNK]
        draws = draws_of(model, seed, ids)
        out = model._outputs(draws, model.rents(draws), len(ids))
        worst = max(worst, model.verify(draws, out, range(len(ids))))
    return StressRun(model.spec, seed, lanes, model.grid.ends, model.covenant,
                     "vectorised" if model.program is not None else "per scenario", model.fallback_reason,
                     len(checked), worst, model.session.profile.refinancing or model.spec.refinancing,
                     time.perf_counter() - started)


# -- workers ----------------------------------------------------------------------------------------
_MODELS: dict[str, StressModel] = {}


def _opener_key(opener: dict[str, Any]) -> str:
    return repr(sorted(opener.items()))


def _worker_model(opener: dict[str, Any]) -> StressModel:
    """The model of this worker process (opened once per process, kept for its later chunks)."""
    key = _opener_key(opener)
    if key not in _MODELS:
        from models.scenarios import load_spec

        session = ModelSession.open(opener["path"], curve=opener["curve"], profile=opener.get("profile"))
        spec = load_spec(opener["spec_name"], text=opener["spec_text"])
        _MODELS[key] = StressModel(session, spec)
    return _MODELS[key]


def stress_chunk(opener: dict[str, Any], seed: int, first: int, n: int) -> Lanes:
    """One chunk on a worker (a local process or a Dask worker)."""
    return _worker_model(opener).chunk(seed, first, n)


def _parallel(chunks: list[tuple[int, int]], seed: int, jobs: int, scheduler: Any, opener: dict[str, Any],
              progress: Callable[[int], None] | None) -> list[Lanes]:
    results: dict[int, Lanes] = {}

    def collect(first: int, lanes: Lanes) -> None:
        results[first] = lanes
        if progress is not None:
            progress(int(lanes.ids.shape[0]))

    if scheduler is not None:
        _on_dask(chunks, seed, scheduler, opener, collect)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            local = {pool.submit(stress_chunk, opener, seed, first, n): first for first, n in chunks}
            for future in as_completed(local):
                collect(local[future], future.result())
    return [results[first] for first, _n in chunks]


def _on_dask(chunks: list[tuple[int, int]], seed: int, scheduler: Any, opener: dict[str, Any],
             collect: Callable[[int, Lanes], None]) -> None:
    from distributed import Client
    from distributed import as_completed as dask_completed

    own = not isinstance(scheduler, Client)
    client = Client(scheduler, timeout="20s") if own else scheduler  # type: ignore[no-untyped-call]
    try:
        remote = {client.submit(stress_chunk, opener, seed, first, n, pure=False): first for first, n in chunks}
        for future in dask_completed(remote):  # type: ignore[no-untyped-call]
            collect(remote[future], future.result())
    finally:
        if own:
            client.close()


def stress_page(run: StressRun, session: ModelSession, command: str) -> StressPage:
    """What the Stress sheet shows of ``run`` besides its figures."""
    spec, profile = run.spec, session.profile
    varied = [(name, dist.describe(), dist.source or spec.sources.get(name, ""))
              for name, dist in (*spec.curve.items(), *spec.cells.items())]
    c = spec.copula
    shocks: list[tuple[str, object, str]] = [
        ("sigma_gpu", c.sigma_gpu, "GPU spot price volatility, a year (monthly log-normal shocks)"),
        ("sigma_btc", c.sigma_btc, "BTC price volatility, a year"),
        ("rho", c.rho, "correlation of the GPU and BTC shocks, calm regime"),
        ("rho_stress", c.rho_stress, "the same in the convergence regime"),
        ("p_enter", c.p_enter, "chance a month enters the convergence regime"),
        ("p_exit", c.p_exit, "chance a month in it leaves"),
        ("stress_drift_gpu", c.stress_drift_gpu, "GPU log-drift a month in the regime (calm months offset it)"),
        ("stress_drift_btc", c.stress_drift_btc, "BTC log-drift a month in the regime (calm months offset it)"),
    ]
    if spec.btc_price0 is not None:
        shocks.append(("btc.price0", spec.btc_price0, "BTC price at the first month"))
    if profile.margin_call:
        margin = (f"Margin calls: the workbook's own margin-call line ({format_range(profile.margin_call)}), "
                  "computed by its formulas on each scenario's BTC path.")
    elif spec.margin is not None and spec.btc_price0 is not None:
        t = spec.margin
        margin = (f"Margin calls: the workbook has no BTC-backed loan line, so models/ supplies the mechanics "
                  f"(spec [margin]): a loan of {t.loan:,.0f} on {t.btc_pledged:,.0f} BTC pledged, a call at "
                  f"{t.call_ltv:.0%} loan-to-value, liquidation at {t.liquidation_ltv:.0%} or after "
                  f"{t.cure_months} month(s) uncured.")
    else:
        margin = "No BTC-backed loan in the workbook or the spec: no margin-call figures."
    return StressPage(run.figures(), spec.description, varied, shocks, margin, command,
                      date1904=session.source.date1904)
