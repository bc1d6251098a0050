"""What the command line prints: tables on stdout, one-line errors on stderr.

Anything that comes from the user or a file (file names, labels, error messages) is printed with
``markup=False`` or inside a :class:`rich.text.Text`, so ``deal [v2].xlsx`` prints as itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from engine.errors import GpuCreditError
from engine.refs import format_range

out_console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
debug = {"on": False}

INTERNAL_ERROR = 3  # a gpucredit bug, not a problem with the input (docs/architecture.md, "Errors")
ELLIPSIS = "…"

# The engine's messages name the Python API's arguments; on the command line the flag is meant.
_CLI_WORDS = {"force=True": "--force"}


def cli_text(message: str) -> str:
    """An engine message in command-line words (``pass force=True`` → ``pass --force``)."""
    for api, flag in _CLI_WORDS.items():
        message = message.replace(api, flag)
    return message


def error_line(message: str) -> None:
    """``error: …`` on stderr, as it is (no markup)."""
    err_console.print(f"error: {cli_text(message)}", markup=False)


def guard(fn: Callable[[], None]) -> None:
    """Run a command: a :class:`GpuCreditError` is one line and exit 1, anything else a bug and exit 3."""
    try:
        fn()
    except GpuCreditError as exc:
        if debug["on"]:
            raise
        error_line(exc.one_line())
        raise typer.Exit(1) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - the one place a bug becomes a message instead of a traceback
        if debug["on"]:
            raise
        err_console.print(f"error: {failure(exc)}; please report it with the output of `gpucredit --debug ...`",
                          markup=False)
        raise typer.Exit(INTERNAL_ERROR) from None


def failure(exc: BaseException) -> str:
    """The one line printed after ``error:`` for ``exc`` (also ``inspect --json``'s ``error``)."""
    if isinstance(exc, GpuCreditError):
        return cli_text(exc.one_line())
    return "internal error in gpucredit (a bug, not a problem with your file): " + " ".join(
        f"{type(exc).__name__}: {exc}".split())[:300]


def fmt(x: float | None, spec: str) -> str:
    return "–" if x is None else format(x, spec)


def said(text: str) -> None:
    """One line of plain text on stdout."""
    out_console.print(text, markup=False)


def warnings(name: str, found: Sequence[str]) -> None:
    """``warning: FILE: …`` on stderr, one line each."""
    for warning in found:
        err_console.print(f"warning: {name}: {warning}", markup=False)


# -------------------------------------------------------------------------------- convert

def conversion(result: Any) -> None:
    """The period table, the credit metrics (the one metric table), the headline and the security."""
    from engine.report.metric_table import METRICS, format_value, shown, unit_label

    credit = result.credit
    assert credit is not None
    money = credit.money.label
    table = Table(title=Text(f"{result.input.name} → {result.output.name} (preset {result.preset}, "
                             f"{result.mode.value} mode; money in {money})"))
    for col in ("period end", "rent before", "rent after", "DSCR before", "DSCR after"):
        table.add_column(col, justify="right")
    for p, end in enumerate(result.grid.ends):  # Text cells: rich reads no markup in them (a tenth faster)
        table.add_row(*map(Text, (end.isoformat(), fmt(float(result.rent_before[p]), ",.2f"),
                                  fmt(float(result.rent_after[p]), ",.2f"), fmt(result.dscr_before[p], ".2f"),
                                  fmt(result.dscr_after[p], ".2f"))))
    out_console.print(table)
    summary = Table(title="credit metrics")
    for col, justify in (("metric", "left"), ("unit", "left"), ("before", "right"), ("after", "right")):
        summary.add_column(col, justify=justify)  # type: ignore[arg-type]
    for metric in METRICS:
        if shown(metric, dscr_check=credit.dscr_check, collateral=credit.collateral_shown):
            summary.add_row(metric.label, unit_label(metric, money),
                            *(format_value(metric, mx) for mx in (result.metrics_before, result.metrics_after)))
    out_console.print(summary)
    said(result.headline)
    said(f"Security: {credit.security.kind.value} — {credit.security.note}")
    for note in result.notes:  # re-sized debt, external links (issue 18)
        said(f"note: {note}")
    memo = f"; memo {result.memo}" if result.memo is not None else ""
    said(f"wrote {result.output} ({len(result.changed_cells)} rent cells rewired, "
         f"{result.formulas_written} formula values cached){memo}")


# -------------------------------------------------------------------------------- inspect

def detection(found: Any) -> None:
    table = Table(title=Text(f"{found.path.name}: what detection found"))
    for col in ("field", "where", "confidence", "how"):
        table.add_column(col)
    for name, item in found.findings.items():
        table.add_row(*(Text(str(v)) for v in (name, item.where, item.confidence, item.how)))
    out_console.print(table)
    for title, items in (("rent candidates", found.rent_candidates), ("other income lines", found.revenue_lines)):
        for c in items:
            said(f"{title}: '{c.label}' at {format_range(c.cells)} — {c.note}")
    for link in found.external_links:
        said(f"linked workbook [{link['index']}] {link['workbook']}: read by {link['formulas']} formula(s), "
             f"e.g. {link['cells'][0]} (Excel's stored values are used)")


def reconciliation(report: dict[str, Any]) -> None:
    if report["share"] is None:  # nothing checked is not a pass
        said(f"reconciliation: {report['note']}")
    else:
        said(f"reconciliation: {report['reproduced']:,} of {report['total']:,} cached values reproduced "
             f"({report['share']:.1%})")
    for key, what in (("environment", "kept Excel's value (CELL, INFO, NOW, TODAY, RAND)"),
                      ("solver_tolerance", "within Excel's solver accuracy (IRR, XIRR, RATE: 1e-8)")):
        if report[key]["count"]:
            said(f"  {what}: {report[key]['count']:,}, e.g. {'; '.join(report[key]['cells'][:3])}")
    for cause, group in report["causes"].items():
        said(f"  {cause}: {group['count']:,}, e.g. {'; '.join(group['cells'][:3])}")


# -------------------------------------------------------------------------------- batch

def shorten(name: str, width: int) -> str:
    """``name`` in at most ``width`` characters, cut from the middle (the ends tell files apart)."""
    if len(name) <= width:
        return name
    head = max((width - 1) * 2 // 5, 1)
    tail = max(width - 1 - head, 1)
    return name[:head] + ELLIPSIS + name[-tail:]


def distinct_names(files: Sequence[str], width: int) -> list[str]:
    """Short names for the batch table that still tell every file apart.

    The file's own name where those differ, else its path as given; each cut from the middle to
    ``width``; where two cuts still coincide, both are shown whole (the table wraps them).
    """
    names = [Path(f).name for f in files]
    if len(set(names)) < len(names):
        names = list(files)
    short = [shorten(n, width) for n in names]
    seen: dict[str, int] = {}
    for s in short:
        seen[s] = seen.get(s, 0) + 1
    return [n if seen[s] > 1 else s for n, s in zip(names, short)]


_OVERHEAD = 12  # five columns without outer edges: four gaps of one and a padding of one each side
_FIXED = len("12.41→-0.65") + len("2027-09-30") + len("breaches")
_REASON_MIN = 16


def batch(rows: Sequence[Any]) -> None:
    """One line per file: a name that tells it apart, its metrics, and why it failed (wrapped in its column)."""
    width = out_console.width
    longest = max((len(Path(r.file).name) for r in rows), default=4)
    room = width - _OVERHEAD - _FIXED
    name_width = max(12, min(longest, room - max(_REASON_MIN, room // 2)))
    table = Table(title=f"batch: {sum(r.ok for r in rows)} converted, {sum(not r.ok for r in rows)} failed",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("file", no_wrap=True, min_width=min(name_width, longest))
    table.add_column("min DSCR", no_wrap=True, justify="right")
    table.add_column("1st breach", no_wrap=True)
    table.add_column("breaches", no_wrap=True, justify="right")
    table.add_column("result", overflow="fold", min_width=_REASON_MIN, ratio=1)
    for name, r in zip(distinct_names([r.file for r in rows], name_width), rows):
        dscr_after, breaches_after = r.metric("after", "min_dscr"), r.metric("after", "breaches")
        dscr = "–" if dscr_after is None else f"{fmt(r.metric('before', 'min_dscr'), '.2f')}→{dscr_after:.2f}"
        breaches = "–" if breaches_after is None else f"{r.metric('before', 'breaches')}→{breaches_after}"
        table.add_row(Text(name), dscr, r.metric("after", "first_breach") or "–", breaches,
                      Text("ok") if r.ok else Text(f"failed: {cli_text(r.reason)}", style="red"))
    out_console.print(table)
