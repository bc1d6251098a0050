"""Where a template keeps the loan amount: the profile's ``[deal] loan_amount``, else found by label and
checked through the model (an input that, raised, raises the debt the schedule carries).

Labels read: "Loan amount", "Senior loan amount", "Term loan amount", "Facility amount", "Senior
debt", "Debt amount", "Principal amount", "Draw …" / "Drawdown …". A candidate is a numeric constant
(not a formula) on the label's row, within four cells of it; it is kept only if raising it by 1 %
raises the sum of the closing balance (or of the debt service) — a draw date or a quarter number
does not. Several kept candidates with labels that differ only by their numbers ("Draw in quarter
1", "… 2") are tranches, scaled together; any other several is an error naming them.
"""

from __future__ import annotations

import re

import numpy as np

from engine.errors import DetectionError
from engine.formula.reconcile import shared_strings
from engine.refs import CellRef
from engine.session import ModelSession
from engine.xlsx.package import m
from engine.xlsx.sheet import sheet_of

_LOAN = re.compile(r"\b(loan|facility|senior debt|term debt|debt amount|principal amount|draw|drawdown|"
                   r"tranche)\b", re.IGNORECASE)
_NOT_LOAN = re.compile(r"\b(rate|margin|fee|tenor|term \(|years|months|period|date|check|total|cover|dscr|ltv|"
                       r"interest|repayment|amortisation|amortization|balance|ratio|%|commitment)\b", re.IGNORECASE)


def loan_inputs(session: ModelSession) -> tuple[CellRef, ...]:
    """The loan-amount input cells (one, or the tranches of a delayed-draw facility).

    Raises
    ------
    DetectionError
        When the profile names none and no labelled input is found, or several unrelated ones are.
    """
    if session.profile.loan_amount:
        return session.profile.loan_amount
    candidates = _labelled_inputs(session)
    kept = [(label, cell) for label, cell in candidates if _raises_debt(session, cell)]
    if not kept:
        listed = "; ".join(f"'{label}' at {cell}" for label, cell in candidates[:4]) or "none"
        raise DetectionError(f"no loan-amount input found (labelled inputs tried: {listed}); name it in the "
                             'profile: [deal] loan_amount = "Inputs!C12" (a list for tranches)',
                             path=session.source.path)
    stems = {re.sub(r"\d+", "#", label.lower()) for label, _ in kept}
    if len(kept) > 1 and len(stems) > 1:
        listed = "; ".join(f"'{label}' at {cell}" for label, cell in kept)
        raise DetectionError(f"several inputs could be the loan amount: {listed}; name it in the profile: "
                             '[deal] loan_amount = "Inputs!C12" (a list for tranches)', path=session.source.path)
    return tuple(cell for _, cell in kept)


def _labelled_inputs(session: ModelSession) -> list[tuple[str, CellRef]]:
    package = session.source.package
    strings = shared_strings(package)
    out = []
    for entry in package.sheets():
        if entry.name in ("GPU_Curve", "Credit_Summary") or not package.has(entry.part):
            continue
        sheet = sheet_of(package, entry.part)
        for (row, col), c_el in list(sheet.cells()):
            label = _text(c_el, strings)
            if label is None or not _LOAN.search(label) or _NOT_LOAN.search(label):
                continue
            for cc in range(col + 1, col + 5):
                value_el = sheet.cell(row, cc)
                if value_el is None or value_el.find(m("f")) is not None:
                    continue
                value = session.engine.get(entry.name, row, cc)
                if isinstance(value, float) and value > 0:
                    out.append((label.strip(), CellRef(entry.name, row, cc)))
    return out


def _text(c_el: object, strings: list[str]) -> str | None:
    from lxml import etree

    assert isinstance(c_el, etree._Element)
    kind = c_el.get("t")
    if kind == "s":
        v = c_el.findtext(m("v"))
        return strings[int(v)] if v is not None and v.isdigit() and int(v) < len(strings) else None
    if kind == "inlineStr":
        return "".join(str(x) for x in c_el.itertext())
    return None


def _raises_debt(session: ModelSession, cell: CellRef) -> bool:
    """Whether raising ``cell`` by 1 % raises the debt the schedule carries (restored afterwards)."""
    base = session.value(cell)
    assert isinstance(base, float)
    before = _debt(session)
    session.set_cells({cell: base * 1.01})
    session.evaluate()
    after = _debt(session)
    session.set_cells({cell: base})
    session.evaluate()
    return before is not None and after is not None and after > before * (1 + 1e-9)


def _debt(session: ModelSession) -> float | None:
    lines = session.lines()
    for line in (lines.closing_balance, lines.debt_service):
        if line is not None and np.any(np.isfinite(line)):
            return float(np.nansum(np.abs(line)))
    return None
