"""Credit metrics over a template's periods (DESIGN §7): DSCR, minimum, breaches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class CoverageMetrics:
    """Coverage of one workbook state ("before" or "after").

    ``first_breach`` is the end date of the first period whose DSCR is below the
    covenant (the covenant test date); periods with no DSCR are not tested.
    """

    min_dscr: float | None
    first_breach: dt.date | None
    breaches: int


def dscr(cfads: npt.ArrayLike, debt_service: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """CFADS / debt service per period; NaN where there is no debt service (not a breach).

    Both inputs are positive money per period.
    """
    cf = np.asarray(cfads, dtype=float)
    ds = np.asarray(debt_service, dtype=float)
    out = np.full(cf.shape, np.nan)
    mask = ds > 0
    out[mask] = cf[mask] / ds[mask]
    return out


def coverage_metrics(
    dscr_values: Sequence[float | None], period_ends: Sequence[dt.date], covenant: float | None
) -> CoverageMetrics:
    """Minimum DSCR, first breach date and breach count against ``covenant``.

    A period whose DSCR is ``None`` or NaN is skipped (no debt service to cover).
    With no covenant, no period is a breach.
    """
    if len(dscr_values) != len(period_ends):
        raise ValueError("one DSCR per period is needed")
    tested = [(v, end) for v, end in zip(dscr_values, period_ends) if v is not None and v == v]
    if not tested:
        return CoverageMetrics(None, None, 0)
    breaches = [end for v, end in tested if covenant is not None and v < covenant]
    return CoverageMetrics(
        min_dscr=min(v for v, _ in tested),
        first_breach=breaches[0] if breaches else None,
        breaches=len(breaches),
    )
