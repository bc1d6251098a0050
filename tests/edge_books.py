"""Edge-case lender templates for the credit metrics (issue 17), written with xlsxwriter (not a test module).

Each book is a small model on a ``Model`` sheet — labels in A, units in B, one column per period from
D, period-end dates in row 4 — and an ``Inputs`` sheet with the DSCR covenant in B3. The rent, opex,
interest, principal and balance lines are typed values; CFADS, debt service and DSCR are formulas whose
cached values are computed here with the same arithmetic, so the workbooks reconcile (reconcile first).
:func:`build` writes a book and its profile (``NAME.toml``) and returns the numbers the tests work by
hand from. Every number is chosen so the hand results are short: see ``tests/engine/test_edge_books.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

FIRST_COL = 3  # column D (0-based 3)
DATE_ROW = 3  # row 4 (0-based 3)


def year_ends(first: int, n: int) -> list[dt.date]:
    return [dt.date(first + i, 12, 31) for i in range(n)]


def month_ends(year: int, month: int, n: int) -> list[dt.date]:
    out = []
    for i in range(n):
        y, m = divmod(month - 1 + i + 1, 12)
        out.append(dt.date(year + y, m + 1, 1) - dt.timedelta(days=1))
    return out


@dataclass
class Book:
    """One template as it is written: its lines by row, and what its profile says."""

    name: str
    ends: list[dt.date]
    frequency: str = "annual"
    title: str = "Edge-case model"
    subtitle: str = ""
    unit_column: str = ""  # the text of each line's units cell (column B)
    covenant: float = 1.25
    rows: dict[str, int] = field(default_factory=dict)  # line name -> 1-based row
    values: dict[str, list[float | str | None]] = field(default_factory=dict)
    metrics: tuple[str, ...] = ()  # the lines the profile names (cfads, debt_service, dscr, ...)
    extra_toml: str = ""
    _lines: list[tuple[str, str, str, list[str | None], list[float | str | None]]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.ends)

    def col(self, i: int) -> str:
        return xl_col_to_name(FIRST_COL + i)

    def typed(self, key: str, label: str, values: list[float]) -> None:
        self._add(key, label, [None] * self.n, list(values))

    def formula(self, key: str, label: str, make: Callable[[int, Callable[[str], str]], str],
                cached: list[float | str | None]) -> None:
        """``make(i, ref)`` is period ``i``'s formula; ``ref(key)`` is that line's cell in the same column."""
        row = 5 + len(self._lines)
        self.rows[key] = row
        formulas = [make(i, lambda k, i=i: f"{self.col(i)}{self.rows[k]}") for i in range(self.n)]
        self._lines.append((key, label, self.unit_column, formulas, cached))
        self.values[key] = cached

    def _add(self, key: str, label: str, formulas: list[str | None], values: list[float | str | None]) -> None:
        row = 5 + len(self._lines)
        self.rows[key] = row
        self._lines.append((key, label, self.unit_column, formulas, values))
        self.values[key] = values

    def range(self, key: str) -> str:
        row = self.rows[key]
        return f"Model!{self.col(0)}{row}:{self.col(self.n - 1)}{row}"

    def write(self, folder: Path) -> Path:
        path = folder / f"{self.name}.xlsx"
        wb = xlsxwriter.Workbook(str(path))
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
        inputs = wb.add_worksheet("Inputs")
        inputs.write_string(0, 0, self.title)
        inputs.write_string(2, 0, "Minimum DSCR covenant")
        inputs.write_number(2, 1, self.covenant)
        ws = wb.add_worksheet("Model")
        ws.write_string(0, 0, self.title)
        if self.subtitle:
            ws.write_string(1, 0, self.subtitle)
        ws.write_string(DATE_ROW, 0, "Period end")
        for i, end in enumerate(self.ends):
            ws.write_datetime(DATE_ROW, FIRST_COL + i, dt.datetime.combine(end, dt.time()), date_fmt)
        for _key, label, unit, formulas, values in self._lines:
            row = self.rows[_key] - 1
            ws.write_string(row, 0, label)
            if unit:
                ws.write_string(row, 1, unit)
            for i, (formula, value) in enumerate(zip(formulas, values)):
                if formula is not None:
                    ws.write_formula(row, FIRST_COL + i, "=" + formula, None, value)
                elif isinstance(value, str):
                    ws.write_string(row, FIRST_COL + i, value)
                elif value is not None:
                    ws.write_number(row, FIRST_COL + i, value)
        wb.close()
        (folder / f"{self.name}.toml").write_text(self.profile(), encoding="utf-8")
        return path

    def profile(self) -> str:
        first, last = self.col(0), self.col(self.n - 1)
        lines = ["[timeline]", f'cells = "Model!{first}4:{last}4"', 'kind = "period_end"',
                 f'frequency = "{self.frequency}"', "", "[rent]", f'cells = "{self.range("rent")}"', "", "[metrics]"]
        lines += [f'{key} = "{self.range(key)}"' for key in self.metrics]
        lines.append('covenant = "Inputs!B3"')
        return "\n".join(lines) + "\n" + self.extra_toml


def _standard(book: Book, rent: list[float], opex: list[float], interest: list[float], principal: list[float],
              balance: list[float], *, dscr: Callable[[float, float], float | str] | None = None) -> None:
    """Rent, opex, CFADS = rent - opex, interest, principal, debt service = interest + principal, balance, and
    (with ``dscr``) the template's DSCR as ``dscr(cfads, debt service)`` computes it."""
    book.typed("rent", "Rental income", rent)
    book.typed("opex", "Operating costs", opex)
    book.formula("cfads", "CFADS", lambda i, r: f"{r('rent')}-{r('opex')}", [a - b for a, b in zip(rent, opex)])
    book.typed("interest", "Interest", interest)
    book.typed("principal", "Principal repayment", principal)
    book.formula("debt_service", "Debt service", lambda i, r: f"{r('interest')}+{r('principal')}",
                 [a + b for a, b in zip(interest, principal)])
    book.typed("closing_balance", "Closing balance", balance)


# -- the books ---------------------------------------------------------------------------------------------
# A 30,000 loan (in the book's unit) repaid 5,000 a year at 8 %: closing 25,000 … 0, interest 8 % of the
# opening balance, debt service 7,400, 7,000, … 5,400. Rent 12,000 escalating 3 % a year, opex 2,000.
LOAN_CLOSING = [25000.0, 20000.0, 15000.0, 10000.0, 5000.0, 0.0]
LOAN_INTEREST = [2400.0, 2000.0, 1600.0, 1200.0, 800.0, 400.0]
LOAN_PRINCIPAL = [5000.0] * 6
RENT = [12000.0 * 1.03 ** i for i in range(6)]
OPEX = [2000.0] * 6


def _dscr_formula(i: int, r: Callable[[str], str]) -> str:
    return f"{r('cfads')}/{r('debt_service')}"


def usd_thousands(folder: Path, *, labelled: bool = True, gpus: bool = True) -> Book:
    """US$ 000, secured on 1,000 GPUs at $30,000: the money unit is read from the labels (the profile does not
    say it). ``labelled=False`` drops every unit label (the unit is then unknown)."""
    book = Book("usd_thousands" if labelled else "unit_unknown", year_ends(2026, 6), title="Fleet loan",
                subtitle="US$ 000 unless stated" if labelled else "", unit_column="US$ 000" if labelled else "")
    _standard(book, RENT, OPEX, LOAN_INTEREST, LOAN_PRINCIPAL, LOAN_CLOSING)
    cf = book.values["cfads"]
    ds = book.values["debt_service"]
    book.formula("dscr", "DSCR", _dscr_formula, [a / b for a, b in zip(cf, ds)])  # type: ignore[operator]
    book.metrics = ("cfads", "debt_service", "interest", "principal", "closing_balance", "dscr")
    fleet = "gpus = 1000\ncost_per_gpu = 30000\n" if gpus else ""
    book.extra_toml = f'\n[deal]\n{fleet}\n[collateral]\nkind = "gpu_fleet"\n'
    book.write(folder)
    return book


def no_cfads(folder: Path) -> Book:
    """The template's DSCR is (rent - opex) / debt service, but the profile names no CFADS line."""
    book = Book("no_cfads", year_ends(2026, 6), unit_column="USD")
    _standard(book, RENT, OPEX, LOAN_INTEREST, LOAN_PRINCIPAL, LOAN_CLOSING)
    cf, ds = book.values["cfads"], book.values["debt_service"]
    book.formula("dscr", "DSCR", lambda i, r: f"({r('rent')}-{r('opex')})/{r('debt_service')}",
                 [(a - b) / c for a, b, c in zip(RENT, OPEX, ds)])  # type: ignore[operator]
    assert cf
    book.metrics = ("debt_service", "interest", "closing_balance", "dscr")
    book.extra_toml = '\n[deal]\nunit = "USD"\n\n[collateral]\nkind = "none"\n'
    book.write(folder)
    return book


def negative_debt_service(folder: Path) -> Book:
    """Debt service booked as negative outflows (interest and principal negative); no DSCR line in the profile."""
    book = Book("negative_debt_service", year_ends(2026, 6), unit_column="USD")
    _standard(book, RENT, OPEX, [-x for x in LOAN_INTEREST], [-x for x in LOAN_PRINCIPAL], LOAN_CLOSING)
    book.metrics = ("cfads", "debt_service", "interest", "closing_balance")
    book.extra_toml = '\n[deal]\nunit = "USD"\n\n[collateral]\nkind = "none"\n'
    book.write(folder)
    return book


def construction_and_tail(folder: Path) -> Book:
    """Two construction years (no rent, no debt service, CFADS -500), four years of debt service, two years
    after maturity; the template's DSCR reads 0 where there is no debt service (IFERROR(…, 0))."""
    rent = [0.0, 0.0, 12000.0, 12360.0, 12730.8, 13112.724, 13506.10572, 13911.2888916]
    opex = [500.0, 500.0] + [2000.0] * 6
    interest = [0.0, 0.0, 1600.0, 1200.0, 800.0, 400.0, 0.0, 0.0]
    principal = [0.0, 0.0, 5000.0, 5000.0, 5000.0, 5000.0, 0.0, 0.0]
    balance = [20000.0, 20000.0, 15000.0, 10000.0, 5000.0, 0.0, 0.0, 0.0]
    book = Book("construction_and_tail", year_ends(2026, 8), unit_column="USD", covenant=1.30)
    _standard(book, rent, opex, interest, principal, balance)
    cf, ds = book.values["cfads"], book.values["debt_service"]
    book.formula("dscr", "DSCR", lambda i, r: f"IFERROR({r('cfads')}/{r('debt_service')},0)",
                 [a / b if b else 0.0 for a, b in zip(cf, ds)])  # type: ignore[operator]
    book.metrics = ("cfads", "debt_service", "interest", "closing_balance", "dscr")
    book.extra_toml = '\n[deal]\nunit = "USD"\n\n[collateral]\nkind = "none"\n'
    book.write(folder)
    return book


def sculpted_at_covenant(folder: Path, cfads: list[float]) -> Book:
    """Debt service sculpted to CFADS / 1.30, so DSCR = CFADS / (CFADS / 1.30): 1.3 or 1.2999999999999998."""
    book = Book("sculpted_at_covenant", year_ends(2026, len(cfads)), unit_column="USD", covenant=1.30)
    book.typed("rent", "Rental income", [c + 1000.0 for c in cfads])
    book.typed("opex", "Operating costs", [1000.0] * len(cfads))
    cf = [(c + 1000.0) - 1000.0 for c in cfads]
    book.formula("cfads", "CFADS", lambda i, r: f"{r('rent')}-{r('opex')}", cf)  # type: ignore[arg-type]
    book.formula("debt_service", "Debt service (sculpted)", lambda i, r: f"{r('cfads')}/Inputs!$B$3",
                 [c / 1.30 for c in cf])
    book.formula("dscr", "DSCR", _dscr_formula, [c / (c / 1.30) for c in cf])
    book.metrics = ("cfads", "debt_service", "dscr")
    book.extra_toml = '\n[deal]\nunit = "USD"\n\n[collateral]\nkind = "none"\n'
    book.write(folder)
    return book


def negative_cfads(folder: Path) -> Book:
    """A one-off cost of 15,000 in 2028 makes CFADS negative while debt service is due; the template's DSCR
    then reads "n.m." (text), so only the negative-CFADS rule finds the breach."""
    opex = [2000.0, 2000.0, 17000.0, 2000.0, 2000.0, 2000.0]
    book = Book("negative_cfads", year_ends(2026, 6), unit_column="USD")
    _standard(book, RENT, opex, LOAN_INTEREST, LOAN_PRINCIPAL, LOAN_CLOSING)
    cf, ds = book.values["cfads"], book.values["debt_service"]
    book.formula("dscr", "DSCR", lambda i, r: f'IF({r("cfads")}<0,"n.m.",{r("cfads")}/{r("debt_service")})',
                 ["n.m." if a < 0 else a / b for a, b in zip(cf, ds)])  # type: ignore[operator]
    book.metrics = ("cfads", "debt_service", "interest", "closing_balance", "dscr")
    book.extra_toml = '\n[deal]\nunit = "USD"\n\n[collateral]\nkind = "none"\n'
    book.write(folder)
    return book


def first_period_outlier(folder: Path) -> Book:
    """Monthly: a one-off pre-sale of 14,000 in the first month, then 2,670 a month; debt service 1,500."""
    rent = [14000.0] + [2670.0] * 5
    book = Book("first_period_outlier", month_ends(2026, 1, 6), frequency="monthly", unit_column="USD")
    _standard(book, rent, [500.0] * 6, [300.0] * 6, [1200.0] * 6, [6000.0 - 1200.0 * (i + 1) for i in range(6)])
    cf, ds = book.values["cfads"], book.values["debt_service"]
    book.formula("dscr", "DSCR", _dscr_formula, [a / b for a, b in zip(cf, ds)])  # type: ignore[operator]
    book.metrics = ("cfads", "debt_service", "dscr")
    book.extra_toml = '\n[deal]\nunit = "USD"\n\n[collateral]\nkind = "none"\n'
    book.write(folder)
    return book


def take_or_pay(folder: Path) -> Book:
    """A five-year take-or-pay lease (2026-2030) in an eight-year model whose rent keeps escalating 3 % after
    it (the lender's renewal assumption); debt service 6,000 a year."""
    rent = [12000.0 * 1.03 ** i for i in range(8)]
    book = Book("take_or_pay", year_ends(2026, 8), unit_column="USD")
    _standard(book, rent, [2000.0] * 8, [1000.0] * 8, [5000.0] * 8, [40000.0 - 5000.0 * (i + 1) for i in range(8)])
    cf, ds = book.values["cfads"], book.values["debt_service"]
    book.formula("dscr", "DSCR", _dscr_formula, [a / b for a, b in zip(cf, ds)])  # type: ignore[operator]
    book.metrics = ("cfads", "debt_service", "closing_balance", "dscr")
    book.extra_toml = '\n[deal]\nunit = "USD"\n\n[collateral]\nkind = "site"\n'
    book.write(folder)
    return book
