"""Tests for models.curves against docs/curve.md (hand-computed; rates rel=1e-9, money abs=0.005)."""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.curves import (
    PARAM_NAMES,
    Contract,
    CurveParams,
    Launch,
    RentMode,
    anchor_outlier,
    anchor_period,
    changed_periods,
    contract_share,
    d_from_lambda,
    default_start,
    index,
    monthly_curve,
    parse_launch,
    parse_param,
    realised,
    rent_after,
    resolve_start,
    spot,
    utilisation,
)
from models.periods import Frequency, PeriodGrid, month_index

JAN26 = month_index(date(2026, 1, 1))


def make(**kw: Any) -> CurveParams:
    """Flat, simple parameters: $2.00, no trend, no floor, util 1, no contract."""
    base: dict[str, Any] = dict(
        price_date=date(2026, 1, 1), p0=2.0, d=0.0, floor=0.0, ramp_months=0,
        util=(1.0,), c=0.0, p_contract=0.0, contract_months=0, start=date(2026, 1, 1),
    )  # fmt: skip
    base.update(kw)
    return CurveParams(**base)


def months(*offsets: int) -> np.ndarray:
    return np.array([JAN26 + k for k in offsets], dtype=np.int64)


# -- parameters ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"p0": 0.0}, "p0"),
        ({"p0": math.nan}, "p0"),
        ({"d": 1.0}, "d"),
        ({"d": -0.1}, "d"),
        ({"floor": -0.01}, "floor"),
        ({"ramp_months": -1}, "ramp_months"),
        ({"ramp_months": 1.5}, "ramp_months"),
        ({"util": ()}, "util"),
        ({"util": (0.5, 1.2)}, "util"),
        ({"c": 1.5}, "c"),
        ({"p_contract": -1.0}, "p_contract"),
        ({"contract_months": -3}, "contract_months"),
        ({"gpus": 0.0}, "gpus"),
        ({"unit_scale": 0.0}, "unit_scale"),
    ],
    ids=lambda v: v if isinstance(v, str) else "-".join(f"{k}={w}" for k, w in v.items()),
)
def test_params_validation_names_the_parameter(overrides: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}:"):
        make(**overrides)


def test_launch_step_validated() -> None:
    with pytest.raises(ValueError, match="launches"):
        Launch(date(2027, 1, 1), 1.0)


def test_d_from_lambda() -> None:
    # 1 − e^(−0.12) = 0.113079…; λ = 0 → no decline.
    assert d_from_lambda(0.12) == pytest.approx(1 - math.exp(-0.12), rel=1e-12)
    assert d_from_lambda(0.0) == 0.0


def test_to_dict_is_json_ready_and_ordered() -> None:
    p = make(launches=(Launch(date(2027, 10, 1), 0.15),), gpus=8.0, util=(0.85, 0.75))
    d = p.to_dict()
    assert tuple(d) == PARAM_NAMES
    assert d["price_date"] == "2026-01-01"
    assert d["util"] == [0.85, 0.75]
    assert d["launches"] == [{"date": "2027-10-01", "step": 0.15}]
    assert json.loads(json.dumps(d)) == d


def test_with_overrides_replaces_and_revalidates() -> None:
    p = make()
    assert p.with_overrides(d=0.2, util=[0.5]).util == (0.5,)
    with pytest.raises(ValueError, match="^d:"):
        p.with_overrides(d=2.0)
    with pytest.raises(ValueError, match="^bogus:"):
        p.with_overrides(bogus=1)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("price_date", "2026-07-01", date(2026, 7, 1)),
        ("start", "none", None),
        ("start", "2027-01-01", date(2027, 1, 1)),
        ("p0", "2.40", 2.40),
        ("ramp_months", "6", 6),
        ("ramp_months", "6.0", 6),  # xlwings hands numbers over as floats
        ("util", "0.85, 0.75,0.6", (0.85, 0.75, 0.6)),
        ("gpus", "None", None),
        ("gpus", "1024", 1024.0),
        ("launches", "2026-10-01:0.15,2027-10-01:0.1",
         (Launch(date(2026, 10, 1), 0.15), Launch(date(2027, 10, 1), 0.1))),
        ("launches", "", ()),
    ],
    ids=["date", "start-none", "start", "float", "int", "int-as-float", "util", "gpus-none",
         "gpus", "launches", "launches-empty"],
)  # fmt: skip
def test_parse_param(name: str, text: str, expected: object) -> None:
    assert parse_param(name, text) == expected


@pytest.mark.parametrize(
    ("name", "text"),
    [("price_date", "07/01/2026"), ("p0", "abc"), ("ramp_months", "6.5"), ("util", ""),
     ("launches", "2026-10-01"), ("d", "inf"), ("nope", "1")],
    ids=["date", "float", "int", "util-empty", "launch-no-step", "inf", "unknown"],
)  # fmt: skip
def test_parse_param_errors_name_the_parameter(name: str, text: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}:"):
        parse_param(name, text)


def test_parse_launch() -> None:
    assert parse_launch("2027-10-01:0.15") == Launch(date(2027, 10, 1), 0.15)


# -- spot -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "offsets", "expected"),
    [
        # d = 0.19: 2·0.81^(n/12): n=6 → 2·0.9 = 1.8; n=12 → 1.62; n=24 → 1.3122; n=−12 → 2/0.81.
        (make(d=0.19), (0, 6, 12, 24, -12), (2.0, 1.8, 1.62, 1.3122, 2 / 0.81)),
        # floor 1.7 binds from n=12 (1.62 < 1.7) but not at n=6 (1.8).
        (make(d=0.19, floor=1.7), (6, 12, 24), (1.8, 1.7, 1.7)),
        # Launch on the 1st: M_k = April itself; R=0 → whole step 2·(1−0.2) = 1.6 from April.
        (make(launches=(Launch(date(2026, 4, 1), 0.2),)), (2, 3, 4), (2.0, 1.6, 1.6)),
        # Launch on the 15th: the first month-start on or after is May 1 → step from May.
        (make(launches=(Launch(date(2026, 4, 15), 0.2),)), (3, 4), (2.0, 1.6)),
        # R=2: April ramp 0 → 2.0; May ramp 1/2 → 2·(1−0.15) = 1.7; June ramp 1 → 1.4.
        (make(ramp_months=2, launches=(Launch(date(2026, 4, 1), 0.3),)), (3, 4, 5, 12),
         (2.0, 1.7, 1.4, 1.4)),
        # Launches before or on price_date (2026-01-01) are ignored: p0 already prices them.
        (make(launches=(Launch(date(2025, 10, 1), 0.3), Launch(date(2026, 1, 1), 0.3))),
         (-6, 0, 12), (2.0, 2.0, 2.0)),
        # 2026-01-15 is after price_date → M_k = February; 2·0.5 = 1.0.
        (make(launches=(Launch(date(2026, 1, 15), 0.5),)), (0, 1), (2.0, 1.0)),
        # Two launches multiply: 2·(1−0.5)·(1−0.2) = 0.8 from March.
        (make(launches=(Launch(date(2026, 2, 1), 0.5), Launch(date(2026, 3, 1), 0.2))),
         (1, 2), (1.0, 0.8)),
    ],
    ids=["trend", "floor", "launch-1st", "launch-15th", "ramp-2", "past-launches-ignored",
         "launch-after-price-date-same-month", "two-launches"],
)  # fmt: skip
def test_spot(params: CurveParams, offsets: tuple[int, ...], expected: tuple[float, ...]) -> None:
    assert spot(params, months(*offsets)).tolist() == pytest.approx(list(expected), rel=1e-9)


def test_months_must_be_integers() -> None:
    with pytest.raises(ValueError, match="months"):
        spot(make(), np.array([1.5]))


# -- deal clock: util, contract, realised, index ---------------------------------------
def test_utilisation_by_deal_year_clamped() -> None:
    p = make(util=(0.9, 0.8, 0.7))
    # m = −1 → ⌊−1/12⌋ = −1 → clamped to year 0; m=11 year 0; m=12 year 1; m≥24 last value.
    got = utilisation(p, months(-1, 0, 11, 12, 35, 100))
    assert got.tolist() == [0.9, 0.9, 0.9, 0.8, 0.7, 0.7]


def test_contract_rolls_off() -> None:
    p = make(c=0.6, p_contract=2.0, contract_months=24)
    # c while 0 ≤ m < 24; 0 before the start and from m = 24.
    assert contract_share(p, months(-1, 0, 23, 24)).tolist() == [0.0, 0.6, 0.6, 0.0]


def test_realised_and_index() -> None:
    p = make(c=0.6, p_contract=2.0, contract_months=24, util=(0.5,), p0=1.0)
    # m=0: 0.6·2 + 0.4·0.5·1 = 1.4; m=24 (rolled off): 0.5·1 = 0.5; index 0.5/1.4.
    assert realised(p, months(0, 24)).tolist() == pytest.approx([1.4, 0.5], rel=1e-9)
    assert index(p, months(0, 24)).tolist() == pytest.approx([1.0, 0.5 / 1.4], rel=1e-9)


def test_deal_clock_needs_start() -> None:
    for fn in (utilisation, contract_share, realised, index):
        with pytest.raises(ValueError, match="^start:"):
            fn(make(start=None), months(0))
    with pytest.raises(ValueError, match="^start:"):
        monthly_curve(make(start=None), JAN26, 3)


def test_index_needs_positive_base() -> None:
    with pytest.raises(ValueError, match="positive base"):
        index(make(util=(0.0,)), months(0))


def test_monthly_curve_components_agree() -> None:
    p = make(d=0.19, util=(0.9, 0.6), c=0.3, p_contract=1.5, contract_months=6)
    t = months(*range(-3, 30))
    curve = monthly_curve(p, JAN26 - 3, 33)
    assert curve.months.tolist() == t.tolist()
    np.testing.assert_allclose(curve.spot, spot(p, t), rtol=1e-12)
    np.testing.assert_allclose(curve.realised, realised(p, t), rtol=1e-12)
    np.testing.assert_allclose(curve.index, index(p, t), rtol=1e-12)
    np.testing.assert_allclose(curve.util, utilisation(p, t), rtol=1e-12)
    np.testing.assert_allclose(curve.contract, contract_share(p, t), rtol=1e-12)


# -- anchor and rent_after -----------------------------------------------------------------
QUARTERS = PeriodGrid.from_start(date(2025, 10, 1), Frequency.QUARTERLY, 5)  # Q4'25 … Q4'26


def test_anchor_and_changed_periods() -> None:
    rents = np.array([0.0, 100.0, 103.0, 0.0, 106.0])
    assert anchor_period(rents) == 1
    assert default_start(QUARTERS, rents) == date(2026, 1, 1)
    assert changed_periods(rents, RentMode.INDEX).tolist() == [False, False, True, False, True]
    assert changed_periods(rents, RentMode.ABSOLUTE).tolist() == [False, True, True, False, True]
    with pytest.raises(ValueError, match="no anchor"):
        anchor_period(np.zeros(3))


def test_resolve_start_fills_only_when_missing() -> None:
    rents = np.array([0.0, 1.0, 1.0, 1.0, 1.0])
    assert resolve_start(make(start=None), QUARTERS, rents).start == date(2026, 1, 1)
    assert resolve_start(make(start=date(2026, 5, 1)), QUARTERS, rents).start == date(2026, 5, 1)


def test_rent_after_index_hand_table() -> None:
    # Launch 2026-04-01, step 0.3, R = 3: spot factor Apr 1, May 1−0.3/3 = 0.9, Jun 1−0.2 = 0.8,
    # Jul onward 0.7.  Util 1, no trend, so index = spot factor.  Quarter means: Q1'26 1,
    # Q2'26 (1+0.9+0.8)/3 = 0.9, Q3'26 0.7, Q4'26 0.7.  Anchor = Q1'26 (rent 100):
    # Q2 100·0.9 = 90; Q3 is a rent holiday (0, kept); Q4 100·0.7 = 70; Q4'25 before anchor kept.
    p = make(start=None, ramp_months=3, launches=(Launch(date(2026, 4, 1), 0.3),))
    rents = np.array([0.0, 100.0, 103.0, 0.0, 106.0])
    got = rent_after(rents, QUARTERS, p, RentMode.INDEX)
    assert got.tolist() == pytest.approx([0.0, 100.0, 90.0, 0.0, 70.0], abs=0.005)
    assert got[1] == 100.0  # the anchor keeps its rent exactly


def test_rent_after_index_trend_and_util_years() -> None:
    # Every month of 2027 is 0.81× the same month of 2026 (d = 0.19) and util halves (1 → 0.5),
    # so mean_index(2027)/mean_index(2026) = 0.81·0.5 = 0.405; 2028: 0.81²·0.5 = 0.32805.
    grid = PeriodGrid.from_years([2026, 2027, 2028])
    p = make(start=None, d=0.19, util=(1.0, 0.5))
    got = rent_after(np.array([10.0, 10.0, 10.0]), grid, p, RentMode.INDEX)
    assert got.tolist() == pytest.approx([10.0, 4.05, 3.2805], rel=1e-9)


def test_rent_after_absolute_with_gpus_and_unit_scale() -> None:
    # Q1'26 (90 days): contract 0.5 at $2 + 0.5·util 0.5·spot $2 = $1.5/GPU-h →
    #   1e-6 · 1000 GPUs · 24 h · 90 d · 1.5 = 3.24 ($m).
    # Q2'26 (91 days): contract rolled off (3 months), spot 2·0.7 = 1.4, util 0.5 → $0.7/GPU-h →
    #   1e-6 · 1000 · 24 · 91 · 0.7 = 1.5288.  Q4'25 precedes the anchor: kept at 0.
    grid = PeriodGrid.from_start(date(2025, 10, 1), Frequency.QUARTERLY, 3)
    p = make(start=None, util=(0.5,), c=0.5, p_contract=2.0, contract_months=3,
             gpus=1000.0, unit_scale=1e-6, launches=(Launch(date(2026, 4, 1), 0.3),))  # fmt: skip
    got = rent_after(np.array([0.0, 5.0, 5.0]), grid, p, RentMode.ABSOLUTE)
    assert got.tolist() == pytest.approx([0.0, 3.24, 1.5288], rel=1e-9)
    with pytest.raises(ValueError, match="^gpus:"):
        rent_after(np.array([0.0, 5.0, 5.0]), grid, make(gpus=None), RentMode.ABSOLUTE)


def test_rent_after_start_outside_grid_and_bad_lengths() -> None:
    # An explicit start after the grid still works: the curve covers the start month too.
    grid = PeriodGrid.from_years([2026, 2027])
    p = make(start=date(2029, 1, 1), d=0.19)
    got = rent_after(np.array([10.0, 10.0]), grid, p, RentMode.INDEX)
    assert got.tolist() == pytest.approx([10.0, 8.1], rel=1e-9)  # 10·0.81
    with pytest.raises(ValueError, match="rent_before"):
        rent_after(np.array([1.0]), grid, p, RentMode.INDEX)
    with pytest.raises(ValueError, match="rent_before"):
        rent_after(np.array([1.0, math.nan]), grid, p, RentMode.INDEX)


# -- contracted, then merchant (docs/curve.md) -------------------------------------------------
# Spot halves every year (d = 0.5) from $2 on 2026-01-01, util 1, no floor, no launches, so
# index(t) = 0.5^(n/12) and each calendar year's mean index is 0.5^year × A (A the 2026 mean):
# the merchant rent of year p is 100 × 0.5^p.  The template's rent escalates 3 % a year.
YEARS = PeriodGrid.from_years([2026, 2027, 2028, 2029, 2030])
ESCALATING = np.array([100.0, 103.0, 106.09, 109.2727, 112.550881])
HALVING = make(start=None, d=0.5)
# A gap of g months from January 2028 (after E = 2027-12-31): the year-2028 mean keeps months
# 7..12 only, sum_{k=6..11} 0.5^(k/12) / sum_{k=0..11} 0.5^(k/12) = 0.5^0.5 (1 - 0.5^0.5) / 0.5
# = sqrt(2) - 1 = 0.41421356..., so 2028 earns 100 × 0.25 × (sqrt(2) - 1) = 10.3553390593.
GAP_SHARE = math.sqrt(2) - 1


@pytest.mark.parametrize(
    ("contract", "expected"),
    [
        (None, [100.0, 50.0, 25.0, 12.5, 6.25]),
        # 2026 and 2027 end on or before E: the template's rent exactly; 2028 shows the cliff
        (Contract(date(2027, 12, 31)), [100.0, 103.0, 25.0, 12.5, 6.25]),
        # E mid-2027: 2027 ends after E, so it is merchant already
        (Contract(date(2027, 6, 30)), [100.0, 50.0, 25.0, 12.5, 6.25]),
        (Contract(date(2027, 12, 31), 6), [100.0, 103.0, 25.0 * GAP_SHARE, 12.5, 6.25]),
        # an 18-month gap: nothing in 2028, the first half of 2029 empty
        (Contract(date(2027, 12, 31), 18), [100.0, 103.0, 0.0, 12.5 * GAP_SHARE, 6.25]),
        # a tenant default on 2028-12-31, re-leased after 12 months: the same mechanism
        (Contract(date(2028, 12, 31), 12), [100.0, 103.0, 106.09, 0.0, 6.25]),
        # contracted to the end: the template's rent throughout
        (Contract(date(2030, 12, 31), 6), ESCALATING.tolist()),
    ],
    ids=["merchant", "contracted-2027", "ends-mid-period", "gap-6", "gap-18", "tenant-default", "to-the-end"],
)
def test_contracted_then_merchant_index_hand_table(contract: Contract | None, expected: list[float]) -> None:
    got = rent_after(ESCALATING, YEARS, HALVING, RentMode.INDEX, contract=contract)
    assert got.tolist() == pytest.approx(expected, rel=1e-9, abs=1e-12)
    if contract is not None:  # contracted periods keep the template's rent exactly, not approximately
        kept = contract.contracted(YEARS)
        assert (got[kept] == ESCALATING[kept]).all()


def test_contracted_then_merchant_absolute_hand_table() -> None:
    # Monthly, $1/GPU-hour flat, util 1, one GPU: merchant rent = 24 × days.  Contracted to
    # 2026-02-28 (Jan, Feb keep 500), a one-month gap (March earns 0), April 24 × 30 = 720.
    grid = PeriodGrid.from_start(date(2026, 1, 1), Frequency.MONTHLY, 4)
    p = make(start=None, p0=1.0, gpus=1.0)
    got = rent_after(np.full(4, 500.0), grid, p, RentMode.ABSOLUTE, contract=Contract(date(2026, 2, 28), 1))
    assert got.tolist() == [500.0, 500.0, 0.0, 720.0]


def test_contract_checks() -> None:
    with pytest.raises(ValueError, match="contracted_until: 2025-06-30 is before the anchor period ends"):
        rent_after(ESCALATING, YEARS, HALVING, RentMode.INDEX, contract=Contract(date(2025, 6, 30)))
    with pytest.raises(ValueError, match="releasing_gap_months"):
        Contract(date(2027, 12, 31), -1)
    assert Contract(date(2027, 12, 31), 2).earning(np.array([month_index(date(2027, 12, 1)) + k
                                                             for k in range(4)])).tolist() == [1.0, 0.0, 0.0, 1.0]


# -- the anchor -----------------------------------------------------------------------------
# A one-off pre-sale of 1,400 in the first month, then 267 a month; the curve is flat (d = 0).
PRESALE = np.array([1400.0, 267.0, 275.0, 283.0])
MONTHS4 = PeriodGrid.from_start(date(2026, 1, 1), Frequency.MONTHLY, 4)


def test_anchor_option_moves_the_anchor() -> None:
    flat = make(start=None)
    # anchored on the pre-sale, every later month earns 1,400 (5.2x the template's revenue)
    assert rent_after(PRESALE, MONTHS4, flat, RentMode.INDEX).tolist() == [1400.0, 1400.0, 1400.0, 1400.0]
    # anchored on month 2: month 1 precedes the anchor and keeps its value; later months earn 267
    assert rent_after(PRESALE, MONTHS4, flat, RentMode.INDEX, anchor=1).tolist() == [1400.0, 267.0, 267.0, 267.0]
    assert default_start(MONTHS4, PRESALE, 1) == date(2026, 2, 1)
    assert changed_periods(PRESALE, RentMode.INDEX, 1).tolist() == [False, False, True, True]
    with pytest.raises(ValueError, match="anchor: period 2 has no rent"):
        anchor_period(np.array([1.0, 0.0, 1.0]), 1)
    with pytest.raises(ValueError, match="anchor: period 9 is outside the 3 periods"):
        anchor_period(np.array([1.0, 0.0, 1.0]), 8)


@pytest.mark.parametrize(
    ("rents", "expected"),
    [
        (PRESALE, (0, 1, 267.0 / 1400.0)),  # 5.2x either way is flagged
        (np.array([0.0, 100.0, 0.0, 301.0]), (1, 3, 3.01)),  # first and next periods with rent
        (np.array([100.0, 300.0, 310.0]), None),  # exactly 3x is not more than 3x
        (np.array([100.0, 34.0]), None),  # 1/2.94
        (np.array([0.0, 100.0]), None),  # only one period with rent
    ],
    ids=["presale", "holidays-skipped", "three-times", "under-three", "single"],
)
def test_anchor_outlier(rents: np.ndarray, expected: tuple[int, int, float] | None) -> None:
    got = anchor_outlier(rents)
    assert got == (None if expected is None else (expected[0], expected[1], pytest.approx(expected[2], rel=1e-12)))


# -- properties ------------------------------------------------------------------------------
unit = st.floats(min_value=0.05, max_value=1.0)
params_st = st.builds(
    CurveParams,
    price_date=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    p0=st.floats(min_value=0.01, max_value=100.0),
    d=st.floats(min_value=0.0, max_value=0.95),
    floor=st.floats(min_value=0.0, max_value=5.0),
    ramp_months=st.integers(0, 24),
    util=st.lists(unit, min_size=1, max_size=6).map(tuple),
    c=st.floats(min_value=0.0, max_value=1.0),
    p_contract=st.floats(min_value=0.0, max_value=10.0),
    contract_months=st.integers(0, 120),
    launches=st.lists(
        st.builds(Launch, st.dates(date(2020, 1, 1), date(2035, 12, 31)),
                  st.floats(min_value=0.0, max_value=0.9)), max_size=4).map(tuple),
    start=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
)  # fmt: skip


@given(params=params_st)
def test_index_at_start_month_is_one(params: CurveParams) -> None:
    assert params.start is not None
    t = np.array([month_index(params.start)])
    assert index(params, t)[0] == pytest.approx(1.0, rel=1e-12)


@given(params=params_st, offset=st.integers(-240, 240))
def test_spot_never_below_floor(params: CurveParams, offset: int) -> None:
    t = np.arange(month_index(params.price_date) + offset, month_index(params.price_date) + 240)
    assert np.all(spot(params, t) >= params.floor)


@given(
    d=st.floats(min_value=0.01, max_value=0.9),
    p0=st.floats(min_value=0.1, max_value=100.0),
    u=unit,
    n_months=st.integers(2, 240),
)
def test_no_launch_no_floor_curve_strictly_decreasing(
    d: float, p0: float, u: float, n_months: int
) -> None:
    p = make(d=d, p0=p0, util=(u,), floor=0.0, c=0.0)
    curve = monthly_curve(p, JAN26 - 12, n_months)
    assert np.all(np.diff(curve.spot) < 0)
    assert np.all(np.diff(curve.realised) < 0)
    assert np.all(np.diff(curve.index) < 0)


@given(
    params=params_st,
    rents=st.lists(st.sampled_from([0.0, 1.0, 2.5, 1e6, -3.0]), min_size=1, max_size=12),
    frequency=st.sampled_from(list(Frequency)),
    mode=st.sampled_from(list(RentMode)),
    default=st.booleans(),
)
def test_rent_after_keeps_anchor_and_unchanged_periods(
    params: CurveParams, rents: list[float], frequency: Frequency, mode: RentMode, default: bool
) -> None:
    before = np.array(rents)
    if not np.any(before != 0):
        before[-1] = 7.0
    grid = PeriodGrid.from_start(date(2026, 1, 1), frequency, len(rents))
    p = params.with_overrides(start=None if default else params.start, gpus=10.0)
    after = rent_after(before, grid, p, mode)
    keep = ~changed_periods(before, mode)
    assert np.array_equal(after[keep], before[keep])
    if mode is RentMode.INDEX:
        a = anchor_period(before)
        assert after[a] == before[a]


def test_numpy_and_int_inputs_are_coerced() -> None:
    p = make(p0=np.float64(2), d=0, ramp_months=np.int64(3), util=[1], gpus=np.int32(8))
    assert (type(p.p0), type(p.d), type(p.ramp_months), type(p.gpus)) == (float, float, int, float)
    assert p.util == (1.0,) and type(p.util[0]) is float
