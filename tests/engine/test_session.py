"""The model session (issue 14 §1): loaded once, set and re-evaluated incrementally, it gives the values a
full conversion with the same inputs gives — on every shipped template, to a relative 1e-12."""

from __future__ import annotations

import datetime as dt
import math

import openpyxl
import pytest

from conftest import TEMPLATE_NAMES
from engine.convert import CurveChoice, convert
from engine.errors import ParameterError
from engine.session import ModelSession
from models.curves import Launch, RentMode

CURVE = CurveChoice(preset="h100-stress")
# the same curve reached two ways: set in an open session, or given to a fresh conversion
CHANGES = {"d": 0.31, "p0": 2.05, "floor": 0.2, "util": (0.9, 0.8, 0.6)}


def _profile_cells(session: ModelSession) -> list[tuple[str, int, int]]:
    p = session.profile
    cells = [*p.rent, *(c for line in p.metrics.values() for c in line)]
    return [(c.sheet, c.row, c.col) for c in cells]


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return math.isclose(a, float(b), rel_tol=1e-12, abs_tol=1e-9)
    return a == b or (a is None and b in ("", None))


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_a_session_equals_a_full_conversion_with_the_same_inputs(name, template_copy, tmp_path):
    src = template_copy(name)
    session = ModelSession.open(src, curve=CURVE)
    session.set_curve(**CHANGES)
    session.evaluate()
    out = tmp_path / "full.xlsx"
    convert(src, out, curve=CurveChoice(preset="h100-stress", overrides=dict(CHANGES)))
    ws = openpyxl.load_workbook(out, data_only=True)
    differ = [(key, session.engine.get(*key), ws[key[0]].cell(key[1], key[2]).value)
              for key in _profile_cells(session)
              if not _close(session.engine.get(*key), ws[key[0]].cell(key[1], key[2]).value)]
    assert differ == []
    session.check_rent()  # and the workbook's rent equals the curve computed by models/


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_a_session_written_after_changes_is_that_conversion(name, template_copy, tmp_path):
    """Writing the session after set_curve gives the output a conversion with those inputs gives."""
    src = template_copy(name)
    session = ModelSession.open(src, curve=CURVE)
    session.set_curve(d=0.42)
    written = session.write(tmp_path / "session.xlsx")
    direct = convert(src, tmp_path / "direct.xlsx", curve=CurveChoice(preset="h100-stress", overrides={"d": 0.42}))
    assert written.params.d == 0.42
    assert written.metrics_after == direct.metrics_after
    got = openpyxl.load_workbook(tmp_path / "session.xlsx", data_only=True)
    want = openpyxl.load_workbook(tmp_path / "direct.xlsx", data_only=True)
    for key in _profile_cells(session):
        assert _close(got[key[0]].cell(key[1], key[2]).value, want[key[0]].cell(key[1], key[2]).value), key
    assert got["GPU_Curve"]["B8"].value == 0.42  # the input cell carries the session's value


def test_template_inputs_are_set_and_written(template_copy, tmp_path):
    src = template_copy("dc_lease_annual")
    session = ModelSession.open(src, curve=CURVE)
    before = session.lines().debt_service.copy()
    session.set_cells({"Inputs!C21": 150.0})  # half the senior loan of 300
    session.evaluate()
    # the template's debt service is PMT(rate, tenor, -loan), linear in the loan: it halves
    assert session.lines().debt_service == pytest.approx(before / 2, rel=1e-12)
    session.write(tmp_path / "half.xlsx")
    assert openpyxl.load_workbook(tmp_path / "half.xlsx")["Inputs"]["C21"].value == 150.0


@pytest.mark.parametrize("change, message", [
    ({"start": None}, "start: cannot change"),
    ({"d": 1.5}, "d: 1.5 is invalid"),
    ({"launches": tuple(Launch(dt.date(2030, 1, k + 1), 0.1) for k in range(9))}, "room for 8"),
], ids=["start", "out-of-range", "too-many-launches"])
def test_changes_a_session_cannot_take_are_refused(change, message, template_copy):
    session = ModelSession.open(template_copy("dc_lease_annual"), curve=CURVE)
    with pytest.raises(ParameterError, match=message):
        session.set_curve(**change)


def test_a_formula_cell_is_not_an_input(template_copy):
    session = ModelSession.open(template_copy("dc_lease_annual"), curve=CURVE)
    with pytest.raises(ParameterError, match="holds a formula"):
        session.set_cells({"Inputs!C24": 1.0})  # the PMT of the loan


def test_absolute_mode_sessions_follow_the_fleet(template_copy):
    session = ModelSession.open(template_copy("gpu_ddtl_quarterly"), curve=CurveChoice(mode=RentMode.ABSOLUTE))
    rent = session.lines().rent.copy()
    session.set_curve(gpus=2048.0)  # twice the profile's 1,024 GPUs: twice the re-priced rent
    session.evaluate()
    changed = session.expected_rent() != session.rent_before
    assert session.lines().rent[changed] == pytest.approx(2 * rent[changed], rel=1e-12)
