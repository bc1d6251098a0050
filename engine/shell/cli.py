"""The ``gpucredit`` command line: parse, call the engine, render (``render.py``). The only printer."""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer
from rich.table import Table
from rich.text import Text

from engine.errors import ParameterError
from engine.shell import render
from engine.shell.ask import register as register_questions
from engine.shell.options import (
    CPU_COUNT,
    CURVE_HELP,
    TEMPLATE_HELP,
    AnchorOpt,
    CollateralOpt,
    Command,
    ContractOpt,
    ForceOpt,
    GapOpt,
    Group,
    JsonOpt,
    LaunchOpt,
    ModeOpt,
    NoLaunchOpt,
    PresetOpt,
    SetOpt,
    curve_choice,
    curve_overrides,
    launches,
)
from models.params import RentMode
from models.presets import DEFAULT_PRESET

app = typer.Typer(cls=Group, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Re-price a lender's Excel template with a deflating GPU rental curve.")


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    render.debug["on"] = debug


@app.command("convert", cls=Command)
def convert_cmd(
    ctx: typer.Context,
    input: Annotated[Path, typer.Argument(help=TEMPLATE_HELP, show_default=False)],
    output: Annotated[Optional[Path], typer.Option(
        "-o", "--output", help="Output workbook, ending .xlsx (.xlsm for a macro-enabled input).",
        show_default="INPUT.gpu.xlsx beside the input")] = None,
    preset: PresetOpt = DEFAULT_PRESET,
    set_: SetOpt = None,
    launch: LaunchOpt = None,
    no_launches: NoLaunchOpt = False,
    mode: ModeOpt = RentMode.INDEX,
    collateral: CollateralOpt = None,
    profile: Annotated[Optional[Path], typer.Option(
        help="Template profile (.toml): where the timeline, rent and debt lines are.",
        show_default="INPUT.toml beside the input, else detection")] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
    accept_unreconciled: Annotated[bool, typer.Option(
        "--accept-unreconciled", help="Convert even where the engine does not reproduce Excel's cached values "
        "in cells the rent reaches; those numbers are listed as unverified.")] = False,
    max_eval_seconds: Annotated[float, typer.Option(
        "--max-eval-seconds", min=0.001, metavar="SECONDS",
        help="Time limit for each recalculation of the workbook (a conversion recalculates twice).")] = 300.0,
    anchor: AnchorOpt = None,
    contracted_until: ContractOpt = None,
    releasing_gap_months: GapOpt = None,
    memo: Annotated[Optional[Path], typer.Option(
        "--memo", metavar="FILE", show_default=False,
        help="Also write a credit memo (Markdown): headline, metrics before/after, curve, security.")] = None,
    hold_debt: Annotated[bool, typer.Option(
        "--hold-debt", help="Where the model sizes its debt from the rent, keep the original amount (the loan "
        "the lender made) instead of the re-sized one.")] = False,
    scenario: Annotated[Optional[str], typer.Option(
        "--scenario", metavar="CSV:ID", show_default=False,
        help="Convert one scenario of a stress run: its draws and monthly shocks rebuilt from the dump's seed "
        "and spec (the spec's preset unless --preset is given).")] = None,
) -> None:
    """Convert a template: GPU rent curve in, recomputed and annotated workbook out."""
    def run() -> None:
        prepare, curve_preset = None, preset
        if scenario is not None:
            from engine.scenarios.replay import apply_scenario, read_scenario

            replay = read_scenario(scenario)
            source = ctx.get_parameter_source("preset")
            if source is None or source.name == "DEFAULT":  # not given: the run's (an explicit --preset wins)
                curve_preset = replay.source.spec().preset

            def prepare(session: Any) -> Any:
                return apply_scenario(session, replay)

        curve = curve_choice(curve_preset, set_, launch, no_launches, mode, collateral, anchor, contracted_until,
                             releasing_gap_months)
        from engine.convert import convert
        from engine.xlsx.load import Limits

        result = convert(input, output, curve=curve, profile=profile, force=force,
                         accept_unreconciled=accept_unreconciled, limits=Limits(max_eval_seconds=max_eval_seconds),
                         memo=memo, hold_debt=hold_debt, prepare=prepare)
        render.warnings(result.input.name, result.warnings)
        if as_json:
            sys.stdout.write(json.dumps(result.to_json()) + "\n")
        else:
            render.conversion(result)

    render.guard(run)


@app.command("check", cls=Command)
def check_cmd(
    files: Annotated[list[Path], typer.Argument(help="Workbooks to check (.xlsx or .xlsm).", show_default=False)],
) -> None:
    """Check workbook packages: well-formed XML, relationships, content types, sheet and defined names."""
    failed = False

    def run_one(path: Path) -> None:
        nonlocal failed
        from engine.xlsx.check import check_file

        problems = check_file(path)
        if problems:
            failed = True
            for problem in problems:
                render.error_line(f"{path.name}: {problem}")
        else:
            render.said(f"{path.name}: ok")

    for path in files:
        try:
            render.guard(lambda: run_one(path))
        except typer.Exit as exc:
            if exc.exit_code == render.INTERNAL_ERROR:
                raise
            failed = True
    if failed:
        raise typer.Exit(1)


@app.command("inspect", cls=Command)
def inspect_cmd(
    input: Annotated[Path, typer.Argument(help=TEMPLATE_HELP, show_default=False)],
    as_json: JsonOpt = False,
    write_profile: Annotated[Optional[Path], typer.Option(
        "--write-profile", metavar="PATH", show_default=False,
        help="Save what was found as a commented profile (TOML) to correct and pass to convert --profile.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing profile file.")] = False,
    reconcile_: Annotated[bool, typer.Option("--reconcile", help="Also recompute the workbook and report how "
                                             "many of Excel's cached values the engine reproduces, by cause.")]
    = False,
) -> None:
    """Show where a template keeps its timeline, rent and debt lines, and how sure detection is."""
    from engine.convert import inspect
    from engine.xlsx.save import check_output, write_atomic

    def run() -> None:
        try:
            if write_profile is not None:
                check_output(write_profile, force=force, what="profile file")
            found = inspect(input, reconcile=reconcile_)
        except Exception as exc:  # noqa: BLE001 - re-raised: render.guard prints it and sets the exit code
            if as_json:  # one JSON object on stdout whatever failed (issue 18)
                sys.stdout.write(json.dumps({"file": str(input), "ok": False, "error": render.failure(exc)}) + "\n")
            raise
        render.warnings(input.name, found.warnings)
        report = found.reconciliation
        if as_json:
            doc = found.to_json()
            if report is not None:
                doc["reconcile"] = report
            sys.stdout.write(json.dumps(doc) + "\n")
        else:
            render.detection(found)
            if report is not None:
                render.reconciliation(report)
        if write_profile is not None:  # always: the best candidate active, the others commented (issue 18)
            write_atomic(found.profile_text().encode(), write_profile, force=force, what="profile file")
            if not as_json:
                render.said(f"wrote {write_profile}")
        problem = found.problem()
        if problem is not None:
            raise problem

    render.guard(run)


@app.command("batch", cls=Command)
def batch_cmd(
    inputs: Annotated[list[str], typer.Argument(help="Templates, folders or globs (quote a glob).",
                                                show_default=False)],
    out: Annotated[Path, typer.Option("--out", metavar="FOLDER", show_default=False,
                                      help="Folder for the converted workbooks (created if missing).")],
    preset: PresetOpt = DEFAULT_PRESET,
    set_: SetOpt = None,
    launch: LaunchOpt = None,
    no_launches: NoLaunchOpt = False,
    mode: ModeOpt = RentMode.INDEX,
    collateral: CollateralOpt = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1,
                                      help="Local converter processes; the default is this machine's CPU count.")]
    = CPU_COUNT,
    summary: Annotated[Optional[Path], typer.Option(
        "--summary", metavar="FILE", show_default=False,
        help="Also write the summary table (.xlsx, .csv or .json); an existing one needs --force.")] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        "--scheduler", metavar="ADDRESS", show_default=False,
        help="Run on a Dask distributed cluster (e.g. tcp://host:8786).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS",
                                           help="Stop a file's conversion after this long.")] = 300.0,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing outputs and the summary file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary rows as JSON instead of the table.")]
    = False,
    anchor: AnchorOpt = None,
    contracted_until: ContractOpt = None,
    releasing_gap_months: GapOpt = None,
    memo: Annotated[bool, typer.Option("--memo", help="Also write a credit memo, STEM.gpu.memo.md, beside each "
                                       "output.")] = False,
) -> None:
    """Convert many templates; a bad file is reported in the summary and skipped."""
    from dataclasses import replace

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from engine.batch import check_summary_path, expand_inputs, plan, run_batch, write_summary
    from engine.xlsx.save import make_folder

    rows: list[Any] = []

    def run() -> None:
        curve = curve_choice(preset, set_, launch, no_launches, mode, collateral, anchor, contracted_until,
                             releasing_gap_months)
        files = expand_inputs(inputs)
        if not files:
            raise ParameterError("no .xlsx/.xlsm templates found in the inputs")
        make_folder(out)
        if summary is not None:
            check_summary_path(summary, force=force)
        tasks = plan(files, out, curve, force=force, memo=memo)
        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                            console=render.err_console, transient=False)
        with progress:
            bar = progress.add_task("converting", total=len(tasks), failed=0)

            def advance(row: Any) -> None:
                rows.append(row)
                progress.update(bar, advance=1, failed=sum(not r.ok for r in rows))

            done = run_batch(tasks, jobs=jobs, scheduler=scheduler, timeout=timeout, on_row=advance)
        rows[:] = [replace(r, error=render.cli_text(r.error)) for r in done]
        if summary is not None:
            write_summary(rows, summary, force=True)  # checked before the batch began
        if as_json:
            sys.stdout.write(json.dumps([r.flat() for r in rows]) + "\n")
        else:
            render.batch(rows)
        for row in rows:
            if not row.ok:
                render.error_line(row.error)

    render.guard(run)
    if any(not r.ok for r in rows):
        raise typer.Exit(1)


@app.command("curve", cls=Command)
def curve_cmd(
    preset: Annotated[str, typer.Argument(help=CURVE_HELP, show_default=False)],
    set_: SetOpt = None,
    launch: LaunchOpt = None,
    no_launches: NoLaunchOpt = False,
    months: Annotated[int, typer.Option("--months", min=1,
                                        help="Months to show, from the curve's start (price_date unless "
                                        "--set start=DATE).")] = 60,
    png: Annotated[Optional[Path], typer.Option("--png", metavar="FILE", show_default=False,
                                                help="Also draw the curve to a PNG.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing PNG.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (params and monthly rows).")] = False,
) -> None:
    """Print a preset's monthly curve (spot, utilisation, contract share, realised, index); optionally draw it."""
    from engine.shell.curve_report import COLUMNS, build_curve, rows, write_png

    def run() -> None:
        params, curve = build_curve(preset, curve_overrides(set_), launches(launch, no_launches), months)
        table_rows = rows(curve)
        if png is not None:
            write_png(curve, params, preset, png, force=force)
        if as_json:
            sys.stdout.write(json.dumps({"preset": preset, "params": params.to_dict(), "months": table_rows}) + "\n")
            return
        table = Table(title=Text(f"{preset}: $ per GPU-hour (realised = per installed GPU-hour)"))
        for col in COLUMNS:
            table.add_column(col, justify="right")
        for row in table_rows:
            table.add_row(row["month"], *(f"{row[c]:.4f}" for c in COLUMNS[1:]))
        render.out_console.print(table)
        if png is not None:
            render.said(f"wrote {png}")

    render.guard(run)


register_questions(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit as exc:
        _end(exc.code)
    _end(0)


def _end(code: object) -> NoReturn:
    """End the process with ``code``. When nothing is left to run at exit (no ``atexit`` callback, no thread
    but daemons: a conversion), the interpreter's teardown is skipped: freeing every object of a finished
    command (the engine's graph, the parsed sheets) took 30 ms of the 120-month convert's 0.5 s. Anything
    else (a batch's worker pools register callbacks, an unwritable stdout) exits the usual way."""
    if isinstance(code, int) and getattr(atexit, "_ncallbacks", lambda: 1)() == 0 and all(
            thread.daemon for thread in threading.enumerate() if thread is not threading.main_thread()):
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            raise SystemExit(code) from None
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
