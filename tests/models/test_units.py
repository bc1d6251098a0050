"""Money units (models/units.py): the closed set, and dollars → the template's unit."""

from __future__ import annotations

import pytest

from models.units import MoneyUnit, unit_scale


@pytest.mark.parametrize(
    ("text", "unit", "scale"),
    [
        ("USD", MoneyUnit.USD, 1.0),
        ("USD thousands", MoneyUnit.USD_THOUSANDS, 1e-3),  # $1 = 0.001 thousand
        ("usd_millions", MoneyUnit.USD_MILLIONS, 1e-6),
        ("  usd   billions ", MoneyUnit.USD_BILLIONS, 1e-9),
    ],
    ids=["usd", "thousands", "snake-case", "spaces"],
)
def test_usd_units_and_their_scale(text: str, unit: MoneyUnit, scale: float) -> None:
    assert MoneyUnit.parse(text) is unit
    assert unit_scale(unit) == scale
    assert MoneyUnit.from_scale(scale) is unit


def test_other_currencies_need_the_exchange_rate() -> None:
    # 0.92 EUR per USD, in millions: $1 = 0.92e-6 EUR m; 83 INR per USD in crore (1e7): 8.3e-6
    assert unit_scale(MoneyUnit.EUR_MILLIONS, 0.92) == pytest.approx(0.92e-6, rel=1e-12)
    assert unit_scale(MoneyUnit.INR_CRORE, 83.0) == pytest.approx(8.3e-6, rel=1e-12)
    assert MoneyUnit.INR_LAKH.size == 1e5 and MoneyUnit.INR_CRORE.currency == "INR"
    with pytest.raises(ValueError, match="fx_rate: not set"):
        unit_scale(MoneyUnit.EUR_MILLIONS)
    with pytest.raises(ValueError, match="fx_rate"):
        unit_scale(MoneyUnit.USD, 1.1)
    with pytest.raises(ValueError, match="unit: 'dollars' is not a money unit"):
        MoneyUnit.parse("dollars")
    assert MoneyUnit.from_scale(0.5) is None
