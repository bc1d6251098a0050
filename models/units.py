"""Money units: the closed set of units a lender's template states its money in (docs/credit.md).

A template's numbers are in one money unit — US$, US$ thousands, € millions, ₹ crore, … Everything
gpucredit computes in dollars (the collateral value of a GPU fleet, absolute-mode rent) is converted
to that unit before it is set beside the template's numbers: ``dollars × unit_scale``, where
``unit_scale = fx_rate / size`` (``size``: how many of the currency one unit of the template is, e.g.
1,000 for thousands; ``fx_rate``: the template's currency per US dollar, 1 for USD).
"""

from __future__ import annotations

import math
from enum import Enum

__all__ = ["MoneyUnit", "unit_scale"]

_SIZES = {"": 1.0, "thousands": 1e3, "millions": 1e6, "billions": 1e9, "lakh": 1e5, "crore": 1e7}


class MoneyUnit(Enum):
    """A money unit: its currency (ISO 4217) and how many of that currency one template unit is."""

    USD = "USD"
    USD_THOUSANDS = "USD thousands"
    USD_MILLIONS = "USD millions"
    USD_BILLIONS = "USD billions"
    EUR = "EUR"
    EUR_THOUSANDS = "EUR thousands"
    EUR_MILLIONS = "EUR millions"
    GBP = "GBP"
    GBP_THOUSANDS = "GBP thousands"
    GBP_MILLIONS = "GBP millions"
    INR = "INR"
    INR_LAKH = "INR lakh"
    INR_CRORE = "INR crore"

    @property
    def currency(self) -> str:
        """ISO 4217 code: ``USD``, ``EUR``, ``GBP`` or ``INR``."""
        return self.value.split(" ")[0]

    @property
    def size(self) -> float:
        """Units of the currency in one template unit (1,000 for thousands, 10,000,000 for crore)."""
        _, _, word = self.value.partition(" ")
        return _SIZES[word]

    @property
    def label(self) -> str:
        """How the unit reads on a sheet or in a memo (``USD thousands``)."""
        return self.value

    @classmethod
    def parse(cls, text: str) -> MoneyUnit:
        """The unit a profile names (``"USD thousands"``, ``"usd_thousands"``); a ValueError listing the set."""
        key = " ".join(text.replace("_", " ").split()).lower()
        for unit in cls:
            if unit.value.lower() == key or unit.name.lower().replace("_", " ") == key:
                return unit
        raise ValueError(f"unit: {text!r} is not a money unit gpucredit knows; use one of "
                         + ", ".join(f'"{u.value}"' for u in cls))

    @classmethod
    def from_scale(cls, scale: float) -> MoneyUnit | None:
        """The US-dollar unit whose ``unit_scale`` is ``scale`` (1e-3 → USD thousands), or None."""
        for unit in (cls.USD, cls.USD_THOUSANDS, cls.USD_MILLIONS, cls.USD_BILLIONS):
            if math.isclose(unit_scale(unit), scale, rel_tol=1e-12):
                return unit
        return None


def unit_scale(unit: MoneyUnit, fx_rate: float | None = None) -> float:
    """Dollars → the template's unit: ``fx_rate / unit.size`` (``fx_rate``: the currency per US dollar).

    Raises
    ------
    ValueError
        A unit in another currency than USD without an exchange rate, or a rate that is not > 0.
    """
    if unit.currency == "USD":
        if fx_rate is not None and fx_rate != 1.0:
            raise ValueError(f"fx_rate: {fx_rate!r} is invalid; the template's unit {unit.label} is in US dollars")
        return 1.0 / unit.size
    if fx_rate is None:
        raise ValueError(f"fx_rate: not set; the template's unit is {unit.label}, so converting dollars needs "
                         f"the exchange rate ({unit.currency} per US dollar)")
    if not (math.isfinite(fx_rate) and fx_rate > 0):
        raise ValueError(f"fx_rate: {fx_rate!r} is invalid; must be > 0 ({unit.currency} per US dollar)")
    return fx_rate / unit.size
