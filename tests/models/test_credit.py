"""Tests for models.credit (DESIGN §7); expected numbers are worked by hand in comments.

Tolerances: money abs=0.005, ratios and rates rel=1e-9.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import numpy_financial as npf  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.credit import (
    CoverageMetrics,
    DurationMismatch,
    average_dscr,
    coverage_metrics,
    credit_metrics,
    cumulative_shortfall,
    dscr,
    duration_mismatch,
    llcr,
    loan_to_value,
    recovery_at_default,
)

QUARTER_ENDS = (date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30), date(2026, 12, 31))
NAN = math.nan


def same(got: np.ndarray, expected: list[float]) -> bool:
    """Element-wise rel=1e-9, NaN equal to NaN."""
    return bool(np.allclose(got, expected, rtol=1e-9, atol=0.0, equal_nan=True))


# -- DSCR (existing API, used by engine/convert.py) -------------------------------------
def test_dscr_and_coverage_metrics() -> None:
    # 120/100 = 1.2; 90/100 = 0.9; no debt service -> NaN (not tested).
    values = dscr([120.0, 90.0, 50.0], [100.0, 100.0, 0.0])
    assert same(values, [1.2, 0.9, NAN])
    got = coverage_metrics([1.2, 0.9, None], QUARTER_ENDS[:3], 1.10)
    assert got == CoverageMetrics(min_dscr=0.9, first_breach=date(2026, 6, 30), breaches=1)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.5, None, 1.0, NAN, 1.25], 1.25),  # (1.5 + 1.0 + 1.25) / 3; None and NaN untested
        ([None, NAN], None),  # nothing tested
        (np.array([2.0, 1.0]), 1.5),  # arrays too: (2 + 1) / 2
    ],
    ids=["skips-untested", "none-tested", "array"],
)
def test_average_dscr(values: list[float | None], expected: float | None) -> None:
    got = average_dscr(values)
    assert got == (None if expected is None else pytest.approx(expected, rel=1e-9))


# -- LLCR -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cfads", "opening", "rate", "maturity", "expected"),
    [
        # (110/1.1 + 110/1.21)/200 = (100 + 90.9091)/200 = 0.954545; 110/1.1/100 = 1.0.
        ([110.0, 110.0], [200.0, 100.0], 0.10, None, [(100 + 110 / 1.21) / 200, 1.0]),
        # Period 2 has no opening balance: maturity is period 1, its CFADS of 500 is ignored.
        ([110.0, 110.0, 500.0], [200.0, 100.0, 0.0], 0.10, None, [(100 + 110 / 1.21) / 200, 1.0, NAN]),
        # Per-period rates 10 %, 20 %: (110/1.1 + 110/(1.1*1.2))/200 = 183.333/200; 110/1.2/100.
        ([110.0, 110.0], [200.0, 100.0], [0.10, 0.20], None, [(100 + 110 / 1.32) / 200, 110 / 120]),
        # An explicit maturity of period 0: 110/1.1/200 = 0.5; after maturity NaN.
        ([110.0, 110.0], [200.0, 100.0], 0.10, 0, [0.5, NAN]),
        # Negative CFADS count: (-11/1.1 + 121/1.21)/100 = (-10 + 100)/100 = 0.9.
        ([-11.0, 121.0], [100.0, 50.0], 0.10, None, [0.9, 121 / 1.1 / 50]),
        # No debt at all: nothing to cover.
        ([10.0, 10.0], [0.0, 0.0], 0.05, None, [NAN, NAN]),
    ],
    ids=["two-periods", "after-maturity", "rate-per-period", "explicit-maturity", "negative-cfads",
         "no-debt"],
)
def test_llcr(
    cfads: list[float], opening: list[float], rate: float | list[float], maturity: int | None,
    expected: list[float],
) -> None:
    assert same(llcr(cfads, opening, rate, maturity=maturity), expected)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"rate_per_period": -1.0}, "rate_per_period"),
        ({"maturity": 5}, "maturity"),
        ({"opening_balance": [100.0]}, "opening_balance: 1 values for 2 periods"),
        ({"opening_balance": [100.0, -1.0]}, "opening_balance: money is positive"),
        ({"cfads": [1.0, NAN]}, "cfads: every period needs a finite number"),
    ],
    ids=["rate", "maturity", "length", "negative", "nan"],
)
def test_llcr_rejects_bad_inputs(kw: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"cfads": [1.0, 1.0], "opening_balance": [2.0, 1.0], "rate_per_period": 0.1}
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        llcr(**args)  # type: ignore[arg-type]


# -- shortfall, LTV ----------------------------------------------------------------------
def test_cumulative_shortfall() -> None:
    # Uncovered debt service max(0, DS - CFADS) = [0, 20, 0, 50]; running sum [0, 20, 20, 70].
    got = cumulative_shortfall([100.0, 80.0, 120.0, 50.0], [90.0, 100.0, 100.0, 100.0])
    assert got.tolist() == pytest.approx([0.0, 20.0, 20.0, 70.0], abs=0.005)


def test_loan_to_value() -> None:
    # 60/100 = 0.6; 50/40 = 1.25; nothing owed -> 0; owed against worthless collateral -> inf.
    got = loan_to_value([60.0, 50.0, 0.0, 10.0], [100.0, 40.0, 0.0, 0.0])
    assert got.tolist() == [pytest.approx(0.6, rel=1e-9), pytest.approx(1.25, rel=1e-9), 0.0, math.inf]


# -- duration mismatch and recovery ---------------------------------------------------------
@pytest.mark.parametrize(
    ("balance", "forced", "expected"),
    [
        # Below in Q2, covered again in Q3 (65 >= 60), below from Q4 until repaid (balance 0
        # in the last period does not end the mismatch): Q4 = 2026-12-31, 9 months after
        # 2026-03-31, balance 40.
        ([100.0, 80.0, 60.0, 40.0, 0.0], [120.0, 70.0, 65.0, 30.0, 20.0],
         DurationMismatch(3, date(2026, 12, 31), 40.0, 9)),
        # Below from the first period: period 0, 0 months.
        ([100.0, 80.0, 60.0, 40.0, 20.0], [90.0, 70.0, 50.0, 30.0, 10.0],
         DurationMismatch(0, date(2026, 3, 31), 100.0, 0)),
        # Equal value covers the balance (not "below"): the last live period is covered.
        ([100.0, 80.0, 60.0, 40.0, 20.0], [90.0, 70.0, 50.0, 30.0, 20.0], None),
        # Always covered.
        ([100.0, 80.0, 60.0, 40.0, 0.0], [200.0, 150.0, 100.0, 50.0, 0.0], None),
        # Never any balance.
        ([0.0] * 5, [1.0] * 5, None),
    ],
    ids=["for-good-from-q4", "from-start", "last-covered", "always-covered", "no-debt"],
)
def test_duration_mismatch(
    balance: list[float], forced: list[float], expected: DurationMismatch | None
) -> None:
    ends = QUARTER_ENDS + (date(2027, 3, 31),)
    assert duration_mismatch(ends, balance, forced) == expected


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (0, (0.5, 0.5)),  # 50 of 100 recovered
        (1, (1.0, 0.0)),  # 100 of 80: capped at the balance
        (2, (1.0, 0.0)),  # nothing owed, nothing lost
    ],
    ids=["half", "capped", "no-balance"],
)
def test_recovery_at_default(period: int, expected: tuple[float, float]) -> None:
    got = recovery_at_default([100.0, 80.0, 0.0], [50.0, 100.0, 10.0], period)
    assert got == pytest.approx(expected, rel=1e-9)


def test_recovery_at_default_rejects_period_outside() -> None:
    with pytest.raises(ValueError, match="default_period"):
        recovery_at_default([1.0], [1.0], 1)


# -- everything together -------------------------------------------------------------------
# A 300 loan at 2 % a quarter, 100 principal a quarter for three quarters, then repaid:
# opening [300, 200, 100, 0], interest [6, 4, 2, 0], debt service [106, 104, 102, 0].
CFADS = [130.0, 115.0, 95.0, 90.0]
DEBT_SERVICE = [106.0, 104.0, 102.0, 0.0]
CLOSING = [200.0, 100.0, 0.0, 0.0]
ORDERLY = [400.0, 300.0, 200.0, 150.0]
FORCED = [250.0, 90.0, 80.0, 60.0]


@pytest.mark.parametrize("opening", [None, [300.0, 200.0, 100.0, 0.0]], ids=["derived", "given"])
def test_credit_metrics(opening: list[float] | None) -> None:
    got = credit_metrics(QUARTER_ENDS, None, CFADS, DEBT_SERVICE, CLOSING, FORCED, ORDERLY, 1.20, 0.02,
                         opening_balance=opening)
    # DSCR = [130/106 = 1.2264, 115/104 = 1.1058, 95/102 = 0.9314, no debt service].
    assert got.min_dscr == pytest.approx(95 / 102, rel=1e-9)
    assert got.avg_dscr == pytest.approx((130 / 106 + 115 / 104 + 95 / 102) / 3, rel=1e-9)
    # Below 1.20 in Q2 and Q3: first breach at Q2's end, two breaches.
    assert (got.first_breach, got.breaches) == (date(2026, 6, 30), 2)
    # Opening derived for Q1: (200 + 106) / 1.02 = 300.  LLCR: Q1 (127.45+110.53+89.52)/300 =
    # 1.0917, Q2 (112.75+91.31)/200 = 1.0203, Q3 95/1.02/100 = 0.9314 (the minimum).
    assert got.min_llcr == pytest.approx(95 / 1.02 / 100, rel=1e-9)
    assert got.total_shortfall == pytest.approx(7.0, abs=0.005)  # Q3: 102 - 95
    # LTV on closing balances: orderly [0.5, 0.333, 0, 0]; forced [0.8, 100/90, 0, 0].
    assert got.max_ltv == pytest.approx(0.5, rel=1e-9)
    assert got.max_ltv_forced == pytest.approx(100 / 90, rel=1e-9)
    # Q1 covered (250 >= 200), Q2 below (90 < 100), repaid in Q3: mismatch from Q2, 3 months.
    assert (got.mismatch_date, got.mismatch_balance, got.mismatch_months) == (date(2026, 6, 30), 100.0, 3)
    # Default at the first breach (Q2): 90 of 100 recovered.
    assert got.recovery_at_breach == pytest.approx(0.9, rel=1e-9)
    assert got.lgd_at_breach == pytest.approx(0.1, rel=1e-9)
    assert got.to_dict()["first_breach"] == "2026-06-30"


def test_credit_metrics_with_template_dscr_and_no_collateral_or_rate() -> None:
    # The template's DSCR is used as given (here 1.5 in Q2 where CFADS/DS would say 1.1058).
    got = credit_metrics(QUARTER_ENDS, [1.3, 1.5, None, None], CFADS, DEBT_SERVICE, CLOSING,
                         None, None, 1.20, None)
    assert (got.min_dscr, got.first_breach, got.breaches) == (1.3, None, 0)
    assert got.avg_dscr == pytest.approx(1.4, rel=1e-9)  # (1.3 + 1.5) / 2
    assert got.min_llcr is None and got.max_ltv is None and got.max_ltv_forced is None
    assert got.mismatch_date is None and got.recovery_at_breach is None
    assert got.total_shortfall == pytest.approx(7.0, abs=0.005)


def test_credit_metrics_checks_lengths() -> None:
    with pytest.raises(ValueError, match="dscr_values: 3 values for 4 periods"):
        credit_metrics(QUARTER_ENDS, [1.0, 1.0, 1.0], CFADS, DEBT_SERVICE, CLOSING, None, None, None, None)


# -- properties ----------------------------------------------------------------------------
money = st.floats(min_value=0.0, max_value=1e9)


@given(st.lists(st.tuples(money, money), min_size=1, max_size=30), st.data())
def test_recovery_never_exceeds_collateral(pairs: list[tuple[float, float]], data: st.DataObject) -> None:
    balance, forced = zip(*pairs)
    period = data.draw(st.integers(min_value=0, max_value=len(pairs) - 1))
    recovery, lgd = recovery_at_default(balance, forced, period)
    assert recovery * balance[period] <= forced[period] * (1 + 1e-12) + 1e-9 or balance[period] == 0
    assert 0.0 <= recovery <= 1.0 and recovery + lgd == pytest.approx(1.0, rel=1e-12)


@given(st.floats(min_value=1e-3, max_value=1e9), st.floats(min_value=1e-3, max_value=1e9),
       st.floats(min_value=0.01, max_value=0.99))
def test_ltv_rises_when_collateral_falls(balance: float, value: float, fall: float) -> None:
    before, after = loan_to_value([balance, balance], [value, value * (1 - fall)])
    assert after > before


@given(st.lists(st.tuples(st.floats(min_value=-1e9, max_value=1e9), money), min_size=1, max_size=40))
def test_cumulative_shortfall_non_decreasing(pairs: list[tuple[float, float]]) -> None:
    cf, ds = zip(*pairs)
    assert np.all(np.diff(cumulative_shortfall(cf, ds)) >= 0.0)


@given(st.floats(min_value=1.0, max_value=1e9), st.floats(min_value=1e-4, max_value=0.15),
       st.integers(min_value=1, max_value=120))
def test_llcr_of_annuity_is_one(principal: float, rate: float, n: int) -> None:
    payment = float(npf.pmt(rate, n, -principal))  # level debt service
    # Balance at each period start = PV of the payments left (numpy-financial's PV; the
    # forward recursion b(1+r) - payment loses the small late balances to cancellation).
    opening = np.array([float(npf.pv(rate, n - i, -payment)) for i in range(n)])
    got = llcr(np.full(n, payment), opening, rate)
    assert np.allclose(got, 1.0, rtol=1e-9, atol=0.0)


@given(st.lists(st.tuples(money, money), min_size=1, max_size=12))
def test_duration_mismatch_holds_for_good(pairs: list[tuple[float, float]]) -> None:
    balance, forced = (np.array(x) for x in zip(*pairs))
    ends = [date(2026 + i // 12, i % 12 + 1, 28) for i in range(len(pairs))]
    found = duration_mismatch(ends, balance, forced)
    live = balance > 1e-9 * balance.max()  # owed: above the rounding residue of a repaid loan
    if found is None:
        assert not live.any() or forced[np.flatnonzero(live)[-1]] >= balance[np.flatnonzero(live)[-1]]
    else:
        after = np.arange(len(pairs)) >= found.period
        assert np.all(forced[after & live] < balance[after & live])
        prev = found.period - 1  # the period before is covered or owes nothing
        assert prev < 0 or not (live[prev] and forced[prev] < balance[prev])


def test_a_rounding_residue_of_a_repaid_loan_does_not_end_the_mismatch():
    # Balances 300, 200, 100, then 1e-13 (what a PMT schedule leaves after the last payment);
    # collateral 50, 40, 30, 20 is below every real balance, so the mismatch starts in period 0.
    ends = [date(2026 + i, 12, 31) for i in range(4)]
    found = duration_mismatch(ends, [300.0, 200.0, 100.0, 1e-13], [50.0, 40.0, 30.0, 20.0])
    assert found is not None and found.period == 0 and found.balance == 300.0
