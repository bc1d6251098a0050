"""The credit questions on the command line: ``breakeven``, ``size``, ``grid`` and ``stress``.

Each opens the lender's model once (a :class:`~engine.session.ModelSession`) and asks it many times;
the engine imports wait until a command runs, so ``gpucredit --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from engine.shell import render
from engine.shell.options import (
    CPU_COUNT,
    TEMPLATE_HELP,
    AnchorOpt,
    Command,
    ContractOpt,
    ForceOpt,
    GapOpt,
    JsonOpt,
    LaunchOpt,
    ModeOpt,
    NoLaunchOpt,
    SetOpt,
    curve_choice,
)
from models.params import RentMode
from models.presets import preset_names

ProfileOpt = Annotated[Optional[Path], typer.Option(
    help="Template profile (.toml): where the timeline, rent and debt lines are.",
    show_default="INPUT.toml beside the input, else detection")]
OutOpt = Annotated[Optional[Path], typer.Option(
    "-o", "--output", show_default=False,
    help="Also write the workbook with the answer on Credit_Summary (.xlsx, .xlsm for a macro-enabled input).")]
QuestionPreset = Annotated[str, typer.Option("--preset", help=f"Curve preset: {', '.join(preset_names())}.")]


def _session(input: Path, preset: str, set_: list[str] | None, launch: list[str] | None, no_launches: bool,
             mode: RentMode, anchor: str | None, until: str | None, gap: int | None, profile: Path | None,
             output: Path | None, force: bool) -> Any:
    from engine.session import ModelSession
    from engine.xlsx.save import check_workbook_output

    curve = curve_choice(preset, set_, launch, no_launches, mode, None, anchor, until, gap)
    if output is not None:
        check_workbook_output(input, output, force=force)
    return ModelSession.open(input, curve=curve, profile=profile)


def _deliver(session: Any, input: Path, output: Path | None, force: bool, as_json: bool,
             payload: dict[str, Any], **write: Any) -> bool:
    """Write the workbook with the answer when ``-o`` asks for it; print the JSON and say so for ``--json``."""
    if output is not None:
        session.write(output, force=force, **write)
    if as_json:
        sys.stdout.write(json.dumps({"input": str(input), **payload}, default=str) + "\n")
    return as_json


def register(app: typer.Typer) -> None:
    """Add the question commands to ``app``."""
    app.command("breakeven", cls=Command)(breakeven_cmd)
    app.command("size", cls=Command)(size_cmd)
    app.command("grid", cls=Command)(grid_cmd)
    app.command("stress", cls=Command)(stress_cmd)


def breakeven_cmd(
    input: Annotated[Path, typer.Argument(help=TEMPLATE_HELP, show_default=False)],
    param: Annotated[Optional[list[str]], typer.Option(
        "--param", metavar="NAME", show_default="d, p0, util, step1",
        help="A curve parameter to solve for (repeatable): d, p0, floor, util, c, p_contract, step1 … stepN.")] = None,
    target: Annotated[Optional[list[float]], typer.Option(
        "--target-dscr", metavar="RATIO", show_default="the covenant and 1.00x",
        help="A minimum DSCR to reach (repeatable).")] = None,
    preset: QuestionPreset = "h100-base", set_: SetOpt = None, launch: LaunchOpt = None,
    no_launches: NoLaunchOpt = False, mode: ModeOpt = RentMode.INDEX, anchor: AnchorOpt = None,
    contracted_until: ContractOpt = None, releasing_gap_months: GapOpt = None, profile: ProfileOpt = None,
    output: OutOpt = None, force: ForceOpt = False, as_json: JsonOpt = False,
) -> None:
    """The value of each curve parameter at which the minimum DSCR falls to the covenant (and to 1.00x)."""
    def run() -> None:
        from engine.scenarios.breakeven import DEFAULT_PARAMETERS, breakeven, breakeven_block

        session = _session(input, preset, set_, launch, no_launches, mode, anchor, contracted_until,
                           releasing_gap_months, profile, output, force)
        targets = None if not target else {f"{t:.2f}x": float(t) for t in target}
        results = breakeven(session, tuple(param) if param else DEFAULT_PARAMETERS, targets)
        if _deliver(session, input, output, force, as_json, {"breakeven": [r.to_json() for r in results]},
                    blocks=[breakeven_block(results)]):
            return
        table = Table(title=Text(f"{input.name}: breakeven (preset {preset})"))
        for col in ("parameter", "target", "now", "breakeven", "min DSCR there"):
            table.add_column(col, justify="left" if col in ("parameter", "target") else "right")
        for r in results:
            table.add_row(r.parameter, f"{r.target} ({r.target_dscr:.2f}x)", f"{r.base:.4g}",
                          Text(f"{r.value:.4g}" if r.value is not None else str(r.reason)),
                          render.fmt(r.min_dscr, ".4f"))
        render.out_console.print(table)
        if output is not None:
            render.said(f"wrote {output}")

    render.guard(run)


def size_cmd(
    input: Annotated[Path, typer.Argument(help=TEMPLATE_HELP, show_default=False)],
    target_dscr: Annotated[float, typer.Option("--target-dscr", metavar="RATIO", show_default=False,
                                               help="The minimum DSCR the sized loan keeps, e.g. 1.30.")],
    tenor: Annotated[Optional[float], typer.Option(
        "--tenor", metavar="PERIODS", show_default="the template's",
        help="Set the tenor input the profile names ([deal] tenor) before sizing.")] = None,
    preset: QuestionPreset = "h100-base", set_: SetOpt = None, launch: LaunchOpt = None,
    no_launches: NoLaunchOpt = False, mode: ModeOpt = RentMode.INDEX, anchor: AnchorOpt = None,
    contracted_until: ContractOpt = None, releasing_gap_months: GapOpt = None, profile: ProfileOpt = None,
    output: OutOpt = None, force: ForceOpt = False, as_json: JsonOpt = False,
) -> None:
    """The largest loan whose minimum DSCR stays at or above a target under the curve."""
    def run() -> None:
        from engine.scenarios.size import size, sizing_block

        session = _session(input, preset, set_, launch, no_launches, mode, anchor, contracted_until,
                           releasing_gap_months, profile, output, force)
        sizing = size(session, target_dscr, tenor=tenor)
        if _deliver(session, input, output, force, as_json, {"size": sizing.to_json()},
                    blocks=[sizing_block(sizing)]):
            return
        table = Table(title=Text(f"{input.name}: loan sized to a minimum DSCR of {target_dscr:.2f}x "
                                 f"(preset {preset})"))
        for col in ("loan input", "in the template", "sized"):
            table.add_column(col, justify="left" if col == "loan input" else "right")
        for cell, before, after in zip(sizing.cells, sizing.original, sizing.amounts, strict=True):
            table.add_row(str(cell), f"{before:,.2f}", f"{after:,.2f}")
        render.out_console.print(table)
        render.said(f"minimum DSCR at the sized loan: {sizing.min_dscr:.6f}; 1 % more loan breaches it")
        if sizing.sculpted_capacity is not None:
            render.said(f"sculpted debt capacity of the re-priced CFADS (the check): {sizing.sculpted_capacity:,.2f}")
        if output is not None:
            render.said(f"wrote {output} (its loan inputs hold the sized amounts)")

    render.guard(run)


def grid_cmd(
    input: Annotated[Path, typer.Argument(help=TEMPLATE_HELP, show_default=False)],
    vary: Annotated[list[str], typer.Option(
        "--vary", metavar="NAME=START:STOP:STEP", show_default=False,
        help="An input to vary (once or twice): a curve parameter, util, stepN or a cell such as Inputs!C12; "
        "values as START:STOP:STEP or V1,V2,...")],
    metric: Annotated[str, typer.Option(
        "--metric", help="min_dscr, avg_dscr, first_breach, breaches, total_shortfall, min_llcr or "
        "recovery_at_breach.")] = "min_dscr",
    preset: QuestionPreset = "h100-base", set_: SetOpt = None, launch: LaunchOpt = None,
    no_launches: NoLaunchOpt = False, mode: ModeOpt = RentMode.INDEX, anchor: AnchorOpt = None,
    contracted_until: ContractOpt = None, releasing_gap_months: GapOpt = None, profile: ProfileOpt = None,
    output: Annotated[Optional[Path], typer.Option(
        "-o", "--output", show_default=False,
        help="Also write the workbook with a Sensitivity sheet (the grid, a colour scale and a chart).")] = None,
    force: ForceOpt = False, as_json: JsonOpt = False,
) -> None:
    """A credit metric over one or two varied inputs (a sensitivity table)."""
    def run() -> None:
        from engine.report.questions import add_sensitivity_sheet
        from engine.scenarios.grid import grid, parse_axis

        axes = tuple(parse_axis(v) for v in vary)
        session = _session(input, preset, set_, launch, no_launches, mode, anchor, contracted_until,
                           releasing_gap_months, profile, output, force)
        result = grid(session, axes, metric)
        note = (f"{metric} of this workbook with the curve preset {preset}, each point a full evaluation of "
                "its formulas: values, not formulas (re-run gpucredit grid to update)")

        def sheet(package: Any, styles: dict[str, int]) -> None:
            add_sensitivity_sheet(package, metric=metric, axes=tuple((a.name, a.values) for a in axes),
                                  values=result.values, covenant=result.covenant, styles=styles, note=note)

        if _deliver(session, input, output, force, as_json, result.to_json(), finish=sheet):
            return
        table = Table(title=Text(f"{input.name}: {metric} (preset {preset})"))
        first = axes[0]
        table.add_column(first.name if len(axes) == 1 else f"{first.name} \\ {axes[1].name}")
        columns = axes[1].values if len(axes) == 2 else (None,)
        for value in columns:
            table.add_column(metric if value is None else f"{value:g}", justify="right")
        for i, value in enumerate(first.values):
            row: list[object] = list(result.values[i]) if len(axes) == 2 else [result.values[i]]  # type: ignore[call-overload]
            table.add_row(f"{value:g}", *(_cell(v) for v in row))
        render.out_console.print(table)
        if output is not None:
            render.said(f"wrote {output}")

    render.guard(run)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}"
    return "–" if value is None else str(value)


def stress_cmd(
    input: Annotated[Path, typer.Argument(help=TEMPLATE_HELP, show_default=False)],
    scenarios: Annotated[int, typer.Option("--scenarios", "-n", min=1, help="Scenarios to run.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="The run's seed: the same seed, file and spec "
                                      "give the same numbers on any machine and split.")] = 7,
    spec: Annotated[Optional[str], typer.Option(
        "--spec", metavar="NAME|FILE", show_default="miner-convergence with a BTC price line, else h100-stress-mc",
        help="What varies: a shipped spec (h100-stress-mc, miner-convergence) or a spec file (.toml).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Local worker processes.")] = CPU_COUNT,
    scheduler: Annotated[Optional[str], typer.Option(
        "--scheduler", metavar="ADDRESS", show_default=False,
        help="Run the scenarios on a Dask distributed cluster (e.g. tcp://host:8786).")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Check every scenario against the engine's own "
                                         "evaluation of the workbook (else a sample of 20).")] = False,
    dump: Annotated[Optional[Path], typer.Option(
        "--dump", metavar="CSV", show_default=False,
        help="Also write one row per scenario: its id, the seed and spec, its draws and its results "
        "(replay one with convert --scenario CSV:ID).")] = None,
    preset: Annotated[Optional[str], typer.Option(
        "--preset", show_default="the spec's", help=f"Curve preset: {', '.join(preset_names())}.")] = None,
    set_: SetOpt = None, launch: LaunchOpt = None, no_launches: NoLaunchOpt = False,
    mode: ModeOpt = RentMode.INDEX, profile: ProfileOpt = None,
    output: Annotated[Optional[Path], typer.Option(
        "-o", "--output", show_default="INPUT.stress.xlsx beside the input",
        help="The workbook with its Stress sheet.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing output or dump.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Monte Carlo stress through the workbook's own formulas: breach odds, DSCR and shortfall spreads, margin calls."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    outcome: list[Any] = []

    def run() -> None:
        from engine.scenarios.stress_job import default_stress_output, stress
        from engine.xlsx.save import check_workbook_output

        out = output if output is not None else default_stress_output(input)
        check_workbook_output(input, out, force=force)
        def make_curve(spec_preset: str) -> Any:
            return curve_choice(preset or spec_preset, set_, launch, no_launches, mode, None)

        bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=render.err_console, transient=True, disable=as_json)
        with bar:
            task = bar.add_task("scenarios", total=scenarios)
            outcome.append(stress(
                input, out, spec=spec, scenarios=scenarios, seed=seed, jobs=jobs, scheduler=scheduler,
                verify_all=verify, dump=dump, curve=make_curve, profile=profile, force=force,
                notice=lambda text: render.err_console.print(f"note: {text}", markup=False),
                progress=lambda n: bar.update(task, advance=n)))
        done = outcome[0]
        if as_json:
            sys.stdout.write(json.dumps(done.to_json()) + "\n")
            return
        _stress_table(input, done)

    render.guard(run)


def _stress_table(input: Path, done: Any) -> None:
    f = done.run.figures()
    table = Table(title=Text(f"{input.name}: {f['scenarios']:,} scenarios, spec {f['spec']}, seed {f['seed']}"))
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("P(covenant breach by maturity)", f"{f['p_breach_by_maturity']:.1%}")
    if "p_breach_before_refinancing" in f:
        table.add_row(f"P(breach before {f['refinancing_date']})", f"{f['p_breach_before_refinancing']:.1%}")
    for key, value in (f.get("min_dscr") or {}).items():
        table.add_row(f"min DSCR {key.upper()}", render.fmt(value, ".2f"))
    table.add_row("shortfall, mean", f"{f['shortfall']['mean']:,.0f}")
    table.add_row("shortfall, 95 % expected shortfall", f"{f['shortfall']['expected_shortfall_95']:,.0f}")
    recovery = f.get("recovery_at_breach")
    table.add_row("recovery at breach, mean", f"{recovery['mean']:.1%}" if recovery else "n/a")
    margin, alone = f.get("margin"), f.get("margin_independent")
    if margin:
        table.add_row("P(margin call)", f"{margin['p_margin_call']:.1%}")
    if margin and alone:
        table.add_row("P(joint margin call and breach, same quarter)", f"{margin['p_joint_same_quarter']:.1%}")
        table.add_row("… with rho = 0", f"{alone['p_joint_same_quarter']:.1%}")
    render.out_console.print(table)
    render.said(f"{f['path']}: {f['verified_scenarios']} scenarios checked against the engine (largest relative "
                f"difference {f['worst_relative_difference']:.1e}); {done.run.seconds:.1f} s")
    render.said(f"wrote {done.result.output}" + (f" and {done.dump}" if done.dump is not None else ""))
