"""Build templates/excel/gpucredit_button.xlsm from the workbook ``xlwings quickstart`` makes.

Run it after upgrading xlwings (the add-in and the workbook's VBA reference should match):

    python templates/excel/build_button.py

``xlwings quickstart gpucredit_button`` writes ``gpucredit_button.xlsm`` whose VBA module holds
``SampleCall``: ``RunPython "import gpucredit_button; gpucredit_button.main()"`` (the module named
after the workbook).  Its ``vbaProject.bin`` is kept byte for byte: editing VBA source inside the
binary would leave Excel running the stale compiled p-code.  Instead ``gpucredit_button.py``
beside the workbook forwards ``main()`` to ``engine.shell.xl.convert_active_workbook()``.  This script
only rewrites the first sheet: instructions and a button shape that runs ``SampleCall``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
NAME = "gpucredit_button"
MACRO = "SampleCall"  # the quickstart module's macro
SHEET_TITLE = "Convert"

INSTRUCTIONS = (
    "gpucredit: re-price a lender workbook with the GPU rent curve",
    "",
    "1. Keep this workbook next to gpucredit_button.py and xlwings.conf (templates/excel/).",
    "2. Open the lender workbook (.xlsx or .xlsm, saved) as well.",
    "3. Click the button below. With only this and the lender workbook open, that one is converted.",
    (f"   With several open: switch to the one to convert, press Alt+F8 and run "
     f"'{NAME}.xlsm'!{MACRO}."),
    "4. The copy STEM.gpu.xlsx is saved beside the lender workbook and opened; nothing is overwritten.",
    "   Errors appear in a message box and the status bar.",
    "",
    "Preset h100-base, index mode. To change them, edit main() in gpucredit_button.py.",
    ("Worksheet functions (Windows): GPU_RENT_INDEX, GPU_RENT_CURVE, GPU_COLLATERAL, GPU_DSCR; "
     "see docs/excel.md."),
)

_NS = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')


def sheet_xml() -> str:
    rows = []
    for i, text in enumerate(INSTRUCTIONS, start=1):
        if text:
            style = ' s="2"' if i == 1 else ""
            rows.append(f'<row r="{i}"><c r="A{i}"{style} t="inlineStr"><is><t xml:space="preserve">'
                        f"{escape(text)}</t></is></c></row>")
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet {_NS}><sheetPr codeName="Sheet1"/><dimension ref="A1:A{len(INSTRUCTIONS)}"/>'
            '<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
            '<sheetFormatPr defaultColWidth="11" defaultRowHeight="15.65"/>'
            f'<sheetData>{"".join(rows)}</sheetData>'
            '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
            '<drawing r:id="rId1"/></worksheet>')


def _cell(col: int, row: int) -> str:
    return (f"<xdr:col>{col}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{row}</xdr:row><xdr:rowOff>0</xdr:rowOff>")


def drawing_xml() -> str:
    row = len(INSTRUCTIONS) + 1  # zero-based anchor rows: the button sits below the text
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
            '<xdr:twoCellAnchor editAs="absolute">'
            f'<xdr:from>{_cell(0, row)}</xdr:from><xdr:to>{_cell(3, row + 3)}</xdr:to>'
            f'<xdr:sp macro="[0]!{MACRO}" textlink="">'
            '<xdr:nvSpPr><xdr:cNvPr id="2" name="Convert button" descr="Runs SampleCall: converts the lender '
            'workbook"/>'
            '<xdr:cNvSpPr/></xdr:nvSpPr>'
            '<xdr:spPr><a:prstGeom prst="roundRect"><a:avLst/></a:prstGeom>'
            '<a:solidFill><a:srgbClr val="1F4E79"/></a:solidFill><a:ln><a:noFill/></a:ln></xdr:spPr>'
            '<xdr:txBody><a:bodyPr anchor="ctr" rtlCol="0"/><a:lstStyle/>'
            '<a:p><a:pPr algn="ctr"/><a:r><a:rPr lang="en-GB" sz="1400" b="1">'
            '<a:solidFill><a:srgbClr val="FFFFFF"/></a:solidFill></a:rPr>'
            '<a:t>Convert lender workbook</a:t></a:r></a:p></xdr:txBody></xdr:sp>'
            '<xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>')


SHEET_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
              'relationships/drawing" Target="../drawings/drawing1.xml"/></Relationships>')
DRAWING_TYPE = ('<Override PartName="/xl/drawings/drawing1.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/>')


def quickstart(folder: Path) -> Path:
    """Run ``xlwings quickstart`` in `folder` with this interpreter's xlwings."""
    subprocess.run([sys.executable, "-m", "xlwings.cli", "quickstart", NAME], cwd=folder, check=True,
                   stdout=subprocess.DEVNULL)
    return folder / NAME / f"{NAME}.xlsm"


def adapt(quickstart_xlsm: Path, out: Path) -> None:
    """Copy the quickstart workbook to `out` with the instructions sheet and the button."""
    with zipfile.ZipFile(quickstart_xlsm) as src:
        parts = {info.filename: src.read(info) for info in src.infolist()}
    workbook = parts["xl/workbook.xml"].decode()
    parts["xl/workbook.xml"] = workbook.replace('<sheet name="Sheet1"', f'<sheet name="{SHEET_TITLE}"').encode()
    parts["xl/worksheets/sheet1.xml"] = sheet_xml().encode()
    parts["xl/worksheets/_rels/sheet1.xml.rels"] = SHEET_RELS.encode()
    parts["xl/drawings/drawing1.xml"] = drawing_xml().encode()
    types = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = types.replace("</Types>", DRAWING_TYPE + "</Types>").encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in parts.items():  # "[Content_Types].xml" stays the first part
            dst.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        adapt(quickstart(Path(tmp)), HERE / f"{NAME}.xlsm")
    print(f"wrote {HERE / f'{NAME}.xlsm'}")


if __name__ == "__main__":
    main()
