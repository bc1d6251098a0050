"""Excel's operations over lanes: a cell's value in every scenario at once (:class:`Lanes`), and the
arithmetic, comparisons and functions :mod:`engine.formula.lanes` compiles formulas into.

Excel's rules are kept: blanks count as 0, TRUE as 1, text in arithmetic is ``#VALUE!``, division
by zero ``#DIV/0!``, an error propagates; ranges in ``SUM``/``MIN``/… skip text and logicals.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy_financial as npf

from engine.refs import column_letter, quote_sheet
from engine.values import ERROR_CODES, ExcelError, date_to_serial, serial_to_date

Key = tuple[str, int, int]
NUM, TEXT, BOOL, ERROR, BLANK = 0, 1, 2, 3, 4
ERR_VALUE, ERR_DIV, ERR_NUM, ERR_NA = 1.0, 2.0, 3.0, 4.0  # error codes carried in ``num`` of ERROR lanes
ERRORS = {ERR_VALUE: "#VALUE!", ERR_DIV: "#DIV/0!", ERR_NUM: "#NUM!", ERR_NA: "#N/A"}


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


def cell_name(key: Key) -> str:
    return f"{quote_sheet(key[0])}!{column_letter(key[2])}{key[1]}"


def literal(value: Any) -> Value:
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
        code = next((c for c, t in ERRORS.items() if t == value.code), ERR_VALUE)
        return np.full(n, code), np.full(n, ERROR, np.int8), None
    return np.zeros(n), np.full(n, TEXT, np.int8), str(value)


def _pack(num: np.ndarray, kind: np.ndarray, text: str | None = None) -> Lanes:
    return Lanes(num, None if not kind.any() else kind, text)


def arith(a: Value, b: Value, op: str, n: int) -> Value:
    an, ak, _ = _split(a, n)
    bn, bk, _ = _split(b, n)
    with np.errstate(all="ignore"):
        num = {"+": an + bn, "-": an - bn, "*": an * bn, "/": an / bn, "^": np.power(an, bn)}[op]
    kind = np.zeros(n, np.int8)
    err = np.zeros(n)
    for k, x in ((ak, an), (bk, bn)):  # the left operand's error first, as Excel reports it
        bad = (kind == NUM) & ((k == ERROR) | (k == TEXT))
        err = np.where(bad, np.where(k == ERROR, x, ERR_VALUE), err)
        kind = np.where(bad, ERROR, kind).astype(np.int8)
    if op == "/":
        div = (kind == NUM) & (bn == 0)
        err, kind = np.where(div, ERR_DIV, err), np.where(div, ERROR, kind).astype(np.int8)
    overflow = (kind == NUM) & ~np.isfinite(num)
    err, kind = np.where(overflow, ERR_NUM, err), np.where(overflow, ERROR, kind).astype(np.int8)
    return _pack(np.where(kind == ERROR, err, num), kind)


_RANK = {NUM: 0, BLANK: 0, TEXT: 1, BOOL: 2}


def compare(a: Value, b: Value, op: str, n: int, where: Key) -> Value:
    an, ak, at = _split(a, n)
    bn, bk, bt = _split(b, n)
    ra = np.vectorize(lambda k: _RANK.get(int(k), 9))(ak) if ak.any() else np.zeros(n)
    rb = np.vectorize(lambda k: _RANK.get(int(k), 9))(bk) if bk.any() else np.zeros(n)
    both_text = (ak == TEXT) & (bk == TEXT)
    if both_text.any() and (at is None or bt is None):
        raise NotVectorisable(f"{cell_name(where)}: a comparison of texts that vary by scenario")
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


def if_lanes(parts: list[Callable[[Env, int], Value]], env: Env, n: int) -> Value:
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
        num = np.where(error[0], np.where(ck == ERROR, cn, ERR_VALUE), num)
        kind = np.where(error[0], ERROR, kind).astype(np.int8)
    texts = {t for t, k in ((yt, yk), (nt, nk)) if t is not None and (k == TEXT).any()}
    return _pack(num, kind, texts.pop() if len(texts) == 1 else None)


def iferror(value: Value, other: Value, n: int) -> Value:
    if not isinstance(value, Lanes):
        return other if isinstance(value, ExcelError) else value
    return _merge(value.kinds() == ERROR, other, value, n)


AGGREGATES = ("SUM", "MIN", "MAX", "AVERAGE", "COUNT")


def aggregate(name: str, values: list[Value], n: int) -> Value:
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
        num, kind = np.where(div, ERR_DIV, num), np.where(div, ERROR, kind).astype(np.int8)
    if errors.any():
        first = errors.argmax(axis=0)
        has = errors.any(axis=0)
        num = np.where(has, stack[first, np.arange(n)], num)
        kind = np.where(has, ERROR, kind).astype(np.int8)
    return _pack(num, kind)


def logical(name: str, values: list[Value], n: int) -> Value:
    truths, errs = [], []
    for v in values:
        t, bad = _truth(v, n)
        kinds = _split(v, n)[1]
        skip = (kinds == TEXT) | (kinds == BLANK)  # in a range, text and blanks are skipped
        truths.append(np.where(skip, name == "AND", t))
        errs.append(np.where(skip, False, bad))
    t = np.all(truths, axis=0) if name == "AND" else np.any(truths, axis=0)
    bad = np.any(errs, axis=0)
    return Lanes(np.where(bad, ERR_VALUE, t.astype(np.float64)), np.where(bad, ERROR, BOOL).astype(np.int8))


def _numeric_unary(fn: Callable[..., np.ndarray]) -> Callable[..., Value]:
    def apply(*args: Value, n: int) -> Value:
        split = [_split(a, n) for a in args]
        bad = np.zeros(n, bool)
        err = np.zeros(n)
        for num, kind, _ in split:
            this = (kind == ERROR) | (kind == TEXT)
            err = np.where(bad, err, np.where(kind == ERROR, num, ERR_VALUE))
            bad |= this
        with np.errstate(all="ignore"):
            out = fn(*(num for num, _k, _t in split))
        overflow = ~bad & ~np.isfinite(out)
        bad2 = bad | overflow
        return _pack(np.where(bad, err, np.where(overflow, ERR_NUM, out)), np.where(bad2, ERROR, NUM).astype(np.int8))
    return apply


def _excel_round(x: np.ndarray, digits: np.ndarray) -> np.ndarray:
    scale = np.power(10.0, np.trunc(digits))
    out: np.ndarray = np.sign(x) * np.floor(np.abs(x) * scale + 0.5) / scale
    return out


def _kind_test(test: Callable[[np.ndarray], np.ndarray]) -> Callable[..., Value]:
    def apply(value: Value, n: int) -> Value:
        return Lanes(test(_split(value, n)[1]).astype(np.float64), np.full(n, BOOL, np.int8))
    return apply


UNARY: dict[str, Callable[..., Value]] = {
    "ABS": _numeric_unary(np.abs), "INT": _numeric_unary(np.floor),
    "ROUND": _numeric_unary(_excel_round), "MOD": _numeric_unary(lambda a, b: a - b * np.floor(a / b)),
    "ISNUMBER": _kind_test(lambda k: k == NUM), "ISTEXT": _kind_test(lambda k: k == TEXT),
    "ISERROR": _kind_test(lambda k: k == ERROR), "ISBLANK": _kind_test(lambda k: k == BLANK),
    "ISLOGICAL": _kind_test(lambda k: k == BOOL),
    "NOT": lambda v, n: compare(v, 0.0, "=", n, ("", 0, 0)),
    "N": lambda v, n: _pack(np.where(_split(v, n)[1] == NUM, _split(v, n)[0], np.where(_split(v, n)[1] == BOOL,
                                                                                     _split(v, n)[0], 0.0)),
                             np.zeros(n, np.int8)),
}

FINANCE = ("PMT", "IPMT", "PPMT", "FV", "PV")


def finance(name: str, args: list[Value], n: int) -> Value:
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


def index(table: list[Value], shape: tuple[int, int], pos: list[Value], where: Key) -> Value:
    if any(isinstance(p, Lanes) for p in pos):
        raise NotVectorisable(f"{cell_name(where)}: INDEX at a position that varies by scenario")
    rows, cols = shape
    r = int(pos[0]) if pos and isinstance(pos[0], float) else 1
    c = int(pos[1]) if len(pos) > 1 and isinstance(pos[1], float) else 1
    if rows == 1 and len(pos) == 1:
        r, c = 1, r
    if not (1 <= r <= rows and 1 <= c <= cols):
        return ExcelError("#REF!")
    return table[(r - 1) * cols + (c - 1)]


def match(look: Value, table: list[Value], how: Value, where: Key) -> Value:
    if isinstance(look, Lanes) or isinstance(how, Lanes) or any(isinstance(v, Lanes) for v in table):
        raise NotVectorisable(f"{cell_name(where)}: MATCH over values that vary by scenario")
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


def choose(parts: list[Callable[[Env, int], Value]], env: Env, n: int, where: Key) -> Value:
    index = parts[0](env, n)
    if isinstance(index, Lanes) or not isinstance(index, float):
        raise NotVectorisable(f"{cell_name(where)}: CHOOSE of a position that varies by scenario")
    k = int(index)
    return parts[k](env, n) if 1 <= k < len(parts) else ExcelError("#VALUE!")


DATES = ("EOMONTH", "EDATE", "DATE", "YEAR", "MONTH", "DAY")


def dates(name: str, args: list[Value], where: Key) -> Value:
    if any(isinstance(a, Lanes) for a in args) or not all(isinstance(a, float) for a in args):
        raise NotVectorisable(f"{cell_name(where)}: {name} of values that vary by scenario")
    nums = [float(a) for a in args]  # type: ignore[arg-type]
    from models.periods import add_months

    if name == "DATE":
        y, mo, d = (int(x) for x in nums)
        return date_to_serial(dt.date(y + (mo - 1) // 12, (mo - 1) % 12 + 1, 1) + dt.timedelta(days=d - 1))
    day = serial_to_date(nums[0])
    if name in ("YEAR", "MONTH", "DAY"):
        return float({"YEAR": day.year, "MONTH": day.month, "DAY": day.day}[name])
    shifted = add_months(day, math.trunc(nums[1]), month_end=name == "EOMONTH")
    return date_to_serial(shifted)
