"""The one place ``models/`` checks and parses parameter values (no numpy here, so it loads fast).

Every message starts with the parameter's name (``"d: 1.5 is invalid; must be in [0, 1)"``), which
the edges (CLI, profiles, xlwings) show as they are.  :class:`ParamSet` is the single
``KEY=VALUE`` parser: the CLI's ``--set``/``--collateral`` options and the xlwings override ranges
all go through it.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from numbers import Real
from typing import Any, TypeVar

__all__ = [
    "ParamSet",
    "check",
    "closest",
    "finite",
    "parse_date",
    "parse_float",
    "parse_int",
    "replace_known",
]


def finite(x: object) -> bool:
    """A real number (not a bool) that is neither NaN nor infinite."""
    return isinstance(x, Real) and not isinstance(x, bool) and math.isfinite(x)


def check(name: str, value: object, ok: bool, rule: str) -> None:
    """Raise ``ValueError("name: value is invalid; must be rule")`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{name}: {value!r} is invalid; must be {rule}")


def parse_date(name: str, text: str) -> date:
    """An ISO date (``2026-07-01``)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not an ISO date (YYYY-MM-DD)") from None


def parse_float(name: str, text: str) -> float:
    """A finite number."""
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{name}: {text!r} is not a finite number")
    return value


def parse_int(name: str, text: str) -> int:
    """A whole number of months."""
    value = parse_float(name, text)
    if not value.is_integer():
        raise ValueError(f"{name}: {text!r} is not a whole number of months")
    return int(value)


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name a misspelt one most likely meant (``h100-stres`` → ``h100-stress``), or None."""
    found = difflib.get_close_matches(name.strip().lower(), list(known), n=1, cutoff=0.6)
    return found[0] if found else None


_P = TypeVar("_P")


def replace_known(params: _P, names: tuple[str, ...], kind: str, overrides: dict[str, Any]) -> _P:
    """``dataclasses.replace`` that first refuses a name outside ``names`` (``kind`` names the set)."""
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        hint = closest(unknown[0], names)
        raise ValueError(f"{unknown[0]}: not a {kind} parameter" + (f" (did you mean {hint}?)" if hint else "")
                         + f"; known: {', '.join(names)}")
    return dataclasses.replace(params, **overrides)  # type: ignore[type-var]


@dataclass(frozen=True)
class ParamSet:
    """One family of parameters (the curve's, the collateral's): their names and how a text becomes a value.

    Attributes
    ----------
    kind : str
        ``"curve"`` or ``"collateral"``, for messages.
    names : tuple of str
        The parameters' names, in the order the docs list them.
    parse_text : callable
        ``(name, text) -> value`` for one parameter; raises ``ValueError`` naming it.
    """

    kind: str
    names: tuple[str, ...]
    parse_text: Callable[[str, str], object]

    def parse(self, name: str, value: object) -> object:
        """One parameter from a text (parsed) or an already typed value (kept as it is)."""
        key = self._known(name)
        return self.parse_text(key, value) if isinstance(value, str) else value

    def parse_pairs(self, pairs: Iterable[tuple[str, object]]) -> dict[str, object]:
        """Overrides from ``(name, value)`` pairs; a name twice is an error."""
        out: dict[str, object] = {}
        for name, value in pairs:
            key = self._known(name)
            if key in out:
                raise ValueError(f"{key}: given twice")
            out[key] = self.parse(key, value)
        return out

    def parse_assignments(self, items: Iterable[str]) -> dict[str, object]:
        """Overrides from ``KEY=VALUE`` texts (the CLI's repeatable options)."""
        pairs = []
        for item in items:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"{item!r}: expected KEY=VALUE with KEY one of {', '.join(self.names)}")
            pairs.append((key, value))
        return self.parse_pairs(pairs)

    def _known(self, name: str) -> str:
        key = name.strip().lower()
        if key not in self.names:
            hint = closest(key, self.names)
            raise ValueError(f"{name.strip()}: not a {self.kind} parameter" + (f" (did you mean {hint}?)" if hint else "")
                             + f"; known: {', '.join(self.names)}")
        return key
