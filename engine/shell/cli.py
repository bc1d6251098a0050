"""The ``gpucredit`` command line: parse, call the engine, render. The only printer."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from engine.xlsx.check import check_file
from engine.convert import DEFAULT_PRESET, ConversionResult, CurveChoice, convert
from engine.patch.choice import CollateralChoice
from engine.xlsx.load import Limits
from engine.errors import GpuCreditError, ParameterError
from engine.template.profile import parse_anchor
from models.curves import Launch, RentMode
from models.params import COLLATERAL, COLLATERAL_PARAM_NAMES, CURVE, PARAM_NAMES, parse_launch
from models.presets import preset_names
from models.validate import ParamSet

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Re-price a lender's Excel template with a deflating GPU rental curve.")
out_console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
_state = {"debug": False}


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    _state["debug"] = debug


def _assignments(params: ParamSet, option: str, items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` options (``--set``, ``--collateral``) through the one parser of ``models``."""
    try:
        return params.parse_assignments(items)
    except ValueError as exc:
        raise ParameterError(f"{option} {exc}") from exc


def _overrides(sets: list[str]) -> dict[str, Any]:
    return _assignments(CURVE, "--set", sets)


def _launches(items: list[str], none: bool) -> tuple[Launch, ...] | None:
    if none and items:
        raise ParameterError("--no-launches and --launch contradict each other; use one")
    if none:
        return ()
    if not items:
        return None
    try:
        return tuple(parse_launch(item) for item in items)
    except ValueError as exc:
        raise ParameterError(f"--launch: {exc}") from exc


_CURVE_HELP = f"Curve and collateral preset: {', '.join(preset_names())}."
PresetOpt = Annotated[str, typer.Option(help=_CURVE_HELP)]
SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", metavar="KEY=VALUE", help="Override one curve parameter (repeatable): " + ", ".join(PARAM_NAMES) + ".")]
LaunchOpt = Annotated[Optional[list[str]], typer.Option(
    "--launch", metavar="DATE:STEP", help="A generation launch (repeatable); replaces the preset's launches.")]
NoLaunchOpt = Annotated[bool, typer.Option("--no-launches", help="Apply no launch step-downs.")]
ModeOpt = Annotated[RentMode, typer.Option(case_sensitive=False, help="index: keep the anchor rent, apply the "
                                           "curve's shape; absolute: rent = GPUs x hours x realised price.")]
CollateralOpt = Annotated[Optional[list[str]], typer.Option(
    "--collateral", metavar="KEY=VALUE", help="What secures the loan, kind=gpu_fleet|site|none, or one collateral "
    "parameter (repeatable): " + ", ".join(COLLATERAL_PARAM_NAMES) + "; h_liq also takes a sale channel (orderly, "
    "broker, auction, distressed).")]
AnchorOpt = Annotated[Optional[str], typer.Option(
    "--anchor", metavar="PERIOD", help="The period index mode scales from: a period number (1 = the first) or a "
    "date in it [default: the first period with rent; profile [rent] anchor].")]
ContractOpt = Annotated[Optional[str], typer.Option(
    "--contracted-until", metavar="DATE", help="Periods ending on or before DATE keep the template's rent "
    "(take-or-pay, or a tenant default on DATE); after it, the curve [profile [rent] contracted_until].")]
GapOpt = Annotated[Optional[int], typer.Option(
    "--releasing-gap-months", metavar="N", min=0, help="Months after the contract end that earn nothing "
    "(re-leasing the fleet) [default: 0].")]


def _curve_choice(preset: str, sets: list[str] | None, launches: list[str] | None, no_launches: bool,
                  mode: RentMode, collateral: list[str] | None, anchor: str | None = None,
                  contracted_until: str | None = None, releasing_gap_months: int | None = None) -> CurveChoice:
    from models.validate import parse_date

    try:
        anchor_spec = None if anchor is None else parse_anchor(anchor)
        until = None if contracted_until is None else parse_date("--contracted-until", contracted_until)
    except ValueError as exc:
        raise ParameterError(str(exc)) from exc
    return CurveChoice(preset=preset, overrides=_overrides(sets or []),
                       launches=_launches(launches or [], no_launches), mode=mode,
                       collateral=CollateralChoice(_collateral_overrides(collateral or [])),
                       anchor=anchor_spec, contracted_until=until, releasing_gap_months=releasing_gap_months)


def _collateral_overrides(items: list[str]) -> dict[str, Any]:
    return _assignments(COLLATERAL, "--collateral", items)


@app.command("convert")
def convert_cmd(
    input: Annotated[Path, typer.Argument(help="Lender template (.xlsx or .xlsm).", show_default=False)],
    output: Annotated[Optional[Path], typer.Option("-o", "--output",
                                                   help="Output workbook [default: INPUT.gpu.xlsx beside it].")] = None,
    preset: PresetOpt = DEFAULT_PRESET,
    set_: SetOpt = None,
    launch: LaunchOpt = None,
    no_launches: NoLaunchOpt = False,
    mode: ModeOpt = RentMode.INDEX,
    collateral: CollateralOpt = None,
    profile: Annotated[Optional[Path], typer.Option(help="Template profile (.toml) [default: INPUT.toml beside "
                                                    "the input, else detection].")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing output file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the table.")] = False,
    accept_unreconciled: Annotated[bool, typer.Option(
        "--accept-unreconciled", help="Convert even where the engine does not reproduce Excel's cached values "
        "in cells the rent reaches; those numbers are listed as unverified.")] = False,
    max_eval_seconds: Annotated[float, typer.Option(
        "--max-eval-seconds", min=0.001, help="Time limit for each recalculation of the workbook.")] = 300.0,
    anchor: AnchorOpt = None,
    contracted_until: ContractOpt = None,
    releasing_gap_months: GapOpt = None,
    memo: Annotated[Optional[Path], typer.Option("--memo", metavar="FILE", help="Also write a credit memo "
                                                 "(Markdown): headline, metrics before/after, curve, security.")]
    = None,
) -> None:
    """Convert a template: GPU rent curve in, recomputed and annotated workbook out."""
    def run() -> None:
        curve = _curve_choice(preset, set_, launch, no_launches, mode, collateral, anchor, contracted_until,
                              releasing_gap_months)
        result = convert(input, output, curve=curve, profile=profile, force=force,
                         accept_unreconciled=accept_unreconciled, limits=Limits(max_eval_seconds=max_eval_seconds),
                         memo=memo)
        for warning in result.warnings:
            err_console.print(f"warning: {result.input.name}: {warning}", markup=False)
        if as_json:
            sys.stdout.write(json.dumps(result.to_json()) + "\n")
        else:
            _render(result)

    _guard(run)


@app.command("check")
def check_cmd(
    files: Annotated[list[Path], typer.Argument(help="Workbooks to check (.xlsx or .xlsm).", show_default=False)],
) -> None:
    """Check workbook packages: well-formed XML, relationships, content types, sheet and defined names."""
    failed = False

    def run_one(path: Path) -> None:
        nonlocal failed
        problems = check_file(path)
        if problems:
            failed = True
            for problem in problems:
                err_console.print(f"error: {path.name}: {problem}", markup=False)
        else:
            out_console.print(f"{path.name}: ok", markup=False)

    for path in files:
        try:
            run_one(path)
        except GpuCreditError as exc:
            failed = True
            err_console.print(f"error: {exc.one_line()}", markup=False)
    if failed:
        raise typer.Exit(1)


@app.command("inspect")
def inspect_cmd(
    input: Annotated[Path, typer.Argument(help="Lender template (.xlsx or .xlsm).", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the table.")] = False,
    write_profile: Annotated[Optional[Path], typer.Option("--write-profile", metavar="PATH",
                                                          help="Save what was found as a commented profile "
                                                          "(TOML) to correct and pass to convert --profile.")]
    = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing profile file.")] = False,
    reconcile_: Annotated[bool, typer.Option("--reconcile", help="Also recompute the workbook and report how "
                                             "many of Excel's cached values the engine reproduces, by cause.")]
    = False,
) -> None:
    """Show where a template keeps its timeline, rent and debt lines, and how sure detection is."""
    from engine.convert import inspect
    from engine.template.profile import profile_to_toml
    from engine.xlsx.save import write_atomic

    def run() -> None:
        found = inspect(input, reconcile=reconcile_)
        for warning in found.warnings:
            err_console.print(f"warning: {input.name}: {warning}", markup=False)
        report = found.reconciliation
        if as_json:
            doc = found.to_json()
            if report is not None:
                doc["reconcile"] = report
            sys.stdout.write(json.dumps(doc) + "\n")
        else:
            _render_inspect(found)
            if report is not None:
                _render_reconcile(report)
        if found.error is not None:
            raise found.error
        if write_profile is not None and found.profile is not None:
            if write_profile.exists() and not force:
                from engine.errors import OutputError

                raise OutputError("profile file exists; pass --force to overwrite it", path=write_profile)
            text = f"# detected from {input.name} by gpucredit inspect\n" + profile_to_toml(
                found.profile, comments=found.comments())
            write_atomic(text.encode(), write_profile, force=force)
            if not as_json:
                out_console.print(f"wrote {write_profile}", markup=False)
        if found.guesses():
            from engine.errors import DetectionError

            raise DetectionError("some fields could only be guessed (marked guess); correct them in a profile "
                                 "(--write-profile) before converting", path=input)

    _guard(run)


def _render_reconcile(report: dict[str, Any]) -> None:
    out_console.print(f"reconciliation: {report['reproduced']:,} of {report['total']:,} cached values reproduced "
                      f"({report['share']:.1%})", markup=False)
    for cause, group in report["causes"].items():
        out_console.print(f"  {cause}: {group['count']:,}, e.g. {'; '.join(group['cells'][:3])}", markup=False)


def _render_inspect(found: Any) -> None:
    table = Table(title=f"{found.path.name}: what detection found")
    for col in ("field", "where", "confidence", "how"):
        table.add_column(col)
    for name, item in found.findings.items():
        table.add_row(name, item.where, item.confidence, item.how)
    out_console.print(table)
    for title, items in (("rent candidates", found.rent_candidates), ("other income lines", found.revenue_lines)):
        for c in items:
            out_console.print(f"{title}: '{c.label}' at {c.cells[0].sheet}!{c.cells[0].a1}:{c.cells[-1].a1} "
                              f"— {c.note}", markup=False)


@app.command("batch")
def batch_cmd(
    inputs: Annotated[list[str], typer.Argument(help="Templates, folders or globs.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Folder for the converted workbooks.", show_default=False)],
    preset: PresetOpt = DEFAULT_PRESET,
    set_: SetOpt = None,
    launch: LaunchOpt = None,
    no_launches: NoLaunchOpt = False,
    mode: ModeOpt = RentMode.INDEX,
    collateral: CollateralOpt = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Local worker processes [default: CPU count].")] = 0,
    summary: Annotated[Optional[Path], typer.Option("--summary", metavar="FILE",
                                                    help="Write the summary table (.xlsx, .csv or .json).")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", metavar="ADDRESS",
                                                     help="Run on a Dask distributed cluster "
                                                     "(e.g. tcp://host:8786).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS",
                                           help="Stop a file's conversion after this long.")] = 300.0,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing outputs.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary rows as JSON.")] = False,
    anchor: AnchorOpt = None,
    contracted_until: ContractOpt = None,
    releasing_gap_months: GapOpt = None,
    memo: Annotated[bool, typer.Option("--memo", help="Also write a credit memo, STEM.gpu.memo.md, beside each "
                                       "output.")] = False,
) -> None:
    """Convert many templates; a bad file is reported in the summary and skipped."""
    import os

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from engine.batch import expand_inputs, plan, run_batch, write_summary

    rows: list[Any] = []

    def run() -> None:
        curve = _curve_choice(preset, set_, launch, no_launches, mode, collateral, anchor, contracted_until,
                              releasing_gap_months)
        files = expand_inputs(inputs)
        if not files:
            raise ParameterError("no .xlsx/.xlsm templates found in the inputs")
        out.mkdir(parents=True, exist_ok=True)
        tasks = plan(files, out, curve, force=force, memo=memo)
        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                            console=err_console, transient=False)
        with progress:
            bar = progress.add_task("converting", total=len(tasks), failed=0)

            def advance(row: Any) -> None:
                failed = sum(not r.ok for r in rows) + (not row.ok)
                rows.append(row)
                progress.update(bar, advance=1, failed=failed)

            done = run_batch(tasks, jobs=jobs or os.cpu_count() or 1, scheduler=scheduler, timeout=timeout,
                             on_row=advance)
        rows[:] = done
        if summary is not None:
            write_summary(done, summary)
        if as_json:
            sys.stdout.write(json.dumps([r.flat() for r in done]) + "\n")
        else:
            _render_batch(done)
        for row in done:
            if not row.ok:
                err_console.print(f"error: {row.error}", markup=False)

    _guard(run)
    if any(not r.ok for r in rows):
        raise typer.Exit(1)


@app.command("curve")
def curve_cmd(
    preset: Annotated[str, typer.Argument(help=_CURVE_HELP, show_default=False)],
    set_: SetOpt = None,
    launch: LaunchOpt = None,
    no_launches: NoLaunchOpt = False,
    months: Annotated[int, typer.Option("--months", help="Months to show, from start (default: price_date).")] = 60,
    png: Annotated[Optional[Path], typer.Option("--png", metavar="FILE", help="Also draw the curve to a PNG.")]
    = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing PNG.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (params and monthly rows).")] = False,
) -> None:
    """Print a preset's monthly curve (spot, utilisation, contract share, realised, index); optionally draw it."""
    from engine.shell.curve_report import COLUMNS, build_curve, rows, write_png

    def run() -> None:
        params, curve = build_curve(preset, _overrides(set_ or []), _launches(launch or [], no_launches), months)
        table_rows = rows(curve)
        if png is not None:
            write_png(curve, params, preset, png, force=force)
        if as_json:
            sys.stdout.write(json.dumps({"preset": preset, "params": params.to_dict(), "months": table_rows}) + "\n")
            return
        table = Table(title=f"{preset}: $ per GPU-hour (realised = per installed GPU-hour)")
        for col in COLUMNS:
            table.add_column(col, justify="right")
        for row in table_rows:
            table.add_row(row["month"], *(f"{row[c]:.4f}" for c in COLUMNS[1:]))
        out_console.print(table)
        if png is not None:
            out_console.print(f"wrote {png}", markup=False)

    _guard(run)


def _render_batch(rows: list[Any]) -> None:
    table = Table(title=f"batch: {sum(r.ok for r in rows)} converted, {sum(not r.ok for r in rows)} failed")
    for col in ("file", "status", "rent cells", "min DSCR before", "min DSCR after", "first breach before",
                "first breach after", "breaches"):
        table.add_column(col)
    for r in rows:
        b, a = r.before or {}, r.after or {}
        table.add_row(Path(r.file).name, r.status, r.rent_cells or "–",
                      _fmt(b.get("min_dscr"), ".2f"), _fmt(a.get("min_dscr"), ".2f"), b.get("first_breach") or "–",
                      a.get("first_breach") or "–",
                      "–" if a.get("breaches") is None else f"{b.get('breaches')} → {a.get('breaches')}")
    out_console.print(table)


INTERNAL_ERROR = 3  # a gpucredit bug, not a problem with the input (docs/decisions/errors.md)


def _guard(fn: Any) -> None:
    try:
        fn()
    except GpuCreditError as exc:
        if _state["debug"]:
            raise
        err_console.print(f"error: {exc.one_line()}", markup=False)
        raise typer.Exit(1) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - the one place a bug becomes a message instead of a traceback
        if _state["debug"]:
            raise
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        err_console.print(f"error: internal error in gpucredit (a bug, not a problem with your file): {detail}; "
                          "please report it with the output of `gpucredit --debug ...`", markup=False)
        raise typer.Exit(INTERNAL_ERROR) from None


def _fmt(x: float | None, spec: str) -> str:
    return "–" if x is None else format(x, spec)


def _render(result: ConversionResult) -> None:
    from engine.report.metric_table import METRICS, format_value, shown, unit_label

    credit = result.credit
    assert credit is not None
    money = credit.money.label
    table = Table(title=f"{result.input.name} → {result.output.name} (preset {result.preset}, "
                        f"{result.mode.value} mode; money in {money})")
    for col in ("period end", "rent before", "rent after", "DSCR before", "DSCR after"):
        table.add_column(col, justify="right")
    for p, end in enumerate(result.grid.ends):
        table.add_row(end.isoformat(), _fmt(float(result.rent_before[p]), ",.2f"),
                      _fmt(float(result.rent_after[p]), ",.2f"),
                      _fmt(result.dscr_before[p], ".2f"), _fmt(result.dscr_after[p], ".2f"))
    out_console.print(table)
    summary = Table(title="credit metrics")
    for col, justify in (("metric", "left"), ("unit", "left"), ("before", "right"), ("after", "right")):
        summary.add_column(col, justify=justify)  # type: ignore[arg-type]
    for metric in METRICS:
        if shown(metric, dscr_check=credit.dscr_check, collateral=credit.collateral_shown):
            summary.add_row(metric.label, unit_label(metric, money),
                            *(format_value(metric, mx) for mx in (result.metrics_before, result.metrics_after)))
    out_console.print(summary)
    out_console.print(result.headline, markup=False)
    out_console.print(f"Security: {credit.security.kind.value} — {credit.security.note}", markup=False)
    out_console.print(f"wrote {result.output} ({len(result.changed_cells)} rent cells rewired, "
                      f"{result.formulas_written} formula values cached)"
                      + (f"; memo {result.memo}" if result.memo is not None else ""), markup=False)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
