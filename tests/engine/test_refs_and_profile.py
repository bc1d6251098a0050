"""References, profiles (TOML in and out) and cell values."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import TEMPLATES, TEMPLATE_NAMES
from engine.errors import ProfileError
from engine.template.profile import profile_from_dict, profile_to_toml, read_profile
from engine.refs import CellRef, format_range, parse_range, parse_ref, quote_sheet, split_sheet
from engine.values import date_to_serial, serial_to_date


@pytest.mark.parametrize(("text", "sheet", "addr"), [
    ("Model!C7", "Model", "C7"),
    ("'Deal Model'!$C$7:$L$7", "Deal Model", "$C$7:$L$7"),
    ("'Bob''s sheet'!A1", "Bob's sheet", "A1"),
    ("A1", None, "A1"),
], ids=["plain", "quoted-absolute", "escaped-quote", "no-sheet"])
def test_split_sheet(text, sheet, addr):
    assert split_sheet(text) == (sheet, addr)


def test_ranges_round_trip_and_reject_blocks():
    cells = parse_range("'Deal Model'!C7:F7")
    assert [c.a1 for c in cells] == ["C7", "D7", "E7", "F7"]
    assert format_range(cells) == "'Deal Model'!C7:F7"
    assert [c.a1 for c in parse_range("S!B2:B4")] == ["B2", "B3", "B4"]
    with pytest.raises(ValueError, match="one row or one column"):
        parse_range("S!A1:B2")
    with pytest.raises(ValueError, match="names no sheet"):
        parse_ref("A1")
    assert parse_ref("S!$AA$10") == CellRef("S", 10, 27)


@pytest.mark.parametrize(("name", "quoted"), [("Model", "Model"), ("Deal Model", "'Deal Model'"),
                                              ("A1", "'A1'"), ("2027", "'2027'"), ("It's", "'It''s'")])
def test_quote_sheet(name, quoted):
    assert quote_sheet(name) == quoted


def test_excel_serials():
    # Excel: 2026-07-01 is serial 46204 (=DATE(2026,7,1) in Excel and LibreOffice); 1904 system is 1462 less.
    assert date_to_serial(dt.date(2026, 7, 1)) == 46204
    assert date_to_serial(dt.date(2026, 7, 1), date1904=True) == 46204 - 1462
    assert serial_to_date(46204.75) == dt.date(2026, 7, 1)
    assert date_to_serial(dt.datetime(2026, 7, 1, 12)) == 46204.5


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_profile_toml_round_trips(tmp_path, name):
    profile = read_profile(TEMPLATES / f"{name}.toml")
    written = tmp_path / "p.toml"
    written.write_text(profile_to_toml(profile, comments={"rent.cells": "check me"}))
    again = read_profile(written)
    assert (again.rent, again.timeline, again.metrics, again.covenant, again.gpus, again.unit_scale) == (
        profile.rent, profile.timeline, profile.metrics, profile.covenant, profile.gpus, profile.unit_scale)
    assert "# check me" in written.read_text()


@pytest.mark.parametrize(("doc", "needle"), [
    ({"rent": {"cells": "S!A1:C1"}}, "[timeline]"),
    ({"timeline": {"cells": "S!A1:C1", "frequency": "annual"}}, "[rent]"),
    ({"timeline": {"cells": "S!A1:C1", "frequency": "fortnightly"}, "rent": {"cells": "S!A2:C2"}}, "fortnightly"),
    ({"timeline": {"cells": "S!A1:C1", "frequency": "annual"}, "rent": {"cells": "S!A2:B2"}}, "2 cells"),
    ({"timeline": {"cells": "S!A1:C1", "frequency": "annual", "kind": "period_number"},
      "rent": {"cells": "S!A2:C2"}}, "start date"),
], ids=["no-timeline", "no-rent", "bad-frequency", "length-mismatch", "numbers-without-start"])
def test_bad_profiles_say_what_is_wrong(tmp_path, doc, needle):
    import tomllib  # noqa: F401  (the file below is TOML; build it by hand to stay dependency-free)

    path = tmp_path / "bad.toml"
    lines = []
    for table, values in doc.items():
        lines.append(f"[{table}]")
        lines += [f'{k} = "{v}"' for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ProfileError) as err:
        read_profile(path)
    assert needle in str(err.value)
    assert str(err.value).startswith("bad.toml: ")


def test_profile_from_dict_accepts_a_numeric_covenant():
    profile = profile_from_dict({"timeline": {"cells": "S!A1:B1", "frequency": "annual", "kind": "year"},
                                 "rent": {"cells": "S!A2:B2"}, "metrics": {"covenant": 1.2}})
    assert profile.covenant == 1.2
