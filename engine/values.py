"""Cell values as gpucredit passes them between modules: float, bool, str, ExcelError or None."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 (Excel's 1900 leap-year quirk after Feb)
EXCEL_EPOCH_1904 = dt.date(1904, 1, 1)

ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
               "#SPILL!", "#CALC!", "#CIRC!")


@dataclass(frozen=True)
class ExcelError:
    """An Excel error value such as ``#DIV/0!``."""

    code: str

    def __str__(self) -> str:
        return self.code


CellValue = float | bool | str | ExcelError | None


def date_to_serial(value: dt.date, *, date1904: bool = False) -> float:
    """Excel serial number of a date or datetime (days, fraction for the time of day)."""
    epoch = EXCEL_EPOCH_1904 if date1904 else EXCEL_EPOCH
    if isinstance(value, dt.datetime):
        base = dt.datetime.combine(epoch, dt.time())
        delta = value.replace(tzinfo=None) - base
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400e6
    return float((value - epoch).days)


def serial_to_date(serial: float, *, date1904: bool = False) -> dt.date:
    """Calendar date of an Excel serial number (the time of day is dropped)."""
    epoch = EXCEL_EPOCH_1904 if date1904 else EXCEL_EPOCH
    return epoch + dt.timedelta(days=int(serial // 1))
