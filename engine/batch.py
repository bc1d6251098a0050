"""Convert many templates: isolated worker processes with a real time limit, or a Dask cluster.

Never prints; the CLI renders. ``docs/batch.md`` is the user guide.

Isolation. The formula engine is native code: a conversion stuck inside it cannot be
interrupted from Python. Each conversion therefore runs in a *converter* — a child Python
process (``python -m engine.batch``) that reads one task at a time on stdin and answers on
stdout. When a task runs past its time limit the converter is killed (SIGKILL) and a fresh
one takes its place; a converter that dies (a crash in native code, out of memory) costs only
the file it was converting. Converters are reused between files, so the interpreter start-up
is paid once per job, not once per file.

Local runs drive ``jobs`` converters from as many threads. A Dask run (``scheduler``) submits
one task per file; the task runs on a Dask worker, which keeps its own converters (one per
worker thread), so the time limit holds on a cluster too. Paths must be visible to the
workers (a shared filesystem).
"""

from __future__ import annotations

import atexit
import glob
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from engine.convert import CurveChoice
from engine.errors import GpuCreditError, ParameterError
from engine.report.batch_summary import COLUMNS, METRIC_KEYS, Row, RowStatus, check_summary_path, summary_frame
from engine.report.batch_summary import write_summary
from engine.xlsx.save import default_output, make_folder

DEFAULT_TIMEOUT = 300.0  # seconds per file
STARTUP_TIMEOUT = 120.0  # seconds for a converter process to import the engine
SUFFIXES = (".xlsx", ".xlsm")
_PATTERN_CHARS = "*?["

__all__ = ["COLUMNS", "DEFAULT_TIMEOUT", "METRIC_KEYS", "Row", "RowStatus", "Task", "check_summary_path",
           "convert_task", "expand_inputs", "memo_path", "plan", "run_batch", "run_dask", "run_local", "summary_frame",
           "write_summary"]


@dataclass(frozen=True)
class Task:
    """One file to convert."""

    input: Path
    output: Path
    curve: CurveChoice
    force: bool = False
    memo: bool = False  # also write STEM.memo.md beside the output


# --------------------------------------------------------------------------- inputs


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files from paths, folders (their ``.xlsx``/``.xlsm``, not outputs ``*.gpu.*``) and globs.

    A path that exists is a file or a folder, never a pattern (``deal [v2].xlsx`` is that file).
    An input that yields nothing — a missing file, a pattern no file matches, a folder without
    templates — is kept as it is, so the batch reports it as a failed row naming it.
    """
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if _is_template(p)) or [path]
        elif not path.exists() and any(ch in str(item) for ch in _PATTERN_CHARS):
            found = sorted(Path(p) for p in glob.glob(str(item), recursive=True) if _is_template(Path(p))) or [path]
        else:
            found = [path]
        out += [p for p in found if p not in out]
    return out


def _is_template(path: Path) -> bool:
    name = path.name
    return (path.is_file() and path.suffix.lower() in SUFFIXES and not name.startswith("~$")
            and ".gpu." not in name)


def memo_path(output: Path) -> Path:
    """Where a batch writes an output's memo: ``deal.gpu.xlsx`` → ``deal.gpu.memo.md`` beside it."""
    return output.with_name(f"{output.stem}.memo.md")


def plan(inputs: Sequence[Path], out_dir: Path, curve: CurveChoice, *, force: bool = False,
         memo: bool = False) -> list[Task]:
    """One task per input; outputs ``OUT/STEM.gpu.xlsx``, de-duplicated when two inputs share a stem."""
    tasks: list[Task] = []
    used: set[str] = set()
    for path in inputs:
        target = out_dir / default_output(path).name
        n = 2
        while target.name.lower() in used:
            target = out_dir / f"{path.stem}-{n}.gpu{default_output(path).suffix}"
            n += 1
        used.add(target.name.lower())
        tasks.append(Task(input=path, output=target, curve=curve, force=force, memo=memo))
    return tasks


# --------------------------------------------------------------------------- one file


def convert_task(task: Task) -> Row:
    """Convert one file in this process; every failure becomes a ``failed`` row."""
    from engine.convert import convert

    started = time.perf_counter()
    if task.input.is_dir():
        return _failed(task, "the folder holds no .xlsx/.xlsm templates", 0.0)
    if not task.input.exists() and any(ch in str(task.input) for ch in _PATTERN_CHARS):
        return _failed(task, "no such file, and no .xlsx/.xlsm file matches it as a pattern", 0.0)
    try:
        result = convert(task.input, task.output, curve=task.curve, force=task.force,
                         memo=memo_path(task.output) if task.memo else None)
    except GpuCreditError as exc:
        return _failed(task, exc.one_line(), time.perf_counter() - started, prefixed=True)
    except Exception as exc:  # noqa: BLE001 - the worker boundary: a bug in one file must not stop the batch
        return _failed(task, f"internal error {type(exc).__name__}: {exc}; please report it",
                       time.perf_counter() - started)
    doc = result.to_json()
    return Row(file=str(task.input), status=RowStatus.OK, preset=task.curve.preset, mode=task.curve.mode.value,
               rent_cells=_span(result.rent_cells),
               money_unit=doc["money_unit"]["unit"], security=doc["security"]["kind"],
               before=doc["metrics"]["before"], after=doc["metrics"]["after"], headline=result.headline,
               warnings="; ".join([*result.warnings, *result.notes]),
               reconciled_share=result.reconciliation.get("share"), unverified=len(result.unverified),
               output=str(result.output), memo=str(result.memo or ""),
               seconds=time.perf_counter() - started)


def _span(cells: Sequence[Any]) -> str:
    from engine.refs import format_range

    return format_range(tuple(cells)) if cells else ""


def _failed(task: Task, message: str, seconds: float, *, prefixed: bool = False) -> Row:
    """A failed row; ``message`` gets the file name in front unless it already starts with it."""
    return Row(file=str(task.input), status=RowStatus.FAILED,
               error=message if prefixed else f"{task.input.name}: {message}", preset=task.curve.preset,
               mode=task.curve.mode.value, seconds=seconds)


# --------------------------------------------------------------------------- the converter process


def _write_frame(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - our own child process, over its own pipe


class Converter:
    """A child process that converts one task at a time and can be killed mid-task."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parent.parent),
                                                            os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen([sys.executable, "-m", "engine.batch"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                     start_new_session=True)
        self._answers: queue.Queue[Any] = queue.Queue()
        self._ready = False
        self._current: Task | None = None  # the task being converted, whose temporary file a kill may leave
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            try:
                self._answers.put(_read_frame(self.proc.stdout))
            except (EOFError, OSError, pickle.UnpicklingError):
                self._answers.put(EOFError())
                return

    def run(self, task: Task, timeout: float) -> tuple[Row, bool]:
        """The task's row, and whether this converter is still usable."""
        if not self._ready:  # the interpreter start-up does not count against the file's time limit
            try:
                self._ready = self._answers.get(timeout=STARTUP_TIMEOUT) == "ready"
            except queue.Empty:
                self._ready = False
            if not self._ready:
                code = self.proc.poll()
                self.close()
                return _failed(task, f"the converter process did not start (exit code {code})", 0.0), False
        started = time.perf_counter()
        self._current = task
        try:
            assert self.proc.stdin is not None
            _write_frame(self.proc.stdin, task)
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            self.close()
            return _failed(task, f"timed out after {timeout:g} s; the conversion was stopped", timeout), False
        except OSError:
            answer = EOFError()
        if isinstance(answer, Row):
            self._current = None
            return answer, True
        code = self.proc.poll()
        self.close()
        return _failed(task, f"the converter process died (exit code {code}) while converting this file",
                       time.perf_counter() - started), False

    def close(self) -> None:
        """Stop the process; a task it was killed in the middle of leaves no temporary file."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self._current is not None:
            out = self._current.output
            for leftover in out.parent.glob(f".{glob.escape(out.name)}.*.tmp"):
                leftover.unlink(missing_ok=True)
            self._current = None
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        self._reader.join(timeout=5)


def _serve() -> None:
    """The converter's main loop: tasks on stdin, rows on stdout (anything printed goes to stderr)."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests = sys.stdin.buffer
    _write_frame(answers, "ready")
    while True:
        try:
            task = _read_frame(requests)
        except EOFError:
            return
        _write_frame(answers, convert_task(task))


# --------------------------------------------------------------------------- local runs


def run_local(tasks: Sequence[Task], *, jobs: int = 1, timeout: float = DEFAULT_TIMEOUT,
              on_row: Callable[[Row], None] | None = None) -> list[Row]:
    """Convert ``tasks`` on ``jobs`` converter processes; rows come back in input order."""
    if jobs < 1:
        raise ParameterError("--jobs must be at least 1")
    pending: queue.Queue[tuple[int, Task]] = queue.Queue()
    for item in enumerate(tasks):
        pending.put(item)
    rows: list[Row | None] = [None] * len(tasks)
    lock = threading.Lock()
    live: list[Converter] = []  # stopped at once if the run is interrupted (Ctrl-C)

    def work() -> None:
        converter: Converter | None = None
        try:
            while True:
                try:
                    i, task = pending.get_nowait()
                except queue.Empty:
                    return
                if converter is None:
                    converter = Converter()
                    with lock:
                        live.append(converter)
                row, alive = converter.run(task, timeout)
                if not alive:
                    converter = None
                with lock:
                    rows[i] = row
                    if on_row is not None:
                        on_row(row)
        finally:
            if converter is not None:
                converter.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(min(jobs, max(len(tasks), 1)))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:  # Ctrl-C: no converter finishes a file after the run has stopped
        while not pending.empty():
            pending.get_nowait()
        with lock:
            for converter in live:
                converter.close()
        raise
    return [row for row in rows if row is not None]


# --------------------------------------------------------------------------- Dask


_pool = threading.local()
_all_converters: list[Converter] = []
_pool_lock = threading.Lock()


def convert_on_worker(task: Task, timeout: float) -> Row:
    """The Dask task: convert on this worker thread's own converter process, under the time limit."""
    converter = getattr(_pool, "converter", None)
    if converter is None or converter.proc.poll() is not None:
        converter = _pool.converter = Converter()
        with _pool_lock:
            _all_converters.append(converter)
    row, alive = converter.run(task, timeout)
    if not alive:
        _pool.converter = None
    return row


def close_worker_converters() -> int:
    """Stop every converter this process started for Dask tasks (run on each worker at the end)."""
    with _pool_lock:
        converters = list(_all_converters)
        _all_converters.clear()
    for converter in converters:
        converter.close()
    return len(converters)


atexit.register(close_worker_converters)


def run_dask(tasks: Sequence[Task], *, scheduler: str | Any, timeout: float = DEFAULT_TIMEOUT,
             on_row: Callable[[Row], None] | None = None) -> list[Row]:
    """Convert ``tasks`` on a Dask distributed cluster (``scheduler``: an address or a ``Client``)."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
        raise ParameterError("--scheduler needs dask[distributed]: pip install 'dask[distributed]'") from exc
    own = not isinstance(scheduler, Client)
    client: Any
    try:
        client = Client(scheduler, timeout="20s") if own else scheduler  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise ParameterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    try:
        futures = {client.submit(convert_on_worker, task, timeout, pure=False, key=f"gpucredit-{i}-{task.input.name}"): i
                   for i, task in enumerate(tasks)}
        rows: list[Row | None] = [None] * len(tasks)
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            i = futures[future]
            try:
                row = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker or a cluster error fails this file only
                row = _failed(tasks[i], f"the Dask task failed: {type(exc).__name__}: {exc}", 0.0)
            rows[i] = row
            if on_row is not None:
                on_row(row)
        client.run(close_worker_converters)
        return [row for row in rows if row is not None]
    finally:
        if own:
            client.close()


def run_batch(tasks: Sequence[Task], *, jobs: int = 1, scheduler: str | Any | None = None,
              timeout: float = DEFAULT_TIMEOUT, on_row: Callable[[Row], None] | None = None) -> list[Row]:
    """Convert every task locally (``jobs`` processes) or on Dask (``scheduler``); never raises per file."""
    if timeout <= 0:
        raise ParameterError("--timeout must be a positive number of seconds")
    for folder in {task.output.parent for task in tasks}:
        make_folder(folder)
    if scheduler is not None:
        return run_dask(tasks, scheduler=scheduler, timeout=timeout, on_row=on_row)
    return run_local(tasks, jobs=jobs, timeout=timeout, on_row=on_row)


if __name__ == "__main__":
    # serve from the importable module, so the rows pickle as engine.batch.Row, not __main__.Row
    from engine.batch import _serve as serve

    serve()
