"""The ``gpucredit`` command line: parse, call the engine, render. The only printer."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from engine.check import check_file
from engine.convert import DEFAULT_PRESET, ConversionResult, CurveChoice, convert
from engine.errors import GpuCreditError, ParameterError
from models.curves import Launch, RentMode
from models.params import PARAM_NAMES, parse_launch, parse_param

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Re-price a lender's Excel template with a deflating GPU rental curve.")
out_console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
_state = {"debug": False}


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    _state["debug"] = debug


def _overrides(sets: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParameterError(f"--set {item!r}: expected KEY=VALUE, e.g. --set d=0.3")
        if key not in PARAM_NAMES:
            raise ParameterError(f"--set {key}: unknown parameter; known: {', '.join(PARAM_NAMES)}")
        try:
            out[key] = parse_param(key, value)
        except ValueError as exc:
            raise ParameterError(f"--set {item}: {exc}") from exc
    return out


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


@app.command("convert")
def convert_cmd(
    input: Annotated[Path, typer.Argument(help="Lender template (.xlsx or .xlsm).", show_default=False)],
    output: Annotated[Optional[Path], typer.Option("-o", "--output",
                                                   help="Output workbook [default: INPUT.gpu.xlsx beside it].")] = None,
    preset: Annotated[str, typer.Option(help="Curve preset (h100-base, h100-stress, h100-severe, h100-upside, "
                                             "a100-base, h200-base, b200-base).")] = DEFAULT_PRESET,
    set_: Annotated[Optional[list[str]], typer.Option("--set", metavar="KEY=VALUE",
                                                      help="Override one curve parameter (repeatable): "
                                                      + ", ".join(PARAM_NAMES) + ".")] = None,
    launch: Annotated[Optional[list[str]], typer.Option("--launch", metavar="DATE:STEP",
                                                        help="A generation launch (repeatable); replaces the "
                                                        "preset's launches.")] = None,
    no_launches: Annotated[bool, typer.Option("--no-launches", help="Apply no launch step-downs.")] = False,
    mode: Annotated[RentMode, typer.Option(case_sensitive=False, help="index: keep the anchor rent, apply the "
                                           "curve's shape; absolute: rent = GPUs x hours x realised price.")]
    = RentMode.INDEX,
    profile: Annotated[Optional[Path], typer.Option(help="Template profile (.toml) [default: INPUT.toml beside "
                                                    "the input, else detection].")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing output file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the table.")] = False,
) -> None:
    """Convert a template: GPU rent curve in, recomputed and annotated workbook out."""
    def run() -> None:
        curve = CurveChoice(preset=preset, overrides=_overrides(set_ or []),
                            launches=_launches(launch or [], no_launches), mode=mode)
        result = convert(input, output, curve=curve, profile=profile, force=force)
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


def _guard(fn: Any) -> None:
    try:
        fn()
    except GpuCreditError as exc:
        if _state["debug"]:
            raise
        err_console.print(f"error: {exc.one_line()}", markup=False)
        raise typer.Exit(1) from None


def _fmt(x: float | None, spec: str) -> str:
    return "–" if x is None else format(x, spec)


def _render(result: ConversionResult) -> None:
    table = Table(title=f"{result.input.name} → {result.output.name} (preset {result.preset}, "
                        f"{result.mode.value} mode)")
    for col in ("period end", "rent before", "rent after", "DSCR before", "DSCR after"):
        table.add_column(col, justify="right")
    for p, end in enumerate(result.grid.ends):
        table.add_row(end.isoformat(), _fmt(float(result.rent_before[p]), ",.2f"),
                      _fmt(float(result.rent_after[p]), ",.2f"),
                      _fmt(result.dscr_before[p], ".2f"), _fmt(result.dscr_after[p], ".2f"))
    out_console.print(table)
    for label, mx in (("before", result.metrics_before), ("after", result.metrics_after)):
        breach = mx.first_breach.isoformat() if mx.first_breach else "none"
        out_console.print(f"{label:>6}: min DSCR {_fmt(mx.min_dscr, '.2f')}, first breach {breach}, "
                          f"{mx.breaches} breach(es)")
    out_console.print(f"wrote {result.output} ({len(result.changed_cells)} rent cells rewired, "
                      f"{result.formulas_written} formula values cached)")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
