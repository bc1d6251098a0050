"""Detection on templates in layouts unlike the shipped ones (tests/layout_books.py), and the corpus.

Each layout is built with openpyxl; ``inspect`` must name the rent cells, timeline and debt lines
the generator wrote (the expected ranges come from the generator, not from detection), and
``convert`` must produce a sound package whose cached values LibreOffice reproduces.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import layout_books as lb
from conftest import ROOT
from engine.xlsx.check import check_file
from engine.convert import convert
from engine.template.detect.search import detect_profile, inspect_workbook
from engine.errors import DetectionError, GpuCreditError, RentRowError
from engine.template.profile import read_profile
from engine.formula.evaluate import evaluate
from engine.refs import format_range
from engine.xlsx.load import load
from libreoffice import cached_values, compare

CORPUS = ROOT / "tests" / "corpus"
NAMES = [lay.name for lay in lb.LAYOUTS]
ORACLE = NAMES  # every layout against LibreOffice, ~2 s of soffice each


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.shell.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, lb.Built]:
    folder = tmp_path_factory.mktemp("layouts")
    return {lay.name: lb.build(lay, folder) for lay in lb.LAYOUTS}


@pytest.fixture(scope="module")
def converted(books: dict[str, lb.Built], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("converted")
    return {name: convert(built.path, folder / f"{name}.gpu.xlsx").output for name, built in books.items()}


def _inspect(path: Path):
    source = load(path)
    return inspect_workbook(source, evaluate(source.data, path=source.path))


def test_the_generator_covers_the_layout_space():
    layouts = lb.LAYOUTS
    assert len(layouts) >= 8
    assert {lay.axis for lay in layouts} == {"row", "col"}
    assert {lay.months for lay in layouts} == {1, 3, 6, 12}
    assert {lay.dates for lay in layouts} == {"end", "start", "year", "number"}
    assert any(not lay.rent_formulas for lay in layouts) and any(lay.rent_formulas for lay in layouts)
    assert any(not lay.dscr for lay in layouts) and any(lay.names for lay in layouts)
    assert any(lay.extra_revenue for lay in layouts) and any(lay.hidden_helper for lay in layouts)
    assert any(lay.spacer for lay in layouts) and any(lay.title for lay in layouts)


@pytest.mark.parametrize("name", NAMES)
def test_inspect_finds_what_the_generator_built(books, name):
    built = books[name]
    found = _inspect(built.path)
    assert found.error is None, found.error
    assert found.guesses() == []
    profile = found.profile
    assert format_range(profile.rent) == built.rent
    assert format_range(profile.timeline.cells) == built.timeline
    assert profile.timeline.kind == built.kind
    assert profile.timeline.frequency.name.lower() == built.frequency
    assert profile.timeline.start == built.start
    assert {k: format_range(v) for k, v in profile.metrics.items() if k in built.metrics} == built.metrics
    assert str(profile.covenant) == built.covenant
    assert found.findings["rent"].confidence in ("high", "medium")


@pytest.mark.parametrize("name", NAMES)
def test_convert_without_a_profile_passes_the_output_checks(books, converted, name):
    out = converted[name]
    assert check_file(out) == []
    values = cached_values(out)
    assert values and all(v is not None for v in values.values())
    rent = [c for c in values if c[0] == books[name].rent.split("!")[0].strip("'")]
    assert rent


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", ORACLE)
def test_converted_layouts_match_libreoffice(converted, lo_cache, name):
    assert compare(cached_values(converted[name]), lo_cache(converted[name])) == []


def test_write_profile_round_trips_through_convert(books, tmp_path):
    built = books["rows_quarterly_numbers"]
    src = Path(shutil.copy2(built.path, tmp_path / "deal.xlsx"))
    proc = cli("inspect", src, "--write-profile", tmp_path / "edit.toml")
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "edit.toml").read_text()
    assert "# high: label 'GPU lease payments'" in text and 'start = "2026-10-01"' in text
    assert "'Financial close'" in text
    profile = read_profile(tmp_path / "edit.toml")
    assert format_range(profile.rent) == built.rent
    proc = cli("convert", src, "-o", tmp_path / "out.xlsx", "--profile", tmp_path / "edit.toml", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rent_cells"][0] == built.rent.split(":")[0]
    again = cli("inspect", src, "--write-profile", tmp_path / "edit.toml")
    assert again.returncode == 1 and "exists" in again.stderr


def test_inspect_json_reports_confidence_per_field(books):
    proc = cli("inspect", books["rows_years_no_dscr"].path, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True and doc["error"] is None
    assert doc["fields"]["rent"]["where"] == books["rows_years_no_dscr"].rent
    assert doc["fields"]["kind"]["where"] == "year"
    assert "computed as CFADS / debt service" in doc["fields"]["dscr"]["how"]
    assert "Other income" in [c["label"] for c in doc["revenue_lines"]]


def test_two_rent_lines_are_an_error_naming_both(tmp_path):
    path = lb.build(lb.BROKEN["ambiguous"], tmp_path).path
    source = load(path)
    with pytest.raises(DetectionError) as err:
        detect_profile(source, evaluate(source.data, path=path))
    message = str(err.value)
    assert "tenant A' at Model!C6:L6" in message and "tenant B' at Model!C7:L7" in message
    assert "--profile" in message
    proc = cli("inspect", path)
    assert proc.returncode == 1 and "tenant B" in proc.stdout and proc.stderr.count("\n") == 1


def test_a_rent_line_with_ref_errors_names_the_cell(tmp_path):
    path = lb.build(lb.BROKEN["ref_error"], tmp_path).path
    with pytest.raises(RentRowError) as err:
        convert(path, tmp_path / "out.xlsx")
    assert "Model!E6" in str(err.value) and "#REF!" in str(err.value)


def test_a_workbook_with_savings_but_no_rent_says_so(tmp_path):
    path = lb.build(lb.BROKEN["no_rent"], tmp_path).path
    found = _inspect(path)
    assert isinstance(found.error, DetectionError)
    assert "Value of electricity savings' at Model!C6:L6 (savings)" in str(found.error)


def test_nrel_pro_forma_timeline_and_savings_not_rent(tmp_path):
    src = Path(shutil.copy2(CORPUS / "nrel-reopt-proforma-2017.xlsx", tmp_path / "nrel.xlsx"))
    proc = cli("inspect", src, "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["fields"]["timeline"]["where"] == "'Cash Flow'!C2:AA2"
    assert "Operating Year" in doc["fields"]["timeline"]["how"]
    assert doc["rent_candidates"] == []
    savings = [c for c in doc["revenue_lines"] if c["cells"] == "'Cash Flow'!C8:AA8"]
    assert savings and savings[0]["kind"] == "savings" and "not rent" in savings[0]["note"]
    line = proc.stderr.strip()
    assert line.count("\n") == 0 and line.startswith("error: nrel.xlsx: Cash Flow: ")
    assert "savings" in line and "not rent" in line


def test_loan_tracker_fails_in_one_line_everywhere(tmp_path):
    src = Path(shutil.copy2(CORPUS / "loan-tracker-prepayments.xlsx", tmp_path / "loan.xlsx"))
    for args in (("inspect", src), ("convert", src, "-o", tmp_path / "o.xlsx"),
                 ("batch", src, "--out", tmp_path / "out", "--jobs", "1")):
        proc = cli(*args)
        assert proc.returncode == 1, args
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and errors[0].startswith("error: loan.xlsx: "), proc.stderr
        assert "Traceback" not in proc.stderr
    found = _inspect(src)
    assert "no line labelled rent" in str(found.error) and "Payment Date" in str(found.error)
    assert not (tmp_path / "o.xlsx").exists() and not any((tmp_path / "out").glob("*.xlsx"))


def test_detection_errors_are_gpucredit_errors(books):
    assert issubclass(DetectionError, GpuCreditError)
