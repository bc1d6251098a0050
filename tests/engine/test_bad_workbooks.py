"""Every error class on a broken workbook: the message names the file and, where there is one, the cell."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import TEMPLATES
from engine import session as convert_module
from engine.convert import convert
from engine.errors import (
    ConsistencyError,
    EvaluationError,
    OutputError,
    TemplateError,
    UnsafeWorkbookError,
    WorkbookTooLargeError,
)
from engine.xlsx.load import Limits, load


def _template(tmp_path: Path, name: str = "dc_lease_annual") -> Path:
    shutil.copy2(TEMPLATES / f"{name}.toml", tmp_path / f"{name}.toml")
    return Path(shutil.copy2(TEMPLATES / f"{name}.xlsx", tmp_path / f"{name}.xlsx"))


def _edited(tmp_path: Path, cell: str, value: object, sheet: str = "Model") -> Path:
    src = _template(tmp_path)
    wb = openpyxl.load_workbook(src)
    wb[sheet][cell] = value
    wb.save(src)
    return src


def test_zip_bomb_is_refused_before_decompression(tmp_path):
    src = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("_rels/.rels", "<Relationships/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 2**20))  # 50 MiB of zeros, ~50 KiB zipped
    assert src.stat().st_size < 2**20
    with pytest.raises(WorkbookTooLargeError) as err:
        load(src)
    assert "bomb.xlsx" in str(err.value) and "xl/worksheets/sheet1.xml" in str(err.value)
    with pytest.raises(WorkbookTooLargeError, match="parts"):
        load(_template(tmp_path), Limits(max_parts=3))


def test_circular_reference_that_does_not_converge_names_a_cell(tmp_path):
    src = _edited(tmp_path, "E12", "=E13*2+1")  # opex = 2·CFADS + 1 and CFADS = rent − opex: diverges
    with pytest.raises(EvaluationError) as err:
        convert(src, tmp_path / "out.xlsx")
    assert "circular reference does not converge within 100 iterations" in str(err.value)
    assert err.value.sheet == "Model" and err.value.cell
    assert f"Model!{err.value.cell}" in str(err.value)
    assert not (tmp_path / "out.xlsx").exists()


def test_text_in_the_timeline_names_the_cell(tmp_path):
    src = _edited(tmp_path, "H6", "end of year 4")
    with pytest.raises(TemplateError) as err:
        convert(src, tmp_path / "out.xlsx")
    assert "Model!H6" in str(err.value) and "expected a date" in str(err.value)


def test_text_in_the_rent_row_names_the_cell(tmp_path):
    src = _edited(tmp_path, "I11", "TBC")
    with pytest.raises(TemplateError) as err:
        convert(src, tmp_path / "out.xlsx")
    assert "Model!I11" in str(err.value) and "'TBC'" in str(err.value)


def test_divide_by_zero_in_the_rent_row_names_the_cell(tmp_path):
    src = _edited(tmp_path, "J11", "=1/0")
    with pytest.raises(TemplateError) as err:
        convert(src, tmp_path / "out.xlsx")
    assert "Model!J11" in str(err.value) and "#DIV/0!" in str(err.value)


def test_a_disagreement_between_workbook_and_model_is_never_written(tmp_path, monkeypatch):
    src = _template(tmp_path)
    real = convert_module.rent_after
    monkeypatch.setattr(convert_module, "rent_after", lambda *a, **k: real(*a, **k) * (1 + 1e-6))
    with pytest.raises(ConsistencyError) as err:
        convert(src, tmp_path / "out.xlsx")
    assert "Model!F11" in str(err.value)
    assert not (tmp_path / "out.xlsx").exists()


def test_output_folder_must_exist(tmp_path):
    src = _template(tmp_path)
    with pytest.raises(OutputError) as err:
        convert(src, tmp_path / "missing" / "out.xlsx")
    assert "does not exist" in str(err.value)
    # a path "under a file" cannot be a folder either
    with pytest.raises(OutputError):
        convert(src, src.with_suffix(".toml") / "out.xlsx")


def test_output_equal_to_input_is_refused(tmp_path):
    src = _template(tmp_path)
    before = src.read_bytes()
    with pytest.raises(Exception) as err:
        convert(src, src, force=True)
    assert "overwrite the input" in str(err.value)
    assert src.read_bytes() == before


def test_truncated_workbook(tmp_path):
    src = _template(tmp_path)
    data = src.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    from engine.errors import NotAWorkbookError

    with pytest.raises(NotAWorkbookError) as err:
        convert(src, tmp_path / "out.xlsx")
    assert str(err.value).startswith("dc_lease_annual.xlsx: ")


def test_xlsb_is_named(tmp_path):
    src = tmp_path / "deal.xlsb"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("_rels/.rels", "<Relationships/>")
        zf.writestr("xl/workbook.bin", b"\0\1")
    src.write_bytes(buf.getvalue())
    from engine.errors import NotAWorkbookError

    with pytest.raises(NotAWorkbookError, match="xlsb"):
        load(src)


@pytest.mark.parametrize("payload", [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol2;</t></si></sst>',
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&xxe;</t></si></sst>',
], ids=["billion-laughs", "external-entity"])
def test_xml_entities_are_refused(tmp_path, payload):
    src = _template(tmp_path)
    with zipfile.ZipFile(src) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    parts["xl/sharedStrings.xml"] = payload
    with zipfile.ZipFile(src, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    with pytest.raises(UnsafeWorkbookError) as err:
        convert(src, tmp_path / "out.xlsx")
    assert "xl/sharedStrings.xml" in str(err.value) and "entities" in str(err.value)
    assert not (tmp_path / "out.xlsx").exists()
