"""Every worked example of docs/curve.md, recomputed by models/curves.py.

The expected numbers are the page's own, worked by hand there (to the digits it prints: prices
to 4 decimals, so abs=5e-5; the index and means to 6, abs=5e-7; money to the cent).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.curves import CurveParams, Launch, RentMode, index, realised, rent_after, spot, utilisation
from models.periods import Frequency, PeriodGrid, month_index

DOC = Path(__file__).resolve().parents[2] / "docs" / "curve.md"
PRICE = 5e-5


def params(**kw: Any) -> CurveParams:
    """The page's setting: p0 2.40 at 2026-07-01, d 0.25, floor 0.25, util 1, no contract."""
    base: dict[str, Any] = dict(price_date=date(2026, 7, 1), p0=2.40, d=0.25, floor=0.25, ramp_months=6,
                                util=(1.0,), c=0.0, p_contract=0.0, contract_months=0, start=date(2026, 7, 1))
    base.update(kw)
    return CurveParams(**base)


def at(p: CurveParams, year: int, month: int, fn: Any = spot) -> float:
    return float(fn(p, np.array([month_index(date(year, month, 1))]))[0])


@pytest.mark.parametrize(("year", "month", "want"), [(2027, 7, 1.8000), (2026, 10, 2.2335), (2026, 1, 2.7713),
                                                     (2031, 12, 0.5052)],
                         ids=["trend-12-months", "trend-3-months", "before-price-date", "above-floor"])
def test_trend(year, month, want):
    assert at(params(), year, month) == pytest.approx(want, abs=PRICE)


def test_the_floor():
    assert at(params(d=0.40), 2031, 12) == 0.25  # 2.40 x 0.60^(65/12) = 0.1508 is below it


def test_a_launch_month_carries_none_of_its_step_when_it_ramps():
    p = params(launches=(Launch(date(2026, 10, 15), 0.20),))
    trend = {m: at(params(), y, m) for y, m in ((2026, 11), (2026, 12))}
    assert at(p, 2026, 11) == trend[11]  # M_k = November 2026, ramp 0/6
    assert at(p, 2026, 12) == pytest.approx(trend[12] * (1 - 0.20 / 6), rel=1e-12)
    assert at(p, 2027, 2) == pytest.approx(1.8263, abs=PRICE)
    assert at(p, 2027, 5) == pytest.approx(at(params(), 2027, 5) * 0.80, rel=1e-12)


def test_a_launch_without_a_ramp_is_whole_from_its_month():
    p = params(ramp_months=0, launches=(Launch(date(2026, 10, 15), 0.20),))
    assert at(p, 2026, 11) == pytest.approx(at(params(), 2026, 11) * 0.80, rel=1e-12)
    assert at(p, 2027, 2) == pytest.approx(1.6234, abs=PRICE)


def test_a_launch_before_the_price_date_changes_nothing():
    assert at(params(launches=(Launch(date(2026, 3, 1), 0.30),)), 2027, 2) == at(params(), 2027, 2)


def test_utilisation_by_deal_year():
    p = params(util=(0.85, 0.85, 0.75))
    got = [at(p, y, m, utilisation) for y, m in ((2027, 6), (2028, 7), (2031, 1), (2026, 1))]
    assert got == [0.85, 0.75, 0.75, 0.85]


def test_contract_realised_and_index():
    p = params(util=(0.85, 0.85, 0.75), c=0.5, p_contract=2.00, contract_months=24)
    assert at(p, 2026, 7, realised) == pytest.approx(2.0200, abs=PRICE)
    assert at(p, 2027, 7, realised) == pytest.approx(1.7650, abs=PRICE)
    assert at(p, 2027, 7, index) == pytest.approx(0.873762, abs=5e-7)


def quarters() -> PeriodGrid:
    ends = [date(2026, 9, 30), date(2026, 12, 31), date(2027, 3, 31), date(2027, 6, 30), date(2027, 9, 30)]
    return PeriodGrid.from_ends(ends, Frequency.QUARTERLY)


def test_index_mode_and_the_quarter_mean():
    p = params(floor=0.0)
    grid = quarters()
    assert grid.starts[0] == date(2026, 7, 1) and grid.starts[1] == date(2026, 10, 1)
    july = [at(p, 2026, m, index) for m in (7, 8, 9)]
    assert sum(july) / 3 == pytest.approx(0.976499, abs=5e-7)
    rent = rent_after(np.full(5, 1000.0), grid, p, RentMode.INDEX)
    assert rent[0] == 1000.0
    assert rent[1] == pytest.approx(930.60, abs=0.005)
    assert rent[4] == pytest.approx(750.00, abs=0.005)


def test_absolute_mode_month():
    p = params(util=(0.85, 0.85, 0.75), c=0.5, p_contract=2.00, contract_months=24, gpus=1000, unit_scale=1e-6)
    grid = PeriodGrid.from_ends([date(2027, 7, 31)], Frequency.MONTHLY)
    assert rent_after(np.array([5.0]), grid, p, RentMode.ABSOLUTE)[0] == pytest.approx(1.313160, abs=5e-7)


def test_the_page_prints_these_numbers():
    text = DOC.read_text()
    for number in ("1.8000", "2.2335", "2.7713", "1.8263", "1.6234", "0.5052", "0.1508", "2.0200", "1.7650",
                   "0.873762", "0.976499", "930.60", "750.00", "1.313160"):
        assert number in text, number
