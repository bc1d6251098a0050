"""A paste-ready credit memo in Markdown (``gpucredit convert … --memo memo.md``).

The headline, the before/after metric table with units (the rows and digits of the CLI, from the one
metric table), the curve's parameters with their sources, and what secures the loan. Every number is
one of ``--json``'s, formatted by :func:`engine.report.metric_table.format_value`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.report.metric_table import METRICS, format_value, shown, unit_label
from models.credit import CreditMetrics
from models.presets import PARAM_SOURCES

if TYPE_CHECKING:
    from engine.patch.choice import CurveChoice
    from engine.report.result import ConversionResult
    from engine.template.profile import TemplateProfile


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_memo(*, title: str, headline: str, before: CreditMetrics, after: CreditMetrics, money: str,
                dscr_check: bool, collateral: bool, curve_lines: Sequence[str],
                parameters: Sequence[tuple[str, str, str]], security: Sequence[str], notes: Sequence[str]) -> str:
    """The memo's Markdown: ``parameters`` are (name, value, source) rows; the rest are sentences."""
    out = [f"# {title}", "", f"**{headline}**", "", "## Coverage before and after", "",
           "| Metric | Unit | Before | After |", "| --- | --- | ---: | ---: |"]
    for metric in METRICS:
        if shown(metric, dscr_check=dscr_check, collateral=collateral):
            out.append(f"| {_cell(metric.label)} | {_cell(unit_label(metric, money))} | "
                       f"{_cell(format_value(metric, before))} | {_cell(format_value(metric, after))} |")
    out += ["", "Before: the lender's workbook as received. After: the same workbook, its rent re-priced with the "
                "GPU rent curve below and every formula recomputed. A period is tested where debt service is "
                "positive; n/a means the template lacks a line the metric needs.", "", "## The rent curve", ""]
    out += [*curve_lines, "", "| Parameter | Value | Source |", "| --- | --- | --- |"]
    out += [f"| {_cell(name)} | {_cell(value)} | {_cell(source)} |" for name, value, source in parameters]
    out += ["", "## What secures the loan", "", *security]
    if notes:
        out += ["", "## Notes", "", *(f"- {note}" for note in notes)]
    return "\n".join(out) + "\n"


def memo_text(result: ConversionResult, curve: CurveChoice, profile: TemplateProfile) -> str:
    """The credit memo of a conversion (``--memo``), in Markdown."""
    credit = result.credit
    assert credit is not None and credit.metrics_after is not None
    params = result.params
    sources = {name: f"preset {curve.preset}: {PARAM_SOURCES.get(name, 'the preset')}" for name in PARAM_SOURCES}
    sources.update({k: "--set" for k in curve.overrides})
    if curve.launches is not None:
        sources["launches"] = "--launch / --no-launches"
    for name, value in (("gpus", profile.gpus), ("unit_scale", profile.unit_scale)):
        if value is not None and name not in curve.overrides:
            sources[name] = f"{profile.origin} [deal] {name}"
    if "unit_scale" not in sources:
        sources["unit_scale"] = credit.money.source
    if "start" not in curve.overrides:
        sources["start"] = f"the first month of the anchor period (period {result.anchor + 1})"
    rows = []
    for name, value in params.to_dict().items():
        if name == "launches":
            text = ", ".join(f"{k['date']}: {k['step']:.0%}" for k in value) or "none"
        elif name == "util":
            text = ", ".join(f"{u:g}" for u in value)
        else:
            text = "–" if value is None else str(value)
        rows.append((name, text, sources.get(name, f"preset {curve.preset}")))
    contract = ("No contract: every period after the anchor is re-priced." if result.contract is None else
                f"Contracted until {result.contract.until.isoformat()}: periods ending on or before it keep the "
                f"template's rent; then a {result.contract.releasing_gap_months}-month re-leasing gap earning "
                "nothing; then the market.")
    curve_lines = [f"Preset {curve.preset}, {curve.mode.value} mode, anchored on period {result.anchor + 1} "
                   f"(ending {result.grid.ends[result.anchor].isoformat()}). {contract}"]
    security_lines = [f"**{credit.security.kind.value}** ({credit.security.reason}). {credit.security.note}"]
    fleet = credit.security.fleet
    if fleet is not None and credit.security.fleet_values is not None:
        security_lines += ["", f"Forced-sale value = orderly value × (1 − {fleet.h_liq:.0%} sale-channel haircut) × "
                           f"(1 − {fleet.h_infra:.0%} cooling/site haircut) × (1 − market-depth haircut for "
                           f"{fleet.gpus:,.0f} GPUs at {fleet.monthly_volume:,.0f} a month) − {fleet.repo_cost_pct:.0%} "
                           f"repossession costs; orderly value = cost × e^(−{fleet.mu:g} × age in years), after "
                           "each launch's step, floored at "
                           f"{fleet.scrap_pct:.0%} of cost (sources: gpucredit's docs/credit.md and docs/sources.md)."]
    return render_memo(title=f"Credit memo: {result.input.name} under {curve.preset}", headline=result.headline,
                       before=credit.metrics_before, after=credit.metrics_after, money=credit.money.label,
                       dscr_check=credit.dscr_check, collateral=credit.collateral_shown, curve_lines=curve_lines,
                       parameters=rows, security=[credit.money.sentence(), "", *security_lines],
                       notes=[*result.warnings, *result.notes])
