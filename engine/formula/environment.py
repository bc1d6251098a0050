"""Environment functions: results that depend on where and when Excel last calculated.

``CELL("filename")`` (the file's path and sheet), ``INFO``, ``NOW``, ``TODAY``, ``RAND`` and
``RANDBETWEEN`` give answers that no recalculation elsewhere can reproduce: the path of the
lender's folder, the day they last pressed F9, a random draw. gpucredit keeps Excel's value:

- the clock is pinned to Excel's: a cell holding just ``=NOW()`` (or ``=TODAY()``) says when Excel
  last calculated, and the engine's ``NOW``/``TODAY`` then give the same answer everywhere;
- a cell whose formula reads nothing but the environment (``=RAND()``,
  ``=MID(CELL("filename",A1),…)``, ``=INFO("osversion")``) is held at the value Excel cached, in
  the engine's private copy only, so what depends on it computes from Excel's value.

Reconciliation counts these cells apart ("kept Excel's value"), never as mismatches; an
environment cell that also reads the model (``=IF(TODAY()>Maturity,0,Balance)``) without a
pinned clock is evaluated, and a difference there is reported with its cause.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from engine.formula.tree import Item, Slot, function_name, parse_formula
from engine.values import EXCEL_EPOCH, EXCEL_EPOCH_1904

Key = tuple[str, int, int]
FUNCTIONS = frozenset(("CELL", "INFO", "NOW", "TODAY", "RAND", "RANDBETWEEN"))
CLOCK = frozenset(("NOW", "TODAY"))
_MENTION = re.compile(r"\b(CELL|INFO|NOW|TODAY|RAND|RANDBETWEEN)\s*\(", re.IGNORECASE)
_BARE_CLOCK = re.compile(r"\s*(?:_xlfn\.)?(NOW|TODAY)\s*\(\s*\)\s*", re.IGNORECASE)
# CELL's information types that describe the cell itself, not the environment
_CELL_DETERMINISTIC = frozenset(('"address"', '"col"', '"row"', '"contents"', '"type"'))


@dataclass
class Environment:
    """The environment cells of one workbook: which functions each calls, which the engine's copy
    holds at Excel's value (``frozen``), and Excel's clock when a cell gives it away."""

    cells: dict[Key, frozenset[str]] = field(default_factory=dict)
    frozen: set[Key] = field(default_factory=set)
    clock: dt.datetime | None = None


def environment_calls(formula: str) -> frozenset[str]:
    """The environment functions ``formula`` calls (``CELL`` only for the file name or an info type
    that is not a literal); empty for most formulas, cheaply."""
    if not _MENTION.search(formula):
        return frozenset()
    tree = parse_formula(formula)
    if tree is None:
        return frozenset(function_name(n) for n in _MENTION.findall(formula)) & FUNCTIONS
    return frozenset(name for name, _item in _walk_calls(tree) if name in FUNCTIONS)


def _walk_calls(slot: Slot) -> list[tuple[str, Item]]:
    found = []
    for item in slot.items:
        if item.kind == "call" and _is_environment(item):
            found.append((item.name, item))
            continue
        for inner in item.slots:
            found += _walk_calls(inner)
    return found


def _is_environment(item: Item) -> bool:
    if item.name not in FUNCTIONS:
        return False
    if item.name != "CELL" or not item.slots or not item.slots[0].items:
        return True
    first = item.slots[0].items[0]
    return not (len(item.slots[0].items) == 1 and str(first.token.value).lower() in _CELL_DETERMINISTIC)


def reads_only_environment(formula: str) -> bool:
    """Whether every reference in ``formula`` sits inside an environment call (``CELL``'s reference
    only names a sheet), so holding the cell at Excel's value cuts no link of the model."""
    tree = parse_formula(formula)
    if tree is None:
        return False

    def clean(slot: Slot) -> bool:
        for item in slot.items:
            if item.kind == "call" and _is_environment(item):
                continue
            if item.kind == "ref":
                return False
            if not all(clean(inner) for inner in item.slots):
                return False
        return True

    return clean(tree)


def clock_of(formula: str, cached: float, *, date1904: bool) -> tuple[str, dt.datetime] | None:
    """Excel's clock at its last calculation, from a cell holding only ``NOW()`` or ``TODAY()``."""
    found = _BARE_CLOCK.fullmatch(formula)
    if found is None or not 0 < cached < 2_958_466:
        return None
    epoch = dt.datetime.combine(EXCEL_EPOCH_1904 if date1904 else EXCEL_EPOCH, dt.time())
    when = epoch + dt.timedelta(days=cached)
    return found.group(1).upper(), when.replace(microsecond=0) if found.group(1).upper() == "TODAY" else when
