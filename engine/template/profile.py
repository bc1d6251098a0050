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
from models.params import SecurityKind
from models.periods import Frequency
from models.units import MoneyUnit, unit_scale

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
    loan_amount: tuple[CellRef, ...] = ()  # the input cell(s) the debt is drawn from (several: tranches)
    btc_price: tuple[CellRef, ...] = ()  # [stress] btc_price: the BTC price input, one cell per period
    margin_call: tuple[CellRef, ...] = ()  # [stress] margin_call: the template's margin-call flag line (1 = call)
    refinancing: dt.date | None = None  # [stress] refinancing: a convertible's maturity or put date
    tenor: CellRef | None = None  # the input cell holding the loan's tenor, where the model lets it vary
    # the cell(s) holding the debt amount the debt lines read, an input or a formula ([debt] amount);
    # when the rent reaches it the model sizes its own debt (engine.report.sizing)
    debt_amount: tuple[CellRef, ...] = ()
    origin: str = "profile"
    unit: MoneyUnit | None = None  # [deal] unit: the template's money unit
    fx_rate: float | None = None  # [deal] fx_rate: the unit's currency per US dollar (not for USD units)
    anchor: int | dt.date | None = None  # [rent] anchor: a period number (1 = the first) or a date in it
    contracted_until: dt.date | None = None  # [rent] contracted_until: E (docs/curve.md, contracted then merchant)
    releasing_gap_months: int | None = None  # [rent] releasing_gap_months: g
    collateral_kind: SecurityKind | None = None  # [collateral] kind
    collateral_value: tuple[CellRef, ...] | float | None = None  # [collateral] value: site value, template unit
    collateral_haircut: float | None = None  # [collateral] haircut: forced-sale discount on that value

    def __post_init__(self) -> None:
        n = len(self.timeline.cells)
        if len(self.rent) != n:
            raise ValueError(f"rent has {len(self.rent)} cells but the timeline has {n} periods")
        for name, cells in self.metrics.items():
            if name not in METRIC_FIELDS:
                raise ValueError(f"unknown metric {name!r}; expected one of {', '.join(METRIC_FIELDS)}")
            if len(cells) != n:
                raise ValueError(f"{name} has {len(cells)} cells but the timeline has {n} periods")
        if isinstance(self.collateral_value, tuple) and len(self.collateral_value) not in (1, n):
            raise ValueError(f"[collateral] value has {len(self.collateral_value)} cells; give one cell, or one "
                             f"per period ({n})")
        if self.collateral_haircut is not None and not 0 <= self.collateral_haircut < 1:
            raise ValueError(f"[collateral] haircut {self.collateral_haircut!r} must be a share in [0, 1)")
        if self.releasing_gap_months is not None and self.releasing_gap_months < 0:
            raise ValueError(f"[rent] releasing_gap_months {self.releasing_gap_months!r} must be >= 0")
        if isinstance(self.anchor, int) and not 1 <= self.anchor <= n:
            raise ValueError(f"[rent] anchor {self.anchor} is not a period number (1 to {n})")
        if self.unit is not None:
            scale = unit_scale(self.unit, self.fx_rate)  # a unit in another currency needs fx_rate
            if self.unit_scale is not None and abs(self.unit_scale - scale) > 1e-12 * scale:
                raise ValueError(f"[deal] unit_scale = {self.unit_scale!r} contradicts unit = \"{self.unit.label}\" "
                                 f"(which means unit_scale = {scale!r}); keep one of them")

    def money_scale(self) -> float | None:
        """Dollars → the template's unit, from ``unit`` (and ``fx_rate``) or ``unit_scale``; None if unknown."""
        if self.unit is not None:
            return unit_scale(self.unit, self.fx_rate)
        return self.unit_scale

    @property
    def n_periods(self) -> int:
        return len(self.rent)

    def sheets(self) -> set[str]:
        """Every sheet the profile points into."""
        refs = [*self.timeline.cells, *self.timeline.years, *self.rent, *self.loan_amount, *self.debt_amount,
                *self.btc_price, *self.margin_call,
                *(c for cells in self.metrics.values() for c in cells)]
        if self.tenor is not None:
            refs.append(self.tenor)
        if isinstance(self.covenant, CellRef):
            refs.append(self.covenant)
        if isinstance(self.collateral_value, tuple):
            refs += self.collateral_value
        return {ref.sheet for ref in refs}


def given_profile(workbook: Path, profile: TemplateProfile | str | Path | None) -> TemplateProfile | None:
    """The profile a conversion of ``workbook`` reads: ``profile``, else ``NAME.toml`` beside the workbook;
    None when there is neither (detection then finds one)."""
    if isinstance(profile, TemplateProfile):
        return profile
    if profile is not None:
        return read_profile(profile)
    beside = workbook.with_suffix(".toml")
    return read_profile(beside) if beside.is_file() else None


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
    rent_doc = _table(doc, "rent")
    rent = parse_range(_text(rent_doc, "cells", "rent"))
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
    collateral = doc.get("collateral", {})
    debt = doc.get("debt", {})
    value = collateral.get("value")
    loan = deal.get("loan_amount")
    if isinstance(loan, str):
        loan = [loan]
    if loan is not None and (not isinstance(loan, list) or not all(isinstance(x, str) for x in loan)):
        raise ValueError('[deal] loan_amount must be a cell ("Inputs!C12") or a list of cells')
    loan_cells = tuple(parse_ref(x) for x in loan or ())
    stress = doc.get("stress", {})
    btc_price = parse_range(str(stress["btc_price"])) if stress.get("btc_price") else ()
    margin_call = parse_range(str(stress["margin_call"])) if stress.get("margin_call") else ()
    for name, cells in (("btc_price", btc_price), ("margin_call", margin_call)):
        if cells and len(cells) != len(timeline.cells):
            raise ValueError(f"[stress] {name} has {len(cells)} cells but the timeline has {len(timeline.cells)} periods")
    refinancing = stress.get("refinancing")
    tenor_text = deal.get("tenor")
    if tenor_text is not None and not isinstance(tenor_text, str):
        raise ValueError('[deal] tenor must be the cell that holds the tenor ("Inputs!C23")')
    return TemplateProfile(
        timeline=timeline, rent=rent, metrics=metrics, covenant=covenant,
        gpus=_number(deal, "gpus"), unit_scale=_number(deal, "unit_scale"), cost_per_gpu=_number(deal, "cost_per_gpu"),
        loan_amount=loan_cells, tenor=parse_ref(tenor_text) if tenor_text else None,
        debt_amount=parse_range(str(debt["amount"])) if debt.get("amount") else (),
        btc_price=btc_price, margin_call=margin_call,
        refinancing=dt.date.fromisoformat(refinancing) if isinstance(refinancing, str) else refinancing,
        origin=origin,
        unit=MoneyUnit.parse(str(deal["unit"])) if deal.get("unit") else None,
        fx_rate=_number(deal, "fx_rate"),
        anchor=_anchor(rent_doc.get("anchor")),
        contracted_until=_date(rent_doc, "contracted_until"),
        releasing_gap_months=int(rent_doc["releasing_gap_months"]) if rent_doc.get("releasing_gap_months") is not None
        else None,
        collateral_kind=SecurityKind.parse(str(collateral["kind"])) if collateral.get("kind") else None,
        collateral_value=parse_range(value) if isinstance(value, str) else _number(collateral, "value"),
        collateral_haircut=_number(collateral, "haircut"),
    )


def _number(table: dict[str, Any], key: str) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} = {value!r} must be a number")
    return float(value)


def _date(table: dict[str, Any], key: str) -> dt.date | None:
    value = table.get(key)
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{key} = {value!r} is not a date (YYYY-MM-DD)") from None


def _anchor(value: object) -> int | dt.date | None:
    """``[rent] anchor``: a period number (1 = the first period) or a date (the period containing it)."""
    if value is None or isinstance(value, dt.date) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return parse_anchor(str(value))


def parse_anchor(text: str) -> int | dt.date:
    """A period number (``2``) or an ISO date (``2026-02-28``), as ``--anchor`` and ``[rent] anchor`` take it."""
    raw = text.strip()
    if raw.isdigit():
        return int(raw)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"anchor: {text!r} is neither a period number (1 = the first period) nor a date "
                         "(YYYY-MM-DD)") from None


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


def profile_to_toml(profile: TemplateProfile, *, comments: dict[str, str] | None = None,
                    alternatives: list[str] | None = None) -> str:
    """Readable TOML for a profile; ``comments`` adds a ``# note`` after a key (``"rent.cells"``);
    ``alternatives`` are written as commented-out ``cells = …`` lines under ``[rent]``."""
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
    out += ["", "[rent]", line("cells", _quote(format_range(profile.rent)), "rent.cells")]
    if profile.anchor is not None:
        out.append(f"anchor = {_toml_value(profile.anchor)}")
    if profile.contracted_until is not None:
        out.append(f"contracted_until = {_toml_value(profile.contracted_until)}")
    if profile.releasing_gap_months is not None:
        out.append(f"releasing_gap_months = {profile.releasing_gap_months}")
    out += [f"# {alternative}" for alternative in alternatives or []]
    out += ["", "[metrics]"]
    for name in METRIC_FIELDS:
        if name in profile.metrics:
            out.append(line(name, _quote(format_range(profile.metrics[name])), f"metrics.{name}"))
    if isinstance(profile.covenant, CellRef):
        out.append(line("covenant", _quote(str(profile.covenant)), "metrics.covenant"))
    elif profile.covenant is not None:
        out.append(line("covenant", repr(profile.covenant), "metrics.covenant"))
    deal = [(k, v) for k, v in (("gpus", profile.gpus), ("unit_scale", profile.unit_scale),
                                ("cost_per_gpu", profile.cost_per_gpu), ("fx_rate", profile.fx_rate)) if v is not None]
    if deal or profile.unit is not None or "deal.unit" in notes:
        out += ["", "[deal]"]
        if profile.unit is not None:
            out.append(line("unit", _quote(profile.unit.label), "deal.unit") + ("" if notes.get("deal.unit") else
                       "  # " + " | ".join(u.label for u in MoneyUnit)))
        else:  # detection found none: say so where the field goes
            out.append(f"# unit = \"USD\"  # {notes['deal.unit']}; one of " + ", ".join(u.label for u in MoneyUnit))
        out += [f"{k} = {v!r}" for k, v in deal]
    if profile.loan_amount or profile.tenor is not None:
        if not (deal or profile.unit is not None or "deal.unit" in notes):
            out += ["", "[deal]"]
        if profile.loan_amount:
            cells = [_quote(str(c)) for c in profile.loan_amount]
            out.append(line("loan_amount", cells[0] if len(cells) == 1 else "[" + ", ".join(cells) + "]",
                            "deal.loan_amount"))
        if profile.tenor is not None:
            out.append(line("tenor", _quote(str(profile.tenor)), "deal.tenor"))
    value = profile.collateral_value
    if profile.collateral_kind is not None or value is not None:
        out += ["", "[collateral]"]
        if profile.collateral_kind is not None:
            out.append(line("kind", _quote(profile.collateral_kind.value), "collateral.kind")
                       + ("" if notes.get("collateral.kind") else "  # gpu_fleet | site | none"))
        if value is not None:
            out.append(f"value = {_quote(format_range(value)) if isinstance(value, tuple) else repr(value)}")
        if profile.collateral_haircut is not None:
            out.append(f"haircut = {profile.collateral_haircut!r}")
    if profile.debt_amount:
        out += ["", "[debt]", line("amount", _quote(format_range(profile.debt_amount)), "debt.amount")]
    stress = [f"{k} = {_quote(format_range(v))}" for k, v in (("btc_price", profile.btc_price),
                                                           ("margin_call", profile.margin_call)) if v]
    if profile.refinancing is not None:
        stress.append(f"refinancing = {_quote(profile.refinancing.isoformat())}")
    if stress:
        out += ["", "[stress]", *stress]
    return "\n".join(out) + "\n"


def _toml_value(value: int | dt.date) -> str:
    return str(value) if isinstance(value, int) else _quote(value.isoformat())


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
