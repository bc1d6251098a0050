"""Whether the model sizes its own debt (issue 18 §2).

A lender's model often sizes the loan from the cash flows it projects (sculpted repayments, a debt
amount sized on CFADS at a target DSCR). Re-pricing the rent then changes the loan itself, and the
converted model describes a different loan from the one the lender made. Detection finds the debt
amount — a labelled cell the debt lines read — and whether the rent reaches it, both measured on
the loaded engine by raising each by 1 % (:meth:`engine.formula.evaluate.Evaluation.perturbed`).
"""

from __future__ import annotations

from engine.errors import EvaluationError
from engine.formula.evaluate import Evaluation
from engine.refs import CellRef
from engine.template.detect.debt import DebtSearch
from engine.template.detect.graph import STEP
from engine.template.detect.lines import Line
from engine.template.detect.scan import WorkbookScan

Key = tuple[str, int, int]


def _moves(ev: Evaluation, raise_cells: list[Key], watch: list[Key]) -> bool | None:
    """Whether raising ``raise_cells`` by 1 % changes any of ``watch``; None when it cannot be measured."""
    before = [ev.get(*key) for key in watch]
    try:
        with ev.perturbed(raise_cells, STEP) as changed:
            if not changed:
                return None
            after = [ev.get(*key) for key in watch]
    except EvaluationError:
        return None
    return any(a != b for a, b in zip(before, after, strict=True))


def sized_debt(scan: WorkbookScan, debt: DebtSearch, rent: Line, metrics: dict[str, tuple[CellRef, ...]]
               ) -> tuple[CellRef, ...]:
    """The debt amount cells the debt lines read (empty when none is labelled); noted in the report as
    ``debt_amount``, sized by the model or held as an input."""
    lines = [(c.sheet, c.row, c.col) for key in ("closing_balance", "debt_service", "interest", "principal")
             for c in metrics.get(key, ())]
    if not lines:
        return ()
    rent_cells = [(c.sheet, c.row, c.col) for c in rent.cells]
    for cell, label in debt.debt_amount():
        key = (cell.sheet, cell.row, cell.col)
        if not _moves(scan.ev, [key], lines):
            continue  # a figure nothing in the debt schedule reads
        sized = _moves(scan.ev, rent_cells, [key])
        if sized:
            scan.note("debt_amount", str(cell), "high",
                      f"'{label}': sized by the model — the rent reaches it, so a converted model lends a different "
                      "amount (convert reports both; --hold-debt keeps the original)")
        else:
            scan.note("debt_amount", str(cell), "high", f"'{label}': an input; the rent does not reach it")
        return (cell,)
    return ()
