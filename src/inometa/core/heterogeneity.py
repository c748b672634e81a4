"""Heterogeneity statistics: Cochran's Q, I², H² and their confidence intervals.

Two definitions of I² and H² are in use and both are offered:

* ``"tau2"`` (metafor): I² = τ²/(τ² + ṽ), H² = τ²/ṽ + 1, with the "typical" within-study
  variance ṽ = (k − p)/tr P₀ (Higgins & Thompson 2002, eq. 9; metafor ``i2def = "1"``).
  Its confidence interval transforms the Q-profile interval for τ² (Viechtbauer 2007).
* ``"q"`` (R meta, Stata): I² = max(0, (Q − df)/Q), H² = max(1, Q/df). Its confidence
  interval is Higgins & Thompson's (2002) test-based interval for H, as in R meta.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .._distributions import chi2_isf, chi2_ppf, norm_isf
from .._wls import design_matrix, model_dimensions, projection
from . import messages
from .significance import TestResult, chi2_test
from .tau2 import generalized_q, solve_q

__all__ = [
    "cochran_q",
    "i2_h2_ci_test_based",
    "i2_h2_ci_test_based_batch",
    "i2_h2_from_q",
    "i2_h2_from_q_batch",
    "i2_h2_from_tau2",
    "i2_h2_from_tau2_batch",
    "q_profile_tau2_ci",
    "q_test",
    "typical_variance",
]

FloatArray = npt.NDArray[np.float64]

# Upper end of the Q-profile search when none is given.
_TAU2_SEARCH_LIMIT = 1e12


def cochran_q(yi: npt.ArrayLike, vi: npt.ArrayLike, X: npt.ArrayLike | None = None) -> TestResult:
    """Cochran's Q with inverse-variance weights 1/vᵢ (metafor ``QE``).

    Examples
    --------
    >>> round(cochran_q([0.1, 0.3], [0.01, 0.01]).statistic, 12)
    2.0
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    k, p = model_dimensions(y, design_matrix(X, y.size))
    return q_test(generalized_q(0.0, y, v, X), k - p)


def q_test(q: float, df: int) -> TestResult:
    """The test of homogeneity for a value ``q`` of Cochran's Q on ``df`` degrees of freedom
    (Q is clipped at 0, rounding; with df = 0 there is nothing to test: Q = 0, p = 1).

    Examples
    --------
    >>> test = q_test(3.841458820694124, 1)
    >>> test.name, test.df, round(test.pvalue, 12)
    ('Q', 1, 0.05)
    """
    return chi2_test("Q", q, df, "Cochran's test of homogeneity (inverse-variance weights)")


def typical_variance(vi: npt.ArrayLike, X: npt.ArrayLike | None = None) -> float:
    """The typical within-study variance ṽ = (k − p)/tr P₀ (0 when k = p).

    Examples
    --------
    >>> round(typical_variance([0.01, 0.01, 0.01]), 12)
    0.01
    """
    v = np.asarray(vi, dtype=float)
    Xd = design_matrix(X, v.size)
    k, p = model_dimensions(v, Xd)
    if k <= p:
        return 0.0
    return float((k - p) / projection(1 / v, Xd).trace())


# I², H² and the test-based interval are written once, for arrays of analyses (one entry
# per analysis, as metaprop_batch needs them); the scalar functions are the one-entry case.


def i2_h2_from_tau2_batch(tau2: FloatArray, vt: FloatArray) -> tuple[FloatArray, FloatArray]:
    """I² (fraction) and H² from τ² and the typical variance, per analysis (metafor's
    definition); NaN where τ² is not finite (an undefined interval bound).

    Examples
    --------
    >>> i2, h2 = i2_h2_from_tau2_batch(np.array([0.01, np.nan]), np.array([0.01, 0.01]))
    >>> i2.tolist(), h2.tolist()
    ([0.5, nan], [2.0, nan])
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(vt > 0, tau2 / (vt + tau2), 0.0)
        h2 = np.where(vt > 0, tau2 / vt + 1, 1.0)
    undefined = ~np.isfinite(tau2)
    return np.where(undefined, np.nan, i2), np.where(undefined, np.nan, h2)


def i2_h2_from_tau2(tau2: float, vt: float) -> tuple[float, float]:
    """I² (fraction) and H² from τ² and the typical variance (metafor's definition).

    Examples
    --------
    >>> i2_h2_from_tau2(0.01, 0.01)
    (0.5, 2.0)
    """
    i2, h2 = i2_h2_from_tau2_batch(np.array([tau2], dtype=float), np.array([vt], dtype=float))
    return float(i2[0]), float(h2[0])


def i2_h2_from_q_batch(q: FloatArray, df: FloatArray) -> tuple[FloatArray, FloatArray]:
    """I² (fraction) and H² from Q per analysis (R meta's and Stata's definition), truncated
    at 0 and 1; 0 and 1 where df ≤ 0 or Q ≤ 0.

    Examples
    --------
    >>> i2, h2 = i2_h2_from_q_batch(np.array([20.0, 3.0]), np.array([10.0, 0.0]))
    >>> i2.tolist(), h2.tolist()
    ([0.5, 0.0], [2.0, 1.0])
    """
    undefined = (df <= 0) | (q <= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(undefined, 0.0, np.maximum(0.0, (q - df) / q))
        h2 = np.where(undefined, 1.0, np.maximum(1.0, q / df))
    return i2, h2


def i2_h2_from_q(q: float, df: int) -> tuple[float, float]:
    """I² (fraction) and H² from Q (R meta's and Stata's definition), truncated at 0 and 1.

    Examples
    --------
    >>> i2_h2_from_q(20.0, 10)
    (0.5, 2.0)
    """
    i2, h2 = i2_h2_from_q_batch(np.array([q], dtype=float), np.array([df], dtype=float))
    return float(i2[0]), float(h2[0])


def i2_h2_ci_test_based_batch(
    q: FloatArray, df: FloatArray, level: float
) -> tuple[tuple[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]:
    """Higgins & Thompson's (2002) test-based intervals for I² and H² per analysis, as R meta
    computes them: ((I² low, I² high), (H² low, H² high)), NaN where undefined.

    The interval is built for log H around ln max(H, 1) with
    SE = ½ (ln Q − ln(k−1)) / (√(2Q) − √(2k−3)) when Q > k, else
    SE = √(1/(2(k−2)) · (1 − 1/(3(k−2)²))); both bounds of H are bounded below by 1 (R meta's
    ``calcH``). Centring at ln max(H, 1) rather than ln H matters when Q < k − 1: the upper
    bound is then exp(z·SE), not H·exp(z·SE). Undefined (NaN) where SE is: k = 1, and k = 2
    with Q ≤ 2.

    Examples
    --------
    >>> (lo, hi), _ = i2_h2_ci_test_based_batch(np.array([30.0, 1.0]), np.array([9.0, 1.0]),
    ...                                         0.95)
    >>> np.round(lo, 4).tolist(), np.round(hi, 4).tolist()
    ([0.4246, nan], [0.8436, nan])
    """
    k = df + 1
    undefined = (k < 2) | ((q <= k) & (k <= 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(q > 0, np.sqrt(q / df), 0.0)
        se_big = 0.5 * (np.log(q) - np.log(k - 1)) / (np.sqrt(2 * q) - np.sqrt(2 * k - 3))
        se_small = np.sqrt(1 / (2 * (k - 2)) * (1 - 1 / (3 * (k - 2) ** 2)))
        se = np.where(q > k, se_big, se_small)
        z = norm_isf((1 - level) / 2)
        log_h = np.log(np.maximum(h, 1.0))
        h_lo = np.where(undefined, np.nan, np.maximum(1.0, np.exp(log_h - z * se)))
        h_hi = np.where(undefined, np.nan, np.maximum(1.0, np.exp(log_h + z * se)))
    i2_lo, i2_hi = (h_lo**2 - 1) / h_lo**2, (h_hi**2 - 1) / h_hi**2
    return (i2_lo, i2_hi), (h_lo**2, h_hi**2)


def i2_h2_ci_test_based(
    q: float, df: int, level: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Higgins & Thompson's (2002) test-based intervals for I² and H², as R meta computes them
    (the one-analysis case of :func:`i2_h2_ci_test_based_batch`, which documents the formula).

    Examples
    --------
    >>> (lo, hi), _ = i2_h2_ci_test_based(30.0, 9, 0.95)
    >>> round(lo, 4), round(hi, 4)
    (0.4246, 0.8436)
    >>> (lo, hi), _ = i2_h2_ci_test_based(4.0, 9, 0.95)  # Q < k − 1: centred at H = 1
    >>> round(lo, 4), round(hi, 4)
    (0.0, 0.6237)
    """
    (i_lo, i_hi), (h_lo, h_hi) = i2_h2_ci_test_based_batch(
        np.array([q], dtype=float), np.array([df], dtype=float), level
    )
    return (float(i_lo[0]), float(i_hi[0])), (float(h_lo[0]), float(h_hi[0]))


class Tau2Interval(NamedTuple):
    """A Q-profile confidence interval for τ², with notes on bounds that are not roots."""

    low: float
    high: float
    notes: tuple[str, ...] = ()


def q_profile_tau2_ci(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    level: float = 0.95,
    X: npt.ArrayLike | None = None,
    *,
    tau2_max: float | None = None,
    tol: float = 1e-12,
    at_zero: tuple[float, float] | None = None,
) -> Tau2Interval:
    """Q-profile confidence interval for τ² (Viechtbauer 2007), as metafor's ``confint``.

    The bounds solve Q(τ²) = χ²₍df; 1−α/2₎ (lower) and χ²₍df; α/2₎ (upper) for the
    generalized Q, which decreases in τ². A bound below 0 is set to 0; if even Q(0) is
    below the lower-tail quantile the interval is {0} (metafor: "CI is the null set").

    Parameters
    ----------
    yi, vi
        Model-scale values and sampling variances.
    level
        Confidence level.
    X
        Optional design matrix.
    tau2_max
        Upper end of the search (metafor: max(100, 10 τ̂²)); default 10¹². A bound beyond
        it is reported as ``tau2_max``, with a note.
    tol
        Root-finding tolerance (relative to the mean vᵢ; see :func:`inometa.core.tau2.solve_q`).
    at_zero
        Q(0) and −dQ/dτ² at τ² = 0, when the caller has them (``metaprop`` has: Cochran's
        Q is Q(0)); computed otherwise. As :func:`inometa.core.tau2.solve_q` computes them:
        Q = Σ (wᵢrᵢ) rᵢ, −dQ/dτ² = Σ (wᵢrᵢ)².

    Examples
    --------
    The same interval as metafor's ``confint(rma(yi, vi))`` (0.0307, 1.7849):

    >>> ci = q_profile_tau2_ci([0.1, 0.5, 0.2, 0.9], [0.01, 0.02, 0.015, 0.01])
    >>> round(ci.low, 4), round(ci.high, 4)
    (0.0307, 1.7849)
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    Xd = design_matrix(X, y.size)
    k, p = model_dimensions(y, Xd)
    df = k - p
    if df < 1:
        return Tau2Interval(float("nan"), float("nan"), (messages.K1_TAU2_CI,))
    alpha = 1 - level
    crit_upper = chi2_isf(alpha / 2, df)  # gives the lower bound of τ²
    crit_lower = chi2_ppf(alpha / 2, df)  # gives the upper bound of τ²
    # Without a limit the search goes far beyond metafor's (which reports "> 100").
    cap = _TAU2_SEARCH_LIMIT if tau2_max is None else tau2_max
    notes: list[str] = []
    q0 = projection(1 / v, Xd).quadratic(y) if at_zero is None else at_zero[0]
    if q0 < crit_lower:
        notes.append(messages.NULL_Q_PROFILE)
        return Tau2Interval(0.0, 0.0, tuple(notes))
    # Q decreases in τ²: the lower bound is the left root, and a start for the upper one.
    if q0 < crit_upper:
        low, start, known = 0.0, 0.0, None
    else:
        lower = solve_q(crit_upper, y, v, Xd, start_values=at_zero, cap=cap, tol=tol)
        low = lower.tau2
        # the last point evaluated in that search lies left of both roots
        start, known = (0.0, None) if lower.last is None else (lower.last[0], lower.last[1:])
    upper = solve_q(crit_lower, y, v, Xd, start=start, start_values=known, cap=cap, tol=tol)
    high = upper.tau2
    if upper.capped:
        notes.append(f"the upper Q-profile bound for τ² exceeds {cap:g}")
    return Tau2Interval(low, high, tuple(notes))
