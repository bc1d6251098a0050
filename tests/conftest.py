"""Shared fixtures: the shipped templates, converted once per session, and LibreOffice's view of them."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from libreoffice import cached_values, recalculate

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
TEMPLATE_NAMES = ("dc_lease_annual", "gpu_ddtl_quarterly", "miner_hosting_monthly", "miner_double_leverage_monthly")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def lo_cache(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], dict[tuple[str, str], object]]:
    """LibreOffice's recalculated values of a file, computed once per file per session."""
    seen: dict[Path, dict[tuple[str, str], object]] = {}
    outdir = tmp_path_factory.mktemp("lo")

    def get(path: Path) -> dict[tuple[str, str], object]:
        if path not in seen:
            target = outdir / f"{len(seen)}"
            target.mkdir()
            seen[path] = cached_values(recalculate(path, target))
        return seen[path]

    return get


@pytest.fixture(scope="session")
def template_copy(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A private copy of a shipped template (tests never convert the shipped file in place)."""
    folder = tmp_path_factory.mktemp("templates")

    def get(name: str) -> Path:
        target = folder / f"{name}.xlsx"
        if not target.exists():
            shutil.copy2(TEMPLATES / f"{name}.xlsx", target)
            shutil.copy2(TEMPLATES / f"{name}.toml", folder / f"{name}.toml")
        return target

    return get


def parts_of(path: Path) -> dict[str, bytes]:
    """Every part of a workbook package, by name, in zip order."""
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write_parts(path: Path, parts: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """Write ``parts`` as a zip package at ``path``; returns ``path``."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def edit_cells(src: Path, target: Path, sheet: str, values: dict[str, float | None]) -> Path:
    """A copy of ``src`` with some cells of ``sheet`` set to new values, edited in the sheet's XML (openpyxl
    would drop the charts), as an analyst typing into them would; LibreOffice then recalculates the rest."""
    from openpyxl.utils.cell import coordinate_from_string, column_index_from_string

    from engine.xlsx.package import Package
    from engine.xlsx.sheet import SheetXml

    package = Package.from_bytes(src.read_bytes())
    part = package.sheet_part(sheet)
    xml = SheetXml(package.xml(part))
    for ref, value in values.items():
        letters, row = coordinate_from_string(ref)
        col = column_index_from_string(letters)
        xml.set_value(row, col, value, xml.style_of(row, col))
    package.write_xml(part, xml.root)
    target.write_bytes(package.to_bytes())
    return target
