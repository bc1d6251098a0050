"""The options the commands share, and how their texts become a :class:`~engine.convert.CurveChoice`.

Help texts are rendered with rich markup, so a literal ``[`` must never reach them unescaped (it
would be read as a tag and vanish with its text); defaults are given to typer (``show_default``),
never written into the help text. Flags show no value placeholder: ``--force``, not ``--force <bool>``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from engine.errors import ParameterError
from models.params import (
    COLLATERAL,
    COLLATERAL_PARAM_NAMES,
    CURVE,
    PARAM_NAMES,
    SALE_CHANNELS,
    Launch,
    RentMode,
    parse_launch,
)
from models.presets import preset_names
from models.validate import ParamSet, parse_date

if TYPE_CHECKING:
    from engine.patch.choice import CurveChoice

CPU_COUNT = os.cpu_count() or 1


def _bare_flags(command: Any, ctx: Any) -> None:
    """A flag takes no value, so its help shows none (typer would print ``<bool>``)."""
    for param in command.get_params(ctx):
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""


class Command(TyperCommand):
    """A command whose help shows flags without a value placeholder."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _bare_flags(self, ctx)
        super().format_help(ctx, formatter)


class Group(TyperGroup):
    """The ``gpucredit`` group, with the same help as :class:`Command`."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _bare_flags(self, ctx)
        super().format_help(ctx, formatter)


TEMPLATE_HELP = "Lender template (.xlsx or .xlsm)."
CURVE_HELP = f"Curve and collateral preset: {', '.join(preset_names())}."
PresetOpt = Annotated[str, typer.Option(help=CURVE_HELP)]
SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", metavar="KEY=VALUE", show_default=False,
    help="Override one curve parameter (repeatable): " + ", ".join(PARAM_NAMES) + ".")]
LaunchOpt = Annotated[Optional[list[str]], typer.Option(
    "--launch", metavar="DATE:STEP", show_default=False,
    help="A generation launch (repeatable); replaces the preset's launches.")]
NoLaunchOpt = Annotated[bool, typer.Option("--no-launches", help="Apply no launch step-downs.")]
ModeOpt = Annotated[RentMode, typer.Option(case_sensitive=False, help="index: keep the anchor rent, apply the "
                                           "curve's shape; absolute: rent = GPUs x hours x realised price.")]
CollateralOpt = Annotated[Optional[list[str]], typer.Option(
    "--collateral", metavar="KEY=VALUE", show_default=False,
    help="What secures the loan, kind=gpu_fleet|site|none, or one collateral parameter (repeatable): "
    + ", ".join(COLLATERAL_PARAM_NAMES) + f"; h_liq also takes a sale channel ({', '.join(SALE_CHANNELS)}).")]
AnchorOpt = Annotated[Optional[str], typer.Option(
    "--anchor", metavar="PERIOD", show_default="the profile's [rent] anchor, else the first period with rent",
    help="The period index mode scales from: a period number (1 = the first) or a date in it.")]
ContractOpt = Annotated[Optional[str], typer.Option(
    "--contracted-until", metavar="DATE", show_default="the profile's [rent] contracted_until, else none",
    help="Periods ending on or before DATE keep the template's rent (take-or-pay, or a tenant default on DATE); "
    "after it, the curve.")]
GapOpt = Annotated[Optional[int], typer.Option(
    "--releasing-gap-months", metavar="N", min=0, show_default="the profile's [rent] releasing_gap_months, else 0",
    help="Months after the contract end that earn nothing (re-leasing the fleet).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing output file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the table.")]


def assignments(params: ParamSet, option: str, items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` options (``--set``, ``--collateral``) through the one parser of ``models``."""
    try:
        return params.parse_assignments(items)
    except ValueError as exc:
        raise ParameterError(f"{option} {exc}") from exc


def curve_overrides(sets: list[str] | None) -> dict[str, Any]:
    """``--set`` options as curve overrides."""
    return assignments(CURVE, "--set", sets or [])


def launches(items: list[str] | None, none: bool) -> tuple[Launch, ...] | None:
    """``--launch`` / ``--no-launches``: None keeps the preset's launches."""
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


def curve_choice(preset: str, sets: list[str] | None, launch: list[str] | None, no_launches: bool,
                 mode: RentMode, collateral: list[str] | None, anchor: str | None = None,
                 contracted_until: str | None = None, releasing_gap_months: int | None = None) -> CurveChoice:
    """The curve options of ``convert`` and ``batch``, checked before any file is read."""
    from engine.patch.choice import CollateralChoice, CurveChoice  # not at import: --help stays fast
    from engine.template.profile import parse_anchor

    try:
        anchor_spec = None if anchor is None else parse_anchor(anchor)
        until = None if contracted_until is None else parse_date("--contracted-until", contracted_until)
    except ValueError as exc:
        raise ParameterError(str(exc)) from exc
    collateral_choice = CollateralChoice(assignments(COLLATERAL, "--collateral", collateral or []))
    return CurveChoice(preset=preset, overrides=curve_overrides(sets), launches=launches(launch, no_launches),
                       mode=mode, collateral=collateral_choice, anchor=anchor_spec, contracted_until=until,
                       releasing_gap_months=releasing_gap_months)
