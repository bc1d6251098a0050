"""Presets against the calibration of docs/sources.md (its H100 paths and start prices)."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from models.curves import spot
from models.periods import month_index
from models.presets import PRESETS, UnknownPresetError, get_preset

VALUATION = month_index(date(2026, 7, 1))  # the price date of every preset


@pytest.mark.parametrize(
    ("preset", "year", "quoted"),
    [
        # Years 1/3/5: Rubin (2026-10) fully ramped by 2027-04; Rubin Ultra (2027-10) by 2028-04;
        # Feynman (2028-07) by 2029-01; so year 1 has only Rubin, years 3 and 5 all three.
        ("h100-base", 1, 1.81),  # 2.40·e^(−0.12)·(1−0.15) = 1.8093; the calibration's H100 base path
        ("h100-base", 3, 1.09),  # 2.40·e^(−0.36)·0.85·0.90·0.85 = 1.0888
        ("h100-base", 5, 0.86),  # 2.40·e^(−0.60)·0.85·0.90·0.85 = 0.8565
        ("h100-base", 10, 0.47),  # 2.40·e^(−1.20)·0.65025 = 0.4700
        ("h100-stress", 1, 1.38),  # 2.40·e^(−0.20)·(1−0.30) = 1.3755; its stress path
        ("h100-stress", 3, 0.55),  # 2.40·e^(−0.60)·0.70·0.80·0.75 = 0.5532
        ("h100-stress", 5, 0.37),  # 2.40·e^(−1.00)·0.42 = 0.3708
        ("h100-stress", 10, 0.25),  # 2.40·e^(−2.00)·0.42 = 0.136 < floor 0.25 ("floor")
        ("h100-upside", 1, 2.17),  # 2.40·e^(−0.05)·0.95 = 2.1688; its upside path
        ("h100-upside", 3, 1.77),  # 2.40·e^(−0.15)·0.95³ = 1.7711
        ("h100-upside", 5, 1.60),  # 2.40·e^(−0.25)·0.95³ = 1.6025
        ("h100-upside", 10, 1.25),  # 2.40·e^(−0.50)·0.95³ = 1.2481
        ("h100-severe", 1, 1.13),  # 2.40·e^(−0.40)·0.70 = 1.1261; its severe path
        ("h100-severe", 3, 0.30),  # 2.40·e^(−1.20)·0.42 = 0.3036
        ("h100-severe", 5, 0.25),  # 2.40·e^(−2.00)·0.42 = 0.136 < floor 0.25 ("floor")
    ],
    ids=lambda v: str(v),
)
def test_h100_paths_match_reference(preset: str, year: int, quoted: float) -> None:
    price = spot(get_preset(preset).curve, np.array([VALUATION + 12 * year]))[0]
    assert round(float(price), 2) == pytest.approx(quoted, abs=1e-9)


@pytest.mark.parametrize(
    ("name", "p0", "lam", "floor", "util0"),
    [
        ("h100-base", 2.40, 0.12, 0.25, 0.85),  # start price, trend, floor, utilisation (docs/sources.md)
        ("h100-stress", 2.40, 0.20, 0.25, 0.70),
        ("h100-severe", 2.40, 0.40, 0.25, 0.70),
        ("h100-upside", 2.40, 0.05, 0.25, 0.85),
        ("a100-base", 1.00, 0.12, 0.20, 0.85),
        ("h200-base", 3.00, 0.12, 0.30, 0.85),
        ("b200-base", 5.00, 0.12, 0.35, 0.85),
    ],
    ids=lambda v: str(v),
)
def test_preset_calibration(name: str, p0: float, lam: float, floor: float, util0: float) -> None:
    p = PRESETS[name].curve
    assert p.price_date == date(2026, 7, 1)
    assert p.p0 == p0
    assert p.d == pytest.approx(1 - math.exp(-lam), rel=1e-9)
    assert p.floor == floor
    assert p.util[0] == util0
    assert len(p.util) == 5
    assert p.ramp_months == 6  # ramp_years = 0.5
    assert (p.c, p.contract_months, p.p_contract) == (0.0, 0, p0)
    assert [k.date for k in p.launches] == [date(2026, 10, 1), date(2027, 10, 1), date(2028, 7, 1)]
    assert all(k.date > p.price_date for k in p.launches)
    assert p.start is None and p.gpus is None and p.unit_scale == 1.0


def test_get_preset_unknown_lists_names() -> None:
    with pytest.raises(UnknownPresetError, match="h100-base") as info:
        get_preset("h100-nope")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert get_preset(" H100-Base ") is PRESETS["h100-base"]


def test_a_misspelt_preset_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownPresetError, match="did you mean h100-stress") as info:
        get_preset("h100-stres")
    assert info.value.suggestion == "h100-stress"


def test_one_registry_holds_curve_and_collateral_under_one_name() -> None:
    """The launch dates are defined once: the curve's and the collateral's steps fall on the same dates."""
    for preset in PRESETS.values():
        assert preset.name in PRESETS and preset.summary
        assert [k.date for k in preset.curve.launches] == [k.date for k in preset.collateral.launches]
