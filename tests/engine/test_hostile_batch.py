"""Hostile inputs in a batch: each is a failed row with its one-line reason, the good files still
convert, nothing is left for the bad ones; Ctrl-C keeps the finished files and leaves no partial one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from conftest import TEMPLATES


def _hostile_folder(folder: Path) -> dict[str, str]:
    """Write hostile files into ``folder``; returns file name → a word its error must contain."""
    folder.mkdir()
    (folder / "empty.xlsx").write_bytes(b"")
    (folder / "text.xlsx").write_text("not a workbook")
    (folder / "legacy.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1024)
    data = (TEMPLATES / "dc_lease_annual.xlsx").read_bytes()
    (folder / "truncated.xlsx").write_bytes(data[: len(data) // 3])
    with zipfile.ZipFile(folder / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("_rels/.rels", "<Relationships/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 2**20))
    with zipfile.ZipFile(TEMPLATES / "dc_lease_annual.xlsx") as zin, \
            zipfile.ZipFile(folder / "laughs.xlsx", "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            body = zin.read(name)
            if name == "xl/styles.xml":
                body = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>' + body[
                    body.index(b"<styleSheet"):]
            zout.writestr(name, body)
    return {"empty.xlsx": "empty", "text.xlsx": "not an Excel", "legacy.xlsx": ".xls",
            "truncated.xlsx": "", "bomb.xlsx": "bomb", "laughs.xlsx": "entities"}


def _good(folder: Path, count: int) -> list[str]:
    names = []
    for i in range(count):
        name = f"good{i}.xlsx"
        shutil.copy2(TEMPLATES / "gpu_ddtl_quarterly.xlsx", folder / name)
        shutil.copy2(TEMPLATES / "gpu_ddtl_quarterly.toml", folder / f"good{i}.toml")
        names.append(name)
    return names


def _batch(*args: str | Path) -> subprocess.Popen[str]:
    # Ctrl-C as a terminal delivers it: a suite started in the background of a shell without job
    # control (`make test &`) inherits SIGINT ignored, and the batch would rightly ignore it too.
    return subprocess.Popen([sys.executable, "-m", "engine.shell.cli", "batch", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint if os.name == "posix" else None)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_each_hostile_file_is_a_failed_row(tmp_path):
    inputs = tmp_path / "in"
    expected = _hostile_folder(inputs)
    good = _good(inputs, 2)
    digests = {p.name: p.read_bytes() for p in inputs.iterdir()}
    out = tmp_path / "out"
    proc = _batch(inputs, "--out", out, "--jobs", "2", "--summary", tmp_path / "summary.json")
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 1, stderr
    rows = {Path(r["file"]).name: r for r in json.loads((tmp_path / "summary.json").read_text())}
    for name, word in expected.items():
        row = rows[name]
        assert row["status"] == "failed" and row["error"].startswith(f"{name}: "), row
        assert word in row["error"] and "\n" not in row["error"]
        assert not (out / name.replace(".xlsx", ".gpu.xlsx")).exists()
    for name in good:
        assert rows[name]["status"] == "ok" and (out / name.replace(".xlsx", ".gpu.xlsx")).is_file()
    assert {p.name: p.read_bytes() for p in inputs.iterdir()} == digests  # inputs untouched
    assert sorted(p.name for p in out.iterdir()) == sorted(n.replace(".xlsx", ".gpu.xlsx") for n in good)


def test_ctrl_c_keeps_finished_files_and_leaves_no_partial_one(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    good = _good(inputs, 12)
    out = tmp_path / "out"
    proc = _batch(inputs, "--out", out, "--jobs", "1")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out.is_dir() and any(out.glob("*.gpu.xlsx"))):
        time.sleep(0.05)
    assert out.is_dir() and any(out.glob("*.gpu.xlsx")), "no file finished in time"
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    finished = sorted(out.glob("*.gpu.xlsx"))
    assert 1 <= len(finished) < len(good)
    for path in finished:  # every file left is a whole workbook
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None and "xl/workbook.xml" in zf.namelist()
    assert [p for p in out.iterdir() if not p.name.endswith(".gpu.xlsx")] == []  # no temporary files
