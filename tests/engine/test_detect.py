"""Detection finds the shipped templates' rent, timeline and debt lines without their profiles."""

from __future__ import annotations

import pytest

from conftest import TEMPLATES, TEMPLATE_NAMES
from engine.detect import detect_profile
from engine.errors import DetectionError
from engine.profile import read_profile
from engine.recalc import evaluate
from engine.timeline import read_grid
from engine.workbook import load


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_detection_matches_the_shipped_profile(name):
    source = load(TEMPLATES / f"{name}.xlsx")
    ev = evaluate(source.data, path=source.path)
    found = detect_profile(source, ev)
    written = read_profile(TEMPLATES / f"{name}.toml")
    assert found.rent == written.rent
    # the same periods, whether read from the period-start or the period-end line
    assert read_grid(ev, found.timeline, path=source.path) == read_grid(ev, written.timeline, path=source.path)
    for key in ("dscr", "cfads", "debt_service", "closing_balance"):
        assert found.metrics[key] == written.metrics[key], key
    assert found.covenant == written.covenant


def test_two_rent_lines_are_an_error_naming_both(tmp_path):
    import openpyxl

    src = tmp_path / "two.xlsx"
    wb = openpyxl.load_workbook(TEMPLATES / "dc_lease_annual.xlsx")
    ws = wb["Model"]
    ws["A12"] = "Lease revenue – second tenant"
    for col in "EFGHIJKLMN":
        ws[f"{col}12"] = 1.0
    wb.save(src)
    source = load(src)
    with pytest.raises(DetectionError) as err:
        detect_profile(source, evaluate(source.data, path=src))
    assert "Rental income" in str(err.value) and "second tenant" in str(err.value)
    assert "Model!E11:N11" in str(err.value) and "--profile" in str(err.value)
