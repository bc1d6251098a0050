"""``gpucredit curve``: a preset's monthly curve as a table, and as a PNG chart (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import OutputError, ParameterError
from engine.xlsx.save import check_output
from models.curves import CurveParams, Launch, MonthlyCurve, monthly_curve
from models.periods import month_index, month_start
from models.presets import get_preset

COLUMNS = ("month", "spot", "util", "contract", "realised", "index")


def build_curve(preset: str, overrides: dict[str, Any], launches: tuple[Launch, ...] | None,
                months: int) -> tuple[CurveParams, MonthlyCurve]:
    """The preset with overrides; ``start`` defaults to ``price_date`` (no template here)."""
    if months < 1 or months > 1200:
        raise ParameterError(f"--months {months}: give between 1 and 1200 months")
    try:
        params = get_preset(preset).curve
        extra = dict(overrides)
        if launches is not None:
            extra["launches"] = launches
        params = params.with_overrides(**extra)
        if params.start is None:
            params = params.with_overrides(start=params.price_date.replace(day=1))
        assert params.start is not None
        return params, monthly_curve(params, month_index(params.start), months)
    except (KeyError, ValueError) as exc:
        raise ParameterError(str(exc).strip("'\"")) from exc


def rows(curve: MonthlyCurve) -> list[dict[str, Any]]:
    """One dict per month (ISO month start, then the curve's values)."""
    return [{"month": month_start(int(m)).isoformat(), "spot": float(curve.spot[i]), "util": float(curve.util[i]),
             "contract": float(curve.contract[i]), "realised": float(curve.realised[i]),
             "index": float(curve.index[i])} for i, m in enumerate(curve.months)]


def write_png(curve: MonthlyCurve, params: CurveParams, preset: str, path: Path, *, force: bool) -> None:
    """Draw spot and realised $/GPU-hour (left axis) and the index (right axis) to ``path``."""
    check_output(path, force=force, what="PNG file")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    dates = mdates.date2num([month_start(int(m)) for m in curve.months])  # type: ignore[no-untyped-call]
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    ax.plot(dates, curve.spot, label="spot ($/GPU-hour)", color="#2F75B5")
    ax.plot(dates, curve.realised, label="realised ($/installed GPU-hour)", color="#C00000")
    ax.set_ylabel("$ per GPU-hour")
    ax.set_ylim(bottom=0)
    for launch in params.launches:
        when = float(mdates.date2num(launch.date))  # type: ignore[no-untyped-call]
        if launch.date > params.price_date and dates[0] <= when <= dates[-1]:
            ax.axvline(when, color="#999999", linestyle=":", linewidth=1)
    right = ax.twinx()
    right.plot(dates, curve.index, label="index (start = 1)", color="#548235", linestyle="--")
    right.set_ylabel("index")
    right.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles, [str(h.get_label()) for h in handles], loc="upper right", fontsize=8)
    ax.set_title(f"GPU rent curve: {preset} (d {params.d:.3f}, floor {params.floor:g}, from "
                 f"{month_start(int(curve.months[0])):%b %Y})", fontsize=10)
    ax.xaxis_date()
    fig.autofmt_xdate()
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    except OSError as exc:
        raise OutputError(f"could not write the chart: {exc.strerror}", path=path) from exc
    finally:
        plt.close(fig)


