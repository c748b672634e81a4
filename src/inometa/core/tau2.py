"""Estimators of the between-study variance τ², one pure function each, as metafor defines them.

Every estimator takes model-scale values ``yi``, sampling variances ``vi`` and an optional
design matrix ``X`` (k × p; None: intercept only) and returns a :class:`Tau2Fit`.
The formulas are those of metafor 3.8's ``rma.uni`` (``method=``):

========  ==============================================================================
name      definition (P = W − WX(XᵀWX)⁻¹XᵀW, W = diag(1/(vᵢ + τ²)))
========  ==============================================================================
``DL``    DerSimonian–Laird: (yᵀP₀y − (k−p)) / tr P₀, with P₀ at τ² = 0
``HE``    Hedges: (yᵀ(I−H)y − tr((I−H)V)) / (k−p), H the OLS hat matrix
``HS``    Hunter–Schmidt: (yᵀP₀y − k) / Σ wᵢ, wᵢ = 1/vᵢ
``SJ``    Sidik–Jonkman: τ₀² yᵀP(τ₀²)y / (k−p), τ₀² the variance of y with divisor k
``ML``    maximum likelihood (Fisher scoring as metafor, with Newton steps where safe,
          then ``ll0check``)
``REML``  restricted maximum likelihood (as ML)
``PM``    Paule–Mandel: the root of yᵀP(τ²)y = k − p (0 if yᵀP₀y < k − p), by
          safeguarded Newton steps (:func:`solve_q`)
``EB``    empirical Bayes (Morris): Fisher-type iteration on (k/(k−p)) yᵀPy − k; it has
          the same root as PM, but metafor computes it by its own iteration
========  ==============================================================================

All estimates are truncated at 0 (metafor ``tau2.min = 0``). Iterative estimators stop when
successive values differ by at most ``tol`` times the scale of the problem, max(τ², mean vᵢ)
(default tol 1e-12, far below metafor's defaults: an absolute 1e-5 for Fisher scoring and
about 1.2e-4 for root finding), so that the precision does not depend on the units of y
(τ² on the raw-proportion scale is often 1e-5). They record the number of iterations and
whether they converged. The standard errors are metafor's ``se.tau2``.

P is never formed for the model without moderators: every quantity above is a sum over
studies (:mod:`inometa._wls`), so estimating τ² takes O(k) time and memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .._validation import check_choice
from .._wls import (
    DenseProjection,
    InterceptProjection,
    design_matrix,
    model_dimensions,
    ones,
    projection,
    total,
)
from . import messages

__all__ = ["TAU2_ESTIMATORS", "QRoot", "Tau2Fit", "estimate_tau2", "generalized_q", "solve_q"]

FloatArray = npt.NDArray[np.float64]

DEFAULT_TOL = 1e-12
DEFAULT_MAXITER = 10_000
_EPS = float(np.finfo(float).eps)
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


def generalized_q(
    tau2: float, yi: FloatArray, vi: FloatArray, X: npt.ArrayLike | None = None
) -> float:
    """The generalized Q statistic yᵀP(τ²)y (Cochran's Q at τ² = 0).

    Examples
    --------
    >>> round(generalized_q(0.0, np.array([0.1, 0.3]), np.array([0.01, 0.01])), 6)
    2.0
    """
    return projection(1 / (vi + tau2), design_matrix(X, yi.size)).quadratic(yi)


def _dl(yi: FloatArray, vi: FloatArray, X: FloatArray | None, tol: float, maxiter: int) -> Tau2Fit:
    k, p = model_dimensions(yi, X)
    P = projection(1 / vi, X)
    tr_p = P.trace()
    raw = (P.quadratic(yi) - (k - p)) / tr_p
    tau2 = max(0.0, raw)
    se = float(np.sqrt((2 * (k - p) + 4 * tau2 * tr_p + 2 * tau2**2 * P.sum_sq()) / tr_p**2))
    return Tau2Fit("DL", tau2, se, note=_truncation_note(raw))


def _he_parts(
    yi: FloatArray, vi: FloatArray, X: FloatArray | None
) -> tuple[float, InterceptProjection | DenseProjection]:
    """The raw Hedges estimate (yᵀP₀y − tr P₀V)/(k − p) and P₀ = I − H (OLS, unit weights)."""
    k, p = model_dimensions(yi, X)
    P0 = projection(ones(k), X)
    return (P0.quadratic(yi) - float(P0.diagonal().dot(vi))) / (k - p), P0


def _he_start(yi: FloatArray, vi: FloatArray, X: FloatArray | None) -> float:
    """The raw Hedges estimate as a start for Fisher scoring; without moderators in closed
    form: (Σ(yᵢ − ȳ)² − (1 − 1/k) Σvᵢ)/(k − 1), as P₀ = I − 11ᵀ/k has diagonal 1 − 1/k."""
    if X is not None:
        return _he_parts(yi, vi, X)[0]
    k = yi.size
    r = yi - total(yi) / k
    return (float(r.dot(r)) - (1 - 1 / k) * total(vi)) / (k - 1)


def _he(yi: FloatArray, vi: FloatArray, X: FloatArray | None, tol: float, maxiter: int) -> Tau2Fit:
    k, p = model_dimensions(yi, X)
    raw, P0 = _he_parts(yi, vi, X)
    tau2 = max(0.0, raw)
    tr_pv = float(P0.diagonal().dot(vi))
    se = float(
        np.sqrt((2 * P0.sum_sq(vi, vi) + 4 * tau2 * tr_pv + 2 * tau2**2 * (k - p)) / (k - p) ** 2)
    )
    return Tau2Fit("HE", tau2, se, note=_truncation_note(raw))


def _hs(yi: FloatArray, vi: FloatArray, X: FloatArray | None, tol: float, maxiter: int) -> Tau2Fit:
    k, p = model_dimensions(yi, X)
    P = projection(1 / vi, X)
    sum_w = float(np.sum(P.w))
    raw = (P.quadratic(yi) - k) / sum_w
    tau2 = max(0.0, raw)
    se = float(np.sqrt((2 * (k - p) + 4 * tau2 * P.trace() + 2 * tau2**2 * P.sum_sq()) / sum_w**2))
    return Tau2Fit("HS", tau2, se, note=_truncation_note(raw))


def _sj(yi: FloatArray, vi: FloatArray, X: FloatArray | None, tol: float, maxiter: int) -> Tau2Fit:
    k, p = model_dimensions(yi, X)
    # metafor's starting value is the variance of y (not of residuals), divisor k. For
    # equal values R's var() gives exactly 0; np.var can leave ~1e-33 from the rounding of
    # the mean, which would give a τ² of 1e-66 instead of 0.
    tau0 = 0.0 if yi.min() == yi.max() else float(np.var(yi))
    P = projection(1 / (vi + tau0), X)
    tau2 = max(0.0, tau0 * P.quadratic(yi) / (k - p))
    # tr PVPV, Σᵢⱼ Pᵢⱼ² vⱼ and tr P² (metafor: sum(PV*t(PV)), sum(PV*P), sum(P*P))
    se = float(
        np.sqrt(
            tau0**2
            / (k - p) ** 2
            * (2 * P.sum_sq(vi, vi) + 4 * tau2 * P.sum_sq(None, vi) + 2 * tau2**2 * P.sum_sq())
        )
    )
    note = messages.ALL_EQUAL if tau0 == 0 else None
    return Tau2Fit("SJ", tau2, se, note=note)


def _truncation_note(raw: float) -> str | None:
    if raw < 0:
        return messages.truncated(raw)
    return None


class QRoot(NamedTuple):
    """A solution of Q(τ²) = target (see :func:`solve_q`)."""

    tau2: float
    iterations: int
    converged: bool
    capped: bool
    #: The last point evaluated, left of the root: (τ², Q, −dQ/dτ²) — a start for a search
    #: for a smaller target (see ``solve_q(start_values=…)``).
    last: tuple[float, float, float] | None = None


def solve_q(
    target: float,
    yi: FloatArray,
    vi: FloatArray,
    X: FloatArray | None = None,
    *,
    start: float = 0.0,
    start_values: tuple[float, float] | None = None,
    cap: float = math.inf,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
) -> QRoot:
    """The τ² ≥ ``start`` with generalized Q(τ²) = ``target`` > 0, given Q(start) ≥ target.

    Newton's method on 1/Q, which is close to linear in τ² (exactly linear when all vᵢ are
    equal and there are no moderators), so that it typically takes three or four steps from
    any start. The safeguard is the shape of Q itself: Q decreases and is convex in τ²
    (each term (yᵢ − Xᵢβ)²/(vᵢ + τ²) is jointly convex in (β, τ²), a square over a linear
    function, and minimising over β keeps convexity; dQ/dτ² = −Σ wᵢ² rᵢ² with r the
    weighted-least-squares residuals). So a Newton step on Q from a point left of the root
    never passes the root. A step on 1/Q is that step scaled by Q/target > 1; should one
    pass the root, the iteration continues with steps on Q, which increase monotonically to
    it. No bracket is needed.

    The iteration stops when a step is below ``tol`` times the mean vᵢ (or 4 ulp of τ²), or
    when Newton's quadratic convergence puts the error after the step, about
    |step|³/previous step², below that (and the step is at most a quarter of the previous
    one); the point after the last step is not evaluated. If the root lies beyond ``cap``,
    the result is ``cap`` with ``capped`` True. ``start_values``: Q and −dQ/dτ² at
    ``start``, if known (e.g. ``QRoot.last`` of a search for a larger target).

    Examples
    --------
    Two studies with v = 0.01 and Q(0) = 2 reach Q = 1 at τ² = 0.01:

    >>> root = solve_q(1.0, np.array([0.1, 0.3]), np.array([0.01, 0.01]))
    >>> round(root.tau2, 12), root.converged
    (0.01, True)
    """

    k = yi.size
    w, r, wr = np.empty(k), np.empty(k), np.empty(k)
    one = ones(k)

    def q_and_slope(t: float) -> tuple[float, float]:
        """Q(t) and −dQ/dτ² at t (in the buffers above: see _scoring_terms)."""
        np.add(vi, t, out=w)
        np.reciprocal(w, out=w)
        if X is None:
            np.subtract(yi, float(w.dot(yi)) / float(w.dot(one)), out=r)
        else:
            r[:] = projection(w, X).residuals(yi)
        np.multiply(w, r, out=wr)
        return float(wr.dot(r)), float(wr.dot(wr))

    xtol = tol * total(vi) / k
    tau2 = start
    q, slope = q_and_slope(tau2) if start_values is None else start_values
    reciprocal = True
    previous = math.nan  # the last step taken (NaN: none yet in this kind of step)
    for it in range(1, maxiter + 1):
        if slope <= 0:  # all residuals 0: Q ≡ 0 (cannot happen for target > 0)
            return QRoot(tau2, it, False, False, (tau2, q, slope))
        step = (q - target) / slope
        if reciprocal:
            step *= q / target
        trial = min(tau2 + step, cap)
        size = abs(step)
        if trial < cap and (
            size <= xtol + 4 * _EPS * trial
            or (size <= 0.25 * abs(previous) and size**3 <= xtol * previous**2)
        ):
            # Converged: the point after the last step needs no evaluation of its own.
            return QRoot(trial, it, True, False, (tau2, q, slope))
        q_trial, slope_trial = q_and_slope(trial)
        if trial == cap and q_trial > target:
            return QRoot(cap, it, True, True, (tau2, q, slope))
        if q_trial < target and reciprocal:
            reciprocal = False  # passed the root: continue from τ² with steps on Q
            previous = math.nan
            continue
        tau2, q, slope, previous = trial, q_trial, slope_trial, step
    return QRoot(tau2, maxiter, False, False, (tau2, q, slope))


def _pm(yi: FloatArray, vi: FloatArray, X: FloatArray | None, tol: float, maxiter: int) -> Tau2Fit:
    k, p = model_dimensions(yi, X)
    note: str | None
    if projection(1 / vi, X).quadratic(yi) < k - p:
        tau2, it, conv, note = 0.0, 0, True, messages.BELOW_EXPECTATION
    else:
        root = solve_q(float(k - p), yi, vi, X, tol=tol, maxiter=maxiter)
        tau2, it, conv = root.tau2, root.iterations, root.converged
        note = None if conv else messages.newton_not_converged(maxiter)
    w = 1 / (vi + tau2)
    se = float(np.sqrt(2 * k**2 / (k - p) / np.sum(w) ** 2))
    return Tau2Fit("PM", tau2, se, it, conv, note)


def _loglik(tau2: float, yi: FloatArray, vi: FloatArray, X: FloatArray | None, reml: bool) -> float:
    k, p = model_dimensions(yi, X)
    v = vi + tau2
    P = projection(1 / v, X)
    rss = P.quadratic(yi)
    log_v = float(np.log(v).dot(ones(k)))
    if reml:
        return -0.5 * ((k - p) * _LOG_2PI + log_v + P.logdet_xtwx() + rss)
    return -0.5 * (k * _LOG_2PI + log_v + rss)


def _intercept_point(
    tau2: float,
    yi: FloatArray,
    vi: FloatArray,
    reml: bool,
    work: tuple[FloatArray, FloatArray, FloatArray],
) -> tuple[float, float]:
    """ℓ(τ²) (as :func:`_loglik`, the same sums in the same order) and the expected
    information for τ² there — tr P² (REML) or Σw² (ML) — for the model without moderators,
    computed in the buffers ``work``."""
    k = yi.size
    w, r, u = work
    one = ones(k)
    np.add(vi, tau2, out=w)
    log_v = float(np.log(w, out=u).dot(one))
    np.reciprocal(w, out=w)
    sw = float(w.dot(one))
    np.subtract(yi, float(w.dot(yi)) / sw, out=r)
    rss = float(w.dot(np.multiply(r, r, out=u)))
    s2 = float(w.dot(w))
    if not reml:
        return -0.5 * (k * _LOG_2PI + log_v + rss), s2
    loglik = -0.5 * ((k - 1) * _LOG_2PI + log_v + math.log(sw) + rss)
    if 4 * s2 > sw * sw:  # a study may carry more than half the weight: see _scoring_terms
        return loglik, InterceptProjection(w.copy()).sum_sq()
    ratio = s2 / sw
    return loglik, s2 - 2 * float(np.multiply(w, w, out=u).dot(w)) / sw + ratio * ratio


def _score(method: str, P: InterceptProjection | DenseProjection, yi: FloatArray, k: int) -> float:
    """The (Fisher-scoring) score for τ² at the τ² of P's weights: yᵀP²y − tr P (REML),
    yᵀP²y − Σw (ML), or the EB estimating equation k/(k−p)·yᵀPy − k."""
    if method == "EB":
        return P.quadratic(yi) * k / (k - P.p) - k
    Py = P.apply(yi)
    return float(Py.dot(Py)) - (P.trace() if method == "REML" else P.total_weight())


class _Terms(NamedTuple):
    """The score for τ² (see :func:`_score`), the expected information — Σw² (ML), tr P²
    (REML) or Σw (EB) — and the observed information −d(score)/dτ²: 2yᵀP³y − Σw² (ML),
    2yᵀP³y − tr P² (REML), NaN for EB (not a likelihood)."""

    score: float
    expected: float
    observed: float


def _scoring_terms(
    method: str,
    yi: FloatArray,
    vi: FloatArray,
    X: FloatArray | None,
    tau2: float,
    work: tuple[FloatArray, FloatArray, FloatArray] | None = None,
) -> _Terms:
    """The score and informations at τ² (:class:`_Terms`); ``work``: three length-k
    buffers to compute in."""
    if X is None and method != "EB":
        # The intercept-only sums written out, in reused buffers: this runs in every
        # iteration. For the tens of studies of a meta-analysis the calls of the general
        # projection cost more than the arithmetic, and for 10⁶ studies a fresh array costs
        # more in page faults than the arithmetic done in it. The formulas are those of
        # InterceptProjection, valid while no study has more than half the weight
        # (4Σw² ≤ (Σw)²; otherwise the general path below).
        k = yi.size
        w, z, u = work if work is not None else (np.empty(k), np.empty(k), np.empty(k))
        np.add(vi, tau2, out=w)
        np.reciprocal(w, out=w)
        sw = float(w.dot(ones(k)))
        s2 = float(w.dot(w))
        if 4 * s2 <= sw * sw:
            np.subtract(yi, float(w.dot(yi)) / sw, out=z)
            np.multiply(w, z, out=z)  # z = Py
            yp2y = float(z.dot(z))
            # yᵀP³y = zᵀPz = Σ wᵢ (zᵢ − z̄)², z̄ = Σwz/Σw
            np.subtract(z, float(w.dot(z)) / sw, out=z)
            yp3y = float(np.multiply(w, z, out=u).dot(z))
            if method == "ML":
                return _Terms(yp2y - sw, s2, 2 * yp3y - s2)
            ratio = s2 / sw
            s3 = float(np.multiply(w, w, out=u).dot(w))
            tr_p2 = s2 - 2 * s3 / sw + ratio * ratio
            return _Terms(yp2y - (sw - ratio), tr_p2, 2 * yp3y - tr_p2)
        w = w.copy()  # kept by the projection below
    else:
        w = 1 / (vi + tau2)
    P = projection(w, X)
    score = _score(method, P, yi, yi.size)
    if method == "EB":
        return _Terms(score, P.total_weight(), math.nan)
    info = float(w.dot(w)) if method == "ML" else P.sum_sq()
    return _Terms(score, info, 2 * P.quadratic(P.apply(yi)) - info)


def _fisher_scoring(
    method: str, yi: FloatArray, vi: FloatArray, X: FloatArray | None, tol: float, maxiter: int
) -> Tau2Fit:
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
    taken. metafor's rules are kept: the boundary test, step halving, and
    the likelihood check at τ² = 0. The iteration stops when a step changes τ² by at most
    ``tol`` times max(τ², mean vᵢ), or when, after two Newton steps in a row, quadratic
    convergence puts the error after the last one below that.
    """
    k, p = model_dimensions(yi, X)
    tau2 = max(0.0, _he_start(yi, vi, X))
    scale = total(vi) / k
    converged = False
    at_boundary = False

    def score_at_zero() -> float:
        # ≤ 0 means the boundary τ² = 0 is a maximum
        return _scoring_terms(method, yi, vi, X, 0.0).score

    work = (np.empty(k), np.empty(k), np.empty(k))
    newton = method in ("ML", "REML")
    v_bar = k / total(np.reciprocal(vi)) if newton else math.nan
    lo, hi = 0.0, math.inf  # the maximum lies in [lo, hi]
    previous = math.nan  # the size of the last step if it was a Newton step
    it = 0
    while it < maxiter:
        it += 1
        score, expected, observed = _scoring_terms(method, yi, vi, X, tau2, work)
        adj = score / expected if expected != 0 else math.nan
        if not math.isfinite(adj):
            adj = 0.0
        if tau2 + adj < 0 and score_at_zero() <= 0:
            # The step would leave the parameter space and the likelihood falls away from
            # the boundary: the maximum is τ² = 0, which metafor's step halving approaches
            # geometrically (one halving per iteration).
            tau2 = 0.0
            converged = at_boundary = True
            break
        newton_step = False
        if newton:
            if score > 0:
                lo = max(lo, tau2)
            elif score < 0:
                hi = min(hi, tau2)
            # Newton's step on ψ(τ²) = score · (v̄ + τ²)², which has the score's root and is
            # linear in τ² when all vᵢ equal v̄ (the score itself is far from linear: steps
            # on it overshoot); v̄ = the harmonic mean of the vᵢ, dominated as the score is
            # by the precise studies. −dψ/dτ² / (v̄ + τ²)² = observed − 2 score/(v̄ + τ²).
            den = observed - 2 * score / (v_bar + tau2)
            if den > 0 and lo < tau2 + score / den < hi:
                adj = score / den
                newton_step = True
        # Step halving keeps τ² inside the parameter space.
        while tau2 + adj < 0:
            adj /= 2
            if abs(adj) < 1e-300:
                adj = -tau2
                break
        new = tau2 + adj
        change = abs(new - tau2)
        tau2 = new
        limit = tol * max(tau2, scale)
        # After two Newton steps in a row, quadratic convergence puts the error after this
        # one at about change³/previous² (once a step is at most a quarter of the last).
        if change <= limit or (
            newton_step and change <= 0.25 * previous and change**3 <= limit * previous**2
        ):
            converged = True
            break
        previous = change if newton_step else math.nan
    note = None
    if not converged:
        note = messages.fisher_not_converged(maxiter, tol)
    if 0 < tau2 <= 1e3 * tol * scale and score_at_zero() <= 0:
        # Step halving approaches the boundary geometrically and stops within tol of it
        # (metafor reports such a value); the maximum itself is at 0.
        tau2 = 0.0
        at_boundary = True
    if at_boundary:
        note = messages.AT_BOUNDARY
    tau2 = max(0.0, tau2)
    if X is None and newton:
        # The likelihood check and the standard error share one pass at each point.
        reml = method == "REML"
        ll_hat, info = _intercept_point(tau2, yi, vi, reml, work)
        if tau2 > 0:
            ll_0, info_0 = _intercept_point(0.0, yi, vi, reml, work)
            # metafor's ll0check: a boundary value with a higher likelihood wins.
            if ll_0 - ll_hat > 1e-10:
                tau2, info = 0.0, info_0
                note = messages.LIKELIHOOD_AT_ZERO
        se = math.sqrt(2 / info) if info > 0 else math.inf  # (weights underflowed)
        return Tau2Fit(method, tau2, se, it, converged, note)
    if method in ("ML", "REML") and tau2 > 0:
        reml = method == "REML"
        # metafor's ll0check: a boundary value with a higher likelihood wins.
        if _loglik(0.0, yi, vi, X, reml) - _loglik(tau2, yi, vi, X, reml) > 1e-10:
            tau2 = 0.0
            note = messages.LIKELIHOOD_AT_ZERO
    w = 1 / (vi + tau2)
    if method == "ML":
        se = float(np.sqrt(2 / w.dot(w)))
    elif method == "REML":
        se = float(np.sqrt(2 / projection(w, X).sum_sq()))
    else:
        se = float(np.sqrt(2 * k**2 / (k - p) / np.sum(w) ** 2))
    return Tau2Fit(method, tau2, se, it, converged, note)


def _ml(yi: FloatArray, vi: FloatArray, X: FloatArray | None, tol: float, maxiter: int) -> Tau2Fit:
    return _fisher_scoring("ML", yi, vi, X, tol, maxiter)


def _reml(
    yi: FloatArray, vi: FloatArray, X: FloatArray | None, tol: float, maxiter: int
) -> Tau2Fit:
    return _fisher_scoring("REML", yi, vi, X, tol, maxiter)


def _eb(yi: FloatArray, vi: FloatArray, X: FloatArray | None, tol: float, maxiter: int) -> Tau2Fit:
    return _fisher_scoring("EB", yi, vi, X, tol, maxiter)


_Estimator = Callable[[FloatArray, FloatArray, FloatArray | None, float, int], Tau2Fit]

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


def estimate_tau2(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    method: str = "REML",
    X: npt.ArrayLike | None = None,
    *,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
) -> Tau2Fit:
    """Estimate τ² with one of metafor's estimators.

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
        Convergence criterion (absolute change in τ²) and iteration limit of iterative
        estimators.

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
    Xd = design_matrix(X, y.size)
    k, p = model_dimensions(y, Xd)
    if k <= p:
        return Tau2Fit(name, 0.0, float("nan"), note=messages.k_study(k))
    return TAU2_ESTIMATORS[name](y, v, Xd, tol, maxiter)
