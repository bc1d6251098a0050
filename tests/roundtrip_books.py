"""Small lender models written with xlsxwriter, each carrying one feature that openpyxl would damage.

Not a test module: ``tests/engine/test_roundtrip.py`` builds these, converts them and checks that
nothing but the intended changes differs. Every book has the same model (annual periods across,
a rent row with an escalator, opex, CFADS, an annuity loan, DSCR) on a sheet whose name has a
space and a quote, so formula references must be quoted correctly.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import formualizer
import xlsxwriter

MODEL = "Deal 'A' Model"
Q = "'Deal ''A'' Model'"
COLS = "EFGHIJKLMN"
PROFILE = f'''[timeline]
cells = "{Q}!E5:N5"
kind = "period_end"
frequency = "annual"

[rent]
cells = "{Q}!E11:N11"

[metrics]
cfads = "{Q}!E13:N13"
debt_service = "{Q}!E20:N20"
dscr = "{Q}!E24:N24"
covenant = "Inputs!B9"
'''


def png_bytes(width: int = 8, height: int = 8) -> bytes:
    """A tiny valid PNG (a blue square), built by hand so no imaging library is needed."""
    raw = b"".join(b"\0" + b"\x1f\x4e\x9a" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _base(wb: xlsxwriter.Workbook) -> xlsxwriter.worksheet.Worksheet:
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    inputs = wb.add_worksheet("Inputs")
    for row, (label, value) in enumerate([
            ("Start date", dt.date(2026, 1, 1)), ("Year-1 rent ($m)", 100.0), ("Escalator", 0.03),
            ("Opex ($m)", 30.0), ("Loan ($m)", 400.0), ("Rate", 0.07), ("Term (years)", 10),
            ("Minimum DSCR covenant", 1.2)], start=2):
        inputs.write(f"A{row}", label)
        if isinstance(value, dt.date):
            inputs.write_datetime(f"B{row}", dt.datetime.combine(value, dt.time()), date)
        else:
            inputs.write(f"B{row}", value)
    ws = wb.add_worksheet(MODEL)
    for row, label in ((5, "Period end"), (11, "Rental income"), (12, "Operating costs"), (13, "CFADS"),
                       (20, "Debt service"), (24, "DSCR")):
        ws.write(f"A{row}", label)
    for i, col in enumerate(COLS):
        prev = COLS[i - 1] if i else None
        ws.write_formula(f"{col}5", "=EOMONTH(Inputs!$B$2,11)" if i == 0 else f"=EOMONTH({prev}5,12)", date)
        ws.write_formula(f"{col}11", "=Inputs!$B$3" if i == 0 else f"={prev}11*(1+Inputs!$B$4)")
        ws.write_formula(f"{col}12", "=Inputs!$B$5")
        ws.write_formula(f"{col}13", f"={col}11-{col}12")
        ws.write_formula(f"{col}20", "=PMT(Inputs!$B$7,Inputs!$B$8,-Inputs!$B$6)")
        ws.write_formula(f"{col}24", f"={col}13/{col}20")
    ws.write("A26", "Minimum DSCR")
    ws.write_formula("B26", "=MIN(E24:N24)")
    return ws


def _chart(wb: xlsxwriter.Workbook, ws: xlsxwriter.worksheet.Worksheet) -> None:
    chart = wb.add_chart({"type": "line"})
    chart.add_series({"name": "DSCR", "values": f"={Q}!$E$24:$N$24", "categories": f"={Q}!$E$5:$N$5"})
    ws.insert_chart("P2", chart)


def _image(wb: xlsxwriter.Workbook, ws: xlsxwriter.worksheet.Worksheet) -> None:
    ws.insert_image("P20", "logo.png", {"image_data": io.BytesIO(png_bytes())})


def _notes(wb: xlsxwriter.Workbook, ws: xlsxwriter.worksheet.Worksheet) -> None:
    ws.write_comment("F11", "Lender: year-2 rent per the signed lease")
    ws.write_comment("A13", "CFADS before tax")


def _dynamic_array(wb: xlsxwriter.Workbook, ws: xlsxwriter.worksheet.Worksheet) -> None:
    ws.write("A40", "Year numbers")
    ws.write_dynamic_array_formula("B40:K40", "=SEQUENCE(1,10)")
    ws.write_formula("B41", "=SUM(B40#)")


def _plain(wb: xlsxwriter.Workbook, ws: xlsxwriter.worksheet.Worksheet) -> None:
    ws.write("A45", "plain text kept as a shared string")


FEATURES: dict[str, Callable[[xlsxwriter.Workbook, xlsxwriter.worksheet.Worksheet], None]] = {
    "shared-strings": _plain, "chart": _chart, "image": _image, "notes": _notes,
    "dynamic-array": _dynamic_array,
}
# Cells LibreOffice 7.4 cannot compute (no SEQUENCE, no spill operator), per feature.
LIBREOFFICE_LACKS = {"dynamic-array": {"SEQUENCE": {f"{c}40" for c in "BCDEFGHIJK"} | {"B41"}}}


def build(feature: str, folder: Path, *, vba: bytes | None = None) -> Path:
    """Write the model with ``feature`` into ``folder``, fill its cached values, write its profile.

    With ``vba``, the book is an ``.xlsm`` carrying that VBA project.
    """
    path = folder / f"{feature}.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    FEATURES.get(feature, _plain)(wb, _base(wb))
    wb.close()
    if feature == "shared-formula":
        _share_rent_row(path)
    # Cached values as Excel would have them (xlsxwriter writes 0 for every formula).
    formualizer.recalculate_xlsx_file(str(path))
    if vba is not None:
        path = _with_vba(path, vba, feature)
    path.with_suffix(".toml").write_text(PROFILE)
    return path


def _with_vba(xlsx: Path, vba: bytes, feature: str) -> Path:
    """The same book as an ``.xlsm``: xlsxwriter's macro package, with the xlsx's cached sheets."""
    xlsm = xlsx.with_suffix(".xlsm")
    wb = xlsxwriter.Workbook(str(xlsm))
    FEATURES.get(feature, _plain)(wb, _base(wb))
    wb.add_vba_project(io.BytesIO(vba), is_stream=True)
    wb.close()
    with zipfile.ZipFile(xlsx) as cached, zipfile.ZipFile(xlsm) as macro:
        parts = {n: macro.read(n) for n in macro.namelist()}
        parts.update({n: cached.read(n) for n in cached.namelist() if n.startswith("xl/worksheets/")})
    xlsx.unlink()
    with zipfile.ZipFile(xlsm, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return xlsm


def _share_rent_row(path: Path) -> None:
    """Rewrite the rent row F11:N11 as one shared formula, as Excel saves a filled-right row."""
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    name = "xl/worksheets/sheet2.xml"
    xml = parts[name].decode()
    xml = xml.replace('<c r="F11"><f>E11*(1+Inputs!$B$4)</f>',
                      '<c r="F11"><f t="shared" ref="F11:N11" si="0">E11*(1+Inputs!$B$4)</f>')
    for col in COLS[2:]:
        xml = re.sub(rf'<c r="{col}11"><f>[^<]*</f>', f'<c r="{col}11"><f t="shared" si="0"/>', xml)
    assert xml.count('si="0"') == 9, "the rent row was not shared"
    parts[name] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part, data in parts.items():
            zf.writestr(part, data)
