"""Properties of whole conversions (hypothesis over real template conversions)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.convert import CurveChoice, convert

DECLINES = st.floats(min_value=0.0, max_value=0.8, allow_nan=False)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=DECLINES, b=DECLINES)
def test_a_smaller_decline_never_lowers_the_minimum_dscr(template_copy, tmp_path, a, b):
    """The lease template's debt service is a level annuity, independent of rent: less deflation,
    more rent in every period, so coverage can only be higher."""
    src = template_copy("dc_lease_annual")
    low, high = sorted((a, b))
    gentle = convert(src, tmp_path / "gentle.xlsx", curve=CurveChoice(overrides={"d": low}), force=True)
    harsh = convert(src, tmp_path / "harsh.xlsx", curve=CurveChoice(overrides={"d": high}), force=True)
    assert gentle.metrics_after.min_dscr >= harsh.metrics_after.min_dscr - 1e-12
    assert all(g >= h - 1e-9 for g, h in zip(gentle.rent_after, harsh.rent_after))
    assert gentle.metrics_after.breaches <= harsh.metrics_after.breaches
