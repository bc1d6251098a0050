"""Detection of a TemplateProfile when none is given (DESIGN §4); ``docs/detection.md`` explains it.

The order is: defined names → labelled lines → timeline. A *line* is a row (periods across)
or a column (periods down) with a text label before its data. Every sheet is scanned for
*timelines* — runs of period dates, years or period numbers — and each gives a *frame* (the
sheet, the axis, the positions of the periods). Lines are read at a frame's positions and
their labels scored:

* tier 3 — the label says rent or lease ("Gross rental income", "Compute lease revenue",
  "Hosting rent ($/MW-month)");
* tier 2 — GPU/hosting revenue ("Colocation fees", "Compute revenue");
* tier 1 — a plain revenue line ("Revenue"), used only when it is the only one.

The highest tier wins; a line whose formulas read another candidate is *derived* from it and
drops out (the upstream line is the assumption to replace). Two candidates left is an error
naming both. :func:`inspect_workbook` reports what it found with a confidence per field;
:func:`detect_profile` returns the profile or raises :class:`DetectionError`.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles.numbers import is_date_format
from openpyxl.utils.cell import column_index_from_string
from openpyxl.worksheet.worksheet import Worksheet

from engine.errors import DetectionError, GpuCreditError
from engine.profile import TemplateProfile, Timeline
from engine.recalc import Evaluation, to_cell_value
from engine.refs import CellRef, format_range, parse_range
from engine.timeline import read_grid
from engine.values import CellValue, ExcelError, serial_to_date
from engine.workbook import Source
from models.periods import Frequency

MIN_PERIODS = 3
HEADER_DEPTH = 8  # rows above a column-wise timeline searched for a column's label
CONFIDENCE = ("high", "medium", "low", "guess")

_PUNCT = re.compile(r"[–—\-_/:;,|&+*=#.]+")
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
RENT_WORDS = re.compile(r"\b(rent|rents|rental|rentals|lease|leases|leasing|sublease)\b")
GPU_WORDS = re.compile(r"\b(hosting|colocation|co location|colo|compute|gpu|gpus|capacity|cloud|take or pay|"
                       r"contracted|tenant|licen[cs]e|subscription|occupancy)\b")
INCOME_WORDS = re.compile(r"\b(revenue|revenues|income|sales|turnover|receipts|fees?|charges?|payments?|proceeds)\b")
REVENUE_WORDS = re.compile(r"\b(revenue|revenues|income|sales|turnover|receipts)\b")
SAVINGS_WORDS = re.compile(r"\b(savings?|avoided|value of)\b")
# a rent-worded label that is not the rent line itself: parameters, counters, costs, balances
NOT_RENT = re.compile(
    r"\b(total|subtotal|escalat\w*|indexation|index|growth|inflation|rate|holiday|free|term|tenor|start|end|"
    r"date|dates|expir\w*|flag|count|expense|expenses|cost|costs|opex|paid|payable|ground|deposit|receivable|"
    r"reserve|cumulative|cum|npv|pv|deferred|adjustment|liability|asset|right of use|rou|depreciation|"
    r"amorti[sz]ation|vacancy|debt|principal|interest|check|memo|percent|share|split|mining|bitcoin|btc|tax|"
    r"taxes|discount|incentive|incentives|abatement|commission|commissions|margin)\b"
    r"|\b(lease|rent|rental|contract) (year|month|quarter|period|day)s?\b")
NOT_REVENUE = re.compile(r"\b(net|other|operating|ebitda|noi|before|after|per)\b")

METRICS: dict[str, tuple[tuple[re.Pattern[str], ...], re.Pattern[str] | None]] = {
    # name: (patterns in order of preference, exclusions); matched on the normalised label
    "dscr": ((re.compile(r"^dscr\b|\bdscr$|\bdscr\b"), re.compile(r"debt service cover")),
             re.compile(r"\b(min|minimum|average|avg|target|covenant|lock ?up|default|required|threshold|check|"
                        r"breach|breaches|flag|test|headroom|cushion|sculpt\w*|llcr|plcr)\b")),
    "cfads": ((re.compile(r"\bcfads\b"), re.compile(r"cash flow available for debt( service)?"),
               re.compile(r"cash available for debt( service)?|\bcads\b")),
              re.compile(r"\b(npv|pv|total|cumulative|after|dscr|cover\w*)\b")),
    "debt_service": ((re.compile(r"^(total )?debt service$"), re.compile(r"\btotal debt service\b"),
                      re.compile(r"\bdebt service\b"), re.compile(r"\b(total )?p (and )?i\b|\bdebt payments?\b|"
                                                                  r"\bloan payments?\b")),
                     re.compile(r"\b(cover\w*|dscr|ratio|reserve|dsra|check|after|cumulative|npv|pv|available|"
                                r"cfads|account)\b")),
    "closing_balance": ((re.compile(r"\bclosing (debt |loan )?balance\b|\bclosing debt\b"),
                         re.compile(r"\bend(ing)? (of period )?(loan |debt )?balance\b|\bbalance end\b"),
                         re.compile(r"\b(outstanding|loan|debt) balance\b|\bbalance c ?f\b")),
                        re.compile(r"\b(opening|beginning|begin|start|average|reserve|dsra|cash|remaining with)\b")),
    "interest": ((re.compile(r"^(scheduled )?interest( paid| expense| payment| payments| charge)?$"),
                  re.compile(r"\binterest (paid|expense|payment|payments)\b")),
                 re.compile(r"\b(rate|capitali[sz]ed|income|received|reserve|cumulative|cover\w*|accrued|%)\b")),
    "principal": ((re.compile(r"^(scheduled )?principal( repayment| repayments| payment| payments| repaid)?$|"
                              r"^(scheduled )?repayments?$"),
                   re.compile(r"\bprincipal (repayment|payment|repaid)s?\b|\bamorti[sz]ation\b")),
                  re.compile(r"\b(rate|outstanding|balance|cumulative|%|profile|xtra|extra|early|prepay\w*)\b")),
}
COVENANT = re.compile(r"covenant|default dscr|min(imum)? dscr|dscr (covenant|threshold|minimum|floor|default)|"
                      r"required dscr|dscr required|dscr test level")
COVENANT_WEAK = re.compile(r"lock ?up|distribution|target|sculpt")
START_LABEL = re.compile(r"\b(start|starts|starting|commencement|commences|begin|beginning|financial close|"
                         r"close date|closing date|cod|first period|operations date|operation date)\b")
START_PREFERRED = re.compile(r"\b(model|period|timeline|cash ?flow|forecast|projection|operations?|lease|cod)\b")
NOT_START = re.compile(r"\b(end|maturity|expiry|payment|construction end|balance)\b")
FREQ_WORDS = ((re.compile(r"\b(month|months|monthly|mth|mo)\b"), Frequency.MONTHLY),
              (re.compile(r"\b(quarter|quarters|quarterly|qtr|qtrs|q)\b"), Frequency.QUARTERLY),
              (re.compile(r"\b(half|semi ?annual|semi annual|six month|6 month|h)\b"), Frequency.SEMIANNUAL),
              (re.compile(r"\b(year|years|yearly|annual|yr|yrs|fy)\b"), Frequency.ANNUAL))
PER_YEAR_LABEL = re.compile(r"\b(periods?|payments?) per year\b|\bfrequency\b")
NAMES = {"rent": ("rent", "rents", "rentalincome", "rentalrevenue", "leaserevenue", "leaseincome", "revenuerent",
                  "grossrent", "baserent", "hostingrent", "computelease", "leasepayments"),
         "revenue": ("revenue", "revenues"),
         "timeline": ("periodend", "periodends", "periodstart", "periodstarts", "dates", "timeline", "perioddates"),
         "dscr": ("dscr",), "cfads": ("cfads",), "debt_service": ("debtservice", "totaldebtservice", "ds"),
         "closing_balance": ("closingbalance", "closingdebt", "debtbalance"),
         "interest": ("interest", "interestpaid"), "principal": ("principal", "principalrepayment", "repayment"),
         "covenant": ("covenant", "mindscr", "dscrcovenant", "minimumdscr", "covenantdscr")}


def normalise(label: str) -> str:
    """Lower case, punctuation as spaces: ``"Rental revenue – AI hosting"`` → ``"rental revenue ai hosting"``."""
    text = label.replace("&", " and ").replace("%", " % ")
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def rent_tier(label: str) -> int:
    """3 rent/lease line, 2 GPU/hosting revenue, 1 plain revenue, 0 not a revenue line."""
    text = normalise(label)
    core = normalise(_BRACKETS.sub(" ", label))
    if NOT_RENT.search(core) or "%" in core:
        return 0
    if RENT_WORDS.search(core):
        return 3
    if GPU_WORDS.search(core) and INCOME_WORDS.search(core):
        return 2
    if REVENUE_WORDS.search(text) and not NOT_REVENUE.search(core) and not SAVINGS_WORDS.search(core):
        return 1
    return 0


def revenue_kind(label: str) -> str | None:
    """How an inspect report describes a non-rent income line (``savings``, ``revenue``), or None."""
    core = normalise(_BRACKETS.sub(" ", label))
    if SAVINGS_WORDS.search(core) and not re.search(r"\b(tax|taxable|cost|expense)\b", core):
        return "savings"
    if (REVENUE_WORDS.search(core) or re.search(r"\b(fees?|proceeds)\b", core)) and not re.search(
            r"\b(tax|taxes|taxable|expense|expenses|cost|costs|interest)\b", core):
        return "revenue"
    return None


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Finding:
    """Where one profile field was found, how sure detection is, and how it knew."""

    field: str
    where: str
    confidence: str
    how: str

    def to_json(self) -> dict[str, str]:
        return {"where": self.where, "confidence": self.confidence, "how": self.how}


@dataclass(frozen=True)
class Candidate:
    """A labelled line that could be income: its label, cells and why it was (not) chosen."""

    label: str
    cells: tuple[CellRef, ...]
    kind: str  # rent | hosting revenue | revenue | savings
    note: str = ""

    def to_json(self) -> dict[str, str]:
        return {"label": self.label, "cells": format_range(self.cells), "kind": self.kind, "note": self.note}


@dataclass
class Detection:
    """What :func:`inspect_workbook` found; ``profile`` is None when detection failed (``error``)."""

    path: Path
    profile: TemplateProfile | None = None
    findings: dict[str, Finding] = field(default_factory=dict)
    rent_candidates: list[Candidate] = field(default_factory=list)
    revenue_lines: list[Candidate] = field(default_factory=list)
    error: GpuCreditError | None = None

    def guesses(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.confidence == "guess"]

    def comments(self) -> dict[str, str]:
        """Notes for :func:`engine.profile.profile_to_toml`: how each field was found, and how sure."""
        keys = {"timeline": "timeline.cells", "kind": "timeline.kind", "frequency": "timeline.frequency",
                "start": "timeline.start", "rent": "rent.cells", "covenant": "metrics.covenant"}
        return {keys.get(name, f"metrics.{name}"): f"{f.confidence}: {f.how}" for name, f in self.findings.items()}

    def to_json(self) -> dict[str, Any]:
        return {"file": str(self.path), "ok": self.error is None and not self.guesses(),
                "error": self.error.one_line() if self.error else None,
                "fields": {name: f.to_json() for name, f in self.findings.items()},
                "rent_candidates": [c.to_json() for c in self.rent_candidates],
                "revenue_lines": [c.to_json() for c in self.revenue_lines]}


# --------------------------------------------------------------------------- the sheet snapshot


@dataclass
class _Sheet:
    """The non-empty cells of one worksheet: computed values, formulas, date formats, hidden lines."""

    title: str
    values: dict[tuple[int, int], CellValue]
    formulas: dict[tuple[int, int], str]
    dated: set[tuple[int, int]]
    hidden_rows: set[int]
    hidden_cols: set[int]

    def text(self, r: int, c: int) -> str | None:
        value = self.values.get((r, c))
        return value.strip() if isinstance(value, str) and value.strip() else None

    def number(self, r: int, c: int) -> float | None:
        value = self.values.get((r, c))
        return value if isinstance(value, float) else None


def _snapshot(ws: Worksheet, ev: Evaluation) -> _Sheet:
    values: dict[tuple[int, int], CellValue] = {}
    formulas: dict[tuple[int, int], str] = {}
    dated: set[tuple[int, int]] = set()
    # openpyxl keeps only the cells present in the file here; ws.iter_rows would walk every
    # column up to max_column (16,384 on some lender sheets)
    for (r, c), cell in ws._cells.items():  # noqa: SLF001
        raw = cell.value
        if raw is None:
            continue
        text = getattr(raw, "text", raw)  # ArrayFormula
        if isinstance(text, str) and text.startswith("="):
            formulas[(r, c)] = text
        values[(r, c)] = ev.get(ws.title, r, c)
        if isinstance(raw, (dt.date, dt.datetime)) or (cell.number_format and is_date_format(cell.number_format)):
            dated.add((r, c))
    hidden_rows = {r for r, dim in ws.row_dimensions.items() if dim.hidden}
    hidden_cols: set[int] = set()
    for key, dim in ws.column_dimensions.items():
        if dim.hidden:
            lo = dim.min or column_index_from_string(key)
            hidden_cols.update(range(lo, (dim.max or lo) + 1))
    return _Sheet(ws.title, values, formulas, dated, hidden_rows, hidden_cols)


# --------------------------------------------------------------------------- timelines


@dataclass(frozen=True)
class _Run:
    """A run of period markers along a row (axis ``row``) or a column (axis ``col``)."""

    sheet: str
    axis: str
    index: int  # the row (axis row) or column (axis col)
    positions: tuple[int, ...]  # the columns (axis row) or rows (axis col)
    kind: str  # date | year | number
    values: tuple[float, ...]
    label: str

    def cells(self) -> tuple[CellRef, ...]:
        if self.axis == "row":
            return tuple(CellRef(self.sheet, self.index, p) for p in self.positions)
        return tuple(CellRef(self.sheet, p, self.index) for p in self.positions)

    def rank(self) -> tuple[int, int, int]:
        label = normalise(self.label)
        pref = 0 if re.search(r"\bend\w*\b|\bto\b|ending", label) else 1 if re.search(r"start|begin|from", label) else 2
        return ({"date": 0, "year": 1, "number": 2}[self.kind], pref, -len(self.positions))


def _months_between(a: float, b: float) -> int:
    da, db = serial_to_date(a), serial_to_date(b)
    return (db.year - da.year) * 12 + db.month - da.month


def _marker(sheet: _Sheet, r: int, c: int) -> tuple[str, float] | None:
    value = sheet.number(r, c)
    if value is None:
        return None
    if (r, c) in sheet.dated:
        return ("date", value) if 1 < value < 2_958_465 else None
    if value.is_integer():
        return ("year", value) if 1950 <= value <= 2200 else ("number", value) if 0 <= value < 1950 else None
    return None


def _steps_ok(kind: str, prev: float, value: float, step: int | None) -> bool:
    if kind == "date":
        gap = _months_between(prev, value)
        return gap in (1, 3, 6, 12) and (step is None or gap == step) and value > prev
    return value == prev + 1


def _runs_along(sheet: _Sheet, axis: str, index: int, positions: list[int]) -> Iterable[_Run]:
    """Maximal runs of one kind with a regular step among consecutive positions of a line."""
    run: list[tuple[int, float]] = []
    kind: str | None = None
    step: int | None = None

    def flush() -> Iterable[_Run]:
        kept = run[1:] if kind == "number" and run and run[0][1] == 0 else run  # period 0: close/build
        if kind is not None and len(kept) >= MIN_PERIODS:
            label = _line_label(sheet, axis, index, run[0][0])
            yield _Run(sheet.title, axis, index, tuple(p for p, _ in kept), kind,
                       tuple(v for _, v in kept), label[0] if label else "")

    for p in positions:
        r, c = (index, p) if axis == "row" else (p, index)
        mark = _marker(sheet, r, c)
        if mark and kind == mark[0] and run and run[-1][0] == p - 1 and _steps_ok(kind, run[-1][1], mark[1], step):
            if kind == "date" and step is None:
                step = _months_between(run[-1][1], mark[1])
            run.append((p, mark[1]))
            continue
        yield from flush()
        run, kind, step = ([(p, mark[1])], mark[0], None) if mark else ([], None, None)
    yield from flush()


def _all_runs(sheet: _Sheet) -> list[_Run]:
    by_row: dict[int, list[int]] = {}
    by_col: dict[int, list[int]] = {}
    for r, c in sheet.values:
        by_row.setdefault(r, []).append(c)
        by_col.setdefault(c, []).append(r)
    runs = [run for r, cols in by_row.items() for run in _runs_along(sheet, "row", r, sorted(cols))]
    runs += [run for c, rows in by_col.items() for run in _runs_along(sheet, "col", c, sorted(rows))]
    # a column of bare integers counting 1, 2, 3 … is as often a row index as a timeline; keep it
    # only when a label says it counts periods
    return [run for run in runs if run.kind != "number" or _frequency_from_words(run.label) is not None
            or re.search(r"\bperiod|\bno\b|#", normalise(run.label) + run.label)]


def _frames(sheet: _Sheet) -> list[_Run]:
    """One timeline per group of overlapping runs on the same axis: dates beat years beat numbers."""
    chosen: list[_Run] = []
    for run in sorted(_all_runs(sheet), key=_Run.rank):
        span = set(run.positions)
        if any(o.axis == run.axis and span & set(o.positions) and _near(o, run) for o in chosen):
            continue
        chosen.append(run)
    return chosen


def _near(a: _Run, b: _Run) -> bool:
    """Two runs over the same positions within a few lines of each other describe the same periods."""
    return abs(a.index - b.index) <= 12


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class _Line:
    label: str
    cells: tuple[CellRef, ...]
    index: int
    hidden: bool
    frame: _Run


def _line_label(sheet: _Sheet, axis: str, index: int, first: int) -> tuple[str, CellRef] | None:
    """The label of a line: its text cells before the first period (joined), nearest first for columns."""
    if axis == "row":
        spots = [(index, c) for c in range(1, first)]
    else:  # the block of header text directly above the first period (blank rows before it allowed)
        spots = []
        for r in range(first - 1, max(first - 1 - HEADER_DEPTH, 0), -1):
            if (r, index) in sheet.values and sheet.text(r, index) is None:
                break
            if sheet.text(r, index) is None:
                if spots or first - r > 3:
                    break
                continue
            spots.insert(0, (r, index))
    texts = [(t, CellRef(sheet.title, r, c)) for r, c in spots if (t := sheet.text(r, c)) and not t.startswith("=")]
    if not texts:
        return None
    return " ".join(t for t, _ in texts), texts[-1][1]


def _owner(index: int, siblings: list[_Run]) -> _Run:
    """The timeline a line belongs to: the nearest one before it (a block's header), else the first after."""
    before = [f for f in siblings if f.index <= index]
    return max(before, key=lambda f: f.index) if before else min(siblings, key=lambda f: f.index)


def _lines(sheet: _Sheet, frame: _Run, siblings: list[_Run] | None = None) -> list[_Line]:
    """Labelled lines read at ``frame``'s positions; with ``siblings`` (the other timelines along the
    same axis of the sheet), only the lines of ``frame``'s block."""
    out = []
    first = frame.positions[0]
    others = {r for r, _ in sheet.values} if frame.axis == "row" else {c for _, c in sheet.values}
    for index in sorted(others - {frame.index}):
        if siblings and len(siblings) > 1 and _owner(index, siblings) is not frame:
            continue
        label = _line_label(sheet, frame.axis, index, first)
        if label is None:
            continue
        if frame.axis == "row":
            cells = tuple(CellRef(sheet.title, index, p) for p in frame.positions)
            hidden = index in sheet.hidden_rows
        else:
            cells = tuple(CellRef(sheet.title, p, index) for p in frame.positions)
            hidden = index in sheet.hidden_cols
        if any((c.row, c.col) in sheet.values for c in cells):
            out.append(_Line(label[0], cells, index, hidden, frame))
    return out


def _numeric(sheet: _Sheet, line: _Line) -> bool:
    """Numbers (blanks, or error values convert will name) in every period, and not all zero."""
    values = [sheet.values.get((c.row, c.col)) for c in line.cells]
    nums = [v for v in values if isinstance(v, float)]
    errors = sum(isinstance(v, ExcelError) for v in values)
    return any(v != 0 for v in nums) and len(nums) + errors >= len(values) - values.count(None)


_REF = re.compile(r"(?:(?:'((?:[^']|'')+)'|([A-Za-z_][\w.]*))!)?\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?")


def _reads(sheet: _Sheet, line: _Line, target: _Line) -> bool:
    """Whether any formula of ``line`` refers to a cell of ``target`` (so ``line`` derives from it)."""
    wanted = {(c.sheet, c.row, c.col) for c in target.cells}
    for cell in line.cells:
        formula = sheet.formulas.get((cell.row, cell.col))
        if not formula:
            continue
        for quoted, plain, c1, r1, c2, r2 in _REF.findall(formula):
            ref_sheet = quoted.replace("''", "'") if quoted else plain or cell.sheet
            col1, row1 = column_index_from_string(c1), int(r1)
            col2, row2 = (column_index_from_string(c2), int(r2)) if c2 else (col1, row1)
            if any(s == ref_sheet and row1 <= r <= row2 and col1 <= c <= col2 for s, r, c in wanted):
                return True
    return False


# --------------------------------------------------------------------------- the search


class _Search:
    """One detection run over a loaded workbook."""

    def __init__(self, source: Source, ev: Evaluation) -> None:
        self.source = source
        self.ev = ev
        with warnings.catch_warnings():  # openpyxl warns about parts it drops (images, extensions); we only read cells
            warnings.simplefilter("ignore", UserWarning)
            wb = openpyxl.load_workbook(io.BytesIO(source.data), read_only=False, data_only=False)
        self.sheets = {ws.title: _snapshot(ws, ev) for ws in wb.worksheets}
        self.names = _defined_names(wb)
        _fill_from_cache(self.sheets, source.data, source.date1904)
        self.result = Detection(path=source.path)
        self.lines: dict[int, list[_Line]] = {}

    def fail(self, message: str, sheet: str | None = None) -> DetectionError:
        return DetectionError(message, path=self.source.path, sheet=sheet)

    def run(self) -> Detection:
        try:
            self.result.profile = self._profile()
        except GpuCreditError as exc:
            self.result.error = exc.with_path(self.source.path)
        return self.result

    def _profile(self) -> TemplateProfile:
        frames = [(sheet, frame) for sheet in self.sheets.values() for frame in _frames(sheet)]
        named_timeline = self._named_timeline()
        if named_timeline is not None:
            frames.insert(0, named_timeline)
        if not frames:
            raise self.fail("no timeline found (no row or column of period dates, years or period numbers); "
                            "this does not look like a lender template — pass --profile")
        lines = self.lines = {id(frame): _lines(sheet, frame, [f for _, f in frames if f.sheet == frame.sheet
                                                               and f.axis == frame.axis])
                              for sheet, frame in frames}
        try:
            rent_line = self._rent(frames, lines)
        except DetectionError:
            self._report_timeline(frames)
            raise
        frame = rent_line.frame
        sheet = self.sheets[frame.sheet]
        timeline = self._timeline(sheet, frame)
        metrics = self._metrics(frames, lines, frame)
        covenant = self._covenant()
        return TemplateProfile(timeline=timeline, rent=rent_line.cells, metrics=metrics, covenant=covenant,
                               origin="detected profile")

    # ------------------------------------------------------------------- rent

    def _rent(self, frames: list[tuple[_Sheet, _Run]], lines: dict[int, list[_Line]]) -> _Line:
        named = self._named_line("rent", frames)
        if named is not None:
            self.result.findings["rent"] = Finding("rent", format_range(named.cells), "high",
                                                   f"defined name {self.names['rent'][0]}")
            return named
        scored: list[tuple[int, _Line]] = []
        for sheet, frame in frames:
            for line in lines[id(frame)]:
                tier = rent_tier(line.label)
                kind = revenue_kind(line.label)
                if tier == 0 and kind:
                    self.result.revenue_lines.append(Candidate(line.label, line.cells, kind,
                                                               f"{kind}, not rent"))
                if tier and _numeric(sheet, line):
                    scored.append((tier, line))
        if not scored:
            raise self._no_rent(frames)
        top = max(t for t, _ in scored)
        best = [line for t, line in scored if t == top]
        for tier, line in scored:
            if tier < top:
                self.result.revenue_lines.append(Candidate(line.label, line.cells, _TIER_KIND[tier],
                                                           f"{_TIER_KIND[tier]}; a {_TIER_KIND[top]} line ranks above"))
        chosen = self._narrow(best)
        for line in best:
            self.result.rent_candidates.append(Candidate(line.label, line.cells, _TIER_KIND[top],
                                                         "chosen" if line in chosen else self._why_not(line, chosen)))
        if len(chosen) > 1:
            listed = "; ".join(f"'{line.label}' at {format_range(line.cells)}" for line in chosen)
            raise self.fail(f"several lines could be the rent: {listed}; pass --profile to choose "
                            "(gpucredit inspect --write-profile writes one to edit)", sheet=chosen[0].frame.sheet)
        line = chosen[0]
        confidence = {3: "high" if len(best) == 1 else "medium", 2: "medium", 1: "low"}[top]
        self.result.findings["rent"] = Finding("rent", format_range(line.cells), confidence,
                                               f"label '{line.label}' ({_TIER_KIND[top]})")
        return line

    def _narrow(self, best: list[_Line]) -> list[_Line]:
        """Drop hidden helpers, lines derived from another candidate, and frames without debt lines."""
        visible = [line for line in best if not line.hidden] or best
        upstream = [line for line in visible
                    if not any(o is not line and _reads(self.sheets[line.frame.sheet], line, o) for o in visible)]
        chosen = upstream or visible
        if len({id(line.frame) for line in chosen}) > 1:
            scores = {id(line.frame): self._debt_lines(line.frame) for line in chosen}
            top = max(scores.values())
            chosen = [line for line in chosen if scores[id(line.frame)] == top]
        return chosen

    def _why_not(self, line: _Line, chosen: list[_Line]) -> str:
        if line.hidden:
            return "hidden helper line"
        if any(_reads(self.sheets[line.frame.sheet], line, o) for o in chosen):
            return "derived from the chosen line"
        return "on a sheet without debt lines"

    def _debt_lines(self, frame: _Run) -> int:
        labels = [normalise(line.label) for line in self.lines[id(frame)]]
        balance = re.compile(r"\bbalance\b")
        return sum(any(p.search(lab) for p in METRICS[key][0] for lab in labels) for key in METRICS) + \
            any(balance.search(lab) for lab in labels)

    def _main_frame(self, frames: list[tuple[_Sheet, _Run]]) -> tuple[_Sheet, _Run]:
        """The frame an analyst would call the model: most debt lines, then most income lines."""
        def score(item: tuple[_Sheet, _Run]) -> tuple[int, int, int]:
            frame = item[1]
            income = sum(c.cells[0].sheet == frame.sheet for c in self.result.revenue_lines)
            return (-self._debt_lines(frame), -income, frame.rank()[0])
        return min(frames, key=score)

    def _report_timeline(self, frames: list[tuple[_Sheet, _Run]]) -> None:
        sheet, frame = self._main_frame(frames)
        try:
            self._timeline(sheet, frame)
        except GpuCreditError as exc:
            self._note("timeline", format_range(frame.cells()), "low",
                       f"'{frame.label}', but it cannot be read as periods: {exc.message}")

    def _no_rent(self, frames: list[tuple[_Sheet, _Run]]) -> DetectionError:
        sheet, frame = self._main_frame(frames)
        found = f"found a timeline at {format_range(frame.cells())} ('{frame.label}') but no line labelled " \
                "rent, rental income or lease revenue"
        lines = sorted(self.result.revenue_lines, key=lambda c: c.cells[0].sheet != sheet.title)
        if lines:
            seen: dict[str, Candidate] = {}
            for c in lines:
                seen.setdefault(c.label, c)
            listed = "; ".join(f"'{c.label}' at {format_range(c.cells)} ({c.kind})" for c in list(seen.values())[:4])
            found += f"; the income lines are {listed}, not rent"
        return self.fail(found + "; pass --profile with [rent] cells if one of them is the rent", sheet=sheet.title)

    # ------------------------------------------------------------------- timeline

    def _timeline(self, sheet: _Sheet, frame: _Run) -> Timeline:
        cells = frame.cells()
        where = format_range(cells)
        label = frame.label or "unlabelled"
        if frame.kind == "date":
            step = _months_between(frame.values[0], frame.values[1])
            kind, confidence, why = self._date_kind(frame)
            timeline = Timeline(cells=cells, kind=kind, frequency=Frequency(step))
            self._note("timeline", where, "high", f"'{label}': {len(cells)} dates, {step} month(s) apart")
            self._note("kind", kind, confidence, why)
            self._note("frequency", Frequency(step).name.lower(), "high", "from the spacing of the dates")
        elif frame.kind == "year":
            timeline = Timeline(cells=cells, kind="year", frequency=Frequency.ANNUAL)
            self._note("timeline", where, "high", f"'{label}': years {frame.values[0]:.0f}–{frame.values[-1]:.0f}")
            self._note("kind", "year", "medium" if "fy" in normalise(label).split() else "high",
                       "calendar years" + (" (a fiscal year starting in January; check)"
                                           if "fy" in normalise(label).split() else ""))
            self._note("frequency", "annual", "high", "one year per period")
        else:
            timeline = self._numbered(sheet, frame)
        try:
            read_grid(self.ev, timeline, path=self.source.path, date1904=self.source.date1904)
        except GpuCreditError as exc:
            raise self.fail(f"the timeline at {where} does not describe consecutive periods ({exc.message}); "
                            "pass --profile", sheet=sheet.title) from exc
        return timeline

    def _date_kind(self, frame: _Run) -> tuple[str, str, str]:
        label = normalise(frame.label)
        if re.search(r"\bend\w*\b|\bto\b|\bending\b|\bpayment\b|\btest\b", label):
            return "period_end", "high", f"label '{frame.label}'"
        if re.search(r"\bstart\w*\b|\bbegin\w*\b|\bfrom\b", label):
            return "period_start", "high", f"label '{frame.label}'"
        dates = [serial_to_date(v, date1904=self.source.date1904) for v in frame.values]
        if all(d.day == 1 for d in dates):
            return "period_start", "medium", "every date is the first of a month"
        if all((d + dt.timedelta(days=1)).day == 1 for d in dates):
            return "period_end", "medium", "every date is a month end"
        return "period_end", "low", "dates fall mid-month; read as period ends (payment dates)"

    def _numbered(self, sheet: _Sheet, frame: _Run) -> Timeline:
        cells = frame.cells()
        freq, f_conf, f_how = self._frequency(frame)
        start, s_conf, s_how = self._start()
        where = format_range(cells)
        self._note("timeline", where, "high" if frame.label else "medium",
                   f"'{frame.label or 'unlabelled'}': period numbers {frame.values[0]:.0f}–{frame.values[-1]:.0f}"
)
        self._note("kind", "period_number", "high", "the cells count periods")
        self._note("frequency", freq.name.lower(), f_conf, f_how)
        self._note("start", start.isoformat(), s_conf, s_how)
        return Timeline(cells=cells, kind="period_number", frequency=freq, start=start)

    def _frequency(self, frame: _Run) -> tuple[Frequency, str, str]:
        found = _frequency_from_words(frame.label)
        if found is not None:
            return found, "high", f"timeline label '{frame.label}'"
        for sheet, r, c, label in self._labelled_cells(PER_YEAR_LABEL):
            for value in self._values_right_of(sheet, r, c):
                if isinstance(value, float) and value in (1, 2, 4, 12):
                    return Frequency(int(12 // value)), "high", f"'{label}' = {value:g}"
                if isinstance(value, str) and (word := _frequency_from_words(value)) is not None:
                    return word, "high", f"'{label}' = {value}"
        return Frequency.ANNUAL, "guess", "nothing says how long a period is; assumed a year — check"

    def _start(self) -> tuple[dt.date, str, str]:
        found: list[tuple[int, dt.date, str]] = []
        for sheet, r, c, label in self._labelled_cells(START_LABEL):
            if NOT_START.search(normalise(label)):
                continue
            for cc in range(c + 1, c + 5):
                value = sheet.number(r, cc)
                if value is not None and (r, cc) in sheet.dated and 1 < value < 2_958_465:
                    pref = 0 if START_PREFERRED.search(normalise(label)) else 1
                    found.append((pref, serial_to_date(value, date1904=self.source.date1904),
                                  f"'{label}' at {CellRef(sheet.title, r, cc)}"))
                    break
        if not found:
            return dt.date(2026, 1, 1), "guess", "no start date found; assumed 2026-01-01 — set it"
        found.sort(key=lambda f: f[0])
        top = [f for f in found if f[0] == found[0][0]]
        if len({d for _, d, _ in top}) > 1:
            listed = ", ".join(f"{how} = {d.isoformat()}" for _, d, how in top)
            return top[0][1], "guess", f"several start dates ({listed}); took the first — check"
        return top[0][1], "high" if top[0][0] == 0 else "medium", top[0][2]

    def _labelled_cells(self, pattern: re.Pattern[str]) -> Iterable[tuple[_Sheet, int, int, str]]:
        for sheet in self.sheets.values():
            for (r, c), value in sorted(sheet.values.items()):
                if isinstance(value, str) and pattern.search(normalise(value)):
                    yield sheet, r, c, value.strip()

    def _values_right_of(self, sheet: _Sheet, r: int, c: int) -> list[CellValue]:
        return [sheet.values.get((r, cc)) for cc in range(c + 1, c + 5) if (r, cc) in sheet.values]

    def _note(self, name: str, where: str, confidence: str, how: str) -> None:
        self.result.findings[name] = Finding(name, where, confidence, how)

    # ------------------------------------------------------------------- metrics, covenant, names

    def _metrics(self, frames: list[tuple[_Sheet, _Run]], lines: dict[int, list[_Line]],
                 frame: _Run) -> dict[str, tuple[CellRef, ...]]:
        """Debt lines on the rent's frame first, then on frames with the same periods (another sheet)."""
        same = [frame] + [f for _, f in frames if f is not frame and f.values == frame.values and f.kind == frame.kind]
        out: dict[str, tuple[CellRef, ...]] = {}
        for key, (patterns, exclude) in METRICS.items():
            named = self._named_line(key, [(self.sheets[f.sheet], f) for f in same])
            if named is not None:
                out[key] = named.cells
                self._note(key, format_range(named.cells), "high", f"defined name {self.names[key][0]}")
                continue
            for candidate_frame in same:
                hit = _best_line(lines[id(candidate_frame)], patterns, exclude)
                if hit is not None:
                    line, confidence = hit
                    out[key] = line.cells
                    self._note(key, format_range(out[key]), confidence, f"label '{line.label}'")
                    break
        if "dscr" not in out:
            how = "not in the template; computed as CFADS / debt service" if {"cfads", "debt_service"} <= set(out) \
                else "not found, and no CFADS and debt service to compute it from"
            self._note("dscr", "–", "medium" if "cfads" in out else "low", how)
        return out

    def _covenant(self) -> CellRef | None:
        named = self.names.get("covenant")
        if named is not None and len(named[1]) == 1:
            self._note("covenant", str(named[1][0]), "high", f"defined name {named[0]}")
            return named[1][0]
        found: list[tuple[int, CellRef, str]] = []
        for sheet, r, c, label in self._labelled_cells(COVENANT):
            if "breach" in normalise(label):
                continue
            for rr, cc in [(r, c + k) for k in range(1, 5)] + [(r + 1, c)]:
                value = sheet.number(rr, cc)
                if value is not None and 0.5 <= value <= 5:
                    found.append((1 if COVENANT_WEAK.search(normalise(label)) else 0, CellRef(sheet.title, rr, cc),
                                  label))
                    break
        if not found:
            self._note("covenant", "–", "low", "no covenant found; breaches are not counted")
            return None
        found.sort(key=lambda f: f[0])
        pref, cell, label = found[0]
        distinct = {f[1] for f in found if f[0] == pref}
        self._note("covenant", str(cell), "high" if len(distinct) == 1 else "medium", f"label '{label}'")
        return cell

    def _named_line(self, key: str, frames: list[tuple[_Sheet, _Run]]) -> _Line | None:
        """A defined name over one row/column of a frame, read at the frame's positions."""
        entry = self.names.get(key)
        if entry is None:
            return None
        name, cells = entry
        for sheet, frame in frames:
            if cells[0].sheet != frame.sheet:
                continue
            if frame.axis == "row" and len({c.row for c in cells}) == 1 and cells[0].row != frame.index:
                picked = tuple(CellRef(sheet.title, cells[0].row, p) for p in frame.positions)
            elif frame.axis == "col" and len({c.col for c in cells}) == 1 and cells[0].col != frame.index:
                picked = tuple(CellRef(sheet.title, p, cells[0].col) for p in frame.positions)
            else:
                continue
            if set(picked) <= set(cells) or set(cells) <= set(picked):
                return _Line(name, picked, picked[0].row if frame.axis == "row" else picked[0].col, False, frame)
        return None

    def _named_timeline(self) -> tuple[_Sheet, _Run] | None:
        entry = self.names.get("timeline")
        if entry is None:
            return None
        name, cells = entry
        sheet = self.sheets.get(cells[0].sheet)
        if sheet is None or len(cells) < 2:
            return None
        axis = "row" if len({c.row for c in cells}) == 1 else "col"
        positions = [c.col if axis == "row" else c.row for c in cells]
        runs = list(_runs_along(sheet, axis, cells[0].row if axis == "row" else cells[0].col, positions))
        full = [r for r in runs if len(r.positions) == len(cells)]
        return (sheet, _Run(**{**full[0].__dict__, "label": full[0].label or name})) if full else None


_TIER_KIND = {3: "rent", 2: "hosting revenue", 1: "revenue"}


def _frequency_from_words(text: str) -> Frequency | None:
    words = normalise(text)
    for pattern, freq in FREQ_WORDS:
        if pattern.search(words):
            return freq
    return None


def _best_line(lines: list[_Line], patterns: tuple[re.Pattern[str], ...],
               exclude: re.Pattern[str] | None) -> tuple[_Line, str] | None:
    """The first line matching the most preferred pattern; ``medium`` when several matched it."""
    usable = [line for line in lines if not (exclude and exclude.search(normalise(line.label)))]
    for pattern in patterns:
        hits = [line for line in usable if pattern.search(normalise(line.label))]
        visible = [line for line in hits if not line.hidden] or hits
        if visible:
            totals = [line for line in visible if "total" in normalise(line.label)]
            pick = (totals or visible)[0]
            return pick, "high" if len(visible) == 1 else "medium"
    return None


def _fill_from_cache(sheets: dict[str, _Sheet], data: bytes, date1904: bool) -> None:
    """Where the engine gives an error, use the value Excel cached, to *locate* lines only.

    Detection only decides where things are; convert still refuses a workbook whose cached
    values the engine does not reproduce (reconcile first).
    """
    wanted = {title: {k for k, v in sheet.values.items() if isinstance(v, ExcelError)}
              for title, sheet in sheets.items()}
    if not any(wanted.values()):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for title, keys in wanted.items():
            if not keys or title not in wb.sheetnames:
                continue
            first, last = min(r for r, _ in keys), max(r for r, _ in keys)
            rows = wb[title].iter_rows(min_row=first, max_row=last, max_col=max(c for _, c in keys), values_only=True)
            for i, row in enumerate(rows):
                for j, raw in enumerate(row):
                    if (first + i, j + 1) in keys and raw is not None:
                        sheets[title].values[(first + i, j + 1)] = to_cell_value(raw, date1904=date1904)
    finally:
        wb.close()


def _defined_names(wb: openpyxl.Workbook) -> dict[str, tuple[str, tuple[CellRef, ...]]]:
    """Workbook-level and sheet-level names that say what a range holds, by profile field."""
    found: list[tuple[str, str]] = [(name, dn.attr_text) for name, dn in wb.defined_names.items()]
    for ws in wb.worksheets:
        found += [(name, dn.attr_text) for name, dn in ws.defined_names.items()]
    out: dict[str, tuple[str, tuple[CellRef, ...]]] = {}
    for name, text in found:
        key = re.sub(r"[^a-z0-9]", "", name.lower())
        field_name = next((k for k, aliases in NAMES.items() if key in aliases), None)
        if field_name is None or not text or "!" not in text or "," in text:
            continue
        try:
            out.setdefault(field_name, (name, parse_range(text.replace("$", ""))))
        except ValueError:
            continue
    if "rent" not in out and "revenue" in out:
        out["rent"] = out["revenue"]
    return out


def inspect_workbook(source: Source, ev: Evaluation) -> Detection:
    """Everything detection finds in a workbook, with a confidence per field; never raises DetectionError."""
    return _Search(source, ev).run()


def detect_profile(source: Source, ev: Evaluation) -> TemplateProfile:
    """Find the timeline, rent, and debt lines of an unknown template.

    Raises
    ------
    DetectionError
        No timeline or no rent line, several rent candidates (named), or a field that could
        only be guessed (a period-number timeline with no start date): pass ``--profile``.
    """
    found = inspect_workbook(source, ev)
    if found.error is not None:
        raise found.error
    guesses = found.guesses()
    if guesses:
        what = "; ".join(f"{g.field}: {g.how}" for g in guesses)
        raise DetectionError(f"detection could only guess ({what}); run gpucredit inspect --write-profile, "
                             "correct the profile and pass it with --profile", path=source.path)
    assert found.profile is not None
    return found.profile
