"""The one metric table: every metric once, with a unit, a computation, a live formula or a reason, and n/a
(never 0) when a line it needs is missing."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields, replace

import numpy as np
import pytest

from engine.report.metric_table import METRICS, NEEDS, measure, missing
from models.credit import CreditInputs, CreditMetrics

ENDS = tuple(dt.date(2026 + i, 12, 31) for i in range(3))
FULL = CreditInputs(ENDS, cfads=np.array([130.0, 90.0, 120.0]), debt_service=np.array([100.0, 100.0, 100.0]),
                    template_dscr=np.array([1.3, 0.9, 1.2]), balance=np.array([200.0, 100.0, 0.0]),
                    interest=np.array([15.0, 10.0, 5.0]), covenant=1.25, orderly_value=np.array([150.0, 80.0, 40.0]),
                    forced_value=np.array([90.0, 50.0, 20.0]))


def test_one_entry_per_metric_and_each_says_how_it_is_computed():
    assert [m.key for m in METRICS] == [f.name for f in fields(CreditMetrics)]
    for metric in METRICS:
        assert metric.label and metric.needs and all(n in NEEDS for n in metric.needs)
        assert (metric.excel is None) == bool(metric.not_live), metric.key


@pytest.mark.parametrize("line", ["cfads", "debt_service", "template_dscr", "balance", "interest", "covenant",
                                  "orderly_value", "forced_value"])
def test_a_missing_line_makes_what_needs_it_na(line):
    x = replace(FULL, **{line: None})
    got = measure(x)
    for metric in METRICS:
        if missing(metric, x) is not None:
            assert getattr(got, metric.key) is None, metric.key
    assert all(getattr(measure(FULL), m.key) is not None or m.key in ("mismatch_date", "mismatch_balance",
                                                                       "mismatch_months") for m in METRICS)
