"""A model session: a template loaded once into the formula engine, patched with GPU_Curve.

``ModelSession.open`` loads and reconciles the template, reads its "before" lines, patches the
workbook package (GPU_Curve, rewired rent cells) and mirrors the same patch into the loaded engine,
which then re-evaluates incrementally — only what the new rent reaches. A caller may then set curve
inputs or template input cells and re-evaluate (each change re-computes only what depends on it),
read any line, and finally :meth:`ModelSession.write` the annotated workbook. A conversion is a
session opened and written once; the scenario commands (``breakeven``, ``size``, ``grid``) open one
session and evaluate it many times. Its values equal a full conversion's with the same inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from engine.errors import (
    ConsistencyError,
    GpuCreditError,
    ParameterError,
    ProfileError,
    TemplateError,
)
from engine.formula.cached import write_cached_values
from engine.formula.datatables import evaluate_tables, find_tables
from engine.formula.evaluate import Evaluation, evaluate
from engine.formula.reconcile import CachedResults, Reconciliation, cached_results, reconcile, require_reconciled
from engine.formula.support import refuse_unsupported
from engine.patch.choice import CurveChoice
from engine.patch.curve_sheet import SHEET_NAME, input_values, shock_cells
from engine.patch.rewire import ALREADY_CONVERTED, PatchResult, apply_patch
from engine.refs import CellRef
from engine.report.annotate import annotate
from engine.report.credit_report import CreditReport
from engine.report.deal_terms import loan_security, money_unit, rent_terms, summary_note
from engine.report.memo import memo_text
from engine.report.metric_table import measure
from engine.report.metrics import StateLines, debt_service_sign, read_lines
from engine.report.questions import Block, add_blocks
from engine.report.result import ConversionResult
from engine.report.sizing import DebtSizing, read_amounts, size_after_patch, write_held
from engine.report.summary import SHEET as SUMMARY_SHEET
from engine.session.steps import (
    apply_edits,
    cell_ref,
    covenant_formula,
    identical,
    read_rent,
    resolve_profile,
    used_cells,
)
from engine.template.profile import TemplateProfile
from engine.template.timeline import read_grid
from engine.values import CellValue
from engine.xlsx.load import Limits, Source, load
from engine.xlsx.package import Package
from engine.xlsx.save import check_output, check_workbook_output, prepare_for_recalc_on_open, write_atomic
from models.credit import CreditMetrics
from models.curves import (
    Contract,
    CurveParams,
    RentMode,
    changed_periods,
    rent_after,
    resolve_start,
)
from models.periods import PeriodGrid

Key = tuple[str, int, int]


class ModelSession:
    """The lender's model as a function: set inputs, re-evaluate, read lines (see the module docstring).

    Attributes
    ----------
    profile : TemplateProfile
        Where the template keeps its timeline, rent and debt lines.
    params : CurveParams
        The curve applied now (``start`` resolved).
    rent_before, lines_before, metrics_before
        The unpatched workbook's rent row, lines and credit metrics.
    """

    def __init__(self, *, source: Source, profile: TemplateProfile, curve: CurveChoice, params: CurveParams,
                 grid: PeriodGrid, rent_before: np.ndarray, credit: CreditReport, anchor: int,
                 contract: Contract | None, warnings: list[str], reconciled: Reconciliation, unverified: tuple[str, ...],
                 keep: set[Key], package: Package, patch: PatchResult, engine: Evaluation, limits: Limits,
                 tables: bool, reproduced: Mapping[Key, CellValue]) -> None:
        self.source = source
        self.profile = profile
        self.curve = curve
        self.params = params
        self.grid = grid
        self.rent_before = rent_before
        self.credit = credit
        self.lines_before = credit.lines_before
        self.metrics_before = credit.metrics_before
        self.security = credit.security
        self.collateral_params = credit.security.fleet
        self.collateral = credit.security.fleet_values
        self.anchor = anchor
        self.contract = contract
        self.warnings = warnings
        self.reconciled = reconciled
        self.unverified = unverified
        self.keep = keep
        self._package = package
        self._patch = patch
        self.engine = engine
        self._limits = limits
        self._tables = tables  # the workbook has What-If data tables: recompute them after each evaluation
        self._reproduced = reproduced
        self._cell_edits: dict[Key, CellValue] = {}
        self._originals: dict[Key, CellValue] = {}
        self._shocks: np.ndarray | None = None
        self._curve_edits: dict[Key, CellValue] = {}
        self._written = False
        self._dirty = False  # inputs were set since the last evaluation
        self.debt_sizing = DebtSizing((), (), (), False)  # set by open: the debt the model sizes from the rent

    # -- opening ----------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, curve: CurveChoice | None = None,
             profile: TemplateProfile | str | Path | None = None, limits: Limits | None = None,
             accept_unreconciled: bool = False, hold_debt: bool = False) -> ModelSession:
        """Load, reconcile and patch ``path``; nothing is written. Errors name the file. ``hold_debt`` keeps
        a debt amount the model sizes from the rent at its original value (:mod:`engine.report.sizing`)."""
        path = Path(path)
        try:
            return cls._open(path, curve or CurveChoice(), profile, limits or Limits(), accept_unreconciled,
                             hold_debt)
        except GpuCreditError as exc:
            raise exc.with_path(path) from exc.__cause__

    @classmethod
    def _open(cls, path: Path, curve: CurveChoice, profile_arg: TemplateProfile | str | Path | None,
              limits: Limits, accept_unreconciled: bool, hold_debt: bool = False) -> ModelSession:
        source = load(path, limits)
        if any(entry.name.lower() == SHEET_NAME.lower() for entry in source.package.sheets()):
            raise TemplateError(ALREADY_CONVERTED, path=path, sheet=SHEET_NAME)
        cached: list[CachedResults] = []  # Excel's values, read from the file while the engine evaluates
        engine = evaluate(source.data, path=path, date1904=source.date1904, time_limit_s=limits.max_eval_seconds,
                          package=source.package, meanwhile=lambda: cached.append(cached_results(source.package)))
        tables = bool(find_tables(source.package))
        if tables:
            evaluate_tables(source.package, engine, path=path)
        reconciled = reconcile(source.package, engine, cached.pop())  # popped: freed once compared
        profile = resolve_profile(source, profile_arg, engine, start=curve.start_date())
        used = used_cells(engine, profile)
        refuse_unsupported(engine.unsupported, used, path=path)
        unverified = require_reconciled(reconciled, used, path=path, accept=accept_unreconciled)
        # Cells the rent does not reach keep Excel's own cached value where the engine disagrees, or where
        # they call a function the engine lacks (its value there is not an answer).
        keep = ({(mm.sheet, mm.row, mm.col) for mm in reconciled.mismatches} | set(engine.unsupported)) - {
            (mm.sheet, mm.row, mm.col) for mm in unverified}
        grid = read_grid(engine, profile.timeline, path=path, date1904=source.date1904)
        rent_before = read_rent(engine, profile.rent, path)
        money = money_unit(profile, engine)
        anchor, contract, warnings = rent_terms(curve, profile, grid, rent_before)
        params = resolve_start(curve.params(profile, money.scale), grid, rent_before, anchor)
        if curve.mode is RentMode.ABSOLUTE and params.gpus is None:
            raise ParameterError("absolute mode needs the fleet size: pass --set gpus=N or put gpus in the profile")
        if curve.mode is RentMode.ABSOLUTE and money.scale is None and "unit_scale" not in curve.overrides:
            raise ProfileError("absolute mode prices the fleet in US dollars, but the template's money unit is "
                               "unknown; set [deal] unit in the profile (e.g. unit = \"USD millions\") or pass "
                               "--set unit_scale")
        try:  # a contract that ends before the anchor period, an anchor without rent
            rent_after(rent_before, grid, params, curve.mode, anchor=anchor, contract=contract)
        except ValueError as exc:
            raise ParameterError(str(exc)) from exc
        changed = changed_periods(rent_before, curve.mode, anchor)
        collateral = loan_security(curve, profile, engine, grid, params, money)
        credit = CreditReport(before=engine, profile=profile, grid=grid, security=collateral, money=money,
                              sign=debt_service_sign(engine, profile, path))
        if credit.sign == "-":
            warnings.append("The template books debt service as negative amounts (outflows); gpucredit tests their "
                            "size.")
        # the values the engine reproduced, before any change: a cell still holding its value when the
        # output is written keeps the value the file caches (compared by value: the engine's graph
        # does not follow references made through defined names). Read again where circular references
        # iterate: detection's probes recalculated since, and those values move at every evaluation.
        reproduced = ({key: engine.get(*key) for key in reconciled.reproduced} if engine.iterating
                      else reconciled.reproduced)
        debt_before = read_amounts(engine, profile.debt_amount)  # the loan the model sizes, before
        package = source.package  # the output: the loaded package, edited part by part
        patch = apply_patch(package, profile=profile, grid=grid, params=params, rent_before=rent_before,
                            changed=changed, mode=curve.mode, preset=curve.preset,
                            old_values=[float(x) for x in rent_before], date1904=source.date1904,
                            defer_curve_sheet=True, anchor=anchor, contract=contract)
        if patch.split_arrays:
            # A rent cell inside an array formula: the split array is given to a fresh engine copy of the
            # patched package rather than mirrored cell by cell.
            package.write_xml(patch.curve_part, patch.curve_sheet.to_root())
            engine = evaluate(package.to_bytes(compress=False), path=path, date1904=source.date1904,
                              time_limit_s=limits.max_eval_seconds)
        else:
            engine.add_sheet(SHEET_NAME, patch.curve_sheet.contents())
            engine.set_formulas({(c.cell.sheet, c.cell.row, c.cell.col): c.new_formula for c in patch.changes})
            engine.recalculate()
        sizing = size_after_patch(engine, profile.debt_amount, debt_before, hold=hold_debt)
        session = cls(source=source, profile=profile, curve=curve, params=params, grid=grid, rent_before=rent_before,
                      credit=credit, anchor=anchor, contract=contract, warnings=warnings, reconciled=reconciled,
                      unverified=tuple(str(mm) for mm in unverified), keep=keep, package=package, patch=patch,
                      engine=engine, limits=limits, tables=tables, reproduced=reproduced)
        session.debt_sizing = sizing
        if tables:
            evaluate_tables(package, engine, path=path)
        session.check_rent()
        return session

    # -- asking the model -------------------------------------------------------------------------
    @property
    def mode(self) -> RentMode:
        return self.curve.mode

    def expected_rent(self) -> np.ndarray:
        """The rent row the curve gives now, computed independently of the workbook by ``models/``."""
        return rent_after(self.rent_before, self.grid, self.params, self.mode, anchor=self.anchor,
                          contract=self.contract, shocks=self._shocks)

    @property
    def anchor_position(self) -> int:
        """The anchor period's position (the profile's or ``--anchor``, else the first with rent)."""
        return self.anchor

    def set_shocks(self, shocks: Sequence[float] | None) -> None:
        """A stress scenario's monthly multipliers on the spot price (GPU_Curve column Z), one per month of
        its monthly table; None puts every month back to 1."""
        cells = shock_cells(self._patch.layout)
        values = [1.0] * len(cells) if shocks is None else [float(x) for x in shocks]
        if len(values) != len(cells) or not all(math.isfinite(x) and x > 0 for x in values):
            raise ParameterError(f"shocks: give {len(cells)} positive monthly multipliers (one per month of GPU_Curve)")
        edits: dict[Key, CellValue] = {(SHEET_NAME, row, col): value
                                       for (row, col), value in zip(cells, values, strict=True)}
        self.engine.set_values(edits)
        self._curve_edits.update(edits)
        self._shocks = None if shocks is None else np.array(values)
        self._dirty = True

    def reset_cells(self) -> None:
        """Put every template input the session set back to the file's value."""
        originals = {key: value for key, value in self._originals.items() if key in self._cell_edits}
        if originals:
            self.engine.set_values(originals)
            self._dirty = True
        self._cell_edits.clear()

    def set_curve(self, **overrides: object) -> None:
        """Change curve parameters (``d=0.3``, ``p0=2.1``, ``launches=(...)``) on GPU_Curve's input cells.

        Raises
        ------
        ParameterError
            For a value outside its range, or a change GPU_Curve's layout cannot take in a session
            (``start``, ``price_date``, more launches or utilisation years than the sheet holds).
        """
        try:
            params = self.params.with_overrides(**overrides)
        except (TypeError, ValueError) as exc:
            raise ParameterError(str(exc)) from exc
        for name in ("start", "price_date"):
            if getattr(params, name) != getattr(self.params, name):
                raise ParameterError(f"{name}: cannot change in a model session (the monthly table of GPU_Curve "
                                     "is laid out for it); convert with --set instead")
        before = input_values(self.params, date1904=self.source.date1904)
        after = input_values(params, date1904=self.source.date1904)
        if set(after) - set(before):
            raise ParameterError("the curve needs more utilisation years or launches than GPU_Curve holds in "
                                 "this session; convert with --set instead")
        edits = {(SHEET_NAME, row, col): value for (row, col), value in after.items() if before.get((row, col)) != value}
        edits.update({(SHEET_NAME, row, col): None for (row, col) in before if (row, col) not in after})
        self.engine.set_values(edits)
        self._curve_edits.update(edits)
        self._dirty = True
        self.params = params

    def set_cells(self, values: Mapping[str | CellRef, float]) -> None:
        """Set template input cells (``{"Inputs!C12": 1.2e8}``): constants only, never a formula cell."""
        edits: dict[Key, CellValue] = {}
        for ref, value in values.items():
            cell = ref if isinstance(ref, CellRef) else cell_ref(ref)
            if cell.sheet in (SHEET_NAME, SUMMARY_SHEET):
                raise ParameterError(f"{cell}: a gpucredit sheet; set curve parameters by name instead")
            if self.engine.formula(cell.sheet, cell.row, cell.col) is not None:
                raise ParameterError(f"{cell}: holds a formula, not an input; choose the input cell it reads",
                                     sheet=cell.sheet, cell=cell.a1)
            key = (cell.sheet, cell.row, cell.col)
            self._originals.setdefault(key, self.engine.get(*key))
            edits[key] = float(value)
        self.engine.set_values(edits)
        for key, new in edits.items():  # an input set back to the file's value is no edit
            if identical(new, self._originals[key]):
                self._cell_edits.pop(key, None)
            else:
                self._cell_edits[key] = new
        self._dirty = True

    def evaluate(self) -> None:
        """Re-compute what the inputs set since the last evaluation reach (incrementally)."""
        if not self._dirty:
            return
        self._dirty = False
        self.engine.recalculate()
        if self._tables:
            evaluate_tables(self._package, self.engine, path=self.source.path)

    def value(self, ref: str | CellRef) -> CellValue:
        """The current value of any cell (``"Model!E24"``)."""
        cell = ref if isinstance(ref, CellRef) else cell_ref(ref)
        return self.engine.get(cell.sheet, cell.row, cell.col)

    def lines(self) -> StateLines:
        """The profile's lines (rent, CFADS, debt service, balance, DSCR, covenant) as they are now."""
        return read_lines(self.engine, self.profile, self.credit.sign)

    def metrics(self) -> CreditMetrics:
        """Every credit metric of the model as it is now (the one metric table, ``metric_table.py``)."""
        return measure(self.lines().inputs(self.grid, self.security.values(self.engine, self.grid.n_periods)))

    def check_rent(self) -> None:
        """The workbook's recomputed rent must equal the curve computed independently by ``models/``."""
        expected = self.expected_rent()
        path = self.source.path
        for change in self._patch.changes:
            p = change.period
            cell = self.profile.rent[p]
            got = self.engine.get(cell.sheet, cell.row, cell.col)
            want = float(expected[p])
            if not isinstance(got, float) or abs(got - want) > max(1e-9 * abs(want), 1e-6):
                raise ConsistencyError(
                    f"the workbook computes {got!r} for this rent cell but the GPU curve gives {want!r}; "
                    "this is a gpucredit bug, please report it with the template",
                    path=path, sheet=cell.sheet, cell=cell.a1)

    # -- writing ----------------------------------------------------------------------------------
    def write(self, out: str | Path, *, force: bool = False, memo: str | Path | None = None,
              blocks: Sequence[Block] = (), finish: Callable[[Package, dict[str, int]], None] | None = None
              ) -> ConversionResult:
        """Annotate, add Credit_Summary, write every formula's cached value and save ``out`` atomically;
        with ``memo``, also the credit memo (Markdown) there.

        ``blocks`` (answers of the credit questions) go on Credit_Summary; ``finish(package, styles)``
        may add sheets of values (the Sensitivity sheet) before the package is saved. A session is
        written once (the package is annotated in place).
        """
        try:
            return self._write(Path(out), force, Path(memo) if memo is not None else None, blocks, finish)
        except GpuCreditError as exc:
            raise exc.with_path(self.source.path) from exc.__cause__

    def _write(self, out_path: Path, force: bool, memo: Path | None, blocks: Sequence[Block],
               finish: Callable[[Package, dict[str, int]], None] | None) -> ConversionResult:
        path = self.source.path
        if out_path.resolve() == path.resolve():
            raise ParameterError("the output would overwrite the input; choose another output path", path=path)
        check_workbook_output(path, out_path, force=force)
        if memo is not None:
            check_output(memo, force=force, what="memo file")
        if self._written:
            raise ParameterError("this model session was already written; open a new one")
        self._written = True
        self.evaluate()
        self.check_rent()
        package, patch, profile, curve = self._package, self._patch, self.profile, self.curve
        apply_edits(package, self._cell_edits)
        write_held(package, self.debt_sizing)
        cells = patch.curve_sheet.cells  # GPU_Curve is written from these, with the session's inputs
        for (_sheet, row, col), value in self._curve_edits.items():
            kind, _old, style = cells[(row, col)]
            cells[(row, col)] = (kind, value, style)
        annotate(package, patch, comment_lines=[f"Curve: preset {curve.preset}, {curve.mode.value} mode; "
                                                "inputs on the GPU_Curve sheet."],
                 dscr=profile.metrics.get("dscr"), covenant=covenant_formula(profile))
        credit, money, collateral = self.credit, self.credit.money, self.security
        credit.add_summary(package, lines=[f"{money.sentence()} Security: {collateral.note} ({collateral.reason})",
                                           summary_note(curve, self.params, collateral, self.contract)],
                           notes=self.warnings, frequency_months=profile.timeline.frequency.value,
                           styles=patch.styles, date1904=self.source.date1904)
        prepare_for_recalc_on_open(package)
        self.engine.add_sheet(SUMMARY_SHEET, credit.summary_cells)
        self._dirty = True
        self.evaluate()
        credit.finish(package, self.engine, styles=patch.styles, date1904=self.source.date1904, path=path)
        assert credit.metrics_after is not None
        if blocks:
            add_blocks(credit.summary_sheet, list(blocks), patch.styles)
        if finish is not None:
            finish(package, patch.styles)
        # Nothing edits GPU_Curve and Credit_Summary from here: they are written as bytes with their values,
        # without a tree (35 and 28 MB on the 1,200-month variant).
        package.write(patch.curve_part, patch.curve_sheet.to_xml(
            values=lambda row, col: self.engine.get(SHEET_NAME, row, col)))
        summary_formulas = credit.write_summary(package, self.engine)
        # Cells the engine reproduced whose value did not change keep the value the file holds.
        get = self.engine.get
        skip = {key for key, value in self._reproduced.items() if identical(get(*key), value)}
        written = write_cached_values(package, self.engine, path=path, keep=self.keep, skip=skip,
                                      written_sheets={SHEET_NAME: patch.curve_sheet.formula_count,
                                                      SUMMARY_SHEET: summary_formulas})
        write_atomic(package.to_bytes(), out_path, force=force)
        result = ConversionResult(
            input=path, output=out_path, preset=curve.preset, mode=curve.mode, params=self.params,
            collateral=collateral.fleet if collateral.fleet_values is not None else None,
            rent_cells=profile.rent, grid=self.grid, rent_before=self.rent_before,
            rent_after=self.expected_rent(), dscr_before=credit.dscr_before, dscr_after=credit.dscr_after,
            metrics_before=credit.metrics_before, metrics_after=credit.metrics_after,
            changed_cells=tuple(c.cell for c in patch.changes), formulas_written=written,
            reconciled_cells=self.reconciled.checked, iteration=self.engine.iteration.to_json(),
            unverified=self.unverified, kept_excel_values=len(self.keep), reconciliation=self.reconciled.to_json(),
            credit=credit, anchor=self.anchor, contract=self.contract,
            warnings=tuple(self.warnings + credit.warnings), memo=memo,
            debt_sizing=self.debt_sizing.to_json() if self.debt_sizing.cells else None,
            external_links=self.source.external.to_json(),
            notes=tuple(n for n in (self.debt_sizing.note(), self.source.external.note()) if n),
        )
        if memo is not None:
            write_atomic(memo_text(result, curve, profile).encode(), memo, force=force)
        return result
