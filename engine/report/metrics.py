"""The metrics step: read each workbook state's per-period lines, and what secures the loan (docs/credit.md).

The finance lives in ``models/credit.py`` and ``models/collateral.py``; the metric table in
``metric_table.py``. This module knows where the numbers are in the workbook, which sign the
template books debt service with, which money unit its numbers are in, and what the collateral is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import ProfileError
from engine.patch.choice import CollateralChoice
from engine.formula.evaluate import Evaluation
from engine.refs import CellRef
from engine.template.profile import TemplateProfile
from models.collateral import CollateralParams, collateral_path, months_since_valuation
from models.credit import CreditInputs
from models.params import SecurityKind
from models.periods import PeriodGrid


@dataclass(frozen=True)
class StateLines:
    """One workbook state's per-period lines: None where the template has no such line, NaN where a cell
    holds no number. ``debt_service`` is positive (flipped where the template books it negative)."""

    rent: np.ndarray
    dscr: np.ndarray | None  # the template's own DSCR line, as it is
    cfads: np.ndarray | None
    debt_service: np.ndarray | None
    closing_balance: np.ndarray | None
    interest: np.ndarray | None
    covenant: float | None

    def inputs(self, grid: PeriodGrid, collateral: tuple[np.ndarray | None, np.ndarray | None]) -> CreditInputs:
        """The credit model's inputs; ``collateral`` is (orderly, forced) value per period, template unit."""
        orderly, forced = collateral
        return CreditInputs(tuple(grid.ends), cfads=self.cfads, debt_service=self.debt_service,
                            template_dscr=self.dscr, balance=self.closing_balance, interest=self.interest,
                            covenant=self.covenant, orderly_value=orderly, forced_value=forced)


def debt_service_sign(ev: Evaluation, profile: TemplateProfile, path: Path) -> str:
    """``"-"`` where the template books debt service as a negative outflow in every period that has one,
    ``""`` where it books it positive.

    Raises
    ------
    ProfileError
        The line mixes positive and negative amounts: it cannot be read as debt service.
    """
    cells = profile.metrics.get("debt_service")
    if cells is None:
        return ""
    values = _numbers(ev, cells)
    positive = [c for c, v in zip(cells, values) if v > 0]
    negative = [c for c, v in zip(cells, values) if v < 0]
    if positive and negative:
        raise ProfileError(f"debt service is positive in {positive[0]} but negative in {negative[0]}; a debt-service "
                           "line of one sign is needed (positive, or negative outflows throughout) — fix the template "
                           "or point [metrics] debt_service at such a line", path=path, sheet=negative[0].sheet,
                           cell=negative[0].a1)
    return "-" if negative else ""


def read_lines(ev: Evaluation, profile: TemplateProfile, sign: str = "") -> StateLines:
    """The rent, DSCR, CFADS, debt and balance lines of one evaluated workbook (``sign`` from
    :func:`debt_service_sign`, decided once on the original workbook)."""

    def line(name: str) -> np.ndarray | None:
        cells = profile.metrics.get(name)
        return None if cells is None else _numbers(ev, cells)

    debt_service, interest = line("debt_service"), line("interest")
    if debt_service is not None and sign == "-":
        debt_service = -debt_service
        if interest is not None and not np.any(np.nan_to_num(interest) > 0):  # booked the same way
            interest = -interest
    return StateLines(rent=_numbers(ev, profile.rent, blank=0.0), dscr=line("dscr"), cfads=line("cfads"),
                      debt_service=debt_service, closing_balance=line("closing_balance"), interest=interest,
                      covenant=_covenant(ev, profile))


def _covenant(ev: Evaluation, profile: TemplateProfile) -> float | None:
    if isinstance(profile.covenant, CellRef):
        value = ev.get(profile.covenant.sheet, profile.covenant.row, profile.covenant.col)
        return value if isinstance(value, float) else None
    return profile.covenant


def _numbers(ev: Evaluation, cells: tuple[CellRef, ...], *, blank: float = np.nan) -> np.ndarray:
    """The cells' numbers; NaN for text, errors and (unless ``blank`` says otherwise) empty cells."""
    values = [ev.get(c.sheet, c.row, c.col) for c in cells]
    return np.array([blank if v is None else v if isinstance(v, float) and not isinstance(v, bool) else np.nan
                     for v in values])


@dataclass(frozen=True)
class Security:
    """What secures the loan, why, and its value per period (template unit) where gpucredit has one.

    ``fleet`` holds the GPU-fleet model's parameters (kind ``gpu_fleet`` with a fleet size);
    ``site`` the template's value cells (kind ``site`` with ``[collateral] value``).
    """

    kind: SecurityKind
    reason: str
    note: str
    fleet: CollateralParams | None = None
    fleet_values: tuple[np.ndarray, np.ndarray] | None = None  # (orderly, forced), in the template's unit
    site: tuple[CellRef, ...] | float | None = None
    haircut: float | None = None

    @property
    def valued(self) -> bool:
        return self.fleet_values is not None or self.site is not None

    def values(self, ev: Evaluation, n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(orderly, forced) value per period in one state (a site's value is read from its cells; its
        forced-sale value needs a haircut); None where there is none."""
        if self.fleet_values is not None:
            return self.fleet_values
        if self.site is None:
            return None, None
        if isinstance(self.site, tuple):
            value = _numbers(ev, self.site)
            value = np.full(n, value[0]) if len(self.site) == 1 else value
        else:
            value = np.full(n, float(self.site))
        return value, (None if self.haircut is None else value * (1.0 - self.haircut))

    def site_formulas(self, n: int) -> dict[str, tuple[str, ...]]:
        """The after state's live site-value cells: links to the template's value, less the haircut."""
        if not isinstance(self.site, tuple):
            return {}
        refs = [c.formula_ref() if len(self.site) == 1 else c.formula_ref(absolute=False) for c in self.site]
        refs = refs * n if len(refs) == 1 else refs
        out = {"orderly": tuple(f'IF(ISNUMBER({r}),{r},"n/a")' for r in refs)}
        if self.haircut is not None:
            out["forced"] = tuple(f'IF(ISNUMBER({r}),{r}*(1-{self.haircut!r}),"n/a")' for r in refs)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "reason": self.reason, "note": self.note}


def security(choice: CollateralChoice, profile: TemplateProfile, proposed: tuple[SecurityKind, str] | None, *,
             preset: str, grid: PeriodGrid, gpus: float | None, money_scale: float | None) -> Security:
    """Decide what secures the loan and value it: the option, else the profile, else detection's proposal.

    Raises
    ------
    ProfileError
        A GPU fleet to value in dollars but the template's money unit is unknown (``[deal] unit``).
    """
    if choice.kind is not None:
        kind, reason = choice.kind, "--collateral kind"
    elif profile.collateral_kind is not None:
        kind, reason = profile.collateral_kind, f"{profile.origin} [collateral] kind"
    elif proposed is not None:
        kind, reason = proposed[0], f"proposed by detection: {proposed[1]}"
    else:
        kind, reason = SecurityKind.NONE, "nothing says what secures the loan"
    if kind is SecurityKind.NONE:
        return Security(kind, reason, "No collateral is valued: the loan is taken as unsecured, or secured by "
                                      "something gpucredit does not value.")
    if kind is SecurityKind.SITE:
        if profile.collateral_value is None:
            return Security(kind, reason, "The site and the lease secure the loan; the GPUs belong to the tenant. "
                                          "The template has no site value line ([collateral] value), so no "
                                          "loan-to-value is computed.")
        forced = "" if profile.collateral_haircut is not None else " No forced-sale haircut ([collateral] haircut) is set."
        return Security(kind, reason, "The site and the lease secure the loan; its value is the template's own "
                                      f"line.{forced}", site=profile.collateral_value, haircut=profile.collateral_haircut)
    params = choice.params(preset, profile, grid, gpus=gpus)
    if params.gpus is None or params.cost_per_gpu is None:
        return Security(kind, reason, "The GPU fleet secures the loan, but its size is unknown ([deal] gpus or "
                                      "--collateral gpus=N), so no collateral value is computed.", fleet=params)
    if money_scale is None:
        raise ProfileError("the GPU fleet's collateral value is computed in US dollars, but the template's money "
                           "unit is unknown; set [deal] unit in the profile (e.g. unit = \"USD thousands\") — or "
                           "--collateral kind=none")
    path = collateral_path(params, months_since_valuation(params, grid.ends))
    values = (path.orderly_value * money_scale, path.forced_value * money_scale)
    return Security(kind, reason, f"The GPU fleet secures the loan: {params.gpus:,.0f} GPUs at "
                                  f"${params.cost_per_gpu:,.0f} each, valued by gpucredit's collateral model.",
                    fleet=params, fleet_values=values)
