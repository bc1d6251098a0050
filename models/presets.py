"""The preset registry: one :class:`Preset` per name, holding the rent curve and the collateral model.

Adding a preset is one entry in :data:`PRESETS`; the CLI (``--preset`` and its help), the xlwings
functions, ``gpucredit curve`` and the docs all read the names from here.

Each number below says where it comes from; ``docs/sources.md`` gives the same sources in full.
Prices are $ per GPU-hour on the one-year-contract basis. A continuous decline rate λ becomes
``d = 1 - exp(-λ)``; launch steps phase in over six months. Only launches after the price date
are listed (Blackwell, 2025-03, and Blackwell Ultra, 2025-10, are already in ``p0``).

Presets are merchant deals: ``c = 0``, ``contract_months = 0``, ``p_contract = p0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.params import CollateralParams, CurveParams, Launch, d_from_lambda
from models.validate import closest

__all__ = ["DEFAULT_PRESET", "PARAM_SOURCES", "PRESETS", "Preset", "UnknownPresetError", "get_preset", "preset_names"]

# The preset a conversion uses when none is chosen.
DEFAULT_PRESET = "h100-base"

# Mid-2026: the date the start prices below were observed.
PRICE_DATE = date(2026, 7, 1)

# Start prices, one-year-contract basis, mid-2026.
# A100: AWS Capacity Blocks p4d $1.844 (late 2024); long-tail/specialty on demand $0.80-1.50
# (mercatus-ai.com, 2026-05); an A100 40GB spot print at $0.25 (DataCrunch, 2026-04).
P0_A100 = 1.00
# H100: SemiAnalysis one-year contract index $1.70 (2025-10) -> $2.35 (2026-03) -> ~$2.65 (2026-06)
# ("The Great GPU Shortage", 2026-04-02); Silicon Data neocloud index $2.43-2.63 (Q1 2026).
P0_H100 = 2.40
# H200: on demand $2.50-4.50 by provider tier (mercatus-ai.com, 2026-05); RunPod $3.59, Spheron $4.54 (2026-03).
P0_H200 = 3.00
# B200: Silicon Data index 4.40 -> 6.11 -> 5.48 (Q1 2026); specialty clouds $4.50-6.00 (lyceum.technology, 2026-03).
P0_B200 = 5.00

# Trend decline, continuous, per year.
# Upside: the 2026 shortage (H100 contracts +40 % from 2025-10 to 2026-03, SemiAnalysis); Kerrisdale
# (via useluminix.com): even -10 %/yr erases a five-year H100 contract's return.
LAMBDA_UPSIDE = 0.05
# Base: A100 on AWS -18 %/yr 2020-24 (derived); H100 $2.85 (early 2024) -> $1.70 (2025-10), -26 %/yr;
# lenders' 15-20 %/yr (USD.AI FAQ) and 20 %/yr (calculator.silicon.net).
LAMBDA_BASE = 0.12
# Stress: H100 one-year $7.20 (AWS P5 reserved, nextplatform.com 2023-07-27) -> $2.35 (2026-03), -34 %/yr;
# Epoch AI price-performance -28 to -30 %/yr (2022; data hub 2024-10-23).
LAMBDA_STRESS = 0.20
# Severe: H100 one-year $7.20 (2023-07) -> $1.70 trough (2025-10), -47 %/yr, peak to trough.
LAMBDA_SEVERE = 0.40

# Each launch step phases in over about two quarters from volume availability (a judgement).
RAMP_MONTHS = 6

# Launch dates (volume availability), shared by the rent curve and the collateral model.
RUBIN = date(2026, 10, 1)  # Vera Rubin VR200 / NVL144: volume 2H 2026 (kitguru; GTC 2026 reports)
RUBIN_ULTRA = date(2027, 10, 1)  # Rubin Ultra NVL576: volume 2H 2027 (kitguru; tomshardware roadmap)
FEYNMAN = date(2028, 7, 1)  # Feynman: announced for 2028; a new architecture about every two years

# Rent steps at each launch. Evidence for their size: H100 -30 % in two months (2024-10, SemiAnalysis);
# H100 -22 %, H200 -29 % in 2025 as Blackwell ramped (pcnewstoday.com, 2025-10-17); resale values step
# down 20-30 % per new architecture (GPU Lease Rate Index, 2026-01-08). Base steps are modest because
# the base trend already holds part of that decline.
STEPS_BASE = (
    Launch(RUBIN, 0.15),
    Launch(RUBIN_ULTRA, 0.10),  # a refresh of the same architecture: a smaller step
    Launch(FEYNMAN, 0.15),
)
STEPS_STRESS = (
    Launch(RUBIN, 0.30),
    Launch(RUBIN_ULTRA, 0.20),
    Launch(FEYNMAN, 0.25),
)
STEPS_UPSIDE = (  # a judgement: small steps when demand outruns supply
    Launch(RUBIN, 0.05),
    Launch(RUBIN_ULTRA, 0.05),
    Launch(FEYNMAN, 0.05),
)

# Utilisation per deal year (years 1-2, 3-4, 5 on).
# Merchant: Kerrisdale's base case 87 % (via useluminix.com, 2026); >80 % for a 50 % gross margin
# (disintermediate.global); 70 % breakeven (runlocalai.co).
UTIL_MERCHANT = (0.85, 0.85, 0.75, 0.75, 0.60)
# Stress: a judgement, ageing GPUs losing training demand first (the useful-life critique, 2025-11).
UTIL_STRESS = (0.70, 0.70, 0.55, 0.55, 0.40)

# Floors: power and variable cost (H100 ~1.28 kW at the wall x PUE 1.3 x $0.09/kWh, EIA 2025-26,
# ~$0.15/h, plus an assumed $0.05 variable opex) or the cheapest legacy prints (A100 $0.25, 2026-04),
# whichever is higher.
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


# -- collateral -----------------------------------------------------------------------
VALUATION_DATE = PRICE_DATE  # the fleet is valued new at the price date
# Resale step per launch: 0.15 a major launch, 0.10 an Ultra refresh ("values step down 20-30 %" per
# new architecture, GPU Lease Rate Index 2026-01-08; amcompute: prior-generation resale "drops
# significantly within 12-18 months", 2026-03).
RESALE_STEPS_BASE = (Launch(RUBIN, 0.15), Launch(RUBIN_ULTRA, 0.10), Launch(FEYNMAN, 0.15))
# Stress: the top half of that 20-30 % range.
RESALE_STEPS_STRESS = (Launch(RUBIN, 0.25), Launch(RUBIN_ULTRA, 0.20), Launch(FEYNMAN, 0.25))
# Upside: 0.10 per launch, an ASSUMPTION below the base steps (no source gives one).
RESALE_STEPS_UPSIDE = (Launch(RUBIN, 0.10), Launch(RUBIN_ULTRA, 0.10), Launch(FEYNMAN, 0.10))
H_INFRA_STRESS = 2 * 0.15  # the liquid-cooled HGX site haircut, doubled under stress

# All-in $ per GPU including the server share.
COST_H100 = 35_000.0  # new H100 $25-40k, 8-GPU server $250-400k -> $31-50k a GPU; the low middle
COST_A100 = 15_000.0  # ASSUMPTION: only used A100 prices found ($4-18k, computeforecast.com)
COST_H200 = 38_000.0  # ASSUMPTION: used H200 $28-31k (runlocalai.co, Q1 2026) plus a server share like the H100's
COST_B200 = 50_000.0  # ASSUMPTION: B200 retail $40-43k (runlocalai.co, Q1 2026) plus a server share
# mu, h_liq, h_infra, repossession costs and market depth (monthly_volume 2,000 is itself an
# ASSUMPTION, stated for H100 only) are the defaults of CollateralParams for every GPU
# (docs/sources.md); no per-GPU values were found.


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
    # Severe pairs the severe trend with the stress steps.
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
    "price_date": "mid-2026, when the start prices were observed",
    "p0": "one-year contract prices, mid-2026: SemiAnalysis H100 one-year contract index (2026-04-02), Silicon Data "
          "indices (Q1 2026), provider price bands (mercatus-ai.com, 2026-05), AWS Capacity Blocks (late 2024)",
    "d": "d = 1 - exp(-lambda): base 0.12 (A100 -18 %/yr 2020-24, lenders' 15-20 %/yr), stress 0.20 (H100 one-year "
         "contracts -34 %/yr 2023-26, Epoch AI price-performance), severe 0.40 (H100 peak to trough 2023-25), "
         "upside 0.05 (the 2026 shortage)",
    "floor": "power and variable cost per GPU-hour, or the cheapest legacy GPU prints (2026)",
    "ramp_months": "each launch step phased in over about two quarters (a judgement)",
    "util": "merchant: Kerrisdale's 87 % base case and >80 % for a 50 % gross margin; stress: a judgement",
    "c": "presets are merchant: no take-or-pay share",
    "p_contract": "presets are merchant: unused while c = 0",
    "contract_months": "presets are merchant: no take-or-pay share",
    "launches": "Rubin 2026-10-01, Rubin Ultra 2027-10-01, Feynman 2028-07-01 (NVIDIA's roadmap); steps from the "
                "2024-25 rent falls as new generations shipped and 20-30 % resale steps",
}
"""Where each curve parameter of the presets comes from, in one line each for memos; ``docs/sources.md``
gives publishers, addresses and dates."""


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
