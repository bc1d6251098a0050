"""What a user reads stands on its own: README, docs/, every command's ``--help`` and the GPU_Curve
sheet's note cite nothing outside the repository (no design notes, no reference files, no paths of
the machine they were written on), and every repository file they name exists."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import typer

from conftest import ROOT
from engine.shell.cli import app

FORBIDDEN = re.compile(r"DESIGN(\.md)?\b|\.\./shared|gpu-market-facts|reference/|/work/|/home/|/root/|"
                       r"/tmp/|fact R\d|§\s?\d")
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
# a file of this repository named in backticks or a link: `docs/curve.md`, (docs/batch.md), `models/presets.py`
REPO_PATH = re.compile(r"(?<![\w/.])((?:docs|engine|models|tests|benchmarks|templates)/[\w./-]+"
                       r"\.(?:md|py|toml|png|xlsx|xlsm))")


def test_the_docs_are_found():
    assert len(DOCS) >= 10 and ROOT / "docs" / "curve.md" in DOCS and ROOT / "docs" / "sources.md" in DOCS


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_a_doc_cites_nothing_outside_the_repository(doc):
    text = doc.read_text()
    assert not FORBIDDEN.search(text), [m.group() for m in FORBIDDEN.finditer(text)]
    base = doc.parent
    for name in REPO_PATH.findall(text):
        assert (ROOT / name).exists() or (base / name).exists(), f"{doc.name} names {name}, not in the repository"
    for target in re.findall(r"\]\(([^)#\s]+)", text):  # markdown links and images
        if not re.match(r"https?://", target):
            assert (base / target).resolve().is_relative_to(ROOT) and (base / target).exists(), target


@pytest.mark.parametrize("command", [(), *((c,) for c in sorted(typer.main.get_command(app).commands))])
def test_help_cites_nothing_outside_the_repository(command):
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "engine.shell.cli", *command, "--help"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0 and not FORBIDDEN.search(proc.stdout), FORBIDDEN.findall(proc.stdout)


def test_the_gpu_curve_note_states_the_model(template_copy, tmp_path):
    from engine.convert import convert

    out = convert(template_copy("dc_lease_annual"), tmp_path / "out.xlsx").output
    note = openpyxl.load_workbook(out)["GPU_Curve"]["A2"].value
    assert not FORBIDDEN.search(note), note
    assert "spot = max(floor, p0·(1−d)^(n/12)" in note and "docs/curve.md" in note


def test_the_code_says_what_it_means_instead_of_citing_design_sections():
    offenders = []
    for path in [*ROOT.glob("engine/**/*.py"), *ROOT.glob("models/**/*.py"), *ROOT.glob("benchmarks/*.py"),
                 *ROOT.glob("tests/**/*.py"), *ROOT.glob("templates/**/*.py")]:
        if path == Path(__file__):
            continue
        text = path.read_text()
        if re.search(r"DESIGN(\.md)?\s*§|gpu-market-facts|reference/|\.\./shared", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_memo_names_sources_a_reader_can_find():
    """The memo prints each preset parameter's source: in words, never an id into a file users don't have."""
    from models.presets import PARAM_SOURCES

    for name, source in PARAM_SOURCES.items():
        assert not FORBIDDEN.search(source) and not re.search(r"\b[RDUSE]\d{1,2}\b", source), (name, source)
