"""The summary of a batch: one :class:`Row` per input, written as ``.xlsx``, ``.csv`` or ``.json``, or
handed to a notebook as a pandas DataFrame (``docs/batch.md`` lists the columns)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ParameterError
from engine.report.metric_table import METRICS
from engine.xlsx.save import check_output, make_folder, write_atomic

if TYPE_CHECKING:
    import pandas as pd

SUMMARY_SUFFIXES = (".xlsx", ".csv", ".json")


class RowStatus(StrEnum):
    """How one file of a batch went."""

    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True)
class Row:
    """One line of the batch summary; ``before`` and ``after`` hold every metric of the one metric table
    (``engine/report/metric_table.py``) as ``--json`` gives it (:meth:`flat` spreads them into columns)."""

    file: str
    status: RowStatus
    error: str = ""
    preset: str = ""
    mode: str = ""
    rent_cells: str = ""
    money_unit: str | None = None
    security: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    headline: str = ""
    warnings: str = ""
    reconciled_share: float | None = None  # share of Excel's cached values the engine reproduced
    unverified: int | None = None  # cells the rent reaches that did not reconcile (accepted)
    output: str = ""
    memo: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is RowStatus.OK

    @property
    def reason(self) -> str:
        """Why the file failed, without the file name the error starts with ("" for a converted file)."""
        prefix = f"{Path(self.file).name}: "
        return self.error[len(prefix):] if self.error.startswith(prefix) else self.error

    def metric(self, state: str, key: str) -> Any:
        """One metric of the ``before`` or ``after`` state, None where it is n/a or the file failed."""
        return (getattr(self, state) or {}).get(key)

    def flat(self) -> dict[str, Any]:
        """The row as the summary's columns: each metric as ``KEY_before`` and ``KEY_after``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("before", "after"):
                continue
            value = getattr(self, f.name)
            out[f.name] = str(value) if f.name == "status" else value
            if f.name == "security":
                for state in ("before", "after"):
                    out.update({f"{key}_{state}": self.metric(state, key) for key in METRIC_KEYS})
        return out


METRIC_KEYS = tuple(metric.key for metric in METRICS)
COLUMNS = tuple(Row(file="", status=RowStatus.OK).flat())


def check_summary_path(path: Path, *, force: bool) -> None:
    """Before a batch starts: the summary has a known format and replaces an earlier one only with ``force``.

    Its folder is created if missing (:func:`engine.xlsx.save.make_folder`), like the outputs' folder.
    """
    if path.suffix.lower() not in SUMMARY_SUFFIXES:
        raise ParameterError(f"--summary {path.name}: use a .xlsx, .csv or .json file")
    make_folder(path.parent if str(path.parent) else Path("."), what="summary folder")
    check_output(path, force=force, what="summary file")


def write_summary(rows: Iterable[Row], path: Path, *, force: bool = True) -> None:
    """The summary table as ``.csv``, ``.json`` or ``.xlsx`` (by the file's suffix), written atomically."""
    rows = list(rows)
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = json.dumps([row.flat() for row in rows], indent=1).encode()
    elif suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(row.flat() for row in rows)
        data = buffer.getvalue().encode()
    elif suffix == ".xlsx":
        data = _summary_xlsx(rows)
    else:
        raise ParameterError(f"--summary {path.name}: use a .xlsx, .csv or .json file")
    write_atomic(data, path, force=force, what="summary file")


def summary_frame(rows: Iterable[Row]) -> pd.DataFrame:
    """The summary as a pandas DataFrame: one row per input in input order, the columns of :data:`COLUMNS`."""
    import pandas as pd

    return pd.DataFrame([row.flat() for row in rows], columns=list(COLUMNS))


_WIDTHS = {"file": 40, "error": 80, "rent_cells": 24, "headline": 60, "output": 40}


def _summary_xlsx(rows: list[Row]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.worksheets[0]
    ws.title = "Batch summary"
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        flat = row.flat()
        ws.append([flat[name] for name in COLUMNS])
    ws.freeze_panes = "A2"
    for i, name in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(name, max(len(name) + 2, 10))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
