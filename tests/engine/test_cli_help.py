"""``gpucredit --help`` and every command's help read as finished text: no space before a period or a
comma (where a default went missing), every option with a default shows it, flags show no value
placeholder, and ``--jobs`` shows the CPU count it really defaults to."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import typer

from conftest import ROOT
from engine.shell.cli import app

WIDE = 400  # every option on one line, so a line is one option's row


def help_text(*command: str) -> str:
    env = {**os.environ, "COLUMNS": str(WIDE), "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "engine.shell.cli", *command, "--help"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_every_command_is_scanned():
    assert {"convert", "inspect", "batch", "check", "curve"} <= set(COMMANDS)


@pytest.mark.parametrize("command", [(), *((c,) for c in COMMANDS)], ids=["gpucredit", *COMMANDS])
def test_help_reads_as_finished_text(command):
    text = help_text(*command)
    assert not re.search(r"\w\s+[.,;](\s|$)", text), re.findall(r".{30}\w\s+[.,;](?:\s|$)", text)
    assert "<bool>" not in text
    assert "[default: ]" not in text and "()" not in text


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_with_a_default_shows_it(command):
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    rows = help_text(command).splitlines()
    for param in click_command.params:
        flag = getattr(param, "is_flag", False)
        if param.param_type_name != "option" or flag or param.required or param.default is None:
            continue
        name = max(param.opts, key=len)
        row = next(line for line in rows if f" {name} " in line)
        assert "[default: " in row, (command, name, row)


def test_jobs_defaults_to_the_cpu_count_and_says_so():
    from engine.shell.options import CPU_COUNT

    row = next(line for line in help_text("batch").splitlines() if " --jobs " in line)
    assert f"[default: {CPU_COUNT}]" in row and "CPU count" in row
    assert CPU_COUNT == (os.cpu_count() or 1)


def test_defaults_that_are_a_rule_are_spelt_out():
    convert = help_text("convert")
    assert "INPUT.gpu.xlsx beside the input" in convert
    assert "INPUT.toml beside the input, else detection" in convert
    assert "Output workbook ." not in convert and "Template profile (.toml) ." not in convert


HEAVY = ("numpy", "pandas", "scipy", "openpyxl", "formualizer", "lxml", "dask", "matplotlib")


@pytest.mark.parametrize("command", [(), ("convert",), ("stress",)])
def test_help_loads_no_engine_or_numerical_library(command):
    # `gpucredit --help` should answer at once: the engine and the numerical stack load when a command runs
    code = ("import runpy, sys\nsys.argv = ['gpucredit', *sys.argv[1:], '--help']\n"
            "try:\n    runpy.run_module('engine.shell.cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            f"sys.stderr.write(repr(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n")
    proc = subprocess.run([sys.executable, "-c", code, *command], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stderr.strip().splitlines()[-1] == "[]", proc.stderr
