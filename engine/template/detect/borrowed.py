"""Timelines held on another sheet: a model sheet whose columns are dated by a "Timing" sheet.

Many project-finance models keep one timing sheet (period start and end dates, flags, counters)
and lay every other sheet out in the same columns without repeating the dates, or repeat them only
as formulas pointing back (``=Timing!J$5``). Such a sheet *borrows* the timing sheet's timeline:
its lines are read at the same positions, and the profile's timeline cells are the timing sheet's.
"""

from __future__ import annotations

import re
from dataclasses import replace

from engine.refs import quote_sheet
from engine.template.detect.scan import Sheet
from engine.template.detect.timelines import Run

_TIMING = re.compile(r"\b(timing|time|timeline|dates|periods|calendar)\b", re.IGNORECASE)


def borrowed_frames(sheets: dict[str, Sheet], frames: list[tuple[Sheet, Run]]) -> list[tuple[Sheet, Run]]:
    """The frames with borrowed timelines added: one for every sheet that has no dated timeline of its own
    over another sheet's timeline positions and reads that sheet (its formulas name it), timing-named
    sheets first. A sheet's own counter of period numbers over those positions gives way to the dates."""
    sources = sorted((f for _s, f in frames if f.borrowed_from is None and f.kind in ("date", "text", "year")),
                     key=lambda f: (not _TIMING.search(f.sheet), f.rank()))
    kept = list(frames)
    for sheet in sheets.values():
        own = [f for s, f in kept if s.title == sheet.title]
        for source in sources:
            if source.sheet == sheet.title or not _names_sheet(sheet, source.sheet):
                continue
            span = set(source.positions)
            overlapping = [f for f in own if f.axis == source.axis and span & set(f.positions)]
            if any(f.kind in ("date", "text", "year") for f in overlapping) or not _holds_data_at(sheet, source):
                continue  # the sheet has a dated timeline of its own over these columns (or rows)
            kept = [(s, f) for s, f in kept if not any(f is o for o in overlapping)]
            frame = replace(source, sheet=sheet.title, borrowed_from=source.sheet)
            own = [f for f in own if not any(f is o for o in overlapping)] + [frame]
            kept.append((sheet, frame))
    return kept


def _names_sheet(sheet: Sheet, other: str) -> bool:
    quoted = quote_sheet(other)
    return any(f"{quoted}!" in formula or f"{other}!" in formula for formula in sheet.formulas.values())


def _holds_data_at(sheet: Sheet, frame: Run) -> bool:
    """Some line of the sheet has numbers at most of the frame's positions."""
    positions = set(frame.positions)
    counts: dict[int, int] = {}
    for (r, c), value in sheet.values.items():
        line, at = (r, c) if frame.axis == "row" else (c, r)
        if at in positions and isinstance(value, float):
            counts[line] = counts.get(line, 0) + 1
    return any(n >= 0.8 * len(positions) for n in counts.values())
