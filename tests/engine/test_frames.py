"""The notebook view: a conversion's periods and metrics, and a batch's summary, as pandas frames that
hold exactly the numbers ``--json`` prints; and the command line never imports pandas."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, TEMPLATE_NAMES
from engine.batch import COLUMNS, plan, run_batch, summary_frame
from engine.convert import CurveChoice, convert
from engine.report.frames import PERIOD_COLUMNS


def cli_json(src: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "engine.shell.cli", "convert", src, "-o", out, "--json",
                           "--preset", "h100-stress"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def same(frame_value: float, json_value: float | None) -> bool:
    if json_value is None:
        return math.isnan(frame_value)
    return frame_value == json_value


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_the_period_frame_is_the_json(name, template_copy, tmp_path):
    src = template_copy(name)
    doc = cli_json(src, tmp_path / "cli.xlsx")
    frame = convert(src, tmp_path / "api.xlsx", curve=CurveChoice(preset="h100-stress")).periods()
    assert frame.index.name == "period_end"
    assert [d.date().isoformat() for d in frame.index] == doc["period_ends"]
    assert [d.date().isoformat() for d in frame["period_start"]] == doc["period_starts"]
    present = [c for c in PERIOD_COLUMNS if doc[c] is not None]
    assert list(frame.columns) == ["period_start", *present]
    assert {"rent_before", "rent_after", "cfads_before", "cfads_after", "debt_service_before", "dscr_after",
            "balance_after"} <= set(present)
    for column in present:
        assert frame[column].dtype == "float64"
        assert all(same(v, j) for v, j in zip(frame[column], doc[column])), column
    # collateral columns exactly where the conversion valued a fleet
    assert (doc["collateral_forced"] is None) == (doc["collateral"] is None) == ("collateral_forced" not in frame)


def test_the_metrics_frame_is_the_json(template_copy, tmp_path):
    src = template_copy("gpu_ddtl_quarterly")
    doc = cli_json(src, tmp_path / "cli.xlsx")
    frame = convert(src, tmp_path / "api.xlsx", curve=CurveChoice(preset="h100-stress")).metrics_frame()
    assert list(frame.columns) == ["before", "after"] and frame.index.name == "metric"
    assert list(frame.index) == list(doc["metrics"]["after"])
    for state in ("before", "after"):
        for metric, value in frame[state].items():
            want = doc["metrics"][state][metric]
            if isinstance(value, dt.date):
                assert value.isoformat() == want, metric
            elif isinstance(value, float) and not math.isfinite(value):
                assert want is None, metric  # --json writes null for an infinite LTV
            else:
                assert value == want, metric
    assert frame.loc["first_breach", "after"] == dt.date(2027, 9, 30)


def test_the_batch_summary_frame(template_copy, tmp_path):
    missing = tmp_path / "missing.xlsx"
    rows = run_batch(plan([template_copy("dc_lease_annual"), missing], tmp_path / "out", CurveChoice()), jobs=1,
                     timeout=120)
    frame = summary_frame(rows)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(COLUMNS) and len(frame) == 2
    assert list(frame["status"]) == ["ok", "failed"]
    assert frame.loc[0, "min_dscr_after"] == rows[0].metric("after", "min_dscr")
    assert frame.loc[0, "preset"] == "h100-base"
    assert frame.loc[1, "error"] == "missing.xlsx: no such file"


def test_the_command_line_does_not_import_pandas(template_copy, tmp_path):
    code = ("import sys\nfrom engine.shell.cli import app\n"
            "try:\n    app(sys.argv[1:])\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
            "print('pandas' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code, "convert", template_copy("dc_lease_annual"), "-o",
                           tmp_path / "out.xlsx", "--json"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "False"
