"""Regenerate the pictures in docs/img: a shipped template converted with h100-stress, its
Credit_Summary sheet rendered by LibreOffice (PDF, then PNG of page 1).

    python docs/make_images.py            # needs soffice and pdftoppm (make libreoffice)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from libreoffice import render_sheet  # noqa: E402

from engine.convert import CurveChoice, convert  # noqa: E402


def main() -> int:
    out = ROOT / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("gpu_ddtl_quarterly", "dc_lease_annual"):
            result = convert(ROOT / "templates" / f"{name}.xlsx", Path(tmp) / f"{name}.gpu.xlsx",
                             curve=CurveChoice(preset="h100-stress"))
            _pdf, png = render_sheet(result.output, "Credit_Summary", Path(tmp) / "render", dpi=90)
            target = out / f"{name}.credit_summary.png"
            shutil.copy2(png, target)
            print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
