"""Benchmark: ``gpucredit batch`` throughput, templates per second, for --jobs 1, --jobs 2 and Dask.

Builds COUNT templates once (default 200: the layouts of ``tests/layout_books.py`` in turn, 5 of
them broken), then converts the same folder three ways, each into a fresh output folder:

* ``--jobs 1``: one converter process;
* ``--jobs 2``: two converter processes;
* Dask: a ``LocalCluster`` of WORKERS worker processes × 1 thread (default 2), through
  ``engine.batch.run_batch(..., scheduler=client)``; the cluster start-up is timed apart.

Every pass must give the same summary (COUNT − 5 ok, 5 failed); the script says so. With
``--libreoffice``, also the same COUNT files recalculated by LibreOffice (one headless process each,
as ``tests/libreoffice.py`` runs it; the 5 broken ones included), files per second in the same run.

    python benchmarks/batch.py [--count 200] [--workers 2] [--libreoffice]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine_header

sys.path.insert(0, str(ROOT / "tests"))

import layout_books as lb  # noqa: E402

from engine.batch import expand_inputs, plan, run_batch  # noqa: E402
from engine.convert import CurveChoice  # noqa: E402

COMPARED = ("file", "status", "error", "rent_cells", "min_dscr_before", "min_dscr_after", "first_breach_after",
            "breaches_after")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--libreoffice", action="store_true", help="also recalculate every file with LibreOffice")
    args = parser.parse_args()
    print("\n".join(machine_header()))
    work = Path(tempfile.mkdtemp(prefix="gpucredit-bench-batch-"))
    started = time.perf_counter()
    lb.corpus(work / "in", args.count, 5)
    files = expand_inputs([work / "in"])
    print(f"templates: {len(files)} ({len(lb.LAYOUTS)} layouts, 5 broken), built in "
          f"{time.perf_counter() - started:.1f} s in {work}")
    curve = CurveChoice(preset="h100-stress")
    results = {}
    for label, jobs in (("--jobs 1", 1), ("--jobs 2", 2)):
        tasks = plan(files, work / label.replace(" ", "").strip("-"), curve)
        t0 = time.perf_counter()
        rows = run_batch(tasks, jobs=jobs, timeout=300)
        results[label] = (time.perf_counter() - t0, rows)
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(args.workers)
        startup = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows = run_batch(plan(files, work / "dask", curve), scheduler=client, timeout=300)
        results[f"dask ({args.workers} workers)"] = (time.perf_counter() - t0, rows)
    print(f"\n{'run':<22}{'seconds':>10}{'templates/s':>14}{'ok':>6}{'failed':>8}")
    for label, (seconds, rows) in results.items():
        ok = sum(r.ok for r in rows)
        print(f"{label:<22}{seconds:>10.1f}{len(rows) / seconds:>14.2f}{ok:>6}{len(rows) - ok:>8}")
    if args.libreoffice:
        from libreoffice import recalculate

        t0 = time.perf_counter()
        for i, path in enumerate(files):
            try:
                recalculate(Path(path), work / "lo" / str(i))
            except RuntimeError:
                pass  # a broken file: LibreOffice refuses it too (the time still counts)
        lo_seconds = time.perf_counter() - t0
        print(f"{'LibreOffice, 1 by 1':<22}{lo_seconds:>10.1f}{len(files) / lo_seconds:>14.2f}")
    print(f"(Dask cluster start-up, not included above: {startup:.1f} s)")
    summaries = [[tuple(r.flat()[k] for k in COMPARED) for r in rows] for _, rows in results.values()]
    same = all(s == summaries[0] for s in summaries)
    print("summaries identical across the three runs:", "yes" if same else "NO")
    return 0


if __name__ == "__main__":
    sys.exit(main())
