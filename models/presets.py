"""Named curve presets, calibrated from ``reference/gpu-market-facts.md`` §3(a).

Every number cites its source: a fact id from that file (R = rental prices,
D = declines, U = utilisation, S = secondary market) and the §3(a) table it is
taken from.  Prices are $ per GPU-hour on the 1-year-contract basis.  The
reference's continuous λ becomes ``d = 1 - exp(-λ)``; its ``ramp_years = 0.5``
becomes ``ramp_months = 6``.  Only launches after the valuation date are listed
(Blackwell 2025-03 and Blackwell Ultra 2025-10 are already in ``p0``).

Presets are merchant deals: ``c = 0``, ``contract_months = 0``, ``p_contract = p0``.
"""

from __future__ import annotations

from datetime import date

from models.curves import CurveParams, Launch, d_from_lambda

__all__ = ["PRESETS", "UnknownPresetError", "get_preset"]

# §3 header: "t is measured in years from the valuation date, which defaults to 2026-07-01".
PRICE_DATE = date(2026, 7, 1)

# §3(a) "Start prices (P0, mid-2026)", Contract / 1-yr (default) column.
P0_A100 = 1.00  # R7, R16, R20
P0_H100 = 2.40  # R10, R12, R13, R16
P0_H200 = 3.00  # R16, R19
P0_B200 = 5.00  # R12, R18

# §3(a) "Trend deflation" table, lambda column (continuous, per year).
LAMBDA_UPSIDE = 0.05  # D10, R10
LAMBDA_BASE = 0.12  # D4, D6, D7
LAMBDA_STRESS = 0.20  # D2, D3, D5, D8, D9
LAMBDA_SEVERE = 0.40  # D1

# §3(a) "Generation step-downs": ramp_years = 0.5 -> 6 months.
RAMP_MONTHS = 6

RUBIN = date(2026, 10, 1)  # Vera Rubin VR200 / NVL144 volume; kitguru, S5
RUBIN_ULTRA = date(2027, 10, 1)  # Rubin Ultra NVL576 (14x GB300 rack)
FEYNMAN = date(2028, 7, 1)  # Feynman; "new architecture every ~2 yrs"

# s_L columns of the step-down table; upside from the defaults.yaml `upside` key.
STEPS_BASE = (
    Launch(RUBIN, 0.15),  # s_L base; S5 (20-30% resale step), kept modest vs λ
    Launch(RUBIN_ULTRA, 0.10),  # s_L base
    Launch(FEYNMAN, 0.15),  # s_L base
)
STEPS_STRESS = (
    Launch(RUBIN, 0.30),  # s_L stress; S5
    Launch(RUBIN_ULTRA, 0.20),  # s_L stress
    Launch(FEYNMAN, 0.25),  # s_L stress
)
STEPS_UPSIDE = (
    Launch(RUBIN, 0.05),  # defaults.yaml launches.upside
    Launch(RUBIN_ULTRA, 0.05),  # defaults.yaml launches.upside
    Launch(FEYNMAN, 0.05),  # defaults.yaml launches.upside
)

# §3(a) "Utilisation" table, one value per deal year (years 1-2, 3-4, 5+).
UTIL_MERCHANT = (0.85, 0.85, 0.75, 0.75, 0.60)  # merchant default; U9, U10, runlocalai
UTIL_STRESS = (0.70, 0.70, 0.55, 0.55, 0.40)  # stress; U7

# §3(a) "Floor and variable cost": default floor_gpu (covers power + variable opex); R20, E6.
FLOOR_A100 = 0.20
FLOOR_H100 = 0.25
FLOOR_H200 = 0.30
FLOOR_B200 = 0.35


def _merchant(
    p0: float, lam: float, floor: float, launches: tuple[Launch, ...], util: tuple[float, ...]
) -> CurveParams:
    return CurveParams(
        price_date=PRICE_DATE,
        p0=p0,
        d=d_from_lambda(lam),
        floor=floor,
        ramp_months=RAMP_MONTHS,
        util=util,
        c=0.0,  # merchant default: no take-or-pay share
        p_contract=p0,  # unused while c = 0; the contract basis of p0
        contract_months=0,
        launches=launches,
    )


PRESETS: dict[str, CurveParams] = {
    "h100-base": _merchant(P0_H100, LAMBDA_BASE, FLOOR_H100, STEPS_BASE, UTIL_MERCHANT),
    "h100-stress": _merchant(P0_H100, LAMBDA_STRESS, FLOOR_H100, STEPS_STRESS, UTIL_STRESS),
    # Severe uses the stress step column (trend table, "Steps used").
    "h100-severe": _merchant(P0_H100, LAMBDA_SEVERE, FLOOR_H100, STEPS_STRESS, UTIL_STRESS),
    "h100-upside": _merchant(P0_H100, LAMBDA_UPSIDE, FLOOR_H100, STEPS_UPSIDE, UTIL_MERCHANT),
    "a100-base": _merchant(P0_A100, LAMBDA_BASE, FLOOR_A100, STEPS_BASE, UTIL_MERCHANT),
    "h200-base": _merchant(P0_H200, LAMBDA_BASE, FLOOR_H200, STEPS_BASE, UTIL_MERCHANT),
    "b200-base": _merchant(P0_B200, LAMBDA_BASE, FLOOR_B200, STEPS_BASE, UTIL_MERCHANT),
}
"""The shipped presets by name."""


class UnknownPresetError(KeyError, ValueError):
    """A preset name that is not in :data:`PRESETS`; ``name`` and ``known`` say which."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"preset: unknown name {self.name!r}; known: {', '.join(self.known)}"


def get_preset(name: str) -> CurveParams:
    """Return the preset called `name` (case-insensitive).

    Raises
    ------
    UnknownPresetError
        A ``KeyError`` and ``ValueError`` listing the known names.
    """
    key = name.strip().lower()
    if key not in PRESETS:
        raise UnknownPresetError(name, tuple(PRESETS))
    return PRESETS[key]
