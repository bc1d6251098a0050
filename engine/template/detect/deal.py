"""What a template says about its deal: the money unit and what secures the loan (docs/credit.md).

Detection (``search.py``) calls :func:`propose_unit` and :func:`propose_security` on the texts of the
workbook; ``convert`` calls them, through :func:`deal_texts`, when a profile does not say. Each gives a
:class:`Proposal` — the value, where it was read and how sure — or none, never a guess passed off as a
finding. The words are in :mod:`engine.template.detect.vocab`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from engine.refs import CellRef
from engine.template.detect.vocab import SECURED_ON_GPUS, SECURED_ON_SITE, money_unit_words, normalise
from engine.template.profile import METRIC_FIELDS, TemplateProfile
from engine.values import CellValue
from models.params import SecurityKind
from models.units import MoneyUnit

HEADER_ROWS, HEADER_COLS = 4, 8  # a sheet's title block: "US$ millions unless stated" under the title
LABEL_DEPTH = 6  # cells above a column line searched for its label and unit


@dataclass(frozen=True)
class Text:
    """A text cell and how close it is to the lines the metrics read (0: a line's label or units cell,
    1: the title block of a sheet holding those lines, 2: the title block of another sheet the profile
    reads, 3: any other text of the workbook — read for what secures the loan, never for the unit)."""

    cell: CellRef
    text: str
    tier: int


@dataclass(frozen=True)
class UnitProposal:
    unit: MoneyUnit | None
    where: str
    confidence: str  # high | medium | low
    how: str


@dataclass(frozen=True)
class SecurityProposal:
    kind: SecurityKind
    where: str
    confidence: str
    how: str


def deal_texts(get: Callable[[str, int, int], CellValue], profile: TemplateProfile) -> list[Text]:
    """The texts near a profile's lines: each line's label and units cells, and its sheets' title blocks."""
    lines = [profile.rent, *(profile.metrics[k] for k in METRIC_FIELDS if k in profile.metrics and k != "dscr")]
    spots: list[tuple[CellRef, int]] = []
    for cells in lines:
        first = cells[0]
        if all(c.row == first.row for c in cells):
            spots += [(CellRef(first.sheet, first.row, c), 0) for c in range(1, first.col)]
        else:
            spots += [(CellRef(first.sheet, r, first.col), 0) for r in range(max(1, first.row - LABEL_DEPTH), first.row)]
    line_sheets = {cells[0].sheet for cells in lines}
    for sheet in sorted(profile.sheets()):
        tier = 1 if sheet in line_sheets else 2
        spots += [(CellRef(sheet, r, c), tier) for r in range(1, HEADER_ROWS + 1) for c in range(1, HEADER_COLS + 1)]
    out: list[Text] = []
    seen: set[CellRef] = set()
    for cell, tier in spots:
        value = get(cell.sheet, cell.row, cell.col)
        if cell not in seen and isinstance(value, str) and value.strip():
            seen.add(cell)
            out.append(Text(cell, value.strip(), tier))
    return out


def propose_unit(texts: Iterable[Text]) -> UnitProposal:
    """The money unit the texts closest to the lines state (tiers 0 to 2); none when they say nothing or disagree."""
    found: dict[int, dict[MoneyUnit, Text]] = {}
    for text in texts:
        words = money_unit_words(text.text) if text.tier <= 2 else None
        if words is not None:
            found.setdefault(text.tier, {}).setdefault(MoneyUnit.parse(words), text)
    for tier in sorted(found):
        units = found[tier]
        if len(units) == 1:
            unit, text = next(iter(units.items()))
            return UnitProposal(unit, str(text.cell), "high" if tier == 0 else "medium",
                                f"'{text.text}' says {unit.label}")
        listed = "; ".join(f"'{t.text}' at {t.cell} ({u.label})" for u, t in units.items())
        return UnitProposal(None, "–", "low", f"the labels disagree: {listed}; set [deal] unit")
    return UnitProposal(None, "–", "low", "no label, units cell or header states the money unit; set [deal] unit "
                                          "(needed for collateral values and absolute-mode rent)")


def propose_security(texts: Iterable[Text]) -> SecurityProposal:
    """What secures the loan, as the workbook's words say: GPUs financed or pledged, else a site or a
    building and its lease, else nothing gpucredit can value."""
    ordered = sorted(texts, key=lambda t: t.tier)
    for kind, pattern, why in ((SecurityKind.GPU_FLEET, SECURED_ON_GPUS, "the GPUs are financed or pledged"),
                               (SecurityKind.SITE, SECURED_ON_SITE, "a site or building and its lease (the GPUs "
                                                                    "are not said to be the lender's)")):
        for text in ordered:
            if pattern.search(normalise(text.text)):
                return SecurityProposal(kind, str(text.cell), "medium", f"'{_short(text.text)}': {why}")
    return SecurityProposal(SecurityKind.NONE, "–", "low", "nothing in the workbook says what secures the loan; "
                                                           "set [collateral] kind")


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
