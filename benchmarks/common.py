"""What both benchmarks share: the repository root, the machine header and the template glob."""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine_header() -> list[str]:
    """Date, machine and Python lines printed at the top of every benchmark run."""
    return [
        f"date:     {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"machine:  {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs",
        f"python:   {platform.python_implementation()} {platform.python_version()}",
    ]


def template_paths(parser: argparse.ArgumentParser, pattern: str) -> list[Path]:
    """Templates matching ``pattern`` (relative to the repository root unless absolute)."""
    full = pattern if os.path.isabs(pattern) else str(ROOT / pattern)
    paths = [Path(p) for p in sorted(glob.glob(full))]
    if not paths:
        parser.error(f"no templates match {pattern}")
    return paths
