"""Stress scenarios: a spec of what varies, seeded draws per scenario, the copula joining GPU and BTC
shocks, and the GPU rent curve evaluated for many scenarios at once.

Reproducibility: scenario ``i`` of a run with seed ``s`` draws everything from its own stream,
``SeedSequence(s, spawn_key=(i,))`` — the stream ``SeedSequence(s).spawn(n)[i]`` would give — so a
scenario's numbers do not depend on how the run is split across processes or machines.

What a scenario draws (each from its own stream, in this order): one uniform per varied quantity
(turned into the quantity by its distribution's inverse CDF), then per month two standard normals
(the GPU and BTC shocks before correlation) and two uniforms (the regime chains: the shared one, and
the BTC chain used when the factors are run as independent).

The GPU and BTC monthly log-returns are a Gaussian copula with a *convergence regime* (a two-state
Markov chain per scenario): in the calm state the shocks are correlated by ``rho``; in the stress
state — entered with probability ``p_enter`` a month, left with ``p_exit`` — both drift down and their
correlation rises to ``rho_stress``. ``docs/stress.md`` says why a regime rather than a t-copula.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from models.curves import Contract
from models.distributions import Distribution
from models.params import CurveParams, Launch
from models.periods import PeriodGrid, add_months, days_in_month, month_index
from models.validate import check, finite

__all__ = [
    "Copula", "Distribution", "Draws", "MarginTerms", "StressSpec", "draw", "lane_rents", "load_spec",
    "margin_calls", "spec_names",
]

FloatArray = npt.NDArray[np.float64]
CURVE_DRAWS = ("d", "p0", "floor", "util_scale", "launch_step_scale", "launch_jitter_months")


@dataclass(frozen=True)
class Copula:
    """Monthly GPU and BTC log-shocks: volatilities (a year), correlation, and the convergence regime.

    ``sigma_gpu``/``sigma_btc`` are annual volatilities of the log price; a month's shock has
    ``sigma / sqrt(12)``. In the stress regime the month's log-returns drift by ``stress_drift_gpu``
    and ``stress_drift_btc`` (negative: both fall) and correlate by ``rho_stress``.
    """

    sigma_gpu: float = 0.0
    sigma_btc: float = 0.0
    rho: float = 0.0
    rho_stress: float = 0.0
    p_enter: float = 0.0
    p_exit: float = 1.0
    stress_drift_gpu: float = 0.0
    stress_drift_btc: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("sigma_gpu", "sigma_btc"):
            check(name, getattr(self, name), finite(getattr(self, name)) and getattr(self, name) >= 0, ">= 0")
        for name in ("rho", "rho_stress"):
            check(name, getattr(self, name), finite(getattr(self, name)) and -1 <= getattr(self, name) <= 1, "in [-1, 1]")
        for name in ("p_enter", "p_exit"):
            check(name, getattr(self, name), finite(getattr(self, name)) and 0 <= getattr(self, name) <= 1, "in [0, 1]")

    @property
    def stress_share(self) -> float:
        """The long-run share of months in the stress regime, ``p_enter / (p_enter + p_exit)``."""
        return 0.0 if self.p_enter == 0 else self.p_enter / (self.p_enter + self.p_exit)

    def calm_drift(self, stress_drift: float) -> float:
        """The calm months' drift that offsets ``stress_drift`` over the long run (mean drift 0)."""
        share = self.stress_share
        return 0.0 if share in (0.0, 1.0) else -share * stress_drift / (1.0 - share)

    def independent(self) -> Copula:
        """The same marginals with the factors independent (correlation 0 in both regimes, one regime
        chain per factor): the ``rho = 0`` counterfactual."""
        return replace(self, rho=0.0, rho_stress=0.0)


@dataclass(frozen=True)
class MarginTerms:
    """A BTC-backed loan: the margin call when loan-to-value reaches ``call_ltv``, liquidation at
    ``liquidation_ltv`` or when a call is not cured within ``cure_months``."""

    loan: float
    btc_pledged: float
    call_ltv: float = 0.70
    liquidation_ltv: float = 0.80
    cure_months: int = 1
    source: str = ""

    def __post_init__(self) -> None:
        check("loan", self.loan, finite(self.loan) and self.loan > 0, "> 0")
        check("btc_pledged", self.btc_pledged, finite(self.btc_pledged) and self.btc_pledged > 0, "> 0")
        check("call_ltv", self.call_ltv, 0 < self.call_ltv < self.liquidation_ltv, "in (0, liquidation_ltv)")
        check("cure_months", self.cure_months, isinstance(self.cure_months, int) and self.cure_months >= 0, ">= 0")


@dataclass(frozen=True)
class StressSpec:
    """What a stress run varies, and how (see ``docs/stress.md`` for the TOML it is read from)."""

    name: str
    preset: str
    description: str = ""
    curve: Mapping[str, Distribution] = field(default_factory=dict)
    cells: Mapping[str, Distribution] = field(default_factory=dict)
    copula: Copula = field(default_factory=Copula)
    btc_price0: float | None = None
    btc_drift: float = 0.0  # annual drift of the log BTC price
    margin: MarginTerms | None = None
    refinancing: date | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.curve) - set(CURVE_DRAWS))
        check("vary", unknown, not unknown, "curve quantities among " + ", ".join(CURVE_DRAWS))
        if self.margin is not None:
            check("btc.price0", self.btc_price0, self.btc_price0 is not None and finite(self.btc_price0)
                  and self.btc_price0 > 0, "a positive BTC price when margin terms are given")

    @property
    def names(self) -> tuple[str, ...]:
        """The varied quantities in draw order: curve quantities, then template cells."""
        return tuple(self.curve) + tuple(self.cells)

    def certain(self) -> StressSpec:
        """The spec with nothing uncertain: no quantity drawn (the curve's and the workbook's own values
        stay), no monthly shock, no stress regime; the BTC path is its drift alone. A run of it is the
        deterministic conversion, scenario by scenario."""
        return replace(self, curve={}, cells={},
                       copula=replace(self.copula, sigma_gpu=0.0, sigma_btc=0.0, p_enter=0.0))


def spec_names() -> tuple[str, ...]:
    """The shipped specs (``models/specs/*.toml``), by name."""
    folder = resources.files("models") / "specs"
    return tuple(sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")))


def load_spec(name_or_text: str, *, text: str | None = None) -> StressSpec:
    """A shipped spec by name, or (``text`` given) a spec from TOML text; a ValueError names what is wrong."""
    if text is None:
        if name_or_text not in spec_names():
            raise ValueError(f"spec: unknown name {name_or_text!r}; shipped: {', '.join(spec_names())}")
        text = (resources.files("models") / "specs" / f"{name_or_text}.toml").read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"spec: not valid TOML ({exc})") from exc
    return _spec_from(doc, name_or_text)


def _dist(name: str, table: Any) -> Distribution:
    if not isinstance(table, dict):
        raise ValueError(f"vary.{name}: give a table such as {{ dist = \"uniform\", low = 0.1, high = 0.3 }}")
    known = {"dist", "low", "high", "mode", "mean", "sd", "value", "source"}
    extra = sorted(set(table) - known)
    if extra:
        raise ValueError(f"vary.{name}: unknown key {extra[0]!r}; known: {', '.join(sorted(known))}")
    numbers = {k: float(v) for k, v in table.items() if k not in ("dist", "source")}
    try:
        return Distribution(str(table.get("dist", "")), source=str(table.get("source", "")), **numbers)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"vary.{name}: {exc}") from None


def _spec_from(doc: dict[str, Any], name: str) -> StressSpec:
    vary = doc.get("vary", {})
    curve = {k: _dist(k, v) for k, v in vary.items() if "!" not in k}
    cells = {k: _dist(k, v) for k, v in vary.items() if "!" in k}
    shocks = doc.get("shocks", {})
    try:
        copula = Copula(source=str(shocks.get("source", "")),
                        **{k: float(v) for k, v in shocks.items() if k != "source"})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"shocks: {exc}") from None
    btc = doc.get("btc", {})
    margin_doc = doc.get("margin")
    margin = None
    if margin_doc is not None:
        try:
            margin = MarginTerms(float(margin_doc["loan"]), float(margin_doc["btc_pledged"]),
                                 float(margin_doc.get("call_ltv", 0.70)), float(margin_doc.get("liquidation_ltv", 0.80)),
                                 int(margin_doc.get("cure_months", 1)), str(margin_doc.get("source", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"margin: {exc}") from None
    refinancing = doc.get("refinancing", {}).get("date")
    return StressSpec(
        name=str(doc.get("name", name)), preset=str(doc.get("preset", "h100-stress")),
        description=str(doc.get("description", "")), curve=curve, cells=cells, copula=copula,
        btc_price0=float(btc["price0"]) if "price0" in btc else None, btc_drift=float(btc.get("drift", 0.0)),
        margin=margin, refinancing=date.fromisoformat(refinancing) if isinstance(refinancing, str) else refinancing,
        sources={str(k): str(v) for k, v in doc.get("sources", {}).items()})


# -- draws ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Draws:
    """Everything scenarios ``first … first + n - 1`` drew (arrays: one row per scenario)."""

    ids: npt.NDArray[np.int64]
    quantities: dict[str, FloatArray]  # varied quantity -> one value per scenario
    gpu_shock: FloatArray  # (n, months): the cumulative multiplier on the spot price, 1 at the start
    btc_price: FloatArray | None  # (n, months): the BTC price path
    stress_months: npt.NDArray[np.bool_]  # (n, months): the shared regime was stress


def _stream(seed: int, scenario: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(scenario,))))


def draw(spec: StressSpec, seed: int, first: int, n: int, months: int, *, independent: bool = False) -> Draws:
    """Scenarios ``first`` … ``first + n - 1`` of a run (the same numbers whatever the split)."""
    names = spec.names
    u = np.empty((n, len(names)))
    z = np.empty((n, months, 2))
    reg = np.empty((n, months, 2))
    for i in range(n):
        rng = _stream(seed, first + i)
        u[i] = rng.random(len(names))
        z[i] = rng.standard_normal((months, 2))
        reg[i] = rng.random((months, 2))
    quantities = {name: (spec.curve.get(name) or spec.cells[name]).ppf(u[:, k]) for k, name in enumerate(names)}
    copula = spec.copula.independent() if independent else spec.copula
    shared = _regime(reg[:, :, 0], copula)
    btc_regime = _regime(reg[:, :, 1], copula) if independent else shared
    rho = np.where(shared, copula.rho_stress, copula.rho)
    eps_gpu = z[:, :, 0]
    eps_btc = rho * z[:, :, 0] + np.sqrt(1.0 - rho**2) * z[:, :, 1]
    s_g, s_b = copula.sigma_gpu / math.sqrt(12), copula.sigma_btc / math.sqrt(12)
    # log-returns with a mean of -s^2/2, so a month's multiplier averages 1; the stress regime's drift is
    # offset in calm months by the drift that keeps the long-run mean at that (the regime brings
    # drawdowns and recoveries, no trend: the trend is the curve's decline and the spec's BTC drift)
    calm_gpu, calm_btc = copula.calm_drift(copula.stress_drift_gpu), copula.calm_drift(copula.stress_drift_btc)
    log_gpu = s_g * eps_gpu - s_g**2 / 2 + np.where(shared, copula.stress_drift_gpu, calm_gpu)
    gpu = np.exp(np.cumsum(log_gpu, axis=1) - log_gpu[:, :1])  # 1 in the first month
    btc = None
    if spec.btc_price0 is not None:
        log_btc = (spec.btc_drift / 12 + s_b * eps_btc - s_b**2 / 2
                   + np.where(btc_regime, copula.stress_drift_btc, calm_btc))
        btc = spec.btc_price0 * np.exp(np.cumsum(log_btc, axis=1) - log_btc[:, :1])
    return Draws(np.arange(first, first + n), quantities, gpu, btc, shared)


def _regime(u: FloatArray, copula: Copula) -> npt.NDArray[np.bool_]:
    """A two-state chain per scenario (calm at the start): stress entered with ``p_enter``, left with
    ``p_exit`` a month."""
    out = np.zeros(u.shape, dtype=np.bool_)
    state = np.zeros(u.shape[0], dtype=np.bool_)
    for t in range(u.shape[1]):
        state = np.where(state, u[:, t] >= copula.p_exit, u[:, t] < copula.p_enter)
        out[:, t] = state
    return out


# -- the curve for many scenarios ------------------------------------------------------------------
def lane_rents(rent_before: FloatArray, grid: PeriodGrid, params: CurveParams, changed: npt.NDArray[np.bool_],
               anchor: int, index_mode: bool, draws: Draws, first_month: int, *,
               contract: Contract | None = None) -> FloatArray:
    """The re-priced rent row of every scenario, ``(n, periods)``: :func:`models.curves.rent_after` with
    each scenario's draws applied (decline, price, floor, utilisation scale, launch shifts and steps,
    and the monthly GPU shock on the spot price, before the floor). ``draws`` months start at
    ``first_month`` (a month index) and cover the grid and the deal start; ``changed`` are the periods
    the curve re-prices (:func:`models.curves.changed_periods`), less any ``contract``'s contracted ones,
    whose re-leasing gap earns nothing."""
    n = draws.ids.shape[0]
    q = draws.quantities
    assert params.start is not None
    months = np.arange(first_month, first_month + draws.gpu_shock.shape[1])
    one = np.ones((n, 1))
    d = q["d"][:, None] if "d" in q else one * params.d
    p0 = q["p0"][:, None] if "p0" in q else one * params.p0
    floor = q["floor"][:, None] if "floor" in q else one * params.floor
    shift = q.get("launch_jitter_months", np.zeros(n))[:, None]
    step_scale = q.get("launch_step_scale", np.ones(n))[:, None]
    t = months[None, :].astype(np.float64)
    price = p0 * np.power(1.0 - d, (t - month_index(params.price_date)) / 12.0) * draws.gpu_shock
    for launch in params.launches:
        if launch.date <= params.price_date:
            continue  # already in p0, and not moved: a scenario shifts only launches still to come
        # the launch in each scenario: its date moved by whole months, ignored if that falls on or before
        # the price date (as the curve ignores any launch p0 already prices)
        m_k = np.empty((n, 1))
        active = np.empty((n, 1))
        for s in np.unique(shift):
            moved = add_months(launch.date, int(s))
            rows = shift[:, 0] == s
            m_k[rows] = _launch_month(Launch(moved, launch.step))
            active[rows] = 1.0 if moved > params.price_date else 0.0
        step = np.minimum(launch.step * step_scale, 0.999) * active
        ramp = (t >= m_k).astype(np.float64) if params.ramp_months == 0 else \
            np.clip((t - m_k) / params.ramp_months, 0.0, 1.0)
        price = price * (1.0 - step * ramp)
    spot = np.maximum(floor, price)
    m = months - month_index(params.start)
    years = np.clip(m // 12, 0, len(params.util) - 1)
    util = np.asarray(params.util)[years][None, :] * q.get("util_scale", np.ones(n))[:, None]
    util = np.clip(util, 0.0, 1.0)
    share = np.where((m >= 0) & (m < params.contract_months), params.c, 0.0)[None, :]
    realised = share * params.p_contract + (1.0 - share) * util * spot
    earning = np.ones(months.shape[0]) if contract is None else contract.earning(months)
    if contract is not None:
        changed = changed & ~contract.contracted(grid)
    out = np.tile(rent_before, (n, 1))
    if index_mode:
        start = int(month_index(params.start) - first_month)
        index = realised / realised[:, start:start + 1] * earning[None, :]
        means = _period_means(index, first_month, grid)
        new = rent_before[anchor] * means / means[:, anchor:anchor + 1]
    else:
        assert params.gpus is not None
        days = np.array([days_in_month(int(x)) for x in months], dtype=np.float64)
        revenue = 24.0 * days[None, :] * realised * earning[None, :]
        lo = grid.first_month - first_month
        hi = grid.last_month - first_month + 1
        sums = np.stack([revenue[:, a:b].sum(axis=1) for a, b in zip(lo.tolist(), hi.tolist(), strict=True)], axis=1)
        new = params.unit_scale * params.gpus * sums
    out[:, changed] = new[:, changed]
    return out


def _period_means(values: FloatArray, first_month: int, grid: PeriodGrid) -> FloatArray:
    """:func:`models.periods.period_means` of every row (the same slices, so the same numbers)."""
    lo = grid.first_month - first_month
    hi = grid.last_month - first_month + 1
    return np.stack([values[:, a:b].mean(axis=1) for a, b in zip(lo.tolist(), hi.tolist(), strict=True)], axis=1)


def _launch_month(launch: Launch) -> int:
    m = month_index(launch.date)
    return m if launch.date.day == 1 else m + 1


def margin_calls(btc_price: FloatArray, terms: MarginTerms) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Each scenario-month's margin call and liquidation, ``(calls, liquidations)`` of shape (n, months):
    a call while LTV = loan / (BTC pledged x price) is at or above ``call_ltv``; a liquidation when LTV
    reaches ``liquidation_ltv`` or a call lasts longer than ``cure_months``."""
    ltv = terms.loan / (terms.btc_pledged * btc_price)
    calls = ltv >= terms.call_ltv
    run = np.zeros(calls.shape, dtype=np.int64)
    for t in range(calls.shape[1]):
        run[:, t] = np.where(calls[:, t], (run[:, t - 1] if t else 0) + 1, 0)
    liquidations = (ltv >= terms.liquidation_ltv) | (run > terms.cure_months)
    return calls, liquidations
