"""Tests for models.collateral against the calibration of docs/sources.md (collateral model).

Expected numbers are worked by hand in the comments (rates rel=1e-9, money abs=0.005)
or are the reference's quoted figures, which are rounded to 2 decimals.
"""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.collateral import (
    COLLATERAL_PARAM_NAMES,
    SALE_CHANNELS,
    CollateralParams,
    collateral_path,
    depth_haircut,
    forced_share,
    months_since_valuation,
    orderly_share,
    parse_collateral_param,
)
from models.params import Launch
from models.presets import PRESETS, get_preset

VALUATION = date(2026, 7, 1)
# Product of the base steps once all three have landed: (1-0.15)(1-0.10)(1-0.15).
ALL_BASE_STEPS = 0.85 * 0.90 * 0.85  # = 0.65025


def make(**kw: Any) -> CollateralParams:
    """No decay, no launches, no floor: every effect is switched on by the test."""
    base: dict[str, Any] = {"valuation_date": VALUATION, "mu": 0.0, "scrap_pct": 0.0}
    base.update(kw)
    return CollateralParams(**base)


def ages(*months: int) -> np.ndarray:
    return np.array(months, dtype=np.int64)


# -- the calibration: orderly value by year with the base steps --------------------
@pytest.mark.parametrize(
    ("year", "exact", "quoted"),
    [
        # Year 1 = 2027-07: only Rubin (2026-10) has landed.  e^-0.25 * 0.85 = 0.6620.
        (1, math.exp(-0.25) * 0.85, 0.66),
        # Year 3 onwards = 2029-07 and later: all three steps.  e^-0.75 * 0.65025 = 0.3072.
        (3, math.exp(-0.75) * ALL_BASE_STEPS, 0.31),
        (4, math.exp(-1.00) * ALL_BASE_STEPS, 0.24),  # 0.36788 * 0.65025 = 0.2392
        (5, math.exp(-1.25) * ALL_BASE_STEPS, 0.19),  # 0.28650 * 0.65025 = 0.1863
        (6, math.exp(-1.50) * ALL_BASE_STEPS, 0.15),  # 0.22313 * 0.65025 = 0.1451
    ],
    ids=["yr1", "yr3", "yr4", "yr5", "yr6"],
)
def test_orderly_reproduces_reference_years(year: int, exact: float, quoted: float) -> None:
    share = float(orderly_share(get_preset("h100-base").collateral, ages(12 * year))[0])
    assert share == pytest.approx(exact, rel=1e-9)
    assert round(share, 2) == quoted  # the calibration: "yr 1 ≈ 0.66, ..., yr 6 ≈ 0.15"


def test_year_two_differs_from_reference_because_feynman_lands_on_month_24() -> None:
    # The calibration quotes yr 2 ≈ 0.46 = e^-0.5 * 0.85 * 0.90 = 0.4640 (Rubin and Rubin Ultra only).
    # But Feynman's date 2028-07-01 is month 24 exactly, and the calibration's formula applies every
    # launch L <= t, so with immediate steps year 2 is e^-0.5 * 0.65025 = 0.3944.
    # Documented in the module docstring instead of tuned away.
    params = get_preset("h100-base").collateral
    year2 = float(orderly_share(params, ages(24))[0])
    assert year2 == pytest.approx(math.exp(-0.5) * ALL_BASE_STEPS, rel=1e-9)
    assert round(year2, 2) == 0.39
    # One month earlier Feynman has not landed: e^(-0.25*23/12) * 0.85 * 0.90 = 0.4738.
    month23 = float(orderly_share(params, ages(23))[0])
    assert month23 == pytest.approx(math.exp(-0.25 * 23 / 12) * 0.85 * 0.90, rel=1e-9)
    # Any ramp of 1-9 months leaves Feynman at 0 % on month 24 and Rubin Ultra (month 15)
    # fully in by then, so the quoted 0.46 comes back: e^-0.5 * 0.765 = 0.4640.
    for ramp in (1, 6, 9):
        ramped = float(orderly_share(params.with_overrides(ramp_months=ramp), ages(24))[0])
        assert round(ramped, 2) == 0.46


def test_sanity_check_h100_year3_auction_dlc() -> None:
    # The calibration's sanity check: 0.31 * 0.65 * 0.85 - 0.07 * 0.31 ≈ 0.15 of cost.
    # Exactly: 0.30716 * (0.65 * 0.85 - 0.07) = 0.30716 * 0.4825 = 0.14820 (no depth haircut).
    share = float(forced_share(get_preset("h100-base").collateral, ages(36))[0])
    assert share == pytest.approx(math.exp(-0.75) * ALL_BASE_STEPS * 0.4825, rel=1e-9)
    assert round(share, 2) == 0.15


# -- month convention, ramps, floor ----------------------------------------------------
@pytest.mark.parametrize(
    ("launches", "ramp", "months", "expected"),
    [
        # 2026-10-01 is month 3 from July: no step at 2, the full 20 % at 3.
        ((Launch(date(2026, 10, 1), 0.2),), 0, (2, 3, 4), (1.0, 0.8, 0.8)),
        # 2026-10-15 counts from the next month-start, 2026-11 = month 4.
        ((Launch(date(2026, 10, 15), 0.2),), 0, (3, 4), (1.0, 0.8)),
        # Ramp R = 4 from month 3: 1 - 0.2 * (t-3)/4 -> 1, 0.95, 0.90, 0.85, 0.80, 0.80.
        ((Launch(date(2026, 10, 1), 0.2),), 4, (3, 4, 5, 6, 7, 8), (1.0, 0.95, 0.9, 0.85, 0.8, 0.8)),
        # Launches on or before the valuation date are in the cost already: ignored.
        ((Launch(VALUATION, 0.3), Launch(date(2026, 1, 1), 0.3)), 0, (0, 12), (1.0, 1.0)),
        # Two steps multiply: 0.8 * 0.5 = 0.4 from month 6.
        ((Launch(date(2026, 10, 1), 0.2), Launch(date(2027, 1, 1), 0.5)), 0, (5, 6), (0.8, 0.4)),
    ],
    ids=["step-on-first", "mid-month-next-month", "ramp-4", "past-launches-ignored", "two-steps"],
)
def test_orderly_launch_months(
    launches: tuple[Launch, ...], ramp: int, months: tuple[int, ...], expected: tuple[float, ...]
) -> None:
    got = orderly_share(make(launches=launches, ramp_months=ramp), ages(*months))
    assert got.tolist() == pytest.approx(expected, rel=1e-9)


def test_orderly_decay_and_scrap_floor() -> None:
    params = make(mu=1.0, scrap_pct=0.05)
    # e^-0.5 = 0.60653 at 6 months; e^-4 = 0.0183 at 48 months, below the 0.05 floor.
    got = orderly_share(params, ages(0, 6, 48))
    assert got.tolist() == pytest.approx([1.0, math.exp(-0.5), 0.05], rel=1e-9)


@pytest.mark.parametrize(
    "months", [np.array([1.5]), np.array([-1])], ids=["fractional", "negative"]
)
def test_orderly_rejects_bad_ages(months: np.ndarray) -> None:
    with pytest.raises(ValueError, match="months"):
        orderly_share(make(), months)


def test_months_since_valuation() -> None:
    # July 2026 -> 0; 2026-09-30 -> 2; 2027-07-31 -> 12.
    got = months_since_valuation(make(), [date(2026, 7, 31), date(2026, 9, 30), date(2027, 7, 31)])
    assert got.tolist() == [0, 2, 12]


# -- forced sale ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("units", "expected"),
    [
        (0.0, 0.0),  # nothing sold
        (500.0, 0.0125),  # 0.10 * 0.25^1.5 = 0.10 * 0.125
        (2000.0, 0.10),  # one month of volume: k
        (4000.0, 0.1 * 2**1.5),  # 0.10 * 2.8284 = 0.28284
        (8000.0, 0.40),  # 0.10 * 4^1.5 = 0.80, capped at 0.40
    ],
    ids=["none", "quarter-month", "one-month", "two-months", "capped"],
)
def test_depth_haircut(units: float, expected: float) -> None:
    assert depth_haircut(make(), units) == pytest.approx(expected, rel=1e-9)


def test_depth_haircut_rejects_negative_units() -> None:
    with pytest.raises(ValueError, match="units_sold"):
        depth_haircut(make(), -1.0)


@pytest.mark.parametrize(
    ("kw", "units", "expected"),
    [
        # Defaults at age 0, nothing sold: 0.65 * 0.85 - 0.07 = 0.4825.
        ({}, None, 0.4825),
        # gpus 2000 = one month of volume, h_depth 0.10: 0.5525 * 0.9 - 0.07 = 0.42725.
        ({"gpus": 2000.0}, None, 0.42725),
        # An explicit units_sold wins over gpus: 0 units -> 0.4825.
        ({"gpus": 2000.0}, 0.0, 0.4825),
        # Orderly channel, air-cooled: (1 - 0.05) - 0.07 = 0.88.
        ({"h_liq": SALE_CHANNELS["orderly"], "h_infra": 0.05}, None, 0.88),
        # Distressed 7 d, NVL72: 0.45 * 0.75 - 0.07 = 0.2675.
        ({"h_liq": SALE_CHANNELS["distressed"], "h_infra": 0.25}, None, 0.2675),
        # Repo costs exceed what is left: 0.1 * 0.85 - 0.2 < 0, floored at 0.
        ({"h_liq": 0.9, "repo_cost_pct": 0.2}, None, 0.0),
    ],
    ids=["defaults", "depth-from-gpus", "units-override", "orderly-air", "distressed-nvl72", "floor-0"],
)
def test_forced_share(kw: dict[str, Any], units: float | None, expected: float) -> None:
    got = float(forced_share(make(**kw), ages(0), units)[0])
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_collateral_path_money() -> None:
    params = get_preset("h100-base").collateral.with_overrides(gpus=1000.0)
    path = collateral_path(params, ages(0, 36))
    # Fleet cost 1000 * $35,000 = $35,000,000.  h_depth(1000) = 0.1 * 0.5^1.5 = 0.0353553.
    keep = 0.65 * 0.85 * (1 - 0.1 * 0.5**1.5) - 0.07  # = 0.462966
    assert path.months.tolist() == [0, 36]
    assert path.orderly_value[0] == pytest.approx(35_000_000.0, abs=0.005)
    assert path.forced_value[0] == pytest.approx(35_000_000.0 * keep, abs=0.005)  # $16,203,816.6
    orderly36 = 35_000_000.0 * math.exp(-0.75) * ALL_BASE_STEPS  # $10,750,472.4
    assert path.orderly_value[1] == pytest.approx(orderly36, abs=0.005)
    assert path.forced_value[1] == pytest.approx(orderly36 * keep, abs=0.005)


@pytest.mark.parametrize(
    ("kw", "missing"), [({"gpus": 10.0}, "cost_per_gpu"), ({"cost_per_gpu": 1.0}, "gpus")],
    ids=["no-cost", "no-gpus"],
)
def test_collateral_path_needs_cost_and_gpus(kw: dict[str, Any], missing: str) -> None:
    with pytest.raises(ValueError, match=f"^{missing}: not set"):
        collateral_path(make(**kw), ages(0))


# -- parameters and presets -------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"mu": -0.1}, "mu"),
        ({"mu": math.nan}, "mu"),
        ({"scrap_pct": 1.0}, "scrap_pct"),
        ({"h_liq": 1.0}, "h_liq"),
        ({"h_infra": -0.01}, "h_infra"),
        ({"repo_cost_pct": 1.5}, "repo_cost_pct"),
        ({"depth_k": -1.0}, "depth_k"),
        ({"depth_exponent": 0.0}, "depth_exponent"),
        ({"depth_cap": 2.0}, "depth_cap"),
        ({"monthly_volume": 0.0}, "monthly_volume"),
        ({"cost_per_gpu": 0.0}, "cost_per_gpu"),
        ({"gpus": -5.0}, "gpus"),
        ({"ramp_months": 1.5}, "ramp_months"),
        ({"ramp_months": True}, "ramp_months"),
        ({"launches": ("2027-01-01",)}, "launches"),
        ({"valuation_date": "2026-07-01"}, "valuation_date"),
    ],
    ids=lambda v: str(v),
)
def test_params_validation_names_the_parameter(kw: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}:"):
        make(**kw)


def test_params_to_dict_with_overrides_and_names() -> None:
    params = get_preset("h100-base").collateral.with_overrides(gpus=np.float64(512), ramp_months=np.int64(3))
    data = json.loads(json.dumps(params.to_dict()))
    assert tuple(data) == COLLATERAL_PARAM_NAMES
    assert data["valuation_date"] == "2026-07-01"
    assert data["gpus"] == 512.0 and data["ramp_months"] == 3
    assert data["launches"][0] == {"date": "2026-10-01", "step": 0.15}
    with pytest.raises(ValueError, match="^p0: not a collateral parameter"):
        params.with_overrides(p0=1.0)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("h_liq", "auction", 0.35),
        ("h_liq", "0.2", 0.2),
        ("valuation_date", "2027-01-01", date(2027, 1, 1)),
        ("ramp_months", "6", 6),
        ("gpus", "none", None),
        ("launches", "2027-01-01:0.2", (Launch(date(2027, 1, 1), 0.2),)),
        ("launches", "", ()),
    ],
    ids=lambda v: str(v),
)
def test_parse_collateral_param(name: str, text: str, expected: object) -> None:
    assert parse_collateral_param(name, text) == expected


def test_parse_collateral_param_unknown() -> None:
    with pytest.raises(ValueError, match="^d: not a collateral parameter"):
        parse_collateral_param("d", "0.2")


def test_every_preset_has_a_curve_and_a_collateral_model() -> None:
    assert all(p.curve is not None and p.collateral is not None for p in PRESETS.values())


@pytest.mark.parametrize(
    ("name", "steps", "h_infra", "cost"),
    [
        ("h100-base", (0.15, 0.10, 0.15), 0.15, 35_000.0),  # resale steps; the H100 cost (docs/sources.md)
        ("h100-stress", (0.25, 0.20, 0.25), 0.30, 35_000.0),  # S5 "20-30 %"; h_infra doubled
        ("h100-severe", (0.25, 0.20, 0.25), 0.30, 35_000.0),
        ("h100-upside", (0.10, 0.10, 0.10), 0.15, 35_000.0),
        ("a100-base", (0.15, 0.10, 0.15), 0.15, 15_000.0),
        ("h200-base", (0.15, 0.10, 0.15), 0.15, 38_000.0),
        ("b200-base", (0.15, 0.10, 0.15), 0.15, 50_000.0),
    ],
    ids=lambda v: str(v),
)
def test_presets(name: str, steps: tuple[float, ...], h_infra: float, cost: float) -> None:
    params = get_preset(name.upper()).collateral
    assert params.valuation_date == VALUATION
    assert [k.date for k in params.launches] == [date(2026, 10, 1), date(2027, 10, 1), date(2028, 7, 1)]
    assert tuple(k.step for k in params.launches) == steps
    assert params.h_infra == h_infra and params.cost_per_gpu == cost
    assert params.h_liq == SALE_CHANNELS["auction"] and params.gpus is None


def test_unknown_preset_lists_known_names() -> None:
    with pytest.raises(ValueError, match="h100-base, h100-stress"):
        get_preset("x100-base").collateral


# -- properties ----------------------------------------------------------------------
_launch = st.builds(
    Launch,
    st.dates(min_value=date(2025, 1, 1), max_value=date(2032, 12, 31)),
    st.floats(min_value=0.0, max_value=0.9),
)
_params = st.builds(
    CollateralParams,
    valuation_date=st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)),
    mu=st.floats(min_value=0.0, max_value=2.0),
    launches=st.lists(_launch, max_size=4).map(tuple),
    ramp_months=st.integers(min_value=0, max_value=24),
    scrap_pct=st.floats(min_value=0.0, max_value=0.5),
    h_liq=st.sampled_from(sorted(SALE_CHANNELS.values())),
    h_infra=st.floats(min_value=0.0, max_value=0.6),
    repo_cost_pct=st.floats(min_value=0.0, max_value=0.2),
    gpus=st.one_of(st.none(), st.floats(min_value=1.0, max_value=1e5)),
)


@given(_params, st.lists(st.integers(min_value=0, max_value=240), min_size=1, max_size=20))
def test_forced_never_exceeds_orderly(params: CollateralParams, months: list[int]) -> None:
    t = np.array(months, dtype=np.int64)
    forced, orderly = forced_share(params, t), orderly_share(params, t)
    assert np.all(forced <= orderly) and np.all(forced >= 0.0)


@given(_params)
def test_orderly_non_increasing_in_age(params: CollateralParams) -> None:
    values = orderly_share(params, np.arange(0, 241, dtype=np.int64))
    assert np.all(np.diff(values) <= 1e-15)
    assert values[0] <= 1.0 and np.all(values >= params.scrap_pct)
