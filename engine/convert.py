"""The conversion pipeline and the Python API: :func:`convert` one template, :func:`inspect` one.

A conversion opens a :class:`engine.session.ModelSession` (load → reconcile → profile → patch → the
engine re-evaluates what the rent reaches) and writes it (annotate → Credit_Summary → cached values
→ atomic save).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from engine.errors import GpuCreditError, ParameterError
from engine.formula.datatables import evaluate_tables
from engine.formula.evaluate import evaluate
from engine.formula.reconcile import reconcile as reconcile_workbook
from engine.patch.choice import CollateralChoice, CurveChoice
from engine.report.questions import Block
from engine.report.result import ConversionResult
from engine.report.deal_terms import anchor_warnings
from engine.session import ModelSession
from engine.template.detect.report import Detection
from engine.template.profile import TemplateProfile
from engine.xlsx.load import Limits, load
from engine.xlsx.save import check_output, check_workbook_output, default_output
from models.presets import DEFAULT_PRESET

__all__ = ["DEFAULT_PRESET", "CollateralChoice", "ConversionResult", "CurveChoice", "convert", "default_output",
           "inspect"]


def convert(
    path: str | Path,
    out: str | Path | None = None,
    *,
    curve: CurveChoice | None = None,
    profile: TemplateProfile | str | Path | None = None,
    force: bool = False,
    limits: Limits | None = None,
    accept_unreconciled: bool = False,
    memo: str | Path | None = None,
    hold_debt: bool = False,
    prepare: Callable[[ModelSession], Sequence[Block]] | None = None,
) -> ConversionResult:
    """Convert one template; writes ``out`` (default :func:`default_output`) and returns the result.

    ``memo``: also write the credit memo (Markdown) there. ``hold_debt``: where the model sizes its
    debt from the rent, keep the original amount (the loan the lender made) instead of letting the
    model re-size it. ``prepare(session)`` may set inputs before the workbook is written (``convert
    --scenario``: a stress scenario's) and return blocks of notes for Credit_Summary. Nothing is
    written when any step fails; the input file is only read.
    """
    path = Path(path)
    out_path = Path(out) if out is not None else default_output(path)
    if out_path.resolve() == path.resolve():
        raise ParameterError("the output would overwrite the input; choose another output path", path=path)
    # before any work: a folder, a name Excel would not open, an existing file without force
    check_workbook_output(path, out_path, force=force)
    if memo is not None:
        check_output(Path(memo), force=force, what="memo file")
    session = ModelSession.open(path, curve=curve, profile=profile, limits=limits,
                                accept_unreconciled=accept_unreconciled, hold_debt=hold_debt)
    blocks = prepare(session) if prepare is not None else ()
    return session.write(out_path, force=force, memo=memo, blocks=blocks)


def inspect(path: str | Path, *, reconcile: bool = False, limits: Limits | None = None) -> Detection:
    """What detection finds in a template, with a confidence per field (``gpucredit inspect``).

    With ``reconcile``, the workbook's What-If tables are computed too and
    :attr:`Detection.reconciliation` reports how many of Excel's cached values the engine
    reproduces, by cause. Detection problems are in :attr:`Detection.error` (never raised);
    a file that cannot be loaded or evaluated raises its :class:`GpuCreditError`.
    """
    from engine.template.detect.search import inspect_workbook

    limits = limits or Limits()
    try:
        source = load(path, limits)
        evaluation = evaluate(source.data, path=source.path, date1904=source.date1904,
                              time_limit_s=limits.max_eval_seconds)
        report = None
        if reconcile:
            evaluate_tables(source.package, evaluation, path=source.path)
            report = reconcile_workbook(source.package, evaluation).to_json()
        found = inspect_workbook(source, evaluation)
        if found.profile is not None:
            rent = np.array([v if isinstance(v, float) and not isinstance(v, bool) else 0.0
                             for v in (evaluation.get(c.sheet, c.row, c.col) for c in found.profile.rent)])
            found.warnings = anchor_warnings(rent, found.profile.rent) if np.any(rent != 0) else []
    except GpuCreditError as exc:
        raise exc.with_path(path) from exc.__cause__
    found.reconciliation = report
    found.external_links = source.external.to_json()
    return found
