"""Safe loading of a workbook package, cached-value writing and the atomic save."""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from engine.errors import (
    FileMissingError,
    NotAWorkbookError,
    OutputError,
    WorkbookTooLargeError,
)
from engine.package import REL_CALC_CHAIN, Package, m
from engine.recalc import Evaluation, check_values
from engine.sheetxml import SheetXml, array_members, set_cached_value
from engine.values import CellValue

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Limits:
    """Guards applied before any part is decompressed (zip-bomb defence)."""

    max_file_bytes: int = 200 * 2**20
    max_uncompressed_bytes: int = 2 * 2**30
    max_parts: int = 10_000
    max_ratio: float = 200.0  # uncompressed / compressed, for parts over 1 MiB


@dataclass
class Source:
    """A loaded input: its path, raw bytes and package."""

    path: Path
    data: bytes
    package: Package
    date1904: bool


def load(path: str | Path, limits: Limits = Limits()) -> Source:
    """Read ``path`` as an ``.xlsx``/``.xlsm`` package, refusing what is not one.

    The file is opened read-only and never written.
    """
    path = Path(path)
    if not path.is_file():
        raise FileMissingError("no such file", path=path)
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise WorkbookTooLargeError(f"file is {size:,} bytes, over the {limits.max_file_bytes:,}-byte limit", path=path)
    data = path.read_bytes()
    if data.startswith(OLE_MAGIC):
        raise NotAWorkbookError(
            "this is a legacy .xls workbook or a password-protected file; open it in Excel and save it as .xlsx "
            "(without a password)", path=path)
    if not data:
        raise NotAWorkbookError("the file is empty", path=path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise NotAWorkbookError(f"not an Excel .xlsx/.xlsm workbook ({exc}); save it as .xlsx", path=path) from exc
    _check_limits(infos, limits, path)
    names = {info.filename for info in infos}
    if "xl/workbook.bin" in names:
        raise NotAWorkbookError("this is a binary .xlsb workbook; open it in Excel and save it as .xlsx", path=path)
    if "[Content_Types].xml" not in names or "_rels/.rels" not in names:
        raise NotAWorkbookError("the zip holds no Excel workbook; save it as .xlsx", path=path)
    try:
        package = Package.from_bytes(data)
    except (zipfile.BadZipFile, OSError) as exc:
        raise NotAWorkbookError(f"the workbook package is damaged ({exc}); re-save it in Excel", path=path) from exc
    _refuse_dtds(package, path)
    try:
        workbook_root = package.xml(package.workbook_part())
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise NotAWorkbookError(f"the workbook package is damaged ({exc}); re-save it in Excel", path=path) from exc
    pr = workbook_root.find(m("workbookPr"))
    date1904 = pr is not None and pr.get("date1904") in ("1", "true")
    return Source(path=path, data=data, package=package, date1904=date1904)


def _refuse_dtds(package: Package, path: Path) -> None:
    """No workbook part needs a DTD; one that declares entities may be an XML bomb or an XXE probe."""
    for name in package.names():
        head = package.read(name)[:4096]
        if name.endswith((".xml", ".rels", ".vml")) and (b"<!DOCTYPE" in head or b"<!ENTITY" in head):
            raise WorkbookTooLargeError(
                f"part {name} declares a DTD or entities, which workbooks never need (possible XML bomb); "
                "refusing it", path=path)


def _check_limits(infos: list[zipfile.ZipInfo], limits: Limits, path: Path) -> None:
    if len(infos) > limits.max_parts:
        raise WorkbookTooLargeError(f"the package has {len(infos):,} parts, over the limit of {limits.max_parts:,}",
                                    path=path)
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > 2**20 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise WorkbookTooLargeError(
                f"part {info.filename} expands {info.file_size / max(info.compress_size, 1):,.0f}-fold "
                f"(limit {limits.max_ratio:g}); refusing a possible zip bomb", path=path)
    if total > limits.max_uncompressed_bytes:
        raise WorkbookTooLargeError(
            f"the package expands to {total:,} bytes, over the {limits.max_uncompressed_bytes:,}-byte limit", path=path)


def write_cached_values(package: Package, evaluation: Evaluation, *, path: Path) -> int:
    """Write every formula cell's value into its sheet part; returns the number written.

    Raises
    ------
    EvaluationError
        When a value cannot be trusted (see :func:`engine.recalc.check_values`); nothing
        is written then.
    """
    sheets = []
    values: dict[tuple[str, int, int], CellValue] = {}
    formulas: dict[tuple[str, int, int], str] = {}
    for entry in package.sheets():
        if not package.has(entry.part):
            continue
        sheet = SheetXml(package.xml(entry.part))
        cells = list(sheet.formula_cells())
        for row, col, c_el in cells:
            key = (entry.name, row, col)
            values[key] = evaluation.get(entry.name, row, col)
            formulas[key] = c_el.findtext(m("f")) or ""
        members = array_members(sheet)
        for row, col in members:
            values[(entry.name, row, col)] = evaluation.get(entry.name, row, col)
        sheets.append((entry, sheet, cells, members))
    check_values(values, formulas, path=path)
    for entry, sheet, cells, members in sheets:
        for row, col, c_el in cells:
            set_cached_value(c_el, values[(entry.name, row, col)])
        for row, col in members:
            set_cached_value(sheet.ensure_cell(row, col), values[(entry.name, row, col)])
        if cells:
            package.write_xml(entry.part, sheet.root)
    return len(formulas)


def prepare_for_recalc_on_open(package: Package) -> None:
    """Set full-calculation-on-load and drop ``calcChain.xml`` (Excel rebuilds it)."""
    wb_part = package.workbook_part()
    root = package.xml(wb_part)
    calc = root.find(m("calcPr"))
    if calc is None:
        from lxml import etree

        calc = etree.Element(m("calcPr"))
        anchor = None
        for tag in ("definedNames", "sheets"):
            anchor = root.find(m(tag))
            if anchor is not None:
                break
        (anchor.addnext(calc) if anchor is not None else root.append(calc))
    calc.set("fullCalcOnLoad", "1")
    package.write_xml(wb_part, root)
    for target in package.remove_relationships(wb_part, REL_CALC_CHAIN):
        package.delete(target)
        package.remove_content_type(target)


def write_atomic(data: bytes, out: Path, *, force: bool) -> None:
    """Write ``data`` to ``out`` through a temporary file in the same folder and a rename."""
    if out.exists() and not force:
        raise OutputError("output file exists; pass --force to overwrite it", path=out)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"output folder {folder} does not exist", path=out)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write in {folder}: {exc.strerror}", path=out) from exc
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the output normal permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        raise OutputError(f"could not write the output: {exc.strerror}", path=out) from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
