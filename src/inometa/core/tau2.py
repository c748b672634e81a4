"""Estimators of the between-study variance τ², one function each, as metafor defines them,
written once for R analyses × K studies.

Every estimator takes (R, K) arrays of model-scale values ``Y`` and sampling variances
``V``, a 0/1 mask ``M`` of the studies present in each analysis (ragged sets) and an
optional design matrix ``X`` (None: intercept only; (K, p) shared by every analysis, or
(R, K, p), one per analysis, e.g. the permutations of a permutation test), and returns a
:class:`Tau2Batch` of per-analysis arrays. One analysis is the batch of one:
:func:`estimate_tau2` is that case. The formulas are those of metafor 3.8's ``rma.uni``
(``method=``):

========  ===============================================================================
name      definition (P = W − WX(XᵀWX)⁻¹XᵀW, W = diag(1/(vᵢ + τ²)))
========  ===============================================================================
``DL``    DerSimonian–Laird: (yᵀP₀y − (k−p)) / tr P₀, with P₀ at τ² = 0
``HE``    Hedges: (yᵀ(I−H)y − tr((I−H)V)) / (k−p), H the OLS hat matrix
``HS``    Hunter–Schmidt: (yᵀP₀y − k) / Σ wᵢ, wᵢ = 1/vᵢ
``SJ``    Sidik–Jonkman: τ₀² yᵀP(τ₀²)y / (k−p), τ₀² the variance of y with divisor k
``ML``    maximum likelihood (Fisher scoring as metafor, with Newton steps where safe,
          then ``ll0check``)
``REML``  restricted maximum likelihood (as ML)
``PM``    Paule–Mandel: the root of yᵀP(τ²)y = k − p (0 if yᵀP₀y < k − p), by
          safeguarded Newton steps (:func:`solve_q_batch`)
``EB``    empirical Bayes (Morris): Fisher-type iteration on (k/(k−p)) yᵀPy − k; it has
          the same root as PM, but metafor computes it by its own iteration
========  ===============================================================================

All estimates are truncated at 0 (metafor ``tau2.min = 0``); an analysis with k ≤ p
studies gets τ² = 0 (metafor's ``k1`` rule) and a NaN standard error. Iterative estimators
stop when successive values differ by at most ``tol`` times the scale of the problem,
max(τ², mean vᵢ) (default tol 1e-12, far below metafor's defaults: an absolute 1e-5 for
Fisher scoring and about 1.2e-4 for root finding), so that the precision does not depend on
the units of y (τ² on the raw-proportion scale is often 1e-5). Each analysis runs the same
steps as it would alone, records its own iterations and convergence, and leaves the loop
when it meets its criterion. The standard errors are metafor's ``se.tau2``. Every quantity
is a function of the projector P (:mod:`inometa.core.projection`), which without moderators
is never formed: O(RK) time and memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .._validation import check_choice
from . import messages
from ._rows import EPS, Workspace, masked_mean, row_dot, row_sum
from .projection import Projection, as_design, projection

__all__ = [
    "TAU2_ESTIMATORS",
    "QRoot",
    "QRootBatch",
    "Tau2Batch",
    "Tau2Data",
    "Tau2Fit",
    "batch_data",
    "estimate_tau2",
    "estimate_tau2_batch",
    "generalized_q",
    "generalized_q_batch",
    "loglik_batch",
    "q_and_slope",
    "solve_q",
    "solve_q_batch",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
NoteArray = npt.NDArray[np.object_]

# (``np.count_nonzero(a)`` rather than ``a.any()`` in the loops: for the one analysis of
# ``metaprop`` it costs a seventh as much.)
DEFAULT_TOL = 1e-12
DEFAULT_MAXITER = 10_000
_LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class Tau2Fit:
    """An estimate of τ².

    Attributes
    ----------
    method
        Estimator name as metafor spells it (``"REML"``).
    tau2
        The estimate, ≥ 0.
    se
        Its standard error as metafor computes ``se.tau2`` (NaN where undefined, k = p).
    iterations
        Iterations used (0 for closed-form estimators).
    converged
        False if an iterative estimator hit the iteration limit.
    note
        Why the estimate is where it is, if that needs saying (truncation at 0, a fallback).
    """

    method: str
    tau2: float
    se: float
    iterations: int = 0
    converged: bool = True
    note: str | None = None


@dataclass(frozen=True)
class Tau2Batch:
    """τ² estimates of R analyses: the fields of :class:`Tau2Fit`, one entry per analysis
    (``note``: None where there is nothing to say)."""

    method: str
    tau2: FloatArray
    se: FloatArray
    iterations: IntArray
    converged: BoolArray
    note: NoteArray

    def row(self, i: int) -> Tau2Fit:
        """Analysis ``i`` as a :class:`Tau2Fit`."""
        note = self.note[i]
        return Tau2Fit(
            self.method,
            float(self.tau2[i]),
            float(self.se[i]),
            int(self.iterations[i]),
            bool(self.converged[i]),
            None if note is None else str(note),
        )


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


def _notes(r: int) -> NoteArray:
    return np.full(r, None, dtype=object)


def _truncation_notes(raw: FloatArray, act: BoolArray) -> NoteArray:
    note = _notes(raw.size)
    for i in np.flatnonzero(act & (raw < 0)):
        note[i] = messages.truncated(float(raw[i]))
    return note


def _closed(method: str, tau2: FloatArray, se: FloatArray, note: NoteArray) -> Tau2Batch:
    r = tau2.size
    return Tau2Batch(method, tau2, se, np.zeros(r, dtype=np.int64), np.ones(r, dtype=bool), note)


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


def loglik_batch(d: Tau2Data, tau2: FloatArray, reml: bool) -> FloatArray:
    """The (restricted) log-likelihood of τ² per analysis."""
    P = d.at(tau2)
    rss = P.quadratic(d.Y)
    log_v = row_sum(d.M * np.log(d.V + tau2[:, None]))
    if reml:
        return np.asarray(-0.5 * (d.df * _LOG_2PI + log_v + P.logdet_xtwx() + rss), dtype=float)
    return np.asarray(-0.5 * (d.k * _LOG_2PI + log_v + rss), dtype=float)


# -- closed-form estimators ------------------------------------------------------------------


def _dl(d: Tau2Data, tol: float, maxiter: int) -> Tau2Batch:
    P = d.at(0.0)
    trp = P.trace()
    raw = (P.quadratic(d.Y) - d.df) / trp
    tau2 = np.maximum(0.0, raw)
    se = np.sqrt((2 * d.df + 4 * tau2 * trp + 2 * tau2**2 * P.sum_sq()) / trp**2)
    return _closed("DL", tau2, se, _truncation_notes(raw, d.act))


def _he_parts(d: Tau2Data) -> tuple[FloatArray, FloatArray, Projection]:
    """The raw Hedges estimate (yᵀP₀y − tr P₀V)/(k − p), tr P₀V and P₀ = I − H (OLS, unit
    weights)."""
    P0 = projection(d.M, d.X)
    tr_pv = row_dot(P0.diagonal(), d.V)
    return (P0.quadratic(d.Y) - tr_pv) / d.df, tr_pv, P0


def _he(d: Tau2Data, tol: float, maxiter: int) -> Tau2Batch:
    raw, tr_pv, P0 = _he_parts(d)
    tau2 = np.maximum(0.0, raw)
    spv = P0.sum_sq(d.V, d.V)
    se = np.sqrt((2 * spv + 4 * tau2 * tr_pv + 2 * tau2**2 * d.df) / d.df**2)
    return _closed("HE", tau2, se, _truncation_notes(raw, d.act))


def _hs(d: Tau2Data, tol: float, maxiter: int) -> Tau2Batch:
    P = d.at(0.0)
    sum_w = P.total_weight()
    raw = (P.quadratic(d.Y) - d.k) / sum_w
    tau2 = np.maximum(0.0, raw)
    se = np.sqrt((2 * d.df + 4 * tau2 * P.trace() + 2 * tau2**2 * P.sum_sq()) / sum_w**2)
    return _closed("HS", tau2, se, _truncation_notes(raw, d.act))


def _sj(d: Tau2Data, tol: float, maxiter: int) -> Tau2Batch:
    # metafor's starting value is the variance of y (not of residuals), divisor k. For
    # equal values R's var() gives exactly 0; the rounding of the mean can leave ~1e-33,
    # which would give a τ² of 1e-66 instead of 0: equal values are detected exactly.
    Y, M, k = d.Y, d.M, d.k
    equal = np.where(M > 0, Y, -np.inf).max(axis=1) == np.where(M > 0, Y, np.inf).min(axis=1)
    dev = M * (Y - (row_sum(M * Y) / k)[:, None])
    tau0 = np.where(equal, 0.0, row_sum(dev * dev) / k)
    P = d.at(tau0)
    tau2 = np.maximum(0.0, tau0 * P.quadratic(Y) / d.df)
    # tr PVPV, Σᵢⱼ Pᵢⱼ² vⱼ and tr P² (metafor: sum(PV*t(PV)), sum(PV*P), sum(P*P))
    V = d.V
    spvpv, spvp, spp = P.sum_sq(V, V), P.sum_sq(None, V), P.sum_sq()
    se = np.sqrt(tau0**2 / d.df**2 * (2 * spvpv + 4 * tau2 * spvp + 2 * tau2**2 * spp))
    note = _notes(k.size)
    note[d.act & (tau0 == 0)] = messages.ALL_EQUAL
    return _closed("SJ", tau2, se, note)


# -- Paule–Mandel: the root of Q(τ²) = k − p ---------------------------------------------------


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
            small = (step <= xt + 4 * EPS * trial) | (
                (step <= 0.25 * prev) & (step**3 <= xt * prev * prev)
            )
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
    d = _one(yi, vi, X)
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


def _pm(d: Tau2Data, tol: float, maxiter: int) -> Tau2Batch:
    r = d.k.size
    target = d.df
    tau2 = np.zeros(r)
    iterations = np.zeros(r, dtype=np.int64)
    converged = np.ones(r, dtype=bool)
    note = _notes(r)
    below = d.act & (generalized_q_batch(d.Y, d.V, d.M, 0.0, d.X) < target)
    note[below] = messages.BELOW_EXPECTATION
    solve = np.flatnonzero(d.act & ~below)
    if solve.size:
        root = solve_q_batch(target[solve], d.take(solve), tol=tol, maxiter=maxiter)
        tau2[solve], converged[solve], iterations[solve] = (
            root.tau2,
            root.converged,
            root.iterations,
        )
        for i in solve[~root.converged]:
            note[i] = messages.newton_not_converged(maxiter)
    se = np.sqrt(2 * d.k**2 / d.df / d.at(tau2).total_weight() ** 2)
    return Tau2Batch("PM", tau2, se, iterations, converged, note)


# -- ML, REML, EB: Fisher scoring with Newton steps -------------------------------------------


def _scoring_terms(
    method: str, d: Tau2Data, tau2: FloatArray, work: tuple[FloatArray, ...] | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per analysis at τ²: the score for τ² — yᵀP²y − tr P (REML), yᵀP²y − Σw (ML), or the
    EB estimating equation k/(k−p)·yᵀPy − k —, the expected information — tr P² (REML),
    Σw² (ML) or Σw (EB) — and the observed information −d(score)/dτ²: 2yᵀP³y minus the
    expected one (ML, REML; NaN for EB, not a likelihood); ``work``: three buffers of the
    data's shape to compute in (see :meth:`Tau2Data.at`)."""
    w_buf, a_buf, b_buf = (None, None, None) if work is None else work
    P = d.at(tau2, w_buf)
    if method == "EB":
        score = P.quadratic(d.Y, a_buf) * d.k / d.df - d.k
        return score, P.total_weight(), np.full(score.size, np.nan)
    Py = P.apply(d.Y, a_buf)
    ypp = row_dot(Py, Py)
    if method == "ML":
        expected = row_dot(P.w, P.w)
        score = ypp - P.total_weight()
    else:
        expected = P.sum_sq()
        score = ypp - P.trace()
    return score, expected, 2 * P.quadratic(Py, b_buf) - expected


def _fisher_scoring(method: str, d: Tau2Data, tol: float, maxiter: int) -> Tau2Batch:
    """metafor's Fisher scoring for ML, REML and EB, started at max(0, HE); for ML and REML
    with Newton steps where they are safe.

    Fisher scoring (score over expected information) converges linearly: about ten
    iterations to the precision asked for. For ML and REML the step is instead Newton's
    step for the root of ψ(τ²) = score · (v̄ + τ²)² (v̄ the harmonic mean of the vᵢ), which
    has the root of the score, is linear in τ² when the vᵢ are equal and close to linear
    otherwise (quadratic convergence from a better start than Newton on the score itself:
    about three iterations instead of five), when its derivative has the right sign and
    the Newton point stays inside the bracket of the maximum that the signs of the scores
    seen so far give (score > 0 left of it, < 0 right of it); otherwise the Fisher step is
    taken. metafor's rules are kept: the boundary test, step halving, and the likelihood
    check at τ² = 0. An analysis stops when a step changes τ² by at most ``tol`` times
    max(τ², mean vᵢ), or when, after two Newton steps in a row, quadratic convergence puts
    the error after the last one below that.
    """
    r = d.k.size
    act = d.act
    tau2 = np.where(act, np.maximum(0.0, _he_parts(d)[0]), 0.0)
    scale = masked_mean(d.V, d.M, d.k)
    rows = np.flatnonzero(act)
    dw = d.take(rows)
    score0 = np.full(r, np.nan)  # ≤ 0: the boundary τ² = 0 is a maximum (NaN: not known)

    def at_zero(which: IntArray) -> FloatArray:
        """The score at τ² = 0 of the analyses ``which``, computed once and when needed."""
        unknown = which[np.isnan(score0[which])]
        if unknown.size:
            score0[unknown] = _scoring_terms(method, d.take(unknown), np.zeros(unknown.size))[0]
        return score0[which]

    converged = ~act
    at_boundary = np.zeros(r, dtype=bool)
    iterations = np.zeros(r, dtype=np.int64)
    newton = method in ("ML", "REML")
    # The state of the analyses still iterating (``rows``): τ², the score at 0, the scale,
    # v̄ (the harmonic mean of the vᵢ), the bracket [lo, hi] of the maximum that the signs
    # of the scores seen so far give, and the size of the last step if it was a Newton
    # step. Their data (``dw``, analyses ``wrows``) are gathered afresh only when a fifth
    # of them has finished: gathering them every iteration would cost more than it saves.
    wrows, work = rows, Workspace(dw.V.shape)
    t, sc = tau2[rows], scale[rows]
    vb = (d.k / row_sum(d.M / d.V))[rows]
    lo, hi, prev = np.zeros(rows.size), np.full(rows.size, np.inf), np.full(rows.size, np.nan)
    for it in range(1, maxiter + 1):
        if not rows.size:
            break
        if rows.size < 0.8 * wrows.size:
            dw, wrows = dw.take(np.searchsorted(wrows, rows)), rows
        if rows.size == wrows.size:
            score, expected, observed = _scoring_terms(method, dw, t, work.get(rows.size))
        else:
            full = tau2[wrows]
            pos = np.searchsorted(wrows, rows)
            full[pos] = t
            terms = _scoring_terms(method, dw, full, work.get(wrows.size))
            score, expected, observed = (a[pos] for a in terms)
        adj = score / expected
        adj = np.where(np.isfinite(adj), adj, 0.0)
        # The step would leave the parameter space and the likelihood falls away from the
        # boundary: the maximum is τ² = 0, which metafor's step halving approaches
        # geometrically (one halving per iteration).
        jump = t + adj < 0
        if np.count_nonzero(jump):
            jump[jump] = at_zero(rows[jump]) <= 0
        inside = np.zeros(rows.size, dtype=bool)
        if newton:
            lo = np.where(score > 0, np.maximum(lo, t), lo)
            hi = np.where(score < 0, np.minimum(hi, t), hi)
            # Newton's step on ψ = score · (v̄ + τ²)², which has the score's root and is
            # linear in τ² when all vᵢ equal v̄ (the score itself is far from linear: steps
            # on it overshoot). −dψ/dτ² / (v̄ + τ²)² = observed − 2 score/(v̄ + τ²).
            den = observed - 2 * score / (vb + t)
            target = t + score / den
            inside = (den > 0) & (lo < target) & (target < hi)
            adj = np.where(inside, target - t, adj)
        # Step halving keeps τ² inside the parameter space.
        crossing = ~jump & (t + adj < 0)
        while np.count_nonzero(crossing):
            adj = np.where(crossing, adj / 2, adj)
            tiny = crossing & (np.abs(adj) < 1e-300)
            adj = np.where(tiny, -t, adj)
            crossing = ~tiny & (t + adj < 0)
        new = np.where(jump, 0.0, t + adj)
        change = np.abs(new - t)
        limit = tol * np.maximum(new, sc)
        # After two Newton steps in a row, quadratic convergence puts the error after this
        # one at about change³/previous² (once a step is at most a quarter of the last).
        done = (
            jump
            | (change <= limit)
            | (inside & (change <= 0.25 * prev) & (change**3 <= limit * prev * prev))
        )
        prev = np.where(inside, change, np.nan)
        t = new
        if np.count_nonzero(done):
            gone = rows[done]
            tau2[gone], iterations[gone], converged[gone] = t[done], it, True
            at_boundary[rows[jump]] = True
            keep = ~done
            rows, t, sc, vb = rows[keep], t[keep], sc[keep], vb[keep]
            lo, hi, prev = lo[keep], hi[keep], prev[keep]
    tau2[rows], iterations[rows] = t, maxiter  # (the iteration limit)
    note = _notes(r)
    note[act & ~converged] = messages.fisher_not_converged(maxiter, tol)
    # Step halving approaches the boundary geometrically and stops within tol of it
    # (metafor reports such a value); the maximum itself is at 0.
    near = act & (tau2 > 0) & (tau2 <= 1e3 * tol * scale)
    if np.count_nonzero(near):
        near[near] = at_zero(np.flatnonzero(near)) <= 0
    tau2[near] = 0.0
    at_boundary |= near
    note[at_boundary] = messages.AT_BOUNDARY
    tau2 = np.maximum(0.0, tau2)
    if newton:
        # metafor's ll0check: a boundary value with a higher likelihood wins.
        check = np.flatnonzero(act & (tau2 > 0))
        if check.size:
            # both points of every analysis in one batch: rows (τ̂ ..., 0 ...)
            c = check.size
            both = loglik_batch(
                d.take(np.concatenate([check, check])),
                np.concatenate([tau2[check], np.zeros(c)]),
                method == "REML",
            )
            worse = both[c:] - both[:c] > 1e-10
            tau2[check[worse]] = 0.0
            note[check[worse]] = messages.LIKELIHOOD_AT_ZERO
    P = d.at(tau2)
    if method == "ML":
        se = np.sqrt(2 / row_dot(P.w, P.w))
    elif method == "REML":
        se = np.sqrt(2 / P.sum_sq())
    else:
        se = np.sqrt(2 * d.k**2 / d.df / P.total_weight() ** 2)
    return Tau2Batch(method, tau2, se, iterations, converged, note)


def _ml(d: Tau2Data, tol: float, maxiter: int) -> Tau2Batch:
    return _fisher_scoring("ML", d, tol, maxiter)


def _reml(d: Tau2Data, tol: float, maxiter: int) -> Tau2Batch:
    return _fisher_scoring("REML", d, tol, maxiter)


def _eb(d: Tau2Data, tol: float, maxiter: int) -> Tau2Batch:
    return _fisher_scoring("EB", d, tol, maxiter)


_Estimator = Callable[[Tau2Data, float, int], Tau2Batch]

#: Name → estimator function (metafor's ``method=`` names).
TAU2_ESTIMATORS: dict[str, _Estimator] = {
    "DL": _dl,
    "REML": _reml,
    "ML": _ml,
    "PM": _pm,
    "HS": _hs,
    "SJ": _sj,
    "HE": _he,
    "EB": _eb,
}

_NAMES = {name.lower(): name for name in TAU2_ESTIMATORS}


def batch_data(Y: FloatArray, V: FloatArray, M: FloatArray, X: FloatArray | None) -> Tau2Data:
    """The arrays of a batch with k, p and the analyses that have k > p."""
    k = row_sum(M)
    p = 1 if X is None else X.shape[-1]
    return Tau2Data(Y, V, M, X, k, p, k > p)


def estimate_tau2_batch(
    Y: FloatArray,
    V: FloatArray,
    M: FloatArray,
    method: str,
    X: FloatArray | None = None,
    *,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
) -> Tau2Batch:
    """Estimate τ² for every analysis (row) with one of metafor's estimators.

    Parameters
    ----------
    Y, V, M
        (R, K) model-scale values, sampling variances (> 0 where present) and 0/1 mask of
        the studies present (absent entries may hold any finite values).
    method
        Canonical estimator name (a key of :data:`TAU2_ESTIMATORS`).
    X
        None (intercept only), a (K, p) design shared by every analysis or (R, K, p).
    tol, maxiter
        Convergence criterion (relative to max(τ², mean vᵢ)) and iteration limit.

    Examples
    --------
    The rows are independent analyses; the first is the example of :func:`estimate_tau2`
    (metafor: 0.0244444):

    >>> Y = np.array([[0.1, 0.5, 0.2], [0.3, 0.3, 0.0]])
    >>> V = np.array([[0.01, 0.02, 0.015], [0.01, 0.01, 1.0]])
    >>> M = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    >>> fit = estimate_tau2_batch(Y, V, M, "DL")
    >>> np.round(fit.tau2, 6).tolist(), fit.note[1]
    ([0.024444, 0.0], 'the estimate (-0.01) was negative and is truncated at 0')
    """
    if method not in TAU2_ESTIMATORS:
        raise ValueError(f"unknown tau2_method {method!r}")
    d = batch_data(Y, V, M, X)
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = TAU2_ESTIMATORS[method](d, tol, maxiter)
    single = ~d.act
    if np.count_nonzero(single):
        fit.tau2[single] = 0.0
        fit.se[single] = np.nan
        fit.iterations[single] = 0
        fit.converged[single] = True
        for i in np.flatnonzero(single):
            fit.note[i] = messages.k_study(int(d.k[i]))
    return fit


def _one(yi: npt.ArrayLike, vi: npt.ArrayLike, X: npt.ArrayLike | None) -> Tau2Data:
    """One analysis as a batch of one (R = 1)."""
    y = np.asarray(yi, dtype=float)[None]
    return batch_data(
        y, np.asarray(vi, dtype=float)[None], np.ones_like(y), as_design(X, 1, y.shape[1])
    )


def estimate_tau2(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    method: str = "REML",
    X: npt.ArrayLike | None = None,
    *,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
) -> Tau2Fit:
    """Estimate τ² of one analysis with one of metafor's estimators (the batch of one).

    Parameters
    ----------
    yi, vi
        Model-scale values and their sampling variances (all vi > 0).
    method
        ``"DL"``, ``"REML"``, ``"ML"``, ``"PM"``, ``"HS"``, ``"SJ"``, ``"HE"`` or ``"EB"``
        (case-insensitive).
    X
        Optional k × p design matrix (default: intercept only).
    tol, maxiter
        Convergence criterion and iteration limit of iterative estimators.

    Returns
    -------
    Tau2Fit

    Notes
    -----
    With k = p (e.g. one study) τ² is 0 by definition (metafor's ``k1`` rule) and its
    standard error is NaN.

    Examples
    --------
    metafor's ``rma(yi, vi, method="DL")`` gives 0.0244444:

    >>> fit = estimate_tau2([0.1, 0.5, 0.2], [0.01, 0.02, 0.015], "DL")
    >>> round(fit.tau2, 6)
    0.024444
    """
    name = check_choice(method, "tau2_method", _NAMES)
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.shape != v.shape or y.ndim != 1:
        raise ValueError("yi and vi must be one-dimensional and of equal length")
    if not v.min(initial=math.inf) > 0:  # (NaN fails too)
        raise ValueError("all sampling variances vi must be > 0 to estimate τ²")
    d = _one(y, v, X)
    return estimate_tau2_batch(d.Y, d.V, d.M, name, d.X, tol=tol, maxiter=maxiter).row(0)
