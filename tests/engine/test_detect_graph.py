"""Detection judges a rent candidate by what it does in the model (issue 18 §1), on books built from the
patterns seen in lenders' models: a cost labelled like a lease, a fee as a share of revenue, a memo
line that feeds nothing, a sizing line beside the debt service, a MIN(DSCR) output beside the
covenant, a period counter inside the block, labels with money units.

Acceptance: detection never converts a line that lowers CFADS when raised, nor a line that reaches
no coverage line.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tomllib

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from conftest import ROOT
from engine.convert import convert
from engine.errors import DetectionError
from engine.formula.evaluate import evaluate
from engine.template.detect.search import detect_profile, inspect_workbook
from engine.xlsx.load import load

N = 6  # periods, in columns C..H


def _book(tmp_path, rows, *, name="book.xlsx", extra=None):
    """A Model sheet with period-end dates in row 2 and ``rows`` from row 4: (label, formula or value per
    column letter); an Inputs sheet with G3 = 0.12 (a yearly figure a memo line divides by 12)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Model"
    ws["A2"] = "Period end"
    for p in range(N):
        ws.cell(2, 3 + p, dt.date(2027 + p, 12, 31)).number_format = "yyyy-mm-dd"
    for r, (label, make) in enumerate(rows, start=4):
        if label is None:
            continue
        ws.cell(r, 1, label)
        for p in range(N):
            col = get_column_letter(3 + p)
            ws.cell(r, 3 + p, make(col) if callable(make) else make)
    inputs = wb.create_sheet("Inputs")
    inputs["F3"], inputs["G3"] = "Sublet income (a year)", 0.12
    inputs["A5"], inputs["B5"] = "DSCR covenant", 1.2
    for ref, value in (extra or {}).items():
        sheet, _, cell = ref.partition("!")
        wb[sheet][cell] = value
    path = tmp_path / name
    wb.save(path)
    return path


def _found(path):
    source = load(path)
    return inspect_workbook(source, evaluate(source.data, path=source.path))


# the coverage lines, rows 10..12: CFADS = revenue (row 4) + the cost rows 5..8, debt service 50, DSCR
def _coverage(cost_rows=(5, 6, 7, 8)):
    return [("CFADS", lambda c: "=" + "+".join(f"{c}{r}" for r in (4, *cost_rows))),
            ("Debt service", 50.0), ("DSCR", lambda c: f"={c}10/{c}11")]


def _rows(revenue="Revenue", extra=()):
    rows = [(revenue, 120.0),
            ("Land & Leasing", -6.0),  # a cost, whatever the word "leasing" says
            ("Management (% of revenue)", lambda c: f"=-0.03*{c}4"),  # a fee
            ("Rental income (sublet roof)", "=Inputs!$G$3/12"),  # a memo line: nothing reads it
            ("Operating costs", -30.0),
            (None, None)] + list(extra)
    while len(rows) < 6:
        rows.append((None, None))
    return rows + _coverage(cost_rows=(5, 6, 8))


def test_the_revenue_is_chosen_over_costs_and_memo_lines_labelled_like_rent(tmp_path):
    found = _found(_book(tmp_path, _rows()))
    assert found.error is None and [c.a1 for c in found.profile.rent] == ["C4", "D4", "E4", "F4", "G4", "H4"]
    notes = {c.label: c.note for c in found.rent_candidates + found.revenue_lines}
    assert "lowers CFADS" in notes["Land & Leasing"]
    assert "lowers CFADS" in notes["Management (% of revenue)"]
    assert "memo line" in notes["Rental income (sublet roof)"]


def test_a_line_that_lowers_cfads_when_raised_is_never_converted(tmp_path):
    """Only rent-worded costs: detection refuses, and convert writes nothing."""
    rows = [("Land & Leasing", -6.0), ("Ground lease payments", -4.0), (None, None), (None, None),
            ("Other income", 100.0), (None, None)] + _coverage(cost_rows=(5, 8))
    path = _book(tmp_path, rows)
    with pytest.raises(DetectionError, match="lowers CFADS") as err:
        detect_profile(load(path), evaluate(path.read_bytes(), path=path))
    assert "Land & Leasing" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DetectionError):
        convert(path, tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


def test_a_line_that_reaches_no_coverage_line_is_never_converted(tmp_path):
    """A rent line nothing reads: refused as a memo line, whatever its label."""
    rows = [("Rental income", "=Inputs!$G$3/12"), (None, None), (None, None), (None, None),
            ("Other income", 100.0), (None, None),
            ("CFADS", lambda c: f"={c}8"), ("Debt service", 50.0), ("DSCR", lambda c: f"={c}10/{c}11")]
    path = _book(tmp_path, rows)
    with pytest.raises(DetectionError, match="memo line") as err:
        convert(path, tmp_path / "out.xlsx")
    assert "'Rental income'" in str(err.value)
    assert not (tmp_path / "out.xlsx").exists()


def test_a_copy_gives_way_to_the_line_it_repeats(tmp_path):
    rows = [("Revenue", 120.0), ("Sales (per the income statement)", lambda c: f"={c}4"),
            (None, None), (None, None), ("Operating costs", -30.0), (None, None),
            ("CFADS", lambda c: f"={c}5+{c}8"), ("Debt service", 50.0), ("DSCR", lambda c: f"={c}10/{c}11")]
    found = _found(_book(tmp_path, rows))
    assert found.profile.rent[0].a1 == "C4"
    assert any("a copy of 'Revenue'" in c.note for c in found.rent_candidates + found.revenue_lines)


def test_the_debt_service_is_what_the_dscr_divides_by_and_the_covenant_an_input(tmp_path):
    rows = [("Rental income US$ 000", 120.0), (None, None), (None, None), (None, None),
            ("Operating costs", -30.0), (None, None),
            ("CFADS US$ 000", lambda c: f"={c}4+{c}8"),
            ("Max debt service US$ 000", lambda c: f"={c}10/1.35"),  # a sizing line, found first by label
            ("Senior debt service US$ 000", 50.0),
            ("DSCR", lambda c: f"=IF({c}12>0,{c}10/{c}12,0)"),
            (None, None),
            ("Minimum DSCR", lambda c: "=MIN($C$13:$H$13)" if c == "C" else None)]  # an output beside the label
    found = _found(_book(tmp_path, rows))
    assert found.error is None
    assert [c.a1 for c in found.profile.metrics["debt_service"]][:2] == ["C12", "D12"]
    assert found.findings["debt_service"].how.startswith("the line the DSCR divides by")
    assert str(found.profile.covenant) == "Inputs!B5"  # not the MIN(DSCR) output at Model!C15
    assert found.findings["rent"].unit == "US$ 000" and found.units["rent"] == "US$ 000"


def test_a_period_counter_inside_the_block_does_not_split_it(tmp_path):
    """The counter sits far below the dates (row 20), between the CFADS and the debt lines: it belongs to
    the dated block, which keeps every line."""
    gap = [(None, None)] * 13
    rows = [("Rental income", 120.0), ("Operating costs", -30.0), ("CFADS", lambda c: f"={c}4+{c}5"),
            *gap, ("Operating period counter", lambda c: f"={ord(c) - ord('B')}"),
            ("Debt service", 50.0), ("DSCR", lambda c: f"={c}6/{c}21")]
    found = _found(_book(tmp_path, rows))
    assert found.error is None and found.profile.timeline.kind == "period_end"
    assert [c.a1 for c in found.profile.timeline.cells][0] == "C2"
    assert found.profile.metrics["dscr"][0].a1 == "C22" and found.profile.metrics["debt_service"][0].a1 == "C21"


def test_write_profile_always_writes_one(tmp_path):
    """Two independent rent lines: the profile is written with the first active and the other commented
    out with its reason; a workbook with no timeline gets a skeleton to fill in."""
    rows = [("Rental income – tenant A", 60.0), ("Rental income – tenant B", 60.0), (None, None), (None, None),
            ("Operating costs", -30.0), (None, None)] + _coverage(cost_rows=(5, 8))
    path = _book(tmp_path, rows)
    target = tmp_path / "book.toml"
    proc = subprocess.run([sys.executable, "-m", "engine.shell.cli", "inspect", str(path), "--write-profile",
                           str(target)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 1 and "several lines could be the rent" in proc.stderr
    text = target.read_text()
    doc = tomllib.loads(text)
    assert doc["rent"]["cells"] in ("Model!C4:H4", "Model!C5:H5")
    assert text.count('# cells = "Model!C') == 1 and "detection did not settle it" in text
    blank = tmp_path / "blank.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "nothing here"
    wb.save(blank)
    proc = subprocess.run([sys.executable, "-m", "engine.shell.cli", "inspect", str(blank), "--write-profile",
                           str(tmp_path / "blank.toml"), "--json"], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    assert proc.returncode == 1 and json.loads(proc.stdout)["error"].startswith("blank.xlsx: ")
    skeleton = (tmp_path / "blank.toml").read_text()
    assert "[timeline]" in skeleton and "[rent]" in skeleton and "fill in the ranges" in skeleton
