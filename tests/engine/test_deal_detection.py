"""What a template says about its deal: the money unit and what secures the loan, read from its words."""

from __future__ import annotations

import pytest

from conftest import TEMPLATES
from engine.convert import inspect
from engine.template.detect.vocab import money_unit_words
from engine.template.profile import parse_anchor, profile_from_dict, profile_to_toml, read_profile
from models.params import SecurityKind
from models.units import MoneyUnit


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("US$ 000", "USD thousands"), ("$m", "USD millions"), ("€m", "EUR millions"), ("(INR Crs.)", "INR crore"),
        ("US$ millions unless stated", "USD millions"), ("USD '000", "USD thousands"), ("$000s", "USD thousands"),
        ("in $ thousands", "USD thousands"), ("Rs. Crore", "INR crore"), ("₹ lakh", "INR lakh"), ("£m", "GBP millions"),
        ("US$", "USD"), ("US$ / quarter", "USD"), ("US$m p.a.", "USD millions"),
        # prices per something, and words that only look like units, say nothing of the model's unit
        ("US$ / GPU-hr", None), ("$/MWh", None), ("$ per GPU-hour", None), ("MW", None), ("% p.a.", None),
        ("Total project cost", None),
    ],
)
def test_money_unit_words(text: str, unit: str | None) -> None:
    assert money_unit_words(text) == unit


@pytest.mark.parametrize(("name", "unit", "kind", "where"), [
    ("dc_lease_annual", MoneyUnit.USD_MILLIONS, SecurityKind.SITE, "Inputs!A1"),  # "data-centre lease financing"
    ("gpu_ddtl_quarterly", MoneyUnit.USD, SecurityKind.GPU_FLEET, "Inputs!A2"),  # "secured on 1,024 H100 GPUs"
    ("miner_hosting_monthly", MoneyUnit.USD, SecurityKind.GPU_FLEET, "Inputs!B18"),  # "GPUs hosted"
])
def test_detection_proposes_the_unit_and_the_security_with_its_reason(name, unit, kind, where):
    found = inspect(TEMPLATES / f"{name}.xlsx")
    assert found.profile is not None
    assert found.profile.unit is unit and found.profile.collateral_kind is kind
    assert found.findings["collateral"].where == where and found.findings["collateral"].how.startswith("'")
    assert found.findings["unit"].confidence in ("high", "medium")
    text = profile_to_toml(found.profile, comments=found.comments())
    assert f'unit = "{unit.label}"' in text and f'kind = "{kind.value}"' in text


def test_profile_fields_round_trip(tmp_path):
    doc = {"timeline": {"cells": "M!B1:D1", "frequency": "annual"}, "rent": {
        "cells": "M!B2:D2", "anchor": 2, "contracted_until": "2027-12-31", "releasing_gap_months": 6},
        "deal": {"unit": "EUR millions", "fx_rate": 0.92},
        "collateral": {"kind": "site", "value": "M!B9:D9", "haircut": 0.3}}
    profile = profile_from_dict(doc)
    assert (profile.anchor, profile.releasing_gap_months, profile.unit) == (2, 6, MoneyUnit.EUR_MILLIONS)
    assert profile.money_scale() == pytest.approx(0.92e-6, rel=1e-12)
    path = tmp_path / "p.toml"
    path.write_text(profile_to_toml(profile))
    again = read_profile(path)
    for name in ("anchor", "contracted_until", "releasing_gap_months", "unit", "fx_rate", "collateral_kind",
                 "collateral_value", "collateral_haircut"):
        assert getattr(again, name) == getattr(profile, name), name
    assert parse_anchor("2026-02-15").isoformat() == "2026-02-15"


@pytest.mark.parametrize(("deal", "match"), [
    ({"unit": "USD millions", "unit_scale": 1e-3}, "unit_scale = 0.001 contradicts unit"),
    ({"unit": "EUR millions"}, "fx_rate: not set"),
    ({"unit": "florins"}, "not a money unit"),
], ids=["contradiction", "no-fx", "unknown"])
def test_profile_unit_errors_name_the_field(tmp_path, deal, match):
    from engine.errors import ProfileError

    path = tmp_path / "p.toml"
    body = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in deal.items())
    path.write_text(f'[timeline]\ncells = "M!B1:D1"\nfrequency = "annual"\n[rent]\ncells = "M!B2:D2"\n[deal]\n{body}\n')
    with pytest.raises(ProfileError, match=match):
        read_profile(path)
