"""One registry per concept (issue 12): a preset added to models.presets.PRESETS is usable everywhere."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from engine.convert import CurveChoice, convert
from engine.convert import CollateralChoice
from models.curves import Launch, RentMode
from models.presets import PRESETS, Preset


def test_adding_a_preset_is_one_entry_in_one_file(monkeypatch, template_copy, tmp_path):
    """A flat curve (no decline, no launches, constant utilisation) added at run time: the index is 1 in
    every month, so in index mode every rent after the anchor equals the anchor's rent (hand result)."""
    base = PRESETS["h100-base"]
    flat = Preset("test-flat", dataclasses.replace(base.curve, d=0.0, floor=0.0, launches=(), util=(0.8,)),
                  dataclasses.replace(base.collateral, launches=(Launch(dt.date(2030, 1, 1), 0.1),)), "a flat curve")
    monkeypatch.setitem(PRESETS, "test-flat", flat)
    src = template_copy("dc_lease_annual")
    # the lease is secured on its site; valuing its GPUs as collateral is asked for explicitly
    result = convert(src, tmp_path / "flat.xlsx", curve=CurveChoice(
        preset="test-flat", mode=RentMode.INDEX, collateral=CollateralChoice({"kind": "gpu_fleet"})))
    assert result.preset == "test-flat"
    anchor = float(result.rent_before[0])
    np.testing.assert_allclose(result.rent_after, np.full(len(result.rent_after), anchor), rtol=1e-12)
    assert result.collateral is not None and result.collateral.launches[0].date == dt.date(2030, 1, 1)


def test_an_unknown_preset_names_the_closest_one(template_copy, tmp_path):
    from engine.errors import ParameterError

    with pytest.raises(ParameterError, match="did you mean h100-stress"):
        convert(template_copy("dc_lease_annual"), tmp_path / "x.xlsx", curve=CurveChoice(preset="h100-strss"))
