"""TemplateProfile: where a template keeps its timeline, rent and debt lines (TOML in, TOML out)."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from engine.errors import ProfileError
from engine.refs import CellRef, format_range, parse_range, parse_ref
from models.periods import Frequency

class TimelineKind(StrEnum):
    """What a timeline's cells hold."""

    PERIOD_END = "period_end"  # dates: the last day of each period
    PERIOD_START = "period_start"  # dates: the first day of each period
    YEAR = "year"  # calendar (or fiscal) years
    PERIOD_NUMBER = "period_number"  # 1, 2, 3, … (needs a start date)
    LABEL = "label"  # text such as FY2026, Q1-26, Jan 2026, Year 1

    @classmethod
    def parse(cls, text: str) -> TimelineKind:
        """The kind a profile names; a ValueError listing the kinds for anything else."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"timeline kind must be one of {', '.join(k.value for k in cls)}, not {text!r}") from None


TIMELINE_KINDS = tuple(kind.value for kind in TimelineKind)
METRIC_FIELDS = ("cfads", "debt_service", "interest", "principal", "closing_balance", "dscr")


@dataclass(frozen=True)
class Timeline:
    """How the template's periods are dated.

    ``kind`` is ``period_end`` / ``period_start`` (cells hold dates), ``year`` (cells hold
    years), ``period_number`` (cells hold 1, 2, …; ``start`` gives the first period's start) or
    ``label`` (cells hold text such as ``FY2026``, ``Q1-26``, ``Jan 2026`` or ``Year 1``, read by
    :mod:`engine.template.labels`; numbered labels need ``start``). ``years``, with ``label`` only,
    is a line of numeric years beside quarter/half labels without one (``Q1`` under ``2026``).
    """

    cells: tuple[CellRef, ...]
    kind: TimelineKind
    frequency: Frequency
    start: dt.date | None = None
    fiscal_start_month: int = 1
    years: tuple[CellRef, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", TimelineKind.parse(str(self.kind)))  # a text from Python callers too
        if self.kind == "period_number" and self.start is None:
            raise ValueError("a timeline of period numbers needs a start date")
        if self.years and (self.kind != "label" or len(self.years) != len(self.cells)):
            raise ValueError(f"timeline years ({len(self.years)} cells) go with kind = \"label\" and one year "
                             f"per timeline cell ({len(self.cells)})")


@dataclass(frozen=True)
class TemplateProfile:
    """Everything the engine needs to know about one template's layout."""

    timeline: Timeline
    rent: tuple[CellRef, ...]
    metrics: dict[str, tuple[CellRef, ...]] = field(default_factory=dict)
    covenant: CellRef | float | None = None
    gpus: float | None = None
    unit_scale: float | None = None
    cost_per_gpu: float | None = None  # all-in $ per GPU, for collateral value
    origin: str = "profile"

    def __post_init__(self) -> None:
        n = len(self.timeline.cells)
        if len(self.rent) != n:
            raise ValueError(f"rent has {len(self.rent)} cells but the timeline has {n} periods")
        for name, cells in self.metrics.items():
            if name not in METRIC_FIELDS:
                raise ValueError(f"unknown metric {name!r}; expected one of {', '.join(METRIC_FIELDS)}")
            if len(cells) != n:
                raise ValueError(f"{name} has {len(cells)} cells but the timeline has {n} periods")

    @property
    def n_periods(self) -> int:
        return len(self.rent)

    def sheets(self) -> set[str]:
        """Every sheet the profile points into."""
        refs = [*self.timeline.cells, *self.timeline.years, *self.rent,
                *(c for cells in self.metrics.values() for c in cells)]
        if isinstance(self.covenant, CellRef):
            refs.append(self.covenant)
        return {ref.sheet for ref in refs}


def read_profile(path: str | Path) -> TemplateProfile:
    """Load a profile TOML file."""
    path = Path(path)
    if not path.is_file():
        raise ProfileError("profile file not found", path=path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"not valid TOML: {exc}", path=path) from exc
    try:
        return profile_from_dict(doc, origin=f"profile {path.name}")
    except (KeyError, ValueError, TypeError) as exc:
        raise ProfileError(f"{exc}", path=path) from exc


def profile_from_dict(doc: dict[str, Any], *, origin: str = "profile") -> TemplateProfile:
    """Build a profile from parsed TOML; raises KeyError/ValueError naming what is wrong."""
    tl = _table(doc, "timeline")
    start = tl.get("start")
    if isinstance(start, str):
        start = dt.date.fromisoformat(start)
    timeline = Timeline(
        cells=parse_range(_text(tl, "cells", "timeline")),
        kind=TimelineKind.parse(str(tl.get("kind", "period_end"))),
        frequency=Frequency.parse(_text(tl, "frequency", "timeline")),
        start=start,
        fiscal_start_month=int(tl.get("fiscal_start_month", 1)),
        years=parse_range(str(tl["years"])) if tl.get("years") else (),
    )
    rent = parse_range(_text(_table(doc, "rent"), "cells", "rent"))
    metrics_doc = doc.get("metrics", {})
    metrics = {name: parse_range(str(metrics_doc[name])) for name in METRIC_FIELDS if metrics_doc.get(name)}
    covenant_raw = metrics_doc.get("covenant")
    covenant: CellRef | float | None
    if isinstance(covenant_raw, (int, float)) and not isinstance(covenant_raw, bool):
        covenant = float(covenant_raw)
    elif isinstance(covenant_raw, str):
        covenant = parse_ref(covenant_raw)
    else:
        covenant = None
    deal = doc.get("deal", {})
    return TemplateProfile(
        timeline=timeline, rent=rent, metrics=metrics, covenant=covenant,
        gpus=float(deal["gpus"]) if deal.get("gpus") is not None else None,
        unit_scale=float(deal["unit_scale"]) if deal.get("unit_scale") is not None else None,
        cost_per_gpu=float(deal["cost_per_gpu"]) if deal.get("cost_per_gpu") is not None else None,
        origin=origin,
    )


def _table(doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name)
    if not isinstance(value, dict):
        raise KeyError(f"missing [{name}] table")
    return value


def _text(table: dict[str, Any], key: str, section: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise KeyError(f"[{section}] needs {key} = \"Sheet!A1:B1\"")
    return value


def profile_to_toml(profile: TemplateProfile, *, comments: dict[str, str] | None = None) -> str:
    """Readable TOML for a profile; ``comments`` adds a ``# note`` after a key (``"rent.cells"``)."""
    notes = comments or {}

    def line(key: str, value: str, path: str) -> str:
        note = notes.get(path)
        return f"{key} = {value}" + (f"  # {note}" if note else "")

    out = ["# gpucredit template profile: check each range, then pass it with --profile", "", "[timeline]"]
    tl = profile.timeline
    out.append(line("cells", _quote(format_range(tl.cells)), "timeline.cells"))
    out.append(line("kind", _quote(tl.kind), "timeline.kind") + ("" if notes.get("timeline.kind") else
               "  # period_end | period_start | year | period_number | label"))
    out.append(line("frequency", _quote(tl.frequency.name.lower()), "timeline.frequency"))
    if tl.start is not None:
        out.append(line("start", _quote(tl.start.isoformat()), "timeline.start"))
    if tl.years:
        out.append(line("years", _quote(format_range(tl.years)), "timeline.years"))
    if tl.fiscal_start_month != 1:
        out.append(f"fiscal_start_month = {tl.fiscal_start_month}")
    out += ["", "[rent]", line("cells", _quote(format_range(profile.rent)), "rent.cells"), "", "[metrics]"]
    for name in METRIC_FIELDS:
        if name in profile.metrics:
            out.append(line(name, _quote(format_range(profile.metrics[name])), f"metrics.{name}"))
    if isinstance(profile.covenant, CellRef):
        out.append(line("covenant", _quote(str(profile.covenant)), "metrics.covenant"))
    elif profile.covenant is not None:
        out.append(line("covenant", repr(profile.covenant), "metrics.covenant"))
    deal = [(k, v) for k, v in (("gpus", profile.gpus), ("unit_scale", profile.unit_scale),
                                ("cost_per_gpu", profile.cost_per_gpu)) if v is not None]
    if deal:
        out += ["", "[deal]"] + [f"{k} = {v!r}" for k, v in deal]
    return "\n".join(out) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
