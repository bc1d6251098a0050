"""Tests for models.credit (docs/credit.md); expected numbers are worked by hand in comments.

Tolerances: money abs=0.005, ratios and rates rel=1e-9.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace
from datetime import date

import numpy as np
import numpy_financial as npf  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.credit import (
    CreditInputs,
    CreditMetrics,
    DurationMismatch,
    avg_dscr,
    breach_flags,
    breaches,
    computed_dscr,
    credit_metrics,
    dscr_differs,
    dscr_differs_flags,
    duration_mismatch,
    first_breach,
    llcr,
    loan_to_value,
    min_dscr,
    min_dscr_cfads,
    rate_per_period,
    recovery_at_default,
    shortfall,
    periods_tested,
    is_tested,
    total_shortfall,
)

QUARTER_ENDS = (date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30), date(2026, 12, 31))
NAN = math.nan


def same(got: np.ndarray, expected: list[float]) -> bool:
    """Element-wise rel=1e-9, NaN equal to NaN."""
    return bool(np.allclose(got, expected, rtol=1e-9, atol=0.0, equal_nan=True))


# -- which periods are tested, and which are breaches (docs/credit.md) ------------------------
SIX_YEARS = tuple(date(2026 + i, 12, 31) for i in range(6))
# A construction year (no debt service; the template's DSCR row shows 0), four tested years, and a
# year after maturity (no debt service, DSCR 0 again); covenant 1.30.
RULES = CreditInputs(
    SIX_YEARS,
    cfads=np.array([-5.0, 150.0, 130.0, 129.99, -20.0, 10.0]),
    debt_service=np.array([0.0, 100.0, 100.0, 100.0, 100.0, 0.0]),
    # year 3 is 1.3 as a sculpted schedule computes it (1.2999999999999998); year 5 "n.m." (no number)
    template_dscr=np.array([0.0, 1.5, 1.2999999999999998, 1.2999, NAN, 0.0]),
    covenant=1.30,
)


def test_only_periods_with_debt_service_are_tested() -> None:
    assert is_tested(RULES).tolist() == [False, True, True, True, True, False]
    assert periods_tested(RULES) == 4
    # the template's zeros in construction and after maturity are not tested, so the minimum is
    # 1.2999 (year 4), not 0: min(1.5, 1.2999999999999998, 1.2999); year 5 has no number
    assert min_dscr(RULES) == 1.2999
    assert avg_dscr(RULES) == pytest.approx((1.5 + 1.2999999999999998 + 1.2999) / 3, rel=1e-9)


def test_breaches_use_a_relative_tolerance_and_count_negative_cfads() -> None:
    # year 3: 1.30 - 1.2999999999999998 = 2.2e-16 < 1e-9 x 1.30, not a breach; year 4: 1.30 - 1.2999 =
    # 1e-4, a breach; year 5: CFADS -20 with debt service, a breach although its DSCR cell is text
    assert breach_flags(RULES).tolist() == [False, False, False, True, True, False]
    assert (breaches(RULES), first_breach(RULES)) == (2, date(2029, 12, 31))


def test_template_dscr_is_read_as_it_is_and_compared_with_cfads_over_debt_service() -> None:
    # CFADS / DS in the tested years: 1.5, 1.3, 1.2999, -0.2 (year 5)
    assert computed_dscr(RULES)[1:5] == pytest.approx([1.5, 1.3, 1.2999, -0.2], rel=1e-12)
    assert min_dscr_cfads(RULES) == pytest.approx(-0.2, rel=1e-12)
    # they differ in year 5 only (text against -0.2); year 3 agrees within a relative 1e-9
    assert dscr_differs_flags(RULES).tolist() == [False, False, False, False, True, False]
    assert dscr_differs(RULES) == 1


def test_shortfall_is_capped_at_the_debt_service() -> None:
    # uncovered debt service in tested years: 0, 0, 0 (129.99 covers 100), min(100, 100 + 20) = 100
    assert shortfall(RULES).tolist() == [0.0, 0.0, 0.0, 0.0, 100.0, 0.0]
    assert total_shortfall(RULES) == 100.0


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # no covenant: DSCR is still measured, but nothing can be a breach
        ({"covenant": None}, {"min_dscr": 1.2999, "breaches": None, "first_breach": None, "periods_tested": 4}),
        # no CFADS line: the template's DSCR stands; shortfall, the comparison and LLCR are n/a, and
        # year 5 (no DSCR number, CFADS unknown) is not a breach
        ({"cfads": None, "interest": np.ones(6), "balance": np.ones(6)},
         {"min_dscr": 1.2999, "total_shortfall": None, "min_llcr": None, "dscr_differs": None, "breaches": 1}),
        # no DSCR and no CFADS: nothing can be measured
        ({"cfads": None, "template_dscr": None},
         {"min_dscr": None, "avg_dscr": None, "periods_tested": None, "breaches": None, "total_shortfall": None}),
        # no debt-service line: the periods whose DSCR is a number are tested (all but year 5)
        ({"debt_service": None}, {"periods_tested": 5, "min_dscr": 0.0, "total_shortfall": None, "min_dscr_cfads": None}),
    ],
    ids=["no-covenant", "no-cfads", "no-dscr-no-cfads", "no-debt-service"],
)
def test_a_missing_line_gives_na_never_zero(changes: dict[str, object], expected: dict[str, object]) -> None:
    got = credit_metrics(replace(RULES, **changes))  # type: ignore[arg-type]
    for key, value in expected.items():
        assert getattr(got, key) == value, key


def test_without_a_template_dscr_the_dscr_is_cfads_over_debt_service() -> None:
    got = credit_metrics(replace(RULES, template_dscr=None))
    # tested years: 1.5, 1.3, 1.2999, -0.2; breaches 1.2999 (by 1e-4) and -0.2 (and CFADS < 0)
    assert (got.min_dscr, got.breaches, got.first_breach) == (pytest.approx(-0.2, rel=1e-12), 2,
                                                              date(2029, 12, 31))
    assert got.min_dscr_cfads is None and got.dscr_differs is None  # nothing to compare with


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="cfads: 3 values for 6 periods"):
        CreditInputs(SIX_YEARS, cfads=np.ones(3))
    with pytest.raises(ValueError, match="period_ends: no periods"):
        CreditInputs(())


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


# -- LTV ----------------------------------------------------------------------------------
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
INTEREST = [6.0, 4.0, 2.0, 0.0]
CLOSING = [200.0, 100.0, 0.0, 0.0]
ORDERLY = [400.0, 300.0, 200.0, 150.0]
FORCED = [250.0, 90.0, 80.0, 60.0]
LOAN = CreditInputs(QUARTER_ENDS, cfads=CFADS, debt_service=DEBT_SERVICE, balance=CLOSING,  # type: ignore[arg-type]
                    interest=INTEREST, covenant=1.20, orderly_value=ORDERLY, forced_value=FORCED)  # type: ignore[arg-type]


def test_credit_metrics() -> None:
    got = credit_metrics(LOAN)
    # DSCR = [130/106 = 1.2264, 115/104 = 1.1058, 95/102 = 0.9314, no debt service].
    assert got.min_dscr == pytest.approx(95 / 102, rel=1e-9)
    assert got.avg_dscr == pytest.approx((130 / 106 + 115 / 104 + 95 / 102) / 3, rel=1e-9)
    # Below 1.20 in Q2 and Q3: first breach at Q2's end, two breaches; three periods tested.
    assert (got.first_breach, got.breaches, got.periods_tested) == (date(2026, 6, 30), 2, 3)
    # Rate: interest / previous closing = 4/200, 2/100 -> 0.02. Opening derived for Q1:
    # (200 + 106) / 1.02 = 300.  LLCR: Q1 (127.45+110.53+89.52)/300 = 1.0917, Q2
    # (112.75+91.31)/200 = 1.0203, Q3 95/1.02/100 = 0.9314 (the minimum).
    assert rate_per_period(np.array(INTEREST), np.array(CLOSING)) == pytest.approx(0.02, rel=1e-12)
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
    assert got.min_dscr_cfads is None and got.dscr_differs is None  # no template DSCR line


def test_without_collateral_or_rate_those_metrics_are_na() -> None:
    got = credit_metrics(replace(LOAN, orderly_value=None, forced_value=None, interest=None))
    assert got.min_llcr is None and got.max_ltv is None and got.max_ltv_forced is None
    assert got.mismatch_date is None and got.recovery_at_breach is None and got.lgd_at_breach is None
    assert got.breaches == 2  # coverage does not need them


def test_every_metric_is_the_function_of_its_name() -> None:
    import models.credit as credit

    got = credit_metrics(LOAN)
    for f in fields(CreditMetrics):
        assert getattr(got, f.name) == getattr(credit, f.name)(LOAN), f.name


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
def test_shortfall_between_zero_and_debt_service(pairs: list[tuple[float, float]]) -> None:
    cf, ds = (np.array(x) for x in zip(*pairs))
    ends = tuple(date(2026, 1, 1) for _ in pairs)
    got = shortfall(CreditInputs(ends, cfads=cf, debt_service=ds))
    assert np.all(got >= 0.0) and np.all(got <= ds)


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
