"""What a user chooses to apply to a template: the rent curve (preset, overrides, launches, mode, the
anchor and a contract), what secures the loan and the collateral model's parameters. Parsed at the
edges (CLI, xlwings, profiles) into these objects."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ParameterError
from engine.template.profile import TemplateProfile
from models.collateral import CollateralParams
from models.params import COLLATERAL, CURVE, CurveParams, Launch, RentMode, SecurityKind
from models.periods import PeriodGrid
from models.presets import DEFAULT_PRESET, UnknownPresetError, get_preset


@dataclass(frozen=True)
class CollateralChoice:
    """Collateral parameters: the preset's, then the profile's fleet, then explicit overrides.

    ``overrides`` may hold ``kind`` (what secures the loan: :class:`~models.params.SecurityKind`), as
    ``--collateral kind=site`` gives it; the rest are :class:`~models.collateral.CollateralParams` names,
    with values or texts as ``--collateral`` takes them (``{"h_liq": "auction"}``).
    """

    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> SecurityKind | None:
        kind = self.overrides.get("kind")
        return None if kind is None else SecurityKind.parse(str(kind))

    def check(self, preset: str) -> None:
        """Raise :class:`ParameterError` now for an unknown preset, kind or override."""
        try:
            _ = self.kind
        except ValueError as exc:
            raise ParameterError(f"collateral {exc}") from exc
        self._apply(preset, {})

    def params(self, preset: str, profile: TemplateProfile, grid: PeriodGrid,
               gpus: float | None = None) -> CollateralParams:
        """``gpus``: the fleet the rent curve uses (profile or ``--set gpus``), if any."""
        deal: dict[str, Any] = {"valuation_date": grid.starts[0]}
        if gpus is not None:
            deal["gpus"] = gpus
        if profile.cost_per_gpu is not None:
            deal["cost_per_gpu"] = profile.cost_per_gpu
        return self._apply(preset, deal)

    def _apply(self, preset: str, deal: dict[str, Any]) -> CollateralParams:
        try:
            base = get_preset(preset).collateral
        except UnknownPresetError as exc:
            raise ParameterError(str(exc)) from exc
        try:  # the Python API may pass texts ("none" for launches, "auction" for h_liq) as the CLI does
            overrides = {k: COLLATERAL.parse(k, v) for k, v in self.overrides.items() if k != "kind"}
            return base.with_overrides(**{**deal, **overrides})
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"collateral {exc}") from exc


@dataclass(frozen=True)
class CurveChoice:
    """Which curve to apply: a preset, parameter overrides, launches and the mode.

    ``overrides`` maps parameter names to values or to texts as the command line takes them
    (``{"util": "0.9,0.8", "d": "0.3"}``). ``launches`` None keeps the preset's launches; an empty
    tuple means none. ``anchor`` (a period number, 1 = the first, or a date in the period),
    ``contracted_until`` and ``releasing_gap_months`` override the profile's ``[rent]`` fields
    (``docs/curve.md``). Checked when it is made: an unknown preset (with the closest name) or a bad
    override is a :class:`ParameterError` before any file is read.
    """

    preset: str = DEFAULT_PRESET
    overrides: dict[str, Any] = field(default_factory=dict)
    launches: tuple[Launch, ...] | None = None
    mode: RentMode = RentMode.INDEX
    collateral: CollateralChoice = field(default_factory=CollateralChoice)
    anchor: int | dt.date | None = None
    contracted_until: dt.date | None = None
    releasing_gap_months: int | None = None

    def __post_init__(self) -> None:
        self._curve({})  # an unknown preset (with the closest name) or a bad override, before any file is read
        self.collateral.check(self.preset)

    def start_date(self) -> dt.date | None:
        """``--set start``, parsed: the deal start, which also dates a model whose periods are only numbered."""
        if "start" not in self.overrides:
            return None
        try:
            value = CURVE.parse("start", self.overrides["start"])
        except ValueError as exc:
            raise ParameterError(str(exc)) from exc
        return value if isinstance(value, dt.date) else None

    def params(self, profile: TemplateProfile, money_scale: float | None = None) -> CurveParams:
        """The curve's parameters; ``money_scale`` (dollars → the template's unit) is the default ``unit_scale``."""
        deal: dict[str, Any] = {}
        if profile.gpus is not None:
            deal["gpus"] = profile.gpus
        scale = money_scale if money_scale is not None else profile.unit_scale
        if scale is not None:
            deal["unit_scale"] = scale
        given = self.overrides.get("unit_scale")
        if profile.unit is not None and scale is not None and given is not None and \
                abs(float(str(CURVE.parse("unit_scale", given))) - scale) > 1e-12 * scale:
            raise ParameterError(f"--set unit_scale={given} contradicts the profile's [deal] unit = "
                                 f"\"{profile.unit.label}\" (unit_scale {scale!r}); keep one of them")
        return self._curve(deal)

    def _curve(self, deal: dict[str, Any]) -> CurveParams:
        try:
            base = get_preset(self.preset).curve
        except UnknownPresetError as exc:
            raise ParameterError(str(exc)) from exc
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
