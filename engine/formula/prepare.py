"""The engine's private copy of a workbook: what formualizer needs that Excel's file does not say.

Edits are made on a copy of the package that only the engine reads; the written workbook keeps
its own formula text.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from engine.refs import Area

from engine.formula.lambdas import unroll_lambdas
from engine.formula.legacy import intersect_formula, without_range_only_calls
from engine.formula.support import unsupported_in_sheet
from engine.xlsx.names import Names
from engine.xlsx.package import Package, drop, formula_of, m, serialise_xml
from engine.xlsx.sheet import SheetXml, array_members, expand_shared_group, shared_groups, sheet_of


@dataclass(frozen=True)
class EngineCopy:
    """What preparing the engine's copy did: whether anything changed, and the formula cells that call
    a function the engine lacks (found in the same pass, on the rewritten text)."""

    changed: bool
    unsupported: dict[tuple[str, int, int], frozenset[str]]
    # each defined name's area and the formula cells that name it: the engine's dependency graph does
    # not follow a reference made through a name, so tracing what a cell reaches needs these
    name_users: tuple[tuple[Area, frozenset[tuple[str, int, int]]], ...] = ()
    parts: dict[str, bytes] = field(default_factory=dict)  # the sheet parts the engine reads edited


_STRINGS = re.compile(r'"(?:[^"]|"")*"')
_LAMBDA = re.compile(r"LAMBDA\(", re.IGNORECASE)


def prepare_engine_copy(package: Package) -> EngineCopy:
    """What the engine needs that Excel's file does not say, one pass per sheet; ``package`` is only read.

    - Array members emptied: the engine treats a member cell that holds a value as an obstacle
      (``#SPILL!``); Excel treats it as part of the array. Emptied, the engine spills into them.
    - Formulas rewritten: LAMBDA helpers unrolled (``engine.formula.lambdas``), implicit intersections
      spelled out (``engine.formula.legacy``), one-cell legacy arrays clipped. A legacy array formula
      shows only as much of its result as its range holds, while the engine spills the whole
      result, so a one-cell legacy array is given to it as ``INDEX((expr),1,1)`` (multi-cell
      legacy arrays hold results of their range's shape).

    A sheet that needs none of this is given to the engine as the file has it; one that does is
    edited on a copy of its tree, and :attr:`EngineCopy.parts` holds the copy's bytes.
    """
    names = Names(package)
    candidate = re.compile(r":|SINGLE\(|LAMBDA\(" + "".join(f"|\\b{re.escape(n)}\\b" for n in sorted(names.multi_cell())),
                           re.IGNORECASE)
    parts: dict[str, bytes] = {}
    unsupported: dict[tuple[str, int, int], frozenset[str]] = {}
    lacking: dict[str, bool] = {}
    areas = names.areas()
    named = re.compile(r"(?<![\w.!$'\]])(" + "|".join(re.escape(n) for n in sorted(areas, key=len, reverse=True))
                       + r")(?![\w(!\[])", re.IGNORECASE) if areas else None
    users: dict[str, set[tuple[str, int, int]]] = {}
    for entry in package.sheets():
        if not package.has(entry.part) or b"<f" not in (raw := package.read(entry.part)):
            continue
        sheet = sheet_of(package, entry.part)
        if (b"array" in raw and _members_holding_values(sheet)) or (b"shared" in raw and _candidate_groups(sheet, candidate)):
            sheet = SheetXml(copy.deepcopy(sheet.root))
            _empty_array_members(sheet)
            _expand_candidate_groups(sheet, candidate)
            _apply(sheet, _rewrites(sheet, entry.name, names, candidate))
            parts[entry.part] = serialise_xml(sheet.root)
        elif rewrites := _rewrites(sheet, entry.name, names, candidate):
            sheet = SheetXml(copy.deepcopy(sheet.root))
            _apply(sheet, rewrites)
            parts[entry.part] = serialise_xml(sheet.root)
        unsupported.update(unsupported_in_sheet(sheet, entry.name, lacking))
        if named is not None:
            _collect_name_users(sheet, entry.name, named, users)
    name_users = tuple((area, frozenset(cells)) for name, cells in users.items() for area in areas[name])
    return EngineCopy(bool(parts), unsupported, name_users, parts)


def _members_holding_values(sheet: SheetXml) -> bool:
    return any((c_el := sheet.cell(row, col)) is not None and len(c_el) and c_el.find(m("f")) is None
               for row, col in array_members(sheet))


def _candidate_groups(sheet: SheetXml, candidate: re.Pattern[str]) -> bool:
    return any(f_el.get("t") == "shared" and f_el.text and candidate.search(f_el.text)
               for _r, _c, _el, f_el in sheet.formulas())


def _apply(sheet: SheetXml, rewrites: dict[tuple[int, int], str]) -> None:
    for row, col, _c, f_el in sheet.formulas():
        text = rewrites.get((row, col))
        if text is not None:
            f_el.text = text


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


def _rewrites(sheet: SheetXml, sheet_name: str, names: Names, candidate: re.Pattern[str]
              ) -> dict[tuple[int, int], str]:
    """The formulas the engine needs written otherwise, ``{(row, col): text}`` (the sheet is only read)."""
    out: dict[tuple[int, int], str] = {}
    for row, col, c_el, f_el in sheet.formulas():
        kind = f_el.get("t", "normal")
        if kind in ("dataTable", "shared") or not f_el.text:
            continue
        text = f_el.text
        if _LAMBDA.search(text):
            text = unroll_lambdas(text, names, sheet_name)
        if candidate.search(text) and candidate.search(without_range_only_calls(text)):
            text = intersect_formula(text, names, sheet=sheet_name, row=row, col=col, array=kind == "array")
        if kind == "array" and c_el.get("cm") is None and ":" not in f_el.get("ref", ":"):
            text = f"INDEX(({text}),1,1)"  # a one-cell legacy array shows its result's first value
        if text != f_el.text:
            out[(row, col)] = text
    return out


def _expand_candidate_groups(sheet: SheetXml, candidate: re.Pattern[str]) -> bool:
    """Expand the shared-formula groups whose text may need intersecting: each member reads its own cell."""
    expanded = False
    for group in shared_groups(sheet).values():
        master = next((formula_of(el).text for _r, _c, el in group if formula_of(el).text), None)
        if master and candidate.search(master):
            try:
                expand_shared_group(group)
            except ValueError:
                continue  # unreadable text: the engine gets the group as it is, and judges it
            expanded = True
    return expanded
