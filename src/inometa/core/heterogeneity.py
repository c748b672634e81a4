"""Heterogeneity statistics: Cochran's Q, I², H² and their confidence intervals.

Two definitions of I² and H² are in use and both are offered:

* ``"tau2"`` (metafor): I² = τ²/(τ² + ṽ), H² = τ²/ṽ + 1, with the "typical" within-study
  variance ṽ = (k − p)/tr P₀ (Higgins & Thompson 2002, eq. 9; metafor ``i2def = "1"``).
  Its confidence interval transforms the Q-profile interval for τ² (Viechtbauer 2007).
* ``"q"`` (R meta, Stata): I² = max(0, (Q − df)/Q), H² = max(1, Q/df). Its confidence
  interval is Higgins & Thompson's (2002) test-based interval for H, as in R meta.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import special

from .._distributions import by_df, norm_isf
from . import messages
from .projection import as_design, projection
from .q_statistic import batch_data, generalized_q, q_and_slope, solve_q_batch
from .significance import TestResult, chi2_test

__all__ = [
    "Tau2Interval",
    "Tau2IntervalBatch",
    "cochran_q",
    "i2_h2_ci_test_based",
    "i2_h2_ci_test_based_batch",
    "i2_h2_from_q",
    "i2_h2_from_q_batch",
    "i2_h2_from_tau2",
    "i2_h2_from_tau2_batch",
    "q_profile_batch",
    "q_profile_tau2_ci",
    "q_test",
    "typical_variance",
    "typical_variance_batch",
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
    Xd = as_design(X, 1, y.size)
    p = 1 if Xd is None else Xd.shape[-1]
    return q_test(generalized_q(0.0, y, np.asarray(vi, dtype=float), Xd), y.size - p)


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


def typical_variance_batch(V: FloatArray, M: FloatArray, X: FloatArray | None = None) -> FloatArray:
    """The typical within-study variance ṽ = (k − p)/tr P₀ per analysis (0 when k ≤ p).

    Examples
    --------
    >>> typical_variance_batch(np.full((1, 3), 0.01), np.ones((1, 3)))
    array([0.01])
    """
    k = M.sum(axis=1)
    p = 1 if X is None else X.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k > p, (k - p) / projection(M / V, X).trace(), 0.0)


def typical_variance(vi: npt.ArrayLike, X: npt.ArrayLike | None = None) -> float:
    """The typical within-study variance ṽ = (k − p)/tr P₀ of one analysis (0 when k = p).

    Examples
    --------
    >>> round(typical_variance([0.01, 0.01, 0.01]), 12)
    0.01
    """
    v = np.asarray(vi, dtype=float)[None]
    return float(typical_variance_batch(v, np.ones_like(v), as_design(X, 1, v.shape[1]))[0])


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


@dataclass(frozen=True)
class Tau2IntervalBatch:
    """Q-profile intervals for τ² per analysis, with notes on bounds that are not roots."""

    low: FloatArray
    high: FloatArray
    notes: tuple[tuple[str, ...], ...]


def q_profile_batch(
    Y: FloatArray,
    V: FloatArray,
    M: FloatArray,
    level: float = 0.95,
    X: FloatArray | None = None,
    *,
    tau2_max: float | None = None,
    tol: float = 1e-12,
    at_zero: tuple[FloatArray, FloatArray] | None = None,
) -> Tau2IntervalBatch:
    """Q-profile confidence interval for τ² (Viechtbauer 2007) per analysis, as metafor's
    ``confint``.

    The bounds solve Q(τ²) = χ²₍df; 1−α/2₎ (lower) and χ²₍df; α/2₎ (upper) for the
    generalized Q, which decreases in τ² (:func:`inometa.core.q_statistic.solve_q_batch`, both
    bounds of every analysis in one batch). A
    bound below 0 is set to 0; if even Q(0) is below the lower-tail quantile the interval
    is {0} (metafor: "CI is the null set").

    Parameters
    ----------
    Y, V, M, X
        As :func:`inometa.core.tau2.estimate_tau2_batch`.
    level
        Confidence level.
    tau2_max
        Upper end of the search (metafor: max(100, 10 τ̂²)); default 10¹². A bound beyond
        it is reported as ``tau2_max``, with a note.
    tol
        Root-finding tolerance (relative to the mean vᵢ).
    at_zero
        Q(0) and −dQ/dτ² at τ² = 0 per analysis, when the caller has them (Cochran's Q is
        Q(0)), as :func:`inometa.core.q_statistic.q_and_slope` computes them.

    Examples
    --------
    The same interval as metafor's ``confint(rma(yi, vi))`` (0.0307, 1.7849):

    >>> ci = q_profile_batch(np.array([[0.1, 0.5, 0.2, 0.9]]),
    ...                      np.array([[0.01, 0.02, 0.015, 0.01]]), np.ones((1, 4)))
    >>> round(float(ci.low[0]), 4), round(float(ci.high[0]), 4)
    (0.0307, 1.7849)
    """
    d = batch_data(Y, V, M, X)
    r = Y.shape[0]
    low = np.full(r, np.nan)
    high = np.full(r, np.nan)
    notes: list[list[str]] = [[] for _ in range(r)]
    df_all = d.df
    few = df_all < 1
    n_few = np.count_nonzero(few)
    for i in np.flatnonzero(few) if n_few else ():
        notes[i].append(messages.K1_TAU2_CI)
    ok = np.flatnonzero(~few) if n_few else np.arange(r)
    if ok.size:
        # (gathered only when some analyses have df < 1: a copy of every array otherwise)
        dd, df = (d.take(ok), df_all[ok]) if n_few else (d, df_all)
        alpha = 1 - level
        # stats.chi2.isf and .ppf without the distribution machinery (see _distributions)
        crit_upper = by_df(lambda q, f: special.chdtri(f, q), alpha / 2, df)  # → lower bound
        crit_lower = by_df(lambda q, f: 2 * special.gammaincinv(f / 2, q), alpha / 2, df)
        # Without a limit the search goes far beyond metafor's (which reports "> 100").
        cap = _TAU2_SEARCH_LIMIT if tau2_max is None else tau2_max
        if at_zero is None:
            q0, s0 = q_and_slope(dd, np.zeros(ok.size))
        else:
            q0, s0 = (np.asarray(a, dtype=float)[ok] for a in at_zero)
        null = q0 < crit_lower
        lo, hi = np.zeros(ok.size), np.zeros(ok.size)
        # Q decreases in τ²: each bound is the root of Q(τ²) = its quantile, from τ² = 0;
        # the two searches run side by side, as rows of one batch.
        lower = np.flatnonzero(~null & (q0 >= crit_upper))
        upper = np.flatnonzero(~null)
        both = np.concatenate([lower, upper])
        if both.size:
            roots = solve_q_batch(
                np.concatenate([crit_upper[lower], crit_lower[upper]]),
                dd.take(both),
                start_values=(q0[both], s0[both]),
                cap=cap,
                tol=tol,
            )
            lo[lower], hi[upper] = roots.tau2[: lower.size], roots.tau2[lower.size :]
            for j in upper[roots.capped[lower.size :]]:
                notes[ok[j]].append(f"the upper Q-profile bound for τ² exceeds {cap:g}")
        low[ok], high[ok] = lo, hi
        for j in np.flatnonzero(null) if np.count_nonzero(null) else ():
            notes[ok[j]].append(messages.NULL_Q_PROFILE)
    return Tau2IntervalBatch(low, high, tuple(tuple(n) for n in notes))


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
    """Q-profile confidence interval for τ² of one analysis (:func:`q_profile_batch`, which
    documents the parameters).

    Examples
    --------
    The same interval as metafor's ``confint(rma(yi, vi))`` (0.0307, 1.7849):

    >>> ci = q_profile_tau2_ci([0.1, 0.5, 0.2, 0.9], [0.01, 0.02, 0.015, 0.01])
    >>> round(ci.low, 4), round(ci.high, 4)
    (0.0307, 1.7849)
    """
    y = np.asarray(yi, dtype=float)[None]
    zero = None if at_zero is None else (np.array([at_zero[0]]), np.array([at_zero[1]]))
    ci = q_profile_batch(
        y,
        np.asarray(vi, dtype=float)[None],
        np.ones_like(y),
        level,
        as_design(X, 1, y.shape[1]),
        tau2_max=tau2_max,
        tol=tol,
        at_zero=zero,
    )
    return Tau2Interval(float(ci.low[0]), float(ci.high[0]), ci.notes[0])
