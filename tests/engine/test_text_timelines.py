"""Timelines written as text ("FY2026", "Q1-26", "Jan-26", "Year 1"): the label parser, detection and convert.

The templates are the generator's (tests/layout_books.py) with the timeline cells overwritten by text
labels; every expected period is written out by hand from the labels (a quarter "Q3 2026" is
2026-07-01 … 2026-09-30, docs/curve.md, "Periods").
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import layout_books as lb
import openpyxl
import pytest

from engine.convert import convert
from engine.template.detect.search import detect_profile, inspect_workbook
from engine.errors import DetectionError, ProfileError, TemplateError
from engine.template.labels import (
    ImpossiblePeriodError,
    PeriodLabelError,
    UnknownLabelError,
    parse_label,
)
from engine.template.profile import profile_to_toml, read_profile
from engine.formula.evaluate import evaluate
from engine.refs import format_range, parse_range
from engine.template.timeline import read_grid
from engine.xlsx.load import load

D = dt.date

# --------------------------------------------------------------------------- the label parser


@pytest.mark.parametrize("text, kind, year, index, months", [
    ("FY2026", "year", 2026, 1, 12), ("FY26", "year", 2026, 1, 12), ("fy 2026", "year", 2026, 1, 12),
    ("2026E", "year", 2026, 1, 12), ("2027A", "year", 2027, 1, 12), ("CY2027", "year", 2027, 1, 12),
    ("2026", "year", 2026, 1, 12), ("Year 2026", "year", 2026, 1, 12), ("FY27F", "year", 2027, 1, 12),
    ("Q1 2026", "quarter", 2026, 1, 3), ("Q1-26", "quarter", 2026, 1, 3), ("1Q26", "quarter", 2026, 1, 3),
    ("2026 Q3", "quarter", 2026, 3, 3), ("Q4'27", "quarter", 2027, 4, 3), ("q2 fy27", "quarter", 2027, 2, 3),
    ("H1 2026", "half", 2026, 1, 6), ("1H26", "half", 2026, 1, 6), ("2026-H2", "half", 2026, 2, 6),
    ("Jan-26", "month", 2026, 1, 1), ("Jan 2026", "month", 2026, 1, 1), ("September 2027", "month", 2027, 9, 1),
    ("Sept-27", "month", 2027, 9, 1), ("DEC 2030", "month", 2030, 12, 1),
    ("Year 1", "number", None, 1, 12), ("Yr 2", "number", None, 2, 12), ("Month 3", "number", None, 3, 1),
    ("Period 4", "number", None, 4, None), ("Quarter 5", "number", None, 5, 3), ("Half-year 2", "number", None, 2, 6),
    ("P7", "number", None, 7, None), ("Year 0", "number", None, 0, 12),
], ids=lambda v: str(v))
def test_labels_parse_to_kind_year_and_period(text, kind, year, index, months):
    label = parse_label(text)
    assert (label.kind, label.year, label.index) == (kind, year, index)
    assert (label.frequency.value if label.frequency else None) == months


@pytest.mark.parametrize("text, error, reason", [
    ("Q5 2026", ImpossiblePeriodError, "no quarter 5"), ("H3 26", ImpossiblePeriodError, "no half 3"),
    ("0Q26", ImpossiblePeriodError, "no quarter 0"), ("FY1850", ImpossiblePeriodError, "year 1850"),
    ("Total", UnknownLabelError, "not a year"), ("Q1", UnknownLabelError, "not a year"),
    ("2026/27", UnknownLabelError, "not a year"), ("Foo 2026", UnknownLabelError, "not a year"),
    ("Rental income", UnknownLabelError, "not a year"), ("", UnknownLabelError, "empty"),
    ("Rent for the first lease year 2026", UnknownLabelError, "too long"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_labels_raise_a_typed_error(text, error, reason):
    with pytest.raises(error) as err:
        parse_label(text)
    assert isinstance(err.value, PeriodLabelError) and isinstance(err.value, ValueError)
    assert reason in err.value.reason and err.value.label == text


@pytest.mark.parametrize("text, fiscal_start_month, first", [
    ("FY2027", 1, D(2027, 1, 1)), ("FY2027", 4, D(2026, 4, 1)),  # FY2027 from April ends 2027-03-31
    ("2027E", 7, D(2026, 7, 1)), ("CY2027", 4, D(2027, 1, 1)),  # CY is calendar whatever the profile says
    ("Q1 FY27", 4, D(2026, 4, 1)), ("Q3 2026", 1, D(2026, 7, 1)), ("Jan-26", 4, D(2026, 1, 1)),
], ids=lambda v: str(v))
def test_first_month_follows_the_fiscal_year(text, fiscal_start_month, first):
    month = parse_label(text).first_month(fiscal_start_month)
    assert D(month // 12, month % 12 + 1, 1) == first


# --------------------------------------------------------------------------- templates with text timelines


def _text_book(folder: Path, lay: lb.Layout, labels: list[str], years: list[int] | None = None) -> lb.Built:
    """The generator's template for ``lay`` with its timeline cells holding ``labels`` as text; with
    ``years``, a "Year" row just above the timeline (a row axis), one year per period."""
    built = lb.build(lay, folder)
    cells = parse_range(built.timeline)
    wb = openpyxl.load_workbook(built.path)
    ws = wb[cells[0].sheet]
    for cell, text in zip(cells, labels, strict=True):
        ws.cell(cell.row, cell.col, text).number_format = "@"
    if years is not None:
        ws.cell(cells[0].row - 1, 1, "Year")
        for cell, year in zip(cells, years, strict=True):
            ws.cell(cell.row - 1, cell.col, year).number_format = "0"
    wb.save(built.path)
    return built


def _detect(path: Path):
    source = load(path)
    return detect_profile(source, evaluate(source.data, path=source.path))


def _quarters(first_year: int, n: int) -> list[tuple[dt.date, dt.date]]:
    ends = ((3, 31), (6, 30), (9, 30), (12, 31))
    return [(D(first_year + q // 4, 3 * (q % 4) + 1, 1), D(first_year + q // 4, *ends[q % 4])) for q in range(n)]


CASES = {
    # name: (layout, labels, expected (start, end) per period, kind, frequency)
    "rows_fy_annual": (
        lb.Layout("text_rows_fy", periods=4, rent_label="Gross rental income", timeline_label="Fiscal year"),
        ["FY2026", "FY2027", "FY2028", "FY2029"],
        [(D(2026, 1, 1), D(2026, 12, 31)), (D(2027, 1, 1), D(2027, 12, 31)),
         (D(2028, 1, 1), D(2028, 12, 31)), (D(2029, 1, 1), D(2029, 12, 31))], "annual"),
    "cols_quarters": (
        lb.Layout("text_cols_quarters", axis="col", months=3, periods=6, rent_label="Compute lease revenue",
                  timeline_label="Quarter"),
        ["Q3-26", "Q4-26", "Q1-27", "Q2-27", "Q3-27", "Q4-27"],
        [(D(2026, 7, 1), D(2026, 9, 30)), (D(2026, 10, 1), D(2026, 12, 31)), (D(2027, 1, 1), D(2027, 3, 31)),
         (D(2027, 4, 1), D(2027, 6, 30)), (D(2027, 7, 1), D(2027, 9, 30)), (D(2027, 10, 1), D(2027, 12, 31))],
        "quarterly"),
    "rows_quarters_1q": (
        lb.Layout("text_rows_1q", months=3, periods=5, rent_label="Base rent", timeline_label="Quarter"),
        ["1Q26", "2Q26", "3Q26", "4Q26", "1Q27"],
        _quarters(2026, 5), "quarterly"),
    "rows_halves": (
        lb.Layout("text_rows_halves", months=6, periods=4, rent_label="Rental income", timeline_label="Half"),
        ["H2 2026", "H1 2027", "H2 2027", "H1 2028"],
        [(D(2026, 7, 1), D(2026, 12, 31)), (D(2027, 1, 1), D(2027, 6, 30)), (D(2027, 7, 1), D(2027, 12, 31)),
         (D(2028, 1, 1), D(2028, 6, 30))], "semiannual"),
    "cols_months": (
        lb.Layout("text_cols_months", axis="col", months=1, periods=5, rent_label="Rent (US$)",
                  timeline_label="Month"),
        ["Nov-26", "Dec-26", "Jan-27", "Feb-27", "Mar-27"],
        [(D(2026, 11, 1), D(2026, 11, 30)), (D(2026, 12, 1), D(2026, 12, 31)), (D(2027, 1, 1), D(2027, 1, 31)),
         (D(2027, 2, 1), D(2027, 2, 28)), (D(2027, 3, 1), D(2027, 3, 31))], "monthly"),
    "rows_estimates": (
        lb.Layout("text_rows_estimates", periods=3, rent_label="Lease income", timeline_label=""),
        ["2025A", "2026E", "2027E"],
        [(D(2025, 1, 1), D(2025, 12, 31)), (D(2026, 1, 1), D(2026, 12, 31)), (D(2027, 1, 1), D(2027, 12, 31))],
        "annual"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_detection_and_convert_read_a_text_timeline(tmp_path, name):
    lay, labels, periods, frequency = CASES[name]
    built = _text_book(tmp_path, lay, labels)
    profile = _detect(built.path)
    assert format_range(profile.rent) == built.rent
    assert format_range(profile.timeline.cells) == built.timeline
    assert (profile.timeline.kind, profile.timeline.frequency.name.lower()) == ("label", frequency)
    assert {k: format_range(v) for k, v in profile.metrics.items() if k in built.metrics} == built.metrics
    result = convert(built.path, tmp_path / "out.xlsx")
    assert list(zip(result.grid.starts, result.grid.ends, strict=True)) == periods


def test_year_n_labels_take_the_start_date_input(tmp_path):
    lay = lb.Layout("text_year_n", axis="col", dates="number", periods=4, rent_label="Lease income",
                    timeline_label="Operating year", start=dt.date(2027, 4, 1))
    built = _text_book(tmp_path, lay, ["Year 1", "Year 2", "Year 3", "Year 4"])
    found = inspect_workbook(load(built.path), evaluate(load(built.path).data, path=built.path))
    assert found.error is None and found.guesses() == []
    assert found.findings["frequency"].how == "the labels say 'Year 1'"
    assert found.findings["start"].confidence == "high" and "Model start date" in found.findings["start"].how
    profile = found.profile
    assert (profile.timeline.kind, profile.timeline.start) == ("label", D(2027, 4, 1))
    assert format_range(profile.rent) == built.rent
    result = convert(built.path, tmp_path / "out.xlsx")
    assert list(zip(result.grid.starts, result.grid.ends, strict=True)) == [
        (D(2027, 4, 1), D(2028, 3, 31)), (D(2028, 4, 1), D(2029, 3, 31)), (D(2029, 4, 1), D(2030, 3, 31)),
        (D(2030, 4, 1), D(2031, 3, 31))]


def test_period_n_labels_without_a_frequency_are_a_guess(tmp_path):
    lay = lb.Layout("text_period_n", dates="number", periods=4, rent_label="Lease income", timeline_label="")
    built = _text_book(tmp_path, lay, ["Period 1", "Period 2", "Period 3", "Period 4"])
    with pytest.raises(DetectionError, match="nothing says how long a period is"):
        _detect(built.path)


def test_a_year_row_repeated_per_quarter_with_a_quarter_row(tmp_path):
    lay = lb.Layout("text_rows_q_and_years", months=3, periods=6, rent_label="GPU lease payments",
                    timeline_label="Quarter")
    built = _text_book(tmp_path, lay, ["Q3", "Q4", "Q1", "Q2", "Q3", "Q4"], years=[2026, 2026, 2027, 2027, 2027, 2027])
    found = inspect_workbook(load(built.path), evaluate(load(built.path).data, path=built.path))
    assert found.error is None and found.guesses() == []
    profile = found.profile
    assert format_range(profile.timeline.cells) == built.timeline
    assert format_range(profile.timeline.years) == built.timeline.replace("4", "3")  # Model!C4:H4 → C3:H3
    assert found.findings["timeline"].confidence == "medium"
    assert format_range(profile.rent) == built.rent
    result = convert(built.path, tmp_path / "out.xlsx")
    assert list(zip(result.grid.starts, result.grid.ends, strict=True)) == [
        (D(2026, 7, 1), D(2026, 9, 30)), (D(2026, 10, 1), D(2026, 12, 31)), (D(2027, 1, 1), D(2027, 3, 31)),
        (D(2027, 4, 1), D(2027, 6, 30)), (D(2027, 7, 1), D(2027, 9, 30)), (D(2027, 10, 1), D(2027, 12, 31))]
    # the profile round-trips through TOML with its years line
    path = tmp_path / "p.toml"
    path.write_text(profile_to_toml(profile), encoding="utf-8")
    assert read_profile(path).timeline == profile.timeline


def test_fy_labels_use_a_fiscal_year_end_input(tmp_path):
    lay = lb.Layout("text_rows_fy_march", periods=3, rent_label="Rental income", timeline_label="")
    built = _text_book(tmp_path, lay, ["FY27", "FY28", "FY29"])
    wb = openpyxl.load_workbook(built.path)
    wb["Inputs"]["A40"], wb["Inputs"]["C40"] = "Financial year end", "March"
    wb.save(built.path)
    profile = _detect(built.path)
    assert profile.timeline.fiscal_start_month == 4
    result = convert(built.path, tmp_path / "out.xlsx")
    assert list(zip(result.grid.starts, result.grid.ends, strict=True)) == [
        (D(2026, 4, 1), D(2027, 3, 31)), (D(2027, 4, 1), D(2028, 3, 31)), (D(2028, 4, 1), D(2029, 3, 31))]


def test_fy_labels_without_a_fiscal_input_are_calendar_years_at_medium_confidence(tmp_path):
    lay, labels, _, _ = CASES["rows_fy_annual"]
    built = _text_book(tmp_path, lay, labels)
    found = inspect_workbook(load(built.path), evaluate(load(built.path).data, path=built.path))
    assert found.findings["kind"].confidence == "medium" and "fiscal_start_month" in found.findings["kind"].how
    assert found.profile.timeline.fiscal_start_month == 1


# --------------------------------------------------------------------------- profiles and errors


def _profile_book(tmp_path: Path, labels: list[object], kind: str = "label", frequency: str = "quarterly",
                  extra: str = "") -> tuple[Path, Path]:
    tmp_path.mkdir(exist_ok=True)
    lay = lb.Layout("text_profiled", months=3, periods=len(labels), rent_label="Rental income")
    built = _text_book(tmp_path, lay, [str(v) for v in labels])
    if any(not isinstance(v, str) for v in labels):  # numbers where the template typed them
        wb = openpyxl.load_workbook(built.path)
        for cell, value in zip(parse_range(built.timeline), labels, strict=True):
            wb[cell.sheet].cell(cell.row, cell.col, value)
        wb.save(built.path)
    toml = tmp_path / "p.toml"
    toml.write_text(textwrap.dedent(f"""\
        [timeline]
        cells = "{built.timeline}"
        kind = "{kind}"
        frequency = "{frequency}"
        {extra}
        [rent]
        cells = "{built.rent}"
        """), encoding="utf-8")
    return built.path, toml


def _grid(path: Path, toml: Path):
    source = load(path)
    return read_grid(evaluate(source.data, path=path), read_profile(toml).timeline, path=path)


@pytest.mark.parametrize("labels, frequency, message, cell", [
    (["Q1 2026", "Q5 2026", "Q2 2026"], "quarterly",
     "timeline cell holds 'Q5 2026', which is not a period (there is no quarter 5)", "Model!D4"),
    (["Q1 2026", "Q3 2026", "Q4 2026"], "quarterly",
     "timeline cell holds 'Q3 2026' after 'Q1 2026'; the periods must follow each other", "Model!D4"),
    (["Q1 2026", "Q2 2026", "FY2027"], "quarterly", "timeline cell holds 'FY2027' (a year)", "Model!E4"),
    (["Q1 2026", "Q2 2026", "Q3 2026"], "annual", "timeline cell holds 'Q1 2026' (a quarter)", "Model!C4"),
    (["Year 1", "Year 2", "Year 3"], "annual", "'Year 1', a period number; set start", "Model!C4"),
    (["Q1 2026", "Total", "Q3 2026"], "quarterly", "'Total', which is not a period", "Model!D4"),
    (["Q1 2026", 12.5, "Q3 2026"], "quarterly", "timeline cell holds 12.5, expected a period label", "Model!D4"),
], ids=["q5", "gap", "mixed", "frequency", "no-start", "word", "number"])
def test_bad_text_timelines_name_the_file_and_cell(tmp_path, labels, frequency, message, cell):
    path, toml = _profile_book(tmp_path, labels, frequency=frequency)
    with pytest.raises(TemplateError) as err:
        _grid(path, toml)
    line = str(err.value)
    assert line.startswith(f"{path.name}: {cell}: ") and message in line and "\n" not in line


def test_a_profile_reads_numbered_labels_and_numeric_years(tmp_path):
    path, toml = _profile_book(tmp_path, ["Quarter 1", "Quarter 2", "Quarter 3"], extra='start = "2026-10-01"')
    grid = _grid(path, toml)
    assert list(zip(grid.starts, grid.ends, strict=True)) == [
        (D(2026, 10, 1), D(2026, 12, 31)), (D(2027, 1, 1), D(2027, 3, 31)), (D(2027, 4, 1), D(2027, 6, 30))]
    path, toml = _profile_book(tmp_path / "years", [2025, "2026E", "2027E"], frequency="annual",
                               extra="fiscal_start_month = 7")
    grid = _grid(path, toml)
    assert (grid.starts[0], grid.ends[-1]) == (D(2024, 7, 1), D(2027, 6, 30))  # FY2025 from July: 2024-07 …


def test_years_need_the_label_kind(tmp_path):
    _, toml = _profile_book(tmp_path, ["Q1", "Q2", "Q3"], kind="period_end",
                               extra='years = "Model!C3:E3"')
    with pytest.raises(ProfileError, match='go with kind = "label"'):
        read_profile(toml)
