"""Hostile and broken workbooks (issue #7): a clear one-line error, nothing written, the input untouched.

Complements ``test_bad_workbooks.py`` (zip bomb, DTD/XXE, truncated, .xlsb, circular reference, errors
in the rent row, ...) and ``test_cli_convert.py`` (empty, not a zip, .xls, missing sheet, existing
output). Every case here asserts the error class, that the one-line message names the file (and the
sheet and cell where there is one), that no output or temporary file is left, and that the input's
bytes are unchanged; a few also run the CLI and assert exit code 1. The last test fuzzes.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import fuzz_cases
import openpyxl
import pytest
from conftest import ROOT, TEMPLATES, parts_of, write_parts
from hypothesis import HealthCheck, given, settings

from engine.xlsx import save as workbook_module
from engine.convert import convert
from engine.errors import (
    EvaluationError,
    GpuCreditError,
    NotAWorkbookError,
    OutputError,
    ExternalLinkError,
    UnsafeWorkbookError,
    WorkbookTooLargeError,
)
from engine.xlsx.load import Limits, load

NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"


# -- helpers ------------------------------------------------------------------------------------------
def template(folder: Path, name: str = "dc_lease_annual") -> Path:
    shutil.copy2(TEMPLATES / f"{name}.toml", folder / f"{name}.toml")
    return Path(shutil.copy2(TEMPLATES / f"{name}.xlsx", folder / f"{name}.xlsx"))


def edit_part(path: Path, part: str, old: bytes, new: bytes, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    parts = parts_of(path)
    assert old in parts[part], f"{old!r} not in {part}"
    parts[part] = parts[part].replace(old, new, 1)
    return write_parts(path, parts, compression)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refused(src: Path, out: Path, error: type[GpuCreditError], *needles: str) -> GpuCreditError:
    """Convert ``src`` expecting ``error``; check the message, the untouched input and the empty output.

    The message starts with the input's name, or the output's for an :class:`OutputError`.
    """
    digest = sha256(src)
    before = sorted(p.name for p in out.parent.iterdir()) if out.parent.is_dir() else []
    with pytest.raises(error) as info:
        convert(src, out)
    message = str(info.value)
    named = out if error is OutputError else src
    assert "\n" not in message and message.startswith(f"{named.name}: "), message
    for needle in needles:
        assert needle in message, message
    assert sha256(src) == digest
    assert not out.exists()
    if out.parent.is_dir():
        assert sorted(p.name for p in out.parent.iterdir()) == before  # no temporary file either
    return info.value


def cli(*args: str | Path, without_privileges: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the CLI; ``without_privileges`` drops every capability (as root, folder permissions then
    apply as they do to anyone), keeping the user, so the project and its venv stay readable even from
    a 0700 folder."""
    command = [sys.executable, "-m", "engine.shell.cli", *map(str, args)]
    if without_privileges and os.geteuid() == 0:
        command = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all", *command]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def assert_cli_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


# -- package limits -----------------------------------------------------------------------------------
def test_too_many_parts(tmp_path):
    src = template(tmp_path)
    parts = parts_of(src)
    parts.update({f"customXml/item{i}.xml": b"<a/>" for i in range(10_001)})  # tiny parts, 10,011 in all
    write_parts(src, parts)
    err = refused(src, tmp_path / "out.xlsx", WorkbookTooLargeError, "10,011 parts", "limit of 10,000")
    assert err.sheet is None
    assert_cli_error(cli("convert", src, "-o", tmp_path / "out.xlsx"), "dc_lease_annual.xlsx", "10,011 parts")
    assert not (tmp_path / "out.xlsx").exists()


def test_many_small_parts_that_expand_together_are_a_bomb(tmp_path):
    src = tmp_path / "bomb.xlsx"
    parts = parts_of(TEMPLATES / "dc_lease_annual.xlsx")
    parts.update({f"xl/media/pad{i}.bin": b"\0" * (2**20 - 1) for i in range(40)})  # each under the 1 MiB rule
    write_parts(src, parts)
    refused(src, tmp_path / "out.xlsx", WorkbookTooLargeError, "fold", "zip bomb")


@pytest.mark.parametrize(("flag_bits", "method", "needle"), [
    (0x1, zipfile.ZIP_DEFLATED, "encrypted inside the zip"),
    (0x0, zipfile.ZIP_LZMA, "compression method 14"),
], ids=["zip-encrypted-member", "lzma-member"])
def test_zip_members_excel_never_writes(tmp_path, flag_bits, method, needle):
    src = template(tmp_path)
    parts = parts_of(src)
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = method if name == "xl/styles.xml" else zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    if flag_bits:  # set the "encrypted" flag on the member in the central directory and the local header
        raw = bytearray(src.read_bytes())
        for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = raw.find(signature)
            while at != -1:
                if b"xl/styles.xml" in raw[at: at + 80]:
                    raw[at + offset] |= flag_bits
                at = raw.find(signature, at + 4)
        src.write_bytes(bytes(raw))
    refused(src, tmp_path / "out.xlsx", NotAWorkbookError, "xl/styles.xml", needle)


def test_corrupt_deflate_stream_is_a_damaged_package(tmp_path):
    src = template(tmp_path)
    raw = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as zf:
        info = zf.getinfo("xl/worksheets/sheet2.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 40, start + 60):  # garble the compressed data, keep the zip directory intact
        raw[i] ^= 0x5A
    src.write_bytes(bytes(raw))
    refused(src, tmp_path / "out.xlsx", NotAWorkbookError, "damaged", "re-save it in Excel")


# -- OLE containers -----------------------------------------------------------------------------------
def ole_container(stream_names: list[str]) -> bytes:
    """The OLE magic, a sector of header and directory entries naming ``stream_names`` (UTF-16LE)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    header = header.ljust(512, b"\0")
    entries = b""
    for name in ["Root Entry", *stream_names]:
        encoded = (name + "\0").encode("utf-16-le")
        entries += (encoded.ljust(64, b"\0") + len(encoded).to_bytes(2, "little")).ljust(128, b"\0")
    return header + entries.ljust(512, b"\0")


def test_password_protected_workbook(tmp_path):
    src = tmp_path / "locked.xlsx"
    src.write_bytes(ole_container(["EncryptionInfo", "EncryptedPackage", "\x06DataSpaces"]))
    refused(src, tmp_path / "out.xlsx", NotAWorkbookError, "password-protected", "remove the password",
            "save it as .xlsx")
    proc = cli("convert", src, "-o", tmp_path / "out.xlsx")
    assert_cli_error(proc, "locked.xlsx", "password-protected")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["locked.xlsx"]


def test_legacy_xls_is_not_called_password_protected(tmp_path):
    src = tmp_path / "old.xls"
    src.write_bytes(ole_container(["Workbook", "\x05SummaryInformation"]))
    err = refused(src, tmp_path / "out.xlsx", NotAWorkbookError, "legacy .xls", "save it as .xlsx")
    assert "is password-protected" not in str(err)


# -- XML that is not well-formed, or nested or sized to exhaust the parser ------------------------------
@pytest.mark.parametrize(("part", "old", "new", "needle"), [
    ("xl/worksheets/sheet2.xml", b"</sheetData>", b"</sheetdata>", "xl/worksheets/sheet2.xml"),
    ("xl/styles.xml", b"<", b"<<", "xl/styles.xml"),
    ("xl/_rels/workbook.xml.rels", b"<Relationships", b"\xff\xfe<Relationships", "xl/_rels/workbook.xml.rels"),
    ("xl/worksheets/sheet1.xml", b"<sheetData>", b"<sheetData>" + b"<x>" * 300 + b"</x>" * 300,
     "Excessive depth"),
    ("docProps/core.xml", b"</cp:coreProperties>", b"<x>" + b"y" * 11_000_000 + b"</x></cp:coreProperties>",
     "Text node too long"),
], ids=["mismatched-tag", "stray-bracket", "bad-encoding", "too-deep", "huge-text-node"])
def test_xml_that_is_not_well_formed_names_the_part(tmp_path, part, old, new, needle):
    src = edit_part(template(tmp_path), part, old, new, zipfile.ZIP_STORED)  # stored: no ratio to trip on
    refused(src, tmp_path / "out.xlsx", NotAWorkbookError, needle, "not well-formed")


def test_dtd_after_a_long_comment_is_still_refused(tmp_path):
    """The quick check reads the first 4 KiB; the streaming scan sees a DTD wherever the prolog puts it."""
    payload = (b'<?xml version="1.0"?><!--' + b"x" * 8000 + b'--><!DOCTYPE lolz [<!ENTITY lol "lol">'
               b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><sst ' + NS + b"><si><t>&lol2;</t></si></sst>")
    src = template(tmp_path)
    parts = parts_of(src)
    parts["xl/sharedStrings.xml"] = payload
    write_parts(src, parts)
    refused(src, tmp_path / "out.xlsx", UnsafeWorkbookError, "xl/sharedStrings.xml", "entities")


# -- cells per sheet and formula length -----------------------------------------------------------------
def test_a_sheet_filled_to_row_1048576_is_refused_while_streaming(tmp_path):
    src = template(tmp_path)
    rows = b"".join(b'<row r="%d"><c r="P%d"><v>1</v></c></row>' % (r, r) for r in range(46, 1_048_577))
    edit_part(src, "xl/worksheets/sheet2.xml", b"</sheetData>", rows + b"</sheetData>")
    err = refused(src, tmp_path / "out.xlsx", WorkbookTooLargeError, "Model: ", "more than 1,000,000 cells",
                  "max_cells_per_sheet")
    assert err.sheet == "Model"


def test_one_cell_on_the_last_row_is_not_a_reason_to_refuse(tmp_path):
    """Reaching row 1,048,576 is allowed; holding a million cells is what costs memory."""
    src = edit_part(template(tmp_path), "xl/worksheets/sheet2.xml", b"</sheetData>",
                    b'<row r="1048576"><c r="A1048576"><v>7</v></c></row></sheetData>')
    digest = sha256(src)
    result = convert(src, tmp_path / "out.xlsx")
    assert result.output.is_file() and sha256(src) == digest


def test_cells_per_sheet_limit_is_configurable(tmp_path):
    src = template(tmp_path)
    with pytest.raises(WorkbookTooLargeError, match="more than 100 cells") as err:
        load(src, Limits(max_cells_per_sheet=100))
    assert err.value.sheet == "Model"
    load(src, Limits(max_cells_per_sheet=1_000))  # the template's largest sheet holds fewer
    with pytest.raises(ValueError, match="max_cells_per_sheet"):
        Limits(max_cells_per_sheet=0)


def test_a_formula_longer_than_excel_allows(tmp_path):
    src = edit_part(template(tmp_path), "xl/worksheets/sheet2.xml", b"<f>E4+1</f>",
                    b"<f>E4" + b"+0" * 4_500 + b"</f>")
    err = refused(src, tmp_path / "out.xlsx", WorkbookTooLargeError, "Model!F4", "9,002 characters",
                  "8,192-character limit")
    assert (err.sheet, err.cell) == ("Model", "F4")
    assert_cli_error(cli("convert", src, "-o", tmp_path / "out.xlsx"), "dc_lease_annual.xlsx: Model!F4")


def _slow(folder: Path) -> Path:
    """The lease template plus a sheet of 3,000 SUMPRODUCTs over 3,000 rows (about 20 s to recalculate)."""
    import openpyxl

    src = template(folder)
    wb = openpyxl.load_workbook(src)
    ws = wb.create_sheet("Slow")
    for row in range(1, 3001):
        ws.cell(row, 1, row)
        ws.cell(row, 2, f"=SUMPRODUCT(A$1:A$3000*(A$1:A$3000>{row}))")
    wb.save(src)
    return src


def test_evaluation_time_is_limited(tmp_path):
    src = _slow(tmp_path)
    digest = sha256(src)
    started = time.perf_counter()
    with pytest.raises(EvaluationError, match="took longer than the 0.2 s limit") as err:
        convert(src, tmp_path / "out.xlsx", limits=Limits(max_eval_seconds=0.2))
    assert time.perf_counter() - started < 10  # stopped, not run to the end
    assert str(err.value).startswith("dc_lease_annual.xlsx: ") and "\n" not in str(err.value)
    assert sha256(src) == digest and not (tmp_path / "out.xlsx").exists()
    assert_cli_error(cli("convert", src, "-o", tmp_path / "out.xlsx", "--max-eval-seconds", "0.2"),
                     "dc_lease_annual.xlsx: ", "--max-eval-seconds")
    with pytest.raises(ValueError, match="max_eval_seconds"):
        Limits(max_eval_seconds=0)


# -- external links -------------------------------------------------------------------------------------
EXTERNAL_LINK = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><externalLink ' + NS
                 + b' xmlns:r="' + REL + b'"><externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/>'
                 b'</sheetNames><sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1"><v>1</v></cell>'
                 b"</row></sheetData></sheetDataSet></externalBook></externalLink>")


def with_external_link(src: Path, target: bytes) -> Path:
    """Add ``xl/externalLinks/externalLink1.xml`` pointing at ``target``, as Excel writes it."""
    parts = parts_of(src)
    parts["xl/externalLinks/externalLink1.xml"] = EXTERNAL_LINK
    parts["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.'
        b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="' + REL
        + b'/externalLinkPath" Target="' + target + b'" TargetMode="External"/></Relationships>')
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Type="' + REL + b'/externalLink" Target="externalLinks/externalLink1.xml"'
        b' Id="rId9"/></Relationships>')
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"<definedNames/>", b'<externalReferences><externalReference xmlns:r="' + REL + b'" r:id="rId9"/>'
        b"</externalReferences><definedNames/>")
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>')
    return write_parts(src, parts)


def test_a_formula_using_an_external_link_reads_excels_stored_value_and_nothing_is_fetched(tmp_path):
    """As Excel does when one answers "Don't update": the value Excel stored for the link (1 in
    Sheet1!A1 of the link part), never the linked file, with a note in the output and --json."""
    src = with_external_link(template(tmp_path), b"http://127.0.0.1:9/deal_inputs.xlsx")
    edit_part(src, "xl/worksheets/sheet2.xml", b"<f>E4+1</f>", b"<f>'[1]Sheet1'!A1+1</f>")
    result = convert(src, tmp_path / "out.xlsx")
    assert openpyxl.load_workbook(result.output, data_only=True)["Model"]["F4"].value == 2  # 1 + 1
    assert result.external_links == [{"index": 1, "workbook": "deal_inputs.xlsx", "formulas": 1, "cells": ["Model!F4"]}]
    assert any("deal_inputs.xlsx" in note and "stored" in note for note in result.notes)
    proc = cli("convert", src, "-o", tmp_path / "out2.xlsx", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["external_links"][0]["workbook"] == "deal_inputs.xlsx"


def test_a_formula_using_a_link_without_stored_values_is_refused(tmp_path):
    src = with_external_link(template(tmp_path), b"http://127.0.0.1:9/deal_inputs.xlsx")
    parts = parts_of(src)
    part = parts["xl/externalLinks/externalLink1.xml"]
    parts["xl/externalLinks/externalLink1.xml"] = part[:part.index(b"<sheetDataSet>")] + part[
        part.index(b"</sheetDataSet>") + len(b"</sheetDataSet>"):]
    write_parts(src, parts)
    edit_part(src, "xl/worksheets/sheet2.xml", b"<f>E4+1</f>", b"<f>'[1]Sheet1'!A1+1</f>")
    err = refused(src, tmp_path / "out.xlsx", ExternalLinkError, "Model!F4", "[1] = deal_inputs.xlsx",
                  "stored no values", "never opens linked files")
    assert (err.sheet, err.cell) == ("Model", "F4")


def test_a_reference_to_a_link_the_workbook_does_not_list_is_refused(tmp_path):
    src = with_external_link(template(tmp_path), b"file:///C:/deals/inputs.xlsx")
    edit_part(src, "xl/worksheets/sheet2.xml", b"<f>E4+1</f>", b"<f>'[2]Sheet1'!A1+1</f>")
    refused(src, tmp_path / "out.xlsx", ExternalLinkError, "Model!F4", "[2]", "does not list")


def test_an_unused_defined_name_at_another_workbook_does_not_block(tmp_path):
    src = with_external_link(template(tmp_path), b"file:///C:/deals/inputs.xlsx")
    edit_part(src, "xl/workbook.xml", b"<definedNames/>",
              b'<definedNames><definedName name="Rate">[1]Sheet1!$A$1</definedName></definedNames>')
    result = convert(src, tmp_path / "out.xlsx")
    assert result.external_links == [] and result.notes == ()


def test_an_unused_external_link_passes_through_unchanged(tmp_path):
    """A stale link no formula uses is common; it is kept as it is and never followed."""
    src = with_external_link(template(tmp_path), b"http://127.0.0.1:9/deal_inputs.xlsx")
    edit_part(src, "xl/worksheets/sheet2.xml", b"<f>E4+1</f>", b'<f>E4+1+0*LEN("[1]Sheet1!A1")</f>')
    digest = sha256(src)
    convert(src, tmp_path / "out.xlsx")
    assert sha256(src) == digest
    assert parts_of(tmp_path / "out.xlsx")["xl/externalLinks/externalLink1.xml"] == EXTERNAL_LINK


# -- the output -----------------------------------------------------------------------------------------
def test_an_output_folder_that_cannot_be_written(tmp_path):
    """Root ignores folder permissions unless it runs without its capabilities, so as root the CLI runs
    under setpriv with none (as the same user: a project cloned into a 0700 folder stays readable)."""
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.fail("the test needs setpriv (util-linux) to drop root's capabilities")
    src = template(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    locked.chmod(0o555)
    digest = sha256(src)
    try:
        proc = cli("convert", src, "-o", locked / "out.xlsx", without_privileges=True)
        assert_cli_error(proc, "out.xlsx", "cannot write in", "Permission denied")
        assert list(locked.iterdir()) == [] and sha256(src) == digest
    finally:
        locked.chmod(0o755)


def test_an_output_path_under_a_file(tmp_path):
    src = template(tmp_path)
    refused(src, src / "out.xlsx", OutputError, "is a file, not a folder")
    assert_cli_error(cli("convert", src, "-o", src / "out.xlsx"), "out.xlsx", "is a file, not a folder")


@pytest.mark.parametrize("failure", ["fsync", "replace"])
def test_a_write_that_fails_midway_leaves_nothing(tmp_path, monkeypatch, failure):
    src = template(tmp_path)

    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(workbook_module.os, failure, disk_full)
    refused(src, tmp_path / "out.xlsx", OutputError, "could not write the output", "No space left on device")


def test_an_existing_output_survives_a_failed_forced_write(tmp_path, monkeypatch):
    src = template(tmp_path)
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"the analyst's previous output")

    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(workbook_module.os, "fsync", disk_full)
    with pytest.raises(OutputError):
        convert(src, out, force=True)
    assert out.read_bytes() == b"the analyst's previous output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dc_lease_annual.toml", "dc_lease_annual.xlsx", "out.xlsx"]


def test_ctrl_c_during_the_write_leaves_nothing(tmp_path, monkeypatch):
    src = template(tmp_path)

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(workbook_module.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        convert(src, tmp_path / "out.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dc_lease_annual.toml", "dc_lease_annual.xlsx"]


# -- fuzzing ----------------------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutation=fuzz_cases.mutations())
def test_a_mutated_template_converts_or_fails_cleanly(tmp_path, mutation):
    """Each case runs in its own process under a 10 s limit (see ``benchmarks/fuzz.py`` for 10,000)."""
    outcome = fuzz_cases.run_case(fuzz_cases.mutated_bytes(mutation), tmp_path / "case", template=mutation.template,
                                  profile=mutation.profile)
    assert outcome.kind in ("converted", "error"), f"{mutation}: {outcome.kind} {outcome.error_class}\n" \
                                                   f"{outcome.message}\n{outcome.traceback}"
    assert outcome.input_unchanged, str(mutation)
    assert not outcome.output_left, str(mutation)
    if outcome.kind == "error":
        assert "\n" not in outcome.message and outcome.message.startswith(f"{mutation.template}.xlsx: "), \
            f"{mutation}: {outcome.message}"
