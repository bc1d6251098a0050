"""The distributions a stress spec draws its varied quantities from, by inverse CDF (vectorised)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from models.validate import check, finite

__all__ = ["DISTRIBUTIONS", "Distribution"]

FloatArray = npt.NDArray[np.float64]
DISTRIBUTIONS = ("fixed", "uniform", "triangular", "normal", "lognormal", "integers")
# each distribution's parameters, as a spec names them
PARAMETERS = {"fixed": ("value",), "uniform": ("low", "high"), "triangular": ("low", "mode", "high"),
              "normal": ("mean", "sd"), "lognormal": ("mean", "sd"), "integers": ("low", "high")}


@dataclass(frozen=True)
class Distribution:
    """One varied quantity's distribution (``dist``: fixed, uniform, triangular, normal, lognormal, integers).

    ``low``/``high`` bound uniform, triangular and integers (both ends included for integers) and
    truncate a normal; ``mode`` is the triangular's peak; ``mean``/``sd`` the normal's, and for a
    lognormal those of the log. ``value`` is a fixed quantity.
    """

    dist: str
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    value: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        check("dist", self.dist, self.dist in DISTRIBUTIONS, "one of " + ", ".join(DISTRIBUTIONS))
        for name in PARAMETERS[self.dist]:
            check(name, getattr(self, name), finite(getattr(self, name)), f"a number for a {self.dist} distribution")
        if self.dist in ("uniform", "triangular", "integers"):
            assert self.low is not None and self.high is not None
            check("high", self.high, self.high >= self.low, "at least low")
        if self.dist == "triangular":
            assert self.low is not None and self.high is not None and self.mode is not None
            check("mode", self.mode, self.low <= self.mode <= self.high, "between low and high")
        if self.sd is not None:
            check("sd", self.sd, self.sd >= 0, ">= 0")

    def describe(self) -> str:
        """``triangular(0.113, 0.181, 0.33)``: the distribution and its parameters, as in the spec."""
        return f"{self.dist}({', '.join(f'{getattr(self, n):g}' for n in PARAMETERS[self.dist])})"

    @property
    def degenerate(self) -> bool:
        """Whether every draw is the same number."""
        if self.dist == "fixed":
            return True
        if self.dist in ("normal", "lognormal"):
            return self.sd == 0
        return self.low == self.high

    def ppf(self, u: FloatArray) -> FloatArray:
        """The quantity for uniforms ``u`` (inverse CDF), vectorised."""
        if self.dist == "fixed":
            return np.full(u.shape, float(self.value))  # type: ignore[arg-type]
        lo, hi = self.low, self.high
        if self.dist == "uniform":
            assert lo is not None and hi is not None
            return lo + (hi - lo) * u
        if self.dist == "integers":
            assert lo is not None and hi is not None
            return np.minimum(np.floor(lo + (hi - lo + 1) * u), hi)
        if self.dist == "triangular":
            assert lo is not None and hi is not None and self.mode is not None
            if hi == lo:
                return np.full(u.shape, lo)
            # the inverse of the triangular CDF, in closed form (scipy.stats' triang.ppf gives the same, and a
            # test compares them; importing scipy.stats costs a stress run about 0.45 s)
            c = (self.mode - lo) / (hi - lo)
            width = hi - lo
            left = lo + np.sqrt(u * c) * width
            right = hi - np.sqrt((1.0 - u) * (1.0 - c)) * width
            return np.asarray(np.where(u < c, left, right), dtype=np.float64)
        assert self.mean is not None and self.sd is not None
        if self.sd == 0:
            out = np.full(u.shape, self.mean)
        else:
            a = -np.inf if lo is None else (lo - self.mean) / self.sd
            b = np.inf if hi is None else (hi - self.mean) / self.sd
            # the truncated normal by inverse CDF: Phi^-1(Phi(a) + u (Phi(b) - Phi(a))), scipy.special's
            # ndtr / ndtri (a test compares it with scipy.stats' truncnorm)
            lo_p, hi_p = special.ndtr(a), special.ndtr(b)
            out = self.mean + self.sd * np.asarray(special.ndtri(lo_p + u * (hi_p - lo_p)), dtype=np.float64)
            out = np.clip(out, -np.inf if lo is None else lo, np.inf if hi is None else hi)  # rounding at the ends
        return np.exp(out) if self.dist == "lognormal" else out
