"""The words detection reads labels by (``engine/template/detect/search.py``): rent tiers, debt-line patterns, names.

Every pattern is matched on a :func:`normalise`-d label (lower case, punctuation as spaces).
"""

from __future__ import annotations

import re

from models.periods import Frequency

_PUNCT = re.compile(r"[–—\-_/:;,|&+*=#.]+")
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
RENT_WORDS = re.compile(r"\b(rent|rents|rental|rentals|lease|leases|leasing|sublease)\b")
GPU_WORDS = re.compile(r"\b(hosting|colocation|co location|colo|compute|gpu|gpus|capacity|cloud|take or pay|"
                       r"contracted|tenant|licen[cs]e|subscription|occupancy)\b")
INCOME_WORDS = re.compile(r"\b(revenue|revenues|income|sales|turnover|receipts|fees?|charges?|payments?|proceeds)\b")
REVENUE_WORDS = re.compile(r"\b(revenue|revenues|income|sales|turnover|receipts)\b")
SAVINGS_WORDS = re.compile(r"\b(savings?|avoided|value of)\b")
# a rent-worded label that is not the rent line itself: parameters, counters, costs, balances
NOT_RENT = re.compile(
    r"\b(total|subtotal|escalat\w*|indexation|index|growth|inflation|rate|holiday|free|term|tenor|start|end|"
    r"date|dates|expir\w*|flag|count|expense|expenses|cost|costs|opex|paid|payable|ground|deposit|receivable|"
    r"reserve|cumulative|cum|npv|pv|deferred|adjustment|liability|asset|right of use|rou|depreciation|"
    r"amorti[sz]ation|vacancy|debt|principal|interest|check|memo|percent|share|split|mining|bitcoin|btc|tax|"
    r"taxes|discount|incentive|incentives|abatement|commission|commissions|margin)\b"
    r"|\b(lease|rent|rental|contract) (year|month|quarter|period|day)s?\b")
NOT_REVENUE = re.compile(r"\b(net|other|operating|ebitda|noi|before|after|per)\b")

METRICS: dict[str, tuple[tuple[re.Pattern[str], ...], re.Pattern[str] | None]] = {
    # name: (patterns in order of preference, exclusions); matched on the normalised label
    "dscr": ((re.compile(r"^dscr\b|\bdscr$|\bdscr\b"), re.compile(r"debt service cover")),
             re.compile(r"\b(min|minimum|average|avg|target|covenant|lock ?up|default|required|threshold|check|"
                        r"breach|breaches|flag|test|headroom|cushion|sculpt\w*|llcr|plcr)\b")),
    "cfads": ((re.compile(r"\bcfads\b"), re.compile(r"cash flow available for debt( service)?"),
               re.compile(r"cash available for debt( service)?|\bcads\b")),
              re.compile(r"\b(npv|pv|total|cumulative|after|dscr|cover\w*)\b")),
    "debt_service": ((re.compile(r"^(total )?debt service$"), re.compile(r"\btotal debt service\b"),
                      re.compile(r"\bdebt service\b"), re.compile(r"\b(total )?p (and )?i\b|\bdebt payments?\b|"
                                                                  r"\bloan payments?\b")),
                     re.compile(r"\b(cover\w*|dscr|ratio|reserve|dsra|check|after|cumulative|npv|pv|available|"
                                r"cfads|account)\b")),
    "closing_balance": ((re.compile(r"\bclosing (debt |loan )?balance\b|\bclosing debt\b"),
                         re.compile(r"\bend(ing)? (of period )?(loan |debt )?balance\b|\bbalance end\b"),
                         re.compile(r"\b(outstanding|loan|debt) balance\b|\bbalance c ?f\b")),
                        re.compile(r"\b(opening|beginning|begin|start|average|reserve|dsra|cash|remaining with)\b")),
    "interest": ((re.compile(r"^(scheduled )?interest( paid| expense| payment| payments| charge)?$"),
                  re.compile(r"\binterest (paid|expense|payment|payments)\b")),
                 re.compile(r"\b(rate|capitali[sz]ed|income|received|reserve|cumulative|cover\w*|accrued|%)\b")),
    "principal": ((re.compile(r"^(scheduled )?principal( repayment| repayments| payment| payments| repaid)?$|"
                              r"^(scheduled )?repayments?$"),
                   re.compile(r"\bprincipal (repayment|payment|repaid)s?\b|\bamorti[sz]ation\b")),
                  re.compile(r"\b(rate|outstanding|balance|cumulative|%|profile|xtra|extra|early|prepay\w*)\b")),
}
COVENANT = re.compile(r"covenant|default dscr|min(imum)? dscr|dscr (covenant|threshold|minimum|floor|default)|"
                      r"required dscr|dscr required|dscr test level")
COVENANT_WEAK = re.compile(r"lock ?up|distribution|target|sculpt")
START_LABEL = re.compile(r"\b(start|starts|starting|commencement|commences|begin|beginning|financial close|"
                         r"close date|closing date|cod|first period|operations date|operation date)\b")
START_PREFERRED = re.compile(r"\b(model|period|timeline|cash ?flow|forecast|projection|operations?|lease|cod)\b")
NOT_START = re.compile(r"\b(end|maturity|expiry|payment|construction end|balance)\b")
FREQ_WORDS = ((re.compile(r"\b(month|months|monthly|mth|mo)\b"), Frequency.MONTHLY),
              (re.compile(r"\b(quarter|quarters|quarterly|qtr|qtrs|q)\b"), Frequency.QUARTERLY),
              (re.compile(r"\b(half|semi ?annual|semi annual|six month|6 month|h)\b"), Frequency.SEMIANNUAL),
              (re.compile(r"\b(year|years|yearly|annual|yr|yrs|fy)\b"), Frequency.ANNUAL))
FISCAL_LABEL = re.compile(r"\b(fiscal|financial|accounting) year (end|ends|ending|start|starts|starting|begins?|"
                          r"beginning)\b|\bfy (end|ends|ending|start|starts|starting)\b")
PER_YEAR_LABEL = re.compile(r"\b(periods?|payments?) per year\b|\bfrequency\b")
NAMES = {"rent": ("rent", "rents", "rentalincome", "rentalrevenue", "leaserevenue", "leaseincome", "revenuerent",
                  "grossrent", "baserent", "hostingrent", "computelease", "leasepayments"),
         "revenue": ("revenue", "revenues"),
         "timeline": ("periodend", "periodends", "periodstart", "periodstarts", "dates", "timeline", "perioddates"),
         "dscr": ("dscr",), "cfads": ("cfads",), "debt_service": ("debtservice", "totaldebtservice", "ds"),
         "closing_balance": ("closingbalance", "closingdebt", "debtbalance"),
         "interest": ("interest", "interestpaid"), "principal": ("principal", "principalrepayment", "repayment"),
         "covenant": ("covenant", "mindscr", "dscrcovenant", "minimumdscr", "covenantdscr")}


def normalise(label: str) -> str:
    """Lower case, punctuation as spaces: ``"Rental revenue – AI hosting"`` → ``"rental revenue ai hosting"``."""
    text = label.replace("&", " and ").replace("%", " % ")
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def rent_tier(label: str) -> int:
    """3 rent/lease line, 2 GPU/hosting revenue, 1 plain revenue, 0 not a revenue line."""
    text = normalise(label)
    core = normalise(_BRACKETS.sub(" ", label))
    if NOT_RENT.search(core) or "%" in core:
        return 0
    if RENT_WORDS.search(core):
        return 3
    if GPU_WORDS.search(core) and INCOME_WORDS.search(core):
        return 2
    if REVENUE_WORDS.search(text) and not NOT_REVENUE.search(core) and not SAVINGS_WORDS.search(core):
        return 1
    return 0


def revenue_kind(label: str) -> str | None:
    """How an inspect report describes a non-rent income line (``savings``, ``revenue``), or None."""
    core = normalise(_BRACKETS.sub(" ", label))
    if SAVINGS_WORDS.search(core) and not re.search(r"\b(tax|taxable|cost|expense)\b", core):
        return "savings"
    if (REVENUE_WORDS.search(core) or re.search(r"\b(fees?|proceeds)\b", core)) and not re.search(
            r"\b(tax|taxes|taxable|expense|expenses|cost|costs|interest)\b", core):
        return "revenue"
    return None


TIER_KIND = {3: "rent", 2: "hosting revenue", 1: "revenue"}  # LineKind values


def frequency_from_words(text: str) -> Frequency | None:
    """The period length a label names ("Quarterly", "FY", "months"), or None."""
    words = normalise(text)
    for pattern, freq in FREQ_WORDS:
        if pattern.search(words):
            return freq
    return None


# -- money units and what secures the loan (engine/template/detect/deal.py) -----------------
_CURRENCY = {"usd": r"(?:us ?\$|usd|\$)", "eur": r"(?:€|eur|euros?)", "gbp": r"(?:£|gbp)", "inr": r"(?:₹|inr|rs\.?|rupees?)"}
_SCALES = {  # the words that say a unit's size, most specific first
    "crore": r"(?:crores?|crs?\.?)", "lakh": r"(?:lakhs?|lacs?)", "billions": r"(?:bn|billions?|b)",
    "millions": r"(?:mm|mn|m|millions?|mio)", "thousands": r"(?:000s?|'000s?|k|thousands?)",
}
_UNIT_NAMES = {("usd", ""): "USD", ("usd", "thousands"): "USD thousands", ("usd", "millions"): "USD millions",
               ("usd", "billions"): "USD billions", ("eur", ""): "EUR", ("eur", "thousands"): "EUR thousands",
               ("eur", "millions"): "EUR millions", ("gbp", ""): "GBP", ("gbp", "thousands"): "GBP thousands",
               ("gbp", "millions"): "GBP millions", ("inr", ""): "INR", ("inr", "lakh"): "INR lakh",
               ("inr", "crore"): "INR crore"}
# "US$ 000", "$m", "€m", "(INR Crs.)", "USD thousands", "in US$ millions", "Rs. Crore", "₹ lakh"; a currency
# alone ("US$", "USD") is a unit of one; per-unit prices ("$/MWh", "US$ / GPU-hr") say nothing of the model's unit
_UNIT = {(cur, size): re.compile(rf"(?<![a-z0-9]){pattern}\s?{scale}(?![a-z0-9])" if scale else
                                 rf"(?<![a-z0-9]){pattern}(?![a-z0-9/]|\s+/)")
         for (cur, size), _ in _UNIT_NAMES.items()
         for pattern in (_CURRENCY[cur],) for scale in (_SCALES[size] if size else "",)}
_PER_PERIOD = re.compile(r"\s*/\s*(year|yr|annum|quarter|qtr|month|mth|period|day)\b")  # US$ / quarter: a flow in US$
_NOT_MONEY_UNIT = re.compile(r"\bper (gpu|hour|mwh|kwh|unit|share|mw)\b|/\s?(gpu|mwh|kwh|mw|hr|hour|unit)\b")


def money_unit_words(text: str) -> str | None:
    """The money unit a label, units cell or header states, as a ``MoneyUnit`` value ("USD thousands"), or None.

    ``"US$ 000"`` → USD thousands, ``"$m"`` → USD millions, ``"€m"`` → EUR millions, ``"(INR Crs.)"`` →
    INR crore, ``"US$"`` → USD. Prices per something (``"US$ / GPU-hr"``, ``"$/MWh"``) are not a unit.
    """
    low = _PER_PERIOD.sub(" ", " ".join(text.lower().replace("’", "'").split()))
    if _NOT_MONEY_UNIT.search(low):
        return None
    sized = [(cur, size) for (cur, size) in _UNIT_NAMES if size and _UNIT[(cur, size)].search(low)]
    if sized:
        return _UNIT_NAMES[sized[0]]
    plain = [cur for (cur, size) in _UNIT_NAMES if not size and _UNIT[(cur, size)].search(low)]
    return _UNIT_NAMES[(plain[0], "")] if plain else None


# What secures the loan: GPUs that are financed, owned or pledged; or a site, a building and its lease.
SECURED_ON_GPUS = re.compile(r"\bsecured (on|by|against|over) [^.;]{0,40}\bgpus?\b|\bgpus? (financed|purchased|"
                             r"owned|pledged|hosted|acquired)\b|\bgpu fleet\b|\bfleet of [^.;]{0,20}\bgpus\b")
SECURED_ON_SITE = re.compile(r"\bdata ?cent(re|er)s?\b|\bsite\b|\bland\b|\bshell\b|\btriple net\b|\bcampus\b|"
                             r"\bbuilding\b|\bproperty\b|\breal estate\b")
