"""The cases the fuzz runs (benchmarks/fuzz.py) found, replayed: each now converts or fails with a
specific GpuCreditError, within the time limit, leaving nothing behind."""

from __future__ import annotations

import pytest

from fuzz_cases import Mutation, mutated_bytes, run_case

F64 = 1.1754943508222875e-38
FOUND = [
    Mutation("dc_lease_annual", "cell", "formula_junk", "xl/worksheets/sheet1.xml", (22, "1E+309")),
    Mutation("dc_lease_annual", "cell", "formula_junk", "xl/worksheets/sheet2.xml", (116, "'[1]Sheet1'!A1")),
    Mutation("dc_lease_annual", "xml", "set_attribute", "xl/styles.xml", (2, 2, "-inf")),
    Mutation("gpu_ddtl_quarterly", "package", "flip_bytes", "xl/worksheets/sheet2.xml",
             ((F64, 114), (0.0004835061785453122, 107), (0.931330829877197, 204), (F64, 88),
              (2.220446049250313e-16, 188), (0.7200858907211155, 99), (0.9443916952856524, 143),
              (0.810940456840668, 34))),
    Mutation("gpu_ddtl_quarterly", "package", "flip_bytes", "xl/worksheets/sheet1.xml",
             ((0.959067762445748, 208), (0.16643007782954314, 168), (0.616438358877821, 103),
              (0.55912313918122, 208))),
    # a 2,000-case run (seed 1): the engine lost a sheet while tracing what the rent reaches
    Mutation("dc_lease_annual", "xml", "rename_element", "xl/workbook.xml", (4547, "row", False)),
    Mutation("dc_lease_annual", "xml", "delete_bytes", "xl/workbook.xml", (0.7321760044106053, 33)),
    # over 10 s in the 10,000-case run, which shared the machine with a test suite: 1.3 s and 0.6 s alone
    Mutation("dc_lease_annual", "xml", "set_attribute", "[Content_Types].xml", (67, 19, "n[Ą𘣘ủ")),
    Mutation("gpu_ddtl_quarterly", "cell", "move_cell", "xl/worksheets/sheet1.xml", (242, "A1")),
    # the 10,000-case run after the engine's copy got its formulas rewritten (every sheet with
    # formulas parsed first): cell addresses and row numbers Excel never writes, 126 cases
    Mutation("dc_lease_annual", "cell", "move_cell", "xl/worksheets/sheet2.xml", (1326, "1A")),
    Mutation("gpu_ddtl_quarterly", "cell", "move_cell", "xl/worksheets/sheet3.xml", (3787, "R1C1")),
    Mutation("gpu_ddtl_quarterly", "xml", "set_attribute", "xl/worksheets/sheet1.xml", (481, 9, ";")),
    Mutation("dc_lease_annual", "xml", "set_attribute", "xl/worksheets/sheet1.xml", (17, 17, "inf")),
    Mutation("gpu_ddtl_quarterly", "xml", "set_attribute", "xl/worksheets/sheet2.xml", (185, 15, "1e999")),
    # half the cases without a profile (issue 16), 400 cases, seed 0: openpyxl, which detection reads the
    # workbook with, refused parts that load() had let through — now refused at load, naming the part
    Mutation("dc_lease_annual", "xml", "delete_attribute", "xl/_rels/workbook.xml.rels", (1669, 4), profile=False),
    Mutation("gpu_ddtl_quarterly", "xml", "delete_attribute", "xl/_rels/workbook.xml.rels", (7733, 0),
             profile=False),
    Mutation("dc_lease_annual", "xml", "inject_text", "docProps/core.xml", (7, 7, "\U0002ca55\xee"), profile=False),
    Mutation("dc_lease_annual", "xml", "delete_attribute", "[Content_Types].xml", (2916, 13), profile=False),
    Mutation("dc_lease_annual", "xml", "inject_text", "docProps/core.xml", (6868, 20, "0\xa0\u0134"), profile=False),
    Mutation("gpu_ddtl_quarterly", "xml", "delete_attribute", "xl/workbook.xml", (6738, 0), profile=False),
    # the same with seed 1: no content type said which part is the workbook
    Mutation("gpu_ddtl_quarterly", "xml", "rename_element", "[Content_Types].xml", (3013, "v", False), profile=False),
    Mutation("gpu_ddtl_quarterly", "xml", "set_attribute", "xl/styles.xml", (8711, 0, "99999999"), profile=False),
]


@pytest.mark.parametrize("mutation", FOUND, ids=[f"{m.level}-{m.op}-{i}" for i, m in enumerate(FOUND)])
def test_fuzz_finding_is_handled(mutation, tmp_path):
    outcome = run_case(mutated_bytes(mutation), tmp_path, template=mutation.template, profile=mutation.profile)
    assert outcome.kind in ("converted", "error"), (outcome.kind, outcome.traceback[-2000:])
    assert outcome.seconds < 10
    assert outcome.input_unchanged and not outcome.output_left
    if outcome.kind == "error":
        assert "\n" not in outcome.message and outcome.message.startswith(f"{mutation.template}.xlsx: ")


def test_an_unreadable_shared_formula_is_an_error_not_a_crash(tmp_path):
    """Found reviewing the engine's copy: a shared group whose master text openpyxl cannot tokenize."""
    import shutil

    from conftest import TEMPLATES, parts_of, write_parts
    from engine.convert import convert
    from engine.errors import GpuCreditError

    src = tmp_path / "dc_lease_annual.xlsx"
    shutil.copy2(TEMPLATES / "dc_lease_annual.toml", tmp_path / "dc_lease_annual.toml")
    parts = parts_of(TEMPLATES / "dc_lease_annual.xlsx")
    sheet = parts["xl/worksheets/sheet2.xml"].replace(
        b'<c r="E11" s="20"><f>Inputs!$C$12*E8</f>',
        b'<c r="E11" s="20"><f t="shared" ref="E11:F11" si="90">SUM(E8:E9)&amp;"abc</f>', 1)
    parts["xl/worksheets/sheet2.xml"] = sheet.replace(
        b'<c r="F11" s="20"><f>E11*(1+Inputs!$C$13)*F8</f>', b'<c r="F11" s="20"><f t="shared" si="90"/>', 1)
    assert parts["xl/worksheets/sheet2.xml"].count(b'si="90"') == 2
    write_parts(src, parts)
    try:  # converts (the engine reads the text its own way) or fails cleanly; never a TokenizerError
        convert(src, tmp_path / "out.xlsx")
    except GpuCreditError as err:
        assert str(err).startswith("dc_lease_annual.xlsx: ") and "\n" not in str(err)
        assert not (tmp_path / "out.xlsx").exists()


STYLE_REFERENCES = [
    # (part, original, replacement, named in the message)
    ("xl/styles.xml", b'fontId="1" fillId="0" borderId="0" pivotButton="0" quotePrefix="0" xfId="0"',
     b'fontId="1" fillId="0" borderId="0" pivotButton="0" quotePrefix="0" xfId="7"', "xfId=7 in cellXfs"),
    ("xl/styles.xml", b'fontId="1" fillId="0"', b'fontId="40" fillId="0"', "fontId=40"),
    # the 1,000-case run with seed 4: a number format id past the built-in ones that numFmts does not define
    ("xl/styles.xml", b'<xf numFmtId="0" fontId="1"', b'<xf numFmtId="99999999" fontId="1"', "numFmtId=99999999"),
    ("xl/worksheets/sheet2.xml", b'<c r="E11" s="20">', b'<c r="E11" s="99999">', "Model!E11"),
    ("xl/worksheets/sheet2.xml", b'min="2" max="2"', b'min="2" max="99999999999999999999"', "column range max"),
    ("xl/worksheets/sheet2.xml", b'<col width="10" customWidth="1"', b'<col width="10" style="500" customWidth="1"',
     "style index 500"),
]


@pytest.mark.parametrize(("part", "old", "new", "needle"), STYLE_REFERENCES,
                         ids=["xfId", "fontId", "numFmtId", "cell-style", "huge-column", "column-style"])
@pytest.mark.parametrize("profile", [True, False], ids=["profile", "detection"])
def test_a_style_reference_past_the_styles_part_is_refused_at_load(tmp_path, part, old, new, needle, profile):
    """Found sweeping attribute values without a profile: openpyxl printed "N is out of range" on stdout and
    raised IndexError for an xfId past cellStyleXfs; such references are now refused at load, whichever path
    the conversion takes, and nothing reaches stdout."""
    import shutil
    import subprocess
    import sys

    from conftest import ROOT, TEMPLATES, parts_of, write_parts

    parts = parts_of(TEMPLATES / "dc_lease_annual.xlsx")
    assert parts[part].count(old) >= 1
    parts[part] = parts[part].replace(old, new, 1)
    src = write_parts(tmp_path / "dc_lease_annual.xlsx", parts)
    if profile:
        shutil.copy2(TEMPLATES / "dc_lease_annual.toml", tmp_path)
    proc = subprocess.run([sys.executable, "-m", "engine.shell.cli", "convert", src, "--json"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1 and proc.stdout == "", (proc.stdout, proc.stderr)
    line = proc.stderr.strip()
    assert "\n" not in line and line.startswith("error: dc_lease_annual.xlsx: ") and "Excel never writes" in line
    assert needle in line, line
