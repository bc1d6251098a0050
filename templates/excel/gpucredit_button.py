"""The Python side of gpucredit_button.xlsm (xlwings' quickstart convention).

The workbook's button runs the quickstart macro ``SampleCall``, which does
``RunPython "import gpucredit_button; gpucredit_button.main()"`` (the module named after the
workbook, found because xlwings puts the workbook's folder on the PYTHONPATH).  ``main`` hands
over to the gpucredit add-in entry point; change the preset or mode here.
"""

from __future__ import annotations

PRESET = "h100-base"  # any name from `gpucredit curve --help`, e.g. h100-stress
MODE = "index"  # or "absolute" (needs gpus in the lender workbook's profile)


def main() -> None:
    """Convert the lender workbook: the same as ``engine.shell.xl.convert_active_workbook()``."""
    import engine.shell.xl

    engine.shell.xl.convert_active_workbook(preset=PRESET, mode=MODE)
