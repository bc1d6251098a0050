"""The engine evaluating on a thread of its own while Python does other work (engine.formula.running)."""

from __future__ import annotations

import threading

import formualizer as fz
import pytest

from engine.errors import EvaluationError
from engine.formula.running import run


def _chain(rows: int) -> fz.Workbook:
    """A1 = 1, each cell below = the one above + 1: A{rows} evaluates to rows."""
    book = fz.Workbook()
    sheet = book.sheet("S")
    sheet.set_value(1, 1, 1.0)
    sheet.set_formulas_batch(2, 1, rows - 1, 1, [[f"=A{r - 1}+1"] for r in range(2, rows + 1)])
    return book


def _heavy() -> fz.Workbook:
    """Many cells each multiplying two 20,000-cell columns: seconds of work, for a time limit to stop."""
    book = fz.Workbook()
    sheet = book.sheet("S")
    sheet.set_values_batch(1, 1, 20_000, 1, [[float(r)] for r in range(1, 20_001)])
    sheet.set_formulas_batch(1, 2, 2_000, 1, [[f"=SUMPRODUCT($A$1:$A$20000*$A$1:$A$20000)+{r}"] for r in range(2_000)])
    return book


def test_the_work_meanwhile_runs_on_another_thread_and_the_values_are_the_engines():
    book = _chain(5_000)
    threads = []
    run(book, 60.0, "x.xlsx", lambda: threads.append(threading.current_thread()))
    assert len(threads) == 1 and threads[0] is not threading.current_thread()  # the engine stays on this one
    assert book.get_value("S", 5_000, 1) == 5_000.0  # 1 + 4,999 steps of 1


def test_work_that_fails_meanwhile_stops_the_engine_and_leaves_it_usable():
    book = _chain(5_000)

    def failing() -> None:
        raise KeyError("meanwhile")

    with pytest.raises(KeyError, match="meanwhile"):
        run(book, 60.0, "x.xlsx", failing)
    book.set_value("S", 1, 1, 10.0)
    run(book, 60.0, "x.xlsx")  # not left cancelled: the next evaluation runs to the end
    assert book.get_value("S", 5_000, 1) == 5_009.0  # 10 + 4,999


def test_an_engine_failure_is_raised_once_the_work_meanwhile_is_done():
    done = []
    with pytest.raises(EvaluationError, match="took longer than the 0.05 s limit"):
        run(_heavy(), 0.05, "x.xlsx", lambda: done.append(True))
    assert done == [True]


def test_the_switch_interval_is_quick_during_the_work_and_put_back_after_even_when_it_fails():
    import sys

    before = sys.getswitchinterval()
    during = []
    run(_chain(2_000), 60.0, "x.xlsx", lambda: during.append(sys.getswitchinterval()))
    assert during == [pytest.approx(0.0001)] and sys.getswitchinterval() == before  # Python keeps it in microseconds

    def failing() -> None:
        raise KeyError("meanwhile")

    with pytest.raises(KeyError):
        run(_chain(2_000), 60.0, "x.xlsx", failing)
    assert sys.getswitchinterval() == before
