"""Saving a package: full recalculation on open, and the atomic write (temp file + rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lxml import etree

from engine.errors import OutputError, OutputExistsError
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


def check_output(out: Path, *, force: bool, what: str = "output file") -> Path:
    """Refuse an output path that cannot be written: a folder, an existing file without ``force``, a
    folder that is missing or is a file. Returns the folder the file goes in."""
    if out.is_dir():
        raise OutputError(f"is a folder; name the {what} inside it (such as {out.name}/NAME)", path=out)
    if out.exists() and not force:
        raise OutputExistsError(what, path=out)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        problem = "is a file, not a folder" if folder.exists() else "does not exist"
        raise OutputError(f"output folder {folder} {problem}", path=out)
    return folder


def make_folder(folder: Path, *, what: str = "output folder") -> None:
    """Create ``folder`` (and its parents) if needed and check that files can be written in it."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"the {what} {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the {what} {folder}: {exc.strerror or exc}") from exc
    try:
        fd, probe = tempfile.mkstemp(prefix=".gpucredit-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write in the {what} {folder}: {exc.strerror or exc}") from exc
    os.close(fd)
    os.unlink(probe)


def write_atomic(data: bytes, out: Path, *, force: bool, what: str = "output file") -> None:
    """Write ``data`` to ``out`` through a temporary file in the same folder and a rename."""
    folder = check_output(out, force=force, what=what)
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


def default_output(path: Path) -> Path:
    """``deal.xlsx`` → ``deal.gpu.xlsx`` beside it (``.xlsm`` stays ``.xlsm``)."""
    suffix = path.suffix.lower() if path.suffix.lower() in (".xlsx", ".xlsm") else ".xlsx"
    return path.with_name(f"{path.stem}.gpu{suffix}")


def check_workbook_output(path: Path, out: Path, *, force: bool) -> None:
    """Before any work: ``out`` (the output of converting ``path``) is a workbook file Excel will open
    under that name, and may be written."""
    if out.is_dir():
        raise OutputError(f"is a folder; name the output workbook, such as {out / default_output(path).name}",
                          path=out)
    want = default_output(path).suffix
    got = out.suffix.lower()
    if got not in (".xlsx", ".xlsm"):
        raise OutputError(f"the output must be an Excel workbook ending {want}, not {out.suffix or 'no extension'}",
                          path=out)
    if got != want:
        raise OutputError("a macro-enabled workbook (.xlsm) keeps its extension; name the output .xlsm"
                          if want == ".xlsm" else
                          "only a macro-enabled input (.xlsm) gives an .xlsm output; name the output .xlsx", path=out)
    check_output(out, force=force)
