"""Period labels written as text ("FY2026", "Q1-26", "Jan 2026", "Year 3"): the one parser.

Detection (``engine/template/detect/timelines.py``) uses it to recognise a row or column of text labels as a
timeline; :func:`engine.template.timeline.read_grid` uses it to turn the labels into periods (docs/curve.md
"Periods"). The shapes read, case-insensitively, with spaces, ``-``, ``'`` or ``/`` between parts:

=========  ==================================================  =====================================
kind       examples                                            period
=========  ==================================================  =====================================
year       ``2026``, ``FY2026``, ``FY26``, ``CY2027``,          a year; ``FY`` (and a bare year) is the
           ``2026E``, ``2027A``, ``FY27F``                      fiscal year *ending* in it when the
                                                               fiscal year does not start in January
half       ``H1 2026``, ``1H26``, ``2026 H2``, ``H2 FY27``      half ``index`` of the year
quarter    ``Q1 2026``, ``Q1-26``, ``1Q26``, ``2026 Q3``,       quarter ``index`` of the year
           ``Q3 FY27``
month      ``Jan-26``, ``Jan 2026``, ``September 2027``         calendar month ``index``
number     ``Year 1``, ``Yr 2``, ``Month 3``, ``Quarter 4``,    period ``index``; needs a start date
           ``Period 5``, ``P6``                                (the frequency comes from the word,
                                                               ``Period`` does not say it)
=========  ==================================================  =====================================

Two-digit years are 20yy (a GPU lease model has no periods in the 1900s). A year may carry an
actual/estimate suffix (A, E, F, B, P), which changes nothing. Months are always calendar months;
``CY`` years are always calendar years.

Errors::

    PeriodLabelError (ValueError)     the text is not a period label; ``label``, ``reason``
    ├── UnknownLabelError             no shape above matches ("Total", "2026/27")
    └── ImpossiblePeriodError         the shape matches but the period cannot exist ("Q5 2026")
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.periods import Frequency

__all__ = ["ImpossiblePeriodError", "PeriodLabel", "PeriodLabelError", "UnknownLabelError", "parse_label"]

MAX_LABEL = 24  # characters; anything longer is a sentence, not a period label


class PeriodLabelError(ValueError):
    """``label`` is not a period; ``reason`` says why in a few words."""

    def __init__(self, label: str, reason: str) -> None:
        self.label = label
        self.reason = reason
        super().__init__(f"{label!r} is not a period ({reason})")


class UnknownLabelError(PeriodLabelError):
    """The text has none of the shapes of a period label."""


class ImpossiblePeriodError(PeriodLabelError):
    """The text has a period label's shape, but names a period that cannot exist (``Q5 2026``)."""


_MONTHS = {name: i for i, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")), start=1) for name in names}
_SEP = r"[\s\-'/.]*"
_YEAR = r"(?P<year>\d{4}|\d{2})"
_SUFFIX = r"(?:[aefbp])?"
_PARTS = {"q": ("quarter", Frequency.QUARTERLY, 4), "h": ("half", Frequency.SEMIANNUAL, 2)}
_SHAPES = (
    # years: FY2026, FY26, CY2027, 2026E, 2027A, FY27F, plain 2026
    ("year", re.compile(rf"(?P<basis>fy|cy){_SEP}{_YEAR}{_SUFFIX}")),
    ("year", re.compile(rf"(?P<year>\d{{4}}){_SUFFIX}")),
    # quarters and halves: Q1 2026, Q1-26, Q3 FY27, 1Q26, 2026 Q3, 1H26, H2 2026
    ("part", re.compile(rf"(?P<part>[qh])(?P<index>\d){_SEP}(?P<basis>fy|cy)?{_SEP}{_YEAR}{_SUFFIX}")),
    ("part", re.compile(rf"(?P<index>\d)(?P<part>[qh]){_SEP}(?P<basis>fy|cy)?{_SEP}{_YEAR}{_SUFFIX}")),
    ("part", re.compile(rf"(?P<basis>fy|cy)?{_SEP}(?P<year>\d{{4}}){_SEP}(?P<part>[qh])(?P<index>\d)")),
    # months typed as text: Jan-26, Jan 2026, September 2027
    ("month", re.compile(rf"(?P<month>{'|'.join(sorted(_MONTHS, key=len, reverse=True))}){_SEP}{_YEAR}")),
    # period numbers: Year 1, Yr 2, Month 3, Period 4, P5, Quarter 6
    ("number", re.compile(r"(?P<word>year|yr|y|month|mth|mo|m|quarter|qtr|half[\s\-]?year|half|hy|period|per|p)"
                          r"[\s\-.#]*(?P<index>\d{1,4})")),
)
_NUMBER_WORDS = {"year": Frequency.ANNUAL, "yr": Frequency.ANNUAL, "y": Frequency.ANNUAL,
                 "month": Frequency.MONTHLY, "mth": Frequency.MONTHLY, "mo": Frequency.MONTHLY,
                 "m": Frequency.MONTHLY, "quarter": Frequency.QUARTERLY, "qtr": Frequency.QUARTERLY,
                 "half": Frequency.SEMIANNUAL, "hy": Frequency.SEMIANNUAL}


@dataclass(frozen=True)
class PeriodLabel:
    """What a period label says.

    Parameters
    ----------
    kind
        ``year`` | ``half`` | ``quarter`` | ``month`` (a dated period) or ``number`` (period
        ``index`` of a timeline whose start date is given elsewhere).
    year
        The year the label names (``FY27`` → 2027); None for ``number``.
    index
        The half (1–2), quarter (1–4) or month (1–12) within ``year``; 1 for a year; the period
        number for ``number``.
    frequency
        The period length the label implies; None for ``Period n`` (the word does not say).
    basis
        ``fiscal`` (an ``FY`` label), ``calendar`` (``CY`` or a month) or ``plain``.
    """

    kind: str
    year: int | None
    index: int
    frequency: Frequency | None
    basis: str = "plain"

    @property
    def dated(self) -> bool:
        """Whether the label names a calendar period by itself (not a period number)."""
        return self.kind != "number"

    def first_month(self, fiscal_start_month: int = 1) -> int:
        """Month index (``year * 12 + month - 1``) of the period's first month.

        With ``fiscal_start_month`` ≠ 1 a year, half or quarter (but not a ``CY`` year or a month)
        belongs to the fiscal year that *ends* in ``year``, as :meth:`PeriodGrid.from_years` reads
        numeric years: FY2027 starting in April runs 2026-04 … 2027-03, and its Q1 is 2026-04 … 06.
        """
        if self.year is None or self.frequency is None:
            raise ValueError(f"a {self.kind} label has no calendar month; it needs a start date")
        start = self.year * 12 + (self.index - 1) * self.frequency.value
        if self.kind == "month" or self.basis == "calendar" or fiscal_start_month == 1:
            return start
        return start - 12 + fiscal_start_month - 1


def parse_label(text: str) -> PeriodLabel:
    """Read one period label (module docstring for the shapes).

    Raises
    ------
    UnknownLabelError
        The text is not shaped like a period label.
    ImpossiblePeriodError
        The text is shaped like one but the period cannot exist (``Q5 2026``, ``H3 26``, ``FY1850``).
    """
    key = " ".join(text.lower().split())
    if not key or len(key) > MAX_LABEL:
        raise UnknownLabelError(text, "empty" if not key else "too long for a period label")
    for shape, pattern in _SHAPES:
        found = pattern.fullmatch(key)
        if found is not None:
            return _build(text, shape, found.groupdict())
    raise UnknownLabelError(text, "not a year, half, quarter, month or numbered period")


def _build(text: str, shape: str, parts: dict[str, str | None]) -> PeriodLabel:
    basis = {"fy": "fiscal", "cy": "calendar"}.get(parts.get("basis") or "", "plain")
    if shape == "number":
        word = re.sub(r"[\s\-]", "", parts["word"] or "")
        index = int(parts["index"] or 0)
        if word in ("year", "yr") and index >= 1900:  # "Year 2026" names the year, not period 2026
            return PeriodLabel("year", _year(text, str(index)), 1, Frequency.ANNUAL)
        return PeriodLabel("number", None, index, _NUMBER_WORDS.get(word if word != "halfyear" else "half"))
    year = _year(text, parts["year"] or "")
    if shape == "year":
        return PeriodLabel("year", year, 1, Frequency.ANNUAL, basis)
    if shape == "month":
        return PeriodLabel("month", year, _MONTHS[parts["month"] or ""], Frequency.MONTHLY, "calendar")
    kind, frequency, count = _PARTS[parts["part"] or ""]
    index = int(parts["index"] or 0)
    if not 1 <= index <= count:
        raise ImpossiblePeriodError(text, f"there is no {kind} {index}")
    return PeriodLabel(kind, year, index, frequency, basis)


def _year(text: str, digits: str) -> int:
    year = int(digits) + (2000 if len(digits) == 2 else 0)
    if not 1900 <= year <= 9999:
        raise ImpossiblePeriodError(text, f"year {year} is out of range")
    return year
