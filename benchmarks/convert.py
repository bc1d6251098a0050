"""Benchmark: gpucredit convert against LibreOffice's headless recalculation, per shipped template,
measured the way a user meets them.

For each template (and, with ``--long``, the 1,200-month variant of the monthly template built by
``templates/build_templates.py``), in one run, medians of ``--repeat`` runs:

* "CLI": the installed ``gpucredit convert FILE -o OUT --force --preset h100-stress`` as a whole
  process (start, imports, convert, write), with its peak memory (``--cli``);
* "in-process": ``engine.convert.convert`` called in this process;
* "engine": formualizer's own load of the converted output plus one full evaluation
  (``Workbook.from_path`` + ``evaluate_all``, configured as gpucredit configures it): the physical
  reference;
* "engine process" (``--cli``): the same as a whole process that does nothing else (start Python,
  import formualizer, load, evaluate): the floor of any command built on this engine;
* "LibreOffice": ``soffice --headless --convert-to xlsx`` of the same output in a fresh profile set to
  recalculate on load (``tests/libreoffice.py``), one process per file, as using LibreOffice as the
  engine would cost;

and the ratios LibreOffice / CLI, LibreOffice / engine process (the best LibreOffice / CLI any
command on this engine could reach) and in-process / engine. Checks (once) that the output's cached
values agree with LibreOffice's recalculation, and prints the slowest imports of the convert
command (``python -X importtime``).

Before timing processes (``--cli``) the project's own modules are compiled to bytecode, as ``make``
does when it installs gpucredit and as a user's Python does on the first run: a Python started with
``PYTHONDONTWRITEBYTECODE`` (this workplace's shells set it) would otherwise compile every module of
the editable install from source in every process.

    python benchmarks/convert.py [--repeat 5] [--templates 'templates/*.xlsx'] [--cli] [--long]

Exit status 0 (a benchmark, not a test: disagreements are printed, not fatal).
"""

from __future__ import annotations

import argparse
import compileall
import importlib.metadata
import os
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
from engine.formula.evaluate import PARALLEL  # noqa: E402

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


def command() -> list[str]:
    """The installed ``gpucredit`` beside this Python, else the module."""
    exe = Path(sys.executable).with_name("gpucredit" + (".exe" if os.name == "nt" else ""))
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "engine.shell.cli"]


# A process that runs the command in itself and reports its own peak memory: VmHWM from /proc on Linux
# (ru_maxrss there is inherited from the benchmark across fork and exec), ru_maxrss elsewhere (not
# on Windows). The report is an atexit callback, so the command ends the usual way in this process
# (engine.shell.cli skips the interpreter's teardown only when nothing waits for the exit); the
# teardown frees memory, it never raises the peak.
_PEAK = ("import atexit, resource, runpy, sys\n"
         "def report():\n"
         "    try:\n"
         "        line = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
         "        mb = int(line.split()[1]) / 1024\n"
         "    except OSError:\n"
         "        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
         "        mb = kb / (1024 * 1024) if sys.platform == 'darwin' else kb / 1024\n"
         "    sys.stderr.write(f'PEAK {mb:.1f}\\n')\n"
         "atexit.register(report)\n"
         "sys.argv = sys.argv[1:]\n"
         "runpy.run_module('engine.shell.cli', run_name='__main__')\n")


def cli_run(template: Path, out: Path) -> float:
    args = [*command(), "convert", str(template), "-o", str(out), "--force", "--preset", PRESET]
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"gpucredit convert failed: {done.stderr.strip()}")
    return seconds


def cli_peak_mb(template: Path, out: Path) -> float | None:
    if os.name == "nt":
        return None
    done = subprocess.run([sys.executable, "-c", _PEAK, "gpucredit", "convert", str(template), "-o", str(out),
                           "--force", "--preset", PRESET], capture_output=True, text=True, timeout=900)
    lines = [line for line in done.stderr.splitlines() if line.startswith("PEAK ")]
    return float(lines[-1].split()[1]) if lines else None


def compile_project() -> str:
    """Compile the checkout's packages to bytecode (``__pycache__``, ignored by git); what was done."""
    ok = all(compileall.compile_dir(ROOT / package, quiet=1) for package in ("engine", "models"))
    setting = "set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "not set"
    return (f"engine/ and models/ compiled{'' if ok else ' (some modules failed)'} before timing processes "
            f"(PYTHONDONTWRITEBYTECODE {setting})")


# The engine as gpucredit configures it (parallel evaluation only on more than two cores:
# engine.formula.evaluate.PARALLEL), so the reference is the same engine doing the same work.
_ENGINE_ONLY = ("import sys, formualizer as fz\n"
                "config = fz.EvaluationConfig()\n"
                "config.enable_parallel = sys.argv[2] == '1'\n"
                "fz.Workbook.from_path(sys.argv[1], config=fz.WorkbookConfig(eval_config=config)).evaluate_all()\n")


def engine_time(path: Path) -> float:
    import formualizer as fz

    start = time.perf_counter()
    config = fz.EvaluationConfig()
    config.enable_parallel = PARALLEL
    fz.Workbook.from_path(str(path), config=fz.WorkbookConfig(eval_config=config)).evaluate_all()
    return time.perf_counter() - start


def engine_process_time(path: Path) -> float:
    """The least any Python command on this engine can take for a file: start the interpreter, import
    formualizer, load the file and evaluate it once, nothing else (``--cli``)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _ENGINE_ONLY, str(path), "1" if PARALLEL else "0"], check=True,
                   timeout=900)
    return time.perf_counter() - start


def bench_template(template: Path, repeat: int, work: Path, cli: bool) -> dict:
    out = work / f"{template.stem}.gpu.xlsx"
    curve = CurveChoice(preset=PRESET)
    convert_times = [timed(lambda: convert(template, out, curve=curve, force=True)) for _ in range(repeat)]
    engine_times = [engine_time(out) for _ in range(repeat)]
    cli_times = [cli_run(template, work / f"{template.stem}.cli.xlsx") for _ in range(repeat)] if cli else []
    engine_process_times = [engine_process_time(out) for _ in range(repeat)] if cli else []
    peak = cli_peak_mb(template, work / f"{template.stem}.cli.xlsx") if cli else None
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
    med = statistics.median
    return {
        "template": template.name,
        "formulas": len(ours),
        "cli_s": med(cli_times) if cli_times else None,
        "peak_mb": peak,
        "gpu_s": med(convert_times),
        "engine_s": med(engine_times),
        "engine_proc_s": med(engine_process_times) if engine_process_times else None,
        "lo_s": med(lo_times),
        "agree": f"{len(ours) - len(problems)}/{len(ours)}",
        "problems": problems,
    }


def _num(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def print_table(rows: list[dict], repeat: int) -> None:
    head = (f"{'template':<34} {'formulas':>8} {'CLI s':>7} {'peak MB':>8} {'in-proc s':>9} {'engine s':>8} "
            f"{'eng.proc s':>10} {'LO s':>6} {'LO/CLI':>7} {'LO/eng.proc':>11} {'in-proc/engine':>14} {'LO agrees':>11}")
    print()
    print(f"median of {repeat} runs, seconds per file (formulas = formula cells in the output file; eng.proc = a "
          "process that only imports formualizer, loads the output and evaluates it: the floor of any command "
          "on this engine, and LO/eng.proc the highest LO/CLI ratio such a command can reach)")
    print(head)
    print("-" * len(head))
    for r in rows:
        lo_cli = r["lo_s"] / r["cli_s"] if r["cli_s"] else None
        lo_floor = r["lo_s"] / r["engine_proc_s"] if r["engine_proc_s"] else None
        print(f"{r['template']:<34} {r['formulas']:>8} {_num(r['cli_s'], '.3f'):>7} {_num(r['peak_mb'], '.0f'):>8} "
              f"{r['gpu_s']:>9.3f} {r['engine_s']:>8.3f} {_num(r['engine_proc_s'], '.3f'):>10} {r['lo_s']:>6.2f} "
              f"{_num(lo_cli, '.2f'):>6}x {_num(lo_floor, '.2f'):>10}x "
              f"{r['gpu_s'] / r['engine_s']:>13.1f}x {r['agree']:>11}")
    for r in rows:
        for line in r["problems"][:5]:
            print(f"  disagreement in {r['template']}: {line}")
        if len(r["problems"]) > 5:
            print(f"  ... and {len(r['problems']) - 5} more in {r['template']}")


def print_imports(template: Path, work: Path) -> None:
    """The ten slowest imports (cumulative) of one ``gpucredit convert`` process."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "engine.shell.cli", "convert", str(template),
                           "-o", str(work / "imports.xlsx"), "--force", "--preset", PRESET],
                          capture_output=True, text=True, timeout=900)
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _self, cumulative, name = line.removeprefix("import time:").split("|")
            if cumulative.strip().isdigit() and not name[1:].startswith(" "):  # nested imports are indented
                rows.append((int(cumulative), name.strip()))
    top = sorted(rows, reverse=True)[:10]
    print("\nslowest top-level imports of `gpucredit convert` (python -X importtime, cumulative):")
    for us, name in top:
        print(f"  {us / 1000:>7.1f} ms  {name}")
    help_times = [timed(lambda: subprocess.run([*command(), "--help"], capture_output=True, timeout=120))
                  for _ in range(5)]
    print(f"`gpucredit --help`: {statistics.median(help_times):.3f} s (median of 5 processes)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per template and side (default 5)")
    parser.add_argument(
        "--templates", default="templates/*.xlsx",
        help="glob of templates, relative to the repository root unless absolute (default templates/*.xlsx)",
    )
    parser.add_argument("--cli", action="store_true", help="also time the installed command as whole processes")
    parser.add_argument("--long", action="store_true",
                        help="also the 1,200-month variant of the monthly template (built into a temporary folder)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    templates = template_paths(parser, args.templates)

    for line in machine_lines():
        print(line)
    print(f"preset:   {PRESET}; repeat {args.repeat}")
    if args.cli:
        print(f"bytecode: {compile_project()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="gpucredit-bench-") as tmp:
        if args.long:
            sys.path.insert(0, str(ROOT / "templates"))
            from build_templates import build

            templates.append(build("miner_hosting_monthly", Path(tmp), months=1200))
        for template in templates:
            print(f"  {template.name} ...", file=sys.stderr, flush=True)
            try:
                rows.append(bench_template(template, args.repeat, Path(tmp), args.cli))
            except Exception as exc:  # a benchmark reports and moves on
                print(f"  {template.name}: skipped: {exc}", file=sys.stderr)
        print_table(rows, args.repeat)
        if args.cli:
            print_imports(ROOT / "templates" / "miner_hosting_monthly.xlsx", Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
