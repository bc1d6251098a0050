"""Writing small workbooks that look as Excel saves them: formulas *with* cached values (not a test module).

xlsxwriter writes the cells, each formula with the value the test computed for it independently
(by hand, numpy or numpy-financial); :func:`write_book` then edits the package for what
xlsxwriter does not write: iterative-calculation settings, What-If data tables, external links
with the values Excel stored for them, and the member cells of legacy array formulas.

A sheet is a dict from an A1 address to one of:

- a number, text, bool or :class:`datetime.date` — a constant (dates with a date format);
- :class:`F` — a formula and its cached value;
- :class:`Array` — a legacy (Ctrl+Shift+Enter) array formula over a range, with the value of every
  cell of the range (Excel caches each member);
- :class:`Dynamic` — a dynamic-array formula (Excel 365) with the values it spills.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell

FIXED_TIME = dt.datetime(2026, 11, 30, 12, 0, 0)  # docProps dates: a fixed instant, so files are reproducible


@dataclass(frozen=True)
class F:
    """A formula (without ``=``) and the value Excel would cache for it."""

    formula: str
    value: Any


@dataclass(frozen=True)
class Array:
    """A legacy array formula entered over ``ref`` with each cell's value (rows of values)."""

    formula: str
    ref: str
    values: list[list[Any]]


@dataclass(frozen=True)
class Dynamic:
    """A dynamic-array formula with the values it spills (rows of values)."""

    formula: str
    values: list[list[Any]]


@dataclass(frozen=True)
class DataTable:
    """A What-If data table: ``ref`` the result cells (their values in the sheet as numbers),
    ``r1`` (and ``r2`` for two variables) the input cells, ``row_input`` for ``dtr``."""

    sheet: str
    ref: str
    r1: str
    r2: str | None = None
    row_input: bool = False


@dataclass(frozen=True)
class ExternalBook:
    """A linked workbook Excel stored values for: its file name and ``{sheet: {cell: value}}``."""

    target: str
    sheets: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Book:
    """Everything :func:`write_book` writes."""

    sheets: dict[str, dict[str, Any]]
    names: dict[str, str] = field(default_factory=dict)  # defined name -> "Sheet!$A$1"
    iterate: tuple[int, float] | None = None  # iterative calculation: (iterateCount, iterateDelta)
    tables: tuple[DataTable, ...] = ()
    external: tuple[ExternalBook, ...] = ()
    widths: dict[str, dict[int, float]] = field(default_factory=dict)
    hidden_rows: dict[str, tuple[int, ...]] = field(default_factory=dict)  # sheet -> 1-based rows
    calculated: bool = True  # False: write as xlsxwriter does, 0 cached for every formula
    app: str = "gpucredit test corpus (xlsxwriter)"


def write_book(path: Path, book: Book) -> Path:
    """Write ``book`` to ``path`` (reproducibly: the same book gives the same bytes)."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    wb.set_properties({"created": FIXED_TIME, "author": "gpucredit", "comments": book.app})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    bold = wb.add_format({"bold": True})
    for name, cells in book.sheets.items():
        ws = wb.add_worksheet(name)
        for col, width in book.widths.get(name, {0: 34}).items():
            ws.set_column(col, col, width)
        for row in book.hidden_rows.get(name, ()):
            ws.set_row(row - 1, None, None, {"hidden": True})
        for ref, spec in cells.items():
            _write(ws, ref, spec, date_fmt, bold, book.calculated)
    for name, target in book.names.items():
        wb.define_name(name, "=" + target)
    wb.close()
    _patch(path, book)
    return path


def _write(ws: Any, ref: str, spec: Any, date_fmt: Any, bold: Any, calculated: bool) -> None:
    row, col = xl_cell_to_rowcol(ref)
    if isinstance(spec, F):
        fmt = date_fmt if isinstance(spec.value, dt.date) else None
        ws.write_formula(row, col, "=" + spec.formula, fmt, _cached(spec.value) if calculated else 0)
    elif isinstance(spec, Array):
        first, last = spec.ref.split(":") if ":" in spec.ref else (spec.ref, spec.ref)
        (r1, c1), (r2, c2) = xl_cell_to_rowcol(first), xl_cell_to_rowcol(last)
        ws.write_array_formula(r1, c1, r2, c2, "{=" + spec.formula + "}", None,
                               _cached(spec.values[0][0]) if calculated else 0)
        for i in range(r2 - r1 + 1):
            for j in range(c2 - c1 + 1):
                if (i, j) != (0, 0) and calculated:
                    _constant(ws, r1 + i, c1 + j, spec.values[i][j], date_fmt)
    elif isinstance(spec, Dynamic):
        rows, cols = len(spec.values), len(spec.values[0])
        ws.write_dynamic_array_formula(row, col, row + rows - 1, col + cols - 1, "=" + spec.formula, None,
                                       _cached(spec.values[0][0]) if calculated else 0)
        for i in range(rows):
            for j in range(cols):
                if (i, j) != (0, 0) and calculated:
                    _constant(ws, row + i, col + j, spec.values[i][j], date_fmt)
    elif isinstance(spec, str) and spec.startswith("#"):
        ws.write_string(row, col, spec[1:], bold)  # "#Heading": a bold heading
    else:
        _constant(ws, row, col, spec, date_fmt)


def _constant(ws: Any, row: int, col: int, value: Any, date_fmt: Any) -> None:
    if isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), date_fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value)
    elif isinstance(value, str):
        ws.write_string(row, col, value)
    elif value is not None:
        raise TypeError(f"cannot write {value!r}")


def _cached(value: Any) -> Any:
    if isinstance(value, dt.date):
        return (dt.datetime.combine(value, dt.time()) - dt.datetime(1899, 12, 30)).days
    return value


# -- package edits ------------------------------------------------------------------------------------
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _patch(path: Path, book: Book) -> None:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        parts = {info.filename: zf.read(info.filename) for info in infos}
    workbook = parts["xl/workbook.xml"].decode()
    if book.iterate is not None:
        count, delta = book.iterate
        workbook = re.sub(r"<calcPr [^>]*/>", f'<calcPr calcId="191029" iterate="1" iterateCount="{count}" '
                          f'iterateDelta="{delta!r}"/>', workbook)
    elif book.calculated:
        workbook = re.sub(r"<calcPr [^>]*/>", '<calcPr calcId="191029"/>', workbook)  # as Excel saves it
    sheet_parts = _sheet_parts(parts, workbook)
    for name, cells in book.sheets.items():  # xlsxwriter writes a formula's TRUE as the text "True"
        bools = [ref for ref, spec in cells.items() if book.calculated and (
            isinstance(spec, F) and isinstance(spec.value, bool)
            or isinstance(spec, (Array, Dynamic)) and isinstance(spec.values[0][0], bool))]
        xml = parts[sheet_parts[name]].decode()
        for ref in bools:
            first = ref.split(":")[0]
            xml = re.sub(rf'<c r="{first}"([^>]*)>(<f[^>]*>.*?</f>|<f[^>]*/>)<v>(True|False|TRUE|FALSE|1|0)</v>',
                         lambda mm: _boolean_cell(first, mm), xml)
        parts[sheet_parts[name]] = xml.encode()
    for table in book.tables:
        part = sheet_parts[table.sheet]
        first = table.ref.split(":")[0]
        attrs = (f'ref="{table.ref}" dt2D="{1 if table.r2 else 0}" dtr="{1 if table.row_input else 0}" '
                 f'r1="{table.r1}"' + (f' r2="{table.r2}"' if table.r2 else ""))
        xml = parts[part].decode()
        xml, n = re.subn(rf'(<c r="{first}"[^>]*?)(/>|>(<v>[^<]*</v>)</c>)',
                         lambda mm: f'{mm.group(1)}><f t="dataTable" {attrs}/>{mm.group(3) or ""}</c>', xml)
        assert n == 1, f"data table master {first} not found"
        parts[part] = xml.encode()
    if book.external:
        workbook = _external(parts, workbook, book.external)
    parts["xl/workbook.xml"] = workbook.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)


def _boolean_cell(ref: str, found: re.Match[str]) -> str:
    attrs = re.sub(r' t="[a-z]+"', "", found.group(1))
    value = 1 if found.group(3) in ("True", "TRUE", "1") else 0
    return f'<c r="{ref}"{attrs} t="b">{found.group(2)}<v>{value}</v>'


def _sheet_parts(parts: Mapping[str, bytes], workbook: str) -> dict[str, str]:
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels))
    targets.update({rid: target for target, rid in re.findall(r'Target="([^"]+)"[^>]*Id="(rId\d+)"', rels)})
    found = {}
    for name, rid in re.findall(r'<sheet name="([^"]+)" sheetId="\d+" r:id="(rId\d+)"', workbook):
        found[name.replace("&amp;", "&")] = "xl/" + targets[rid]
    return found


def _external(parts: dict[str, bytes], workbook: str, books: tuple[ExternalBook, ...]) -> str:
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    types = parts["[Content_Types].xml"].decode()
    refs = []
    for k, ext in enumerate(books, start=1):
        names = "".join(f'<sheetName val="{name}"/>' for name in ext.sheets)
        data = []
        for sheet_id, cells in enumerate(ext.sheets.values()):
            rows: dict[int, list[str]] = {}
            for ref, value in cells.items():
                r, _c = xl_cell_to_rowcol(ref)
                kind = ' t="str"' if isinstance(value, str) else ""
                rows.setdefault(r + 1, []).append(f'<cell r="{ref}"{kind}><v>{value}</v></cell>')
            body = "".join(f'<row r="{r}">{"".join(cs)}</row>' for r, cs in sorted(rows.items()))
            data.append(f'<sheetData sheetId="{sheet_id}">{body}</sheetData>')
        parts[f"xl/externalLinks/externalLink{k}.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><externalLink xmlns="{NS}" xmlns:r="{REL}">'
            f'<externalBook r:id="rId1"><sheetNames>{names}</sheetNames><sheetDataSet>{"".join(data)}'
            "</sheetDataSet></externalBook></externalLink>").encode()
        parts[f"xl/externalLinks/_rels/externalLink{k}.xml.rels"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.'
            f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/externalLinkPath" '
            f'Target="{ext.target}" TargetMode="External"/></Relationships>').encode()
        rels = rels.replace("</Relationships>", f'<Relationship Id="rIdX{k}" Type="{REL}/externalLink" '
                            f'Target="externalLinks/externalLink{k}.xml"/></Relationships>')
        types = types.replace("</Types>", f'<Override PartName="/xl/externalLinks/externalLink{k}.xml" '
                              'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
                              'externalLink+xml"/></Types>')
        refs.append(f'<externalReference r:id="rIdX{k}"/>')
    parts["xl/_rels/workbook.xml.rels"] = rels.encode()
    parts["[Content_Types].xml"] = types.encode()
    block = "<externalReferences>" + "".join(refs) + "</externalReferences>"
    return workbook.replace("<definedNames>", block + "<definedNames>") if "<definedNames>" in workbook else \
        workbook.replace("<calcPr", block + "<calcPr")


def cell(row: int, col: int) -> str:
    """A1 address of a 1-based row and column."""
    return xl_rowcol_to_cell(row - 1, col - 1)
