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

Excel's rules are kept: blanks count as 0, TRUE as 1, text in arithmetic is ``#VALUE!``, division
by zero ``#DIV/0!``, an error propagates; ranges in ``SUM``/``MIN``/… skip text and logicals.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import formualizer as fz
import numpy as np
import numpy_financial as npf

from engine.formula.evaluate import Evaluation
from engine.refs import parse_area, quote_sheet
from engine.values import ERROR_CODES, ExcelError, date_to_serial, serial_to_date

Key = tuple[str, int, int]
NUM, TEXT, BOOL, ERROR, BLANK = 0, 1, 2, 3, 4
_ERR_VALUE, _ERR_DIV, _ERR_NUM, _ERR_NA = 1.0, 2.0, 3.0, 4.0  # error codes carried in ``num`` of ERROR lanes
_ERRORS = {_ERR_VALUE: "#VALUE!", _ERR_DIV: "#DIV/0!", _ERR_NUM: "#NUM!", _ERR_NA: "#N/A"}


class NotVectorisable(Exception):
    """This part of the graph cannot be run as lanes (the message says where and why)."""


@dataclass
class Lanes:
    """One cell's value in every lane: ``num`` (the number, TRUE as 1, an error's code) and ``kind``
    (None: every lane a number); ``text`` is the one text the text lanes hold, when they share one."""

    num: np.ndarray
    kind: np.ndarray | None = None
    text: str | None = None

    def kinds(self) -> np.ndarray:
        return np.zeros(self.num.shape, np.int8) if self.kind is None else self.kind


Value = Lanes | float | bool | str | ExcelError | None
Env = dict[Key, Value]


def numbers(value: Value, n: int) -> np.ndarray:
    """Each lane's number; NaN where the lane holds no number (text, an error, nothing)."""
    if isinstance(value, Lanes):
        return value.num.copy() if value.kind is None else np.where(value.kind == NUM, value.num, np.nan)
    if isinstance(value, float) and not isinstance(value, bool):
        return np.full(n, value)
    return np.full(n, np.nan)


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
        self._order = _topological(needed, key_refs={k: set(c for r in _refs(t, k[0], self._names) for c in r)
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
            value = _literal(node["value"])
            return lambda env, n: value
        if kind == "Reference":
            cells = _ref_cells(node["reference"], where[0], self._names, where)
            if len(cells) != 1:
                raise NotVectorisable(f"{_cell(where)}: a range where one value is wanted")
            return self._cell_reader(cells[0])
        if kind == "UnaryOp":
            operand = self._compile(node["operand"], where)
            op = node["operator"]
            if op == "-":
                return lambda env, n: _arith(-1.0, operand(env, n), "*", n)
            if op == "+":
                return operand
            if op == "%":
                return lambda env, n: _arith(operand(env, n), 100.0, "/", n)
        if kind == "BinaryOp":
            left, right, op = self._compile(node["left"], where), self._compile(node["right"], where), node["operator"]
            if op in ("+", "-", "*", "/", "^"):
                return lambda env, n: _arith(left(env, n), right(env, n), op, n)
            if op in ("=", "<>", "<", ">", "<=", ">="):
                return lambda env, n: _compare(left(env, n), right(env, n), op, n, where)
        if kind == "Function":
            return self._function(node["name"].upper().removeprefix("_XLFN."), node["args"], where)
        raise NotVectorisable(f"{_cell(where)}: {kind} {node.get('operator', '')} is not compiled for scenarios")

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
            return lambda env, n: _if(parts, env, n)
        if name == "IFERROR":
            value, other = (self._compile(a, where) for a in args)
            return lambda env, n: _iferror(value(env, n), other(env, n), n)
        if name in _AGGREGATES:
            ranges = [self._range(a, where) for a in args]
            return lambda env, n: _aggregate(name, [v for r in ranges for v in r(env, n)], n)
        if name in ("AND", "OR"):
            ranges = [self._range(a, where) for a in args]
            return lambda env, n: _logical(name, [v for r in ranges for v in r(env, n)], n)
        if name in _UNARY:
            inner = [self._compile(a, where) for a in args]
            return lambda env, n: _UNARY[name](*(f(env, n) for f in inner), n=n)
        if name in _FINANCE:
            inner = [self._compile(a, where) for a in args]
            return lambda env, n: _finance(name, [f(env, n) for f in inner], n)
        if name == "INDEX":
            table = self._range(args[0], where)
            shape = _shape(args[0], where[0], self._names, where)
            pos = [self._compile(a, where) for a in args[1:]]
            return lambda env, n: _index(table(env, n), shape, [p(env, n) for p in pos], where)
        if name == "MATCH":
            look, table = self._compile(args[0], where), self._range(args[1], where)
            how = self._compile(args[2], where) if len(args) > 2 else (lambda env, n: 1.0)
            return lambda env, n: _match(look(env, n), table(env, n), how(env, n), where)
        if name == "CHOOSE":
            parts = [self._compile(a, where) for a in args]
            return lambda env, n: _choose(parts, env, n, where)
        if name in _DATES:
            inner = [self._compile(a, where) for a in args]
            return lambda env, n: _dates(name, [f(env, n) for f in inner], where)
        raise NotVectorisable(f"{_cell(where)}: function {name} is not compiled for scenarios")


# -- parsing and references -----------------------------------------------------------------------
def _parse(text: str, where: Key) -> dict[str, Any]:
    try:
        tree = fz.parse(text if text.startswith("=") else "=" + text).to_dict()
    except (fz.ParserError, ValueError, RuntimeError) as exc:
        raise NotVectorisable(f"{_cell(where)}: the formula cannot be parsed ({exc})") from exc
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
            raise NotVectorisable(f"{_cell(where)}: the reference {text!r} is not compiled for scenarios")
        if area.last_row - area.first_row > 100_000 or area.last_col - area.first_col > 20_000:
            raise NotVectorisable(f"{_cell(where)}: a whole-row or whole-column reference ({text})")
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
            raise NotVectorisable(f"{_cell(key)}: a circular reference in the cells the scenarios change")
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
        raise NotVectorisable(f"{_cell(stuck)}: a circular reference in the cells the scenarios change")
    return order


def _cell(key: Key) -> str:
    from engine.refs import column_letter

    return f"{quote_sheet(key[0])}!{column_letter(key[2])}{key[1]}"


def _literal(value: Any) -> Value:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value in ERROR_CODES:
        return ExcelError(value)
    return None if value is None else str(value)


# -- Excel's operations over lanes ----------------------------------------------------------------
def _split(value: Value, n: int) -> tuple[np.ndarray, np.ndarray, str | None]:
    """(num, kind, text) arrays for any value; errors carry a code in num."""
    if isinstance(value, Lanes):
        return value.num, value.kinds(), value.text
    if isinstance(value, bool):
        return np.full(n, 1.0 if value else 0.0), np.full(n, BOOL, np.int8), None
    if isinstance(value, float):
        return np.full(n, value), np.zeros(n, np.int8), None
    if value is None:
        return np.zeros(n), np.full(n, BLANK, np.int8), None
    if isinstance(value, ExcelError):
        code = next((c for c, t in _ERRORS.items() if t == value.code), _ERR_VALUE)
        return np.full(n, code), np.full(n, ERROR, np.int8), None
    return np.zeros(n), np.full(n, TEXT, np.int8), str(value)


def _pack(num: np.ndarray, kind: np.ndarray, text: str | None = None) -> Lanes:
    return Lanes(num, None if not kind.any() else kind, text)


def _arith(a: Value, b: Value, op: str, n: int) -> Value:
    an, ak, _ = _split(a, n)
    bn, bk, _ = _split(b, n)
    with np.errstate(all="ignore"):
        num = {"+": an + bn, "-": an - bn, "*": an * bn, "/": an / bn, "^": np.power(an, bn)}[op]
    kind = np.zeros(n, np.int8)
    err = np.zeros(n)
    for k, x in ((ak, an), (bk, bn)):  # the left operand's error first, as Excel reports it
        bad = (kind == NUM) & ((k == ERROR) | (k == TEXT))
        err = np.where(bad, np.where(k == ERROR, x, _ERR_VALUE), err)
        kind = np.where(bad, ERROR, kind).astype(np.int8)
    if op == "/":
        div = (kind == NUM) & (bn == 0)
        err, kind = np.where(div, _ERR_DIV, err), np.where(div, ERROR, kind).astype(np.int8)
    overflow = (kind == NUM) & ~np.isfinite(num)
    err, kind = np.where(overflow, _ERR_NUM, err), np.where(overflow, ERROR, kind).astype(np.int8)
    return _pack(np.where(kind == ERROR, err, num), kind)


_RANK = {NUM: 0, BLANK: 0, TEXT: 1, BOOL: 2}


def _compare(a: Value, b: Value, op: str, n: int, where: Key) -> Value:
    an, ak, at = _split(a, n)
    bn, bk, bt = _split(b, n)
    ra = np.vectorize(lambda k: _RANK.get(int(k), 9))(ak) if ak.any() else np.zeros(n)
    rb = np.vectorize(lambda k: _RANK.get(int(k), 9))(bk) if bk.any() else np.zeros(n)
    both_text = (ak == TEXT) & (bk == TEXT)
    if both_text.any() and (at is None or bt is None):
        raise NotVectorisable(f"{_cell(where)}: a comparison of texts that vary by scenario")
    x = np.where(ra == rb, an, ra)
    y = np.where(ra == rb, bn, rb)
    if both_text.any():
        x = np.where(both_text, 0.0, x)
        y = np.where(both_text, 0.0 if str(at).lower() == str(bt).lower() else (1.0 if str(bt).lower() > str(at).lower()
                                                                                 else -1.0), y)
    result = {"=": x == y, "<>": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op].astype(np.float64)
    err_mask = (ak == ERROR) | (bk == ERROR)
    kind = np.where(err_mask, ERROR, BOOL).astype(np.int8)
    num = np.where(ak == ERROR, an, np.where(bk == ERROR, bn, result))
    return Lanes(num, kind)


def _truth(value: Value, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(truth, error mask) of a condition in each lane; text is #VALUE!."""
    num, kind, _ = _split(value, n)
    return num != 0, (kind == ERROR) | (kind == TEXT)


def _if(parts: list[Callable[[Env, int], Value]], env: Env, n: int) -> Value:
    cond = parts[0](env, n)
    no: Callable[[Env, int], Value] = parts[2] if len(parts) > 2 else (lambda e, k: False)
    if not isinstance(cond, Lanes):  # the same branch in every lane: evaluate only that one
        truth, bad = _truth(cond, 1)
        if bad[0]:
            return cond if isinstance(cond, ExcelError) else ExcelError("#VALUE!")
        return parts[1](env, n) if truth[0] else no(env, n)
    truth, bad = _truth(cond, n)
    return _merge(truth, parts[1](env, n), no(env, n), n, error=(bad, cond))


def _merge(mask: np.ndarray, yes: Value, no: Value, n: int, *, error: tuple[np.ndarray, Value] | None = None) -> Value:
    yn, yk, yt = _split(yes, n)
    nn, nk, nt = _split(no, n)
    num, kind = np.where(mask, yn, nn), np.where(mask, yk, nk).astype(np.int8)
    if error is not None and error[0].any():
        cn, ck, _ = _split(error[1], n)
        num = np.where(error[0], np.where(ck == ERROR, cn, _ERR_VALUE), num)
        kind = np.where(error[0], ERROR, kind).astype(np.int8)
    texts = {t for t, k in ((yt, yk), (nt, nk)) if t is not None and (k == TEXT).any()}
    return _pack(num, kind, texts.pop() if len(texts) == 1 else None)


def _iferror(value: Value, other: Value, n: int) -> Value:
    if not isinstance(value, Lanes):
        return other if isinstance(value, ExcelError) else value
    return _merge(value.kinds() == ERROR, other, value, n)


_AGGREGATES = ("SUM", "MIN", "MAX", "AVERAGE", "COUNT")


def _aggregate(name: str, values: list[Value], n: int) -> Value:
    stack = np.array([_split(v, n)[0] for v in values]) if values else np.zeros((0, n))
    kinds = np.array([_split(v, n)[1] for v in values]) if values else np.zeros((0, n), np.int8)
    errors = kinds == ERROR
    numeric = kinds == NUM
    count = numeric.sum(axis=0)
    with np.errstate(all="ignore"):
        if name == "SUM":
            out = np.where(numeric, stack, 0.0).sum(axis=0)
        elif name == "COUNT":
            out = count.astype(np.float64)
        elif name == "AVERAGE":
            out = np.where(numeric, stack, 0.0).sum(axis=0) / count
        elif name == "MIN":
            out = np.where(count > 0, np.where(numeric, stack, np.inf).min(axis=0), 0.0)
        else:
            out = np.where(count > 0, np.where(numeric, stack, -np.inf).max(axis=0), 0.0)
    kind = np.zeros(n, np.int8)
    num = out
    if name == "AVERAGE":
        div = count == 0
        num, kind = np.where(div, _ERR_DIV, num), np.where(div, ERROR, kind).astype(np.int8)
    if errors.any():
        first = errors.argmax(axis=0)
        has = errors.any(axis=0)
        num = np.where(has, stack[first, np.arange(n)], num)
        kind = np.where(has, ERROR, kind).astype(np.int8)
    return _pack(num, kind)


def _logical(name: str, values: list[Value], n: int) -> Value:
    truths, errs = [], []
    for v in values:
        t, bad = _truth(v, n)
        kinds = _split(v, n)[1]
        skip = (kinds == TEXT) | (kinds == BLANK)  # in a range, text and blanks are skipped
        truths.append(np.where(skip, name == "AND", t))
        errs.append(np.where(skip, False, bad))
    t = np.all(truths, axis=0) if name == "AND" else np.any(truths, axis=0)
    bad = np.any(errs, axis=0)
    return Lanes(np.where(bad, _ERR_VALUE, t.astype(np.float64)), np.where(bad, ERROR, BOOL).astype(np.int8))


def _numeric_unary(fn: Callable[..., np.ndarray]) -> Callable[..., Value]:
    def apply(*args: Value, n: int) -> Value:
        split = [_split(a, n) for a in args]
        bad = np.zeros(n, bool)
        err = np.zeros(n)
        for num, kind, _ in split:
            this = (kind == ERROR) | (kind == TEXT)
            err = np.where(bad, err, np.where(kind == ERROR, num, _ERR_VALUE))
            bad |= this
        with np.errstate(all="ignore"):
            out = fn(*(num for num, _k, _t in split))
        overflow = ~bad & ~np.isfinite(out)
        bad2 = bad | overflow
        return _pack(np.where(bad, err, np.where(overflow, _ERR_NUM, out)), np.where(bad2, ERROR, NUM).astype(np.int8))
    return apply


def _excel_round(x: np.ndarray, digits: np.ndarray) -> np.ndarray:
    scale = np.power(10.0, np.trunc(digits))
    out: np.ndarray = np.sign(x) * np.floor(np.abs(x) * scale + 0.5) / scale
    return out


def _kind_test(test: Callable[[np.ndarray], np.ndarray]) -> Callable[..., Value]:
    def apply(value: Value, n: int) -> Value:
        return Lanes(test(_split(value, n)[1]).astype(np.float64), np.full(n, BOOL, np.int8))
    return apply


_UNARY: dict[str, Callable[..., Value]] = {
    "ABS": _numeric_unary(np.abs), "INT": _numeric_unary(np.floor),
    "ROUND": _numeric_unary(_excel_round), "MOD": _numeric_unary(lambda a, b: a - b * np.floor(a / b)),
    "ISNUMBER": _kind_test(lambda k: k == NUM), "ISTEXT": _kind_test(lambda k: k == TEXT),
    "ISERROR": _kind_test(lambda k: k == ERROR), "ISBLANK": _kind_test(lambda k: k == BLANK),
    "ISLOGICAL": _kind_test(lambda k: k == BOOL),
    "NOT": lambda v, n: _compare(v, 0.0, "=", n, ("", 0, 0)),
    "N": lambda v, n: _pack(np.where(_split(v, n)[1] == NUM, _split(v, n)[0], np.where(_split(v, n)[1] == BOOL,
                                                                                     _split(v, n)[0], 0.0)),
                             np.zeros(n, np.int8)),
}

_FINANCE = ("PMT", "IPMT", "PPMT", "FV", "PV")


def _finance(name: str, args: list[Value], n: int) -> Value:
    fn = {"PMT": npf.pmt, "IPMT": npf.ipmt, "PPMT": npf.ppmt, "FV": npf.fv, "PV": npf.pv}[name]
    arity = {"PMT": 3, "IPMT": 4, "PPMT": 4, "FV": 3, "PV": 3}[name]
    full = list(args) + [0.0] * (arity + 2 - len(args))
    when = full[arity + 1]
    if isinstance(when, Lanes):
        raise NotVectorisable(f"{name}'s payment timing varies by scenario")

    def compute(*nums: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.asarray(fn(*nums[:arity + 1], when="begin" if (when or 0.0) else "end"), dtype=np.float64)
        return out

    return _numeric_unary(compute)(*full[:arity + 1], n=n)


def _index(table: list[Value], shape: tuple[int, int], pos: list[Value], where: Key) -> Value:
    if any(isinstance(p, Lanes) for p in pos):
        raise NotVectorisable(f"{_cell(where)}: INDEX at a position that varies by scenario")
    rows, cols = shape
    r = int(pos[0]) if pos and isinstance(pos[0], float) else 1
    c = int(pos[1]) if len(pos) > 1 and isinstance(pos[1], float) else 1
    if rows == 1 and len(pos) == 1:
        r, c = 1, r
    if not (1 <= r <= rows and 1 <= c <= cols):
        return ExcelError("#REF!")
    return table[(r - 1) * cols + (c - 1)]


def _match(look: Value, table: list[Value], how: Value, where: Key) -> Value:
    if isinstance(look, Lanes) or isinstance(how, Lanes) or any(isinstance(v, Lanes) for v in table):
        raise NotVectorisable(f"{_cell(where)}: MATCH over values that vary by scenario")
    kind = int(how) if isinstance(how, float) else 1
    for i, value in enumerate(table):
        if kind == 0 and _same_scalar(value, look):
            return float(i + 1)
    if kind == 0:
        return ExcelError("#N/A")
    best = None
    for i, value in enumerate(table):
        if isinstance(value, float) and isinstance(look, float) and (value <= look if kind > 0 else value >= look):
            best = i + 1
    return ExcelError("#N/A") if best is None else float(best)


def _same_scalar(a: Value, b: Value) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b and type(a) is type(b)


def _choose(parts: list[Callable[[Env, int], Value]], env: Env, n: int, where: Key) -> Value:
    index = parts[0](env, n)
    if isinstance(index, Lanes) or not isinstance(index, float):
        raise NotVectorisable(f"{_cell(where)}: CHOOSE of a position that varies by scenario")
    k = int(index)
    return parts[k](env, n) if 1 <= k < len(parts) else ExcelError("#VALUE!")


_DATES = ("EOMONTH", "EDATE", "DATE", "YEAR", "MONTH", "DAY")


def _dates(name: str, args: list[Value], where: Key) -> Value:
    if any(isinstance(a, Lanes) for a in args) or not all(isinstance(a, float) for a in args):
        raise NotVectorisable(f"{_cell(where)}: {name} of values that vary by scenario")
    nums = [float(a) for a in args]  # type: ignore[arg-type]
    from models.periods import add_months

    if name == "DATE":
        y, mo, d = (int(x) for x in nums)
        return date_to_serial(dt.date(y + (mo - 1) // 12, (mo - 1) % 12 + 1, 1) + dt.timedelta(days=d - 1))
    day = serial_to_date(nums[0])
    if name in ("YEAR", "MONTH", "DAY"):
        return float({"YEAR": day.year, "MONTH": day.month, "DAY": day.day}[name])
    shifted = add_months(day, int(math.trunc(nums[1])), month_end=name == "EOMONTH")
    return date_to_serial(shifted)
