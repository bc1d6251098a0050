"""The engine's private copy of a workbook: what formualizer needs that Excel's file does not say.

Edits are made on a copy of the package that only the engine reads; the written workbook keeps
its own formula text.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from lxml import etree

from engine.formula.environment import (
    CLOCK,
    FUNCTIONS,
    Environment,
    clock_of,
    environment_calls,
    reads_only_environment,
)
from engine.formula.formula_texts import FormulaTexts, Quotes
from engine.formula.functions import ELEMENTWISE, PREFIX
from engine.formula.lambdas import unroll_lambdas
from engine.formula.legacy import intersect_formula, without_range_only_calls
from engine.formula.rewrites import excel_comparisons, formula_text_literals, offset_extents
from engine.formula.support import unsupported_in_sheet
from engine.refs import Area, parse_cell
from engine.xlsx.names import Names
from engine.xlsx.package import Package, drop, formula_of, m, serialise_xml
from engine.xlsx.shared import expand_shared_group, shared_groups
from engine.xlsx.sheet import SheetXml, array_members, sheet_of


@dataclass(frozen=True)
class EngineCopy:
    """What preparing the engine's copy did: whether anything changed, what to search for the formula cells
    that call a function the engine lacks (on the rewritten texts: :meth:`unsupported_calls`), the
    environment cells (:mod:`engine.formula.environment`) with Excel's clock, and the edited sheet parts."""

    changed: bool
    # per sheet in the workbook's order: the formula cells found calling a function the engine lacks, or the
    # sheet and its rewritten texts, to be searched by unsupported_calls (while the engine evaluates)
    searches: tuple[dict[tuple[str, int, int], frozenset[str]] | tuple[str, SheetXml, dict[tuple[int, int], str]], ...]
    # each defined name's area and the formula cells that name it: the engine's dependency graph does
    # not follow a reference made through a name, so tracing what a cell reaches needs these
    name_users: tuple[tuple[Area, frozenset[tuple[str, int, int]]], ...] = ()
    parts: dict[str, bytes] = field(default_factory=dict)  # the sheet parts the engine reads edited
    environment: Environment = field(default_factory=Environment)
    # the FORMULATEXT readers: cell -> (its stored formula, {reference: (the cell named, its formula then)})
    quotes: dict[tuple[str, int, int], tuple[str, dict[str, tuple[tuple[str, int, int], str | None]]]] = \
        field(default_factory=dict)

    def unsupported_calls(self) -> dict[tuple[str, int, int], frozenset[str]]:
        """The formula cells that call a function the engine lacks, with those functions, searched on the texts
        the engine reads (:func:`engine.formula.support.unsupported_in_sheet`). Needs the package as it was
        prepared and no engine: :func:`engine.formula.evaluate.evaluate` runs it while the engine evaluates."""
        found: dict[tuple[str, int, int], frozenset[str]] = {}
        lacking: dict[str, bool] = {}
        for search in self.searches:
            if isinstance(search, dict):
                found.update(search)
            else:
                name, sheet, rewrites = search
                found.update(unsupported_in_sheet(sheet, name, lacking, rewrites=rewrites))
        return found


_STRINGS = re.compile(r'"(?:[^"]|"")*"')
_LAMBDA = re.compile(r"LAMBDA\(", re.IGNORECASE)
_ELEMENTWISE_CALL = re.compile(r"\b(?:" + "|".join(ELEMENTWISE) + r")\(", re.IGNORECASE)
_FORMULATEXT = re.compile(r"FORMULATEXT\(", re.IGNORECASE)
_ENVIRONMENT_CALLS = tuple(sorted(name.encode() + b"(" for name in FUNCTIONS))


def prepare_engine_copy(package: Package, *, date1904: bool = False) -> EngineCopy:
    """What the engine needs that Excel's file does not say, one pass per sheet; ``package`` is only read.

    - Array members emptied: the engine treats a member cell that holds a value as an obstacle
      (``#SPILL!``); Excel treats it as part of the array. Emptied, the engine spills into them.
    - Environment cells that read nothing else (``CELL("filename")``, ``INFO``, ``RAND``; ``NOW`` and
      ``TODAY`` when no cell gives Excel's clock away) are held at Excel's cached value, and Excel's
      clock is noted for the engine (:mod:`engine.formula.environment`).
    - Formulas rewritten: LAMBDA helpers unrolled (``engine.formula.lambdas``), implicit intersections
      spelled out and array arguments given elementwise functions (``engine.formula.legacy``),
      ``=``/``<>``, negative ``OFFSET`` extents and ``FORMULATEXT`` as Excel has them
      (``engine.formula.rewrites``). A legacy array formula shows its result fitted to its range:
      one cell shows the first value (``INDEX((expr),1,1)``), a range repeats a single value, row
      or column and fills the rest with ``#N/A`` (``GPUCREDIT.FIT``).

    A sheet that needs none of this is given to the engine as the file has it. One that only needs
    other formula texts is serialised with them lent to its tree (put back at once); one that needs
    cells emptied, held or expanded is edited on a copy of its tree. :attr:`EngineCopy.parts` holds
    the edited sheets' bytes.
    """
    names = Names(package)
    texts = FormulaTexts(package)
    candidate = re.compile(r":|SINGLE\(|LAMBDA\(" + "".join(f"|\\b{re.escape(n)}\\b" for n in sorted(names.multi_cell())),
                           re.IGNORECASE)
    parts: dict[str, bytes] = {}
    searches: list[dict[tuple[str, int, int], frozenset[str]] | tuple[str, SheetXml, dict[tuple[int, int], str]]] = []
    lacking: dict[str, bool] = {}
    areas = names.areas()
    named = re.compile(r"(?<![\w.!$'\]])(" + "|".join(re.escape(n) for n in sorted(areas, key=len, reverse=True))
                       + r")(?![\w(!\[])", re.IGNORECASE) if areas else None
    users: dict[str, set[tuple[str, int, int]]] = {}
    environment = Environment()
    quotes: Quotes = {}
    sheets = [(entry, raw, sheet_of(package, entry.part)) for entry in package.sheets()
              if package.has(entry.part) and b"<f" in (raw := package.read(entry.part))]
    for entry, raw, sheet in sheets:
        if _mentions_environment(raw):
            _find_environment(sheet, entry.name, environment, date1904)
    for entry, raw, sheet in sheets:
        freezing = _frozen(sheet, entry.name, environment)
        if (b"array" in raw and _members_holding_values(sheet)) or freezing or \
                (b"shared" in raw and _groups_to_expand(sheet, candidate)):
            sheet = SheetXml(copy.deepcopy(sheet.root))
            _empty_array_members(sheet)
            _expand_groups(sheet, candidate)
            for row, col in freezing:
                if sheet.hold_cached_value(row, col):
                    environment.frozen.add((entry.name, row, col))
            _apply(sheet, _rewrites(sheet, entry.name, names, candidate, texts, quotes))
            parts[entry.part] = serialise_xml(sheet.root)
            searches.append(unsupported_in_sheet(sheet, entry.name, lacking))  # now: the copy is not kept
            rewrites = {}
        else:
            rewrites = _rewrites(sheet, entry.name, names, candidate, texts, quotes)
            searches.append((entry.name, sheet, rewrites))
        with _rewritten(sheet, rewrites):  # only formula texts change: lent the package's tree, not a copy
            if rewrites:
                parts[entry.part] = serialise_xml(sheet.root)
            if named is not None:
                _collect_name_users(sheet, entry.name, named, users)
    name_users = tuple((area, frozenset(cells)) for name, cells in users.items() for area in areas[name])
    return EngineCopy(bool(parts), tuple(searches), name_users, parts, environment, quotes)


def _mentions_environment(raw: bytes) -> bool:
    """Whether a sheet part may call one of the environment functions: a quick gate before the search
    formula by formula (it may say yes for a label; a case-insensitive regex over the part's bytes took
    70 ms on the 1,200-month variant, this 9 ms)."""
    upper = raw.upper()
    return any(call in upper for call in _ENVIRONMENT_CALLS)


def _members_holding_values(sheet: SheetXml) -> bool:
    return any((c_el := sheet.cell(row, col)) is not None and len(c_el) and c_el.find(m("f")) is None
               for row, col in array_members(sheet))


def _groups_to_expand(sheet: SheetXml, candidate: re.Pattern[str]) -> bool:
    return any(f_el.get("t") == "shared" and f_el.text and _expands(f_el.text, candidate)
               for _r, _c, _el, f_el in sheet.formulas())


def _expands(master: str, candidate: re.Pattern[str]) -> bool:
    """Whether a shared formula needs a rewrite that depends on the cell (intersection, FORMULATEXT)."""
    return bool(candidate.search(master) or _FORMULATEXT.search(master))


def _apply(sheet: SheetXml, rewrites: dict[tuple[int, int], str]) -> None:
    for row, col, _c, f_el in sheet.formulas():
        text = rewrites.get((row, col))
        if text is not None:
            f_el.text = text


@contextmanager
def _rewritten(sheet: SheetXml, rewrites: dict[tuple[int, int], str]) -> Iterator[None]:
    """Inside the block, the sheet's formulas carry ``rewrites``; on leaving, their own text again.

    The package's tree is only read by the steps that follow: lending it costs less than copying the
    tree and indexing the copy (a third of preparing the 120-month template)."""
    lent: list[tuple[etree._Element, str | None]] = []
    try:
        for row, col, _c, f_el in sheet.formulas():
            text = rewrites.get((row, col))
            if text is not None:
                lent.append((f_el, f_el.text))
                f_el.text = text
        yield
    finally:
        for f_el, own in lent:
            f_el.text = own


def _collect_name_users(sheet: SheetXml, sheet_name: str, named: re.Pattern[str],
                        users: dict[str, set[tuple[str, int, int]]]) -> None:
    """Add the formula cells of ``sheet`` that name a defined name to ``users[NAME]`` (a shared
    formula's members with their master)."""
    masters: dict[str, list[str]] = {}
    members: list[tuple[tuple[str, int, int], str]] = []
    for row, col, _c, f_el in sheet.formulas():
        text = f_el.text or ""
        key = (sheet_name, row, col)
        if f_el.get("t") == "shared" and not text:
            members.append((key, f_el.get("si", "")))
            continue
        found = [n.upper() for n in named.findall(_STRINGS.sub('""', text))] if text else []
        if f_el.get("t") == "shared":
            masters[f_el.get("si", "")] = found
        for name in found:
            users.setdefault(name, set()).add(key)
    for key, si in members:
        for name in masters.get(si, ()):
            users.setdefault(name, set()).add(key)


def _empty_array_members(sheet: SheetXml) -> bool:
    changed = False
    for row, col in array_members(sheet):
        c_el = sheet.cell(row, col)
        if c_el is not None and c_el.find(m("f")) is None:
            for child in list(c_el):
                c_el.remove(child)
            drop(c_el, "t")
            changed = True
    return changed


def _text(sheet: SheetXml, f_el: object) -> str:
    """The formula a cell computes: its own text, or its shared master's."""
    assert hasattr(f_el, "get")
    own = getattr(f_el, "text", None)
    if own or f_el.get("t") != "shared":
        return own or ""
    si = f_el.get("si")
    return next((m_el.text or "" for _r, _c, _el, m_el in sheet.formulas()
                 if m_el.get("t") == "shared" and m_el.get("si") == si and m_el.text), "")


def _find_environment(sheet: SheetXml, sheet_name: str, env: Environment, date1904: bool) -> None:
    masters = {f_el.get("si"): f_el.text for _r, _c, _el, f_el in sheet.formulas()
               if f_el.get("t") == "shared" and f_el.text}
    for row, col, c_el, f_el in sheet.formulas():
        text = f_el.text or (masters.get(f_el.get("si")) if f_el.get("t") == "shared" else None) or ""
        calls = environment_calls(text)
        if not calls:
            continue
        env.cells[(sheet_name, row, col)] = calls
        cached = c_el.findtext(m("v"))
        if calls <= CLOCK and cached and c_el.get("t", "n") == "n":
            found = clock_of(text, float(cached), date1904=date1904)
            if found is not None and (found[0] == "NOW" or env.clock is None):
                env.clock = found[1]


def _frozen(sheet: SheetXml, sheet_name: str, env: Environment) -> list[tuple[int, int]]:
    """The sheet's environment cells that read nothing else, to hold at Excel's value (the clock does
    that for ``NOW``/``TODAY`` once it is known)."""
    out = []
    for (name, row, col), calls in env.cells.items():
        if name != sheet_name or (calls <= CLOCK and env.clock is not None):
            continue
        c_el = sheet.cell(row, col)
        f_el = c_el.find(m("f")) if c_el is not None else None
        if c_el is None or f_el is None or f_el.get("t") in ("array", "dataTable") or (
                f_el.get("t") == "shared" and f_el.text):
            continue  # an array's or a shared master's formula is read by other cells too
        if c_el.find(m("v")) is not None and reads_only_environment(_text(sheet, f_el)):
            out.append((row, col))
    return out


def _rewrites(sheet: SheetXml, sheet_name: str, names: Names, candidate: re.Pattern[str], texts: FormulaTexts,
              quotes: Quotes) -> dict[tuple[int, int], str]:
    """The formulas the engine needs written otherwise, ``{(row, col): text}`` (the sheet is only read);
    the FORMULATEXT readers are noted in ``quotes``."""
    out: dict[tuple[int, int], str] = {}
    for row, col, c_el, f_el in sheet.formulas():
        kind = f_el.get("t", "normal")
        if kind == "dataTable" or not f_el.text:
            continue
        text = f_el.text
        if kind != "shared":  # a shared master's text is read by its members too: no rewrite that depends on the cell
            if _LAMBDA.search(text):
                text = unroll_lambdas(text, names, sheet_name)
            if (candidate.search(text) and candidate.search(without_range_only_calls(text))) or (
                    kind == "array" and _ELEMENTWISE_CALL.search(text)):
                text = intersect_formula(text, names, sheet=sheet_name, row=row, col=col, array=kind == "array")
            if _FORMULATEXT.search(text):
                read: dict[str, tuple[tuple[str, int, int], str | None]] = {}

                def formula_at(ref: str) -> str | None:
                    found, key = texts.formula_at(ref, sheet_name), texts.key(ref, sheet_name)
                    if key is not None:
                        read[ref] = (key, found)
                    return found

                stored = text
                text = formula_text_literals(text, formula_at)
                if read:
                    quotes[(sheet_name, row, col)] = (stored, read)
        text = excel_comparisons(offset_extents(text))
        if kind == "array" and c_el.get("cm") is None:
            text = _fit_legacy_array(text, f_el.get("ref", ""))
        if text != f_el.text:
            out[(row, col)] = text
    return out


def _fit_legacy_array(text: str, ref: str) -> str:
    """A legacy array formula's result as Excel shows it in its range (see :func:`prepare_engine_copy`)."""
    if ":" not in ref:
        return f"INDEX(({text}),1,1)"
    first, last = ref.split(":")
    (r1, c1), (r2, c2) = parse_cell(first), parse_cell(last)
    return f"{PREFIX}FIT(({text}),{r2 - r1 + 1},{c2 - c1 + 1})"


def _expand_groups(sheet: SheetXml, candidate: re.Pattern[str]) -> bool:
    """Expand the shared-formula groups whose text needs a rewrite that depends on the cell: each member
    then reads its own cell."""
    expanded = False
    for group in shared_groups(sheet).values():
        master = next((formula_of(el).text for _r, _c, el in group if formula_of(el).text), None)
        if master and _expands(master, candidate):
            try:
                expand_shared_group(group)
            except ValueError:
                continue  # unreadable text: the engine gets the group as it is, and judges it
            expanded = True
    return expanded
