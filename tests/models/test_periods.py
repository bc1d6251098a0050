"""Tests for models.periods: months, the period grid and period means."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.periods import (
    Frequency,
    PeriodGrid,
    days_in_month,
    month_index,
    month_start,
    period_means,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("monthly", Frequency.MONTHLY),
        ("Quarterly", Frequency.QUARTERLY),
        ("SEMIANNUAL", Frequency.SEMIANNUAL),
        ("semi-annual", Frequency.SEMIANNUAL),
        ("annual", Frequency.ANNUAL),
        (" yearly ", Frequency.ANNUAL),
    ],
    ids=["monthly", "mixed-case", "upper", "hyphen", "annual", "yearly-padded"],
)
def test_frequency_parse(text: str, expected: Frequency) -> None:
    assert Frequency.parse(text) is expected


def test_frequency_parse_rejects_and_lists_allowed() -> None:
    with pytest.raises(ValueError, match="monthly\\|quarterly"):
        Frequency.parse("fortnightly")


def test_frequency_values_are_months_per_period() -> None:
    assert [f.value for f in Frequency] == [1, 3, 6, 12]


@pytest.mark.parametrize(
    ("d", "index", "days"),
    [
        (date(2026, 1, 15), 2026 * 12 + 0, 31),  # January: 31 days
        (date(2026, 2, 1), 2026 * 12 + 1, 28),  # 2026 is not a leap year
        (date(2028, 2, 29), 2028 * 12 + 1, 29),  # 2028 is a leap year
        (date(2026, 12, 31), 2026 * 12 + 11, 31),  # December, last month of the year
        (date(2027, 4, 30), 2027 * 12 + 3, 30),  # April: 30 days
    ],
    ids=["jan", "feb-2026", "feb-2028-leap", "dec", "apr"],
)
def test_month_index_roundtrip(d: date, index: int, days: int) -> None:
    assert month_index(d) == index
    assert month_start(index) == d.replace(day=1)
    assert days_in_month(index) == days


@pytest.mark.parametrize(
    ("ends", "frequency", "starts"),
    [
        # docs/curve.md: first start = end − one period + 1 day (brief's examples).
        ([date(2026, 12, 31)], Frequency.ANNUAL, [date(2026, 1, 1)]),
        ([date(2027, 3, 31)], Frequency.QUARTERLY, [date(2027, 1, 1)]),
        # 2026-06-30 is a month end, so 3 months back is 2026-03-31 (not 03-30): start 04-01.
        ([date(2026, 6, 30), date(2026, 9, 30)], Frequency.QUARTERLY,
         [date(2026, 4, 1), date(2026, 7, 1)]),
        # Mid-month ends: 2026-06-15 − 6 months = 2025-12-15, + 1 day; then day after each end.
        ([date(2026, 6, 15), date(2026, 12, 15)], Frequency.SEMIANNUAL,
         [date(2025, 12, 16), date(2026, 6, 16)]),
        # February month end: 2026-02-28 − 1 month, end of month = 2026-01-31, + 1 day.
        ([date(2026, 2, 28)], Frequency.MONTHLY, [date(2026, 2, 1)]),
    ],
    ids=["annual", "quarterly-q1", "quarterly-eom-june", "semiannual-mid-month", "monthly-feb"],
)  # fmt: skip
def test_from_ends(ends: list[date], frequency: Frequency, starts: list[date]) -> None:
    grid = PeriodGrid.from_ends(ends, frequency)
    assert grid.starts == tuple(starts)
    assert grid.ends == tuple(ends)


def test_from_starts_last_end_is_one_period_less_a_day() -> None:
    grid = PeriodGrid.from_starts([date(2026, 1, 1), date(2026, 4, 1)], Frequency.QUARTERLY)
    # Day before the next start; last = 2026-04-01 + 3 months − 1 day = 2026-06-30.
    assert grid.ends == (date(2026, 3, 31), date(2026, 6, 30))


@pytest.mark.parametrize(
    ("fiscal_start_month", "starts", "ends"),
    [
        (1, (date(2026, 1, 1), date(2027, 1, 1)), (date(2026, 12, 31), date(2027, 12, 31))),
        # FY labelled by the year it ends in: FY2026 = 2025-04-01..2026-03-31.
        (4, (date(2025, 4, 1), date(2026, 4, 1)), (date(2026, 3, 31), date(2027, 3, 31))),
        (7, (date(2025, 7, 1), date(2026, 7, 1)), (date(2026, 6, 30), date(2027, 6, 30))),
    ],
    ids=["calendar", "fiscal-april", "fiscal-july"],
)
def test_from_years(
    fiscal_start_month: int, starts: tuple[date, ...], ends: tuple[date, ...]
) -> None:
    grid = PeriodGrid.from_years([2026, 2027], fiscal_start_month)
    assert grid.starts == starts
    assert grid.ends == ends


def test_from_years_rejects_bad_month() -> None:
    with pytest.raises(ValueError, match="fiscal_start_month"):
        PeriodGrid.from_years([2026], 13)


def test_from_start_quarterly() -> None:
    grid = PeriodGrid.from_start(date(2026, 1, 1), Frequency.QUARTERLY, 3)
    assert grid.starts == (date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1))
    assert grid.ends == (date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30))
    assert grid.n_periods == 3
    jan = month_index(date(2026, 1, 1))
    assert grid.first_month.tolist() == [jan, jan + 3, jan + 6]
    assert grid.last_month.tolist() == [jan + 2, jan + 5, jan + 8]
    assert grid.months_of(1) == range(jan + 3, jan + 6)
    assert grid.span() == (jan, jan + 8)


@pytest.mark.parametrize(
    ("starts", "ends", "message"),
    [
        ((), (), "at least one"),
        ((date(2026, 1, 1),), (), "1 starts but 0 ends"),
        ((date(2026, 2, 1),), (date(2026, 1, 31),), "after it ends"),
        ((date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 3, 31), date(2026, 6, 30)),
         "not after period 0"),
    ],
    ids=["empty", "length-mismatch", "start-after-end", "overlap"],
)  # fmt: skip
def test_grid_validation(starts: tuple[date, ...], ends: tuple[date, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PeriodGrid(starts, ends)


def test_period_means_hand_table() -> None:
    grid = PeriodGrid.from_start(date(2026, 1, 1), Frequency.QUARTERLY, 2)
    first = month_index(date(2025, 12, 1))  # one month of slack before the grid
    monthly = np.array([99.0, 1.0, 2.0, 3.0, 4.0, 5.0, 9.0, 99.0])
    # Q1 = (1+2+3)/3 = 2; Q2 = (4+5+9)/3 = 6.
    assert period_means(monthly, first, grid).tolist() == pytest.approx([2.0, 6.0], rel=1e-12)


@pytest.mark.parametrize(
    ("first_offset", "length"),
    [(1, 6), (0, 5)],
    ids=["starts-too-late", "ends-too-early"],
)
def test_period_means_must_cover_grid(first_offset: int, length: int) -> None:
    grid = PeriodGrid.from_start(date(2026, 1, 1), Frequency.QUARTERLY, 2)
    first = month_index(date(2026, 1, 1)) + first_offset
    with pytest.raises(ValueError, match="grid needs"):
        period_means(np.ones(length), first, grid)


@given(
    value=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    count=st.integers(min_value=1, max_value=20),
    frequency=st.sampled_from(list(Frequency)),
    slack=st.integers(min_value=0, max_value=5),
)
def test_period_means_of_constant_is_constant(
    value: float, count: int, frequency: Frequency, slack: int
) -> None:
    grid = PeriodGrid.from_start(date(2026, 3, 1), frequency, count)
    lo, hi = grid.span()
    monthly = np.full(hi - lo + 1 + 2 * slack, value)
    means = period_means(monthly, lo - slack, grid)
    assert means == pytest.approx(np.full(count, value), rel=1e-12, abs=1e-9)
