"""Legacy evaluation: Excel's pre-dynamic-array rules, spelled out for the formula engine.

Implicit intersection: legacy formulas read a range where they need one value.

A formula stored without the array flag is evaluated as Excel always did before dynamic arrays:
where a single value is expected (an operator's operand, a value argument such as ``ISNUMBER``'s,
the whole formula's result) a multi-cell reference gives the one cell in the formula's own row
(for a column range) or column (for a row range); ``#VALUE!`` when there is none. Lender models
lean on it through names of whole rows or columns: ``IF(ISNUMBER(outYear), …)`` in column D
reads ``outYear``'s cell in column D. Excel 365 writes the same thing as ``_xlfn.SINGLE(x)``
(shown as ``@x``).

The formula engine evaluates every formula with dynamic-array semantics, so this module rewrites
the engine's private copy of each legacy formula with the intersections spelled out
(``'Cash Flow'!$D$2`` for ``outYear``); the workbook written out keeps its own text. Which
arguments want a value, a reference or an array follows Excel's function table (value by
default; :data:`_PARAMETERS` lists the others). ``engine.formula.evaluate`` applies it to every formula
of the engine's copy of a workbook.
"""

from __future__ import annotations

import re
from typing import Any

from engine.formula.functions import ELEMENTWISE, PREFIX
from engine.formula.tree import Item, Slot, apply_edits, parse_formula
from engine.xlsx.names import Names
from engine.refs import column_letter, parse_area, quote_sheet

# Parameter classes (Excel's function table, as LibreOffice's Excel import lists them in
# sc/source/filter/excel/xlformula.cxx): V value (a range is intersected), R reference,
# A array (the whole argument is evaluated as an array), I as the call itself (IF's branches,
# CHOOSE's choices pass a reference on). "first|rest" — the part after "|" repeats.
_PARAMETERS: dict[str, str] = {
    **dict.fromkeys(
        "SUM SUMSQ PRODUCT AVERAGE AVERAGEA MIN MINA MAX MAXA COUNT COUNTA COUNTBLANK MEDIAN MODE STDEV "
        "STDEVA STDEVP STDEVPA VAR VARA VARP VARPA AVEDEV DEVSQ GEOMEAN HARMEAN KURT SKEW AND OR XOR "
        "CONCAT STDEV.S STDEV.P VAR.S VAR.P MODE.SNGL MODE.MULT GCD LCM MULTINOMIAL".split(), "|R"),
    **dict.fromkeys(
        "SUMPRODUCT MMULT TRANSPOSE FREQUENCY LINEST LOGEST TREND GROWTH SUMX2MY2 SUMX2PY2 SUMXMY2 "
        "CORREL COVAR COVARIANCE.P COVARIANCE.S PEARSON RSQ SLOPE INTERCEPT STEYX MDETERM MINVERSE "
        "FTEST F.TEST CHITEST CHISQ.TEST".split(), "|A"),
    **dict.fromkeys("TTEST T.TEST PROB".split(), "AA|V"),
    **dict.fromkeys("LARGE SMALL PERCENTILE QUARTILE PERCENTILE.INC PERCENTILE.EXC QUARTILE.INC "
                    "QUARTILE.EXC PERCENTRANK PERCENTRANK.INC PERCENTRANK.EXC TRIMMEAN".split(), "R|V"),
    **dict.fromkeys("RANK RANK.EQ RANK.AVG".split(), "VR|V"),
    "NPV": "V|R", "IRR": "A|V", "MIRR": "A|V", "XNPV": "VAA|V", "XIRR": "AA|V", "FORECAST": "VAA",
    "FORECAST.LINEAR": "VAA", "SERIESSUM": "VVVA",
    **dict.fromkeys("SUMIF COUNTIF AVERAGEIF".split(), "RVR"),
    **dict.fromkeys("SUMIFS AVERAGEIFS MAXIFS MINIFS".split(), "R|RV"), "COUNTIFS": "|RV",
    **dict.fromkeys("VLOOKUP HLOOKUP".split(), "VR|V"), "LOOKUP": "VRR", "MATCH": "VR|V",
    "XLOOKUP": "VRR|V", "XMATCH": "VR|V", "INDEX": "R|V", "OFFSET": "R|V",
    **dict.fromkeys("ROW COLUMN ROWS COLUMNS AREAS ISREF N T".split(), "R"), "CELL": "VR",
    "SUBTOTAL": "V|R", "AGGREGATE": "VV|R", "TEXTJOIN": "VV|R",
    **dict.fromkeys("NETWORKDAYS WORKDAY NETWORKDAYS.INTL WORKDAY.INTL".split(), "VV|R"),
    **dict.fromkeys("DSUM DAVERAGE DCOUNT DCOUNTA DMAX DMIN DPRODUCT DSTDEV DSTDEVP DVAR DVARP DGET".split(),
                    "RVR"),
    **dict.fromkeys("FILTER SORT SORTBY UNIQUE".split(), "A|V"),
    "IF": "VII", "CHOOSE": "V|I", "IFERROR": "VI", "IFNA": "VI",
}
_SINGLE = "SINGLE"  # Excel 365's @ operator, stored as _xlfn.SINGLE(…)
# A call with one plain argument to a function that takes only references or arrays, such as
# SUM(E11:N11): whatever the context, nothing inside it is intersected.
_RANGE_ONLY_CALL = re.compile(
    r"\b(?:" + "|".join(sorted((re.escape(n) for n, spec in _PARAMETERS.items() if set(spec) <= set("RA|")),
                               key=len, reverse=True))
    + r")\(\s*(?:(?:'(?:[^']|'')+'|[\w.]+)!)?[\w.$]+(?::[\w.$]+)?\s*\)", re.IGNORECASE)


def without_range_only_calls(formula: str) -> str:
    """``formula`` with its one-argument reference-only calls (``SUM(E11:N11)``) blanked out: what
    is left is all that implicit intersection could change (a cheap test before parsing)."""
    return _RANGE_ONLY_CALL.sub("0", formula)


def _argument_contexts(name: str, count: int, context: str) -> list[str]:
    if name == _SINGLE:
        return ["value"] * count
    spec = _PARAMETERS.get(name, "|V")
    first, _, rest = spec.partition("|")
    classes = first + (rest * count if rest else "")
    if context == "array":
        return ["array"] * count
    table = {"V": "value", "R": "ref", "A": "array", "I": context}
    return [table[classes[i]] if i < len(classes) else "value" for i in range(count)]


class _Rewriter:
    def __init__(self, names: Names, sheet: str, row: int, col: int) -> None:
        self.names, self.sheet, self.row, self.col = names, sheet, row, col
        self.multi_cell = names.multi_cell()
        self.edits: list[tuple[int, int, str]] = []

    def slot(self, slot: Slot, context: str) -> None:
        if slot.reference_operators:
            context = "ref"  # A1:INDEX(…), (A1,B2): the parts are references, not values
        elif slot.operators and context != "array":
            context = "value"
        for item in slot.items:
            self.item(item, context)

    def item(self, item: Item, context: str) -> None:
        if item.kind == "ref" and context == "value":
            self.intersect(item.token)
        elif item.kind == "group":
            for inner in item.slots:
                self.slot(inner, context)
        elif item.kind == "call":
            name = item.name
            if name == _SINGLE:
                self.edits.append((item.start, item.token.end - 1, "("))
            elif context == "array" and name in ELEMENTWISE:
                # Excel applies a value function to each element of an array argument; formualizer 0.13
                # answers #VALUE!, so the engine calls gpucredit's elementwise twin instead
                self.edits.append((item.start, item.token.end - 1, f"{PREFIX}{name}("))
            for inner, inner_context in zip(item.slots, _argument_contexts(name, len(item.slots), context)):
                self.slot(inner, inner_context)

    def intersect(self, token: Any) -> None:
        text = token.value
        if "[" in text or (":" not in text and text.rpartition("!")[2].upper() not in self.multi_cell):
            return  # a single cell; or a table or an external workbook, left to the engine
        area = parse_area(text)
        prefix = text.rpartition("!")[0] + "!" if "!" in text else ""
        if area is None:
            area = self.names.area(text, self.sheet)
            if area is None:
                return
            prefix = f"{quote_sheet(area.sheet)}!" if area.sheet else ""
        if area.single_cell:
            return
        cell = area.intersect(self.row, self.col)
        replacement = "#VALUE!" if cell is None else f"{prefix}${column_letter(cell[1])}${cell[0]}"
        self.edits.append((token.start - 1, token.end - 1, replacement))


def intersect_formula(formula: str, names: Names, *, sheet: str, row: int, col: int, array: bool = False) -> str:
    """``formula`` (without ``=``) in cell ``(row, col)`` of ``sheet`` with its implicit intersections
    spelled out and ``_xlfn.SINGLE(x)`` reduced to ``(x)``; an array formula (``array``) intersects
    only inside ``SINGLE``. Where Excel evaluates an argument as an array (an array formula,
    ``SUMPRODUCT``'s arguments), ``ABS``, ``SIGN`` and ``INT`` become their elementwise twins
    (:mod:`engine.formula.functions`). A formula the tokenizer cannot read is returned as it is."""
    tree = parse_formula(formula)
    if tree is None:
        return formula
    rewriter = _Rewriter(names, sheet, row, col)
    rewriter.slot(tree, "array" if array else "value")
    return apply_edits(formula, rewriter.edits)
