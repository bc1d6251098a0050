"""The edges a new user meets in the first hour (issue 16), each as it was reproduced: now a one-line
error with exit 1 or 2 and no traceback, or the corrected behaviour."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from conftest import ROOT, TEMPLATES, sha256

LONG = "meridian_capital_partners_gpu_facility_2026"  # two files that differ only at the end of the name


def run(*args: str | Path, columns: int = 80, without_privileges: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "engine.shell.cli", *map(str, args)]
    if without_privileges and os.geteuid() == 0:  # root ignores folder permissions unless it drops its capabilities
        command = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all", *command]
    env = {**os.environ, "COLUMNS": str(columns), "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str, code: int = 1) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def template(folder: Path, name: str = "dc_lease_annual", stem: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem or name
    shutil.copy2(TEMPLATES / f"{name}.xlsx", folder / f"{stem}.xlsx")
    shutil.copy2(TEMPLATES / f"{name}.toml", folder / f"{stem}.toml")
    return folder / f"{stem}.xlsx"


# -- batch: where the outputs go --------------------------------------------------------------------
def test_batch_out_that_is_a_file(tmp_path):
    src = template(tmp_path / "in")
    (tmp_path / "taken").write_text("a file")
    one_line_error(run("batch", src, "--out", tmp_path / "taken"), "output folder", "is a file, not a folder")


def test_batch_out_that_cannot_be_created(tmp_path):
    src = template(tmp_path / "in")
    (tmp_path / "taken").write_text("a file")
    one_line_error(run("batch", src, "--out", tmp_path / "taken" / "sub"), "cannot create the output folder",
                   "Not a directory")


def test_batch_out_under_a_read_only_parent(tmp_path):
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.fail("the test needs setpriv (util-linux) to drop root's capabilities")
    src = template(tmp_path / "in")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        one_line_error(run("batch", src, "--out", locked / "out", without_privileges=True),
                       "cannot create the output folder", "Permission denied")
        one_line_error(run("batch", src, "--out", locked, without_privileges=True),
                       "cannot write in the output folder", "Permission denied")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


# -- batch: names with brackets, globs, the table, the summary -------------------------------------
@pytest.fixture(scope="module")
def batch_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    folder = tmp_path_factory.mktemp("edges")
    inbox = folder / "in"
    bracketed = template(inbox, stem="deal [v2]")
    first = template(inbox, "gpu_ddtl_quarterly", f"{LONG}_v1")
    second = template(inbox, "gpu_ddtl_quarterly", f"{LONG}_v2")
    broken = inbox / f"{LONG}_v3.xlsx"
    broken.write_text("not a workbook")
    (folder / "empty").mkdir()
    proc = run("batch", bracketed, first, second, broken, inbox / "nothing*.xlsx", folder / "empty",
               "--out", folder / "out", "--summary", folder / "out" / "summary.xlsx", "--jobs", "2")
    return proc, folder


def test_a_bracketed_name_is_a_file_and_prints_as_itself(batch_run):
    proc, folder = batch_run
    assert (folder / "out" / "deal [v2].gpu.xlsx").is_file()
    assert "deal [v2].xlsx" in proc.stdout


def test_an_unmatched_glob_and_an_empty_folder_are_failed_rows(batch_run):
    proc, folder = batch_run
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert "error: nothing*.xlsx: no such file, and no .xlsx/.xlsm file matches it as a pattern" in errors
    assert "error: empty: the folder holds no .xlsx/.xlsm templates" in errors
    assert any(line.startswith(f"error: {LONG}_v3.xlsx: ") for line in errors)
    assert len(errors) == 3


def test_the_table_at_80_columns_tells_files_apart_and_says_why_one_failed(batch_run):
    proc, _ = batch_run
    lines = proc.stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= 80, proc.stdout
    shown = [line.split()[0] for line in lines if line.startswith("meridi")]
    assert len(shown) == 3 and len(set(shown)) == 3, proc.stdout  # v1, v2, v3: each readable, each distinct
    assert [n[-8:] for n in shown] == ["_v1.xlsx", "_v2.xlsx", "_v3.xlsx"]
    header = next(line for line in lines if line.startswith("file"))
    assert header.split() == ["file", "min", "DSCR", "1st", "breach", "breaches", "result"]
    v1 = next(line for line in lines if line.startswith(shown[0]))
    assert v1.split()[-1] == "ok" and "→" in v1
    words = " ".join(proc.stdout.split())
    assert "failed: not an Excel .xlsx/.xlsm workbook" in words  # the reason, wrapped in its column
    assert "failed: no such file, and no .xlsx/.xlsm file matches it as a pattern" in words


def test_the_summary_workbook_has_the_credit_columns(batch_run):
    _, folder = batch_run
    ws = openpyxl.load_workbook(folder / "out" / "summary.xlsx").active
    header = [c.value for c in ws[1]]
    for column in ("preset", "mode", "min_llcr_before", "min_llcr_after", "total_shortfall_before",
                   "total_shortfall_after", "recovery_at_breach_before", "recovery_at_breach_after"):
        assert column in header, column
    rows = [dict(zip(header, (c.value for c in row))) for row in ws.iter_rows(min_row=2)]
    assert [r["preset"] for r in rows] == ["h100-base"] * 6
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 3 and all(r["total_shortfall_after"] >= r["total_shortfall_before"] >= 0 for r in ok)
    quarterly = [r for r in ok if r["file"].endswith("_v1.xlsx")][0]
    assert quarterly["min_llcr_after"] < quarterly["min_llcr_before"]
    assert 0 < quarterly["recovery_at_breach_after"] < 1 and quarterly["mode"] == "index"


def test_a_second_run_refuses_to_replace_the_summary(batch_run):
    _, folder = batch_run
    summary = folder / "out" / "summary.xlsx"
    digest = sha256(summary)
    again = run("batch", folder / "in" / "deal [v2].xlsx", "--out", folder / "out", "--summary", summary)
    one_line_error(again, "summary.xlsx", "summary file exists", "--force")
    assert "force=True" not in again.stderr
    assert sha256(summary) == digest


# -- convert: the output path --------------------------------------------------------------------------
@pytest.mark.parametrize("force", [False, True], ids=["plain", "forced"])
def test_output_that_is_a_folder(tmp_path, force):
    src = template(tmp_path)
    (tmp_path / "somedir").mkdir()
    one_line_error(run("convert", src, "-o", tmp_path / "somedir", *(["--force"] if force else [])),
                   "somedir", "is a folder", "dc_lease_annual.gpu.xlsx")
    assert list((tmp_path / "somedir").iterdir()) == []


@pytest.mark.parametrize(("name", "needle"), [("out.csv", "must be an Excel workbook ending .xlsx, not .csv"),
                                              ("out", "not no extension"),
                                              ("out.xlsm", "only a macro-enabled input (.xlsm)")],
                         ids=["csv", "no-suffix", "xlsm-from-xlsx"])
def test_output_that_is_not_an_xlsx(tmp_path, name, needle):
    src = template(tmp_path)
    one_line_error(run("convert", src, "-o", tmp_path / name), needle)
    assert not (tmp_path / name).exists()


def test_a_macro_enabled_input_keeps_xlsm(tmp_path):
    src = tmp_path / "button.xlsm"
    shutil.copy2(TEMPLATES / "excel" / "gpucredit_button.xlsm", src)
    one_line_error(run("convert", src, "-o", tmp_path / "out.xlsx"), "name the output .xlsm")


def test_a_bracketed_output_name_prints_as_itself(tmp_path):
    src = template(tmp_path, stem="deal [v2]")
    proc = run("convert", src, columns=200)
    assert proc.returncode == 0, proc.stderr
    assert "deal [v2].gpu.xlsx" in proc.stdout and (tmp_path / "deal [v2].gpu.xlsx").is_file()


def test_an_existing_output_says_force_on_the_command_line_and_force_true_from_python(tmp_path):
    from engine.convert import convert
    from engine.errors import OutputExistsError

    src = template(tmp_path)
    (tmp_path / "out.xlsx").write_bytes(b"previous")
    line = one_line_error(run("convert", src, "-o", tmp_path / "out.xlsx"), "out.xlsx", "pass --force")
    assert "force=True" not in line
    with pytest.raises(OutputExistsError) as info:
        convert(src, tmp_path / "out.xlsx")
    assert "pass force=True" in str(info.value) and "--force" not in str(info.value)
    assert (tmp_path / "out.xlsx").read_bytes() == b"previous"


# -- convert: parameters ------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["convert", "batch"])
def test_a_misspelt_preset_suggests_the_name_and_does_not_blame_the_file(tmp_path, command):
    src = template(tmp_path)
    extra = ["--out", tmp_path / "out"] if command == "batch" else []
    line = one_line_error(run(command, src, "--preset", "h100-strss", *extra),
                          "preset: unknown name 'h100-strss'; did you mean h100-stress?", "h100-base")
    assert line.startswith("error: preset: ") and "dc_lease_annual" not in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "dc_lease_annual.gpu.xlsx").exists()


def test_an_unknown_sale_channel_lists_the_channels(tmp_path):
    line = one_line_error(run("convert", template(tmp_path), "--collateral", "h_liq=firesale"), "h_liq", "firesale")
    for channel in ("orderly", "broker", "auction", "distressed"):
        assert channel in line


def test_a_flag_takes_no_value(tmp_path):
    proc = run("convert", template(tmp_path), "--force", "true")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_the_python_api_reads_override_texts_as_the_cli_does():
    from engine.convert import CurveChoice
    from engine.errors import ParameterError
    from engine.report.metrics import CollateralChoice
    from engine.template.profile import read_profile

    profile = read_profile(TEMPLATES / "dc_lease_annual.toml")
    params = CurveChoice(overrides={"util": "0.9", "d": "0.3", "launches": "2027-10-01:0.2"}).params(profile)
    assert params.util == (0.9,) and params.d == 0.3 and [launch.step for launch in params.launches] == [0.2]
    assert CurveChoice(overrides={"util": "0.9,0.8"}).params(profile).util == (0.9, 0.8)
    with pytest.raises(ParameterError, match="did you mean h100-stress"):
        CurveChoice(preset="h100-strss")
    with pytest.raises(ParameterError, match="d: "):
        CurveChoice(overrides={"d": "1.5"})
    with pytest.raises(ParameterError, match="channels: orderly"):
        CurveChoice(collateral=CollateralChoice({"h_liq": "firesale"}))
    assert CollateralChoice({"h_liq": "auction"}).overrides == {"h_liq": "auction"}


def test_json_lists_the_documented_keys(tmp_path):
    proc = run("convert", template(tmp_path, "gpu_ddtl_quarterly"), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    readme = (ROOT / "README.md").read_text()
    listed = readme[readme.index("| `--json` | print one JSON object: `"):].split("`")[3]
    top = {key.strip().split("{")[0] for key in _top_level(listed)}
    assert top == set(doc), top ^ set(doc)
    assert {"reconciliation", "unverified", "kept_excel_values"} <= top


def _top_level(listed: str) -> list[str]:
    """The comma-separated keys of the README's list, ignoring commas inside ``{…}``."""
    keys, depth, word = [], 0, ""
    for ch in listed:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            keys.append(word)
            word = ""
        else:
            word += ch
    return keys + [word]


@pytest.mark.parametrize(("args", "code"), [(["--help"], 0), (["convert", "no-such.xlsx"], 1), (["--bogus"], 2)])
def test_the_command_ends_with_its_exit_code_and_runs_what_waits_for_the_exit(args, code):
    # main() skips the interpreter's teardown only when nothing waits for the exit (engine.shell.cli._end):
    # a callback registered with atexit (a batch's worker pool registers one) must still run.
    script = ("import atexit, sys\nfrom engine.shell.cli import main\n"
              "atexit.register(lambda: print('exit callback ran', flush=True))\n"
              f"sys.argv = ['gpucredit', *{args!r}]\nmain()\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert proc.returncode == code, proc.stderr
    assert proc.stdout.rstrip().endswith("exit callback ran")
