"""The only code that parses or builds cell references such as ``'Deal Model'!C7:L7``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from functools import lru_cache

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")
_LETTERS = tuple(chr(c) for c in range(ord("A"), ord("Z") + 1))


@lru_cache(maxsize=20_000)
@lru_cache(maxsize=16_384)
def column_letter(col: int) -> str:
    """1 → ``A``, 28 → ``AB``, 16384 → ``XFD`` (cached: writing a sheet asks for each cell's)."""
    if not 1 <= col <= 16_384:
        raise ValueError(f"column {col} is outside the Excel grid (1-16384)")
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = _LETTERS[rest] + letters
    return letters


@lru_cache(maxsize=20_000)
def column_index(letters: str) -> int:
    """``A`` → 1, ``ab`` → 28 (case-insensitive)."""
    col = 0
    for ch in letters.upper():
        if not "A" <= ch <= "Z":
            raise ValueError(f"not a column: {letters!r}")
        col = col * 26 + ord(ch) - 64
    return col
_PLAIN_SHEET = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True, order=True)
class CellRef:
    """One cell: sheet title, 1-based row and column."""

    sheet: str
    row: int
    col: int

    def __post_init__(self) -> None:
        if not 1 <= self.row <= 1_048_576 or not 1 <= self.col <= 16_384:
            raise ValueError(f"cell outside the Excel grid: row {self.row}, column {self.col}")

    @property
    def a1(self) -> str:
        """``C7`` (no sheet)."""
        return f"{column_letter(self.col)}{self.row}"

    @property
    def absolute(self) -> str:
        """``$C$7`` (no sheet)."""
        return f"${column_letter(self.col)}${self.row}"

    def __str__(self) -> str:
        return f"{quote_sheet(self.sheet)}!{self.a1}"

    def formula_ref(self, *, absolute: bool = True) -> str:
        """Reference usable inside a formula: ``'Deal Model'!$C$7``."""
        return f"{quote_sheet(self.sheet)}!{self.absolute if absolute else self.a1}"


def quote_sheet(name: str) -> str:
    """Quote a sheet name for a formula when Excel would (spaces, punctuation, digits first)."""
    if _PLAIN_SHEET.match(name) and not _CELL.match(name):
        return name
    return "'" + name.replace("'", "''") + "'"


def split_sheet(ref: str) -> tuple[str | None, str]:
    """``"'My Sheet'!C7:D9"`` → ``("My Sheet", "C7:D9")``; no sheet → ``(None, ref)``."""
    ref = ref.strip()
    if "!" not in ref:
        return None, ref
    sheet, _, addr = ref.rpartition("!")
    if sheet.startswith("'") and sheet.endswith("'") and len(sheet) >= 2:
        sheet = sheet[1:-1].replace("''", "'")
    if not sheet:
        raise ValueError(f"empty sheet name in reference {ref!r}")
    return sheet, addr


@lru_cache(maxsize=200_000)
def parse_cell(addr: str) -> tuple[int, int]:
    """``"C7"`` or ``"$C$7"`` → ``(7, 3)`` (row, column)."""
    match = _CELL.match(addr.strip())
    if match is None:
        raise ValueError(f"not a cell address: {addr!r}")
    return int(match.group(2)), column_index(match.group(1))


def parse_ref(ref: str, default_sheet: str | None = None) -> CellRef:
    """A single-cell reference with its sheet."""
    sheet, addr = split_sheet(ref)
    sheet = sheet or default_sheet
    if sheet is None:
        raise ValueError(f"reference {ref!r} names no sheet")
    row, col = parse_cell(addr)
    return CellRef(sheet, row, col)


def parse_range(ref: str, default_sheet: str | None = None) -> tuple[CellRef, ...]:
    """Every cell of a one-row or one-column range, in order (a single cell is a range of one).

    Raises
    ------
    ValueError
        When the range spans several rows *and* several columns.
    """
    sheet, addr = split_sheet(ref)
    sheet = sheet or default_sheet
    if sheet is None:
        raise ValueError(f"reference {ref!r} names no sheet")
    first, _, last = addr.partition(":")
    r1, c1 = parse_cell(first)
    r2, c2 = parse_cell(last) if last else (r1, c1)
    if r1 > r2 or c1 > c2:
        raise ValueError(f"range {ref!r} runs backwards")
    if r1 != r2 and c1 != c2:
        raise ValueError(f"range {ref!r} must be one row or one column")
    if r1 == r2:
        return tuple(CellRef(sheet, r1, c) for c in range(c1, c2 + 1))
    return tuple(CellRef(sheet, r, c1) for r in range(r1, r2 + 1))


def format_range(cells: tuple[CellRef, ...] | list[CellRef]) -> str:
    """The inverse of :func:`parse_range` for a contiguous row or column."""
    if not cells:
        raise ValueError("no cells")
    first, last = cells[0], cells[-1]
    if first == last:
        return str(first)
    return f"{quote_sheet(first.sheet)}!{first.a1}:{last.a1}"


MAX_ROW, MAX_COL = 1_048_576, 16_384
_AREA = re.compile(
    r"^(?:(?P<sheet>'(?:[^']|'')+'|[^'!:\[\]]+)!)?"
    r"(?:\$?(?P<c1>[A-Z]{1,3})\$?(?P<r1>\d+)(?::\$?(?P<c2>[A-Z]{1,3})\$?(?P<r2>\d+))?"
    r"|\$?(?P<cc1>[A-Z]{1,3}):\$?(?P<cc2>[A-Z]{1,3})"
    r"|\$?(?P<rr1>\d+):\$?(?P<rr2>\d+))$", re.IGNORECASE)


@dataclass(frozen=True)
class Area:
    """A rectangular range on one sheet (``sheet`` ``None``: the formula's own sheet)."""

    sheet: str | None
    first_row: int
    first_col: int
    last_row: int
    last_col: int

    def intersect(self, row: int, col: int) -> tuple[int, int] | None:
        """The cell a value slot in ``(row, col)`` reads from this area; ``None`` when there is none."""
        rows_ok = self.first_row <= row <= self.last_row
        cols_ok = self.first_col <= col <= self.last_col
        if self.first_col == self.last_col:
            return (row, self.first_col) if rows_ok else None
        if self.first_row == self.last_row:
            return (self.first_row, col) if cols_ok else None
        return (row, col) if rows_ok and cols_ok else None

    @property
    def single_cell(self) -> bool:
        return self.first_row == self.last_row and self.first_col == self.last_col


def parse_area(text: str) -> Area | None:
    """``'Cash Flow'!$B$2:$CX$2``, ``A:A`` or ``3:5`` as an :class:`Area`; ``None`` for anything else."""
    found = _AREA.match(text.strip())
    if found is None:
        return None
    sheet = found["sheet"]
    if sheet is not None and sheet.startswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    if found["c1"]:
        r1, c1 = int(found["r1"]), column_index(found["c1"])
        r2, c2 = (int(found["r2"]), column_index(found["c2"])) if found["c2"] else (r1, c1)
    elif found["cc1"]:
        r1, c1, r2, c2 = 1, column_index(found["cc1"]), MAX_ROW, column_index(found["cc2"])
    else:
        r1, c1, r2, c2 = int(found["rr1"]), 1, int(found["rr2"]), MAX_COL
    r1, r2, c1, c2 = min(r1, r2), max(r1, r2), min(c1, c2), max(c1, c2)
    if not (1 <= r1 and r2 <= MAX_ROW and 1 <= c1 and c2 <= MAX_COL):
        return None
    return Area(sheet, r1, c1, r2, c2)
