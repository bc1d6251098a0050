"""The metrics step: read each workbook state's per-period lines and measure them (DESIGN §7).

The finance lives in ``models/credit.py`` and ``models/collateral.py``; this module only knows
where the numbers are in the workbook and which units they carry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.template.profile import TemplateProfile
from engine.formula.evaluate import Evaluation
from engine.refs import CellRef
from models.collateral import CollateralParams, collateral_path, months_since_valuation
from models.credit import CreditMetrics, credit_metrics, dscr
from models.periods import PeriodGrid


@dataclass(frozen=True)
class StateLines:
    """One workbook state's per-period lines (NaN where a cell holds no number)."""

    rent: np.ndarray
    dscr: list[float | None]
    cfads: np.ndarray | None
    debt_service: np.ndarray | None
    closing_balance: np.ndarray | None
    interest: np.ndarray | None
    covenant: float | None


def read_lines(ev: Evaluation, profile: TemplateProfile) -> StateLines:
    """The rent, DSCR, CFADS, debt and balance lines of one evaluated workbook."""

    def line(name: str) -> np.ndarray | None:
        cells = profile.metrics.get(name)
        return None if cells is None else _numbers(ev, cells)

    cfads, debt_service = line("cfads"), line("debt_service")
    if "dscr" in profile.metrics:
        dscr_values = [None if np.isnan(v) else float(v) for v in _numbers(ev, profile.metrics["dscr"])]
    elif cfads is not None and debt_service is not None:
        dscr_values = [None if np.isnan(v) else float(v) for v in dscr(cfads, debt_service)]
    else:
        dscr_values = [None] * profile.n_periods
    covenant: float | None
    if isinstance(profile.covenant, CellRef):
        value = ev.get(profile.covenant.sheet, profile.covenant.row, profile.covenant.col)
        covenant = value if isinstance(value, float) else None
    else:
        covenant = profile.covenant
    return StateLines(rent=_numbers(ev, profile.rent, blank=0.0), dscr=dscr_values, cfads=cfads, debt_service=debt_service,
                      closing_balance=line("closing_balance"), interest=line("interest"), covenant=covenant)


def _numbers(ev: Evaluation, cells: tuple[CellRef, ...], *, blank: float = np.nan) -> np.ndarray:
    """The cells' numbers; NaN for text, errors and (unless ``blank`` says otherwise) empty cells."""
    values = [ev.get(c.sheet, c.row, c.col) for c in cells]
    return np.array([blank if v is None else v if isinstance(v, float) and not isinstance(v, bool) else np.nan
                     for v in values])


def rate_per_period(lines: StateLines) -> float | None:
    """The loan's rate per period, read off the template: median of interest ÷ previous balance.

    The median ignores periods where a draw or a capitalisation makes one quotient unrepresentative.
    """
    if lines.interest is None or lines.closing_balance is None or len(lines.interest) < 2:
        return None
    previous, interest = lines.closing_balance[:-1], lines.interest[1:]
    ok = (previous > 0) & (interest > 0) & np.isfinite(previous) & np.isfinite(interest)
    return float(np.median(interest[ok] / previous[ok])) if ok.any() else None


def collateral_values(params: CollateralParams, grid: PeriodGrid, unit_scale: float
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """Orderly and forced-sale fleet value at each period end, in the template's money unit."""
    if params.cost_per_gpu is None or params.gpus is None:
        return None
    path = collateral_path(params, months_since_valuation(params, grid.ends))
    return path.orderly_value * unit_scale, path.forced_value * unit_scale


def measure(lines: StateLines, grid: PeriodGrid, collateral: tuple[np.ndarray, np.ndarray] | None) -> CreditMetrics:
    """Every DESIGN §7 metric of one state."""
    n = grid.n_periods
    zeros = np.zeros(n)

    def clean(values: np.ndarray | None) -> np.ndarray:
        return zeros if values is None else np.nan_to_num(values, nan=0.0)

    orderly, forced = collateral if collateral is not None else (None, None)
    return credit_metrics(
        grid.ends, lines.dscr, clean(lines.cfads), np.maximum(clean(lines.debt_service), 0.0),
        np.maximum(clean(lines.closing_balance), 0.0), forced, orderly, lines.covenant, rate_per_period(lines))
