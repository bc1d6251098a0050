"""What a user chooses to apply to a template: the rent curve (preset, overrides, launches, mode) and
the collateral model's parameters. Parsed at the edges (CLI, xlwings, profiles) into these objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import ParameterError
from engine.template.profile import TemplateProfile
from models.collateral import CollateralParams
from models.curves import CurveParams, Launch, RentMode
from models.params import CURVE
from models.periods import PeriodGrid
from models.presets import UnknownPresetError, get_preset

DEFAULT_PRESET = "h100-base"


@dataclass(frozen=True)
class CollateralChoice:
    """Collateral parameters: the preset's, then the profile's fleet, then explicit overrides."""

    overrides: dict[str, Any] = field(default_factory=dict)

    def params(self, preset: str, profile: TemplateProfile, grid: PeriodGrid,
               gpus: float | None = None) -> CollateralParams:
        """``gpus``: the fleet the rent curve uses (profile or ``--set gpus``), if any."""
        try:
            base = get_preset(preset).collateral
        except UnknownPresetError as exc:
            raise ParameterError(str(exc)) from exc
        deal: dict[str, Any] = {"valuation_date": grid.starts[0]}
        if gpus is not None:
            deal["gpus"] = gpus
        if profile.cost_per_gpu is not None:
            deal["cost_per_gpu"] = profile.cost_per_gpu
        try:
            return base.with_overrides(**{**deal, **self.overrides})
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"collateral {exc}") from exc


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
