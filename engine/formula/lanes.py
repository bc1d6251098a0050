"""Vectorised lanes: the part of a workbook's formula graph between some input cells and some output
cells, compiled from the workbook's own formulas into numpy, so that many scenarios are evaluated at
once — each cell an array with one lane per scenario.

The formulas are the engine's own (its private copy, legacy intersections spelled out), parsed by
formualizer's parser; cells outside the part keep their values in the loaded engine. What is compiled
is what lender models use between the rent and the coverage lines: arithmetic and comparisons,
``IF``/``IFERROR``/``AND``/``OR``/``NOT``, the ``IS…`` tests, ``MIN``/``MAX``/``SUM``/``AVERAGE``,
``ABS``/``INT``/``ROUND``/``MOD``, ``PMT``/``IPMT``/``PPMT``/``FV``/``PV`` (numpy-financial), ``INDEX``
and ``MATCH``/``CHOOSE`` over constant positions, and date functions of constants. Anything else —
another function, a circular reference inside the part, a text comparison that varies by lane — is
:class:`NotVectorisable`, naming the cell; the caller then evaluates scenario by scenario with the
engine. The caller also checks a sample of lanes against the engine (the contract is relative 1e-9).

The lanes' values and Excel's operations over them are in :mod:`engine.formula.lane_ops`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import formualizer as fz
import numpy as np

from engine.formula.evaluate import Evaluation
from engine.formula.lane_ops import (
    AGGREGATES,
    DATES,
    FINANCE,
    UNARY,
    Env,
    Key,
    Lanes,
    NotVectorisable,
    Value,
    aggregate,
    arith,
    cell_name,
    choose,
    compare,
    dates,
    finance,
    if_lanes,
    iferror,
    index,
    literal,
    logical,
    match,
)
from engine.refs import parse_area


class LaneProgram:
    """The compiled part of the graph: ``run({input: lanes}) -> {output: lanes}``.

    Raises
    ------
    NotVectorisable
        When a needed formula uses something outside the compiled set, or the part has a cycle.
    """

    def __init__(self, engine: Evaluation, inputs: list[Key], outputs: list[Key]) -> None:
        self._engine = engine
        self._inputs = list(inputs)
        self._names = _names(engine)
        down = engine.downstream(list(inputs))
        self._down = down
        needed: dict[Key, dict[str, Any]] = {}
        self._constants: dict[Key, Value] = {}
        todo = [key for key in outputs if key in down and key not in inputs]
        while todo:
            key = todo.pop()
            if key in needed or key in inputs:
                continue
            text = engine.formula(*key)
            if text is None:  # a constant the inputs reach only through a name: nothing to compute
                self._constants[key] = engine.get(*key)
                continue
            tree = _parse(text, key)
            needed[key] = tree
            for ref in _refs(tree, key[0], self._names):
                todo += [cell for cell in ref if cell in down and cell not in needed and cell not in inputs]
        self._order = _topological(needed, key_refs={k: {c for r in _refs(t, k[0], self._names) for c in r}
                                                      for k, t in needed.items()})
        self._code = {key: self._compile(needed[key], key) for key in self._order}
        self.outputs = list(outputs)
        self.cells = len(self._order)
        # outputs the inputs do not reach keep their values (read now: a run never touches the engine)
        self._static = {key: engine.get(*key) for key in self.outputs if key not in self._code and key not in inputs}

    def run(self, inputs: dict[Key, np.ndarray], n: int) -> dict[Key, Value]:
        env: Env = dict(self._constants)
        env.update({key: Lanes(np.asarray(values, dtype=np.float64)) for key, values in inputs.items()})
        for key in self._order:
            env[key] = self._code[key](env, n)
        return {key: env[key] if key in env else self._static[key] for key in self.outputs}

    # -- compiling ----------------------------------------------------------------------------
    def _compile(self, node: dict[str, Any], where: Key) -> Callable[[Env, int], Value]:
        kind = node["node_type"]
        if kind == "Literal":
            value = literal(node["value"])
            return lambda env, n: value
        if kind == "Reference":
            cells = _ref_cells(node["reference"], where[0], self._names, where)
            if len(cells) != 1:
                raise NotVectorisable(f"{cell_name(where)}: a range where one value is wanted")
            return self._cell_reader(cells[0])
        if kind == "UnaryOp":
            operand = self._compile(node["operand"], where)
            op = node["operator"]
            if op == "-":
                return lambda env, n: arith(-1.0, operand(env, n), "*", n)
            if op == "+":
                return operand
            if op == "%":
                return lambda env, n: arith(operand(env, n), 100.0, "/", n)
        if kind == "BinaryOp":
            left, right, op = self._compile(node["left"], where), self._compile(node["right"], where), node["operator"]
            if op in ("+", "-", "*", "/", "^"):
                return lambda env, n: arith(left(env, n), right(env, n), op, n)
            if op in ("=", "<>", "<", ">", "<=", ">="):
                return lambda env, n: compare(left(env, n), right(env, n), op, n, where)
        if kind == "Function":
            return self._function(node["name"].upper().removeprefix("_XLFN."), node["args"], where)
        raise NotVectorisable(f"{cell_name(where)}: {kind} {node.get('operator', '')} is not compiled for scenarios")

    def _cell_reader(self, key: Key) -> Callable[[Env, int], Value]:
        if key in self._down:  # computed before it is read (topological order), or an input
            return lambda env, n: env[key]
        value = self._engine.get(*key)
        return lambda env, n: value

    def _range(self, node: dict[str, Any], where: Key) -> Callable[[Env, int], list[Value]]:
        if node["node_type"] != "Reference":
            single = self._compile(node, where)
            return lambda env, n: [single(env, n)]
        readers = [self._cell_reader(c) for c in _ref_cells(node["reference"], where[0], self._names, where)]
        return lambda env, n: [read(env, n) for read in readers]

    def _function(self, name: str, args: list[dict[str, Any]], where: Key) -> Callable[[Env, int], Value]:
        if name == "IF":
            parts = [self._compile(a, where) for a in args]
            return lambda env, n: if_lanes(parts, env, n)
        if name == "IFERROR":
            value, other = (self._compile(a, where) for a in args)
            return lambda env, n: iferror(value(env, n), other(env, n), n)
        if name in AGGREGATES:
            ranges = [self._range(a, where) for a in args]
            return lambda env, n: aggregate(name, [v for r in ranges for v in r(env, n)], n)
        if name in ("AND", "OR"):
            ranges = [self._range(a, where) for a in args]
            return lambda env, n: logical(name, [v for r in ranges for v in r(env, n)], n)
        if name in UNARY:
            inner = [self._compile(a, where) for a in args]
            return lambda env, n: UNARY[name](*(f(env, n) for f in inner), n=n)
        if name in FINANCE:
            inner = [self._compile(a, where) for a in args]
            return lambda env, n: finance(name, [f(env, n) for f in inner], n)
        if name == "INDEX":
            table = self._range(args[0], where)
            shape = _shape(args[0], where[0], self._names, where)
            pos = [self._compile(a, where) for a in args[1:]]
            return lambda env, n: index(table(env, n), shape, [p(env, n) for p in pos], where)
        if name == "MATCH":
            look, table = self._compile(args[0], where), self._range(args[1], where)
            how = self._compile(args[2], where) if len(args) > 2 else (lambda env, n: 1.0)
            return lambda env, n: match(look(env, n), table(env, n), how(env, n), where)
        if name == "CHOOSE":
            parts = [self._compile(a, where) for a in args]
            return lambda env, n: choose(parts, env, n, where)
        if name in DATES:
            inner = [self._compile(a, where) for a in args]
            return lambda env, n: dates(name, [f(env, n) for f in inner], where)
        raise NotVectorisable(f"{cell_name(where)}: function {name} is not compiled for scenarios")


# -- parsing and references -----------------------------------------------------------------------
def _parse(text: str, where: Key) -> dict[str, Any]:
    try:
        tree = fz.parse(text if text.startswith("=") else "=" + text).to_dict()
    except (fz.ParserError, ValueError, RuntimeError) as exc:
        raise NotVectorisable(f"{cell_name(where)}: the formula cannot be parsed ({exc})") from exc
    assert isinstance(tree, dict)
    return tree


def _names(engine: Evaluation) -> dict[str, tuple[str, int, int, int, int]]:
    out = {}
    for entry in engine.named_ranges():
        if entry.get("kind") in ("range", "cell") and entry.get("sheet"):
            out[str(entry["name"]).upper()] = (str(entry["sheet"]), int(entry["start_row"]), int(entry["start_col"]),
                                               int(entry["end_row"]), int(entry["end_col"]))
    return out


def _refs(node: dict[str, Any], sheet: str, names: dict[str, tuple[str, int, int, int, int]]) -> list[list[Key]]:
    out: list[list[Key]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if item.get("node_type") == "Reference":
            out.append(_ref_cells(item["reference"], sheet, names, (sheet, 0, 0)))
        for key in ("left", "right", "operand"):
            if key in item:
                stack.append(item[key])
        stack += item.get("args", [])
        for row in item.get("rows", []):
            stack += row
    return out


def _ref_cells(text: str, sheet: str, names: dict[str, tuple[str, int, int, int, int]], where: Key) -> list[Key]:
    name = text.rpartition("!")[2].upper()
    if name in names and parse_area(text) is None:
        s, r1, c1, r2, c2 = names[name]
    else:
        area = parse_area(text)
        if area is None:
            raise NotVectorisable(f"{cell_name(where)}: the reference {text!r} is not compiled for scenarios")
        if area.last_row - area.first_row > 100_000 or area.last_col - area.first_col > 20_000:
            raise NotVectorisable(f"{cell_name(where)}: a whole-row or whole-column reference ({text})")
        s, r1, c1, r2, c2 = area.sheet or sheet, area.first_row, area.first_col, area.last_row, area.last_col
    return [(s, r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]


def _shape(node: dict[str, Any], sheet: str, names: dict[str, tuple[str, int, int, int, int]], where: Key
           ) -> tuple[int, int]:
    cells = _ref_cells(node["reference"], sheet, names, where) if node["node_type"] == "Reference" else [where]
    rows = len({r for _s, r, _c in cells})
    return rows, len(cells) // rows


def _topological(needed: dict[Key, dict[str, Any]], *, key_refs: dict[Key, set[Key]]) -> list[Key]:
    deps = {key: {c for c in refs if c in needed and c != key} for key, refs in key_refs.items()}
    for key, refs in key_refs.items():
        if key in refs:
            raise NotVectorisable(f"{cell_name(key)}: a circular reference in the cells the scenarios change")
    order, ready = [], [k for k, d in deps.items() if not d]
    users: dict[Key, list[Key]] = {}
    for key, d in deps.items():
        for dep in d:
            users.setdefault(dep, []).append(key)
    left = {k: len(d) for k, d in deps.items()}
    while ready:
        key = ready.pop()
        order.append(key)
        for user in users.get(key, []):
            left[user] -= 1
            if left[user] == 0:
                ready.append(user)
    if len(order) != len(needed):
        stuck = next(k for k, count in left.items() if count > 0)
        raise NotVectorisable(f"{cell_name(stuck)}: a circular reference in the cells the scenarios change")
    return order
