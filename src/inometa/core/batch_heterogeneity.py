"""The Q-profile interval for τ² of many analyses at once (vectorised over rows).

:func:`q_profile_batch` computes for every row what
:func:`inometa.core.heterogeneity.q_profile_tau2_ci` computes for one intercept-only analysis:
the bounds are found by safeguarded Newton steps on 1/Q with the single path's tolerance
(``xtol = tol · mean vᵢ``), not step for step, and each row gets the single path's notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from .._distributions import by_df
from . import messages
from ._rows import EPS, Workspace, masked_mean, row_dot, row_sum
from .batch_tau2 import generalized_q_batch

__all__ = ["Tau2IntervalBatch", "q_profile_batch"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Tau2IntervalBatch:
    """Q-profile intervals for τ² per row, with the notes the single path gives."""

    low: FloatArray
    high: FloatArray
    notes: tuple[tuple[str, ...], ...]


def _take(a: FloatArray, rows: IntArray) -> FloatArray:
    """``a[rows]``, without the copy when ``rows`` is every row."""
    return a if rows.size == a.shape[0] else a[rows]


def _q_and_slope(
    Y: FloatArray, V: FloatArray, M: FloatArray, tau2: FloatArray, work: Workspace
) -> tuple[FloatArray, FloatArray]:
    """Q(τ²) and dQ/dτ² = −Σ wᵢ² (yᵢ − μ̂)² per row (μ̂'s own change drops out: Σ wᵢ(yᵢ − μ̂) = 0)."""
    w, res, wr = work.get(Y.shape[0])
    np.add(V, tau2[:, None], out=w)
    np.divide(M, w, out=w)
    s1 = row_sum(w)
    np.subtract(Y, (row_dot(w, Y) / s1)[:, None], out=res)
    np.multiply(w, res, out=wr)
    return row_dot(wr, res), -row_dot(wr, wr)


def _solve_q(
    Y: FloatArray,
    V: FloatArray,
    M: FloatArray,
    target: FloatArray,
    hi: FloatArray,
    xatol: FloatArray,
    maxiter: int = 200,
) -> FloatArray:
    """The τ² in [0, hi] with Q(τ²) = target, per row, given Q(0) ≥ target ≥ Q(hi).

    Q decreases in τ², and 1/Q is nearly linear in it (each study contributes about
    1/(vᵢ + τ²)), so Newton steps on 1/Q converge in a few iterations; a step that leaves
    the current bracket is replaced by bisection. A row stops when its Newton step is below
    ``xatol + 4 eps τ²`` (the error after such a step is of the order of its square).
    """
    r = target.size
    t = np.zeros(r)
    lo = np.zeros(r)
    hi = np.array(hi, dtype=float)
    rows = np.arange(r)
    work = Workspace(Y.shape)
    for _ in range(maxiter):
        tr = t[rows]
        q, d = _q_and_slope(_take(Y, rows), _take(V, rows), _take(M, rows), tr, work)
        c = target[rows]
        left = q >= c
        lo[rows] = np.where(left, tr, lo[rows])
        hi[rows] = np.where(left, hi[rows], tr)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = q * (1 - q / c) / d
        new = tr + step
        bad = ~np.isfinite(new) | (new <= lo[rows]) | (new >= hi[rows])
        new = np.where(bad, 0.5 * (lo[rows] + hi[rows]), new)
        exact = q == c
        done = exact | (~bad & (np.abs(step) <= xatol[rows] + 4 * EPS * np.abs(new)))
        t[rows] = np.where(exact, tr, new)
        rows = rows[~done]
        if rows.size == 0:
            break
    return t


def q_profile_batch(
    Y: FloatArray, V: FloatArray, M: FloatArray, level: float, *, tol: float = 1e-12
) -> Tau2IntervalBatch:
    """Q-profile confidence interval for τ² (Viechtbauer 2007) for every row.

    As :func:`inometa.core.heterogeneity.q_profile_tau2_ci`: the bounds solve
    Q(τ²) = χ²₍k−1; 1−α/2₎ (lower) and χ²₍k−1; α/2₎ (upper), the search range starts at
    100 and grows tenfold as needed, and Q(0) below the lower quantile gives {0}.

    Examples
    --------
    The example of :func:`inometa.core.heterogeneity.q_profile_tau2_ci` (metafor 0.0307, 1.7849):

    >>> ci = q_profile_batch(np.array([[0.1, 0.5, 0.2, 0.9]]),
    ...                      np.array([[0.01, 0.02, 0.015, 0.01]]), np.ones((1, 4)), 0.95)
    >>> round(float(ci.low[0]), 4), round(float(ci.high[0]), 4)
    (0.0307, 1.7849)
    """
    r = Y.shape[0]
    k = row_sum(M)
    df = k - 1
    low = np.full(r, np.nan)
    high = np.full(r, np.nan)
    notes: list[list[str]] = [[] for _ in range(r)]
    for i in np.flatnonzero(df < 1):
        notes[i].append(messages.K1_TAU2_CI)
    ok = np.flatnonzero(df >= 1)
    if ok.size:
        Ys, Vs, Ms, d = Y[ok], V[ok], M[ok], df[ok]
        alpha = 1 - level
        # stats.chi2.isf and .ppf without the distribution machinery (see _distributions)
        crit_upper = by_df(lambda q, df: special.chdtri(df, q), alpha / 2, d)
        crit_lower = by_df(lambda p, df: 2 * special.gammaincinv(df / 2, p), alpha / 2, d)
        q0 = generalized_q_batch(Ys, Vs, Ms, 0.0)
        tmax = np.full(ok.size, 100.0)
        q_tmax = generalized_q_batch(Ys, Vs, Ms, tmax)
        grow = (q_tmax > crit_lower) & (tmax < 1e12)
        while grow.any():
            g = np.flatnonzero(grow)
            tmax[g] *= 10
            q_tmax[g] = generalized_q_batch(Ys[g], Vs[g], Ms[g], tmax[g])
            grow = (q_tmax > crit_lower) & (tmax < 1e12)
        xatol = tol * masked_mean(Vs, Ms, k[ok])

        def solve(rows: IntArray, target: FloatArray) -> FloatArray:
            return _solve_q(Ys[rows], Vs[rows], Ms[rows], target[rows], tmax[rows], xatol[rows])

        null = q0 < crit_lower
        unbounded = ~null & (q_tmax > crit_lower)
        lo, hi = np.zeros(ok.size), np.zeros(ok.size)
        hi[unbounded] = tmax[unbounded]
        rows = np.flatnonzero(~null & ~unbounded)
        if rows.size:
            hi[rows] = solve(rows, crit_lower)
        rows = np.flatnonzero(~null & (q0 >= crit_upper))
        if rows.size:
            lo[rows] = solve(rows, crit_upper)
        low[ok], high[ok] = lo, hi
        for j in np.flatnonzero(null):
            notes[ok[j]].append(messages.NULL_Q_PROFILE)
        for j in np.flatnonzero(unbounded):
            notes[ok[j]].append(f"the upper Q-profile bound for τ² exceeds {tmax[j]:g}")
    return Tau2IntervalBatch(low, high, tuple(tuple(n) for n in notes))
