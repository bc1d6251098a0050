"""LibreOffice Calc as the recalculation oracle for tests (docs/decisions/recalc-engine.md, the accuracy contract).

Not a test module: tests import it (``from libreoffice import recalculate, ...``;
pytest puts ``tests/`` on ``sys.path`` because the folder has no ``__init__.py``).

The flow a golden test follows::

    expected = cached_values(engine_output)                  # what the engine wrote
    actual = cached_values(recalculate(engine_output, tmp))  # what LibreOffice computes
    assert compare(expected, actual) == []

``recalculate`` runs ``soffice --headless --convert-to xlsx`` in a throw-away user profile whose
registry tells Calc to recalculate every formula on load (by default Calc trusts the cached values
of a file that says Excel wrote it, which would make the oracle echo the engine's own numbers).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import posixpath
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from lxml import etree
from openpyxl.utils.cell import get_column_letter

__all__ = ["soffice_path", "recalculate", "cached_values", "compare"]

# Where the macOS installer puts the binary; it is not on PATH there.
_MACOS_SOFFICE = "/Applications/LibreOffice.app/Contents/MacOS/soffice"

# Calc's registry: Formula/Load/*RecalcMode: 0 = always recalculate, 1 = never, 2 = ask.
_RECALC_ALWAYS_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
           xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_M = "{%s}" % _NS_MAIN

# Excel's day 0 is 1899-12-30 (the 1900 leap-year bug folded in), as openpyxl assumes.
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def soffice_path() -> str:
    """Return the LibreOffice executable, or raise RuntimeError saying how to install it."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    if sys.platform == "darwin" and os.access(_MACOS_SOFFICE, os.X_OK):
        return _MACOS_SOFFICE
    raise RuntimeError(
        "LibreOffice Calc (soffice) is not on PATH; `make test` installs it on Debian/Ubuntu, "
        "or run `apt-get install libreoffice-calc` (macOS: `brew install --cask libreoffice`)"
    )


def recalculate(src: Path, outdir: Path, *, timeout: float = 180) -> Path:
    """Have LibreOffice Calc recalculate ``src`` and save it as xlsx in ``outdir``.

    ``src`` is copied first and never touched; the result is ``outdir/<stem>.lo.xlsx`` (so it
    cannot overwrite ``src`` even when ``outdir`` is ``src``'s folder). Each call uses its own
    LibreOffice profile, so concurrent calls (pytest-xdist) do not share a running instance.

    Raises
    ------
    RuntimeError
        soffice is missing, timed out, or produced no output (it exits 0 even when it could not
        load the file); the message carries soffice's stdout and stderr.
    """
    src = Path(src)
    outdir = Path(outdir)
    if not src.is_file():
        raise RuntimeError(f"{src}: no such file to recalculate")
    soffice = soffice_path()
    work = Path(tempfile.mkdtemp(prefix="gpucredit-lo-"))
    try:
        profile = work / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(
            _RECALC_ALWAYS_XCU, encoding="utf-8"
        )
        (work / "in").mkdir()
        (work / "out").mkdir()
        copy = work / "in" / f"{src.stem}.lo{src.suffix}"
        shutil.copyfile(src, copy)
        cmd = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(work / "out"),
            str(copy),
        ]
        stdout, stderr = _run(cmd, timeout=timeout, what=str(src))
        produced = work / "out" / f"{copy.stem}.xlsx"
        if not produced.is_file() or not zipfile.is_zipfile(produced):
            raise RuntimeError(
                f"{src}: LibreOffice produced no xlsx (it could not load or convert the file)\n"
                f"command: {' '.join(cmd)}\nstdout: {stdout.strip()}\nstderr: {stderr.strip()}"
            )
        outdir.mkdir(parents=True, exist_ok=True)
        target = outdir / produced.name
        shutil.move(str(produced), str(target))
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(cmd: list[str], *, timeout: float, what: str) -> tuple[str, str]:
    """Run soffice in its own process group so a timeout kills soffice.bin too, not just the wrapper."""
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        raise RuntimeError(
            f"{what}: LibreOffice did not finish within {timeout:g} s\n"
            f"stdout: {stdout.strip()}\nstderr: {stderr.strip()}"
        ) from None
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what}: soffice exited with {proc.returncode}\n"
            f"stdout: {stdout.strip()}\nstderr: {stderr.strip()}"
        )
    return stdout, stderr


# --------------------------------------------------------------------------- cached values


def cached_values(path: Path) -> dict[tuple[str, str], object]:
    """Every formula cell's cached value, keyed by ``(sheet title, "A1")``, in sheet order.

    Values: ``float`` for numbers (dates stay serial numbers), ``str`` for text and for error
    codes (``"#DIV/0!"``), ``bool``, or ``None`` when the cell has no cached value. Cells inside
    an array formula's range count as formula cells. Reads the XML with ``lxml.iterparse``, so a
    100k-cell sheet takes well under a second and little memory.
    """
    values: dict[tuple[str, str], object] = {}
    with zipfile.ZipFile(path) as zf:
        shared = _shared_strings(zf)
        for title, part in _sheet_parts(zf):
            for ref, value in _formula_cells(zf, part, shared):
                values[(title, ref)] = value
    return values


def _parse(zf: zipfile.ZipFile, name: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    with zf.open(name) as fh:
        return etree.parse(fh, parser).getroot()


def _sheet_parts(zf: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(title, zip member) for each worksheet, in workbook order (chartsheets skipped)."""
    book_name = "xl/workbook.xml"
    for rel in _parse(zf, "_rels/.rels"):
        if rel.get("Type", "").endswith("/officeDocument"):
            book_name = rel.get("Target", book_name).lstrip("/")
    book_dir = posixpath.dirname(book_name)
    rels_name = posixpath.join(book_dir, "_rels", posixpath.basename(book_name) + ".rels")
    targets = {}
    for rel in _parse(zf, rels_name):
        target = rel.get("Target", "")
        if target.startswith("/"):
            targets[rel.get("Id")] = target.lstrip("/")
        else:
            targets[rel.get("Id")] = posixpath.normpath(posixpath.join(book_dir, target))
    members = set(zf.namelist())
    parts = []
    for sheet in _parse(zf, book_name).iter(f"{_M}sheet"):
        part = targets.get(sheet.get(f"{{{_NS_REL}}}id"))
        if part in members and "worksheets/" in part:
            parts.append((sheet.get("name"), part))
    return parts


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    name = "xl/sharedStrings.xml"
    if name not in zf.namelist():
        return []
    strings = []
    for si in _parse(zf, name).iter(f"{_M}si"):
        # Plain <t>, or rich-text runs <r><t>; phonetic guides (<rPh>) are not part of the text.
        strings.append(
            "".join(
                t.text or ""
                for t in si.iter(f"{_M}t")
                if t.getparent().tag != f"{_M}rPh"
            )
        )
    return strings


def _formula_cells(
    zf: zipfile.ZipFile, part: str, shared: list[str]
) -> Iterator[tuple[str, object]]:
    # An array formula's anchor is its top-left cell, so its range is known before its other cells.
    array_ranges: list[tuple[int, int, int, int]] = []
    f_tag, v_tag = f"{_M}f", f"{_M}v"
    row_no = 0
    with zf.open(part) as fh:
        for _, row in etree.iterparse(
            fh, tag=f"{_M}row", resolve_entities=False, no_network=True, huge_tree=True
        ):
            row_no = int(row.get("r") or row_no + 1)  # "r" is optional in OOXML
            col_no = 0
            for c in row:
                ref = c.get("r")
                col_no = _split_ref(ref)[0] if ref else col_no + 1
                f = v = None
                for child in c:
                    if child.tag == f_tag:
                        f = child
                    elif child.tag == v_tag:
                        v = child
                if f is not None:
                    if f.get("t") == "array" and f.get("ref"):
                        array_ranges.append(_range_bounds(f.get("ref")))
                elif v is None or not any(
                    c0 <= col_no <= c1 and r0 <= row_no <= r1 for c0, r0, c1, r1 in array_ranges
                ):
                    continue
                yield ref or f"{get_column_letter(col_no)}{row_no}", _cell_value(c, v, shared)
            # Free parsed rows as we go, so a huge sheet does not build a whole tree.
            row.clear(keep_tail=False)
            while row.getprevious() is not None:
                del row.getparent()[0]


def _cell_value(c: etree._Element, v: etree._Element | None, shared: list[str]) -> object:
    kind = c.get("t", "n")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in c.iter(f"{_M}t"))
    text = v.text if v is not None else None
    if text is None:
        return "" if kind == "str" else None
    if kind == "n":
        return float(text)
    if kind == "s":
        return shared[int(text)]
    if kind == "b":
        return text.strip() in ("1", "true")
    if kind == "d":
        return _datetime_to_serial(dt.datetime.fromisoformat(text))
    return text  # "str" (formula text) and "e" (error code)


def _split_ref(ref: str) -> tuple[int, int]:
    letters = ref.rstrip("0123456789").replace("$", "")
    col = 0
    for ch in letters.upper():
        col = col * 26 + ord(ch) - 64
    return col, int(ref[len(ref.rstrip("0123456789")) :])


def _range_bounds(ref: str) -> tuple[int, int, int, int]:
    first, _, last = ref.partition(":")
    c0, r0 = _split_ref(first)
    c1, r1 = _split_ref(last or first)
    return c0, r0, c1, r1


# --------------------------------------------------------------------------- compare


def _datetime_to_serial(value: dt.datetime | dt.date | dt.time) -> float:
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - _EXCEL_EPOCH
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000
    if isinstance(value, dt.date):
        return float((value - _EXCEL_EPOCH.date()).days)
    return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400


def _normalise(value: object) -> object:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return _datetime_to_serial(value)
    if value == "":
        return None
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compare(
    expected: Mapping[tuple[str, str], object],
    actual: Mapping[tuple[str, str], object],
    *,
    rel: float = 1e-9,
    abs_: float = 1e-6,
) -> list[str]:
    """Cells whose values disagree under the accuracy tolerance, as ``"Sheet!A1: ..."`` lines.

    Numbers agree when ``math.isclose(e, a, rel_tol=rel, abs_tol=abs_)`` (the absolute bound only
    matters for values near zero: past |x| = 1000, 1e-9 relative is already looser). Text,
    booleans and error codes must be equal, and a number never equals a bool or a string.
    Dates/times (as openpyxl returns them) count as Excel serial numbers; ``""`` equals ``None``.
    A cell present on one side only is a mismatch. An empty list means agreement.
    """
    problems = []
    for key in list(expected) + [k for k in actual if k not in expected]:
        sheet, cell = key
        if key not in actual:
            problems.append(f"{sheet}!{cell}: expected {expected[key]!r}, got no formula cell")
            continue
        if key not in expected:
            problems.append(f"{sheet}!{cell}: unexpected formula cell with {actual[key]!r}")
            continue
        e, a = _normalise(expected[key]), _normalise(actual[key])
        if _is_number(e) and _is_number(a):
            same = math.isclose(e, a, rel_tol=rel, abs_tol=abs_)  # type: ignore[arg-type]
        else:
            same = type(e) is type(a) and e == a
        if not same:
            problems.append(f"{sheet}!{cell}: expected {expected[key]!r}, got {actual[key]!r}")
    return problems


def render_sheet(src: Path, sheet: str, outdir: Path, *, dpi: int = 80, timeout: float = 180) -> tuple[Path, Path]:
    """Render one sheet of ``src`` through LibreOffice to PDF, and its first page to PNG.

    The other sheets are hidden in a private copy (Calc exports only visible sheets), the copy
    is exported with ``--convert-to pdf``, and poppler's ``pdftoppm`` rasterises page 1.
    Returns ``(pdf, png)`` inside ``outdir``.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpucredit-render-"))
    try:
        copy = work / f"{src.stem}.{sheet}.xlsx"
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as zout:
            for name in zin.namelist():
                data = zin.read(name)
                if name == "xl/workbook.xml":
                    root = etree.fromstring(data)
                    sheets = root.find(f"{_M}sheets")
                    names = [el.get("name") for el in sheets]
                    if sheet not in names:
                        raise RuntimeError(f"{src}: no sheet {sheet!r}")
                    for el in sheets:
                        if el.get("name") != sheet:
                            el.set("state", "hidden")
                    view = root.find(f"{_M}bookViews/{_M}workbookView")
                    if view is not None:
                        view.set("activeTab", str(names.index(sheet)))
                        view.set("firstSheet", str(names.index(sheet)))
                    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
                zout.writestr(name, data)
        profile = work / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_ALWAYS_XCU, encoding="utf-8")
        _run([soffice_path(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
              "--convert-to", "pdf", "--outdir", str(work), str(copy)], timeout=timeout, what=str(src))
        pdf = work / f"{copy.stem}.pdf"
        if not pdf.is_file():
            raise RuntimeError(f"{src}: LibreOffice wrote no PDF")
        pdftoppm = shutil.which("pdftoppm")
        if pdftoppm is None:
            raise RuntimeError("pdftoppm not found: `make test` installs poppler-utils, or apt-get install poppler-utils")
        stem = outdir / f"{src.stem}.{sheet}"
        _run([pdftoppm, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
             timeout=timeout, what=str(pdf))
        final_pdf = outdir / f"{src.stem}.{sheet}.pdf"
        shutil.copy2(pdf, final_pdf)
        return final_pdf, Path(f"{stem}.png")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def png_pixels(png: Path) -> tuple[int, int, list[bytearray], int]:
    """``(width, height, rows, channels)`` of an 8-bit PNG: each row's bytes with the row filter undone."""
    import struct
    import zlib

    data = png.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{png}: not a PNG")
    pos, idat, width = 8, b"", 0
    height = bit_depth = color_type = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, bit_depth, color_type = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    if bit_depth != 8:
        raise ValueError(f"{png}: {bit_depth}-bit PNG not supported")
    raw, stride = zlib.decompress(idat), width * channels
    previous, rows = bytearray(stride), []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):  # undo the PNG row filter
            left = line[i - channels] if i >= channels else 0
            up, up_left = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else up_left)) & 255
        rows.append(line)
        previous = line
    return width, height, rows, channels


def ink_share(png: Path) -> float:
    """Share of pixels in a PNG that are not (near) white — 0 for a blank page."""
    width, height, rows, channels = png_pixels(png)
    inked = sum(1 for line in rows for x in range(0, width * channels, channels) if min(line[x:x + min(channels, 3)]) < 200)
    return inked / max(width * height, 1)


def colour_pixels(png: Path, rgb: str, tolerance: int = 48) -> int:
    """How many pixels of an RGB(A) PNG are within ``tolerance`` (per channel) of colour ``rgb`` (``"C00000"``)."""
    width, _height, rows, channels = png_pixels(png)
    if channels < 3:
        return 0
    want = [int(rgb[i:i + 2], 16) for i in (0, 2, 4)]
    return sum(1 for line in rows for x in range(0, width * channels, channels)
               if all(abs(line[x + k] - want[k]) <= tolerance for k in range(3)))
