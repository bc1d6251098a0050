"""Excel via xlwings: worksheet functions and the convert button (docs/excel.md).

A thin shell: it turns Excel's arguments into model inputs, calls :mod:`models` (and, for the
button, :func:`engine.convert.convert`) and renders the answer as cell values.  It is the only
module that imports xlwings, and nothing imports it; xlwings finds it through the
``UDF Modules`` setting (``engine.shell.xl``) or a ``RunPython`` call.

Arguments arrive in the shapes Excel passes: numbers as floats, dates as Excel serial numbers
(a date-formatted cell read through a range may arrive as a ``datetime``; both are accepted),
empty cells as None, ranges as lists of rows.  A bad argument never raises into Excel: the
cell shows ``#VALUE! what is wrong`` (a text, so a person can read it), e.g.
``#VALUE! unknown preset 'h100-bsae'; did you mean h100-base? known: h100-base, ...``.

The decorated functions carry no annotations on purpose: xlwings (>= 0.32) reads a parameter's
annotation as its converter, so ``float | None`` would break the call in Excel.  Their types are
given as ``# type:`` comments, which mypy reads and xlwings does not see.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import xlwings as xw

from engine.errors import GpuCreditError
from engine.values import date_to_serial, serial_to_date
from models.collateral import forced_share, orderly_share
from models.credit import dscr
from models.curves import CurveParams, index, monthly_curve
from models.params import COLLATERAL, CURVE
from models.validate import ParamSet
from models.periods import month_index, month_start
from models.presets import UnknownPresetError, get_preset

__all__ = [
    "GPU_COLLATERAL",
    "GPU_DSCR",
    "GPU_RENT_CURVE",
    "GPU_RENT_INDEX",
    "convert_active_workbook",
]

CATEGORY = "gpucredit"  # the group the functions appear under in Excel's function wizard
# Every argument is read with err_to_str=True: a #N/A cell then arrives as the text "#N/A" and is
# reported, where xlwings' default would pass None and an empty cell would count as 0.
CURVE_HEADER = ["month", "spot", "utilisation", "realised", "index"]
NOT_MEANINGFUL = "n.m."  # a DSCR with no debt service to cover; text, so MIN/AVERAGE skip it
MAX_MONTHS = 1200  # 100 years: a longer spill is a typo, not a deal
LAUNCHER_STEM = "gpucredit_button"  # the button workbook (templates/excel/) is never converted
_LAST_SERIAL = 2958465.0  # 9999-12-31, Excel's last date
_HEADER_WORDS = ("name", "parameter")

Grid = list[list[Any]]


# -- rendering errors -------------------------------------------------------------------
def _error_text(exc: ValueError | KeyError | GpuCreditError) -> str:
    """The one-line message for a cell or a message box (without the ``#VALUE!`` tag)."""
    if isinstance(exc, UnknownPresetError):
        hint = f"did you mean {exc.suggestion}? " if exc.suggestion else ""
        return f"unknown preset {exc.name!r}; {hint}known: {', '.join(exc.known)}"
    if isinstance(exc, GpuCreditError):
        return exc.one_line()
    if isinstance(exc, KeyError) and exc.args:
        return " ".join(str(exc.args[0]).split())
    return " ".join(str(exc).split())


def _cell_error(exc: ValueError | KeyError | GpuCreditError) -> str:
    return f"#VALUE! {_error_text(exc)}"


# -- reading Excel's argument shapes ----------------------------------------------------
def _grid(value: Any) -> Grid:
    """Any argument as a list of rows (what ``@xw.arg(ndim=2)`` hands over in Excel)."""
    if isinstance(value, (list, tuple)):
        if all(isinstance(row, (list, tuple)) for row in value):
            return [list(row) for row in value]
        return [list(value)]
    return [[value]]


def _one_cell(name: str, value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        cells = [c for row in _grid(value) for c in row]
        if len(cells) != 1:
            raise ValueError(f"{name}: give one cell, not a range of {len(cells)}")
        return cells[0]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _as_date(name: str, value: Any) -> dt.date:
    """A date from a serial number, a ``datetime`` / ``date`` or an ISO text."""
    value = _one_cell(name, value)
    if value is None:
        raise ValueError(f"{name}: the cell is empty; give a date")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if _is_number(value):
        serial = float(value)
        if not (math.isfinite(serial) and 1 <= serial <= _LAST_SERIAL):
            raise ValueError(f"{name}: {value!r} is not an Excel date serial number")
        return serial_to_date(serial)
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{name}: {value!r} is not a date (use a date cell or YYYY-MM-DD)") from None
    raise ValueError(f"{name}: {value!r} is not a date")


def _as_whole(name: str, value: Any, lowest: int, highest: int) -> int:
    """A whole number in [lowest, highest] from a number or a numeric text."""
    value = _one_cell(name, value)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError(f"{name}: {value!r} is not a number") from None
    if value is None:
        raise ValueError(f"{name}: the cell is empty; give a whole number")
    if not _is_number(value) or not math.isfinite(float(value)) or not float(value).is_integer():
        raise ValueError(f"{name}: {value!r} is not a whole number")
    whole = int(value)
    if not lowest <= whole <= highest:
        raise ValueError(f"{name}: {whole} is outside {lowest}..{highest}")
    return whole


def _as_name(name: str, value: Any) -> str:
    value = _one_cell(name, value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name}: give a preset name such as h100-base, not {value!r}")
    return value.strip()


def _override_text(name: str, value: Any, date_names: tuple[str, ...]) -> str:
    """The text :func:`parse_param` reads, from a value cell (number, date, text or empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError(f"{name}: {value!r} is not a valid value")
    if isinstance(value, (dt.date, dt.datetime)) or (name in date_names and _is_number(value)):
        return _as_date(name, value).isoformat()
    if _is_number(value):
        return repr(float(value))  # repr round-trips the float exactly
    if isinstance(value, str):
        return value
    raise ValueError(f"{name}: {value!r} is not a valid value")


def _overrides(value: Any, params: ParamSet, date_names: tuple[str, ...], reserved: tuple[str, ...] = ()
               ) -> dict[str, Any]:
    """Parameter overrides from a two-column range: a name, then its value (parsed by ``params``).

    Empty rows are skipped, and so is a header row whose first cell says ``name`` or
    ``parameter``.  Names are case-insensitive; a name twice is an error.
    """
    if value is None:
        return {}
    rows = _grid(value)
    if any(len(row) != 2 for row in rows):
        raise ValueError("overrides: give a two-column range: parameter names, then values")
    pairs: list[tuple[str, object]] = []
    for row_no, (name_cell, value_cell) in enumerate(rows, start=1):
        if name_cell is None and value_cell is None:
            continue
        if not isinstance(name_cell, str) or not name_cell.strip():
            raise ValueError(f"overrides: row {row_no} has no parameter name (got {name_cell!r})")
        name = name_cell.strip().lower()
        if name in _HEADER_WORDS and not pairs:
            continue
        if name in reserved:
            raise ValueError(f"overrides: {name} is an argument of the function; give it there")
        pairs.append((name, _override_text(name, value_cell, date_names)))
    try:
        return params.parse_pairs(pairs)
    except ValueError as exc:
        raise ValueError(f"overrides: {exc}") from None


def _curve_params(preset: Any, start: Any, overrides: Any) -> CurveParams:
    base = get_preset(_as_name("preset", preset)).curve
    kw = _overrides(overrides, CURVE, ("price_date", "start"), reserved=("start",))
    return base.with_overrides(**kw, start=_as_date("start", start))


# -- worksheet functions ----------------------------------------------------------------
@xw.func(category=CATEGORY)
@xw.arg("date", err_to_str=True, doc="A date in the month to value (a date cell or serial number).")
@xw.arg("start", err_to_str=True, doc="Deal start: the month whose realised rent is 1.")
@xw.arg("preset", err_to_str=True, doc="Curve preset, e.g. h100-base, h100-stress.")
@xw.arg("overrides", ndim=2, err_to_str=True, doc="Optional two-column range: parameter name, value.")
def GPU_RENT_INDEX(date, start, preset, overrides=None):  # type: (Any, Any, Any, Any) -> float | str
    """GPU rent index of the month containing date: realised rent relative to the start month (docs/curve.md)."""
    try:
        params = _curve_params(preset, start, overrides)
        month = month_index(_as_date("date", date))
        return float(index(params, np.array([month], dtype=np.int64))[0])
    except (ValueError, KeyError, GpuCreditError) as exc:
        return _cell_error(exc)


@xw.func(category=CATEGORY)
@xw.arg("start", err_to_str=True, doc="Deal start: the first month of the table (index 1).")
@xw.arg("months", err_to_str=True, doc="Number of months (rows), 1 to 1200.")
@xw.arg("preset", err_to_str=True, doc="Curve preset, e.g. h100-base, h100-stress.")
@xw.arg("overrides", ndim=2, err_to_str=True, doc="Optional two-column range: parameter name, value.")
def GPU_RENT_CURVE(start, months, preset, overrides=None):  # type: (Any, Any, Any, Any) -> Grid | str
    """Monthly GPU rent curve, a table with a header: month (date serial), spot, utilisation, realised, index."""
    try:
        params = _curve_params(preset, start, overrides)
        n = _as_whole("months", months, 1, MAX_MONTHS)
        assert params.start is not None  # set by _curve_params
        curve = monthly_curve(params, month_index(params.start), n)
        table: Grid = [list(CURVE_HEADER)]
        for i, month in enumerate(curve.months):
            table.append([date_to_serial(month_start(int(month))), float(curve.spot[i]), float(curve.util[i]),
                          float(curve.realised[i]), float(curve.index[i])])
        return table
    except (ValueError, KeyError, GpuCreditError) as exc:
        return _cell_error(exc)


@xw.func(category=CATEGORY)
@xw.arg("age_months", ndim=2, err_to_str=True, doc="Whole months from the valuation month (a cell or a column).")
@xw.arg("preset", err_to_str=True, doc="Preset, e.g. h100-base (the collateral table of the same name).")
@xw.arg("overrides", ndim=2, err_to_str=True, doc="Optional two-column range: collateral parameter name, value.")
def GPU_COLLATERAL(age_months, preset, overrides=None):  # type: (Any, Any, Any) -> Grid | str
    """Collateral value as shares of the all-in cost per GPU: one row [orderly, forced sale] per age."""
    try:
        name = _as_name("preset", preset)
        kw = _overrides(overrides, COLLATERAL, ("valuation_date",))
        params = get_preset(name).collateral.with_overrides(**kw)
        cells = [c for row in _grid(age_months) for c in row]
        ages = [None if c is None else _as_whole("age_months", c, 0, MAX_MONTHS) for c in cells]
        known = np.array([a for a in ages if a is not None], dtype=np.int64)
        orderly = iter(orderly_share(params, known).tolist())
        forced = iter(forced_share(params, known).tolist())
        return [["", ""] if a is None else [next(orderly), next(forced)] for a in ages]
    except (ValueError, KeyError, GpuCreditError) as exc:
        return _cell_error(exc)


def _money_grid(name: str, value: Any) -> np.ndarray:
    rows = _grid(value)
    if len({len(row) for row in rows}) != 1:
        raise ValueError(f"{name}: rows of different lengths")
    out = np.zeros((len(rows), len(rows[0])))
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            if cell is None:
                continue  # an empty cell counts as 0, as in Excel's arithmetic
            if not _is_number(cell) or not math.isfinite(float(cell)):
                raise ValueError(f"{name}: row {r + 1}, column {c + 1} holds {cell!r}, not a number")
            out[r, c] = float(cell)
    return out


@xw.func(category=CATEGORY)
@xw.arg("cfads_range", ndim=2, err_to_str=True, doc="CFADS per period (a row or column).")
@xw.arg("debt_service_range", ndim=2, err_to_str=True, doc="Debt service per period, same shape as CFADS.")
def GPU_DSCR(cfads_range, debt_service_range):  # type: (Any, Any) -> Grid | str
    """DSCR per period (CFADS / debt service), same shape as the inputs; n.m. where there is no debt service."""
    try:
        cfads = _money_grid("cfads_range", cfads_range)
        service = _money_grid("debt_service_range", debt_service_range)
        if cfads.shape != service.shape:
            raise ValueError(f"cfads_range is {cfads.shape[0]}x{cfads.shape[1]} but debt_service_range is "
                             f"{service.shape[0]}x{service.shape[1]}; give ranges of the same shape")
        if np.any(service > 0) and np.any(service < 0):
            raise ValueError("debt_service_range: mixes positive and negative amounts; give debt service "
                             "as positive amounts (or all as negative outflows)")
        ratios = dscr(cfads, -service if np.any(service < 0) else service)
        return [[NOT_MEANINGFUL if math.isnan(x) else float(x) for x in row] for row in ratios.tolist()]
    except (ValueError, KeyError, GpuCreditError) as exc:
        return _cell_error(exc)


# -- the convert button (RunPython) -----------------------------------------------------
def convert_active_workbook(book: Any = None, preset: str | None = None, mode: str = "index") -> Path | None:
    """Convert the workbook in front of the analyst; save the copy beside it and open it.

    Run from VBA: ``RunPython "import engine.shell.xl; engine.shell.xl.convert_active_workbook()"``.

    Parameters
    ----------
    book : xlwings.Book, optional
        The calling workbook; default ``xw.Book.caller()`` (tests pass a stand-in).
    preset : str, optional
        Curve preset; default the CLI's (``h100-base``).
    mode : {"index", "absolute"}
        mode (docs/curve.md, "Modes").

    Returns
    -------
    pathlib.Path or None
        The converted copy, or None when something was wrong; the reason is shown in a message
        box and the status bar, never raised into Excel.

    Notes
    -----
    The workbook converted is the active one when it is not the calling workbook (the macro was
    run from the button workbook with Alt+F8 or the Quick Access Toolbar); otherwise the calling
    workbook itself, unless that is the button workbook, in which case the only other open
    .xlsx/.xlsm workbook.  The file as last saved on disk is converted.  The copy is
    ``STEM.gpu.xlsx``; if that exists, ``STEM.gpu (2).xlsx`` and so on: nothing is overwritten.
    """
    # engine.convert pulls in the formula engine; imported here so the worksheet functions stay
    # light (and usable where the formula engine cannot be installed).
    from engine.convert import DEFAULT_PRESET, CurveChoice, convert
    from models.curves import RentMode

    caller = book if book is not None else xw.Book.caller()
    app = caller.app
    try:
        target = _book_to_convert(caller)
        source = _saved_path(target)
        open_names = {str(b.name).lower() for b in app.books}
        out = free_output(source, open_names)
        if mode not in [m.value for m in RentMode]:
            raise ValueError(f"mode: {mode!r} is not a mode; use index or absolute")
        get_preset(preset or DEFAULT_PRESET)  # an unknown name is reported before any work
        curve = CurveChoice(preset=preset or DEFAULT_PRESET, mode=RentMode(mode))
        app.status_bar = f"gpucredit: converting {source.name} ..."
        result = convert(source, out, curve=curve)
    except (ValueError, KeyError, GpuCreditError) as exc:
        message = _error_text(exc)
        app.status_bar = f"gpucredit: {message}"
        app.alert(message, title="gpucredit: nothing converted", mode="critical")
        return None
    app.books.open(str(result.output))
    app.status_bar = f"gpucredit: wrote {result.output.name} ({_summary(result)})"
    return result.output


def _book_to_convert(caller: Any) -> Any:
    active = caller.app.books.active
    if active is not None and active.fullname != caller.fullname:
        return active
    if Path(str(caller.name)).stem.lower() != LAUNCHER_STEM:
        return caller
    others = [b for b in caller.app.books
              if b.fullname != caller.fullname and Path(str(b.name)).suffix.lower() in (".xlsx", ".xlsm")]
    if len(others) == 1:
        return others[0]
    if not others:
        raise ValueError("open the lender workbook to convert, then run the button again")
    names = ", ".join(str(b.name) for b in others)
    raise ValueError(f"several workbooks are open ({names}); switch to the one to convert and run "
                     "the macro from there (Alt+F8, or the Quick Access Toolbar)")


def _saved_path(book: Any) -> Path:
    path = Path(str(book.fullname))
    if not path.is_absolute() or not path.is_file():
        raise ValueError(f"{book.name}: save the workbook as .xlsx or .xlsm first; "
                         "gpucredit converts the saved file")
    return path


def free_output(source: Path, taken_names: set[str] | frozenset[str] = frozenset()) -> Path:
    """``STEM.gpu.xlsx`` beside `source`, or ``STEM.gpu (2).xlsx``, ... if that exists or is open.

    `taken_names` are lower-case names of open workbooks: Excel cannot open two books of the
    same name, even from different folders.
    """
    from engine.xlsx.save import default_output

    first = default_output(source)
    for n in range(1, 1000):
        candidate = first if n == 1 else first.with_name(f"{first.stem} ({n}){first.suffix}")
        if not candidate.exists() and candidate.name.lower() not in taken_names:
            return candidate
    raise ValueError(f"{first.name}: 999 converted copies exist beside it; move some away")


def _summary(result: Any) -> str:
    before, after = result.metrics_before.min_dscr, result.metrics_after.min_dscr
    if before is None or after is None:
        return f"preset {result.preset}"
    text = f"preset {result.preset}; minimum DSCR {before:.2f} -> {after:.2f}"
    if result.metrics_after.first_breach is not None:
        text += f", first breach {result.metrics_after.first_breach.isoformat()}"
    return text
