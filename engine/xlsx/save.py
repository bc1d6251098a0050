"""Saving a package: full recalculation on open, and the atomic write (temp file + rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lxml import etree

from engine.errors import OutputError
from engine.xlsx.package import REL_CALC_CHAIN, Package, m


def prepare_for_recalc_on_open(package: Package) -> None:
    """Set full-calculation-on-load and drop ``calcChain.xml`` (Excel rebuilds it)."""
    wb_part = package.workbook_part()
    root = package.xml(wb_part)
    calc = root.find(m("calcPr"))
    if calc is None:
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
        problem = "is a file, not a folder" if folder.exists() else "does not exist"
        raise OutputError(f"output folder {folder} {problem}", path=out)
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
