"""A generator of lender templates in many layouts, for detection and batch tests (not a test module).

Each :class:`Layout` says how a lender laid out the same small model — periods in rows or
columns; annual, semi-annual, quarterly or monthly; dated by period ends, period starts,
years or period numbers (with the start date on the inputs sheet); the rent line's label,
formulas or typed values; extra revenue lines; DSCR or not; spacer rows, a merged title, a
hidden helper line, a units column, defined names. :func:`build` writes the workbook with
openpyxl (no cached values, so nothing to reconcile) and returns what a correct detection
must find, as profile-style range strings.

The model (per period ``p`` of ``f`` months): rent ``R·(1+e)^(p·f/12)``; other revenue flat;
opex 30 % of revenue; CFADS = revenue − opex; a straight-line loan of ``n·0.35·R`` at 6 %;
debt service = interest + principal; DSCR = CFADS / debt service. Every formula is one that
formualizer and LibreOffice evaluate identically.
"""

from __future__ import annotations

import calendar
import datetime as dt
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName

RENT0 = 1000.0
ESCALATION = 0.03


@dataclass(frozen=True)
class Layout:
    """How one lender lays out the model."""

    name: str
    axis: str = "row"  # row: periods across columns; col: periods down rows
    months: int = 12  # months per period: 1, 3, 6, 12
    periods: int = 10
    dates: str = "end"  # end | start | year | number
    rent_label: str = "Rental income"
    rent_formulas: bool = True
    rent_is_price: bool = False  # the rent line is $/MW-month; revenue = price × MW on another line
    extra_revenue: tuple[str, ...] = ()
    derived_rent: str | None = None  # a second rent-worded line computed from the rent ("Net rental income")
    hidden_helper: bool = False  # a hidden copy of the rent line, and a hidden lease-year counter
    dscr: bool = True
    spacer: bool = False
    title: bool = False
    label_col: int = 1  # row axis: the label column; col axis: rows of header above the data
    units: bool = False
    names: bool = False
    inputs: str = "Inputs"
    model: str = "Model"
    start: dt.date = dt.date(2026, 1, 1)
    timeline_label: str | None = None
    start_label: str = "Model start date"
    per_year_input: bool = False
    labels: dict[str, str] = field(default_factory=dict)  # metric label overrides
    second_rent: str | None = None  # broken: a second, independent rent line (ambiguous)
    ref_error: bool = False  # broken: #REF! in the rent line


@dataclass(frozen=True)
class Built:
    """A written template and what detection must find in it."""

    path: Path
    layout: Layout
    timeline: str
    kind: str
    frequency: str
    rent: str
    metrics: dict[str, str]
    covenant: str
    start: dt.date | None = None


LAYOUTS: tuple[Layout, ...] = (
    Layout("rows_annual_end", rent_label="Gross rental income", extra_revenue=("Power pass-through revenue",),
           title=True, label_col=2, units=True, timeline_label="Period ending"),
    Layout("cols_quarterly_start", axis="col", months=3, periods=20, dates="start",
           rent_label="Compute lease revenue", rent_formulas=False, extra_revenue=("Bitcoin self-mining revenue",),
           spacer=True, title=True, model="Quarterly CF", timeline_label="Quarter beginning",
           labels={"cfads": "Cash flow available for debt service", "dscr": "Debt service cover ratio (x)"}),
    Layout("rows_monthly_start_hosting", months=1, periods=36, dates="start", rent_label="Hosting rent ($/MW-month)",
           rent_is_price=True, spacer=True, title=True, hidden_helper=True, inputs="Assumptions",
           timeline_label="Month", labels={"debt_service": "Debt service"}),
    Layout("rows_years_no_dscr", dates="year", rent_label="Rental revenue – AI hosting",
           extra_revenue=("Other income",), dscr=False, timeline_label="Year"),
    Layout("cols_annual_numbers", axis="col", dates="number", rent_label="Lease income", timeline_label="Year",
           start=dt.date(2027, 4, 1), labels={"closing_balance": "Closing debt balance"}),
    Layout("rows_semiannual_end_names", months=6, periods=14, rent_label="Line 7", names=True,
           timeline_label="Half-year end", labels={"cfads": "Line 9", "debt_service": "Line 14", "dscr": "Line 15"}),
    Layout("cols_monthly_end", axis="col", months=1, periods=36, rent_label="Rent (US$)",
           extra_revenue=("Power recharge income", "Colocation fees"), units=True, label_col=2,
           timeline_label="Month ending", start=dt.date(2026, 7, 1)),
    Layout("rows_quarterly_numbers", months=3, periods=20, dates="number", rent_label="GPU lease payments",
           rent_formulas=False, spacer=True, timeline_label="Quarter", start_label="Financial close",
           start=dt.date(2026, 10, 1)),
    Layout("rows_quarterly_end_hidden", months=3, periods=16, rent_label="Base rent", derived_rent="Net rental income",
           hidden_helper=True, timeline_label="Quarter end", labels={"debt_service": "Total debt service"}),
    Layout("cols_semiannual_numbers_period", axis="col", months=6, periods=12, dates="number",
           rent_label="Rental income – phase 1", timeline_label="Period", per_year_input=True,
           start_label="First period start date", start=dt.date(2026, 4, 1)),
)

BROKEN: dict[str, Layout] = {
    "ambiguous": Layout("broken_ambiguous", rent_label="Rental income – tenant A", second_rent="Rental income – tenant B"),
    "no_rent": Layout("broken_no_rent", rent_label="Value of electricity savings"),
    "ref_error": Layout("broken_ref_error", ref_error=True),
}


def layout(name: str) -> Layout:
    """The layout called ``name``."""
    return next(item for item in LAYOUTS if item.name == name)


# --------------------------------------------------------------------------- dates


def _add_months(d: dt.date, months: int) -> dt.date:
    index = d.year * 12 + d.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_end(d: dt.date) -> dt.date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _markers(lay: Layout) -> list[object]:
    n, f = lay.periods, lay.months
    if lay.dates == "start":
        return [_add_months(lay.start, p * f) for p in range(n)]
    if lay.dates == "end":
        return [_month_end(_add_months(lay.start, (p + 1) * f - 1)) for p in range(n)]
    if lay.dates == "year":
        return [lay.start.year + p for p in range(n)]
    return list(range(1, n + 1))


# --------------------------------------------------------------------------- the writer


class _Sheet:
    """Addresses of a model sheet whatever its axis: ``at(line, p)`` is period ``p`` of a line."""

    def __init__(self, ws, lay: Layout) -> None:
        self.ws, self.lay = ws, lay
        if lay.axis == "row":
            self.first = lay.label_col + (2 if lay.units else 1) + 1  # first period column
        else:
            self.first = 4 + lay.label_col  # first period row (title, blank, header rows)

    def at(self, line: int, p: int, absolute: bool = False) -> str:
        row, col = (line, self.first + p) if self.lay.axis == "row" else (self.first + p, line)
        return f"${get_column_letter(col)}${row}" if absolute else f"{get_column_letter(col)}{row}"

    def span(self, line: int) -> str:
        return f"{quote(self.ws.title)}!{self.at(line, 0)}:{self.at(line, self.lay.periods - 1)}"

    def label(self, line: int, text: str, units: str = "US$") -> None:
        lay = self.lay
        if lay.axis == "row":
            self.ws.cell(line, lay.label_col, text)
            if lay.units:
                self.ws.cell(line, lay.label_col + 1, units)
        else:
            self.ws.cell(self.first - 1 - (1 if lay.units else 0), line, text)
            if lay.units:
                self.ws.cell(self.first - 1, line, units)

    def put(self, line: int, p: int, value: object, number_format: str | None = None) -> None:
        cell = self.ws[self.at(line, p)]
        cell.value = value
        if number_format:
            cell.number_format = number_format


def quote(sheet: str) -> str:
    return f"'{sheet}'" if not sheet.isidentifier() else sheet


def _inputs(wb: Workbook, lay: Layout) -> dict[str, str]:
    ws = wb.create_sheet(lay.inputs, 0)
    ws["A1"] = "Deal assumptions"
    mw = 16.0
    rent0 = RENT0 / mw if lay.rent_is_price else RENT0
    rows = [("Year-1 rent per period", rent0, None), ("Rent escalation (% a year)", ESCALATION, "0.0%"),
            ("Operating costs (% of revenue)", 0.30, "0.0%"),
            ("Senior loan amount", 0.35 * RENT0 * lay.periods, "#,##0"), ("Interest rate (% a year)", 0.06, "0.00%"),
            ("IT capacity (MW)", mw, None), ("Minimum DSCR covenant", 1.2, "0.00x"),
            (lay.start_label, lay.start, "dd-mmm-yyyy")]
    if lay.per_year_input:
        rows.append(("Periods per year", 12 // lay.months, None))
    refs = {}
    for i, (label, value, fmt) in enumerate(rows):
        r = 3 + 2 * i  # a blank row between inputs, so no three of them look like a run of periods
        ws.cell(r, 1, label)
        cell = ws.cell(r, 3, value)
        if fmt:
            cell.number_format = fmt
        refs[label.split(" (")[0].split()[0].lower() + str(i)] = f"{quote(lay.inputs)}!$C${r}"
    keys = list(refs.values())
    return {"rent0": keys[0], "esc": keys[1], "opex": keys[2], "loan": keys[3], "rate": keys[4], "mw": keys[5],
            "covenant": keys[6], "start": keys[7]}


def build(lay: Layout, folder: Path, name: str | None = None) -> Built:
    """Write the template of ``lay`` into ``folder``; returns where its lines are."""
    wb = Workbook()
    wb.remove(wb.active)
    inp = _inputs(wb, lay)
    ws = wb.create_sheet(lay.model)
    sh = _Sheet(ws, lay)
    n, f = lay.periods, lay.months
    lines = _plan(lay)
    if lay.title:
        ws["A1"] = f"{lay.name.replace('_', ' ').title()} – cash flow model"
        last = sh.first + n - 1 if lay.axis == "row" else max(lines.values())
        ws.merge_cells(f"A1:{get_column_letter(last)}1")
    timeline_label = lay.timeline_label or {"end": "Period end", "start": "Period start", "year": "Year"}.get(
        lay.dates, "Period")
    sh.label(lines["timeline"], timeline_label, "")
    markers = _markers(lay)
    for p, value in enumerate(markers):
        sh.put(lines["timeline"], p, value, "dd-mmm-yy" if isinstance(value, dt.date) else "0")
    labels = {"cfads": "CFADS", "debt_service": "Debt service", "dscr": "DSCR (x)",
              "closing_balance": "Closing balance", **lay.labels}
    _revenue(sh, lay, lines, inp)
    _debt(sh, lay, lines, inp, labels)
    metrics = {key: sh.span(lines[key]) for key in ("cfads", "debt_service", "closing_balance", "dscr")
               if key in lines}
    if lay.names:
        for key, defined in (("rent", "Rent"), ("cfads", "CFADS"), ("debt_service", "DebtService"),
                             ("dscr", "DSCR")):
            wb.defined_names[defined] = DefinedName(defined, attr_text=sh.span(lines[key]).replace(
                sh.at(lines[key], 0), sh.at(lines[key], 0, True)).replace(
                sh.at(lines[key], n - 1), sh.at(lines[key], n - 1, True)))
        wb.defined_names["Covenant"] = DefinedName("Covenant", attr_text=inp["covenant"])
    path = folder / f"{name or lay.name}.xlsx"
    wb.save(path)
    kind = {"end": "period_end", "start": "period_start", "year": "year", "number": "period_number"}[lay.dates]
    freq = {1: "monthly", 3: "quarterly", 6: "semiannual", 12: "annual"}[f]
    return Built(path=path, layout=lay, timeline=sh.span(lines["timeline"]), kind=kind, frequency=freq,
                 rent=sh.span(lines["rent"]), metrics=metrics, covenant=inp["covenant"].replace("$", ""),
                 start=lay.start if lay.dates == "number" else None)


def _plan(lay: Layout) -> dict[str, int]:
    """The line number (row, or column) of every line, with spacers where the layout has them."""
    order = ["timeline", "counter", "rent", "helper", "second_rent", "derived", "price_revenue",
             *[f"extra{i}" for i in range(len(lay.extra_revenue))], "revenue", "gap1", "opex", "cfads", "gap2",
             "opening", "interest", "principal", "closing_balance", "debt_service", "dscr"]
    skip = {"counter": not lay.hidden_helper, "helper": not lay.hidden_helper, "second_rent": not lay.second_rent,
            "derived": not lay.derived_rent, "price_revenue": not lay.rent_is_price, "dscr": not lay.dscr,
            "gap1": not lay.spacer, "gap2": not lay.spacer}
    start = 4 if lay.axis == "row" else 1
    if lay.axis == "col":
        order.remove("timeline")
        out = {"timeline": 1}
        start = 2
    else:
        out = {}
    line = start
    for key in order:
        if skip.get(key):
            continue
        out[key] = line
        line += 1
        if key == "timeline" and lay.axis == "row":
            line += 1  # a blank row under the dates
    return {k: v for k, v in out.items() if not k.startswith("gap")}


def _revenue(sh: _Sheet, lay: Layout, lines: dict[str, int], inp: dict[str, str]) -> None:
    n, f = lay.periods, lay.months
    growth = (1 + ESCALATION) ** (f / 12)
    rent = lines["rent"]
    sh.label(rent, lay.rent_label, "US$/MW-month" if lay.rent_is_price else "US$")
    base = RENT0 / 16.0 if lay.rent_is_price else RENT0
    for p in range(n):
        if lay.ref_error and p == 2:
            sh.put(rent, p, "=#REF!*2")
        elif lay.rent_formulas:
            sh.put(rent, p, f"={inp['rent0']}" if p == 0 else f"={sh.at(rent, p - 1)}*(1+{inp['esc']})^({f}/12)")
        else:
            sh.put(rent, p, round(base * growth ** p, 2))
    income = [rent] if not lay.rent_is_price else [lines["price_revenue"]]
    if lay.hidden_helper:
        sh.label(lines["counter"], "Lease year", "")
        sh.label(lines["helper"], "Rent (helper copy)", "")
        for p in range(n):
            sh.put(lines["counter"], p, p * f // 12 + 1)
            sh.put(lines["helper"], p, f"={sh.at(rent, p)}")
        _hide(sh, lines["counter"])
        _hide(sh, lines["helper"])
    if lay.second_rent:
        sh.label(lines["second_rent"], lay.second_rent)
        for p in range(n):
            sh.put(lines["second_rent"], p, 250.0)
        income.append(lines["second_rent"])
    if lay.derived_rent:
        sh.label(lines["derived"], lay.derived_rent)
        for p in range(n):
            sh.put(lines["derived"], p, f"={sh.at(rent, p)}*0.95")
        income = [lines["derived"]]
    if lay.rent_is_price:
        sh.label(lines["price_revenue"], "Hosting revenue")
        for p in range(n):
            sh.put(lines["price_revenue"], p, f"={sh.at(rent, p)}*{inp['mw']}")
    for i, label in enumerate(lay.extra_revenue):
        sh.label(lines[f"extra{i}"], label)
        for p in range(n):
            sh.put(lines[f"extra{i}"], p, 40.0 + 5 * i)
        income.append(lines[f"extra{i}"])
    sh.label(lines["revenue"], "Total revenue")
    for p in range(n):
        sh.put(lines["revenue"], p, "=" + "+".join(sh.at(line, p) for line in income))


def _hide(sh: _Sheet, line: int) -> None:
    if sh.lay.axis == "row":
        sh.ws.row_dimensions[line].hidden = True
    else:
        sh.ws.column_dimensions[get_column_letter(line)].hidden = True


def _debt(sh: _Sheet, lay: Layout, lines: dict[str, int], inp: dict[str, str], labels: dict[str, str]) -> None:
    n, f = lay.periods, lay.months
    sh.label(lines["opex"], "Operating costs")
    sh.label(lines["cfads"], labels["cfads"])
    sh.label(lines["opening"], "Opening balance")
    sh.label(lines["interest"], "Interest")
    sh.label(lines["principal"], "Principal repayment")
    sh.label(lines["closing_balance"], labels["closing_balance"])
    sh.label(lines["debt_service"], labels["debt_service"])
    if lay.dscr:
        sh.label(lines["dscr"], labels["dscr"], "x")
    for p in range(n):
        at = {key: sh.at(line, p) for key, line in lines.items()}
        sh.put(lines["opex"], p, f"={at['revenue']}*{inp['opex']}")
        sh.put(lines["cfads"], p, f"={at['revenue']}-{at['opex']}")
        sh.put(lines["opening"], p, f"={inp['loan']}" if p == 0 else f"={sh.at(lines['closing_balance'], p - 1)}")
        sh.put(lines["interest"], p, f"={at['opening']}*{inp['rate']}*{f}/12")
        sh.put(lines["principal"], p, f"={inp['loan']}/{n}")
        sh.put(lines["closing_balance"], p, f"={at['opening']}-{at['principal']}")
        sh.put(lines["debt_service"], p, f"={at['interest']}+{at['principal']}")
        if lay.dscr:
            sh.put(lines["dscr"], p, f"={at['cfads']}/{at['debt_service']}", "0.00")


# --------------------------------------------------------------------------- broken files and corpora


def write_broken(kind: str, folder: Path, name: str) -> Path:
    """A file that must fail: ``not_a_workbook``, ``truncated``, or a :data:`BROKEN` layout."""
    path = folder / f"{name}.xlsx"
    if kind == "not_a_workbook":
        path.write_text("date,rent\n2026-01-01,100\n", encoding="utf-8")
    elif kind == "truncated":
        good = build(LAYOUTS[0], folder, name).path
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        build(BROKEN[kind], folder, name)
    return path


BROKEN_KINDS = ("not_a_workbook", "truncated", "ambiguous", "no_rent", "ref_error")


def corpus(folder: Path, count: int, broken: int = 5) -> tuple[list[Path], list[Path]]:
    """``count`` templates cycling through :data:`LAYOUTS`, ``broken`` of them broken.

    Each layout is built once and copied, so a large corpus is quick to make. Returns
    (good paths, broken paths).
    """
    folder.mkdir(parents=True, exist_ok=True)
    seeds = folder / ".seeds"
    seeds.mkdir(exist_ok=True)
    built = [build(lay, seeds).path for lay in LAYOUTS]
    good, bad = [], []
    for i in range(count - broken):
        src = built[i % len(built)]
        target = folder / f"t{i:04d}_{src.stem}.xlsx"
        target.write_bytes(src.read_bytes())
        good.append(target)
    for i in range(broken):
        kind = BROKEN_KINDS[i % len(BROKEN_KINDS)]
        bad.append(write_broken(kind, folder, f"t{count - broken + i:04d}_broken_{kind}"))
    return good, bad


def is_zip(path: Path) -> bool:
    return zipfile.is_zipfile(path)


__all__ = ["BROKEN", "BROKEN_KINDS", "Built", "LAYOUTS", "Layout", "build", "corpus", "layout", "replace",
           "write_broken"]
