"""Peak memory of refusing decompression and XML bombs through ``engine.convert.convert``.

    python benchmarks/bombs.py

Each bomb is built in a temporary folder, then converted in a fresh child process that reports its
own peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and the error it got. The
acceptance bar (issue #7) is under 500 MB for each; a valid template is measured too, for scale.
Exits 1 when a bomb is not refused or goes over the bar.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine_header

BAR_MB = 500
TEMPLATE = ROOT / "templates" / "dc_lease_annual.xlsx"
NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'

CHILD = """
import json, resource, sys, time
started = time.perf_counter()
from engine.convert import convert
from engine.errors import GpuCreditError
try:
    convert(sys.argv[1], sys.argv[2])
    outcome, message = "converted", ""
except GpuCreditError as exc:
    outcome, message = type(exc).__name__, str(exc)
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
print(json.dumps({"outcome": outcome, "message": message, "peak_mb": peak_kb / 1024,
                  "seconds": time.perf_counter() - started}))
"""


def _template_parts() -> dict[str, bytes]:
    with zipfile.ZipFile(TEMPLATE) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def zip_bomb(path: Path) -> None:
    """A valid template plus one part of 1 GiB of zeros (about 1 MB compressed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in _template_parts().items():
            zf.writestr(name, data)
        chunk = b"\0" * 2**24
        info = zipfile.ZipInfo("xl/media/image1.png")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            for _ in range(64):
                fh.write(chunk)


def many_parts_bomb(path: Path) -> None:
    """1,000 parts of 1 MiB − 1 byte of zeros each: every part under the per-part ratio rule, 1 GiB in all."""
    pad = b"\0" * (2**20 - 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in _template_parts().items():
            zf.writestr(name, data)
        for i in range(1000):
            zf.writestr(f"customXml/pad{i}.bin", pad)


def xml_bomb(path: Path) -> None:
    """Billion laughs: ten levels of ten entity references (10⁹ "lol"s, ~3 GB if expanded) in sharedStrings."""
    entities = b'<!ENTITY lol0 "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, b"".join(b"&lol%d;" % (i - 1) for _ in range(10))) for i in range(1, 10))
    payload = (b'<?xml version="1.0"?><!DOCTYPE sst [' + entities + b"]><sst " + NS
               + b' count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>')
    parts = _template_parts()
    parts["xl/sharedStrings.xml"] = payload
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def deep_xml_bomb(path: Path) -> None:
    """No DTD: a sheet nested 100,000 elements deep (stack exhaustion in a recursive parser)."""
    parts = _template_parts()
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b"<sheetData>", b"<sheetData>" + b"<x>" * 100_000 + b"</x>" * 100_000, 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def valid(path: Path) -> None:
    path.write_bytes(TEMPLATE.read_bytes())
    path.with_suffix(".toml").write_bytes(TEMPLATE.with_suffix(".toml").read_bytes())


CASES: list[tuple[str, Callable[[Path], None], bool]] = [
    ("zip bomb (1 GiB part)", zip_bomb, True),
    ("zip bomb (1,000 × 1 MiB parts)", many_parts_bomb, True),
    ("XML bomb (billion laughs)", xml_bomb, True),
    ("XML bomb (100,000 deep)", deep_xml_bomb, True),
    ("valid template (for scale)", valid, False),
]


def main() -> int:
    for line in machine_header():
        print(line)
    print(f"{'input':<34} {'file':>10} {'peak RSS':>10} {'time':>7}  outcome")
    failed = False
    with tempfile.TemporaryDirectory(prefix="gpucredit-bombs-") as scratch:
        for index, (label, build, must_refuse) in enumerate(CASES):
            src = Path(scratch) / f"case{index}.xlsx"
            build(src)
            proc = subprocess.run([sys.executable, "-c", CHILD, str(src), str(Path(scratch) / f"out{index}.xlsx")],
                                  capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
            if proc.returncode != 0:
                print(f"{label:<34} child failed:\n{proc.stderr}")
                failed = True
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            refused = result["outcome"] != "converted"
            ok = result["peak_mb"] < BAR_MB and (refused or not must_refuse)
            failed |= not ok
            print(f"{label:<34} {src.stat().st_size / 2**20:>7.1f} MB {result['peak_mb']:>7.0f} MB "
                  f"{result['seconds']:>6.2f}s  {result['outcome']}{'' if ok else '  <-- FAIL'}")
            if result["message"]:
                print(f"{'':<36}{result['message'][:150]}")
    print(f"bar: every bomb refused, peak under {BAR_MB} MB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
