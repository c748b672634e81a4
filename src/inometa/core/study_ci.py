"""Confidence intervals for each study's proportion, for tables and forest plots.

These intervals describe single studies; they do not enter the pooling. Methods
(Newcombe 1998 numbers them; all bounds lie in [0, 1]):

===================  ============================================================  ========
``study_ci_method``  definition                                                    R meta
===================  ============================================================  ========
``clopper-pearson``  exact (beta quantiles); Newcombe's method 5 — the default     ``CP``
``wilson``           score interval; Newcombe's method 3                           ``WS``
``wilson-cc``        score interval with continuity correction; method 4           ``WSCC``
``agresti-coull``    Wald interval around (x + z²/2)/(n + z²)                      ``AC``
``jeffreys``         Beta(x + ½, n − x + ½) quantiles, 0 at x = 0 and 1 at x = n   —
                     (Brown, Cai & DasGupta 2001)
``wald``             p ± z √(p(1−p)/n), truncated to [0, 1]; Newcombe's method 1   ``NAsm``
===================  ============================================================  ========

Wilson, Agresti–Coull, Jeffreys and Wald come from statsmodels' ``proportion_confint``;
the continuity-corrected Wilson interval (Newcombe 1998, eq. 4) and the Jeffreys boundary
rule are added here because statsmodels does not provide them. Clopper–Pearson is computed
here from the same beta quantiles statsmodels uses (identical numbers), because going
through ``scipy.stats`` costs more than the rest of a small meta-analysis.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from statsmodels.stats.proportion import proportion_confint

from .._distributions import beta_isf, beta_ppf, norm_isf
from .._validation import check_choice

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


def _clopper_pearson(x: FloatArray, n: FloatArray, alpha: float) -> tuple[FloatArray, FloatArray]:
    """Exact limits: Beta(x, n − x + 1) and Beta(x + 1, n − x) quantiles; 0 at x = 0, 1 at
    x = n (where those shapes are undefined)."""
    with np.errstate(invalid="ignore"):
        lo = np.where(x == 0, 0.0, beta_ppf(alpha / 2, x, n - x + 1))
        hi = np.where(x == n, 1.0, beta_isf(alpha / 2, x + 1, n - x))
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
    if name == "clopper-pearson":
        lo, hi = _clopper_pearson(x, m, alpha)
    elif name == "wilson-cc":
        lo, hi = _wilson_cc(x, m, norm_isf(alpha / 2))
    else:
        lo, hi = proportion_confint(x, m, alpha=alpha, method=_STATSMODELS[name])
        lo = np.asarray(lo, dtype=float)
        hi = np.asarray(hi, dtype=float)
    if name in ("jeffreys", "wilson"):
        # Exact limits at the boundaries (statsmodels leaves Jeffreys' open and Wilson's
        # upper limit at 1 - 1e-16).
        lo = np.where(x == 0, 0.0, lo)
        hi = np.where(x == m, 1.0, hi)
    return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
