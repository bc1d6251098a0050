"""Speed work must not change a single number (issue 13): each shipped template's conversion gives the
same formulas and cached values, in the template's own sheets, as the stored expectation produced by
``tests/expected/build_expected.py`` before the pipeline was rewritten for speed."""

from __future__ import annotations

import gzip
import json
import math

import pytest

from conftest import ROOT
from engine.convert import CurveChoice, convert
from models.curves import RentMode

EXPECTED = ROOT / "tests" / "expected"


@pytest.mark.parametrize("name", ["dc_lease_annual", "gpu_ddtl_quarterly", "miner_hosting_monthly"])
def test_the_output_is_what_it_was_before_the_speed_work(name, template_copy, tmp_path):
    import sys

    sys.path.insert(0, str(EXPECTED))
    from build_expected import sheet_cells

    expected = json.loads(gzip.decompress((EXPECTED / f"{name}.json.gz").read_bytes()))
    out = tmp_path / f"{name}.gpu.xlsx"
    convert(template_copy(name), out, curve=CurveChoice(preset=expected["preset"], mode=RentMode(expected["mode"])))
    got = sheet_cells(out)
    assert sorted(got) == sorted(expected["cells"])
    differ = []
    for key, (formula, value) in expected["cells"].items():
        got_formula, got_value = got[key]
        same_value = (math.isclose(got_value, value, rel_tol=1e-12, abs_tol=1e-9)
                      if isinstance(value, float) and isinstance(got_value, float) else got_value == value)
        if got_formula != formula or not same_value:
            differ.append((key, (formula, value), (got_formula, got_value)))
    assert differ == []
