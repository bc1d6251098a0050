"""Safe loading of a workbook package: limits, well-formedness, hostile-input guards."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast
from pathlib import Path

from lxml import etree

from engine.errors import (
    FileMissingError,
    MalformedWorkbookError,
    NotAWorkbookError,
    UnsafeWorkbookError,
    WorkbookTooLargeError,
)
from engine.xlsx.links import (
    ExternalLinks,
    Links,
    check_external_names,
    external_index,
    external_links,
    require_stored_values,
)
from engine.xlsx.package import NS_MAIN, REL_STYLES, Package, m
from engine.xlsx.schema import (
    CHECKED_TAGS,
    C,
    F,
    WORKSHEET,
    XPATH_CHECKS,
    attribute_problem,
    cell_style_count,
    style_index,
    structure_problem,
)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted .xlsx is an OLE container holding these streams (MS-OFFCRYPTO 2.3.4); names are UTF-16LE.
_ENCRYPTION_STREAMS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
_MIB = 2**20


@dataclass(frozen=True)
class Limits:
    """What :func:`load` accepts; a file over any limit is refused before it is evaluated.

    The size, part and ratio limits are checked from the zip directory, before any part is
    decompressed (zip-bomb defence); the cell and formula limits while streaming each sheet
    once, so a sheet filled to row 1,048,576 is refused before it is held in memory.

    Attributes
    ----------
    max_file_bytes
        Size of the file on disk, bytes.
    max_uncompressed_bytes
        Sum of the parts' declared uncompressed sizes, bytes.
    max_parts
        Number of entries in the zip.
    max_ratio
        Uncompressed / compressed size, for any part over 1 MiB and for the whole package once
        it expands past 16 MiB (typical workbooks compress 5–20-fold).
    max_cells_per_sheet
        ``<c>`` elements in one worksheet part.
    max_formula_length
        Characters in one formula; 8,192 is Excel's own limit.
    max_eval_seconds
        Time the formula engine may take for one recalculation of the workbook, seconds
        (a conversion recalculates twice: the template, then the converted workbook).
    """

    max_file_bytes: int = 100 * _MIB
    max_uncompressed_bytes: int = 1024 * _MIB
    max_parts: int = 10_000
    max_ratio: float = 200.0
    max_cells_per_sheet: int = 1_000_000
    max_formula_length: int = 8_192
    max_eval_seconds: float = 300.0

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_uncompressed_bytes", "max_parts", "max_cells_per_sheet",
                     "max_formula_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1")
        if self.max_ratio < 1:
            raise ValueError("Limits.max_ratio must be at least 1")
        if not self.max_eval_seconds > 0:
            raise ValueError("Limits.max_eval_seconds must be positive")


@dataclass
class Source:
    """A loaded input: its path, raw bytes and package."""

    path: Path
    data: bytes
    package: Package
    date1904: bool
    external: ExternalLinks = field(default_factory=ExternalLinks)


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
        if any(stream in data for stream in _ENCRYPTION_STREAMS):
            raise NotAWorkbookError(
                "the workbook is password-protected (encrypted), so it cannot be read; open it in Excel, remove "
                "the password (File > Info > Protect Workbook > Encrypt with Password) and save it as .xlsx",
                path=path)
        raise NotAWorkbookError(
            "this is a legacy .xls workbook (or another OLE file, such as a password-protected one); open it "
            "in Excel and save it as .xlsx (without a password)", path=path)
    if not data:
        raise NotAWorkbookError("the file is empty", path=path)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        # NotImplementedError: a directory entry claiming a zip version or encryption Excel never writes
        raise NotAWorkbookError(f"not an Excel .xlsx/.xlsm workbook ({brief(exc)}); save it as .xlsx",
                                path=path) from exc
    _check_limits(infos, limits, path)
    names = {info.filename for info in infos}
    if "xl/workbook.bin" in names:
        raise NotAWorkbookError("this is a binary .xlsb workbook; open it in Excel and save it as .xlsx", path=path)
    if "[Content_Types].xml" not in names or "_rels/.rels" not in names:
        raise NotAWorkbookError("the zip holds no Excel workbook; save it as .xlsx", path=path)
    try:
        package = Package.from_bytes(data)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError) as exc:
        # a corrupt member: bad CRC, a broken deflate stream, a header that disagrees with the directory
        # (zipfile raises NotImplementedError for a local header claiming encryption or a new zip version)
        raise NotAWorkbookError(f"the workbook package is damaged ({brief(exc)}); re-save it in Excel",
                                path=path) from exc
    _refuse_dtds(package, path)
    damaged: Exception | None = None
    links: Links = {}
    sheet_names: dict[str, str] = {}
    try:
        workbook_part = package.workbook_part()
        workbook_root = package.xml(workbook_part)
        sheet_names = {entry.part: entry.name for entry in package.sheets()}
        links = external_links(package, workbook_part)
    except (KeyError, ValueError, etree.XMLSyntaxError) as exc:
        damaged = exc  # reported after the scan, which names the broken part when there is one
    most_used: tuple[int, str, str | None, str | None] = (0, "", None, None)  # style index, part, sheet
    readers: list[tuple[str, str, int]] = []
    for name in package.names():
        if name.endswith((".xml", ".rels")):
            used = _check_part(package, name, sheet_names.get(name), links, limits, path, readers)
            if used > most_used[0]:
                most_used = (used, name, sheet_names.get(name), None)
    if damaged is not None:
        raise NotAWorkbookError(f"the workbook package is damaged ({brief(damaged)}); re-save it in Excel",
                                path=path) from damaged
    if workbook_root.tag != m("workbook"):
        raise NotAWorkbookError(f"part {workbook_part} is not a SpreadsheetML workbook; save it as .xlsx",
                                path=path)
    structure = structure_problem(package)
    if structure is not None:
        raise _malformed(*structure, path)
    available = cell_style_count(package, package.related_part(workbook_part, REL_STYLES))
    if most_used[0] >= available:
        index, part, sheet, _ = most_used
        raise _malformed(part, f"style index {index}, beyond the {available} cell styles the workbook defines", path,
                         sheet=sheet, cell=_styled_cell(package.xml(part), index))
    if links:
        check_external_names(workbook_root, links, path)
        require_stored_values(package, links, readers, path)
    pr = workbook_root.find(m("workbookPr"))
    date1904 = pr is not None and pr.get("date1904") in ("1", "true")
    return Source(path=path, data=data, package=package, date1904=date1904,
                  external=ExternalLinks({k: v for k, (v, _part) in links.items()}, tuple(readers)))


def _refuse_dtds(package: Package, path: Path) -> None:
    """No workbook part needs a DTD; one that declares entities may be an XML bomb or an XXE probe."""
    for name in package.names():
        head = package.read(name)[:4096]
        if name.endswith((".xml", ".rels", ".vml")) and (b"<!DOCTYPE" in head or b"<!ENTITY" in head):
            raise UnsafeWorkbookError(
                f"part {name} declares a DTD or entities, which workbooks never need (possible XML bomb); "
                "refusing it", path=path)


def _check_limits(infos: list[zipfile.ZipInfo], limits: Limits, path: Path) -> None:
    if len(infos) > limits.max_parts:
        raise WorkbookTooLargeError(f"the package has {len(infos):,} parts, over the limit of {limits.max_parts:,}",
                                    path=path)
    total = compressed = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise NotAWorkbookError(f"part {info.filename[:80]} is encrypted inside the zip, which Excel never "
                                    "writes; re-save the workbook in Excel", path=path)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise NotAWorkbookError(f"part {info.filename[:80]} uses zip compression method {info.compress_type}, "
                                    "which Excel never writes; re-save the workbook in Excel", path=path)
        total += info.file_size
        compressed += info.compress_size
        if info.file_size > _MIB and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise WorkbookTooLargeError(
                f"part {info.filename} expands {info.file_size / max(info.compress_size, 1):,.0f}-fold "
                f"(limit {limits.max_ratio:g}); refusing a possible zip bomb", path=path)
    if total > limits.max_uncompressed_bytes:
        raise WorkbookTooLargeError(
            f"the package expands to {total:,} bytes, over the {limits.max_uncompressed_bytes:,}-byte limit", path=path)
    if total > 16 * _MIB and total > limits.max_ratio * max(compressed, 1):
        # many small parts, each under the per-part threshold, can still make a bomb together
        raise WorkbookTooLargeError(
            f"the package expands {total / max(compressed, 1):,.0f}-fold to {total:,} bytes "
            f"(limit {limits.max_ratio:g}); refusing a possible zip bomb", path=path)


_PARSE_WHOLE_BYTES = 8 * _MIB  # parts up to this size are parsed once, checked, and kept for later steps
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                               remove_blank_text=False)
_NS = {"m": NS_MAIN}


def _strings(root: etree._Element, query: str) -> list[str]:
    """The results of ``query`` as text. Plain strings: lxml's default "smart" strings, which know
    their element, cost a third of the checks' time on a large sheet."""
    found = root.xpath(query, namespaces=_NS, smart_strings=False)
    return [value if isinstance(value, str) else str(value) for value in found] if isinstance(found, list) else []


def _check_part(package: Package, name: str, sheet: str | None, links: Links, limits: Limits,
                path: Path, readers: list[tuple[str, str, int]]) -> int:
    """Check one XML part: well-formed, no DTD, attributes as Excel writes them, cells and formulas within
    the limits. A part of normal size is parsed once and its tree kept in ``package`` for the later
    steps; the checks run as XPath queries over it. A large part, or one that fails a check, is
    streamed by :func:`_scan_part`, which names the problem and where it is.

    Returns the highest cell style index the part uses (cells, rows and columns), checked against the
    styles part once every part has been read."""
    data = package.read(name)
    if len(data) > _PARSE_WHOLE_BYTES:
        return _scan_part(data, name, sheet, links, limits, path, readers)
    try:
        root = etree.fromstring(data, _SAFE_PARSER)
    except etree.XMLSyntaxError:
        _scan_part(data, name, sheet, links, limits, path, readers)  # raises, naming the part
        raise  # pragma: no cover - the stream sees what the parse saw
    if root.getroottree().docinfo.internalDTD is not None or not _tree_ok(root, sheet is not None, limits):
        _scan_part(data, name, sheet, links, limits, path, readers)
    elif links and sheet is not None:
        for f_el in root.iter(m("f")):
            _check_formula(f_el, sheet, links, limits, path, readers)
    package.adopt_xml(name, root)
    styles = _strings(root, _STYLE_QUERY) if sheet is not None or root.tag == WORKSHEET else []
    return max(map(int, styles), default=0)


_STYLE_QUERY = "//m:c/@s | //m:row/@s | //m:col/@style"


def _styled_cell(root: etree._Element, index: int) -> str | None:
    """The first cell of a sheet that uses cell style ``index`` (for the message), if a cell does."""
    found = root.xpath(f"//m:c[@s='{index}']/@r", namespaces=_NS)
    return str(found[0])[:20] if isinstance(found, list) and found else None


def _tree_ok(root: etree._Element, is_sheet: bool, limits: Limits) -> bool:
    """Whether the parsed part passes every check :func:`_scan_part` makes (False: let it say why).
    A part the workbook lists as a sheet gets the worksheet checks whatever its root element says."""
    kind = WORKSHEET if is_sheet else root.tag
    checks = XPATH_CHECKS.get(kind, ())
    if not checks:
        return True  # no cells, styles or sheet list: nothing beyond well-formedness to check
    if kind == WORKSHEET and float(cast(float, root.xpath("count(//m:c)", namespaces=_NS))) > \
            limits.max_cells_per_sheet:
        return False
    for query, fast, exact in checks:
        values = _strings(root, query)
        if values and not fast.fullmatch("\n".join(values) + "\n") and not all(exact(v) for v in values):
            return False
    texts = _strings(root, "//m:f/text()") if kind == WORKSHEET else []
    return not (texts and max(map(len, texts)) > limits.max_formula_length)


def _scan_part(data: bytes, name: str, sheet: str | None, links: Links, limits: Limits,
               path: Path, readers: list[tuple[str, str, int]]) -> int:
    """Stream one XML part once: well-formed, no DTD, and (for cells) within the cell and formula limits.

    Returns the highest cell style index the part uses.

    Elements are dropped as soon as they are read, so memory stays flat however large the part is.
    libxml2's default resource limits apply (no ``huge_tree``): no text node over 10 MB, no nesting
    deeper than 256, which no workbook part comes near.
    """
    where = sheet if sheet is not None else name
    cells = 0
    most = 0
    events = etree.iterparse(io.BytesIO(data), events=("end",), tag=CHECKED_TAGS, load_dtd=False,
                             no_network=True, resolve_entities=False, remove_comments=True)
    try:
        for _event, el in events:
            problem = attribute_problem(el)
            if problem is not None:
                where_cell = el.get("r") if el.tag == C and problem.startswith("style") else None
                raise _malformed(name, problem, path, sheet=sheet, cell=where_cell[:20] if where_cell else None)
            if el.tag == F:
                _check_formula(el, where, links, limits, path, readers)
                continue
            most = max(most, style_index(el))
            if el.tag == C:
                cells += 1
                if cells > limits.max_cells_per_sheet:
                    raise WorkbookTooLargeError(
                        f"the sheet has more than {limits.max_cells_per_sheet:,} cells (limit max_cells_per_sheet; "
                        f"it reaches {el.get('r', '?')[:20]}); refusing it", path=path, sheet=where)
            el.clear(keep_tail=True)  # a finished cell or row: drop it and its read siblings
            parent = el.getparent()
            while parent is not None and el.getprevious() is not None:
                del parent[0]
        if events.root is not None and events.root.getroottree().docinfo.internalDTD is not None:
            # entities were left unexpanded above (resolve_entities=False), so reaching here was safe
            raise UnsafeWorkbookError(
                f"part {name} declares a DTD or entities, which workbooks never need (possible XML bomb); "
                "refusing it", path=path)
    except etree.XMLSyntaxError as exc:
        raise NotAWorkbookError(f"part {name} is not well-formed XML ({brief(exc)}); the file is damaged, "
                                "re-save it in Excel", path=path) from exc
    return most


def _malformed(part: str, problem: str, path: Path, *, sheet: str | None = None,
               cell: str | None = None) -> MalformedWorkbookError:
    return MalformedWorkbookError(f"part {part} holds a {problem}, which Excel never writes; the file is damaged or "
                                  "was written by another program — re-save it in Excel", path=path, sheet=sheet,
                                  cell=cell)


def _check_formula(f_el: etree._Element, sheet: str, links: Links, limits: Limits, path: Path,
                   readers: list[tuple[str, str, int]]) -> None:
    text = f_el.text or ""
    parent = f_el.getparent()
    cell = (parent.get("r") if parent is not None else None) or None
    cell = cell[:20] if cell else None
    if len(text) > limits.max_formula_length:
        raise WorkbookTooLargeError(
            f"formula is {len(text):,} characters long, over the {limits.max_formula_length:,}-character limit "
            "(Excel's own); refusing it", path=path, sheet=sheet, cell=cell)
    if links and "[" in text:
        index = external_index(text, links, path, sheet=sheet, cell=cell)
        if index is not None:
            readers.append((sheet, cell or "?", index))


def brief(exc: BaseException) -> str:
    """An exception's message on one line and at most 200 characters (messages quote hostile input)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."
