"""Fuzz the converter with mutated templates: every case converts or fails with a GpuCreditError.

    python benchmarks/fuzz.py --cases 10000          # the acceptance run (issue #7)
    python benchmarks/fuzz.py --cases 300 --seed 7   # a quick look

Cases are drawn by the hypothesis strategies of ``tests/fuzz_cases.py`` (package, XML and cell
mutations of the small shipped templates; every other case without the template's profile, so
detection reads the mutated file) and each runs in its own process, killed after
``--time-limit`` seconds. Prints the counts of converted cases, clean errors by class, uncaught
exceptions, cases over the time limit, crashed processes, changed inputs and left-over outputs; each
non-clean case is listed with its mutation (replayable with ``fuzz_cases.mutated_bytes``) and
traceback. Exits 1 when any case is not clean.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import fuzz_cases

from benchmarks.common import machine_header


def draw_cases(count: int, seed: int) -> list[fuzz_cases.Mutation]:
    """``count`` mutations from the hypothesis strategies (generation only: no shrinking, no database)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed

    drawn: list[fuzz_cases.Mutation] = []

    @fixed_seed(seed)
    @settings(max_examples=count, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(fuzz_cases.mutations())
    def collect(mutation: fuzz_cases.Mutation) -> None:
        drawn.append(mutation)

    while len(drawn) < count:  # hypothesis may stop early once it has seen enough distinct inputs
        before = len(drawn)
        collect()
        if len(drawn) == before:
            break
        seed += 1
    # exactly every other case without its profile, so detection reads half of the mutated files
    return [dataclasses.replace(m, profile=i % 2 == 0) for i, m in enumerate(drawn[:count])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="number of mutated inputs (default 10000)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel cases (default: CPUs)")
    parser.add_argument("--time-limit", type=float, default=fuzz_cases.TIME_LIMIT_S, help="seconds per case")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    cases = draw_cases(args.cases, args.seed)
    drawn_s = time.perf_counter() - started
    outcomes: list[tuple[fuzz_cases.Mutation, fuzz_cases.Outcome]] = []
    with tempfile.TemporaryDirectory(prefix="gpucredit-fuzz-") as scratch:

        def one(mutation: fuzz_cases.Mutation) -> tuple[fuzz_cases.Mutation, fuzz_cases.Outcome]:
            folder = Path(scratch) / f"worker{threading.get_ident()}"  # one case at a time per thread
            data = fuzz_cases.mutated_bytes(mutation)
            return mutation, fuzz_cases.run_case(data, folder, template=mutation.template,
                                                 time_limit_s=args.time_limit, profile=mutation.profile)

        with ThreadPoolExecutor(max_workers=args.workers) as pool:  # threads wait; each case is a process
            outcomes = list(pool.map(one, cases))
    wall_s = time.perf_counter() - started

    kinds = collections.Counter(o.kind for _, o in outcomes)
    errors = collections.Counter(o.error_class for _, o in outcomes if o.kind == "error")
    bad = [(m, o) for m, o in outcomes if not _clean(m, o)]
    for line in machine_header():
        print(line)
    print(f"cases:               {len(outcomes)} ({sum(not m.profile for m, _ in outcomes)} without a profile; "
          f"{args.workers} workers, {args.time_limit:g} s limit, seed {args.seed}, drawn in {drawn_s:.1f} s)")
    print(f"converted:           {kinds['converted']}")
    print(f"clean errors:        {kinds['error']}")
    for name, count in errors.most_common():
        print(f"  {name:<26} {count}")
    print(f"uncaught exceptions: {kinds['uncaught']}")
    print(f"over {args.time_limit:g} s:           {kinds['timeout']}")
    print(f"crashed processes:   {kinds['crashed']}")
    print(f"input changed:       {sum(not o.input_unchanged for _, o in outcomes)}")
    print(f"output left behind:  {sum(o.output_left for _, o in outcomes)}")
    print(f"bad messages:        {sum(o.kind == 'error' and not _one_line(m, o) for m, o in outcomes)}")
    print(f"slowest case:        {max((o.seconds for _, o in outcomes), default=0):.2f} s")
    print(f"wall time:           {wall_s:.1f} s")
    for mutation, outcome in bad[:20]:
        print(f"\nNOT CLEAN: {mutation}\n  {outcome.kind} {outcome.error_class}: {outcome.message[:300]}")
        if outcome.traceback:
            print("  " + outcome.traceback.strip().replace("\n", "\n  "))
    return 1 if bad else 0


def _one_line(mutation: fuzz_cases.Mutation, outcome: fuzz_cases.Outcome) -> bool:
    return "\n" not in outcome.message and outcome.message.startswith(f"{mutation.template}.")


def _clean(mutation: fuzz_cases.Mutation, outcome: fuzz_cases.Outcome) -> bool:
    if outcome.kind not in ("converted", "error") or not outcome.input_unchanged or outcome.output_left:
        return False
    return outcome.kind == "converted" or _one_line(mutation, outcome)


if __name__ == "__main__":
    sys.exit(main())
