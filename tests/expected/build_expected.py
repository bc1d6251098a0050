"""Write the stored expectation of each shipped template's conversion (run once, before a change that
must not alter the output; `tests/engine/test_output_unchanged.py` compares against it).

    python tests/expected/build_expected.py            # rewrites tests/expected/*.json.gz

For each template: the formula text and the cached value of every cell of the template's own sheets
in the converted output (GPU_Curve and Credit_Summary are checked elsewhere, against LibreOffice),
converted with the preset and mode recorded in CASES.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

CASES = {  # template: (preset, mode)
    "dc_lease_annual": ("h100-stress", "index"),
    "gpu_ddtl_quarterly": ("h100-stress", "index"),
    "miner_hosting_monthly": ("h100-stress", "index"),
}
NEW_SHEETS = ("GPU_Curve", "Credit_Summary")
_M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def sheet_cells(path: Path) -> dict[str, list[object]]:
    """``{"Sheet!A1": [formula or None, cached value]}`` for every formula cell of the template's sheets."""
    from libreoffice import cached_values

    values = cached_values(path)
    formulas: dict[tuple[str, str], str] = {}
    with zipfile.ZipFile(path) as zf:
        from libreoffice import _sheet_parts  # the oracle's own reading of the package

        for title, part in _sheet_parts(zf):
            if title in NEW_SHEETS:
                continue
            root = etree.fromstring(zf.read(part))
            for c in root.iter(f"{_M}c"):
                f = c.find(f"{_M}f")
                if f is not None:
                    formulas[(title, c.get("r", ""))] = f.text or ""
    return {f"{s}!{a1}": [formulas.get((s, a1)), v] for (s, a1), v in values.items() if s not in NEW_SHEETS}


def main() -> None:
    from engine.convert import CurveChoice, convert
    from models.curves import RentMode

    out_dir = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        for name, (preset, mode) in CASES.items():
            src = Path(tmp) / f"{name}.xlsx"
            shutil.copy2(ROOT / "templates" / f"{name}.xlsx", src)
            shutil.copy2(ROOT / "templates" / f"{name}.toml", Path(tmp) / f"{name}.toml")
            out = Path(tmp) / f"{name}.gpu.xlsx"
            convert(src, out, curve=CurveChoice(preset=preset, mode=RentMode(mode)))
            doc = {"preset": preset, "mode": mode, "cells": sheet_cells(out)}
            (out_dir / f"{name}.json.gz").write_bytes(gzip.compress(json.dumps(doc, sort_keys=True).encode(), mtime=0))
            print(f"{name}: {len(doc['cells'])} cells")


if __name__ == "__main__":
    main()
