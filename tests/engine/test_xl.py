"""engine/shell/xl.py, the xlwings shell: worksheet functions, the convert button, the button workbook.

On Linux xlwings' decorators return the plain function, so the tests call the functions the way
Excel's add-in does: numbers as floats, dates as Excel serial numbers (or ``datetime`` for a
date-formatted cell read through a range), empty cells as None, ranges as lists of rows.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import importlib.util
import inspect
import math
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest

from engine.shell import xl
from engine.convert import convert
from engine.values import date_to_serial
from libreoffice import recalculate, soffice_path
from models.collateral import forced_share, orderly_share
from models.credit import dscr
from models.curves import Launch, index, monthly_curve
from models.periods import month_index
from models.presets import PRESETS, get_preset

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
BUTTON_DIR = TEMPLATES / "excel"
BUTTON = BUTTON_DIR / "gpucredit_button.xlsm"

JUL_2026 = date_to_serial(dt.date(2026, 7, 1))  # 46204.0: h100-base's price_date, used as deal start
DEC_31_2026 = date_to_serial(dt.date(2026, 12, 31))  # 46387.0
RATE = {"rel": 1e-9}  # STYLE: rates rel=1e-9


def _serial(d: dt.date) -> float:
    return date_to_serial(d)


# -- GPU_RENT_INDEX -----------------------------------------------------------------------
def test_rent_index_hand_computed() -> None:
    # docs/curve.md by hand, h100-base (models/presets.py): d = 1 - e^-0.12, so (1-d)^(n/12) = e^(-0.12 n/12);
    # December 2026 is n = 5 months after the 2026-07 price date; Rubin (2026-10-01, step 0.15,
    # 6-month ramp) is 2 months in, so its factor is 1 - 0.15 * 2/6; utilisation is 0.85 in both
    # months (deal year 0) and the floor 0.25 does not bind.
    expected = math.exp(-0.12 * 5 / 12) * (1 - 0.15 * 2 / 6)  # = 0.903667953...
    assert xl.GPU_RENT_INDEX(DEC_31_2026, JUL_2026, "h100-base") == pytest.approx(expected, **RATE)
    assert xl.GPU_RENT_INDEX(JUL_2026, JUL_2026, "h100-base") == 1.0  # index(start) = 1


@pytest.mark.parametrize("preset", sorted(PRESETS), ids=str)
@pytest.mark.parametrize("when", [dt.date(2026, 9, 15), dt.date(2028, 7, 1), dt.date(2035, 1, 31)],
                         ids=["2026-09", "2028-07", "2035-01"])
def test_rent_index_equals_models(preset: str, when: dt.date) -> None:
    start = dt.date(2026, 8, 20)
    params = get_preset(preset).curve.with_overrides(start=start)
    expected = float(index(params, np.array([month_index(when)]))[0])
    assert xl.GPU_RENT_INDEX(_serial(when), _serial(start), preset) == pytest.approx(expected, **RATE)


@pytest.mark.parametrize("date_arg", [DEC_31_2026, dt.datetime(2026, 12, 31), "2026-12-31", [[DEC_31_2026]]],
                         ids=["serial", "datetime-cell", "iso-text", "one-cell-range"])
def test_rent_index_takes_every_date_shape(date_arg: Any) -> None:
    expected = xl.GPU_RENT_INDEX(DEC_31_2026, JUL_2026, "h100-base")
    assert xl.GPU_RENT_INDEX(date_arg, dt.datetime(2026, 7, 1), " H100-Base ") == expected


def test_rent_index_overrides_range_as_excel_passes_it() -> None:
    overrides = [
        ["parameter", "value"],  # an optional header row
        ["d", 0.3],
        ["price_date", _serial(dt.date(2026, 1, 1))],  # a date cell: a serial number
        ["util", "0.9,0.5"],  # a comma list in a text cell
        ["ramp_months", 3.0],  # Excel's numbers are floats
        ["Launches", "2027-03-01:0.2"],  # names are case-insensitive
        [None, None],  # empty rows of a larger selection
    ]
    start, when = dt.date(2026, 7, 1), dt.date(2028, 2, 1)
    params = get_preset("h100-stress").curve.with_overrides(
        d=0.3, price_date=dt.date(2026, 1, 1), util=(0.9, 0.5), ramp_months=3,
        launches=(Launch(dt.date(2027, 3, 1), 0.2),), start=start)
    expected = float(index(params, np.array([month_index(when)]))[0])
    got = xl.GPU_RENT_INDEX(_serial(when), _serial(start), "h100-stress", overrides)
    assert got == pytest.approx(expected, **RATE)
    assert expected != pytest.approx(xl.GPU_RENT_INDEX(_serial(when), _serial(start), "h100-stress"))


def test_empty_launches_override_removes_the_launches() -> None:
    # h100-base with no launches is the pure trend: e^(-0.12 * 12/12) a year after the price date.
    got = xl.GPU_RENT_INDEX(_serial(dt.date(2027, 7, 1)), JUL_2026, "h100-base", [["launches", None]])
    assert got == pytest.approx(math.exp(-0.12), **RATE)


# -- GPU_RENT_CURVE -----------------------------------------------------------------------
def test_rent_curve_table_equals_models() -> None:
    start = dt.date(2026, 11, 1)
    table = xl.GPU_RENT_CURVE(_serial(dt.date(2026, 11, 17)), 60.0, "h200-base", [["c", 0.5], ["p_contract", 2.8],
                                                                                     ["contract_months", 24.0]])
    assert table[0] == ["month", "spot", "utilisation", "realised", "index"]
    assert len(table) == 61
    params = get_preset("h200-base").curve.with_overrides(start=start, c=0.5, p_contract=2.8, contract_months=24)
    curve = monthly_curve(params, month_index(start), 60)
    months = [row[0] for row in table[1:]]
    assert months[0] == _serial(dt.date(2026, 11, 1)) and months[-1] == _serial(dt.date(2031, 10, 1))
    for col, expected in zip(range(1, 5), (curve.spot, curve.util, curve.realised, curve.index)):
        assert [row[col] for row in table[1:]] == pytest.approx(list(expected), **RATE)
    assert all(type(x) is float for row in table[1:] for x in row)  # plain floats for COM


def test_rent_curve_first_row_hand_computed() -> None:
    # At the price date spot = p0 = 2.40 (h100-base); realised = util 0.85 * 2.40 = 2.04; index 1.
    first = xl.GPU_RENT_CURVE(JUL_2026, 1.0, "h100-base")[1]
    assert first == pytest.approx([JUL_2026, 2.40, 0.85, 2.04, 1.0], **RATE)


# -- GPU_COLLATERAL -----------------------------------------------------------------------
def test_collateral_hand_computed_at_age_zero() -> None:
    # models/collateral.py defaults: new fleet orderly = 1; forced = 1 * (1-0.35)(1-0.15)(1-0) - 0.07
    (row,) = xl.GPU_COLLATERAL(0.0, "h100-base")
    assert row == pytest.approx([1.0, 0.65 * 0.85 - 0.07], **RATE)


def test_collateral_column_of_ages_equals_models() -> None:
    ages = [[0.0], [12.0], [None], [27.0], [72.0]]  # a column with an empty cell
    got = xl.GPU_COLLATERAL(ages, "h100-stress", [["gpus", 4000.0], ["h_liq", "broker"]])
    params = get_preset("h100-stress").collateral.with_overrides(gpus=4000.0, h_liq=0.15)
    months = np.array([0, 12, 27, 72])
    rows = [r for r in got if r != ["", ""]]
    assert got[2] == ["", ""]
    assert [r[0] for r in rows] == pytest.approx(list(orderly_share(params, months)), **RATE)
    assert [r[1] for r in rows] == pytest.approx(list(forced_share(params, months)), **RATE)


# -- GPU_DSCR -----------------------------------------------------------------------------
def test_dscr_row_equals_models_and_marks_no_debt_service() -> None:
    cfads = [[120.0, 95.5, 80.0, None]]
    service = [[100.0, 100.0, 0.0, None]]
    expected = dscr([120.0, 95.5, 80.0, 0.0], [100.0, 100.0, 0.0, 0.0])
    got = xl.GPU_DSCR(cfads, service)
    assert got[0][:2] == pytest.approx(list(expected[:2]), **RATE)
    assert got[0][2:] == ["n.m.", "n.m."]  # text: Excel's MIN and AVERAGE skip it


def test_dscr_column_with_debt_service_as_negative_outflows() -> None:
    got = xl.GPU_DSCR([[150.0], [90.0]], [[-100.0], [-120.0]])
    assert [row[0] for row in got] == pytest.approx([1.5, 0.75], **RATE)  # 150/100, 90/120


# -- errors -------------------------------------------------------------------------------
BAD_CALLS: list[tuple[str, Any, str]] = [
    ("unknown-preset", lambda: xl.GPU_RENT_INDEX(DEC_31_2026, JUL_2026, "h100-bsae"),
     "#VALUE! unknown preset 'h100-bsae'; did you mean h100-base? known: h100-base, h100-stress"),
    ("preset-number", lambda: xl.GPU_RENT_INDEX(DEC_31_2026, JUL_2026, 3.0), "#VALUE! preset: give a preset name"),
    ("empty-start", lambda: xl.GPU_RENT_INDEX(DEC_31_2026, None, "h100-base"), "#VALUE! start: the cell is empty"),
    ("bad-date-text", lambda: xl.GPU_RENT_INDEX("2026-13-01", JUL_2026, "h100-base"), "#VALUE! date: '2026-13-01'"),
    ("error-cell", lambda: xl.GPU_RENT_INDEX("#N/A", JUL_2026, "h100-base"), "#VALUE! date: '#N/A' is not a date"),
    ("negative-serial", lambda: xl.GPU_RENT_INDEX(-5.0, JUL_2026, "h100-base"), "not an Excel date serial"),
    ("date-range", lambda: xl.GPU_RENT_INDEX([[1.0, 2.0]], JUL_2026, "h100-base"), "give one cell, not a range"),
    ("months-zero", lambda: xl.GPU_RENT_CURVE(JUL_2026, 0.0, "h100-base"), "#VALUE! months: 0 is outside 1..1200"),
    ("months-fraction", lambda: xl.GPU_RENT_CURVE(JUL_2026, 3.5, "h100-base"), "months: 3.5 is not a whole number"),
    ("months-text", lambda: xl.GPU_RENT_CURVE(JUL_2026, "ten", "h100-base"), "months: 'ten' is not a number"),
    ("overrides-one-column", lambda: xl.GPU_RENT_CURVE(JUL_2026, 2.0, "h100-base", [["d"], [0.3]]),
     "overrides: give a two-column range"),
    ("overrides-unknown", lambda: xl.GPU_RENT_CURVE(JUL_2026, 2.0, "h100-base", [["decline", 0.3]]),
     "overrides: decline: not a curve parameter; known: price_date, start, p0, d"),
    ("overrides-start", lambda: xl.GPU_RENT_CURVE(JUL_2026, 2.0, "h100-base", [["start", JUL_2026]]),
     "overrides: start is an argument of the function"),
    ("overrides-twice", lambda: xl.GPU_RENT_CURVE(JUL_2026, 2.0, "h100-base", [["d", 0.3], ["D", 0.2]]),
     "overrides: d: given twice"),
    ("overrides-no-name", lambda: xl.GPU_RENT_CURVE(JUL_2026, 2.0, "h100-base", [[None, 0.3]]),
     "overrides: row 1 has no parameter name"),
    ("d-out-of-range", lambda: xl.GPU_RENT_CURVE(JUL_2026, 2.0, "h100-base", [["d", 1.5]]),
     "#VALUE! d: 1.5 is invalid; must be in [0, 1)"),
    ("d-empty", lambda: xl.GPU_RENT_CURVE(JUL_2026, 2.0, "h100-base", [["d", None]]), "d: '' is not a number"),
    ("d-bool", lambda: xl.GPU_RENT_CURVE(JUL_2026, 2.0, "h100-base", [["d", True]]), "d: True is not a valid value"),
    ("util-text", lambda: xl.GPU_RENT_CURVE(JUL_2026, 2.0, "h100-base", [["util", "high"]]),
     "util: 'high' is not a number"),
    ("launch-no-step", lambda: xl.GPU_RENT_CURVE(JUL_2026, 2.0, "h100-base", [["launches", "2027-01-01"]]),
     "launches: '2027-01-01' is not DATE:STEP"),
    ("dscr-text", lambda: xl.GPU_DSCR([[1.0, "n/a"]], [[1.0, 1.0]]),
     "cfads_range: row 1, column 2 holds 'n/a', not a number"),
    ("dscr-error-cell", lambda: xl.GPU_DSCR([[1.0]], [["#DIV/0!"]]), "debt_service_range: row 1, column 1"),
    ("dscr-shapes", lambda: xl.GPU_DSCR([[1.0, 2.0]], [[1.0], [2.0]]),
     "cfads_range is 1x2 but debt_service_range is 2x1"),
    ("dscr-mixed-signs", lambda: xl.GPU_DSCR([[1.0, 2.0]], [[1.0, -2.0]]), "mixes positive and negative"),
    ("collateral-preset", lambda: xl.GPU_COLLATERAL(12.0, "h100-bsae"), "#VALUE! unknown preset 'h100-bsae'"),
    ("collateral-age", lambda: xl.GPU_COLLATERAL(-1.0, "h100-base"), "age_months: -1 is outside 0..1200"),
    ("collateral-channel", lambda: xl.GPU_COLLATERAL(12.0, "h100-base", [["h_liq", "fire-sale"]]),
     "h_liq: 'fire-sale' is not a sale channel or a number; channels: orderly (0), broker (0.15)"),
    ("collateral-name", lambda: xl.GPU_COLLATERAL(12.0, "h100-base", [["d", 0.3]]),
     "overrides: d: not a collateral parameter"),
]


@pytest.mark.parametrize(("call", "expected"), [(c, e) for _, c, e in BAD_CALLS], ids=[i for i, _, _ in BAD_CALLS])
def test_bad_arguments_give_a_readable_cell_error(call: Any, expected: str) -> None:
    got = call()
    assert isinstance(got, str) and got.startswith("#VALUE! "), got
    assert expected in got
    assert "Traceback" not in got and "\n" not in got


def test_worksheet_functions_carry_no_annotations() -> None:
    # xlwings >= 0.32 reads a parameter's annotation as its converter; a `float | None` would break
    # the call in Excel, so the decorated functions must stay unannotated.
    for fn in (xl.GPU_RENT_INDEX, xl.GPU_RENT_CURVE, xl.GPU_COLLATERAL, xl.GPU_DSCR):
        sig = inspect.signature(fn)
        assert all(p.annotation is inspect.Parameter.empty for p in sig.parameters.values()), fn.__name__
        assert sig.return_annotation is inspect.Signature.empty
        assert fn.__doc__  # Excel's function wizard shows it


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_only_engine_xl_imports_xlwings_and_nothing_imports_it() -> None:
    for path in sorted((ROOT / "engine").glob("*.py")) + sorted((ROOT / "models").glob("*.py")):
        names = _imports(path)
        if path.name != "xl.py":
            assert not any(n == "xlwings" or n.startswith("xlwings.") for n in names), path
        assert "engine.shell.xl" not in names, path


# -- convert_active_workbook with a stand-in for xlwings' Book and App ---------------------
class StandInBooks:
    """Records what the shell asks of ``app.books``."""

    def __init__(self, app: StandInApp) -> None:
        self.app = app
        self.all: list[StandInBook] = []
        self.active: StandInBook | None = None
        self.opened: list[Path] = []

    def __iter__(self) -> Any:
        return iter(list(self.all))

    def open(self, fullname: str) -> StandInBook:
        self.opened.append(Path(fullname))
        return StandInBook(self.app, fullname)


class StandInApp:
    def __init__(self) -> None:
        self.books = StandInBooks(self)
        self.alerts: list[dict[str, Any]] = []
        self.statuses: list[Any] = []

    @property
    def status_bar(self) -> Any:
        return self.statuses[-1] if self.statuses else False

    @status_bar.setter
    def status_bar(self, value: Any) -> None:
        self.statuses.append(value)

    def alert(self, prompt: str, title: str | None = None, buttons: str = "ok", mode: str | None = None,
              callback: str | None = None) -> str:
        self.alerts.append({"prompt": prompt, "title": title, "mode": mode})
        return "ok"


class StandInBook:
    def __init__(self, app: StandInApp, fullname: str | Path) -> None:
        self.app = app
        self.fullname = str(fullname)
        self.name = Path(fullname).name
        app.books.all.append(self)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def lender(tmp_path: Path) -> Path:
    """A private copy of the lease template and its profile."""
    shutil.copy2(TEMPLATES / "dc_lease_annual.xlsx", tmp_path / "dc_lease_annual.xlsx")
    shutil.copy2(TEMPLATES / "dc_lease_annual.toml", tmp_path / "dc_lease_annual.toml")
    return tmp_path / "dc_lease_annual.xlsx"


def test_convert_active_workbook_saves_beside_and_opens(lender: Path) -> None:
    app = StandInApp()
    book = StandInBook(app, lender)
    app.books.active = book
    before = _digest(lender)
    out = xl.convert_active_workbook(book)
    assert out == lender.with_name("dc_lease_annual.gpu.xlsx") and out.is_file()
    assert app.books.opened == [out]
    assert app.alerts == []
    assert "dc_lease_annual.gpu.xlsx" in app.status_bar and "minimum DSCR" in app.status_bar
    assert _digest(lender) == before  # the open book's file is never written
    assert "GPU_Curve" in openpyxl.load_workbook(out, read_only=True).sheetnames
    direct = convert(lender, lender.with_name("direct.xlsx"))  # the same conversion, from Python
    assert f"minimum DSCR {direct.metrics_before.min_dscr:.2f} -> {direct.metrics_after.min_dscr:.2f}" \
        in app.status_bar


def test_convert_active_workbook_never_overwrites(lender: Path) -> None:
    taken = lender.with_name("dc_lease_annual.gpu.xlsx")
    taken.write_bytes(b"an earlier conversion")
    app = StandInApp()
    book = StandInBook(app, lender)
    StandInBook(app, lender.with_name("dc_lease_annual.gpu (2).xlsx"))  # open in Excel, not on disk
    app.books.active = book
    out = xl.convert_active_workbook(book, preset="h100-stress")
    assert out == lender.with_name("dc_lease_annual.gpu (3).xlsx") and out.is_file()
    assert taken.read_bytes() == b"an earlier conversion"
    assert app.books.opened == [out]


def test_button_workbook_converts_the_lender_workbook(lender: Path, tmp_path: Path) -> None:
    app = StandInApp()
    launcher = StandInBook(app, tmp_path / "gpucredit_button.xlsm")
    StandInBook(app, tmp_path / "PERSONAL.XLSB")  # Excel's hidden macro book is not a candidate
    StandInBook(app, lender)
    app.books.active = launcher  # the button on the launcher's own sheet was clicked
    out = xl.convert_active_workbook(launcher)
    assert out == lender.with_name("dc_lease_annual.gpu.xlsx") and out.is_file()
    assert app.alerts == []


@pytest.mark.parametrize(("setup", "message"), [
    ("launcher-alone", "open the lender workbook to convert"),
    ("launcher-and-two", "several workbooks are open (a.xlsx, b.xlsx)"),
    ("unsaved", "Book1: save the workbook as .xlsx or .xlsm first"),
    ("bad-preset", "unknown preset 'h100-bsae'; did you mean h100-base? known: h100-base"),
    ("bad-mode", "mode: 'sideways' is not a mode; use index or absolute"),
    ("not-a-workbook", "broken.xlsx:"),
], ids=["launcher-alone", "launcher-and-two", "unsaved", "bad-preset", "bad-mode", "not-a-workbook"])
def test_convert_active_workbook_reports_problems_in_a_message_box(
        setup: str, message: str, lender: Path, tmp_path: Path) -> None:
    app = StandInApp()
    kwargs: dict[str, Any] = {}
    if setup.startswith("launcher"):
        book = StandInBook(app, tmp_path / "gpucredit_button.xlsm")
        if setup == "launcher-and-two":
            StandInBook(app, tmp_path / "a.xlsx")
            StandInBook(app, tmp_path / "b.xlsx")
    elif setup == "unsaved":
        book = StandInBook(app, "Book1")
    elif setup == "not-a-workbook":
        broken = tmp_path / "broken.xlsx"
        broken.write_text("this is not a zip file", encoding="utf-8")
        book = StandInBook(app, broken)
    else:
        book = StandInBook(app, lender)
        kwargs = {"preset": "h100-bsae"} if setup == "bad-preset" else {"mode": "sideways"}
    app.books.active = book
    files_before = sorted(p.name for p in tmp_path.iterdir())
    assert xl.convert_active_workbook(book, **kwargs) is None
    assert len(app.alerts) == 1 and message in app.alerts[0]["prompt"], app.alerts
    assert app.alerts[0]["mode"] == "critical"
    assert message in app.status_bar
    assert app.books.opened == []
    assert sorted(p.name for p in tmp_path.iterdir()) == files_before  # nothing written


def test_free_output_skips_existing_and_open_names(tmp_path: Path) -> None:
    src = tmp_path / "deal.xlsm"
    assert xl.free_output(src) == tmp_path / "deal.gpu.xlsm"
    (tmp_path / "deal.gpu.xlsm").write_bytes(b"")
    assert xl.free_output(src, {"deal.gpu (2).xlsm"}) == tmp_path / "deal.gpu (3).xlsm"


# -- the button workbook -------------------------------------------------------------------
def test_button_workbook_keeps_the_quickstart_vba_and_runs_its_macro() -> None:
    with zipfile.ZipFile(BUTTON) as z:
        names = z.namelist()
        assert "xl/vbaProject.bin" in names
        vba = z.read("xl/vbaProject.bin")
        drawing = z.read("xl/drawings/drawing1.xml").decode()
        types = z.read("[Content_Types].xml").decode()
    assert vba.startswith(bytes.fromhex("D0CF11E0A1B11AE1"))  # an OLE compound file
    assert b"SampleCall" in vba and b"RunPython" in vba
    assert 'macro="[0]!SampleCall"' in drawing
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types


def test_button_module_hands_over_to_engine_xl(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(xl, "convert_active_workbook", lambda **kw: calls.append(kw))
    spec = importlib.util.spec_from_file_location("gpucredit_button", BUTTON_DIR / "gpucredit_button.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()
    assert calls == [{"preset": "h100-base", "mode": "index"}]


def test_xlwings_conf_points_at_the_installed_module() -> None:
    lines = (BUTTON_DIR / "xlwings.conf").read_text(encoding="utf-8").splitlines()
    assert '"UDF MODULES","engine.shell.xl"' in lines


@pytest.mark.libreoffice
def test_button_workbook_opens_in_libreoffice(tmp_path: Path) -> None:
    out = recalculate(BUTTON, tmp_path)  # soffice --convert-to xlsx; raises if it could not load
    assert out.is_file()
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["Convert", "_xlwings.conf"]
    assert str(book["Convert"]["A1"].value).startswith("gpucredit:")


@pytest.mark.libreoffice
def test_libreoffice_reads_the_vba_module(tmp_path: Path) -> None:
    # Saving back to .xlsm makes LibreOffice write the VBA project it loaded: Module1 must be in it.
    (tmp_path / "in").mkdir()
    src = tmp_path / "in" / BUTTON.name
    shutil.copy2(BUTTON, src)
    subprocess.run([soffice_path(), f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
                    "--norestore", "--convert-to", "xlsm:Calc MS Excel 2007 VBA XML", "--outdir",
                    str(tmp_path / "out"), str(src)],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=180)
    with zipfile.ZipFile(tmp_path / "out" / BUTTON.name) as z:
        assert b"Module1" in z.read("xl/vbaProject.bin")
