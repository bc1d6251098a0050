"""Benchmark: candidate recalculation engines on the shipped templates.

For each template and engine: load time and full-evaluation time (median of ``--repeat`` runs),
and how many formula cells agree with LibreOffice Calc's recalculation of the ORIGINAL template
(the accuracy tolerance of docs/decisions/recalc-engine.md: relative 1e-9, absolute 1e-6; equal text, booleans, error codes).

Engines:

* formualizer  — ``formualizer.Workbook.from_bytes(data)`` then ``.evaluate_all()`` (what
  ``engine/formula/evaluate.py`` uses); values via ``Workbook.get_value(sheet, row, col)``.
* IronCalc     — ``ironcalc.load_from_xlsx(path, "en", "UTC")`` then ``Model.evaluate()``;
  values via ``Model.get_cell_value(sheet_index, row, col)``.
* formulas     — ``formulas.ExcelModel().loads(path).finish()`` then ``.calculate()``; values from
  the solution keyed ``'[file]SHEET'!A1``. Slow to load, so skipped on the 120-month template
  unless ``--with-formulas-on-monthly``.

An engine that is not installed or fails is reported in the table, never aborts the run.

    python benchmarks/engines.py [--repeat 3] [--templates 'templates/*.xlsx'] [--with-formulas-on-monthly]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine_header, template_paths  # noqa: E402

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from libreoffice import cached_values, compare, recalculate  # noqa: E402

Ref = tuple[str, str]  # (sheet title, "A1")


def _split(a1: str) -> tuple[int, int]:
    letters = a1.rstrip("0123456789")
    col = 0
    for ch in letters.upper():
        col = col * 26 + ord(ch) - 64
    return int(a1[len(letters):]), col


def _plain(value: Any) -> Any:
    """numpy scalars, dates and error objects -> float / bool / str / None."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value  # libreoffice.compare turns dates into serials
    return str(value)  # error objects print as "#NUM!" etc.


# --------------------------------------------------------------------------- engines
# Each engine: load(path, data) -> handle; calc(handle) -> state; read(handle, state, refs) -> values.


def _fz_load(path: Path, data: bytes) -> Any:
    import formualizer as fz

    return fz.Workbook.from_bytes(data)


def _fz_calc(book: Any) -> Any:
    book.evaluate_all()
    return book


def _fz_read(book: Any, _state: Any, refs: list[Ref]) -> dict[Ref, Any]:
    from engine.formula.evaluate import to_cell_value
    from engine.values import ExcelError

    out = {}
    for sheet, a1 in refs:
        row, col = _split(a1)
        try:
            value = to_cell_value(book.get_value(sheet, row, col))
        except Exception as exc:  # noqa: BLE001 - report as a mismatch, not a crash
            value = f"<error: {exc}>"
        out[(sheet, a1)] = value.code if isinstance(value, ExcelError) else value
    return out


def _ic_load(path: Path, data: bytes) -> Any:
    import ironcalc

    return ironcalc.load_from_xlsx(str(path), "en", "UTC")


def _ic_calc(model: Any) -> Any:
    model.evaluate()
    return model


def _ic_read(model: Any, _state: Any, refs: list[Ref]) -> dict[Ref, Any]:
    index = {p["name"]: i for i, p in enumerate(model.get_worksheets_properties())}
    out = {}
    for sheet, a1 in refs:
        row, col = _split(a1)
        try:
            out[(sheet, a1)] = _plain(model.get_cell_value(index[sheet], row, col))
        except Exception as exc:  # noqa: BLE001
            out[(sheet, a1)] = f"<error: {exc}>"
    return out


def _fo_load(path: Path, data: bytes) -> Any:
    import formulas

    return formulas.ExcelModel().loads(str(path)).finish()


def _fo_calc(model: Any) -> Any:
    return model.calculate()


def _fo_read(model: Any, solution: Any, refs: list[Ref]) -> dict[Ref, Any]:
    from schedula import EMPTY  # formulas' value for an empty cell

    by_key: dict[Ref, Any] = {}
    for key, ranges in solution.items():
        book_sheet, _, cell = str(key).rpartition("!")
        if ":" in cell or "]" not in book_sheet:
            continue
        sheet = book_sheet.strip("'").split("]", 1)[1]
        value = getattr(ranges, "value", ranges)
        try:
            value = value[0][0] if hasattr(value, "__getitem__") and not isinstance(value, str) else value
        except (IndexError, TypeError):
            pass
        if value is EMPTY:
            value = None
        by_key[(sheet.upper(), cell.upper())] = _plain(value)
    return {(s, a1): by_key.get((s.upper(), a1.upper()), "<not computed>") for s, a1 in refs}


ENGINES: dict[str, tuple[str, Callable, Callable, Callable]] = {
    "formualizer": ("formualizer", _fz_load, _fz_calc, _fz_read),
    "IronCalc": ("ironcalc", _ic_load, _ic_calc, _ic_read),
    "formulas": ("formulas", _fo_load, _fo_calc, _fo_read),
}


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def bench(engine: str, template: Path, reference: dict[Ref, Any], repeat: int) -> dict:
    _, load, calc, read = ENGINES[engine]
    load_times, calc_times = [], []
    handle = state = None
    for _ in range(repeat):
        start = time.perf_counter()
        data = template.read_bytes()
        handle = load(template, data)
        mid = time.perf_counter()
        state = calc(handle)
        end = time.perf_counter()
        load_times.append(mid - start)
        calc_times.append(end - mid)
    refs = list(reference)
    values = read(handle, state, refs)
    problems = compare(reference, values)
    return {
        "load": statistics.median(load_times),
        "calc": statistics.median(calc_times),
        "match": len(refs) - len(problems),
        "total": len(refs),
        "problems": problems,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per template and engine (default 3)")
    parser.add_argument("--templates", default="templates/*.xlsx",
                        help="glob, relative to the repository root unless absolute")
    parser.add_argument("--with-formulas-on-monthly", action="store_true",
                        help="also run the (slow) formulas engine on the 120-month template")
    parser.add_argument("--show", type=int, default=3, help="disagreements to print per engine/template")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    templates = template_paths(parser, args.templates)

    for line in machine_header():
        print(line)
    print("engines:  " + ", ".join(f"{name} {_version(dist)}" for name, (dist, *_) in ENGINES.items()))
    print(f"reference: LibreOffice recalculation of each original template; repeat {args.repeat} (median)")

    rows, notes = [], []
    with tempfile.TemporaryDirectory(prefix="gpucredit-engines-") as tmp:
        for template in templates:
            reference = cached_values(recalculate(template, Path(tmp)))
            monthly = "monthly" in template.stem
            for engine, (dist, *_) in ENGINES.items():
                print(f"  {template.name} / {engine} ...", file=sys.stderr, flush=True)
                if _version(dist) == "not installed":
                    rows.append((template.name, engine, None, None, "not installed"))
                    continue
                if engine == "formulas" and monthly and not args.with_formulas_on_monthly:
                    rows.append((template.name, engine, None, None,
                                 "skipped (--with-formulas-on-monthly)"))
                    continue
                try:
                    r = bench(engine, template, reference, args.repeat)
                except Exception as exc:  # noqa: BLE001 - report and move on
                    rows.append((template.name, engine, None, None, f"failed: {str(exc)[:60]}"))
                    continue
                rows.append((template.name, engine, r["load"], r["calc"], f"{r['match']} / {r['total']}"))
                for line in r["problems"][: args.show]:
                    notes.append(f"  {template.name} / {engine}: {line}")
                if len(r["problems"]) > args.show:
                    notes.append(f"  {template.name} / {engine}: ... {len(r['problems']) - args.show} more")

    head = f"{'template':<28} {'engine':<12} {'load s':>8} {'calc s':>8}  cells matching LibreOffice / total"
    print()
    print(head)
    print("-" * len(head))
    for name, engine, load_s, calc_s, match in rows:
        fmt = lambda x: f"{x:8.3f}" if x is not None else f"{'-':>8}"  # noqa: E731
        print(f"{name:<28} {engine:<12} {fmt(load_s)} {fmt(calc_s)}  {match}")
    if notes:
        print("\ndisagreements (first few per engine and template):")
        for line in notes:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
