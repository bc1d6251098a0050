"""Calendar months and the period grid of a template (docs/curve.md, "Periods").

Everything in the rent curve runs on whole calendar months, identified by a
*month index* ``year * 12 + (month - 1)``.  A template period covers the months
from the month containing its start date to the month containing its end date,
inclusive; :func:`period_means` averages a monthly series over those months.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum

import numpy as np
import numpy.typing as npt

__all__ = [
    "Frequency",
    "PeriodGrid",
    "add_months",
    "days_in_month",
    "month_index",
    "month_start",
    "period_means",
]

_ONE_DAY = timedelta(days=1)

_FREQUENCY_ALIASES: dict[str, str] = {
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "semiannual": "SEMIANNUAL",
    "semi-annual": "SEMIANNUAL",
    "annual": "ANNUAL",
    "yearly": "ANNUAL",
}


class Frequency(Enum):
    """Period length of a template timeline; the value is months per period."""

    MONTHLY = 1
    QUARTERLY = 3
    SEMIANNUAL = 6
    ANNUAL = 12

    @classmethod
    def parse(cls, text: str) -> Frequency:
        """Parse a frequency name, case-insensitively.

        Parameters
        ----------
        text : str
            One of ``monthly``, ``quarterly``, ``semiannual``, ``semi-annual``,
            ``annual``, ``yearly``.

        Returns
        -------
        Frequency

        Raises
        ------
        ValueError
            If `text` is not one of the allowed names (the message lists them).
        """
        key = text.strip().lower()
        if key not in _FREQUENCY_ALIASES:
            allowed = "|".join(_FREQUENCY_ALIASES)
            raise ValueError(f"frequency: unknown value {text!r}; expected one of {allowed}")
        return cls[_FREQUENCY_ALIASES[key]]


def month_index(d: date) -> int:
    """Month index of the calendar month containing `d`: ``year * 12 + month - 1``."""
    return d.year * 12 + d.month - 1


def month_start(index: int) -> date:
    """First day of the month with month index `index` (inverse of :func:`month_index`)."""
    year, month0 = divmod(int(index), 12)
    return date(year, month0 + 1, 1)


def days_in_month(index: int) -> int:
    """Number of days (28–31) in the month with month index `index`."""
    year, month0 = divmod(int(index), 12)
    return calendar.monthrange(year, month0 + 1)[1]


def _is_month_end(d: date) -> bool:
    return d.day == calendar.monthrange(d.year, d.month)[1]


def add_months(d: date, months: int, *, month_end: bool = False) -> date:
    """Shift `d` by whole calendar months, clamping the day to the target month.

    Parameters
    ----------
    d : date
        Date to shift.
    months : int
        Number of months (may be negative).
    month_end : bool, default False
        If true, return the last day of the target month (end-of-month rule).

    Returns
    -------
    date
    """
    target = month_index(d) + months
    last_day = days_in_month(target)
    first = month_start(target)
    day = last_day if month_end else min(d.day, last_day)
    return first.replace(day=day)


@dataclass(frozen=True)
class PeriodGrid:
    """The periods of a template timeline, as inclusive date ranges.

    Parameters
    ----------
    starts : tuple of date
        First day of each period.
    ends : tuple of date
        Last day of each period (inclusive).

    Raises
    ------
    ValueError
        If the tuples are empty or of different length, a period ends before it
        starts, or a period does not start after the previous one ends.
    """

    starts: tuple[date, ...]
    ends: tuple[date, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts", tuple(self.starts))
        object.__setattr__(self, "ends", tuple(self.ends))
        if len(self.starts) != len(self.ends):
            raise ValueError(
                f"PeriodGrid: {len(self.starts)} starts but {len(self.ends)} ends; "
                "give one start and one end per period"
            )
        if not self.starts:
            raise ValueError("PeriodGrid: needs at least one period")
        for i, (start, end) in enumerate(zip(self.starts, self.ends, strict=True)):
            if start > end:
                raise ValueError(f"PeriodGrid: period {i} starts {start} after it ends {end}")
            if i > 0 and start <= self.ends[i - 1]:
                raise ValueError(
                    f"PeriodGrid: period {i} starts {start}, not after period {i - 1} "
                    f"ends {self.ends[i - 1]}; periods must be increasing and not overlap"
                )

    # -- constructors ---------------------------------------------------------
    @classmethod
    def from_ends(cls, ends: Sequence[date], frequency: Frequency) -> PeriodGrid:
        """Build a grid from period end dates (docs/curve.md, "Periods").

        Each period starts the day after the previous end; the first starts the
        day after the date ``frequency.value`` months before its end (end of
        month to end of month when the end is a month end), so 2026-06-30
        quarterly starts 2026-04-01.

        Parameters
        ----------
        ends : sequence of date
            Last day of each period, increasing.
        frequency : Frequency
            Timeline frequency; only used for the first period's start.
        """
        ends_t = tuple(ends)
        if not ends_t:
            raise ValueError("PeriodGrid.from_ends: needs at least one end date")
        first_end = ends_t[0]
        before = add_months(first_end, -frequency.value, month_end=_is_month_end(first_end))
        starts = (before + _ONE_DAY,) + tuple(e + _ONE_DAY for e in ends_t[:-1])
        return cls(starts, ends_t)

    @classmethod
    def from_starts(cls, starts: Sequence[date], frequency: Frequency) -> PeriodGrid:
        """Build a grid from period start dates.

        Each period ends the day before the next start; the last ends
        ``frequency.value`` months after its start, less one day.

        Parameters
        ----------
        starts : sequence of date
            First day of each period, increasing.
        frequency : Frequency
            Timeline frequency; only used for the last period's end.
        """
        starts_t = tuple(starts)
        if not starts_t:
            raise ValueError("PeriodGrid.from_starts: needs at least one start date")
        last_end = add_months(starts_t[-1], frequency.value) - _ONE_DAY
        ends = tuple(s - _ONE_DAY for s in starts_t[1:]) + (last_end,)
        return cls(starts_t, ends)

    @classmethod
    def from_years(cls, years: Sequence[int], fiscal_start_month: int = 1) -> PeriodGrid:
        """Build a grid of calendar or fiscal years.

        Parameters
        ----------
        years : sequence of int
            Year labels, increasing.
        fiscal_start_month : int, default 1
            First month (1–12) of the fiscal year.  With 1, year ``y`` is the
            calendar year.  Otherwise fiscal year ``y`` is labelled by the year in
            which it **ends**: with 4, FY2027 runs 2026-04-01 to 2027-03-31.
        """
        if not 1 <= fiscal_start_month <= 12:
            raise ValueError(
                f"fiscal_start_month: {fiscal_start_month} is not a month number 1-12"
            )
        years_t = tuple(int(y) for y in years)
        if not years_t:
            raise ValueError("PeriodGrid.from_years: needs at least one year")
        offset = 0 if fiscal_start_month == 1 else 1
        starts = tuple(date(y - offset, fiscal_start_month, 1) for y in years_t)
        ends = tuple(add_months(s, 12) - _ONE_DAY for s in starts)
        return cls(starts, ends)

    @classmethod
    def from_start(cls, start: date, frequency: Frequency, count: int) -> PeriodGrid:
        """Build `count` consecutive periods of one `frequency` from `start`.

        Period ``k`` starts ``k * frequency.value`` months after `start` (day
        clamped to the month) and ends the day before period ``k + 1`` starts.
        """
        if count < 1:
            raise ValueError(f"count: {count}; need at least one period")
        bounds = [add_months(start, k * frequency.value) for k in range(count + 1)]
        return cls(tuple(bounds[:-1]), tuple(b - _ONE_DAY for b in bounds[1:]))

    # -- queries ----------------------------------------------------------------
    @property
    def n_periods(self) -> int:
        """Number of periods."""
        return len(self.starts)

    @property
    def first_month(self) -> npt.NDArray[np.int64]:
        """Month index of the month containing each period's start."""
        return np.array([month_index(s) for s in self.starts], dtype=np.int64)

    @property
    def last_month(self) -> npt.NDArray[np.int64]:
        """Month index of the month containing each period's end."""
        return np.array([month_index(e) for e in self.ends], dtype=np.int64)

    def months_of(self, i: int) -> range:
        """Month indices covered by period `i` (inclusive of both end months)."""
        return range(month_index(self.starts[i]), month_index(self.ends[i]) + 1)

    def span(self) -> tuple[int, int]:
        """(first month of period 0, last month of the last period), as month indices."""
        return month_index(self.starts[0]), month_index(self.ends[-1])


def period_means(
    monthly: npt.NDArray[np.float64], first_month: int, grid: PeriodGrid
) -> npt.NDArray[np.float64]:
    """Plain average of a monthly series over each period's months.

    Parameters
    ----------
    monthly : ndarray of float, shape (n_months,)
        Monthly values; ``monthly[0]`` belongs to month index `first_month`.
    first_month : int
        Month index of ``monthly[0]``.
    grid : PeriodGrid
        The periods to average over.

    Returns
    -------
    ndarray of float, shape (grid.n_periods,)
        Mean of the monthly values in each period, in the unit of `monthly`.

    Raises
    ------
    ValueError
        If `monthly` does not cover every month of the grid.
    """
    values = np.asarray(monthly, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"monthly: expected a 1-D array, got shape {values.shape}")
    lo, hi = grid.span()
    last_covered = first_month + values.shape[0] - 1
    if lo < first_month or hi > last_covered:
        raise ValueError(
            f"monthly: covers months {month_start(first_month)}..{month_start(last_covered)} "
            f"but the grid needs {month_start(lo)}..{month_start(hi)}"
        )
    lo_pos = grid.first_month - first_month
    hi_pos = grid.last_month - first_month + 1
    # A direct slice mean (not a cumulative sum) keeps each period exact to rounding.
    means = np.array(
        [values[a:b].mean() for a, b in zip(lo_pos.tolist(), hi_pos.tolist(), strict=True)],
        dtype=np.float64,
    )
    return means
