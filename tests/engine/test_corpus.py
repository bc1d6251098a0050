"""Third-party workbooks saved by Excel (../shared/corpus): what the engine cannot reproduce is
refused with a clear error naming the cell — never a crash, never a wrong number, never a write."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from engine.convert import convert
from engine.errors import DetectionError, ReconciliationError
from engine.profile import Timeline, TemplateProfile
from engine.recalc import evaluate
from engine.reconcile import reconcile
from engine.refs import parse_range
from engine.workbook import load
from models.periods import Frequency

CORPUS = ROOT.parent / "shared" / "corpus"
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


def test_reconciliation_counts_excel_cached_cells(corpus_copy):
    # MANIFEST: the NREL file has 930 formula cells with a cached value, the loan tracker 3,984.
    for name, cached in ((NREL, 930), (LOAN, 3984)):
        source = load(corpus_copy(name))
        result = reconcile(source.package, evaluate(source.data, path=source.path))
        assert result.formula_cells == cached
        assert result.checked >= cached  # plus the members of array formulas
        assert 0 < len(result.mismatches) < cached  # some reproduce, some do not
        assert all(not (isinstance(m.cached, float) and m.cached == m.computed) for m in result.mismatches)


def test_even_with_a_profile_the_nrel_pro_forma_is_not_converted_on_trust(corpus_copy, tmp_path):
    # The savings line (row 8) is the revenue an analyst would point at; reconciliation still comes first.
    src = corpus_copy(NREL)
    profile = TemplateProfile(
        timeline=Timeline(cells=parse_range("'Cash Flow'!C2:G2"), kind="period_number",
                          frequency=Frequency.ANNUAL, start=__import__("datetime").date(2017, 1, 1)),
        rent=parse_range("'Cash Flow'!C8:G8"))
    with pytest.raises(ReconciliationError) as err:
        convert(src, tmp_path / "out.xlsx", profile=profile)
    assert err.value.sheet is not None and err.value.cell is not None
    assert "--accept-unreconciled" in str(err.value) and "cause:" in str(err.value)
    assert not (tmp_path / "out.xlsx").exists()


def test_detection_alone_does_not_invent_a_rent_row(corpus_copy):
    from engine.detect import detect_profile

    source = load(corpus_copy(LOAN))
    with pytest.raises(DetectionError):
        detect_profile(source, evaluate(source.data, path=source.path))
