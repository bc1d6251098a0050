"""The engine's private copy of a workbook: what formualizer needs that Excel's file does not say.

Edits are made on a copy of the package that only the engine reads; the written workbook keeps
its own formula text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.formula.lambdas import unroll_lambdas
from engine.formula.legacy import intersect_formula, without_range_only_calls
from engine.formula.support import unsupported_in_sheet
from engine.xlsx.names import Names
from engine.xlsx.package import Package, drop, formula_of, m
from engine.xlsx.sheet import SheetXml, array_members, expand_shared_group, shared_groups


@dataclass(frozen=True)
class EngineCopy:
    """What preparing the engine's copy did: whether anything changed, and the formula cells that call
    a function the engine lacks (found in the same pass, on the rewritten text)."""

    changed: bool
    unsupported: dict[tuple[str, int, int], frozenset[str]]


def prepare_engine_copy(package: Package) -> EngineCopy:
    """Edit ``package`` (the engine's private copy) into what the engine needs, one pass per sheet.

    - Array members emptied: the engine treats a member cell that holds a value as an obstacle
      (``#SPILL!``); Excel treats it as part of the array. Emptied, the engine spills into them.
    - Formulas rewritten: LAMBDA helpers unrolled (``engine.formula.lambdas``), implicit intersections
      spelled out (``engine.formula.legacy``), one-cell legacy arrays clipped. A legacy array formula
      shows only as much of its result as its range holds, while the engine spills the whole
      result, so a one-cell legacy array is given to it as ``INDEX((expr),1,1)`` (multi-cell
      legacy arrays hold results of their range's shape).
    """
    names = Names(package)
    candidate = re.compile(r":|SINGLE\(|LAMBDA\(" + "".join(f"|\\b{re.escape(n)}\\b" for n in sorted(names.multi_cell())),
                           re.IGNORECASE)
    changed_any = False
    unsupported: dict[tuple[str, int, int], frozenset[str]] = {}
    lacking: dict[str, bool] = {}
    for entry in package.sheets():
        if not package.has(entry.part) or b"<f" not in (raw := package.read(entry.part)):
            continue
        sheet = SheetXml(package.xml(entry.part))
        emptied = b"array" in raw and _empty_array_members(sheet)
        expanded = b"shared" in raw and _expand_candidate_groups(sheet, candidate)
        if _rewrite_formulas(sheet, entry.name, names, candidate) or emptied or expanded:
            package.write_xml(entry.part, sheet.root)
            changed_any = True
        unsupported.update(unsupported_in_sheet(sheet, entry.name, lacking))
    return EngineCopy(changed_any, unsupported)


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


def _rewrite_formulas(sheet: SheetXml, sheet_name: str, names: Names, candidate: re.Pattern[str]) -> bool:
    changed = False
    for row, col, c_el in list(sheet.formula_cells()):
        f_el = formula_of(c_el)
        kind = f_el.get("t", "normal")
        if kind in ("dataTable", "shared") or not f_el.text:
            continue
        text = f_el.text
        if "LAMBDA(" in text.upper():
            text = unroll_lambdas(text, names, sheet_name)
        if candidate.search(text) and candidate.search(without_range_only_calls(text)):
            text = intersect_formula(text, names, sheet=sheet_name, row=row, col=col, array=kind == "array")
        if kind == "array" and c_el.get("cm") is None and ":" not in f_el.get("ref", ":"):
            text = f"INDEX(({text}),1,1)"  # a one-cell legacy array shows its result's first value
        if text != f_el.text:  # noqa: SIM102
            f_el.text = text
            changed = True
    return changed


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
