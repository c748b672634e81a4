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
          safeguarded Newton steps (:func:`~inometa.core.q_statistic.solve_q_batch`)
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

import numpy as np
import numpy.typing as npt

from .._validation import check_choice
from . import messages
from ._rows import Workspace, masked_mean, row_dot, row_sum
from .projection import Projection, projection
from .q_statistic import (
    DEFAULT_MAXITER,
    DEFAULT_TOL,
    Tau2Data,
    batch_data,
    generalized_q,
    generalized_q_batch,
    one_analysis,
    solve_q,
    solve_q_batch,
)

__all__ = [
    "TAU2_ESTIMATORS",
    "Tau2Batch",
    "Tau2Fit",
    "estimate_tau2",
    "estimate_tau2_batch",
    # One analysis's Q and its roots, where metafor users look for them (q_statistic):
    "generalized_q",
    "loglik_batch",
    "solve_q",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
NoteArray = npt.NDArray[np.object_]

# (``np.count_nonzero(a)`` rather than ``a.any()`` in the loops: for the one analysis of
# ``metaprop`` it costs a seventh as much.)
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
    data's shape to compute in (see :meth:`inometa.core.q_statistic.Tau2Data.at`)."""
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
    n_act = np.count_nonzero(act)
    rows = np.flatnonzero(act) if n_act < r else np.arange(r)
    dw = d.take(rows) if n_act < r else d  # (no copy when every analysis iterates)
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
        n_jump = np.count_nonzero(jump)
        if n_jump:
            jump[jump] = at_zero(rows[jump]) <= 0
            n_jump = np.count_nonzero(jump)
        if newton:
            np.maximum(lo, t, out=lo, where=score > 0)
            np.minimum(hi, t, out=hi, where=score < 0)
            # Newton's step on ψ = score · (v̄ + τ²)², which has the score's root and is
            # linear in τ² when all vᵢ equal v̄ (the score itself is far from linear: steps
            # on it overshoot). −dψ/dτ² / (v̄ + τ²)² = observed − 2 score/(v̄ + τ²).
            den = observed - 2 * score / (vb + t)
            target = t + score / den
            inside = (den > 0) & (lo < target) & (target < hi)
            np.subtract(target, t, out=adj, where=inside)
        else:
            inside = np.zeros(rows.size, dtype=bool)
        # Step halving keeps τ² inside the parameter space.
        new = t + adj
        crossing = new < 0
        if n_jump:
            crossing &= ~jump
        while np.count_nonzero(crossing):
            adj = np.where(crossing, adj / 2, adj)
            tiny = crossing & (np.abs(adj) < 1e-300)
            adj = np.where(tiny, -t, adj)
            new = t + adj
            crossing = ~tiny & (new < 0)
        if n_jump:
            new[jump] = 0.0
        change = np.abs(new - t)
        limit = tol * np.maximum(new, sc)
        # After two Newton steps in a row, quadratic convergence puts the error after this
        # one at about change³/previous² (once a step is at most a quarter of the last).
        done = change <= limit
        if n_jump:
            done |= jump
        if it > 1:  # (no previous Newton step before the second iteration: prev is NaN)
            done |= inside & (change <= 0.25 * prev) & (change**3 <= limit * prev * prev)
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
    failed = act & ~converged
    if np.count_nonzero(failed):
        note[failed] = messages.fisher_not_converged(maxiter, tol)
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
    d = one_analysis(y, v, X)
    return estimate_tau2_batch(d.Y, d.V, d.M, name, d.X, tol=tol, maxiter=maxiter).row(0)
