"""Running the engine's recalculation: under a time limit, and side by side with Python work.

The engine releases the GIL while it evaluates, so a Python thread keeps its speed meanwhile (97 %
of it, measured on the 1,200-month variant) and the evaluation does not slow down. :func:`run` with
``meanwhile`` uses that second core: work that does not touch the engine runs on a thread of its own
while the engine evaluates (the template's first evaluation: reading Excel's cached values from the
file, searching the formulas for functions the engine lacks). That work is given the package, never
the engine: a value read half-way through a recalculation would be silently wrong.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import formualizer as fz

from engine.errors import EvaluationError

# What the engine raises when it cannot load or evaluate a workbook (its own classes are not ValueErrors).
ENGINE_FAILURES: tuple[type[BaseException], ...] = (
    OSError, ValueError, RuntimeError, fz.ExcelEvaluationError, fz.FormualizerHostError, fz.ParserError,
    fz.InspectionError)


class _Switches:
    """Python's switch interval at 0.1 ms while a :func:`run` with work alongside is in progress (in any
    thread), back to what it was once the last ends. The calling thread needs the GIL for a moment to
    return from the engine: at the default 5 ms between forced switches, the work alongside would hold
    it up to that long."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs = 0
        self._saved = sys.getswitchinterval()

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._runs == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(0.0001)
            self._runs += 1
        try:
            yield
        finally:
            with self._lock:
                self._runs -= 1
                if self._runs == 0:
                    sys.setswitchinterval(self._saved)


_quick_switches = _Switches()


def run(book: Any, time_limit_s: float | None, path: str | Path | None,
        meanwhile: Callable[[], None] | None = None) -> None:
    """``evaluate_all`` under the time limit; engine failures become EvaluationError.

    With ``meanwhile``, ``meanwhile()`` runs on another thread while the engine evaluates on this one;
    both are finished when this returns. ``meanwhile`` must not touch ``book``. When it raises, the
    evaluation is cancelled and its exception goes on; when the evaluation fails, its EvaluationError
    is raised once ``meanwhile`` is done. The engine stays on the calling thread: its memory is then
    allocated where it always is (evaluated on a thread of its own, the 1,200-month conversion peaked
    8 MB higher).
    """
    if meanwhile is None:
        _evaluate(book, time_limit_s, path)
        return
    failed: list[BaseException] = []

    def work() -> None:
        try:
            meanwhile()
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread, which raises it
            failed.append(exc)
            book.cancel()  # no use finishing an evaluation whose caller fails

    thread = threading.Thread(target=work, name="gpucredit-meanwhile", daemon=True)
    try:
        with _quick_switches():
            thread.start()
            try:
                _evaluate(book, time_limit_s, path)
            finally:
                thread.join()
    except EvaluationError:
        if not failed:
            raise
    if failed:
        book.reset_cancel()  # the evaluation may have finished before the cancel: the next one must not see it
        raise failed[0]


def _evaluate(book: Any, time_limit_s: float | None, path: str | Path | None) -> None:
    try:
        with _time_limit(book, time_limit_s):
            book.evaluate_all()
    except ENGINE_FAILURES as exc:
        if "CANCELLED" in str(exc):
            book.reset_cancel()
            raise EvaluationError(f"recalculating the workbook took longer than the {time_limit_s or 0:g} s "
                                  "limit; raise it with --max-eval-seconds if the model is that large",
                                  path=path) from exc
        raise EvaluationError(f"the formula engine could not evaluate the workbook: {exc}", path=path) from exc


class _Watchdog:
    """One daemon thread per process that cancels the engine's recalculation past its deadline.

    The engine runs without the GIL and checks for cancellation as it goes (its own deadline is only
    checked between dependency layers, so one wide layer could overrun it). Starting a thread per
    recalculation costs more than a small model's incremental recalculation, so one thread waits for
    deadlines instead.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._jobs: dict[int, tuple[Any, float]] = {}  # by token: (book, deadline)
        self._next = 0
        self._thread: threading.Thread | None = None

    def watch(self, book: Any, seconds: float) -> int:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="gpucredit-watchdog", daemon=True)
                self._thread.start()
            self._next += 1
            self._jobs[self._next] = (book, time.monotonic() + seconds)
            self._cond.notify()
            return self._next

    def release(self, token: int) -> None:
        with self._cond:
            self._jobs.pop(token, None)
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for token, (book, deadline) in list(self._jobs.items()):
                    if deadline <= now:
                        book.cancel()
                        del self._jobs[token]
                soonest = min((deadline for _book, deadline in self._jobs.values()), default=None)
                self._cond.wait(None if soonest is None else max(soonest - now, 0.0))


_WATCHDOG = _Watchdog()


@contextmanager
def _time_limit(book: Any, seconds: float | None) -> Iterator[None]:
    """Cancel the engine's recalculation after ``seconds`` (see :class:`_Watchdog`)."""
    if seconds is None:
        yield
        return
    token = _WATCHDOG.watch(book, seconds)
    try:
        yield
    finally:
        _WATCHDOG.release(token)
