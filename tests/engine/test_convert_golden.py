"""Golden conversions of every shipped template, checked against LibreOffice and hand tables.

For each template and each curve case the output must:
- carry cached values equal to LibreOffice's recalculation of the same output (docs/decisions/recalc-engine.md);
- report rent_before equal to LibreOffice's recalculation of the original template;
- report rent_after equal to docs/curve.md (models/ for the presets, closed-form hand tables for the
  override cases);
- keep every formula outside the rewired rent cells, every sheet in order, and the input's bytes.
"""

from __future__ import annotations

import hashlib
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from conftest import TEMPLATE_NAMES
from engine.convert import ConversionResult, CurveChoice, convert
from libreoffice import cached_values, compare
from models.curves import Launch, RentMode, rent_after

# The override case: decline 50 %/yr, no floor, a whole (R = 0) 20 % step in January 2027 and a
# utilisation table. With no floor, index(t) ∝ util(t)·0.5^(n/12)·step(t), so every period mean is a
# closed form (the 0.5^(j/12) average over a period's months cancels between periods of equal length).
OVERRIDES = {"d": 0.5, "floor": 0.0, "ramp_months": 0, "util": (0.8, 0.8, 0.6)}
LAUNCHES = (Launch(np.datetime64("2027-01-01").astype(object), 0.2),)


def hand_table(name: str, rent0: float) -> list[float]:
    """rent_after for OVERRIDES, derived by hand per template (see each branch)."""
    if name == "dc_lease_annual":
        # Calendar years 2026…2035, start 2026-01: year k mean index = 0.5^k·(u_k/u_0)·(0.8 if k ≥ 1).
        # u = 0.8, 0.8, then 0.6 → 68, 68·0.5·0.8 = 27.2, 68·0.25·0.8·0.75 = 10.2, 5.1, 2.55, …
        util = [0.8, 0.8] + [0.6] * 8
        return [rent0 * 0.5**k * (0.8 if k >= 1 else 1.0) * util[k] / 0.8 for k in range(10)]
    if name == "gpu_ddtl_quarterly":
        # Quarters from 2026-07 (start): quarter q covers deal months 3q…3q+2, so its mean index is
        # 0.5^(3q/12)·c with c the same for every quarter; deal year y = q // 4 sets util;
        # the step applies from 2027-01, i.e. from quarter 2 on.
        util = [0.8, 0.8] + [0.6] * 3
        return [rent0 * 0.5 ** (q / 4) * (0.8 if q >= 2 else 1.0) * util[q // 4] / 0.8 for q in range(20)]
    raise AssertionError(name)


def _monthly_hand_table(rent: np.ndarray) -> list[float]:
    # Months from 2026-07; anchor = first non-zero month a (start = that month). Month t ≥ a:
    # index = 0.5^((t−a)/12)·util(deal year)/0.8·(0.8 once t ≥ 2027-01, if a < 2027-01).
    a = int(np.flatnonzero(rent)[0])
    util = [0.8, 0.8] + [0.6] * 20
    jan27 = 6  # 2027-01 is the 7th month from 2026-07
    out = []
    for t, r in enumerate(rent):
        if t <= a or r == 0:
            out.append(float(r))
            continue
        step = 0.8 if (t >= jan27 > a) else 1.0
        out.append(float(rent[a]) * 0.5 ** ((t - a) / 12) * step * util[(t - a) // 12] / 0.8)
    return out


CASES = {
    "stress": CurveChoice(preset="h100-stress"),
    "overrides": CurveChoice(preset="h100-base", overrides=OVERRIDES, launches=LAUNCHES),
    "absolute": CurveChoice(preset="h100-base", mode=RentMode.ABSOLUTE),
}


@pytest.fixture(scope="module")
def converted(template_copy, tmp_path_factory) -> dict[tuple[str, str], tuple[Path, ConversionResult, str]]:
    out = {}
    folder = tmp_path_factory.mktemp("golden")
    for name in TEMPLATE_NAMES:
        src = template_copy(name)
        for case, choice in CASES.items():
            digest = hashlib.sha256(src.read_bytes()).hexdigest()
            result = convert(src, folder / f"{name}.{case}.xlsx", curve=choice)
            out[(name, case)] = (src, result, digest)
    return out


IDS = [f"{n}-{c}" for n in TEMPLATE_NAMES for c in CASES]
PARAMS = [(n, c) for n in TEMPLATE_NAMES for c in CASES]


@pytest.mark.parametrize(("name", "case"), PARAMS, ids=IDS)
def test_cached_values_match_libreoffice(converted, lo_cache, name, case):
    _src, result, _ = converted[(name, case)]
    ours = cached_values(result.output)
    theirs = lo_cache(result.output)
    assert len(ours) > 100
    assert compare(ours, theirs) == []


@pytest.mark.parametrize(("name", "case"), PARAMS, ids=IDS)
def test_rent_before_matches_libreoffice_on_the_original(converted, lo_cache, name, case):
    src, result, _ = converted[(name, case)]
    original = lo_cache(src)
    for cell, value in zip(result.rent_cells, result.rent_before):
        lo_value = original.get((cell.sheet, cell.a1))
        if lo_value is None:  # a typed constant, not a formula: read it from the file itself
            lo_value = openpyxl.load_workbook(src, data_only=True)[cell.sheet][cell.a1].value
        assert math.isclose(value, float(lo_value), rel_tol=1e-9, abs_tol=1e-6), cell


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_rent_after_stress_follows_design_section_3(converted, name):
    _src, result, _ = converted[(name, "stress")]
    expected = rent_after(result.rent_before, result.grid, result.params, RentMode.INDEX, contract=result.contract)
    np.testing.assert_allclose(result.rent_after, expected, rtol=1e-9)
    assert result.rent_after[0] == result.rent_before[0] or result.rent_before[0] == 0
    # the deflating curve must actually bite: every changed period is below the original
    changed = result.rent_before != result.rent_after
    merchant = ~result.contract.contracted(result.grid) if result.contract else np.ones(result.grid.n_periods, bool)
    assert changed.sum() >= merchant.sum() // 2 and not changed[~merchant].any()
    assert np.all(result.rent_after[changed] < result.rent_before[changed])


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_rent_after_overrides_equals_hand_table(converted, name):
    _src, result, _ = converted[(name, "overrides")]
    assert result.params.d == 0.5 and result.params.floor == 0.0
    if name == "miner_hosting_monthly":
        expected = _monthly_hand_table(result.rent_before)
    elif name == "miner_double_leverage_monthly":
        # The profile's contract keeps months 1-36 (to 2029-06-30); from month 37 the same closed form
        # as the monthly template with the anchor in the first month (a = 0)
        expected = _monthly_hand_table(result.rent_before)
        expected[:36] = result.rent_before[:36].tolist()
    else:
        expected = hand_table(name, float(result.rent_before[0]))
    np.testing.assert_allclose(result.rent_after, expected, rtol=1e-9)
    # and the workbook itself (LibreOffice-checked above) holds the same numbers in the rent cells
    wb = openpyxl.load_workbook(result.output, data_only=True)
    cells = [wb[c.sheet][c.a1].value for c in result.rent_cells]
    np.testing.assert_allclose(cells, expected, rtol=1e-9)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_rent_after_absolute_is_gpus_times_hours_times_price(converted, name):
    _src, result, _ = converted[(name, "absolute")]
    p = result.params
    assert p.gpus is not None
    expected = rent_after(result.rent_before, result.grid, p, RentMode.ABSOLUTE, contract=result.contract)
    np.testing.assert_allclose(result.rent_after, expected, rtol=1e-9)
    # hand check of the first re-priced period: unit_scale · gpus · Σ 24·days·realised over its months
    from models.curves import realised
    from models.periods import days_in_month

    contracted = result.contract.contracted(result.grid) if result.contract else np.zeros(result.grid.n_periods, bool)
    a = int(np.flatnonzero((result.rent_before != 0) & ~contracted)[0])
    months = list(result.grid.months_of(a))
    by_hand = p.unit_scale * p.gpus * sum(24 * days_in_month(t) * float(realised(p, np.array([t]))[0])
                                          for t in months)
    assert math.isclose(result.rent_after[a], by_hand, rel_tol=1e-9)


def _formulas(path: Path) -> dict[tuple[str, str], str]:
    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate): c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and c.value.startswith("=")}


@pytest.mark.parametrize(("name", "case"), PARAMS, ids=IDS)
def test_only_the_rent_cells_change(converted, name, case):
    src, result, digest = converted[(name, case)]
    before, after = _formulas(src), _formulas(result.output)
    changed = {(c.sheet, c.a1) for c in result.changed_cells}
    assert changed, "some rent cells must be rewired"
    for key, formula in before.items():
        if key in changed:
            assert after[key].startswith("=GPU_Curve!"), key
        else:
            assert after.get(key) == formula, key
    new_on_template_sheets = {k for k in after if k[0] not in ("GPU_Curve", "Credit_Summary")} - set(before)
    assert new_on_template_sheets == set()
    # every input sheet present, in order, GPU_Curve appended
    in_sheets = openpyxl.load_workbook(src, read_only=True).sheetnames
    out_sheets = openpyxl.load_workbook(result.output, read_only=True).sheetnames
    assert out_sheets == [*in_sheets, "GPU_Curve", "Credit_Summary"]
    # the input file is untouched
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_changed_cells_carry_their_old_formula_in_a_comment(converted, name):
    src, result, _ = converted[(name, "stress")]
    old = _formulas(src)
    wb = openpyxl.load_workbook(result.output)
    for cell in result.changed_cells:
        comment = wb[cell.sheet][cell.a1].comment
        assert comment is not None, cell
        assert old[(cell.sheet, cell.a1)] in comment.text
    with zipfile.ZipFile(result.output) as zf:
        workbook_xml = zf.read("xl/workbook.xml").decode()
        assert 'fullCalcOnLoad="1"' in workbook_xml
        assert not any(n.endswith("calcChain.xml") for n in zf.namelist())


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_unchanged_parts_are_byte_identical(converted, name):
    src, result, _ = converted[(name, "stress")]
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(result.output) as b:
        rent_sheets = {c.sheet for c in result.changed_cells}
        for part in a.namelist():
            if part.startswith("xl/worksheets/") or part in (
                    "xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml", "xl/_rels/workbook.xml.rels",
                    "xl/calcChain.xml") or part.startswith("xl/worksheets/_rels/"):
                continue
            assert a.read(part) == b.read(part), part
    assert rent_sheets


def test_1904_date_system_converts_like_1900(converted, lo_cache, tmp_path):
    """A workbook saved with the 1904 date system (old Mac Excel) gives the same periods and rent."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    src, reference, _ = converted[("gpu_ddtl_quarterly", "stress")]
    wb = openpyxl.load_workbook(src)
    wb.epoch = CALENDAR_MAC_1904
    mac = tmp_path / "mac.xlsx"
    wb.save(mac)
    with zipfile.ZipFile(mac) as zf:
        assert 'date1904="1"' in zf.read("xl/workbook.xml").decode()
    result = convert(mac, tmp_path / "mac.gpu.xlsx", curve=CASES["stress"],
                     profile=src.with_suffix(".toml"))
    assert result.grid == reference.grid
    np.testing.assert_allclose(result.rent_after, reference.rent_after, rtol=1e-9)
    ours = cached_values(result.output)
    assert compare(ours, lo_cache(result.output)) == []
    # GPU_Curve dates are 1904 serials: 2026-07-01 is 46204 − 1462
    from engine.xlsx.package import Package

    package = Package.from_bytes(result.output.read_bytes())
    curve_xml = package.read(package.sheet_part("GPU_Curve")).decode()
    assert re.search(r'<c r="T5"[^>]*><v>44742</v>', curve_xml)


@pytest.mark.parametrize(("name", "case"), PARAMS, ids=IDS)
def test_output_passes_the_package_check(converted, name, case):
    from engine.xlsx.check import check_file

    _src, result, _ = converted[(name, case)]
    assert [str(p) for p in check_file(result.output)] == []


def test_converting_twice_gives_identical_bytes(template_copy, tmp_path):
    src = template_copy("miner_hosting_monthly")
    a = convert(src, tmp_path / "a.xlsx", curve=CASES["overrides"])
    b = convert(src, tmp_path / "b.xlsx", curve=CASES["overrides"])
    assert a.output.read_bytes() == b.output.read_bytes()
