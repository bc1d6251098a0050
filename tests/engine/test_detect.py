"""Detection finds the shipped templates' rent, timeline and debt lines without their profiles."""

from __future__ import annotations

import pytest

from conftest import TEMPLATES, TEMPLATE_NAMES
from engine.template.detect.search import detect_profile
from engine.errors import DetectionError
from engine.template.profile import read_profile
from engine.formula.evaluate import evaluate
from engine.template.timeline import read_grid
from engine.xlsx.load import load


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
    ws["A12"] = "Lease revenue – second tenant"  # row 12 was opex: the second lease is income, in CFADS
    for col in "EFGHIJKLMN":
        ws[f"{col}12"] = 1.0
        ws[f"{col}13"] = f"={col}11+{col}12"
    wb.save(src)
    source = load(src)
    with pytest.raises(DetectionError) as err:
        detect_profile(source, evaluate(source.data, path=src))
    assert "Rental income" in str(err.value) and "second tenant" in str(err.value)
    assert "Model!E11:N11" in str(err.value) and "--profile" in str(err.value)


# --------------------------------------------------------------------------- labels and rules


from engine.template.detect.search import normalise, rent_tier, revenue_kind  # noqa: E402


@pytest.mark.parametrize("label, tier", [
    # tier 3: the label says rent or lease, whatever the units and punctuation (issue #4's examples)
    ("Gross rental income", 3), ("Compute lease revenue", 3), ("Rental revenue – AI hosting", 3),
    ("Hosting rent ($/MW-month)", 3), ("RENT (US$m)", 3), ("Lease payments received", 3), ("Base rent", 3),
    ("Net rental income", 3),
    # tier 2: GPU / hosting revenue without the word rent
    ("Colocation fees", 2), ("GPU cloud revenue", 2), ("Hosting revenue", 2),
    # tier 1: plain revenue, used only when it is the only income line
    ("Revenue", 1), ("Sales", 1),
    # not the rent line: parameters, counters, costs, totals, other income
    ("Rent escalation (% p.a.)", 0), ("Lease term (months)", 0), ("Rent-free months", 0), ("Lease year", 0),
    ("Ground lease expense", 0), ("Total rental income", 0), ("Rent holiday flag", 0), ("Lease start date", 0),
    ("Bitcoin self-mining revenue", 0), ("Other income", 0), ("Net operating income", 0), ("Interest income", 0),
    ("Value of electricity savings ($)", 0), ("Lease liability", 0), ("Rent deposit", 0),
], ids=lambda v: str(v))
def test_rent_tiers(label, tier):
    assert rent_tier(label) == tier


@pytest.mark.parametrize("label, kind", [("Value of electricity savings ($)", "savings"), ("Other income", "revenue"),
                                         ("Federal income tax", None), ("Total taxable income", None),
                                         ("Operating costs", None)])
def test_revenue_kinds_reported_by_inspect(label, kind):
    assert revenue_kind(label) == kind


def test_normalise_keeps_words_and_drops_punctuation():
    assert normalise("Rental revenue – AI hosting") == "rental revenue ai hosting"
    assert normalise("Payment\nDate") == "payment date"


def _book(tmp_path, rows, *, hidden=(), names=None):
    import datetime as dt

    import openpyxl
    from openpyxl.workbook.defined_name import DefinedName

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Model"
    ws["A2"] = "Period end"
    for p in range(5):
        cell = ws.cell(2, 3 + p, dt.date(2026 + p, 12, 31))
        cell.number_format = "dd-mmm-yy"
    for r, (label, values) in enumerate(rows, start=4):
        ws.cell(r, 1, label)
        for p in range(5):
            ws.cell(r, 3 + p, values(r, p) if callable(values) else values)
    # the coverage lines the income lines feed (detection judges a rent line by what it moves)
    last = 3 + len(rows)
    for k, label in enumerate(("CFADS", "Debt service", "DSCR"), start=last + 2):
        ws.cell(k, 1, label)
    for p in range(5):
        col = openpyxl.utils.get_column_letter(3 + p)
        ws.cell(last + 2, 3 + p, f"=SUM({col}4:{col}{last})")
        ws.cell(last + 3, 3 + p, 50.0)
        ws.cell(last + 4, 3 + p, f"={col}{last + 2}/{col}{last + 3}")
    for r in hidden:
        ws.row_dimensions[r].hidden = True
    for name, ref in (names or {}).items():
        wb.defined_names[name] = DefinedName(name, attr_text=ref)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    source = load(path)
    return source, evaluate(source.data, path=path)


def test_a_line_computed_from_the_rent_is_not_a_second_candidate(tmp_path):
    from openpyxl.utils import get_column_letter

    source, ev = _book(tmp_path, [("Gross rental income", 100.0),
                                  ("Net rental income", lambda r, p: f"={get_column_letter(3 + p)}4*0.95")])
    profile = detect_profile(source, ev)
    assert profile.rent[0].a1 == "C4"


def test_a_hidden_copy_of_the_rent_is_not_a_second_candidate(tmp_path):
    source, ev = _book(tmp_path, [("Rent (helper)", 100.0), ("Rental income", 100.0)], hidden=(4,))
    assert detect_profile(source, ev).rent[0].a1 == "C5"


def test_a_defined_name_beats_labels_and_is_read_at_the_timeline(tmp_path):
    source, ev = _book(tmp_path, [("Rental income", 100.0), ("Line 5", 120.0)], names={"Rent": "Model!$A$5:$G$5"})
    found = inspect_workbook(source, ev)
    assert [c.a1 for c in found.profile.rent] == ["C5", "D5", "E5", "F5", "G5"]
    assert found.findings["rent"].how == "defined name Rent"


def test_a_plain_revenue_line_is_used_only_when_alone(tmp_path):
    source, ev = _book(tmp_path, [("Revenue", 100.0)])
    found = inspect_workbook(source, ev)
    # the only line that raises CFADS: medium, the model confirms what the plain label cannot
    assert found.profile.rent[0].a1 == "C4" and found.findings["rent"].confidence == "medium"
    source, ev = _book(tmp_path, [("Revenue", 100.0), ("Sales", 50.0)])
    with pytest.raises(DetectionError, match="several lines could be the rent"):
        detect_profile(source, ev)


def test_period_numbers_without_a_start_date_are_a_guess_convert_refuses(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Model"
    ws["A1"], ws["A3"], ws["A4"], ws["A5"] = "Period", "Rental income", "CFADS", "Debt service"
    for p in range(6):
        ws.cell(1, 2 + p, p + 1)
        ws.cell(3, 2 + p, 100.0)
        ws.cell(4, 2 + p, f"={openpyxl.utils.get_column_letter(2 + p)}3*0.7")
        ws.cell(5, 2 + p, 50.0)
    wb.save(tmp_path / "n.xlsx")
    source = load(tmp_path / "n.xlsx")
    ev = evaluate(source.data, path=source.path)
    found = inspect_workbook(source, ev)
    assert found.profile is not None and {g.field for g in found.guesses()} == {"frequency", "start"}
    with pytest.raises(DetectionError, match="could only guess"):
        detect_profile(source, ev)


from engine.template.detect.search import inspect_workbook  # noqa: E402


def test_blocks_with_their_own_date_headers_each_own_their_lines(tmp_path):
    # a revenue block and, 20 rows down, a debt block, each under its own row of the same dates
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Model"
    for header in (2, 22):
        ws.cell(header, 1, "Period end")
        for p in range(5):
            ws.cell(header, 3 + p, dt.date(2026 + p, 12, 31)).number_format = "dd-mmm-yy"
    for r, label, value in ((4, "Rental income", 100.0), (24, "CFADS", "={c}4*0.7"), (25, "Debt service", 50.0),
                            (26, "DSCR", "={c}24/{c}25")):
        ws.cell(r, 1, label)
        for p in range(5):
            c = openpyxl.utils.get_column_letter(3 + p)
            ws.cell(r, 3 + p, value.format(c=c) if isinstance(value, str) else value)
    wb.save(tmp_path / "blocks.xlsx")
    source = load(tmp_path / "blocks.xlsx")
    profile = detect_profile(source, evaluate(source.data, path=source.path))
    assert profile.rent[0].a1 == "C4" and profile.metrics["dscr"][0].a1 == "C26"
