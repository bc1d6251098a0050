"""The credit side of one conversion: lines and metrics before and after, the Credit_Summary sheet, the memo.

``convert`` makes a :class:`CreditReport` from the original workbook, lets it add Credit_Summary to the
patched package, and hands it the recalculated workbook; every number the report shows comes from the
one metric table (``metric_table.py``), and the sheet's live cells are checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from engine.errors import ConsistencyError
from engine.formula.evaluate import Evaluation
from engine.report.metric_table import METRICS, json_value, measure, unit_label
from engine.report.metrics import Security, StateLines, read_lines
from engine.report.period_table import StateCells, links
from engine.report.summary import HEADLINE_ROW, SHEET, build_summary, finish_summary, live_problems, write_summary
from engine.template.profile import TemplateProfile
from engine.xlsx.new_sheet import NewSheet
from engine.xlsx.package import Package
from models.credit import CreditInputs, CreditMetrics, period_dscr
from models.periods import PeriodGrid
from models.units import MoneyUnit


@dataclass(frozen=True)
class Money:
    """The template's money unit, its scale (dollars → unit) and where gpucredit learnt it."""

    unit: MoneyUnit | None
    scale: float | None
    source: str

    @property
    def label(self) -> str:
        """How money cells say their unit (never the word "money")."""
        if self.unit is not None:
            return self.unit.label
        if self.scale is not None:
            known = MoneyUnit.from_scale(self.scale)
            return known.label if known is not None else f"USD × {self.scale:g}"
        return "the template's unit (not stated)"

    def sentence(self) -> str:
        return f"Money is in {self.label} ({self.source})."

    def to_json(self) -> dict[str, Any]:
        return {"unit": None if self.unit is None and self.scale is None else self.label, "scale": self.scale,
                "source": self.source}


def _dscr_list(x: CreditInputs) -> list[float | None]:
    values = period_dscr(x)
    if values is None:
        return [None] * len(x.period_ends)
    return [float(v) if np.isfinite(v) else None for v in values]


class CreditReport:
    """Measures the original workbook on creation; :meth:`add_summary`, then :meth:`finish` with the
    recalculated one."""

    def __init__(self, *, before: Evaluation, profile: TemplateProfile, grid: PeriodGrid, security: Security,
                 money: Money, sign: str) -> None:
        self.profile, self.grid, self.security, self.money, self.sign = profile, grid, security, money, sign
        self.lines_before = read_lines(before, profile, sign)
        self.inputs_before = self.lines_before.inputs(grid, security.values(before, grid.n_periods))
        self.metrics_before = measure(self.inputs_before)
        self.metrics_after: CreditMetrics | None = None
        self.inputs_after: CreditInputs | None = None
        self.headline = ""
        self.warnings: list[str] = []  # found only in the recalculated workbook
        self._layout: Any = None

    @property
    def dscr_check(self) -> bool:
        """Whether the template has its own DSCR line and the CFADS and debt-service lines to check it."""
        x = self.inputs_before
        return x.template_dscr is not None and x.cfads is not None and x.debt_service is not None

    @property
    def summary_cells(self) -> dict[tuple[int, int], tuple[str, object]]:
        """Credit_Summary's cells as :meth:`add_summary` built them, to load into a live engine (before
        :meth:`finish` puts the computed metrics on the sheet)."""
        assert self._layout is not None, "add_summary first"
        return self.summary_sheet.contents()

    @property
    def summary_sheet(self) -> NewSheet:
        """Credit_Summary's cells (after :meth:`add_summary`), where answer blocks go before it is written."""
        assert self._layout is not None, "add_summary first"
        return cast(NewSheet, self._layout.sheet)

    def write_summary(self, package: Package, after: Evaluation) -> int:
        """Write Credit_Summary with its values (after :meth:`finish`); returns its formula count."""
        assert self._layout is not None, "add_summary first"
        return write_summary(package, self._layout, after)

    @property
    def collateral_shown(self) -> bool:
        return self.inputs_before.orderly_value is not None or self.inputs_before.forced_value is not None

    def add_summary(self, package: Package, *, lines: list[str], notes: list[str], frequency_months: int,
                    styles: dict[str, int], date1904: bool) -> None:
        """Add Credit_Summary: the before values, the live formulas and the headline."""
        self._layout = build_summary(
            package, before=self.inputs_before, metrics_before=self.metrics_before, cells=self._cells(),
            covenant=self.profile.covenant, money=self.money.label, lines=lines, notes=notes,
            frequency_months=frequency_months, styles=styles, date1904=date1904)

    def _cells(self) -> dict[str, StateCells]:
        x, lines, metrics = self.inputs_before, self.lines_before, self.profile.metrics
        before = {"rent": lines.rent, "cfads": x.cfads, "debt_service": x.debt_service, "dscr": x.template_dscr,
                  "balance": x.balance, "orderly": x.orderly_value, "forced": x.forced_value}
        after_links = {"rent": links(self.profile.rent)}
        for key, field in (("cfads", "cfads"), ("debt_service", "debt_service"), ("dscr", "dscr"),
                           ("balance", "closing_balance")):
            if field in metrics:
                after_links[key] = links(metrics[field])
        fleet = self.security.fleet_values
        after_values = {} if fleet is None else {"orderly": fleet[0], "forced": fleet[1]}
        return {"before": StateCells(links={}, values={k: v for k, v in before.items() if v is not None}),
                "after": StateCells(links=after_links, values=after_values, sign=self.sign,
                                    formulas=self.security.site_formulas(self.grid.n_periods))}

    def finish(self, package: Package, after: Evaluation, *, styles: dict[str, int], date1904: bool,
               path: Path) -> StateLines:
        """Measure the recalculated workbook, check the sheet's live cells against it, finish the sheet."""
        lines = read_lines(after, self.profile, self.sign)
        ds = lines.debt_service
        if ds is not None and np.any(np.nan_to_num(ds) < 0):
            first = self.profile.metrics["debt_service"][int(np.flatnonzero(np.nan_to_num(ds) < 0)[0])]
            self.warnings.append(f"After conversion debt service turns negative (first at {first}): those periods "
                                 "have no debt service to cover and are not tested.")
        self.inputs_after = lines.inputs(self.grid, self.security.values(after, self.grid.n_periods))
        self.metrics_after = measure(self.inputs_after)
        problems = live_problems(after, self._layout, {"before": self.metrics_before, "after": self.metrics_after},
                                 date1904)
        if problems:
            raise ConsistencyError(f"{problems[0]}; this is a gpucredit bug, please report it with the template",
                                   path=path, sheet=SHEET)
        headline = after.get(SHEET, HEADLINE_ROW, 1)
        self.headline = headline if isinstance(headline, str) else str(headline)
        finish_summary(package, self._layout, after=after, metrics_after=self.metrics_after, styles=styles,
                       date1904=date1904)
        return lines

    @property
    def dscr_before(self) -> list[float | None]:
        return _dscr_list(self.inputs_before)

    @property
    def dscr_after(self) -> list[float | None]:
        assert self.inputs_after is not None
        return _dscr_list(self.inputs_after)

    def metrics_json(self) -> dict[str, Any]:
        """``metrics`` in ``--json``: every metric of the table, before and after, and their units."""
        assert self.metrics_after is not None
        return {state: {m.key: json_value(getattr(mx, m.key)) for m in METRICS}
                for state, mx in (("before", self.metrics_before), ("after", self.metrics_after))} | {
            "units": {m.key: unit_label(m, self.money.label) for m in METRICS}}
