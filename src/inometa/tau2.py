"""Estimators of the between-study variance τ², one pure function each, as metafor defines them.

Every estimator takes model-scale values ``yi``, sampling variances ``vi`` and an optional
design matrix ``X`` (k × p, default: an intercept column) and returns a :class:`Tau2Fit`.
The formulas are those of metafor 3.8's ``rma.uni`` (``method=``):

=======  ===============================================================================
name     definition (P = W − WX(XᵀWX)⁻¹XᵀW, W = diag(1/(vᵢ + τ²)))
=======  ===============================================================================
``DL``   DerSimonian–Laird: (yᵀP₀y − (k−p)) / tr P₀, with P₀ at τ² = 0
``HE``   Hedges: (yᵀ(I−H)y − tr((I−H)V)) / (k−p), H the OLS hat matrix
``HS``   Hunter–Schmidt: (yᵀP₀y − k) / Σ wᵢ, wᵢ = 1/vᵢ
``SJ``   Sidik–Jonkman: τ₀² yᵀP(τ₀²)y / (k−p), τ₀² the variance of y with divisor k
``ML``   maximum likelihood (Fisher scoring, as metafor, then ``ll0check``)
``REML`` restricted maximum likelihood (Fisher scoring, as metafor, then ``ll0check``)
``PM``   Paule–Mandel: the root of yᵀP(τ²)y = k − p (0 if yᵀP₀y < k − p)
``EB``   empirical Bayes (Morris): Fisher-type iteration on (k/(k−p)) yᵀPy − k; it has
         the same root as PM, but metafor computes it by its own iteration
=======  ===============================================================================

All estimates are truncated at 0 (metafor ``tau2.min = 0``). Iterative estimators stop when
successive values differ by at most ``tol`` times the scale of the problem, max(τ², mean vᵢ)
(default tol 1e-12, far below metafor's defaults: an absolute 1e-5 for Fisher scoring and
about 1.2e-4 for root finding), so that the precision does not depend on the units of y
(τ² on the raw-proportion scale is often 1e-5). They record the number of iterations and
whether they converged. The standard errors are metafor's ``se.tau2``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

from ._validation import check_choice

__all__ = ["TAU2_ESTIMATORS", "Tau2Fit", "estimate_tau2", "generalized_q"]

FloatArray = npt.NDArray[np.float64]

DEFAULT_TOL = 1e-12
DEFAULT_MAXITER = 10_000


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


def _design(X: npt.ArrayLike | None, k: int) -> FloatArray:
    if X is None:
        return np.ones((k, 1))
    Xa = np.asarray(X, dtype=float)
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    if Xa.shape[0] != k:
        raise ValueError(f"design matrix has {Xa.shape[0]} rows but there are {k} studies")
    return Xa


def _p_matrix(w: FloatArray, X: FloatArray) -> FloatArray:
    """P = W − W X (XᵀWX)⁻¹ Xᵀ W for weights w."""
    WX = X * w[:, None]
    XtWX = X.T @ WX
    return np.diag(w) - WX @ np.linalg.solve(XtWX, WX.T)


def generalized_q(
    tau2: float, yi: FloatArray, vi: FloatArray, X: npt.ArrayLike | None = None
) -> float:
    """The generalized Q statistic yᵀP(τ²)y (Cochran's Q at τ² = 0).

    Examples
    --------
    >>> round(generalized_q(0.0, np.array([0.1, 0.3]), np.array([0.01, 0.01])), 6)
    2.0
    """
    Xd = _design(X, yi.size)
    P = _p_matrix(1 / (vi + tau2), Xd)
    return float(yi @ P @ yi)


def _tr(a: FloatArray) -> float:
    return float(np.trace(a))


def _dl(yi: FloatArray, vi: FloatArray, X: FloatArray, tol: float, maxiter: int) -> Tau2Fit:
    k, p = X.shape
    P = _p_matrix(1 / vi, X)
    tr_p = _tr(P)
    raw = (float(yi @ P @ yi) - (k - p)) / tr_p
    tau2 = max(0.0, raw)
    se = float(np.sqrt((2 * (k - p) + 4 * tau2 * tr_p + 2 * tau2**2 * np.sum(P * P)) / tr_p**2))
    return Tau2Fit("DL", tau2, se, note=_truncation_note(raw))


def _he_raw(yi: FloatArray, vi: FloatArray, X: FloatArray) -> tuple[float, FloatArray]:
    k, p = X.shape
    H = X @ np.linalg.solve(X.T @ X, X.T)
    P0 = np.eye(k) - H
    PV = P0 * vi[None, :]
    return (float(yi @ P0 @ yi) - _tr(PV)) / (k - p), PV


def _he(yi: FloatArray, vi: FloatArray, X: FloatArray, tol: float, maxiter: int) -> Tau2Fit:
    k, p = X.shape
    raw, PV = _he_raw(yi, vi, X)
    tau2 = max(0.0, raw)
    se = float(
        np.sqrt((2 * np.sum(PV * PV.T) + 4 * tau2 * _tr(PV) + 2 * tau2**2 * (k - p)) / (k - p) ** 2)
    )
    return Tau2Fit("HE", tau2, se, note=_truncation_note(raw))


def _hs(yi: FloatArray, vi: FloatArray, X: FloatArray, tol: float, maxiter: int) -> Tau2Fit:
    k, p = X.shape
    w = 1 / vi
    P = _p_matrix(w, X)
    raw = (float(yi @ P @ yi) - k) / float(w.sum())
    tau2 = max(0.0, raw)
    se = float(
        np.sqrt((2 * (k - p) + 4 * tau2 * _tr(P) + 2 * tau2**2 * np.sum(P * P)) / w.sum() ** 2)
    )
    return Tau2Fit("HS", tau2, se, note=_truncation_note(raw))


def _sj(yi: FloatArray, vi: FloatArray, X: FloatArray, tol: float, maxiter: int) -> Tau2Fit:
    k, p = X.shape
    # metafor's starting value is the variance of y (not of residuals), divisor k.
    tau0 = float(np.var(yi))
    P = _p_matrix(1 / (vi + tau0), X)
    tau2 = max(0.0, tau0 * float(yi @ P @ yi) / (k - p))
    PV = P * vi[None, :]
    se = float(
        np.sqrt(
            tau0**2
            / (k - p) ** 2
            * (2 * np.sum(PV * PV.T) + 4 * tau2 * np.sum(PV * P) + 2 * tau2**2 * np.sum(P * P))
        )
    )
    note = "all model-scale values are equal: τ² = 0" if tau0 == 0 else None
    return Tau2Fit("SJ", tau2, se, note=note)


def _truncation_note(raw: float) -> str | None:
    if raw < 0:
        return f"the estimate ({raw:.4g}) was negative and is truncated at 0"
    return None


def _root_of_q(
    yi: FloatArray, vi: FloatArray, X: FloatArray, target: float, tol: float, maxiter: int
) -> tuple[float, int, bool, str | None]:
    """Smallest τ² ≥ 0 with generalized Q(τ²) = target (Q decreases in τ²)."""
    q0 = generalized_q(0.0, yi, vi, X)
    if q0 < target:
        return 0.0, 0, True, "Q at τ² = 0 is below its expectation: τ² = 0"
    hi = max(100.0, 10 * float(np.var(yi)) + float(np.max(vi)))
    expansions = 0
    while generalized_q(hi, yi, vi, X) > target:
        hi *= 10
        expansions += 1
        if expansions > 30:
            return hi, 0, False, "no root of the Q equation was found below τ² = " + f"{hi:.3g}"
    root, info = brentq(
        lambda t: generalized_q(t, yi, vi, X) - target,
        0.0,
        hi,
        xtol=tol * float(np.mean(vi)),
        rtol=4 * np.finfo(float).eps,
        maxiter=maxiter,
        full_output=True,
        disp=False,
    )
    return float(root), int(info.iterations), bool(info.converged), None


def _pm(yi: FloatArray, vi: FloatArray, X: FloatArray, tol: float, maxiter: int) -> Tau2Fit:
    k, p = X.shape
    tau2, it, conv, note = _root_of_q(yi, vi, X, float(k - p), tol, maxiter)
    w = 1 / (vi + tau2)
    se = float(np.sqrt(2 * k**2 / (k - p) / w.sum() ** 2))
    return Tau2Fit("PM", tau2, se, it, conv, note)


def _loglik(tau2: float, yi: FloatArray, vi: FloatArray, X: FloatArray, reml: bool) -> float:
    k, p = X.shape
    w = 1 / (vi + tau2)
    WX = X * w[:, None]
    XtWX = X.T @ WX
    beta = np.linalg.solve(XtWX, WX.T @ yi)
    rss = float(np.sum(w * (yi - X @ beta) ** 2))
    if reml:
        _, logdet = np.linalg.slogdet(XtWX)
        return float(
            -0.5 * (k - p) * np.log(2 * np.pi)
            - 0.5 * np.sum(np.log(vi + tau2))
            - 0.5 * logdet
            - 0.5 * rss
        )
    return float(-0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(vi + tau2)) - 0.5 * rss)


def _score_at_zero(method: str, yi: FloatArray, vi: FloatArray, X: FloatArray) -> float:
    """The (Fisher-scoring) score for τ² at τ² = 0; ≤ 0 means the boundary is a maximum."""
    k, p = X.shape
    w = 1 / vi
    P = _p_matrix(w, X)
    Py = P @ yi
    if method == "ML":
        return float(Py @ Py) - float(w.sum())
    if method == "REML":
        return float(Py @ Py) - _tr(P)
    return float(float(yi @ Py) * k / (k - p) - k)


def _fisher_scoring(
    method: str, yi: FloatArray, vi: FloatArray, X: FloatArray, tol: float, maxiter: int
) -> Tau2Fit:
    """metafor's Fisher scoring for ML, REML and EB, started at max(0, HE)."""
    k, p = X.shape
    tau2 = max(0.0, _he_raw(yi, vi, X)[0])
    scale = float(np.mean(vi))
    converged = False
    at_boundary = False
    it = 0
    while it < maxiter:
        it += 1
        w = 1 / (vi + tau2)
        P = _p_matrix(w, X)
        Py = P @ yi
        if method == "ML":
            adj = (float(Py @ Py) - float(w.sum())) / float(np.sum(w**2))
        elif method == "REML":
            adj = (float(Py @ Py) - _tr(P)) / float(np.sum(P * P.T))
        else:  # EB
            adj = (float(yi @ Py) * k / (k - p) - k) / float(w.sum())
        if not np.isfinite(adj):
            adj = 0.0
        if tau2 + adj < 0 and _score_at_zero(method, yi, vi, X) <= 0:
            # The step would leave the parameter space and the likelihood falls away from
            # the boundary: the maximum is τ² = 0, which metafor's step halving approaches
            # geometrically (one halving per iteration).
            tau2 = 0.0
            converged = at_boundary = True
            break
        # Step halving keeps τ² inside the parameter space.
        while tau2 + adj < 0:
            adj /= 2
            if abs(adj) < 1e-300:
                adj = -tau2
                break
        new = tau2 + adj
        change = abs(new - tau2)
        tau2 = new
        if change <= tol * max(tau2, scale):
            converged = True
            break
    note = None
    if not converged:
        note = f"Fisher scoring did not converge in {maxiter} iterations (last change > {tol:g})"
    if 0 < tau2 <= 1e3 * tol * scale and _score_at_zero(method, yi, vi, X) <= 0:
        # Step halving approaches the boundary geometrically and stops within tol of it
        # (metafor reports such a value); the maximum itself is at 0.
        tau2 = 0.0
        at_boundary = True
    if at_boundary:
        note = "the maximum is at the boundary τ² = 0"
    if method in ("ML", "REML") and tau2 > 0:
        reml = method == "REML"
        # metafor's ll0check: a boundary value with a higher likelihood wins.
        if _loglik(0.0, yi, vi, X, reml) - _loglik(tau2, yi, vi, X, reml) > 1e-10:
            tau2 = 0.0
            note = "the likelihood is higher at τ² = 0 than at the Fisher-scoring solution"
    tau2 = max(0.0, tau2)
    w = 1 / (vi + tau2)
    if method == "ML":
        se = float(np.sqrt(2 / np.sum(w**2)))
    elif method == "REML":
        P = _p_matrix(w, X)
        se = float(np.sqrt(2 / np.sum(P * P)))
    else:
        se = float(np.sqrt(2 * k**2 / (k - p) / w.sum() ** 2))
    return Tau2Fit(method, tau2, se, it, converged, note)


def _ml(yi: FloatArray, vi: FloatArray, X: FloatArray, tol: float, maxiter: int) -> Tau2Fit:
    return _fisher_scoring("ML", yi, vi, X, tol, maxiter)


def _reml(yi: FloatArray, vi: FloatArray, X: FloatArray, tol: float, maxiter: int) -> Tau2Fit:
    return _fisher_scoring("REML", yi, vi, X, tol, maxiter)


def _eb(yi: FloatArray, vi: FloatArray, X: FloatArray, tol: float, maxiter: int) -> Tau2Fit:
    return _fisher_scoring("EB", yi, vi, X, tol, maxiter)


_Estimator = Callable[[FloatArray, FloatArray, FloatArray, float, int], Tau2Fit]

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
    if not np.all(v > 0):
        raise ValueError("all sampling variances vi must be > 0 to estimate τ²")
    Xd = _design(X, y.size)
    k, p = Xd.shape
    if k <= p:
        return Tau2Fit(name, 0.0, float("nan"), note=f"k = {k} study: τ² is 0 by definition")
    return TAU2_ESTIMATORS[name](y, v, Xd, tol, maxiter)
