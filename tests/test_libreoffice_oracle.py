"""The LibreOffice oracle helper (tests/libreoffice.py) does what the accuracy contract relies on (docs/decisions/recalc-engine.md)."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pytest

from libreoffice import cached_values, compare, recalculate

pytestmark = pytest.mark.libreoffice

SHEET = "Calc Sheet"  # a space in the title, as lender templates have

# Formula cells as openpyxl writes them: formula text, no cached value (<v></v>).
FORMULAS = {
    "B1": "=PMT(Inputs!A2/12,Inputs!A3,Inputs!A1)",
    "B2": "=Inputs!A1*2",
    "B3": '=IF(Inputs!A2>0.04,"yes","no")',
    "B4": "=1/0",
    "B5": "=EDATE(Inputs!A4,3)",
    "B6": "=Inputs!A2>0.04",
    "B7": '=IF(FALSE,1,"")',
    "B8": "=B2+B1",
}

# Monthly annuity on 100,000 at 5 %/12 over 60 months, closed form P·r / (1 − (1+r)^−n) with the
# sign flipped as Excel's PMT does: -1887.1233644010993 in Python floats; numpy_financial.pmt
# gives the same to the last digit.
_r, _n, _p = 0.05 / 12, 60, 100_000
PMT_EXPECTED = -_p * _r / (1 - (1 + _r) ** -_n)

EXPECTED = {
    (SHEET, "B1"): PMT_EXPECTED,
    (SHEET, "B2"): 200_000.0,  # 100,000 × 2
    (SHEET, "B3"): "yes",  # 0.05 > 0.04
    (SHEET, "B4"): "#DIV/0!",  # Excel's error code for 1/0
    # 2024-01-31 + 3 months clamps to 2024-04-30; serial = 45292 (2024-01-01, Excel's DATE(2024,1,1))
    # + 31 (Jan) + 29 (Feb, leap) + 31 (Mar) + 29 (to 30 Apr) = 45412.
    (SHEET, "B5"): 45412.0,
    (SHEET, "B6"): True,  # 0.05 > 0.04
    (SHEET, "B7"): "",  # empty text
    (SHEET, "B8"): 200_000.0 + PMT_EXPECTED,  # B2 + B1
}


def _build_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    inputs = wb.active
    inputs.title = "Inputs"
    inputs["A1"] = 100_000  # principal
    inputs["A2"] = 0.05  # annual rate
    inputs["A3"] = 60  # months
    inputs["A4"] = dt.date(2024, 1, 31)  # start date (serial 45322)
    calc = wb.create_sheet(SHEET)
    for ref, formula in FORMULAS.items():
        calc[ref] = formula
    calc["B5"].number_format = "yyyy-mm-dd"
    wb.save(path)
    return path


def _rewrite_member(path: Path, member: str, pattern: bytes, new: bytes) -> None:
    """Substitute a regex inside one zip member (to forge what openpyxl cannot write)."""
    with zipfile.ZipFile(path) as zf:
        items = [(info, zf.read(info.filename)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in items:
            if info.filename == member:
                data, count = re.subn(pattern, new, data)
                assert count == 1, f"{member}: {pattern!r} matched {count} times"
            zf.writestr(info, data)


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("oracle")
    src = _build_workbook(tmp / "model.xlsx")
    return src, recalculate(src, tmp)


def test_recalculate_writes_a_new_file_and_leaves_the_input_alone(
    recalculated: tuple[Path, Path],
) -> None:
    src, out = recalculated
    assert out.name == "model.lo.xlsx"  # never model.xlsx, even in the same folder
    assert out.parent == src.parent
    assert out.is_file()
    # The input still has no cached values: openpyxl wrote <v></v> and nobody touched it.
    assert set(cached_values(src).values()) == {None}


def test_cached_values_hold_what_libreoffice_computed(recalculated: tuple[Path, Path]) -> None:
    _, out = recalculated
    values = cached_values(out)
    assert set(values) == set(EXPECTED)  # formula cells only; Inputs!A1..A4 are constants
    assert values[(SHEET, "B1")] == pytest.approx(PMT_EXPECTED, rel=1e-9)
    assert values[(SHEET, "B2")] == 200_000.0
    assert values[(SHEET, "B3")] == "yes"
    assert values[(SHEET, "B4")] == "#DIV/0!"
    assert values[(SHEET, "B5")] == 45412.0  # dates stay serial numbers
    assert values[(SHEET, "B6")] is True
    assert values[(SHEET, "B7")] in ("", None)
    assert compare(EXPECTED, values) == []


def test_compare_reports_a_wrong_value_and_accepts_a_right_one(
    recalculated: tuple[Path, Path],
) -> None:
    _, out = recalculated
    actual = cached_values(out)

    wrong = dict(EXPECTED)
    wrong[(SHEET, "B1")] = PMT_EXPECTED * (1 + 1e-6)  # a 1e-6 relative error is out of tolerance
    wrong[(SHEET, "B3")] = "no"
    wrong[(SHEET, "B6")] = 1  # a number is not a boolean
    assert compare(wrong, actual) == [
        f"{SHEET}!B1: expected {wrong[(SHEET, 'B1')]!r}, got {actual[(SHEET, 'B1')]!r}",
        f"{SHEET}!B3: expected 'no', got 'yes'",
        f"{SHEET}!B6: expected 1, got True",
    ]

    right = dict(EXPECTED)
    right[(SHEET, "B1")] = PMT_EXPECTED * (1 + 5e-10)  # within rel 1e-9
    right[(SHEET, "B5")] = dt.datetime(2024, 4, 30)  # openpyxl's view of the date cell
    right[(SHEET, "B7")] = None  # empty text counts as no value
    assert compare(right, actual) == []


@pytest.mark.parametrize(
    ("expected", "actual", "agree"),
    [
        (0.0, 5e-7, True),  # near zero the absolute bound applies
        (0.0, 2e-6, False),
        (1e9, 1e9 + 0.5, True),  # 5e-10 relative
        (1e9, 1e9 + 5, False),  # 5e-9 relative
        (dt.date(2024, 4, 30), 45412, True),
        (dt.datetime(2024, 4, 30, 12), 45412.5, True),
        ("#N/A", "#N/A", True),
        ("#N/A", "#VALUE!", False),
        ("1", 1.0, False),  # text is not a number
        (True, 1.0, False),
        (None, "", True),
        (None, 0.0, False),
    ],
    ids=[
        "abs-near-zero",
        "abs-too-far",
        "rel-ok",
        "rel-too-far",
        "date-as-serial",
        "datetime-as-serial",
        "same-error",
        "other-error",
        "text-vs-number",
        "bool-vs-number",
        "none-vs-empty-text",
        "none-vs-zero",
    ],
)
def test_compare_tolerance(expected: object, actual: object, agree: bool) -> None:
    problems = compare({("S", "A1"): expected}, {("S", "A1"): actual})
    assert (problems == []) is agree, problems


def test_compare_reports_cells_missing_on_either_side() -> None:
    assert compare({("S", "A1"): 1.0}, {("S", "A2"): 1.0}) == [
        "S!A1: expected 1.0, got no formula cell",
        "S!A2: unexpected formula cell with 1.0",
    ]


def test_stale_cached_values_are_recalculated(tmp_path: Path) -> None:
    # A file that claims Excel wrote it and carries a wrong cached value: by default LibreOffice
    # trusts such values; the profile's OOXMLRecalcMode=0 must make it recompute them.
    src = _build_workbook(tmp_path / "stale.xlsx")
    _rewrite_member(
        src,
        "xl/worksheets/sheet2.xml",
        rb"<f>Inputs!A1\*2</f><v></v>",
        b"<f>Inputs!A1*2</f><v>999</v>",
    )
    _rewrite_member(
        src,
        "docProps/app.xml",
        rb"<Application>[^<]*</Application>",
        b"<Application>Microsoft Excel</Application>",
    )
    assert cached_values(src)[(SHEET, "B2")] == 999.0
    out = recalculate(src, tmp_path / "out")
    assert cached_values(out)[(SHEET, "B2")] == 200_000.0


def test_concurrent_runs_use_separate_profiles(tmp_path: Path) -> None:
    src = _build_workbook(tmp_path / "model.xlsx")
    with ThreadPoolExecutor(max_workers=2) as pool:
        outs = list(pool.map(lambda i: recalculate(src, tmp_path / f"out{i}"), range(2)))
    for out in outs:
        assert compare(EXPECTED, cached_values(out)) == []


def test_a_file_libreoffice_cannot_load_raises(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.xlsx"
    bogus.write_text("this is a text file, not a workbook\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="produced no xlsx"):
        recalculate(bogus, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written
