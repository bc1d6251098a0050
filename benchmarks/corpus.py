"""The test corpus, file by file: Excel's values reproduced where the conversion uses them, detection, outcome.

For every workbook in ``tests/corpus/`` (the public ones and ours, ``tests/corpus/MANIFEST.md``):

* **share**: of the formula cells a conversion uses (what the revenue line reaches, the timeline, the
  debt lines; the whole workbook when the model has no revenue line) that carry a value Excel cached,
  the share the engine reproduces (relative 1e-9, absolute 1e-6); "no Excel values" for a workbook nobody
  calculated;
* **whole workbook**: the same over every cached value of the workbook;
* **detection**: what ``gpucredit inspect`` finds alone — the rent line, or why it refuses;
* **outcome**: ``gpucredit convert`` with preset h100-stress (``--set start`` for the undated model), and
  the debt a model re-sizes.

    python benchmarks/corpus.py [--markdown] [--no-convert]

The same measurement is asserted by ``tests/engine/test_corpus.py``; ``docs/corpus.md`` holds its table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine_header  # noqa: E402

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from corpus_expect import EXPECTED, measure  # noqa: E402


def _cell(text: str) -> str:
    """Text as one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (docs/corpus.md)")
    parser.add_argument("--no-convert", action="store_true", help="skip the conversions")
    args = parser.parse_args()
    print("\n".join(machine_header()))
    rows = [measure(name, convert_it=not args.no_convert) for name in EXPECTED]
    if args.markdown:
        print("| file | ours | share reproduced (cells the conversion uses) | whole workbook | detection | outcome |")
        print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        share = "no Excel values" if row.share_used is None and row.note else \
            "–" if row.share_used is None else f"{row.used_reproduced:,} of {row.used_checked:,} ({row.share_used:.2%})"
        ours = "ours" if EXPECTED[row.file].ours else ""
        whole = "–" if row.share_all is None else f"{row.all_reproduced:,} of {row.all_checked:,} ({row.share_all:.2%})"
        if args.markdown:
            cells = (_cell(text) for text in (row.detection, row.outcome))
            print(f"| `{row.file}` | {ours} | {share} | {whole} | {' | '.join(cells)} |")
        else:
            print(f"{row.file}\n    share:     {share}\n    workbook:  {whole}\n    detection: {row.detection}\n    outcome:   {row.outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
