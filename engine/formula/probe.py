"""Raising cells of the loaded model and reading what moves, then putting the model back (issue 18 §1).

Detection judges a candidate rent line by what raising it by 1 % does to CFADS and the debt lines,
and whether the rent reaches the debt amount; both need the model as it was afterwards. Built on
:class:`engine.formula.evaluate.Evaluation`'s public edits (``set_values``, ``set_formulas``,
``recalculate``), so a model session can use it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from engine.values import CellValue

if TYPE_CHECKING:
    from engine.formula.evaluate import Evaluation

Key = tuple[str, int, int]


@contextmanager
def perturbed(ev: Evaluation, cells: Iterable[Key], factor: float) -> Iterator[list[Key]]:
    """Inside the ``with`` block every number among ``cells`` is multiplied by ``factor`` (a formula cell
    holds its value × ``factor`` as a constant) and what reads them is recomputed; the block gets the
    cells it changed (not the members of an array formula's spill, nor What-If table results). On
    leaving, each cell gets its formula or value back and the workbook is recomputed: without circular
    references every value is then exactly what it was; the cells of a loop are first put back to their
    values before the block, and iterate from there. What-If table results are kept as they were.
    """
    saved: list[tuple[Key, str | None, float]] = []
    loop = {key: ev.get(*key) for key in ev.circular}
    tables = dict(ev.overrides)  # What-If table results, which a recalculation clears
    for key in dict.fromkeys(cells):
        value = ev.get(*key)
        if not isinstance(value, float) or key in ev.overrides or ev.spill_member(*key):
            continue
        saved.append((key, ev.formula(*key), value))
    if saved:
        raised: dict[Key, CellValue] = {key: value * factor for key, _formula, value in saved}
        ev.set_values(raised)
    try:
        if saved:
            ev.recalculate()
        yield [key for key, _formula, _value in saved]
    finally:
        if saved:
            restored: dict[Key, CellValue] = {key: value for key, _formula, value in saved}
            ev.set_values(restored)
            ev.set_formulas({key: formula for key, formula, _value in saved if formula})
            seeds = {key: value for key, value in loop.items() if isinstance(value, float) and ev.formula(*key)}
            if seeds:  # a loop starts from where it was, as Excel iterates from the values it holds
                formulas = {key: ev.formula(*key) or "" for key in seeds}
                ev.set_values(dict(seeds))  # CellValue items: the loop's own values
                ev.set_formulas(formulas)
            ev.recalculate()
            ev.overrides.update(tables)
