"""The terms of one deal as a conversion applies them: the money unit, the anchor, the contract (contracted,
then merchant) with the warnings they call for, what secures the loan, and the line describing the curve.

Each comes from the option (``CurveChoice``), else the profile, else what the workbook's own words say
(``engine/template/detect/deal.py``); ``engine/session/`` calls these when it opens a model.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from engine.errors import ParameterError
from engine.formula.evaluate import Evaluation
from engine.patch.choice import CurveChoice
from engine.refs import CellRef
from engine.report.credit_report import Money
from engine.report.metrics import Security, security
from engine.template.detect.deal import deal_texts, propose_security, propose_unit
from engine.template.profile import TemplateProfile
from models.collateral import SALE_CHANNELS
from models.curves import Contract, CurveParams, anchor_outlier, anchor_period
from models.periods import PeriodGrid
from models.units import unit_scale

__all__ = ["anchor_position", "anchor_warnings", "loan_security", "money_unit", "rent_terms", "summary_note"]


def money_unit(profile: TemplateProfile, ev: Evaluation) -> Money:
    """The template's money unit: the profile's, else what its labels and headers say (docs/credit.md, money units)."""
    if profile.unit is not None or profile.unit_scale is not None:
        field_name = "unit" if profile.unit is not None else "unit_scale"
        return Money(profile.unit, profile.money_scale(), f"{profile.origin} [deal] {field_name}")
    found = propose_unit(deal_texts(ev.get, profile))
    if found.unit is None:
        return Money(None, None, f"not stated: {found.how}")
    if found.unit.currency != "USD":  # converting dollars needs the exchange rate
        return Money(found.unit, None, f"detected: {found.how} at {found.where}; set [deal] fx_rate to convert dollars")
    return Money(found.unit, unit_scale(found.unit), f"detected: {found.how} at {found.where}")


def rent_terms(curve: CurveChoice, profile: TemplateProfile, grid: PeriodGrid,
                rent: np.ndarray) -> tuple[int, Contract | None, list[str]]:
    """The anchor period, the contract (contracted, then merchant) and the warnings about them."""
    spec = curve.anchor if curve.anchor is not None else profile.anchor
    anchor = anchor_position(spec, grid, rent)
    until = curve.contracted_until if curve.contracted_until is not None else profile.contracted_until
    gap = curve.releasing_gap_months if curve.releasing_gap_months is not None else profile.releasing_gap_months
    if until is None and gap:
        raise ParameterError("releasing_gap_months needs contracted_until (the date the contract ends): "
                             "pass --contracted-until DATE or set [rent] contracted_until")
    try:
        contract = None if until is None else Contract(until, gap or 0)
    except ValueError as exc:
        raise ParameterError(str(exc)) from exc
    warnings = [] if spec is not None else anchor_warnings(rent, profile.rent)
    return anchor, contract, warnings


def anchor_position(spec: int | dt.date | None, grid: PeriodGrid, rent: np.ndarray) -> int:
    """The anchor's position: a period number (1 = the first), the period containing a date, or the first
    period with rent."""

    if isinstance(spec, dt.date):
        found = [p for p in range(grid.n_periods) if grid.starts[p] <= spec <= grid.ends[p]]
        if not found:
            raise ParameterError(f"anchor: {spec.isoformat()} is in none of the template's periods "
                                 f"({grid.starts[0].isoformat()} to {grid.ends[-1].isoformat()})")
        position: int | None = found[0]
    else:
        position = None if spec is None else spec - 1
    try:
        return anchor_period(rent, position)
    except ValueError as exc:
        raise ParameterError(str(exc)) from exc


def anchor_warnings(rent: np.ndarray, cells: tuple[CellRef, ...]) -> list[str]:
    """A first period with rent more than 3x the next (or under a third): a one-off to anchor on? (docs/curve.md, the anchor)."""
    found = anchor_outlier(rent)
    if found is None:
        return []
    first, following, _change = found
    return [f"The first period with rent ({cells[first]}: {rent[first]:,.2f}) is {rent[first] / rent[following]:.2f}x "
            f"the next ({cells[following]}: {rent[following]:,.2f}); index mode scales every later period from it. "
            f"If it is a one-off, anchor on period {following + 1}: --anchor {following + 1} "
            f"(or [rent] anchor = {following + 1} in the profile)."]


def loan_security(curve: CurveChoice, profile: TemplateProfile, ev: Evaluation, grid: PeriodGrid,
              params: CurveParams, money: Money) -> Security:
    proposed = None
    if curve.collateral.kind is None and profile.collateral_kind is None:
        found = propose_security(deal_texts(ev.get, profile))
        proposed = (found.kind, f"{found.how} at {found.where}")
    return security(curve.collateral, profile, proposed, preset=curve.preset, grid=grid, gpus=params.gpus,
                    money_scale=money.scale)


def summary_note(curve: CurveChoice, params: CurveParams, collateral: Security, contract: Contract | None) -> str:
    text = (f"Rent curve: preset {curve.preset} ({curve.mode.value} mode, d {params.d:.3f}, p0 {params.p0:g}, "
            f"price date {params.price_date.isoformat()})")
    if contract is not None:
        text += (f"; contracted until {contract.until.isoformat()}, then a {contract.releasing_gap_months}-month "
                 "re-leasing gap, then the market")
    fleet = collateral.fleet
    if collateral.fleet_values is not None and fleet is not None:
        channel = next((k for k, v in SALE_CHANNELS.items() if v == fleet.h_liq), f"h_liq {fleet.h_liq:g}")
        text += (f". Collateral: {channel} sale, cooling/site haircut {fleet.h_infra:.0%}, repossession costs "
                 f"{fleet.repo_cost_pct:.0%}, market depth {fleet.monthly_volume:,.0f} GPUs a month")
    return text + ". Inputs on GPU_Curve; docs/credit.md and docs/curve.md define every number."
