"""models/scenarios.py: stress specs, the draws, the copula's regime, margin-call mechanics, and the
curve for many scenarios at once (against models.curves.rent_after, scenario by scenario)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.curves import Contract, Launch, RentMode, changed_periods, rent_after
from models.periods import Frequency, PeriodGrid, add_months, month_index
from models.presets import get_preset
from models.scenarios import (
    Copula,
    Distribution,
    MarginTerms,
    StressSpec,
    draw,
    lane_rents,
    load_spec,
    margin_calls,
    spec_names,
)


def test_the_shipped_specs_load_and_say_where_their_numbers_come_from() -> None:
    assert spec_names() == ("h100-stress-mc", "miner-convergence")
    for name in spec_names():
        spec = load_spec(name)
        assert spec.name == name
        assert all(d.source for d in spec.curve.values()), name
        assert spec.copula.source
    miner = load_spec("miner-convergence")
    assert miner.margin is not None and miner.btc_price0 == 75_000.0 and miner.refinancing == date(2029, 10, 1)


@pytest.mark.parametrize("dist, u, expected", [
    # uniform(0.1, 0.3): the midpoint at u = 0.5
    (Distribution("uniform", low=0.1, high=0.3), 0.5, 0.2),
    # a symmetric triangular(0, 1, 2) has its median at the mode
    (Distribution("triangular", low=0.0, mode=1.0, high=2.0), 0.5, 1.0),
    # triangular(0, 0, 1): F(x) = 1 - (1 - x)^2, so F^-1(0.75) = 1 - sqrt(0.25) = 0.5
    (Distribution("triangular", low=0.0, mode=0.0, high=1.0), 0.75, 0.5),
    # integers -3 … 6 (ten values, both ends in): u = 0 gives -3, u just under 1 gives 6, u = 0.35 the 4th
    (Distribution("integers", low=-3, high=6), 0.0, -3.0),
    (Distribution("integers", low=-3, high=6), 0.9999, 6.0),
    (Distribution("integers", low=-3, high=6), 0.35, 0.0),
    # normal(0.2, 0.05): the median is the mean; u = Phi(1) = 0.841345 is one sd above
    (Distribution("normal", mean=0.2, sd=0.05), 0.5, 0.2),
    (Distribution("normal", mean=0.2, sd=0.05), 0.8413447460685429, 0.25),
    # lognormal with log-mean ln 2: the median is 2
    (Distribution("lognormal", mean=math.log(2.0), sd=0.3), 0.5, 2.0),
    (Distribution("fixed", value=0.181), 0.3, 0.181),
])
def test_each_distribution_by_its_inverse_cdf(dist: Distribution, u: float, expected: float) -> None:
    assert float(dist.ppf(np.array([u]))[0]) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("dist, frozen", [
    (Distribution("triangular", low=0.113, mode=0.181, high=0.330), ("triang", (0.313364, ), 0.113, 0.217)),
    (Distribution("triangular", low=1.0, mode=3.0, high=3.0), ("triang", (1.0,), 1.0, 2.0)),
    (Distribution("normal", mean=0.2, sd=0.05, low=0.1, high=0.25), ("truncnorm", (-2.0, 1.0), 0.2, 0.05)),
    (Distribution("normal", mean=0.2, sd=0.05), ("norm", (), 0.2, 0.05)),
])
def test_the_closed_forms_are_scipy_stats_inverse_cdfs(dist: Distribution, frozen) -> None:
    """models/ draws without importing scipy.stats (it costs a run 0.6 s); scipy.stats is the check."""
    from scipy import stats

    name, shape, loc, scale = frozen
    u = np.linspace(0.0005, 0.9995, 999)
    expected = getattr(stats, name).ppf(u, *shape, loc=loc, scale=scale)
    np.testing.assert_allclose(dist.ppf(u), expected, rtol=1e-6, atol=1e-9)


def test_a_truncated_normal_stays_in_its_bounds() -> None:
    dist = Distribution("normal", mean=0.2, sd=0.5, low=0.0, high=0.4)
    values = dist.ppf(np.linspace(0.0, 1.0, 101))
    assert values.min() >= 0.0 and values.max() <= 0.4


def test_the_calm_regime_offsets_the_stress_drift() -> None:
    copula = Copula(p_enter=0.04, p_exit=0.17, stress_drift_btc=-0.116)
    # stationary share in stress: 0.04 / (0.04 + 0.17) = 0.190476; calm drift = 0.190476 x 0.116 / 0.809524
    assert copula.stress_share == pytest.approx(0.04 / 0.21)
    assert copula.calm_drift(-0.116) == pytest.approx(0.0272941, rel=1e-5)
    # over the long run the two regimes' drifts cancel
    share = copula.stress_share
    assert share * -0.116 + (1 - share) * copula.calm_drift(-0.116) == pytest.approx(0.0, abs=1e-15)
    assert Copula().calm_drift(-0.1) == 0.0  # no regime, no offset


def test_margin_calls_by_hand() -> None:
    terms = MarginTerms(loan=100.0, btc_pledged=2.0, call_ltv=0.70, liquidation_ltv=0.80, cure_months=1)
    # LTV = 100 / (2 x price): 0.50, 0.714, 0.769, 0.833, 0.625
    calls, liquidations = margin_calls(np.array([[100.0, 70.0, 65.0, 60.0, 80.0]]), terms)
    assert calls.tolist() == [[False, True, True, True, False]]
    # month 3: a call two months old (past the one-month cure); month 4: LTV at 0.833 >= 0.80
    assert liquidations.tolist() == [[False, False, True, True, False]]


MINER = load_spec("miner-convergence")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), first=st.integers(0, 10_000), n=st.integers(2, 12), cut=st.integers(1, 11))
def test_a_scenario_draws_the_same_numbers_however_a_run_is_split(seed: int, first: int, n: int, cut: int) -> None:
    cut = min(cut, n - 1)
    whole = draw(MINER, seed, first, n, 24)
    head, tail = draw(MINER, seed, first, cut, 24), draw(MINER, seed, first + cut, n - cut, 24)
    assert whole.btc_price is not None and head.btc_price is not None and tail.btc_price is not None
    np.testing.assert_array_equal(whole.gpu_shock, np.concatenate([head.gpu_shock, tail.gpu_shock]))
    np.testing.assert_array_equal(whole.btc_price, np.concatenate([head.btc_price, tail.btc_price]))
    for name in MINER.names:
        np.testing.assert_array_equal(whole.quantities[name],
                                      np.concatenate([head.quantities[name], tail.quantities[name]]))


def test_a_certain_spec_draws_nothing() -> None:
    spec = replace(load_spec("miner-convergence"), btc_drift=0.12).certain()
    d = draw(spec, 7, 0, 5, 13)
    assert d.quantities == {}
    np.testing.assert_array_equal(d.gpu_shock, np.ones((5, 13)))
    assert not d.stress_months.any()
    # the BTC path is its drift alone: price0 x exp(0.12 t / 12), t months after the first
    assert d.btc_price is not None
    np.testing.assert_allclose(d.btc_price[0], 75_000.0 * np.exp(0.01 * np.arange(13)), rtol=1e-12)


def test_correlation_shows_in_the_draws() -> None:
    spec = StressSpec("c", "h100-base", copula=Copula(sigma_gpu=0.3, sigma_btc=0.7, rho=0.6), btc_price0=1.0)
    d = draw(spec, 1, 0, 4000, 2)
    assert d.btc_price is not None
    gpu, btc = np.log(d.gpu_shock[:, 1]), np.log(d.btc_price[:, 1])
    # 4,000 pairs: the sample correlation's standard error is about (1 - 0.36) / sqrt(4000) = 0.010
    assert np.corrcoef(gpu, btc)[0, 1] == pytest.approx(0.6, abs=0.05)
    alone = draw(spec, 1, 0, 4000, 2, independent=True)
    assert alone.btc_price is not None
    assert abs(np.corrcoef(np.log(alone.gpu_shock[:, 1]), np.log(alone.btc_price[:, 1]))[0, 1]) < 0.05


GRID = PeriodGrid.from_start(date(2026, 7, 1), Frequency.QUARTERLY, 12)
RENT = np.full(12, 30.0)


def _one(params, q: dict[str, float]):
    """A scenario's curve parameters, by hand: what a conversion with those draws would be given."""
    shift, scale = int(q["launch_jitter_months"]), q["launch_step_scale"]
    launches = tuple(Launch(add_months(k.date, shift), min(k.step * scale, 0.999)) if k.date > params.price_date
                     else k for k in params.launches)
    util = tuple(min(max(u * q["util_scale"], 0.0), 1.0) for u in params.util)
    return params.with_overrides(d=q["d"], floor=q["floor"], util=util, launches=launches)


@pytest.mark.parametrize("mode", [RentMode.INDEX, RentMode.ABSOLUTE])
@pytest.mark.parametrize("contract", [None, Contract(date(2027, 6, 30), 2)])
def test_lane_rents_are_the_curve_of_each_scenario(mode: RentMode, contract: Contract | None) -> None:
    params = get_preset("h100-stress").curve.with_overrides(start=date(2026, 7, 1), gpus=1000, unit_scale=1e-6)
    spec = load_spec("h100-stress-mc")
    spec = replace(spec, curve={**spec.curve, "launch_step_scale": Distribution("uniform", low=0.7, high=1.3)})
    first = min(GRID.span()[0], month_index(params.start))
    months = GRID.span()[1] - first + 1
    draws = draw(spec, 5, 0, 30, months)
    changed = changed_periods(RENT, mode, 0)
    lanes = lane_rents(RENT, GRID, params, changed, 0, mode is RentMode.INDEX, draws, first, contract=contract)
    for i in range(30):
        q = {k: float(v[i]) for k, v in draws.quantities.items()}
        expected = rent_after(RENT, GRID, _one(params, q), mode, anchor=0, contract=contract,
                              shocks=draws.gpu_shock[i])
        np.testing.assert_allclose(lanes[i], expected, rtol=1e-12, err_msg=f"scenario {i}")
