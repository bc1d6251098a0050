"""Third-party workbooks saved by Excel (tests/corpus): the engine reproduces Excel's own cached
values; what is not a rent template is refused with a clear error — never a crash, never a write.
The NREL pro forma converted with a profile: ``test_corpus_nrel.py``."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from engine.convert import convert
from engine.errors import DetectionError
from engine.formula.evaluate import evaluate
from engine.formula.reconcile import reconcile
from engine.xlsx.load import load

CORPUS = ROOT / "tests" / "corpus"
NREL = "nrel-reopt-proforma-2017.xlsx"
LOAN = "loan-tracker-prepayments.xlsx"


@pytest.fixture
def corpus_copy(tmp_path):
    def get(name: str) -> Path:
        assert (CORPUS / name).is_file(), f"corpus file {name} missing from {CORPUS}"
        target = tmp_path / name
        shutil.copy2(CORPUS / name, target)
        return target
    return get


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
    # an empty text (<v/>), the loan tracker 3,984 and 1,764. Issue 8 asks for >= 99.9 % against
    # Excel's own values; neither file uses CELL/INFO/NOW/TODAY/RAND.
    source = load(corpus_copy(name))
    result = reconcile(source.package, evaluate(source.data, path=source.path))
    assert result.formula_cells == cached
    assert result.checked >= cached  # plus the members of array formulas
    assert [str(m) for m in result.mismatches] == []
    assert result.to_json()["share"] == 1.0


def test_inspect_reports_the_reconciliation_as_json(corpus_copy):
    proc = subprocess.run([sys.executable, "-m", "engine.shell.cli", "inspect", "--reconcile", "--json",
                           str(corpus_copy(LOAN))], capture_output=True, text=True, check=False)
    report = json.loads(proc.stdout)["reconcile"]
    assert (report["total"], report["reproduced"], report["share"], report["causes"]) == (5748, 5748, 1.0, {})


def test_detection_alone_does_not_invent_a_rent_row(corpus_copy):
    from engine.template.detect.search import detect_profile

    source = load(corpus_copy(LOAN))
    with pytest.raises(DetectionError):
        detect_profile(source, evaluate(source.data, path=source.path))
