"""Benchmark: ``gpucredit grid`` — a 9 x 8 sensitivity grid on the 120-month template, as the installed
command (one process: start, open the model once, 72 incremental evaluations, print), against the
same 72 points done as full conversions (``engine.convert.convert``, each loading, evaluating and
writing the workbook), in one run. Also checks four points of the grid against their conversions.

    python benchmarks/questions.py [--template templates/miner_hosting_monthly.xlsx]

Exit status 0 unless a command fails or a point differs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine_header  # noqa: E402

sys.path.insert(0, str(ROOT))

from engine.convert import CurveChoice, convert  # noqa: E402
from models.curves import RentMode  # noqa: E402

D = "d=0.10:0.50:0.05"  # 9 values
UTIL = "util=0.60:0.95:0.05"  # 8 values
CURVE = ["--preset", "h100-base", "--mode", "absolute", "--no-launches", "--set", "p0=14"]
TARGET_SECONDS = 2.0  # issue 14: a 9 x 8 grid on the 120-month template


def command() -> list[str]:
    exe = Path(sys.executable).with_name("gpucredit" + (".exe" if os.name == "nt" else ""))
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "engine.shell.cli"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="templates/miner_hosting_monthly.xlsx")
    args = parser.parse_args(argv)
    template = Path(args.template) if Path(args.template).is_absolute() else ROOT / args.template
    for line in machine_header():
        print(line)
    started = time.perf_counter()
    done = subprocess.run([*command(), "grid", str(template), "--vary", D, "--vary", UTIL, *CURVE, "--json"],
                          capture_output=True, text=True, timeout=600)
    grid_seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"gpucredit grid failed: {done.stderr.strip()}")
    doc = json.loads(done.stdout)
    d_values, u_values = (axis["values"] for axis in doc["axes"])
    work = Path(tempfile.mkdtemp(prefix="gpucredit-bench-grid-"))
    worst = 0.0
    try:
        started = time.perf_counter()
        for i, d in enumerate(d_values):
            for j, u in enumerate(u_values):
                curve = CurveChoice(preset="h100-base", mode=RentMode.ABSOLUTE, launches=(),
                                    overrides={"p0": 14.0, "d": d, "util": (u,)})
                result = convert(template, work / "point.xlsx", curve=curve, force=True)
                got, want = doc["values"][i][j], result.metrics_after.min_dscr
                worst = max(worst, abs(got - want) / max(abs(want), 1e-300))
        full_seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    points = len(d_values) * len(u_values)
    print(f"template: {template.name}; grid {D} x {UTIL} ({points} points), metric min_dscr, absolute mode")
    print(f"\n{'path':56} {'seconds':>9} {'per point':>10}")
    print(f"{'`gpucredit grid` process (model opened once)':56} {grid_seconds:>9.2f} {grid_seconds / points:>10.3f}")
    print(f"{'full conversions, in process':56} {full_seconds:>9.2f} {full_seconds / points:>10.3f}")
    print(f"\nratio: full conversions / grid = {full_seconds / grid_seconds:.1f}x")
    verdict = "meets" if grid_seconds <= TARGET_SECONDS else "MISSES"
    print(f"target: <= {TARGET_SECONDS:.0f} s; this run {grid_seconds:.2f} s ({verdict} it); largest relative "
          f"difference between a grid point and its conversion: {worst:.1e}")
    return 0 if math.isfinite(worst) and worst < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
