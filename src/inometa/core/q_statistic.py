"""The generalized Q statistic of R analyses × K studies and the roots of Q(τ²) = target.

Q(τ²) = yᵀP(τ²)y (:mod:`inometa.core.projection`; Cochran's Q at τ² = 0) is what the
Paule–Mandel estimator (:mod:`inometa.core.tau2`) and the Q-profile interval for τ²
(:mod:`inometa.core.heterogeneity`) solve for. Both search with :func:`solve_q_batch`, for
every analysis at once; one analysis is the batch of one (:func:`solve_q`,
:func:`generalized_q`). :class:`Tau2Data` carries the arrays of a batch.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ._rows import EPS, Workspace, masked_mean, row_dot, row_sum
from .projection import Projection, as_design, projection

__all__ = [
    "DEFAULT_MAXITER",
    "DEFAULT_TOL",
    "QRoot",
    "QRootBatch",
    "Tau2Data",
    "batch_data",
    "generalized_q",
    "generalized_q_batch",
    "one_analysis",
    "q_and_slope",
    "solve_q",
    "solve_q_batch",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_TOL = 1e-12
DEFAULT_MAXITER = 10_000
# (``np.count_nonzero(a)`` rather than ``a.any()`` in the loops: for the one analysis of
# ``metaprop`` it costs a seventh as much.)


class Tau2Data(NamedTuple):
    """One batch of analyses: values, variances, mask, design, k, p and the analyses with
    k > p (the others get τ² = 0)."""

    Y: FloatArray
    V: FloatArray
    M: FloatArray
    X: FloatArray | None
    k: FloatArray
    p: int
    act: BoolArray

    @property
    def df(self) -> FloatArray:
        return np.asarray(self.k - self.p, dtype=float)

    def take(self, rows: IntArray) -> Tau2Data:
        """The analyses ``rows``."""
        X = self.X if self.X is None or self.X.ndim == 2 else self.X[rows]
        return Tau2Data(
            self.Y[rows], self.V[rows], self.M[rows], X, self.k[rows], self.p, self.act[rows]
        )

    def at(self, tau2: FloatArray | float, out: FloatArray | None = None) -> Projection:
        """P(τ²) of every analysis; ``out``: an (R, K) buffer for the weights (reused in
        the loops: a fresh array of 10⁵ analyses costs more in page faults than the
        arithmetic done in it), which the projection holds."""
        t = np.asarray(tau2, dtype=float)
        w = np.add(self.V, t[:, None] if t.ndim else t, out=out)
        return projection(np.divide(self.M, w, out=w), self.X)


def generalized_q_batch(
    Y: FloatArray,
    V: FloatArray,
    M: FloatArray,
    tau2: FloatArray | float,
    X: FloatArray | None = None,
) -> FloatArray:
    """The generalized Q statistic yᵀP(τ²)y per analysis (Cochran's Q at τ² = 0).

    Examples
    --------
    >>> Y = np.array([[0.1, 0.3], [0.2, 0.2]])
    >>> generalized_q_batch(Y, np.full((2, 2), 0.01), np.ones((2, 2)), 0.0)
    array([2., 0.])
    """
    t = np.broadcast_to(np.asarray(tau2, dtype=float), (Y.shape[0],))
    return projection(M / (V + t[:, None]), X).quadratic(Y)


def generalized_q(
    tau2: float, yi: FloatArray, vi: FloatArray, X: npt.ArrayLike | None = None
) -> float:
    """The generalized Q statistic yᵀP(τ²)y of one analysis (Cochran's Q at τ² = 0).

    Examples
    --------
    >>> round(generalized_q(0.0, np.array([0.1, 0.3]), np.array([0.01, 0.01])), 6)
    2.0
    """
    y = np.asarray(yi, dtype=float)[None]
    Xd = as_design(X, 1, y.shape[1])
    q = generalized_q_batch(y, np.asarray(vi, dtype=float)[None], np.ones_like(y), tau2, Xd)
    return float(q[0])


def q_and_slope(
    d: Tau2Data, t: FloatArray, work: tuple[FloatArray, ...] | None = None
) -> tuple[FloatArray, FloatArray]:
    """Q(τ²) and −dQ/dτ² = Σ (wᵢrᵢ)² per analysis, r the weighted-least-squares residuals
    (``work``: three buffers of the data's shape to compute in, see :meth:`Tau2Data.at`)."""
    w_buf, r_buf, wr_buf = (None, None, None) if work is None else work
    P = d.at(t, w_buf)
    r = P.residuals(d.Y, r_buf)
    wr = np.multiply(P.w, r, out=wr_buf)
    return row_dot(wr, r), row_dot(wr, wr)


class QRootBatch(NamedTuple):
    """Solutions of Q(τ²) = target per analysis (see :func:`solve_q_batch`); ``last`` is
    the last point evaluated left of each root: (τ², Q, −dQ/dτ²)."""

    tau2: FloatArray
    iterations: IntArray
    converged: BoolArray
    capped: BoolArray
    last: tuple[FloatArray, FloatArray, FloatArray]


def solve_q_batch(
    target: FloatArray,
    d: Tau2Data,
    *,
    start: FloatArray | None = None,
    start_values: tuple[FloatArray, FloatArray] | None = None,
    cap: float = math.inf,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
) -> QRootBatch:
    """The τ² ≥ ``start`` with generalized Q(τ²) = ``target`` > 0 per analysis, given
    Q(start) ≥ target.

    Newton's method on 1/Q, which is close to linear in τ² (exactly linear when all vᵢ are
    equal and there are no moderators), so that it typically takes three or four steps from
    any start. The safeguard is the shape of Q itself: Q decreases and is convex in τ²
    (each term (yᵢ − Xᵢβ)²/(vᵢ + τ²) is jointly convex in (β, τ²), a square over a linear
    function, and minimising over β keeps convexity; dQ/dτ² = −Σ wᵢ² rᵢ² with r the
    weighted-least-squares residuals). So a Newton step on Q from a point left of the root
    never passes the root. A step on 1/Q is that step scaled by Q/target > 1; should one
    pass the root, the iteration continues with steps on Q, which increase monotonically to
    it. No bracket is needed.

    An analysis stops when a step is below ``tol`` times its mean vᵢ (or 4 ulp of τ²), or
    when Newton's quadratic convergence puts the error after the step, about
    |step|³/previous step², below that (and the step is at most a quarter of the previous
    one); the point after the last step is not evaluated. A root beyond ``cap`` is
    reported as ``cap`` with ``capped`` True. ``start_values``: Q and −dQ/dτ² at ``start``
    if known (e.g. ``last`` of a search for a larger target).
    """
    r = target.size
    tau2 = np.zeros(r) if start is None else np.array(start, dtype=float)
    if start_values is None:
        q, slope = q_and_slope(d, tau2)
    else:
        q, slope = (np.array(a, dtype=float) for a in start_values)
    out = tau2.copy()
    converged = np.zeros(r, dtype=bool)
    capped = np.zeros(r, dtype=bool)
    iterations = np.full(r, maxiter, dtype=np.int64)
    # The state of the analyses still searching (``rows``): τ², Q, −dQ/dτ², target, xtol,
    # the last step taken (NaN: none yet of this kind) and whether steps are still on 1/Q.
    # Their data (``dw``, analyses ``wrows``) are gathered afresh only when a fifth of them
    # has finished.
    rows, wrows, dw = np.arange(r), np.arange(r), d
    work = Workspace(d.V.shape)
    t, qv, sv, tg = tau2.copy(), q.copy(), slope.copy(), np.array(target, dtype=float)
    xt = tol * masked_mean(d.V, d.M, d.k)
    prev, recip = np.full(r, np.nan), np.ones(r, dtype=bool)

    def leave(stop: BoolArray) -> None:
        nonlocal rows, t, qv, sv, tg, xt, prev, recip
        gone = rows[stop]
        tau2[gone], q[gone], slope[gone] = t[stop], qv[stop], sv[stop]
        keep = ~stop
        rows, t, qv, sv, tg, xt = rows[keep], t[keep], qv[keep], sv[keep], tg[keep], xt[keep]
        prev, recip = prev[keep], recip[keep]

    def evaluate(trial: FloatArray) -> tuple[FloatArray, FloatArray]:
        nonlocal wrows, dw
        if rows.size < 0.8 * wrows.size:
            dw, wrows = dw.take(np.searchsorted(wrows, rows)), rows
        if rows.size == wrows.size:
            return q_and_slope(dw, trial, work.get(rows.size))
        full = tau2[wrows]  # (any finite value for the analyses that have finished)
        pos = np.searchsorted(wrows, rows)
        full[pos] = trial
        q_all, s_all = q_and_slope(dw, full, work.get(wrows.size))
        return q_all[pos], s_all[pos]

    bounded = cap < math.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        for it in range(1, maxiter + 1):
            # From a point left of the root every step is positive: step = its size.
            step = (qv - tg) / sv
            step = np.where(recip, step * qv / tg, step)
            trial = t + step
            small = step <= xt + 4 * EPS * trial
            if it > 1:  # (prev is NaN before the second iteration)
                small |= (step <= 0.25 * prev) & (step**3 <= xt * prev * prev)
            if bounded:
                trial = np.minimum(trial, cap)
                small &= trial < cap
            flat = sv <= 0  # Q ≡ 0 (all residuals 0): not converged
            stop = small | flat
            if np.count_nonzero(stop):
                done = rows[stop]
                iterations[done] = it
                ok = small[stop] & ~flat[stop]
                out[done] = np.where(ok, trial[stop], t[stop])
                converged[done] = ok
                trial, step = trial[~stop], step[~stop]
                leave(stop)
                if not rows.size:
                    break
            q_t, s_t = evaluate(trial)
            passed = (q_t < tg) & recip  # passed the root: steps on Q from here
            if bounded:
                at_cap = (trial == cap) & (q_t > tg)
                passed &= ~at_cap
                upd = ~(at_cap | passed)
            else:
                upd = ~passed
            if np.count_nonzero(upd) == upd.size:  # (the usual case: no masking to do)
                t, qv, sv, prev = trial, q_t, s_t, step
            else:
                t = np.where(upd, trial, t)
                qv, sv = np.where(upd, q_t, qv), np.where(upd, s_t, sv)
                prev = np.where(upd, step, np.nan)
                recip = recip & ~passed
            if bounded and np.count_nonzero(at_cap):
                done = rows[at_cap]
                out[done], converged[done], capped[done], iterations[done] = cap, True, True, it
                leave(at_cap)
                if not rows.size:
                    break
    if rows.size:  # the iteration limit
        out[rows] = t
        leave(np.ones(rows.size, dtype=bool))
    return QRootBatch(out, iterations, converged, capped, (tau2, q, slope))


class QRoot(NamedTuple):
    """A solution of Q(τ²) = target (see :func:`solve_q`)."""

    tau2: float
    iterations: int
    converged: bool
    capped: bool
    #: The last point evaluated, left of the root: (τ², Q, −dQ/dτ²).
    last: tuple[float, float, float] | None = None


def solve_q(
    target: float,
    yi: FloatArray,
    vi: FloatArray,
    X: npt.ArrayLike | None = None,
    *,
    start: float = 0.0,
    cap: float = math.inf,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
) -> QRoot:
    """:func:`solve_q_batch` for one analysis.

    Examples
    --------
    Two studies with v = 0.01 and Q(0) = 2 reach Q = 1 at τ² = 0.01:

    >>> root = solve_q(1.0, np.array([0.1, 0.3]), np.array([0.01, 0.01]))
    >>> round(root.tau2, 12), root.converged
    (0.01, True)
    """
    d = one_analysis(yi, vi, X)
    res = solve_q_batch(
        np.array([target]), d, start=np.array([start]), cap=cap, tol=tol, maxiter=maxiter
    )
    last = tuple(float(a[0]) for a in res.last)
    return QRoot(
        float(res.tau2[0]),
        int(res.iterations[0]),
        bool(res.converged[0]),
        bool(res.capped[0]),
        (last[0], last[1], last[2]),
    )


def batch_data(Y: FloatArray, V: FloatArray, M: FloatArray, X: FloatArray | None) -> Tau2Data:
    """The arrays of a batch with k, p and the analyses that have k > p."""
    k = row_sum(M)
    p = 1 if X is None else X.shape[-1]
    return Tau2Data(Y, V, M, X, k, p, k > p)


def one_analysis(yi: npt.ArrayLike, vi: npt.ArrayLike, X: npt.ArrayLike | None) -> Tau2Data:
    """One analysis as a batch of one (R = 1)."""
    y = np.asarray(yi, dtype=float)[None]
    return batch_data(
        y, np.asarray(vi, dtype=float)[None], np.ones_like(y), as_design(X, 1, y.shape[1])
    )
