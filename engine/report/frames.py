"""A conversion's numbers per period and per metric, as ``--json`` lists and as pandas frames.

pandas is imported inside the frame functions only, so the command line never pays for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.report.metric_table import METRICS
from models.credit import CreditInputs, CreditMetrics

if TYPE_CHECKING:
    import pandas as pd

PERIOD_COLUMNS = (
    "rent_before", "rent_after", "cfads_before", "cfads_after", "debt_service_before", "debt_service_after",
    "dscr_before", "dscr_after", "balance_before", "balance_after", "collateral_orderly", "collateral_forced",
)
"""The per-period lines of a conversion, in ``--json`` and :func:`period_frame` order."""


def _numbers(values: Sequence[float | None] | np.ndarray | None) -> list[float | None] | None:
    """JSON-ready numbers: None for a missing line, and for a cell without a finite number."""
    if values is None:
        return None
    return [None if v is None or not math.isfinite(float(v)) else float(v) for v in values]


def period_lines(rent_before: np.ndarray, rent_after: np.ndarray, dscr_before: Sequence[float | None],
                 dscr_after: Sequence[float | None], before: CreditInputs | None,
                 after: CreditInputs | None) -> dict[str, list[float | None] | None]:
    """Every line of :data:`PERIOD_COLUMNS`; None for a line the template does not have.

    ``before`` and ``after`` are the lines the credit metrics were measured on (debt service
    positive, in the template's money unit); the collateral values are the fleet's at each period
    end, the same in both states.
    """
    def line(state: CreditInputs | None, name: str) -> list[float | None] | None:
        return None if state is None else _numbers(getattr(state, name))

    return {
        "rent_before": _numbers(rent_before), "rent_after": _numbers(rent_after),
        "cfads_before": line(before, "cfads"), "cfads_after": line(after, "cfads"),
        "debt_service_before": line(before, "debt_service"), "debt_service_after": line(after, "debt_service"),
        "dscr_before": _numbers(dscr_before), "dscr_after": _numbers(dscr_after),
        "balance_before": line(before, "balance"), "balance_after": line(after, "balance"),
        "collateral_orderly": line(after, "orderly_value"), "collateral_forced": line(after, "forced_value"),
    }


def period_frame(starts: Sequence[date], ends: Sequence[date],
                 lines: dict[str, list[float | None] | None]) -> pd.DataFrame:
    """One row per period, indexed by period end (``period_end``); the template's missing lines are left out."""
    import pandas as pd

    columns: dict[str, Any] = {"period_start": pd.to_datetime(list(starts))}
    for name in PERIOD_COLUMNS:
        values = lines.get(name)
        if values is not None:
            columns[name] = pd.array([np.nan if v is None else v for v in values], dtype="float64")
    return pd.DataFrame(columns, index=pd.DatetimeIndex(pd.to_datetime(list(ends)), name="period_end"))


def metrics_frame(before: CreditMetrics, after: CreditMetrics) -> pd.DataFrame:
    """Metric × (before, after), in the order of the one metric table: dates as dates, ratios and money
    as floats, None where a metric is n/a."""
    import pandas as pd

    keys = [m.key for m in METRICS]
    return pd.DataFrame({"before": [getattr(before, k) for k in keys], "after": [getattr(after, k) for k in keys]},
                        index=pd.Index(keys, name="metric"), dtype=object)
