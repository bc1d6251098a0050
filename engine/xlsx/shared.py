"""Shared formulas (``<f t="shared">``): the groups of a sheet, a member's own text, expanding a group
into plain formulas."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from engine.refs import column_letter
from engine.xlsx.package import drop, formula_of, m

if TYPE_CHECKING:
    from engine.xlsx.sheet import SheetXml


def expand_shared_formula(sheet: SheetXml, row: int, col: int) -> None:
    """Turn the shared-formula group containing a cell into plain formulas, one per cell.

    A rent cell that is the master of a shared formula cannot be rewritten alone: its
    neighbours borrow its text. Expanding the group keeps every formula's meaning.
    """
    c_el = sheet.cell(row, col)
    f_el = c_el.find(m("f")) if c_el is not None else None
    if f_el is None or f_el.get("t") != "shared":
        return
    expand_shared_group(shared_groups(sheet)[f_el.get("si", "")])


def shared_groups(sheet: SheetXml) -> dict[str, list[tuple[int, int, etree._Element]]]:
    """The sheet's shared-formula groups by ``si``: each member's row, column and ``<c>``."""
    groups: dict[str, list[tuple[int, int, etree._Element]]] = {}
    for r, c, el in sheet.formula_cells():
        f = el.find(m("f"))
        if f is not None and f.get("t") == "shared":
            groups.setdefault(f.get("si", ""), []).append((r, c, el))
    return groups


def expand_shared_group(group: list[tuple[int, int, etree._Element]]) -> None:
    """Write each member of one shared-formula group as its own plain formula (see :func:`shared_groups`).

    Raises
    ------
    ValueError
        When the group has no master formula, or its text cannot be read (nothing is changed then).
    """
    from openpyxl.formula.tokenizer import TokenizerError
    from openpyxl.formula.translate import Translator

    master = next(((r, c, el) for r, c, el in group if (formula_of(el).text or "") != ""), None)
    if master is None:
        raise ValueError("a shared formula has no master cell")
    mr, mc, m_el = master
    master_text = "=" + (formula_of(m_el).text or "")
    origin = f"{column_letter(mc)}{mr}"
    try:
        texts = [master_text if (r, c) == (mr, mc) else Translator(master_text, origin=origin).translate_formula(
            f"{column_letter(c)}{r}") for r, c, _el in group]
    except TokenizerError as exc:
        raise ValueError(f"the shared formula at {origin} cannot be read ({exc})") from exc
    for (_r, _c, el), text in zip(group, texts, strict=True):
        f = formula_of(el)
        drop(f, "t", "si", "ref")
        f.text = text[1:]


def translate_shared(sheet: SheetXml, si: str, row: int, col: int) -> str | None:
    """The formula (without ``=``) that member ``(row, col)`` of shared group ``si`` holds: its master's
    text moved to the member's cell; ``None`` when the group has no readable master."""
    from openpyxl.formula.tokenizer import TokenizerError
    from openpyxl.formula.translate import Translator

    master = next(((r, c, el) for r, c, el in shared_groups(sheet).get(si, []) if formula_of(el).text), None)
    if master is None:
        return None
    mr, mc, m_el = master
    try:
        text = Translator("=" + (formula_of(m_el).text or ""), origin=f"{column_letter(mc)}{mr}").translate_formula(
            f"{column_letter(col)}{row}")
    except TokenizerError:
        return None
    return str(text)[1:]
