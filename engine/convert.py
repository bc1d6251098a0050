"""The conversion pipeline: load → profile → patch → recalculate → metrics → annotate → write."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.report.annotate import annotate
from engine.formula.datatables import evaluate_tables
from engine.errors import (
    ConsistencyError,
    GpuCreditError,
    OutputError,
    ParameterError,
    ProfileError,
    RentRowError,
)
from engine.report.metrics import CollateralChoice, collateral_values, measure, read_lines
from engine.xlsx.package import Package
from engine.patch.rewire import PatchResult, apply_patch
from engine.template.profile import TemplateProfile, read_profile
from engine.formula.evaluate import Evaluation, evaluate
from engine.formula.support import refuse_unsupported
from engine.formula.reconcile import reconcile as reconcile_workbook
from engine.formula.reconcile import require_reconciled
from engine.template.detect.report import Detection
from engine.refs import CellRef
from engine.report.summary import build_summary, finish_summary, headline
from engine.template.timeline import read_grid
from engine.values import ExcelError
from engine.formula.cached import write_cached_values
from engine.xlsx.load import Limits, Source, load
from engine.xlsx.save import prepare_for_recalc_on_open, write_atomic
from models.collateral import SALE_CHANNELS, CollateralParams
from models.credit import CreditMetrics
from models.curves import (
    CurveParams,
    Launch,
    RentMode,
    changed_periods,
    rent_after,
    resolve_start,
)
from models.periods import PeriodGrid
from models.params import CURVE
from models.presets import UnknownPresetError, get_preset

DEFAULT_PRESET = "h100-base"


@dataclass(frozen=True)
class CurveChoice:
    """Which curve to apply: a preset, parameter overrides, launches and the mode.

    ``launches`` None keeps the preset's launches; an empty tuple means none.
    """

    preset: str = DEFAULT_PRESET
    overrides: dict[str, Any] = field(default_factory=dict)
    launches: tuple[Launch, ...] | None = None
    mode: RentMode = RentMode.INDEX
    collateral: CollateralChoice = field(default_factory=CollateralChoice)

    def params(self, profile: TemplateProfile) -> CurveParams:
        try:
            base = get_preset(self.preset).curve
        except UnknownPresetError as exc:
            raise ParameterError(str(exc)) from exc
        deal: dict[str, Any] = {}
        if profile.gpus is not None:
            deal["gpus"] = profile.gpus
        if profile.unit_scale is not None:
            deal["unit_scale"] = profile.unit_scale
        try:  # the Python API may pass texts ("0.9,0.8" for util) as the CLI does
            overrides = {key: CURVE.parse(key, value) for key, value in self.overrides.items()}
        except ValueError as exc:
            raise ParameterError(str(exc)) from exc
        extra: dict[str, Any] = {**deal, **overrides}
        if self.launches is not None:
            extra["launches"] = self.launches
        try:
            return base.with_overrides(**extra)
        except (TypeError, ValueError) as exc:
            raise ParameterError(str(exc)) from exc


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

    def to_json(self) -> dict[str, Any]:
        def metrics(mx: CreditMetrics) -> dict[str, Any]:
            return {k: (v if not isinstance(v, float) or np.isfinite(v) else None) for k, v in mx.to_dict().items()}

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
            "metrics": {"before": metrics(self.metrics_before), "after": metrics(self.metrics_after)},
            "reconciled_cells": self.reconciled_cells,
            "iteration": self.iteration,
            "reconciliation": self.reconciliation,
            "unverified": list(self.unverified),
            "kept_excel_values": self.kept_excel_values,
            "formulas_written": self.formulas_written,
        }


def default_output(path: Path) -> Path:
    """``deal.xlsx`` → ``deal.gpu.xlsx`` beside it (``.xlsm`` stays ``.xlsm``)."""
    suffix = path.suffix.lower() if path.suffix.lower() in (".xlsx", ".xlsm") else ".xlsx"
    return path.with_name(f"{path.stem}.gpu{suffix}")


def convert(
    path: str | Path,
    out: str | Path | None = None,
    *,
    curve: CurveChoice | None = None,
    profile: TemplateProfile | str | Path | None = None,
    force: bool = False,
    limits: Limits | None = None,
    accept_unreconciled: bool = False,
) -> ConversionResult:
    """Convert one template; writes ``out`` (default :func:`default_output`) and returns the result.

    Nothing is written when any step fails; the input file is only read.
    """
    path = Path(path)
    out_path = Path(out) if out is not None else default_output(path)
    curve = curve or CurveChoice()
    try:
        return _convert(path, out_path, curve, profile, force, limits or Limits(), accept_unreconciled)
    except GpuCreditError as exc:
        raise exc.with_path(path) from exc.__cause__


def _convert(path: Path, out_path: Path, curve: CurveChoice, profile_arg: TemplateProfile | str | Path | None,
             force: bool, limits: Limits, accept_unreconciled: bool) -> ConversionResult:
    if out_path.resolve() == path.resolve():
        raise ParameterError("the output would overwrite the input; choose another output path", path=path)
    if out_path.exists() and not force:
        raise OutputError("output file exists; pass --force to overwrite it", path=out_path)
    # load → profile
    source = load(path, limits)
    before = evaluate(source.data, path=path, date1904=source.date1904, time_limit_s=limits.max_eval_seconds)
    evaluate_tables(source.package, before, path=path)
    reconciled = reconcile_workbook(source.package, before)
    profile = _resolve_profile(source, profile_arg, before)
    used = _used_cells(before, profile)
    refuse_unsupported(before.unsupported, used, path=path)
    unverified = require_reconciled(reconciled, used, path=path, accept=accept_unreconciled)
    # Cells the rent does not reach keep Excel's own cached value where the engine disagrees, or where
    # they call a function the engine lacks (its value there is not an answer).
    keep = ({(mm.sheet, mm.row, mm.col) for mm in reconciled.mismatches} | set(before.unsupported)) - {
        (mm.sheet, mm.row, mm.col) for mm in unverified}
    grid = read_grid(before, profile.timeline, path=path, date1904=source.date1904)
    rent_before = _read_rent(before, profile.rent, path)
    params = resolve_start(curve.params(profile), grid, rent_before)
    if curve.mode is RentMode.ABSOLUTE and params.gpus is None:
        raise ParameterError("absolute mode needs the fleet size: pass --set gpus=N or put gpus in the profile")
    expected = rent_after(rent_before, grid, params, curve.mode)
    changed = changed_periods(rent_before, curve.mode)
    collateral_params = curve.collateral.params(curve.preset, profile, grid, gpus=params.gpus)
    collateral = collateral_values(collateral_params, grid, params.unit_scale)
    lines_before = read_lines(before, profile)
    metrics_before = measure(lines_before, grid, collateral)
    del before  # the engine's copy of the template (the largest object held) is not needed again
    # patch → annotate
    package = Package.from_bytes(source.data)
    patch = apply_patch(package, profile=profile, grid=grid, params=params, rent_before=rent_before,
                        changed=changed, mode=curve.mode, preset=curve.preset,
                        old_values=[float(x) for x in rent_before], date1904=source.date1904)
    annotate(package, patch, comment_lines=[f"Curve: preset {curve.preset}, {curve.mode.value} mode; "
                                            "inputs on the GPU_Curve sheet."],
             dscr=profile.metrics.get("dscr"), covenant=_covenant_formula(profile))
    summary = build_summary(package, profile=profile, grid=grid, before=lines_before,
                            metrics_before=metrics_before, collateral=collateral,
                            note=_summary_note(curve, params, collateral_params), styles=patch.styles,
                            date1904=source.date1904)
    prepare_for_recalc_on_open(package)
    # recalculate → metrics → write
    after = evaluate(package.to_bytes(), path=path, date1904=source.date1904,
                     time_limit_s=limits.max_eval_seconds)
    evaluate_tables(package, after, path=path)
    _check_rent(after, patch, profile, expected, path)
    lines_after = read_lines(after, profile)
    metrics_after = measure(lines_after, grid, collateral)
    finish_summary(package, summary, after=after, metrics_after=metrics_after,
                   headline=headline(metrics_after, lines_after.covenant, profile.timeline.frequency.value),
                   styles=patch.styles, date1904=source.date1904)
    written = write_cached_values(package, after, path=path, keep=keep)
    write_atomic(package.to_bytes(), out_path, force=force)
    return ConversionResult(
        input=path, output=out_path, preset=curve.preset, mode=curve.mode, params=params,
        collateral=collateral_params if collateral is not None else None,
        rent_cells=profile.rent, grid=grid, rent_before=rent_before, rent_after=expected,
        dscr_before=lines_before.dscr, dscr_after=lines_after.dscr,
        metrics_before=metrics_before, metrics_after=metrics_after,
        changed_cells=tuple(c.cell for c in patch.changes), formulas_written=written,
        reconciled_cells=reconciled.checked, iteration=after.iteration.to_json(),
        unverified=tuple(str(mm) for mm in unverified), kept_excel_values=len(keep),
        reconciliation=reconciled.to_json(),
    )


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
    except GpuCreditError as exc:
        raise exc.with_path(path) from exc.__cause__
    found.reconciliation = report
    return found


def _used_cells(ev: Evaluation, profile: TemplateProfile) -> set[tuple[str, int, int]]:
    """The cells a conversion relies on: everything the rent reaches, the timeline, the metric lines."""
    rent = [(c.sheet, c.row, c.col) for c in profile.rent]
    used = ev.downstream(rent)
    for cells in (profile.timeline.cells, profile.timeline.years, *profile.metrics.values()):
        used.update((c.sheet, c.row, c.col) for c in cells)
    if isinstance(profile.covenant, CellRef):
        used.add((profile.covenant.sheet, profile.covenant.row, profile.covenant.col))
    return used


def _summary_note(curve: CurveChoice, params: CurveParams, collateral: CollateralParams) -> str:
    channel = next((k for k, v in SALE_CHANNELS.items() if v == collateral.h_liq), f"h_liq {collateral.h_liq:g}")
    return (f"Computed by gpucredit: rent curve preset {curve.preset} ({curve.mode.value} mode, d {params.d:.3f}, "
            f"p0 {params.p0:g}, price date {params.price_date.isoformat()}); collateral: {channel} sale, "
            f"cooling/site haircut {collateral.h_infra:.0%}, repossession costs {collateral.repo_cost_pct:.0%}, "
            f"{'%g' % collateral.gpus if collateral.gpus else 'no'} GPUs at "
            f"{'$%s' % format(collateral.cost_per_gpu, ',.0f') if collateral.cost_per_gpu else 'no cost'} each.")


def _resolve_profile(source: Source, profile: TemplateProfile | str | Path | None,
                     ev: Evaluation) -> TemplateProfile:
    if isinstance(profile, TemplateProfile):
        chosen = profile
    elif profile is not None:
        chosen = read_profile(profile)
    else:
        beside = source.path.with_suffix(".toml")
        if beside.is_file():
            chosen = read_profile(beside)
        else:
            from engine.template.detect.search import detect_profile

            chosen = detect_profile(source, ev)
    names = {entry.name for entry in source.package.sheets()}
    for sheet in sorted(chosen.sheets()):
        if sheet not in names:
            raise ProfileError(f"the {chosen.origin} names sheet '{sheet}', which the workbook does not have "
                               f"(sheets: {', '.join(sorted(names))})", path=source.path)
    return chosen


def _read_rent(ev: Evaluation, cells: tuple[CellRef, ...], path: Path) -> np.ndarray:
    values = []
    for cell in cells:
        value = ev.get(cell.sheet, cell.row, cell.col)
        if value is None:
            value = 0.0
        if isinstance(value, ExcelError):
            raise RentRowError(f"rent cell holds {value.code}; fix the template or pass --profile",
                               path=path, sheet=cell.sheet, cell=cell.a1)
        if isinstance(value, (bool, str)):
            raise RentRowError(f"rent cell holds {'text' if isinstance(value, str) else 'TRUE/FALSE'} "
                               f"{value!r}, not a number; fix the template or pass --profile",
                               path=path, sheet=cell.sheet, cell=cell.a1)
        values.append(float(value))
    rent = np.array(values)
    if not np.any(rent != 0):
        first = cells[0]
        raise RentRowError("rent is zero or empty in every period, so there is no rent to re-price",
                           path=path, sheet=first.sheet, cell=first.a1)
    return rent


def _covenant_formula(profile: TemplateProfile) -> str | None:
    if isinstance(profile.covenant, CellRef):
        return profile.covenant.formula_ref()
    if profile.covenant is not None:
        return repr(float(profile.covenant))
    return None


def _check_rent(ev: Evaluation, patch: PatchResult, profile: TemplateProfile, expected: np.ndarray,
                path: Path) -> None:
    """The workbook's recomputed rent must equal DESIGN §3 computed independently by models/."""
    for change in patch.changes:
        p = change.period
        cell = profile.rent[p]
        got = ev.get(cell.sheet, cell.row, cell.col)
        want = float(expected[p])
        if not isinstance(got, float) or abs(got - want) > max(1e-9 * abs(want), 1e-6):
            raise ConsistencyError(
                f"the workbook computes {got!r} for this rent cell but the GPU curve gives {want!r}; "
                "this is a gpucredit bug, please report it with the template",
                path=path, sheet=cell.sheet, cell=cell.a1)


