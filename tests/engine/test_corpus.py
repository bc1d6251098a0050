"""The test corpus (tests/corpus, MANIFEST.md): public workbooks saved in Excel by other people and our own
models of the patterns they lack (tests/corpus_ours.py). Per file (issue 18 §5):

- detection alone finds the line a reading of the model finds, or refuses for the reason it gives;
- the engine reproduces >= 99.9 % of Excel's cached values in the cells a conversion uses;
- what converts matches LibreOffice wherever LibreOffice reproduces Excel.

The expectations are in tests/corpus_expect.py, written from reading each model (the MANIFEST),
never from running gpucredit; ``python benchmarks/corpus.py`` prints the same measurement.
The NREL pro forma converted with a profile: ``test_corpus_nrel.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import corpus_ours
from conftest import ROOT
from corpus_expect import CORPUS, EXPECTED, measure
from engine.convert import CurveChoice, convert
from engine.errors import DetectionError
from engine.formula.evaluate import evaluate
from engine.formula.reconcile import reconcile
from engine.refs import format_range, parse_range, parse_ref
from engine.template.detect.search import detect_profile, inspect_workbook
from engine.xlsx.load import load
from libreoffice import cached_values, compare

NREL = "nrel-reopt-proforma-2017.xlsx"
LOAN = "loan-tracker-prepayments.xlsx"
PUBLIC = [name for name, e in EXPECTED.items() if not e.ours]
OURS = [name for name, e in EXPECTED.items() if e.ours]
LICENCES = {NREL: "LICENSE.nrel-reopt", LOAN: "LICENSE.loan-tracker"}


@pytest.fixture
def corpus_copy(tmp_path):
    def get(name: str) -> Path:
        assert (CORPUS / name).is_file(), f"corpus file {name} missing from {CORPUS}"
        target = tmp_path / name
        shutil.copy2(CORPUS / name, target)
        return target
    return get


def test_the_corpus_is_twelve_files_or_more_each_licensed_and_described():
    manifest = (CORPUS / "MANIFEST.md").read_text(encoding="utf-8")
    on_disk = sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".xlsx", ".xlsm"))
    assert on_disk == sorted(EXPECTED) and len(on_disk) >= 12
    for name in PUBLIC:
        licence = CORPUS / LICENCES.get(name, f"LICENSE.{Path(name).stem}")
        assert licence.is_file() and licence.stat().st_size > 500, name
        assert f"`{name}`" in manifest and licence.name in manifest, name
    for name in OURS:
        assert f"`{name}`" in manifest and "ours" in manifest
    assert "## Where we looked" in manifest


def test_our_models_are_what_the_generator_writes(tmp_path):
    for name, path in corpus_ours.build(tmp_path).items():
        assert path.read_bytes() == (CORPUS / name).read_bytes(), f"{name}: run python tests/corpus_ours.py"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_detection_alone_finds_the_expected_lines_or_refuses_for_the_reason(corpus_copy, name):
    expected = EXPECTED[name]
    source = load(corpus_copy(name))
    found = inspect_workbook(source, evaluate(source.data, path=source.path, date1904=source.date1904))
    problem = found.problem()
    if expected.refused:
        assert problem is not None and expected.refused in problem.message, problem
    else:
        assert problem is None, problem
    if expected.rent:
        assert found.profile is not None and found.profile.rent == parse_range(expected.rent)
        assert found.profile.timeline.cells == parse_range(expected.timeline)
        for key, where in expected.lines.items():
            if key == "covenant":
                assert found.profile.covenant == parse_ref(where), key
            elif key == "debt_amount":
                assert found.profile.debt_amount == parse_range(where), key
            else:
                assert found.profile.metrics.get(key) == parse_range(where), key
    else:  # never a profile that converts a line the reading of the model does not call the rent
        assert found.profile is None or problem is not None


@pytest.mark.parametrize("name", list(EXPECTED))
def test_the_engine_reproduces_excel_in_the_cells_the_conversion_uses(name):
    row = measure(name, convert_it=False)
    if row.note:  # written by a library that never calculates: nothing to check, and the report says so
        assert row.used_checked == 0 and row.share_all is None and "no Excel values" in row.note
        return
    assert row.used_checked > 0
    assert row.share_used >= 0.999 or EXPECTED[name].not_reproducible, \
        f"{name}: {row.used_reproduced} of {row.used_checked} reproduced"


# -- converting -------------------------------------------------------------------------------------------
# Cells LibreOffice 7.4 does not compute as Excel does, and what reads them: dynamic arrays and LET
# (#NAME?), FORMULATEXT (its own syntax), CELL/NOW/TODAY (its own path and clock), OFFSET with a negative
# width (#VALUE!), a What-If data table (imported as MULTIPLE.OPERATIONS, computed otherwise).
_LIBREOFFICE_DIFFERS = re.compile(r"SEQUENCE|ANCHORARRAY|LET\(|FORMULATEXT|CELL\(|NOW\(|TODAY\(|OFFSET\(", re.I)
CONVERTS = [name for name, e in EXPECTED.items() if e.rent]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    results = {}
    folder = tmp_path_factory.mktemp("corpus")
    for name in CONVERTS:
        src = folder / name
        shutil.copy2(CORPUS / name, src)
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        curve = CurveChoice(preset="h100-stress", overrides=dict(EXPECTED[name].options))
        results[name] = convert(src, folder / f"{Path(name).stem}.gpu{Path(name).suffix}", curve=curve)
        assert hashlib.sha256(src.read_bytes()).hexdigest() == digest
    return results


def _explained(output: Path) -> set[tuple[str, str]]:
    """The cells of ``output`` LibreOffice does not compute as Excel does, with everything that reads them."""
    source = load(output)
    ev = evaluate(source.data, path=output)
    import openpyxl

    wb = openpyxl.load_workbook(output)
    roots = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                text = getattr(cell.value, "text", cell.value)
                if isinstance(text, str) and text.startswith("=") and _LIBREOFFICE_DIFFERS.search(text):
                    roots.append((ws.title, cell.row, cell.column))
    from engine.formula.datatables import find_tables

    for table in find_tables(source.package):
        roots += [(table.sheet, r, c) for r in range(table.top, table.bottom + 1)
                  for c in range(table.left, table.right + 1)]
    from openpyxl.utils import get_column_letter

    from engine.xlsx.sheet import SheetXml, array_ranges

    for entry in source.package.sheets():  # an array formula's spilled cells go with it
        for row, col, _f, (r1, c1, r2, c2) in array_ranges(SheetXml(source.package.xml(entry.part))):
            if (entry.name, row, col) in roots:
                roots += [(entry.name, r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]

    return {(s, f"{get_column_letter(c)}{r}") for s, r, c in ev.downstream(roots)}


@pytest.mark.parametrize("name", CONVERTS)
def test_every_conversion_matches_libreoffice_where_libreoffice_reproduces_excel(converted, lo_cache, name):
    result = converted[name]
    explained = _explained(result.output)
    ours, theirs = cached_values(result.output), lo_cache(result.output)
    assert compare({k: v for k, v in ours.items() if k not in explained},
                   {k: v for k, v in theirs.items() if k not in explained}) == []
    assert result.rent_cells == parse_range(EXPECTED[name].rent)


def test_a_model_that_sizes_its_debt_says_so_and_holds_it_on_request(tmp_path):
    """The sculpted model: the rent reaches the debt amount (Inputs!B10). Converted, the loan is re-sized
    and DSCR stays at the sizing target; with --hold-debt the loan is the original and DSCR falls."""
    import numpy as np
    import openpyxl

    name = "ours-sculpted-debt-quarterly.xlsx"
    src = tmp_path / name
    shutil.copy2(CORPUS / name, src)
    resized = convert(src, tmp_path / "resized.xlsx", curve=CurveChoice(preset="h100-stress"))
    held = convert(src, tmp_path / "held.xlsx", curve=CurveChoice(preset="h100-stress"), hold_debt=True,
                   memo=tmp_path / "held.md")
    original = openpyxl.load_workbook(src, data_only=True)["Inputs"]["B10"].value
    assert resized.debt_sizing["before"] == [original] and resized.debt_sizing["after"][0] < original
    assert held.debt_sizing["held"] and any("held at" in n for n in held.notes)
    assert "debt sized by the model (Inputs!B10): held at" in (tmp_path / "held.md").read_text()  # the memo's notes
    assert any("debt sized by the model" in n and "--hold-debt" in n for n in resized.notes)
    for result, debt in ((resized, resized.debt_sizing["after"][0]), (held, original)):
        out = openpyxl.load_workbook(result.output, data_only=True)
        ws = out["Model"]
        assert out["Inputs"]["B10"].value == pytest.approx(debt, rel=1e-12)
        cfads = np.array([ws.cell(7, c).value for c in range(4, 24)])
        max_ds = cfads / 1.35  # CFADS / the sizing target (Inputs!B7)
        df = 1 / 1.015 ** np.arange(1, 21)
        served = max_ds * debt / float(max_ds @ df)  # the sculpted debt service, recomputed from the output
        np.testing.assert_allclose([ws.cell(16, c).value for c in range(4, 24)], served, rtol=1e-9)
        np.testing.assert_allclose([ws.cell(18, c).value for c in range(4, 24)], cfads / served, rtol=1e-9)
    assert held.metrics_after.min_dscr < 1.35 - 0.1 < resized.metrics_after.min_dscr
    formulas = openpyxl.load_workbook(held.output)["Inputs"]
    assert formulas["B10"].value == pytest.approx(original) and "Original: =MIN(" in formulas["B10"].comment.text


def test_the_undated_model_converts_with_set_start(tmp_path):
    name = "ours-undated-datatable.xlsx"
    src = tmp_path / name
    shutil.copy2(CORPUS / name, src)
    with pytest.raises(DetectionError, match=r"pass --set start=YYYY-MM-DD"):
        convert(src, tmp_path / "out.xlsx")
    result = convert(src, tmp_path / "out.xlsx", curve=CurveChoice(overrides={"start": "2027-01-01"}))
    assert [d.isoformat() for d in result.grid.ends[:2]] == ["2027-12-31", "2028-12-31"]
    assert result.external_links[0]["workbook"] == "assumptions.xlsx"
    proc = subprocess.run([sys.executable, "-m", "engine.shell.cli", "convert", str(src), "-o", str(tmp_path / "c.xlsx"),
                           "--set", "start=2027-01-01", "--json"], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["period_starts"][0] == "2027-01-01"


# -- the two files of issue 2 -------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "sheet"), [(NREL, "Cash Flow"), (LOAN, "Amortization Schedule")])
def test_corpus_workbooks_are_refused_clearly(corpus_copy, tmp_path, name, sheet):
    """Neither is a rent template: detection finds the timeline, says what the income lines are."""
    src = corpus_copy(name)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    with pytest.raises(DetectionError) as err:
        convert(src, tmp_path / "out.xlsx")
    message = str(err.value)
    assert message.startswith(f"{name}: {sheet}: found a timeline") and "no line labelled rent" in message
    assert "\n" not in message
    assert not (tmp_path / "out.xlsx").exists()
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize(("name", "cached"), [(NREL, 930 + 18_354), (LOAN, 3984 + 1764)], ids=["nrel", "loan-tracker"])
def test_the_engine_reproduces_excels_cached_values(corpus_copy, name, cached):
    # Counted in the sheets' XML: the NREL file has 930 formula cells caching a value and 18,354 caching
    # an empty text (<v/>), the loan tracker 3,984 and 1,764. Neither uses CELL/INFO/NOW/TODAY/RAND.
    source = load(corpus_copy(name))
    result = reconcile(source.package, evaluate(source.data, path=source.path))
    assert result.formula_cells == cached
    assert result.checked >= cached  # plus the members of array formulas
    assert [str(m) for m in result.mismatches] == []
    assert result.share == 1.0


def test_inspect_reports_the_reconciliation_as_json(corpus_copy):
    proc = subprocess.run([sys.executable, "-m", "engine.shell.cli", "inspect", "--reconcile", "--json",
                           str(corpus_copy(LOAN))], capture_output=True, text=True, check=False)
    report = json.loads(proc.stdout)["reconcile"]
    assert (report["total"], report["reproduced"], report["share"], report["causes"]) == (5748, 5748, 1.0, {})


def test_detection_alone_does_not_invent_a_rent_row(corpus_copy):
    source = load(corpus_copy(LOAN))
    with pytest.raises(DetectionError):
        detect_profile(source, evaluate(source.data, path=source.path))
    assert format_range  # the corpus table's ranges are written as format_range writes them
