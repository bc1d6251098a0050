"""``gpucredit size``: the largest loan whose minimum DSCR stays at or above a target under the curve.

The loan is the template's own loan-amount input (:mod:`engine.scenarios.loan`); a delayed-draw
facility's draws are scaled by one factor. The factor is bracketed (doubling or halving from the
loan as the template has it), then the edge of the loans the model carries is found on the lender's
own model: scipy's ``brentq`` where the minimum DSCR crosses the target, and bisection where it
holds at the target over a range of loans (a model that sculpts its debt service to CFADS does,
until the loan is too large to repay) — either way to a relative 1e-12, so the answer's minimum DSCR
equals the target and 1 % more loan breaches it.

Beside it, an independent check from ``models/debt.py``: the sculpted debt capacity of the re-priced
CFADS over the loan life (periods with debt service), discounted at the loan's rate — equal to the
answer for a model that sculpts its debt service to CFADS, and an upper bound otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from engine.errors import ParameterError
from engine.report.questions import Block
from engine.refs import CellRef
from engine.scenarios.knobs import min_dscr
from engine.scenarios.loan import loan_inputs
from engine.session import ModelSession
from models.credit import rate_per_period
from models.debt import sculpted_capacity

_MAX_STEPS = 60  # doublings or halvings while bracketing: a factor of 2**60 either way


@dataclass(frozen=True)
class Sizing:
    """The sized loan: the factor on the template's loan, the amounts and the check."""

    target_dscr: float
    cells: tuple[CellRef, ...]
    original: tuple[float, ...]
    factor: float
    min_dscr: float
    sculpted_capacity: float | None
    tenor: float | None = None

    @property
    def amounts(self) -> tuple[float, ...]:
        return tuple(a * self.factor for a in self.original)

    @property
    def loan(self) -> float:
        return float(sum(self.amounts))

    def to_json(self) -> dict[str, object]:
        return {"target_dscr": self.target_dscr, "cells": [str(c) for c in self.cells],
                "original": list(self.original), "original_loan": float(sum(self.original)),
                "factor": self.factor, "amounts": list(self.amounts), "loan": self.loan, "min_dscr": self.min_dscr,
                "sculpted_capacity": self.sculpted_capacity, "tenor": self.tenor}


def size(session: ModelSession, target_dscr: float, *, tenor: float | None = None) -> Sizing:
    """Size the loan for ``target_dscr``; leaves the session holding the sized loan (``write`` it to save).

    ``tenor`` first sets the profile's ``[deal] tenor`` input (a ParameterError when there is none).
    """
    if not (np.isfinite(target_dscr) and target_dscr > 0):
        raise ParameterError(f"--target-dscr {target_dscr!r}: give a positive ratio such as 1.30")
    if tenor is not None:
        if session.profile.tenor is None:
            raise ParameterError('--tenor needs the tenor input named in the profile: [deal] tenor = "Inputs!C23"')
        session.set_cells({session.profile.tenor: float(tenor)})
    cells = loan_inputs(session)
    original = []
    for cell in cells:
        value = session.value(cell)
        if not isinstance(value, float) or value <= 0:
            raise ParameterError(f"{cell}: the loan amount holds {value!r}; it must be a positive number",
                                 sheet=cell.sheet, cell=cell.a1)
        original.append(value)

    def f(k: float) -> float:
        session.set_cells({cell: amount * k for cell, amount in zip(cells, original, strict=True)})
        session.evaluate()
        return min_dscr(session.metrics()) - target_dscr

    lo, hi = _bracket(f)
    factor = _edge(f, lo, hi, target_dscr)
    achieved = f(factor) + target_dscr
    return Sizing(target_dscr, cells, tuple(original), factor, achieved, _capacity(session, target_dscr), tenor)


def _edge(f: Callable[[float], float], lo: float, hi: float, target: float) -> float:
    """The largest k in [lo, hi) the model carries: f(k) >= 0 (a breach is a shortfall beyond a relative
    1e-9 of the target, as the breach rule has it)."""
    tolerance = 1e-9 * target
    if f(lo) > tolerance:  # strictly above the target: a crossing, brentq finds it
        root = float(brentq(f, lo, hi, xtol=1e-14 * hi, rtol=1e-12))
        if f(root) >= -tolerance:
            return root
    while hi - lo > 1e-12 * hi:  # on the target for a range of loans: bisect to the edge of it
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) >= -tolerance else (lo, mid)
    return lo


def _bracket(f: object) -> tuple[float, float]:
    """``(lo, hi)`` with f(lo) >= 0 > f(hi) (the loan carried at lo, breaching at hi)."""
    assert callable(f)
    k = 1.0
    if f(k) >= 0:
        for _ in range(_MAX_STEPS):
            if f(k * 2) < 0:
                return k, k * 2
            k *= 2
        raise ParameterError("the model never breaches the target however large the loan; check that the loan "
                             "input feeds the debt schedule ([deal] loan_amount)")
    for _ in range(_MAX_STEPS):
        k /= 2
        if f(k) >= 0:
            return k, k * 2
    raise ParameterError("the model breaches the target however small the loan (CFADS cannot carry any debt "
                         "at this DSCR)")


def _capacity(session: ModelSession, target: float) -> float | None:
    """The sculpted capacity of the session's CFADS over the periods with debt service (None without the
    lines or a rate)."""
    lines = session.lines()
    if lines.cfads is None or lines.debt_service is None or lines.interest is None or lines.closing_balance is None:
        return None
    rate = rate_per_period(lines.interest, lines.closing_balance)
    if rate is None:
        return None
    life = np.nan_to_num(lines.debt_service) > 0
    if not life.any():
        return None
    first = int(np.flatnonzero(life)[0])
    last = int(np.flatnonzero(life)[-1])
    return sculpted_capacity(np.nan_to_num(lines.cfads[first:last + 1]), rate, target)


def sizing_block(sizing: Sizing) -> Block:
    """The sized loan as a block for Credit_Summary (the workbook written holds the sized amounts)."""
    rows: list[tuple[object, ...]] = [(str(c), o, a) for c, o, a in zip(sizing.cells, sizing.original, sizing.amounts,
                                                                          strict=True)]
    rows.append(("total", float(sum(sizing.original)), sizing.loan))
    rows.append(("minimum DSCR at the sized loan", None, sizing.min_dscr))
    if sizing.sculpted_capacity is not None:
        rows.append(("sculpted debt capacity (models/debt.py check)", None, sizing.sculpted_capacity))
    if sizing.tenor is not None:
        rows.append(("tenor", None, sizing.tenor))
    return Block(f"Loan sized to a minimum DSCR of {sizing.target_dscr:.2f}x (gpucredit size)",
                 ("loan input", "in the template", "sized"), tuple(rows),
                 note="The loan inputs of this workbook hold the sized amounts; its formulas recompute the rest")
