"""Benchmark: ``gpucredit stress`` — scenarios per second three ways, in one run, on one template.

* "vectorised": the whole installed command, ``gpucredit stress FILE --scenarios N --jobs J`` as a
  process (start, open the model, compile the lanes, N scenarios, the check of 20 against the
  engine, write the workbook with its Stress sheet); also the in-process run alone;
* "per-scenario engine": what an @RISK-style tool does, on this engine — each scenario's curve
  draws and monthly shocks set on GPU_Curve and the session re-evaluated incrementally (the
  fastest honest per-scenario path: no file written);
* "LibreOffice per scenario": each scenario's inputs written into a workbook and that workbook
  recalculated by LibreOffice (one ``soffice --convert-to`` process per scenario).

Prints the machine, then scenarios per second and the ratios against the per-scenario paths.

    python benchmarks/stress.py [--template templates/miner_hosting_monthly.xlsx] [--scenarios 10000]
                                [--jobs 2] [--engine-scenarios 100] [--libreoffice-scenarios 3]
                                [--dask 0]

``--dask N`` also runs N scenarios on a local Dask cluster (two worker processes) through
``--scheduler``. Exit status 0 unless a run fails.
"""

from __future__ import annotations

import argparse
import json
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
sys.path.insert(0, str(ROOT / "tests"))

from libreoffice import recalculate  # noqa: E402

from engine.convert import CurveChoice, convert  # noqa: E402
from engine.scenarios.replay import SpecSource, apply_scenario, read_scenario, spec_source  # noqa: E402
from engine.scenarios.stress import StressModel, draws_of  # noqa: E402
from engine.scenarios.stress_run import run_stress  # noqa: E402
from engine.session import ModelSession  # noqa: E402
from engine.template.profile import given_profile  # noqa: E402

TARGET_SECONDS = 10.0  # issue 15: 10,000 scenarios of the 120-month template on 2 cores


def command() -> list[str]:
    """The installed ``gpucredit`` beside this Python, else the module."""
    exe = Path(sys.executable).with_name("gpucredit" + (".exe" if os.name == "nt" else ""))
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "engine.shell.cli"]


def cli_run(template: Path, out: Path, scenarios: int, jobs: int, extra: list[str]) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run([*command(), "stress", str(template), "--scenarios", str(scenarios), "--seed", "7",
                           "--jobs", str(jobs), "-o", str(out), "--force", "--json", *extra],
                          capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"gpucredit stress failed ({done.returncode}): {done.stderr.strip()}")
    return seconds, json.loads(done.stdout)


def per_scenario_engine(model: StressModel, count: int) -> float:
    """Seconds per scenario, each through GPU_Curve and the session's incremental evaluation."""
    draws = draws_of(model, 7, list(range(count)))
    out = model._outputs(draws, model.rents(draws), count)
    started = time.perf_counter()
    model.verify(draws, out, range(count))  # sets each scenario, evaluates, reads the metric lines
    return (time.perf_counter() - started) / count


def per_scenario_libreoffice(template: Path, source: SpecSource, preset: str, count: int, work: Path) -> float:
    """Seconds per scenario: its workbook written by gpucredit, then recalculated by LibreOffice."""
    dump = work / "lo-dump.csv"
    subprocess.run([*command(), "stress", str(template), "--scenarios", str(count), "--seed", "7", "--jobs", "1",
                    "--spec", source.ref, "-o", str(work / "lo-run.xlsx"), "--force", "--dump", str(dump)],
                   check=True, capture_output=True, timeout=3600)
    books = []
    for i in range(count):
        scenario = read_scenario(f"{dump}:{i}")
        books.append(convert(template, work / f"lo-{i}.xlsx", curve=CurveChoice(preset=preset), force=True,
                             prepare=lambda s, sc=scenario: apply_scenario(s, sc)).output)
    started = time.perf_counter()
    for i, book in enumerate(books):
        recalculate(book, work / f"lo-out-{i}")
    return (time.perf_counter() - started) / count


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="templates/miner_hosting_monthly.xlsx")
    parser.add_argument("--scenarios", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--engine-scenarios", type=int, default=100)
    parser.add_argument("--libreoffice-scenarios", type=int, default=3)
    parser.add_argument("--dask", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    template = Path(args.template) if Path(args.template).is_absolute() else ROOT / args.template
    for line in machine_header():
        print(line)
    work = Path(tempfile.mkdtemp(prefix="gpucredit-bench-stress-"))
    try:
        given = given_profile(template, None)
        source = spec_source(None, has_btc_line=given is not None and bool(given.btc_price))
        spec = source.spec()
        print(f"template: {template.name}; spec {source.ref} (preset {spec.preset}); seed 7")
        whole, doc = cli_run(template, work / "cli.xlsx", args.scenarios, args.jobs, [])
        session = ModelSession.open(template, curve=CurveChoice(preset=spec.preset))
        model = StressModel(session, spec)
        started = time.perf_counter()
        run_stress(model, scenarios=args.scenarios, seed=7)
        inproc = time.perf_counter() - started
        engine_each = per_scenario_engine(model, args.engine_scenarios)
        lo_each = per_scenario_libreoffice(template, source, spec.preset, args.libreoffice_scenarios, work)
        rows = [
            (f"vectorised, `gpucredit stress` process, --jobs {args.jobs}", args.scenarios, whole),
            ("vectorised, in-process run (one process)", args.scenarios, inproc),
            ("per-scenario engine (GPU_Curve + incremental evaluation)", args.engine_scenarios,
             engine_each * args.engine_scenarios),
            ("LibreOffice recalculation per scenario", args.libreoffice_scenarios,
             lo_each * args.libreoffice_scenarios),
        ]
        if args.dask:
            from distributed import LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                dask_seconds, dask_doc = cli_run(template, work / "dask.xlsx", args.dask, 1,
                                                 ["--scheduler", cluster.scheduler_address])
            rows.append(("vectorised on a local Dask cluster (2 workers), --scheduler", args.dask, dask_seconds))
            assert dask_doc["scenarios"] == args.dask
        print(f"\n{'path':64} {'scenarios':>10} {'seconds':>9} {'per second':>11}")
        for label, n, seconds in rows:
            print(f"{label:64} {n:>10,} {seconds:>9.2f} {n / seconds:>11,.0f}")
        fast = args.scenarios / whole
        print("\nratios (scenarios per second of the `gpucredit stress` process over):")
        print(f"  per-scenario engine      {fast * engine_each:>10,.0f}x   "
              f"(10,000 scenarios that way: {engine_each * 10_000:,.0f} s)")
        print(f"  LibreOffice per scenario {fast * lo_each:>10,.0f}x   "
              f"(10,000 scenarios that way: {lo_each * 10_000 / 3600:,.1f} h)")
        scaled = whole * 10_000 / args.scenarios
        verdict = "meets" if scaled <= TARGET_SECONDS else "MISSES"
        print(f"\ntarget: 10,000 scenarios in <= {TARGET_SECONDS:.0f} s; this run: {scaled:.2f} s for 10,000 "
              f"({verdict} it); checked against the engine: {doc['verified_scenarios']} scenarios, largest "
              f"relative difference {doc['worst_relative_difference']:.1e}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
