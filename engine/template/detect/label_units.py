"""A line's label without the money unit written after it: ``Interest US$ 000`` → ``Interest`` + ``US$ 000``.

Lenders write the unit into the label (``Revenue €m``, ``Revenue (INR Crs.)``, ``CFADS | AUD M``
across a units column); detection matches the bare label and keeps the unit text on the finding
for the credit metrics that need the model's money unit.
"""

from __future__ import annotations

import re

_CURRENCY = (r"us\$|u\.s\.\$|a\$|au\$|c\$|nz\$|hk\$|s\$|\$|€|£|¥|₹|usd|eur|gbp|aud|cad|nzd|chf|jpy|cny|rmb|inr|rs\.?|"
             r"zar|brl|mxn|sgd|hkd|sek|nok|dkk|pln|krw|idr|myr|php|thb|aed|sar")
_SCALE = (r"'?000s?|’000s?|thousands?|k|m|mm|mn|mio|mln|millions?|bn|b|billions?|crores?|crs?\.?|cr\.?|lakhs?|"
          r"lacs?")
# one unit: a currency, a scale, or both ("US$ 000", "€m", "$m", "AUD M", "INR Crs.", "US$'000", "$000s")
_UNIT = rf"(?:(?:{_CURRENCY})\s*[’']?\s*(?:{_SCALE})?|(?:{_SCALE})(?:\s*(?:{_CURRENCY}))?)"
_TRAILING = re.compile(rf"(?:\s*[|,;:–—-]?\s*(?:[(\[]\s*{_UNIT}\s*[)\]]|(?<![\w$€£¥₹]){_UNIT}))+\s*$", re.IGNORECASE)
_BRACKETED = re.compile(r"\s*[(\[][^()\[\]]{0,24}[)\]]\s*$")  # "(x)", "(%)", "($/MW-month)": kept as the unit


def split_unit(label: str) -> tuple[str, str]:
    """``(bare label, unit text)``; the unit is ``""`` when the label carries none.

    >>> split_unit("Interest US$ 000")
    ('Interest', 'US$ 000')
    >>> split_unit("Revenue (INR Crs.)")
    ('Revenue', 'INR Crs.')
    """
    text = label.strip()
    found = _TRAILING.search(text)
    if found is None or found.start() == 0:
        return text, ""
    bare, unit = text[:found.start()].rstrip(" |,;:–—-"), found.group().strip(" |,;:–—-")
    return bare, unit.strip("()[] ").strip()


def bare_label(label: str) -> str:
    """The label without its money unit (see :func:`split_unit`)."""
    return split_unit(label)[0]


def strip_brackets_at_end(label: str) -> str:
    """The label without a short bracketed note at its end (``DSCR (x)`` → ``DSCR``)."""
    return _BRACKETED.sub("", label)
