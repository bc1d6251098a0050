"""models/debt.py: hand-checked schedules and capacities, and the schedule identities (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.debt import (
    annuity_schedule,
    balloon_schedule,
    max_annuity_loan,
    sculpted_capacity,
    straight_line_schedule,
)

MONEY = dict(abs=0.005)


def test_annuity_by_hand():
    """1,000 at 10 % over 3 periods: PMT = 1000 * 0.1 / (1 - 1.1**-3) = 402.1148036 (textbook annuity)."""
    s = annuity_schedule(1000.0, 0.10, 3)
    assert s.payment == pytest.approx([402.1148036] * 3, **MONEY)
    assert s.interest == pytest.approx([100.0, 69.7885196, 36.5558912], **MONEY)  # 10 % of each opening
    assert s.principal == pytest.approx([302.1148036, 332.3262840, 365.5589124], **MONEY)
    assert s.closing[-1] == pytest.approx(0.0, abs=1e-9)


def test_straight_line_and_balloon_by_hand():
    sl = straight_line_schedule(900.0, 0.05, 3)  # 300 a period; interest 5 % of 900, 600, 300
    assert sl.principal == pytest.approx([300.0] * 3, **MONEY)
    assert sl.interest == pytest.approx([45.0, 30.0, 15.0], **MONEY)
    # an annuity on 500 (201.0574 a period) plus 10 % interest on the 500 still owed, repaid at the end
    bl = balloon_schedule(1000.0, 0.10, 3, 0.5)
    assert bl.payment == pytest.approx([251.0574018, 251.0574018, 251.0574018 + 500.0], **MONEY)
    assert bl.closing[-1] == pytest.approx(0.0, abs=1e-9)


def test_sculpted_capacity_by_hand():
    """CFADS 130, 260, 130 at a 1.30x target: debt service 100, 200, 100, discounted at 10 %:
    100/1.1 + 200/1.21 + 100/1.331 = 90.909 + 165.289 + 75.131 = 331.330."""
    assert sculpted_capacity([130.0, 260.0, 130.0], 0.10, 1.30) == pytest.approx(331.3298272, **MONEY)
    # an annuity can only pay the smallest period's 100: PV of 100 x 3 at 10 % = 248.6852
    assert max_annuity_loan([130.0, 260.0, 130.0], 0.10, 1.30) == pytest.approx(248.6851991, **MONEY)


def test_negative_cfads_carries_no_debt_service():
    assert sculpted_capacity([-50.0, 130.0], 0.0, 1.30) == pytest.approx(100.0, **MONEY)


@pytest.mark.parametrize("bad", [dict(cfads=[]), dict(cfads=[np.nan]), dict(target_dscr=0.0),
                                 dict(rate_per_period=-1.0)], ids=["empty", "nan", "zero-target", "rate"])
def test_bad_inputs_are_refused(bad):
    args = dict(cfads=[1.0, 2.0], rate_per_period=0.05, target_dscr=1.2) | bad
    with pytest.raises(ValueError):
        sculpted_capacity(**args)


loans = st.floats(min_value=1.0, max_value=1e9)
rates = st.floats(min_value=0.0, max_value=0.3)
terms = st.integers(min_value=1, max_value=240)


@settings(max_examples=60, deadline=None)
@given(loan=loans, rate=rates, n=terms, kind=st.sampled_from(["annuity", "straight", "balloon"]))
def test_schedule_identities(loan, rate, n, kind):
    s = {"annuity": lambda: annuity_schedule(loan, rate, n), "straight": lambda: straight_line_schedule(loan, rate, n),
         "balloon": lambda: balloon_schedule(loan, rate, n, 0.3)}[kind]()
    tol = 1e-9 * loan
    np.testing.assert_allclose(s.closing, s.opening - s.principal, atol=tol)
    np.testing.assert_allclose(s.opening[1:], s.closing[:-1], atol=tol)
    np.testing.assert_allclose(s.payment, s.interest + s.principal, atol=tol)
    assert s.principal.sum() == pytest.approx(loan, abs=tol)


@settings(max_examples=60, deadline=None)
@given(cf=st.lists(st.floats(min_value=0.0, max_value=1e7), min_size=1, max_size=60), rate=rates,
       target=st.floats(min_value=1.0, max_value=3.0))
def test_no_annuity_carries_more_than_the_sculpted_capacity(cf, rate, target):
    assert max_annuity_loan(cf, rate, target) <= sculpted_capacity(cf, rate, target) * (1 + 1e-12) + 1e-9
