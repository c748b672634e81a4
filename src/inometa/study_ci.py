"""Confidence intervals for each study's proportion, for tables and forest plots.

These intervals describe single studies; they do not enter the pooling. Methods
(Newcombe 1998 numbers them; all bounds lie in [0, 1]):

===================  ==========================================================  ========
``study_ci_method``  definition                                                  R meta
===================  ==========================================================  ========
``clopper-pearson``  exact (beta quantiles); Newcombe's method 5 — the default   ``CP``
``wilson``           score interval; Newcombe's method 3                         ``WS``
``wilson-cc``        score interval with continuity correction; method 4        ``WSCC``
``agresti-coull``    Wald interval around (x + z²/2)/(n + z²)                    ``AC``
``jeffreys``         Beta(x + ½, n − x + ½) quantiles, 0 at x = 0 and 1 at x = n  —
                     (Brown, Cai & DasGupta 2001)
``wald``             p ± z √(p(1−p)/n), truncated to [0, 1]; Newcombe's method 1 ``NAsm``
===================  ==========================================================  ========

Clopper–Pearson, Wilson, Agresti–Coull, Jeffreys and Wald come from statsmodels'
``proportion_confint``; the continuity-corrected Wilson interval (Newcombe 1998, eq. 4)
and the Jeffreys boundary rule are added here because statsmodels does not provide them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from ._validation import check_choice

__all__ = ["STUDY_CI_METHODS", "study_confint"]

FloatArray = npt.NDArray[np.float64]

STUDY_CI_METHODS: dict[str, str] = {
    "clopper-pearson": "clopper-pearson",
    "cp": "clopper-pearson",
    "exact": "clopper-pearson",
    "wilson": "wilson",
    "ws": "wilson",
    "score": "wilson",
    "wilson-cc": "wilson-cc",
    "wscc": "wilson-cc",
    "agresti-coull": "agresti-coull",
    "ac": "agresti-coull",
    "jeffreys": "jeffreys",
    "wald": "wald",
    "nasm": "wald",
}

_STATSMODELS = {
    "clopper-pearson": "beta",
    "wilson": "wilson",
    "agresti-coull": "agresti_coull",
    "jeffreys": "jeffreys",
    "wald": "normal",
}


def _wilson_cc(x: FloatArray, n: FloatArray, z: float) -> tuple[FloatArray, FloatArray]:
    """Newcombe's (1998) continuity-corrected score interval (his method 4)."""
    p = x / n
    q = 1 - p
    denom = 2 * (n + z**2)
    with np.errstate(invalid="ignore"):
        lo = (2 * n * p + z**2 - 1 - z * np.sqrt(z**2 - 2 - 1 / n + 4 * p * (n * q + 1))) / denom
        hi = (2 * n * p + z**2 + 1 + z * np.sqrt(z**2 + 2 - 1 / n + 4 * p * (n * q - 1))) / denom
    lo = np.where(x == 0, 0.0, lo)
    hi = np.where(x == n, 1.0, hi)
    return lo, hi


def study_confint(
    events: npt.ArrayLike, n: npt.ArrayLike, method: str = "clopper-pearson", level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Per-study confidence intervals for proportions, always within [0, 1].

    Parameters
    ----------
    events, n
        Event counts and totals (uncorrected).
    method
        See the module table; names are case-insensitive and R meta's abbreviations
        (``"CP"``, ``"WS"``, ``"WSCC"``, ``"AC"``, ``"NAsm"``) are accepted.
    level
        Confidence level.

    Returns
    -------
    low, high : numpy.ndarray

    Examples
    --------
    >>> lo, hi = study_confint([0, 20], [20, 20])
    >>> lo.tolist()[0], hi.tolist()[1]
    (0.0, 1.0)
    """
    name = check_choice(method, "study_ci_method", STUDY_CI_METHODS)
    x = np.asarray(events, dtype=float)
    m = np.asarray(n, dtype=float)
    alpha = 1 - level
    if name == "wilson-cc":
        lo, hi = _wilson_cc(x, m, float(stats.norm.isf(alpha / 2)))
    else:
        lo, hi = proportion_confint(x, m, alpha=alpha, method=_STATSMODELS[name])
        lo = np.asarray(lo, dtype=float)
        hi = np.asarray(hi, dtype=float)
    if name in ("jeffreys", "wilson", "clopper-pearson"):
        # Exact limits at the boundaries (statsmodels leaves Jeffreys' open and Wilson's
        # upper limit at 1 - 1e-16).
        lo = np.where(x == 0, 0.0, lo)
        hi = np.where(x == m, 1.0, hi)
    return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
