"""The test corpus (tests/corpus/) with what a correct reading of each model finds, and the measurement
``benchmarks/corpus.py`` prints and ``tests/engine/test_corpus.py`` checks (not a test module).

For the public files the expectations are written from reading the models (tests/corpus/MANIFEST.md,
cell by cell); for ours they come from the generator (tests/corpus_ours.py). Never from running
gpucredit.

Per file the measurement gives: the share of Excel's cached values the engine reproduces in the
cells a conversion uses (everything the revenue line reaches, the timeline and the debt lines;
the whole workbook where the model has no revenue line), what detection does alone, and the
outcome of converting (with ``--set start`` for the undated model).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus_ours  # noqa: E402

from engine.convert import CurveChoice, convert  # noqa: E402
from engine.errors import GpuCreditError  # noqa: E402
from engine.formula.datatables import evaluate_tables  # noqa: E402
from engine.formula.evaluate import evaluate  # noqa: E402
from engine.formula.reconcile import reconcile  # noqa: E402
from engine.refs import CellRef, format_range, parse_range, parse_ref  # noqa: E402
from engine.template.detect.search import inspect_workbook  # noqa: E402
from engine.xlsx.load import load  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "corpus"


@dataclass(frozen=True)
class Expected:
    """What reading the model finds: the revenue line a conversion would re-price (``rent``), the
    timeline and debt lines, or the reason detection must give for refusing (``refused``, a
    substring of its message); ``ours`` for the models of tests/corpus_ours.py."""

    rent: str | None = None
    timeline: str | None = None
    lines: dict[str, str] = field(default_factory=dict)
    refused: str | None = None
    revenue: str | None = None  # the line a conversion would re-price when detection rightly refuses
    options: dict[str, Any] = field(default_factory=dict)  # convert's options (set start for an undated model)
    ours: bool = False
    not_reproducible: str | None = None  # the Excel feature the engine cannot reproduce, and why


def _ours(name: str) -> Expected:
    found = corpus_ours.expected(name)
    lines = {k: found[k] for k in ("cfads", "debt_service", "dscr", "closing_balance", "covenant", "debt_amount")
             if k in found}
    options = {"start": "2027-01-01"} if "start" in found else {}
    refused = "--set start=YYYY-MM-DD" if "start" in found else None
    return Expected(rent=found["rent"], timeline=found["timeline"], lines=lines, refused=refused, options=options,
                    ours=True)


# From tests/corpus/MANIFEST.md (each entry's "Revenue driver", "Timeline", "CFADS", "Debt service", "DSCR").
EXPECTED: dict[str, Expected] = {
    "nrel-reopt-proforma-2017.xlsx": Expected(
        refused="the income lines are 'Value of electricity savings ($)'", revenue="'Cash Flow'!C8:AA8"),
    "loan-tracker-prepayments.xlsx": Expected(refused="('Payment Date') but no line labelled rent"),  # a wrapped header
    "auditor-agents-cfg-prep-oship-pf.xlsx": Expected(
        rent="Ops!J19:BI19", timeline="Ops!J5:BI5",  # Timing!J5:BI5, mirrored in row 5 of every sheet
        lines={"debt_service": "Debt!J43:BI43", "dscr": "Debt!J45:BI45", "closing_balance": "Debt!J22:BI22"}),
    "auditor-agents-sp-case-study-3statement.xlsm": Expected(
        refused="no CFADS, debt service or DSCR line", revenue="Calculations!J23:N23"),
    "auditor-agents-brewery-10y-3statement.xlsx": Expected(
        refused="no CFADS, debt service or DSCR line", revenue="Calc_Revenue!B25:DQ25"),
    "nrel-reopt-cashflow-template-2017.xlsm": Expected(
        refused="the income lines are 'Value of electricity savings ($)'", revenue="'Inputs and Outputs'!C82:AA82"),
    "fin-model-course-brinks-operating-model.xlsx": Expected(
        refused="no CFADS, debt service or DSCR line", revenue="'Operating Model'!O22:U22"),
    **{name: _ours(name) for name in corpus_ours.MODELS},
}


@dataclass
class Row:
    """One file's line in the corpus table."""

    file: str
    used_checked: int
    used_reproduced: int
    share_all: float | None
    detection: str
    outcome: str
    detected: dict[str, str] = field(default_factory=dict)
    note: str = ""
    all_checked: int = 0  # the whole workbook's cached values checked, and reproduced
    all_reproduced: int = 0

    @property
    def share_used(self) -> float | None:
        return self.used_reproduced / self.used_checked if self.used_checked else None


def _used(ev: Any, rent: tuple[CellRef, ...], extra: list[tuple[CellRef, ...]]) -> set[tuple[str, int, int]]:
    used = ev.downstream([(c.sheet, c.row, c.col) for c in rent]) if rent else set()
    for cells in extra:
        used.update((c.sheet, c.row, c.col) for c in cells)
    return used


def measure(name: str, *, convert_it: bool = True) -> Row:
    """Reconcile, detect and convert one corpus file (a copy: the corpus is never written)."""
    expected = EXPECTED[name]
    path = CORPUS / name
    source = load(path)
    ev = evaluate(source.data, path=path, date1904=source.date1904)
    evaluate_tables(source.package, ev, path=path)
    report = reconcile(source.package, ev)
    found = inspect_workbook(source, ev)
    profile = found.profile if found.error is None else None
    rent_text = (format_range(profile.rent) if profile is not None else None) or expected.rent or expected.revenue
    rent = parse_range(rent_text) if rent_text else ()
    extra: list[tuple[CellRef, ...]] = []
    if profile is not None:
        extra = [profile.timeline.cells, *profile.metrics.values()]
        if isinstance(profile.covenant, CellRef):
            extra.append((profile.covenant,))
    else:
        extra = [parse_range(expected.timeline)] if expected.timeline else []
        extra += [(parse_ref(v),) if "!" in v and ":" not in v else parse_range(v) for v in expected.lines.values()]
    if rent:
        used = _used(ev, rent, extra)
        in_used = [m for m in report.mismatches if (m.sheet, m.row, m.col) in used]
        checked = len(report.checked_cells & used)
    else:  # no revenue line at all: the whole workbook
        in_used, checked = list(report.mismatches), report.checked
    problem = found.problem()
    if profile is not None and problem is not None and found.only_start_is_guessed():
        detection = f"rent {format_range(profile.rent)}; undated, needs --set start"
    elif profile is not None and problem is None:
        detection = f"rent {format_range(profile.rent)}"
    else:
        detection = f"refused: {problem.message if problem else 'no profile'}"
    detected = {}
    if found.profile is not None:
        detected = {"rent": format_range(found.profile.rent), "timeline": format_range(found.profile.timeline.cells),
                    **{k: format_range(v) for k, v in found.profile.metrics.items()}}
        if isinstance(found.profile.covenant, CellRef):
            detected["covenant"] = str(found.profile.covenant)
        if found.profile.debt_amount:
            detected["debt_amount"] = format_range(found.profile.debt_amount)
    outcome = "–"
    if convert_it:
        outcome = _outcome(path, expected)
    return Row(name, checked, checked - len(in_used), report.share, detection, outcome, detected,
               note="no Excel values to check against" if report.uncalculated else "",
               all_checked=report.checked, all_reproduced=report.checked - len(report.mismatches))


def _outcome(path: Path, expected: Expected) -> str:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / path.name
        copy.write_bytes(path.read_bytes())
        curve = CurveChoice(preset="h100-stress", overrides=dict(expected.options))
        try:
            result = convert(copy, Path(folder) / f"out{path.suffix}", curve=curve)
        except GpuCreditError as exc:
            return f"refused ({type(exc).__name__})"
        before, after = result.metrics_before.min_dscr, result.metrics_after.min_dscr
        text = f"converted, min DSCR {before:.2f} → {after:.2f}" if before == before and after == after else "converted"
        sizing = result.debt_sizing
        if sizing is not None and sizing["resized"]:
            moves = ", ".join(f"{b:,.2f} → {a:,.2f}" for b, a in zip(sizing["before"], sizing["after"], strict=True)
                              if b is not None and a is not None)
            text += f"; debt re-sized by the model {moves}"
        return text


def start_of(expected: Expected) -> dt.date | None:
    value = expected.options.get("start")
    return dt.date.fromisoformat(value) if value else None
