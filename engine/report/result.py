"""What one conversion did: :class:`ConversionResult`, in the shape of ``gpucredit convert --json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.refs import CellRef
from engine.report.credit_report import CreditReport
from engine.report.frames import metrics_frame, period_frame, period_lines
from models.collateral import CollateralParams
from models.credit import CreditMetrics
from models.curves import Contract, CurveParams, RentMode
from models.periods import PeriodGrid

if TYPE_CHECKING:
    import pandas as pd

_LISTED = ("rent_before", "rent_after", "dscr_before", "dscr_after")  # in --json in their own form already


@dataclass(frozen=True)
class ConversionResult:
    """What one conversion did, in the shape of ``gpucredit convert --json``."""

    input: Path
    output: Path
    preset: str
    mode: RentMode
    params: CurveParams
    collateral: CollateralParams | None
    rent_cells: tuple[CellRef, ...]
    grid: PeriodGrid
    rent_before: np.ndarray
    rent_after: np.ndarray
    dscr_before: list[float | None]
    dscr_after: list[float | None]
    metrics_before: CreditMetrics
    metrics_after: CreditMetrics
    changed_cells: tuple[CellRef, ...]
    formulas_written: int
    reconciled_cells: int
    iteration: dict[str, Any] = field(default_factory=dict)
    unverified: tuple[str, ...] = ()
    kept_excel_values: int = 0
    reconciliation: dict[str, Any] = field(default_factory=dict)
    credit: CreditReport | None = None
    anchor: int = 0  # position of the anchor period
    contract: Contract | None = None
    warnings: tuple[str, ...] = ()
    memo: Path | None = None
    debt_sizing: dict[str, Any] | None = None  # engine.report.sizing: the debt the model sizes from the rent
    external_links: list[dict[str, Any]] = field(default_factory=list)  # linked workbooks formulas read
    notes: tuple[str, ...] = ()  # what the output should say besides the numbers (re-sized debt, links)

    def lines(self) -> dict[str, list[float | None] | None]:
        """Every per-period line of :data:`engine.report.frames.PERIOD_COLUMNS` (None: the template has none)."""
        credit = self.credit
        return period_lines(self.rent_before, self.rent_after, self.dscr_before, self.dscr_after,
                            credit.inputs_before if credit is not None else None,
                            credit.inputs_after if credit is not None else None)

    def periods(self) -> pd.DataFrame:
        """The per-period lines as a pandas DataFrame indexed by period end (``period_end``).

        Columns: ``period_start`` and those of :data:`engine.report.frames.PERIOD_COLUMNS` the
        template has — rent, CFADS, debt service, DSCR and closing balance before and after, and the
        orderly and forced-sale collateral value where the deal has a fleet to value. Money is in the
        template's unit (debt service positive); NaN where a cell holds no number.
        """
        return period_frame(self.grid.starts, self.grid.ends, self.lines())

    def metrics_frame(self) -> pd.DataFrame:
        """The credit metrics as a DataFrame: one row per metric, columns ``before`` and ``after``."""
        return metrics_frame(self.metrics_before, self.metrics_after)

    @property
    def headline(self) -> str:
        """The headline sentence Credit_Summary computes (live) for the converted workbook."""
        return self.credit.headline if self.credit is not None else ""

    def to_json(self) -> dict[str, Any]:
        credit = self.credit
        return {
            "input": str(self.input), "output": str(self.output), "preset": self.preset,
            "mode": self.mode.value, "params": self.params.to_dict(),
            "collateral": self.collateral.to_dict() if self.collateral is not None else None,
            "rent_cells": [str(c) for c in self.rent_cells],
            "changed_cells": [str(c) for c in self.changed_cells],
            "period_starts": [d.isoformat() for d in self.grid.starts],
            "period_ends": [d.isoformat() for d in self.grid.ends],
            "rent_before": [float(x) for x in self.rent_before],
            "rent_after": [float(x) for x in self.rent_after],
            "dscr_before": self.dscr_before, "dscr_after": self.dscr_after,
            **{key: values for key, values in self.lines().items() if key not in _LISTED},
            "headline": self.headline,
            "money_unit": credit.money.to_json() if credit is not None else None,
            "security": credit.security.to_json() if credit is not None else None,
            "anchor": {"period": self.anchor + 1, "end": self.grid.ends[self.anchor].isoformat()},
            "contracted_until": self.contract.until.isoformat() if self.contract is not None else None,
            "releasing_gap_months": self.contract.releasing_gap_months if self.contract is not None else 0,
            "metrics": credit.metrics_json() if credit is not None else {},
            "warnings": list(self.warnings),
            "memo": str(self.memo) if self.memo is not None else None,
            "reconciled_cells": self.reconciled_cells,
            "iteration": self.iteration,
            "reconciliation": self.reconciliation,
            "unverified": list(self.unverified),
            "kept_excel_values": self.kept_excel_values,
            "formulas_written": self.formulas_written,
            "debt_sizing": self.debt_sizing, "external_links": self.external_links, "notes": list(self.notes),
        }
