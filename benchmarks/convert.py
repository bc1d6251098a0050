"""Benchmark: gpucredit convert vs LibreOffice headless recalc, per shipped template.

For each template, in one run:

* "gpucredit convert": N end-to-end conversions with ``engine.convert.convert`` (load, profile,
  evaluate, patch, recalculate, write cached values, write the file) into a temp dir, preset
  ``h100-stress``;
* "LibreOffice headless recalc": N recalculations of the same OUTPUT file with
  ``tests/libreoffice.py``'s ``recalculate`` — each one a full ``soffice --headless --convert-to
  xlsx`` process (fresh profile, start, load, recalculate every formula, save). That is the honest
  cost of using LibreOffice as the recalculation engine: one process per file.

Prints the machine, the date, and a table of medians; also checks (once) that the converted
file's cached values agree with LibreOffice's recalculation under the accuracy tolerance
(docs/decisions/recalc-engine.md).

    python benchmarks/convert.py [--repeat 5] [--templates 'templates/*.xlsx']

Exit status 0 (a benchmark, not a test: disagreements are printed, not fatal).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine_header, template_paths  # noqa: E402

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from libreoffice import cached_values, compare, recalculate, soffice_path  # noqa: E402

from engine.convert import CurveChoice, convert  # noqa: E402

PRESET = "h100-stress"


def machine_lines() -> list[str]:
    try:
        fz_version = importlib.metadata.version("formualizer")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a project dependency
        fz_version = "missing"
    try:
        lo_version = subprocess.run(
            [soffice_path(), "--version"], capture_output=True, text=True, timeout=60
        ).stdout.strip()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        lo_version = f"unavailable ({exc})"
    return [
        *machine_header(),
        f"engines:  gpucredit convert = formualizer {fz_version}; "
        f"LibreOffice headless recalc = {lo_version}",
    ]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_template(template: Path, repeat: int, work: Path) -> dict:
    out = work / f"{template.stem}.gpu.xlsx"
    curve = CurveChoice(preset=PRESET)
    convert_times = [
        timed(lambda: convert(template, out, curve=curve, force=True)) for _ in range(repeat)
    ]
    lo_dir = work / "lo"
    lo_times = []
    lo_out = None
    for _ in range(repeat):
        start = time.perf_counter()
        lo_out = recalculate(out, lo_dir)
        lo_times.append(time.perf_counter() - start)
    ours = cached_values(out)
    theirs = cached_values(lo_out)
    problems = compare(ours, theirs)
    gpu_s = statistics.median(convert_times)
    lo_s = statistics.median(lo_times)
    return {
        "template": template.name,
        "formulas": len(ours),
        "gpu_s": gpu_s,
        "lo_s": lo_s,
        "ratio": lo_s / gpu_s if gpu_s else float("inf"),
        "agree": f"{len(ours) - len(problems)}/{len(ours)}",
        "gpu_min": min(convert_times),
        "lo_min": min(lo_times),
        "problems": problems,
    }


def print_table(rows: list[dict], repeat: int) -> None:
    head = (
        f"{'template':<28} {'formulas':>8} {'gpucredit convert':>18} "
        f"{'LibreOffice headless recalc':>28} {'ratio LO/gpucredit':>19} {'LO agrees':>10}"
    )
    print()
    print(f"median of {repeat} runs, seconds per file (formulas = formula cells in the output file)")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['template']:<28} {r['formulas']:>8} {r['gpu_s']:>16.3f} s "
            f"{r['lo_s']:>26.3f} s {r['ratio']:>18.1f}x {r['agree']:>10}"
        )
    for r in rows:
        for line in r["problems"][:5]:
            print(f"  disagreement in {r['template']}: {line}")
        if len(r["problems"]) > 5:
            print(f"  ... and {len(r['problems']) - 5} more in {r['template']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per template and side (default 5)")
    parser.add_argument(
        "--templates", default="templates/*.xlsx",
        help="glob of templates, relative to the repository root unless absolute (default templates/*.xlsx)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    templates = template_paths(parser, args.templates)

    for line in machine_lines():
        print(line)
    print(f"preset:   {PRESET}; repeat {args.repeat}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="gpucredit-bench-") as tmp:
        for template in templates:
            print(f"  {template.name} ...", file=sys.stderr, flush=True)
            try:
                rows.append(bench_template(template, args.repeat, Path(tmp)))
            except Exception as exc:  # a benchmark reports and moves on
                print(f"  {template.name}: skipped: {exc}", file=sys.stderr)
    print_table(rows, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
