"""The preset registry: one :class:`Preset` per name, holding the rent curve and the collateral model.

Adding a preset is one entry in :data:`PRESETS`; the CLI (``--preset`` and its help), the xlwings
functions, ``gpucredit curve`` and the docs all read the names from here.

Curve presets are calibrated from ``reference/gpu-market-facts.md`` §3(a).

Every number cites its source: a fact id from that file (R = rental prices,
D = declines, U = utilisation, S = secondary market) and the §3(a) table it is
taken from.  Prices are $ per GPU-hour on the 1-year-contract basis.  The
reference's continuous λ becomes ``d = 1 - exp(-λ)``; its ``ramp_years = 0.5``
becomes ``ramp_months = 6``.  Only launches after the valuation date are listed
(Blackwell 2025-03 and Blackwell Ultra 2025-10 are already in ``p0``).

Presets are merchant deals: ``c = 0``, ``contract_months = 0``, ``p_contract = p0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.params import CollateralParams, CurveParams, Launch, d_from_lambda
from models.validate import closest

__all__ = ["PARAM_SOURCES", "PRESETS", "Preset", "UnknownPresetError", "get_preset", "preset_names"]

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

# Launch dates (volume availability), shared by the rent curve and the collateral model (§1.4).
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


# -- collateral (§3(b)) ---------------------------------------------------------------
VALUATION_DATE = PRICE_DATE  # §3 header: t in years from 2026-07-01 (collateral §3(b))
# r_L, §3(b): 0.15 per major launch, 0.10 for Ultra refreshes.
RESALE_STEPS_BASE = (Launch(RUBIN, 0.15), Launch(RUBIN_ULTRA, 0.10), Launch(FEYNMAN, 0.15))
# Stress: S5 "when a new architecture ships, values step down 20-30 %" (§3(b) range 0.20-0.30).
RESALE_STEPS_STRESS = (Launch(RUBIN, 0.25), Launch(RUBIN_ULTRA, 0.20), Launch(FEYNMAN, 0.25))
# Upside: 0.10 per launch, an ASSUMPTION below the base steps (the reference gives none).
RESALE_STEPS_UPSIDE = (Launch(RUBIN, 0.10), Launch(RUBIN_ULTRA, 0.10), Launch(FEYNMAN, 0.10))
H_INFRA_STRESS = 2 * 0.15  # §3(b) h_infra "stress: double these" (DLC HGX 0.15)

# All-in $ per GPU including the server share (§3(b) C0).
COST_H100 = 35_000.0  # S1: new $25-40k, 8-GPU server $250-400k -> $31-50k/GPU; mid-low pick
COST_A100 = 15_000.0  # ASSUMPTION: S2 quotes only used A100 at $4-18k; no new price in §1.7
COST_H200 = 38_000.0  # ASSUMPTION: S3 used H200 $28-31k plus a server share like the H100's
COST_B200 = 50_000.0  # ASSUMPTION: S3 B200 retail $40-43k plus a server share
# mu, h_liq, h_infra, repo costs and depth (monthly_volume 2,000 is itself an ASSUMPTION,
# stated for H100 only) are the §3(b) defaults for every SKU; the reference has no per-SKU values.


def _collateral(cost: float, launches: tuple[Launch, ...], h_infra: float = 0.15) -> CollateralParams:
    return CollateralParams(VALUATION_DATE, launches=launches, h_infra=h_infra, cost_per_gpu=cost)


# -- the registry ----------------------------------------------------------------------
@dataclass(frozen=True)
class Preset:
    """A named starting point: the rent curve and the collateral model of one GPU and one view.

    Attributes
    ----------
    name : str
        The name users type (``--preset h100-stress``), lower case.
    curve : CurveParams
        The rent curve's parameters.
    collateral : CollateralParams
        The residual-value and forced-sale parameters of the same GPU.
    summary : str
        One line for ``--help`` and the docs.
    """

    name: str
    curve: CurveParams
    collateral: CollateralParams
    summary: str


def _entry(name: str, summary: str, curve: CurveParams, collateral: CollateralParams) -> tuple[str, Preset]:
    return name, Preset(name, curve, collateral, summary)


PRESETS: dict[str, Preset] = dict((
    _entry("h100-base", "H100, base deflation (lambda 0.12) and launch steps",
           _merchant(P0_H100, LAMBDA_BASE, FLOOR_H100, STEPS_BASE, UTIL_MERCHANT),
           _collateral(COST_H100, RESALE_STEPS_BASE)),
    _entry("h100-stress", "H100, stress deflation (lambda 0.20), deeper steps, lower utilisation",
           _merchant(P0_H100, LAMBDA_STRESS, FLOOR_H100, STEPS_STRESS, UTIL_STRESS),
           _collateral(COST_H100, RESALE_STEPS_STRESS, H_INFRA_STRESS)),
    # Severe uses the stress step column (trend table, "Steps used").
    _entry("h100-severe", "H100, severe deflation (lambda 0.40) with the stress steps",
           _merchant(P0_H100, LAMBDA_SEVERE, FLOOR_H100, STEPS_STRESS, UTIL_STRESS),
           _collateral(COST_H100, RESALE_STEPS_STRESS, H_INFRA_STRESS)),
    _entry("h100-upside", "H100, mild deflation (lambda 0.05), small steps",
           _merchant(P0_H100, LAMBDA_UPSIDE, FLOOR_H100, STEPS_UPSIDE, UTIL_MERCHANT),
           _collateral(COST_H100, RESALE_STEPS_UPSIDE)),
    _entry("a100-base", "A100, base deflation", _merchant(P0_A100, LAMBDA_BASE, FLOOR_A100, STEPS_BASE, UTIL_MERCHANT),
           _collateral(COST_A100, RESALE_STEPS_BASE)),
    _entry("h200-base", "H200, base deflation", _merchant(P0_H200, LAMBDA_BASE, FLOOR_H200, STEPS_BASE, UTIL_MERCHANT),
           _collateral(COST_H200, RESALE_STEPS_BASE)),
    _entry("b200-base", "B200, base deflation", _merchant(P0_B200, LAMBDA_BASE, FLOOR_B200, STEPS_BASE, UTIL_MERCHANT),
           _collateral(COST_B200, RESALE_STEPS_BASE)),
))
"""The shipped presets by name; add one here and every interface offers it."""


PARAM_SOURCES: dict[str, str] = {
    "price_date": "§3 header: prices observed 2026-07-01",
    "p0": "§3(a) start prices, 1-year contract column (A100 R7, R16, R20; H100 R10, R12, R13, R16; H200 R16, R19; "
          "B200 R12, R18)",
    "d": "§3(a) trend deflation, d = 1 - exp(-lambda): base 0.12 (D4, D6, D7), stress 0.20 (D2, D3, D5, D8, D9), "
         "severe 0.40 (D1), upside 0.05 (D10, R10)",
    "floor": "§3(a) floor and variable cost: floor_gpu covers power and variable opex (R20, E6)",
    "ramp_months": "§3(a) generation step-downs: ramp_years 0.5",
    "util": "§3(a) utilisation by deal year: merchant U9, U10; stress U7",
    "c": "presets are merchant: no take-or-pay share",
    "p_contract": "presets are merchant: unused while c = 0",
    "contract_months": "presets are merchant: no take-or-pay share",
    "launches": "Rubin 2026-10-01, Rubin Ultra 2027-10-01, Feynman 2028-07-01; steps §3(a) s_L (S5)",
}
"""Where each curve parameter of the presets comes from (the project's GPU market reference), for memos."""


def preset_names() -> tuple[str, ...]:
    """The names of the presets, in registry order."""
    return tuple(PRESETS)


class UnknownPresetError(KeyError, ValueError):
    """A preset name that is not in :data:`PRESETS`; ``name``, ``known`` and ``suggestion`` say which."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known
        self.suggestion = closest(name, known)

    def __str__(self) -> str:
        hint = f"did you mean {self.suggestion}? " if self.suggestion else ""
        return f"preset: unknown name {self.name!r}; {hint}known: {', '.join(self.known)}"


def get_preset(name: str) -> Preset:
    """Return the preset called `name` (case-insensitive).

    Raises
    ------
    UnknownPresetError
        A ``KeyError`` and ``ValueError`` listing the known names and the closest one.
    """
    key = name.strip().lower()
    if key not in PRESETS:
        raise UnknownPresetError(name, preset_names())
    return PRESETS[key]
