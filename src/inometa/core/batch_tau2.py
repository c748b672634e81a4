"""τ² estimators and Q for many analyses at once (vectorised over rows).

The data of R analyses are (R, K) arrays: model-scale values ``Y``, sampling variances ``V``
and a 0/1 ``mask`` of the studies present (ragged sets). Every function computes, for all
rows at once, what the single-analysis function of the same name in :mod:`inometa.core.tau2` or
:mod:`inometa.core.heterogeneity` computes for one analysis (intercept-only model), with the same
definitions, starting values, step rules, boundary rules and convergence criteria:

==============================  ===================================================
here                            single-analysis reference
==============================  ===================================================
:func:`estimate_tau2_batch`     :func:`inometa.core.tau2.estimate_tau2` (all estimators)
:func:`generalized_q_batch`     :func:`inometa.core.tau2.generalized_q`
:func:`typical_variance_batch`  :func:`inometa.core.heterogeneity.typical_variance`
==============================  ===================================================

With one column of ones as the design, P = W − wwᵀ/Σw, so every matrix expression of the
single path has a closed form in the sums Σwᵢ, Σwᵢ², Σwᵢ³ and the weighted residuals;
these are what is computed here. Fisher scoring with Newton steps (ML, REML, EB) and the
Paule–Mandel iteration run the same steps for every row as the single path until each row
meets its criterion; each row records its own iteration count and convergence flag. The
Q-profile interval is in :mod:`inometa.core.batch_heterogeneity`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import messages
from ._rows import EPS, Workspace, masked_mean, row_dot, row_sum
from .tau2 import DEFAULT_MAXITER, DEFAULT_TOL

__all__ = [
    "Tau2Batch",
    "estimate_tau2_batch",
    "find_root",
    "generalized_q_batch",
    "typical_variance_batch",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
NoteArray = npt.NDArray[np.object_]
# f(x, rows) → values of the function at x for the analyses ``rows`` (indices into R).
RowFunction = Callable[[FloatArray, IntArray], FloatArray]


def _notes(r: int) -> NoteArray:
    return np.full(r, None, dtype=object)


def find_root(
    f: RowFunction,
    a: FloatArray,
    b: FloatArray,
    *,
    xatol: FloatArray | float,
    xrtol: float = 4 * EPS,
    maxiter: int = DEFAULT_MAXITER,
    fa: FloatArray | None = None,
    fb: FloatArray | None = None,
) -> tuple[FloatArray, BoolArray, IntArray]:
    """Roots of many scalar functions at once, each bracketed by ``[a, b]``.

    Chandrupatla's (1997) method: inverse quadratic interpolation where it is safe, else
    bisection, so each bracket shrinks at least as fast as bisection does every other step.
    Row ``i`` stops when its bracket is shorter than ``2 (xatol + xrtol |x|)`` or f = 0
    exactly; only rows still searching are evaluated.

    Parameters
    ----------
    f
        ``f(x, rows)``: the functions of analyses ``rows`` evaluated at ``x`` (same length).
    a, b
        Bracket ends; f(a) and f(b) must not have the same strict sign.
    xatol, xrtol
        Absolute (per row or scalar) and relative tolerance on the root.
    maxiter
        Iteration limit; rows that reach it are returned with ``converged`` False.
    fa, fb
        f(a) and f(b) if already known.

    Returns
    -------
    root, converged, evaluations

    Examples
    --------
    >>> c = np.array([2.0, 3.0, 10.0])
    >>> root, ok, _ = find_root(lambda x, rows: x**2 - c[rows], np.zeros(3), c, xatol=1e-14)
    >>> np.allclose(root, np.sqrt(c), rtol=1e-13), bool(ok.all())
    (True, True)
    """
    r = a.size
    all_rows = np.arange(r)
    x1 = np.array(a, dtype=float)
    x2 = np.array(b, dtype=float)
    f1 = f(x1, all_rows) if fa is None else np.array(fa, dtype=float)
    f2 = f(x2, all_rows) if fb is None else np.array(fb, dtype=float)
    nfev = np.full(r, (fa is None) + (fb is None), dtype=np.int64)
    atol = np.broadcast_to(np.asarray(xatol, dtype=float), (r,))
    root = np.where(np.abs(f1) < np.abs(f2), x1, x2)
    done = (f1 == 0) | (f2 == 0)
    root = np.where(f1 == 0, x1, np.where(f2 == 0, x2, root))
    if np.any(~done & (np.sign(f1) == np.sign(f2))):
        bad = int(np.flatnonzero(~done & (np.sign(f1) == np.sign(f2)))[0])
        raise ValueError(f"analysis {bad + 1}: the root is not bracketed by [{x1[bad]}, {x2[bad]}]")
    converged = done.copy()
    x3, f3 = x2.copy(), f2.copy()
    t = np.full(r, 0.5)
    rows = np.flatnonzero(~done)
    for _ in range(maxiter):
        if rows.size == 0:
            break
        a1, a2, a3, b1, b2, b3 = x1[rows], x2[rows], x3[rows], f1[rows], f2[rows], f3[rows]
        xt = a1 + t[rows] * (a2 - a1)
        ft = f(xt, rows)
        nfev[rows] += 1
        same = np.sign(ft) == np.sign(b1)
        a3 = np.where(same, a1, a2)
        b3 = np.where(same, b1, b2)
        a2 = np.where(same, a2, a1)
        b2 = np.where(same, b2, b1)
        a1, b1 = xt, ft
        best1 = np.abs(b1) < np.abs(b2)
        xm = np.where(best1, a1, a2)
        fm = np.where(best1, b1, b2)
        tol = atol[rows] + xrtol * np.abs(xm)
        with np.errstate(divide="ignore", invalid="ignore"):
            tlim = tol / np.abs(a2 - a1)
            xi = (a1 - a2) / (a3 - a2)
            phi = (b1 - b2) / (b3 - b2)
            interp = (phi**2 < xi) & ((1 - phi) ** 2 < 1 - xi)
            t_iqi = b1 / (b2 - b1) * b3 / (b2 - b3) + (a3 - a1) / (a2 - a1) * b1 / (
                b3 - b1
            ) * b2 / (b3 - b2)
        stop = (fm == 0) | ~(tlim <= 0.5)
        tn = np.where(interp & np.isfinite(t_iqi), t_iqi, 0.5)
        t[rows] = np.clip(tn, np.minimum(tlim, 0.5), np.maximum(1 - tlim, 0.5))
        x1[rows], x2[rows], x3[rows] = a1, a2, a3
        f1[rows], f2[rows], f3[rows] = b1, b2, b3
        root[rows] = xm
        converged[rows] = stop
        rows = rows[~stop]
    return root, converged, nfev


# -- sums over the studies present ---------------------------------------------------------


def _weights(V: FloatArray, M: FloatArray, tau2: FloatArray) -> FloatArray:
    return np.asarray(M / (V + tau2[:, None]), dtype=float)


def _residuals(Y: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Σw, the weighted mean and the residuals yᵢ − μ̂ (zero weight where absent)."""
    s1 = row_sum(w)
    mu = row_dot(w, Y) / s1
    return s1, mu, Y - mu[:, None]


def generalized_q_batch(
    Y: FloatArray, V: FloatArray, M: FloatArray, tau2: FloatArray | float
) -> FloatArray:
    """yᵀP(τ²)y = Σ wᵢ (yᵢ − μ̂)² per row (Cochran's Q at τ² = 0).

    Examples
    --------
    >>> Y = np.array([[0.1, 0.3], [0.2, 0.2]])
    >>> generalized_q_batch(Y, np.full((2, 2), 0.01), np.ones((2, 2)), 0.0)
    array([2., 0.])
    """
    t = np.broadcast_to(np.asarray(tau2, dtype=float), (Y.shape[0],))
    w = _weights(V, M, t)
    _, _, res = _residuals(Y, w)
    return np.asarray(row_dot(w, res * res), dtype=float)


def typical_variance_batch(V: FloatArray, M: FloatArray, k: FloatArray) -> FloatArray:
    """ṽ = (k − 1)/tr P₀ per row (0 when k = 1).

    Examples
    --------
    >>> typical_variance_batch(np.full((1, 3), 0.01), np.ones((1, 3)), np.array([3.0]))
    array([0.01])
    """
    w = M / V
    s1 = row_sum(w)
    trp = s1 - row_sum(w * w) / s1
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k > 1, (k - 1) / trp, 0.0)


def _var_y(Y: FloatArray, M: FloatArray, k: FloatArray) -> FloatArray:
    """Variance of the yᵢ present, divisor k (numpy's ``var``)."""
    ybar = row_sum(M * Y) / k
    d = M * (Y - ybar[:, None])
    return np.asarray(row_sum(d * d) / k, dtype=float)


# -- estimators --------------------------------------------------------------------------


@dataclass(frozen=True)
class Tau2Batch:
    """τ² estimates of many analyses (the fields of :class:`inometa.core.tau2.Tau2Fit`, per row).

    ``note`` holds, per row, the note the single path gives (None where it gives none).
    ``iterations`` counts iterations exactly as the single path (for PM the count can
    differ by one where a last step of a few ulp passes the root in one summation order).
    """

    method: str
    tau2: FloatArray
    se: FloatArray
    iterations: IntArray
    converged: BoolArray
    note: NoteArray


def _truncation_notes(raw: FloatArray, active: BoolArray) -> NoteArray:
    note = _notes(raw.size)
    for i in np.flatnonzero(active & (raw < 0)):
        note[i] = messages.truncated(raw[i])
    return note


def _p0_sums(V: FloatArray, M: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """tr P₀ and ΣP₀² (P at τ² = 0) and Σwᵢ, wᵢ = 1/vᵢ."""
    w = M / V
    s1 = row_sum(w)
    s2 = row_sum(w * w)
    s3 = row_sum(w * w * w)
    return s1 - s2 / s1, s2 - 2 * s3 / s1 + s2**2 / s1**2, s1


def _dl(Y: FloatArray, V: FloatArray, M: FloatArray, k: FloatArray, act: BoolArray) -> Tau2Batch:
    trp, sp2, _ = _p0_sums(V, M)
    q0 = generalized_q_batch(Y, V, M, 0.0)
    raw = (q0 - (k - 1)) / trp
    tau2 = np.maximum(0.0, raw)
    se = np.sqrt((2 * (k - 1) + 4 * tau2 * trp + 2 * tau2**2 * sp2) / trp**2)
    return _closed("DL", tau2, se, _truncation_notes(raw, act))


def _he_raw(
    Y: FloatArray, V: FloatArray, M: FloatArray, k: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The untruncated Hedges estimate, tr((I − H)V) and Σ((I − H)V ∘ ((I − H)V)ᵀ)."""
    sv = row_sum(M * V)
    sv2 = row_sum(M * V * V)
    tr_pv = (1 - 1 / k) * sv
    spv = (1 - 1 / k) ** 2 * sv2 + (sv**2 - sv2) / k**2
    return (_var_y(Y, M, k) * k - tr_pv) / (k - 1), tr_pv, spv


def _he(Y: FloatArray, V: FloatArray, M: FloatArray, k: FloatArray, act: BoolArray) -> Tau2Batch:
    raw, tr_pv, spv = _he_raw(Y, V, M, k)
    tau2 = np.maximum(0.0, raw)
    se = np.sqrt((2 * spv + 4 * tau2 * tr_pv + 2 * tau2**2 * (k - 1)) / (k - 1) ** 2)
    return _closed("HE", tau2, se, _truncation_notes(raw, act))


def _hs(Y: FloatArray, V: FloatArray, M: FloatArray, k: FloatArray, act: BoolArray) -> Tau2Batch:
    trp, sp2, s1 = _p0_sums(V, M)
    raw = (generalized_q_batch(Y, V, M, 0.0) - k) / s1
    tau2 = np.maximum(0.0, raw)
    se = np.sqrt((2 * (k - 1) + 4 * tau2 * trp + 2 * tau2**2 * sp2) / s1**2)
    return _closed("HS", tau2, se, _truncation_notes(raw, act))


def _sj(Y: FloatArray, V: FloatArray, M: FloatArray, k: FloatArray, act: BoolArray) -> Tau2Batch:
    # Equal values are detected exactly: their variance can round to ~1e-34 instead of 0.
    equal = np.where(M > 0, Y, -np.inf).max(axis=1) == np.where(M > 0, Y, np.inf).min(axis=1)
    tau0 = np.where(equal, 0.0, _var_y(Y, M, k))
    w = _weights(V, M, tau0)
    s1, _, res = _residuals(Y, w)
    q = row_dot(w, res * res)
    tau2 = np.maximum(0.0, tau0 * q / (k - 1))
    w2, w3 = w * w, w * w * w
    s2, s3 = row_sum(w2), row_sum(w3)
    wv2 = row_sum(w2 * V)
    # Σ (PV ∘ (PV)ᵀ), Σ (PV ∘ P) and Σ P² for P = W − wwᵀ/Σw, V = diag(vᵢ)
    s_pvpv = row_sum(w2 * V * V) - 2 * row_sum(w3 * V * V) / s1 + wv2**2 / s1**2
    s_pvp = wv2 - 2 * row_sum(w3 * V) / s1 + s2 * wv2 / s1**2
    s_pp = s2 - 2 * s3 / s1 + s2**2 / s1**2
    se = np.sqrt(tau0**2 / (k - 1) ** 2 * (2 * s_pvpv + 4 * tau2 * s_pvp + 2 * tau2**2 * s_pp))
    note = _notes(k.size)
    note[act & (tau0 == 0)] = messages.ALL_EQUAL
    return _closed("SJ", tau2, se, note)


def _closed(method: str, tau2: FloatArray, se: FloatArray, note: NoteArray) -> Tau2Batch:
    r = tau2.size
    return Tau2Batch(method, tau2, se, np.zeros(r, dtype=np.int64), np.ones(r, dtype=bool), note)


def _pm_q_slope(
    Y: FloatArray, V: FloatArray, M: FloatArray, t: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Q(τ²) and −dQ/dτ² = Σ (wᵢ rᵢ)² per row."""
    w = _weights(V, M, t)
    _, _, res = _residuals(Y, w)
    wr = w * res
    return row_dot(wr, res), row_dot(wr, wr)


def _solve_q_batch(
    target: FloatArray,
    Y: FloatArray,
    V: FloatArray,
    M: FloatArray,
    k: FloatArray,
    tol: float,
    maxiter: int,
) -> tuple[FloatArray, BoolArray, IntArray]:
    """:func:`inometa.core.tau2.solve_q` from τ² = 0 for every row at once, step for step
    (Newton on 1/Q, then on Q once a step passes the root), with the same stopping rule."""
    r = target.size
    tau2 = np.zeros(r)
    q, slope = _pm_q_slope(Y, V, M, tau2)
    reciprocal = np.ones(r, dtype=bool)
    converged = np.zeros(r, dtype=bool)
    iterations = np.full(r, maxiter, dtype=np.int64)
    xtol = tol * masked_mean(V, M, k)
    live = np.ones(r, dtype=bool)
    previous = np.full(r, np.nan)  # the last step taken (NaN: none yet of this kind)
    for it in range(1, maxiter + 1):
        flat = live & (slope <= 0)  # Q ≡ 0: solve_q gives up, not converged
        iterations[flat] = it
        live &= ~flat
        rows = np.flatnonzero(live)
        if not rows.size:
            break
        step = (q[rows] - target[rows]) / slope[rows]
        step = np.where(reciprocal[rows], step * q[rows] / target[rows], step)
        trial = tau2[rows] + step
        # a step this small is the last one, and its point needs no evaluation
        size, prev = np.abs(step), previous[rows]
        small = (size <= xtol[rows] + 4 * EPS * trial) | (
            (size <= 0.25 * np.abs(prev)) & (size**3 <= xtol[rows] * prev**2)
        )
        done = rows[small]
        tau2[done] = trial[small]
        converged[done] = True
        iterations[done] = it
        live[done] = False
        rows, trial, step = rows[~small], trial[~small], step[~small]
        if not rows.size:
            break
        q_t, s_t = _pm_q_slope(Y[rows], V[rows], M[rows], trial)
        passed = (q_t < target[rows]) & reciprocal[rows]
        reciprocal[rows[passed]] = False
        previous[rows[passed]] = np.nan
        upd = rows[~passed]
        tau2[upd], q[upd], slope[upd] = trial[~passed], q_t[~passed], s_t[~passed]
        previous[upd] = step[~passed]
    return tau2, converged, iterations


def _pm(
    Y: FloatArray,
    V: FloatArray,
    M: FloatArray,
    k: FloatArray,
    act: BoolArray,
    tol: float,
    maxiter: int,
) -> Tau2Batch:
    r = k.size
    target = k - 1
    q0 = generalized_q_batch(Y, V, M, 0.0)
    tau2 = np.zeros(r)
    iterations = np.zeros(r, dtype=np.int64)
    converged = np.ones(r, dtype=bool)
    note = _notes(r)
    below = act & (q0 < target)
    note[below] = messages.BELOW_EXPECTATION
    solve = np.flatnonzero(act & ~below)
    if solve.size:
        root, ok, its = _solve_q_batch(
            target[solve], Y[solve], V[solve], M[solve], k[solve], tol, maxiter
        )
        tau2[solve], converged[solve], iterations[solve] = root, ok, its
        for i in solve[~ok]:
            note[i] = messages.newton_not_converged(maxiter)
    s1 = row_sum(_weights(V, M, tau2))
    se = np.sqrt(2 * k**2 / (k - 1) / s1**2)
    return Tau2Batch("PM", tau2, se, iterations, converged, note)


def _adjustment(
    method: str,
    Y: FloatArray,
    V: FloatArray,
    M: FloatArray,
    k: FloatArray,
    tau2: FloatArray,
    work: Workspace | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per row at τ²: the Fisher-scoring step of ``method`` (metafor's ``adj``), the score
    and the observed information (NaN for EB), as :func:`inometa.core.tau2._scoring_terms`."""
    w, res, wr = (work or Workspace(Y.shape)).get(Y.shape[0])
    np.add(V, tau2[:, None], out=w)
    np.divide(M, w, out=w)
    s1 = row_sum(w)
    np.subtract(Y, (row_dot(w, Y) / s1)[:, None], out=res)
    np.multiply(w, res, out=wr)
    ypp = row_dot(wr, wr)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "EB":
            score = row_dot(wr, res) * k / (k - 1) - k
            return np.asarray(score / s1, dtype=float), score, np.full(score.size, np.nan)
        # yᵀP³y = Σ wᵢ (zᵢ − z̄)² with z = Py, z̄ = Σwz/Σw (absent studies: w = 0)
        np.subtract(wr, (row_dot(w, wr) / s1)[:, None], out=wr)
        yp3y = row_dot(np.multiply(w, wr, out=res), wr)
        w2 = np.multiply(w, w, out=res)
        s2 = row_sum(w2)
        if method == "ML":
            score = ypp - s1
            return np.asarray(score / s2, dtype=float), score, 2 * yp3y - s2
        s3 = row_dot(w2, w)
        info = s2 - 2 * s3 / s1 + s2**2 / s1**2
        score = ypp - (s1 - s2 / s1)
        return np.asarray(score / info, dtype=float), score, 2 * yp3y - info


def _score_at_zero(
    method: str, Y: FloatArray, V: FloatArray, M: FloatArray, k: FloatArray
) -> FloatArray:
    """The score for τ² at τ² = 0 (≤ 0: the boundary is a maximum)."""
    w = M / V
    s1, _, res = _residuals(Y, w)
    wr = w * res
    ypp = row_dot(wr, wr)
    if method == "ML":
        return np.asarray(ypp - s1, dtype=float)
    if method == "REML":
        return np.asarray(ypp - (s1 - row_sum(w * w) / s1), dtype=float)
    return np.asarray(row_dot(wr, res) * k / (k - 1) - k, dtype=float)


def _loglik(
    Y: FloatArray, V: FloatArray, M: FloatArray, k: FloatArray, tau2: FloatArray, reml: bool
) -> FloatArray:
    w = _weights(V, M, tau2)
    s1, _, res = _residuals(Y, w)
    rss = row_dot(w, res * res)
    logs = row_sum(M * np.log(V + tau2[:, None]))
    if reml:
        return np.asarray(
            -0.5 * (k - 1) * np.log(2 * np.pi) - 0.5 * logs - 0.5 * np.log(s1) - 0.5 * rss,
            dtype=float,
        )
    return np.asarray(-0.5 * k * np.log(2 * np.pi) - 0.5 * logs - 0.5 * rss, dtype=float)


def _fisher_scoring(
    method: str,
    Y: FloatArray,
    V: FloatArray,
    M: FloatArray,
    k: FloatArray,
    act: BoolArray,
    tol: float,
    maxiter: int,
) -> Tau2Batch:
    """metafor's Fisher scoring for ML, REML and EB, started at max(0, HE), with Newton
    steps for ML and REML where they are safe (see :func:`inometa.core.tau2._fisher_scoring`),
    every row at once.

    Each row follows the single path's iteration step for step (same start, choice of
    step, step halving, jump to the boundary, stopping rule); rows drop out as they finish.
    """
    r = k.size
    with np.errstate(divide="ignore", invalid="ignore"):
        tau2 = np.where(act, np.maximum(0.0, _he_raw(Y, V, M, k)[0]), 0.0)
    scale = masked_mean(V, M, k)
    score0 = np.zeros(r)
    rows = np.flatnonzero(act)
    score0[rows] = _score_at_zero(method, Y[rows], V[rows], M[rows], k[rows])
    converged = ~act
    at_boundary = np.zeros(r, dtype=bool)
    iterations = np.zeros(r, dtype=np.int64)
    # Working copies of the active rows' data, compacted only when a fifth of them has
    # finished (gathering the 2-D arrays every iteration would cost more than it saves).
    wrows, Yw, Vw, Mw, kw = rows, Y[rows], V[rows], M[rows], k[rows]
    work = Workspace(Yw.shape)
    newton = method in ("ML", "REML")
    with np.errstate(divide="ignore", invalid="ignore"):
        v_bar = k / row_sum(np.where(M > 0, M / V, 0.0))
    lo, hi = np.zeros(r), np.full(r, np.inf)  # brackets of the maxima
    previous = np.full(r, np.nan)  # the size of the last step if it was a Newton step
    for _ in range(maxiter):
        if rows.size == 0:
            break
        if rows.size < 0.8 * wrows.size:
            pos = np.searchsorted(wrows, rows)
            wrows, Yw, Vw, Mw, kw = rows, Yw[pos], Vw[pos], Mw[pos], kw[pos]
        iterations[rows] += 1
        t = tau2[rows]
        if rows.size == wrows.size:
            adj, score, observed = _adjustment(method, Yw, Vw, Mw, kw, t, work)
        else:
            adj, score, observed = _adjustment(method, Yw, Vw, Mw, kw, tau2[wrows], work)
            pos = np.searchsorted(wrows, rows)
            adj, score, observed = adj[pos], score[pos], observed[pos]
        adj = np.where(np.isfinite(adj), adj, 0.0)
        jump = (t + adj < 0) & (score0[rows] <= 0)
        tau2[rows[jump]] = 0.0
        converged[rows[jump]] = True
        at_boundary[rows[jump]] = True
        keep = ~jump
        rows, t, adj = rows[keep], t[keep], adj[keep]
        inside = np.zeros(rows.size, dtype=bool)
        if newton:
            score, observed = score[keep], observed[keep]
            lo[rows] = np.where(score > 0, np.maximum(lo[rows], t), lo[rows])
            hi[rows] = np.where(score < 0, np.minimum(hi[rows], t), hi[rows])
            # Newton's step on ψ = score · (v̄ + τ²)², v̄ the harmonic mean of the vᵢ
            # (see the single path)
            den = observed - 2 * score / (v_bar[rows] + t)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = score / den
            inside = (den > 0) & (lo[rows] < t + step) & (t + step < hi[rows])
            adj = np.where(inside, step, adj)
        # Step halving keeps τ² inside the parameter space.
        crossing = t + adj < 0
        while crossing.any():
            adj = np.where(crossing, adj / 2, adj)
            tiny = crossing & (np.abs(adj) < 1e-300)
            adj = np.where(tiny, -t, adj)
            crossing = ~tiny & (t + adj < 0)
        new = t + adj
        change = np.abs(new - t)
        limit = tol * np.maximum(new, scale[rows])
        prev = previous[rows]
        done = (change <= limit) | (
            inside & (change <= 0.25 * prev) & (change**3 <= limit * prev**2)
        )
        previous[rows] = np.where(inside, change, np.nan)
        tau2[rows] = new
        converged[rows[done]] = True
        rows = rows[~done]
    note = _notes(r)
    note[act & ~converged] = messages.fisher_not_converged(maxiter, tol)
    # Step halving approaches the boundary geometrically and stops within tol of it.
    near = act & (tau2 > 0) & (tau2 <= 1e3 * tol * scale) & (score0 <= 0)
    tau2[near] = 0.0
    at_boundary |= near
    note[at_boundary] = messages.AT_BOUNDARY
    if method in ("ML", "REML"):
        check = np.flatnonzero(act & (tau2 > 0))
        if check.size:
            args = (Y[check], V[check], M[check], k[check])
            reml = method == "REML"
            worse = (
                _loglik(*args, np.zeros(check.size), reml) - _loglik(*args, tau2[check], reml)
                > 1e-10
            )
            tau2[check[worse]] = 0.0
            note[check[worse]] = messages.LIKELIHOOD_AT_ZERO
    tau2 = np.maximum(0.0, tau2)
    w = _weights(V, M, tau2)
    s1 = row_sum(w)
    s2 = row_sum(w * w)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "ML":
            se = np.sqrt(2 / s2)
        elif method == "REML":
            s3 = row_sum(w * w * w)
            se = np.sqrt(2 / (s2 - 2 * s3 / s1 + s2**2 / s1**2))
        else:
            se = np.sqrt(2 * k**2 / (k - 1) / s1**2)
    return Tau2Batch(method, tau2, se, iterations, converged, note)


_CLOSED = {"DL": _dl, "HE": _he, "HS": _hs, "SJ": _sj}


def estimate_tau2_batch(
    Y: FloatArray,
    V: FloatArray,
    M: FloatArray,
    method: str,
    *,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
) -> Tau2Batch:
    """Estimate τ² for every row with one of metafor's estimators (canonical name).

    Rows with one study get τ² = 0 and a NaN standard error, as
    :func:`inometa.core.tau2.estimate_tau2`.

    Examples
    --------
    The rows are independent analyses; the first is the example of
    :func:`inometa.core.tau2.estimate_tau2` (metafor: 0.0244444):

    >>> Y = np.array([[0.1, 0.5, 0.2], [0.3, 0.3, 0.0]])
    >>> V = np.array([[0.01, 0.02, 0.015], [0.01, 0.01, 1.0]])
    >>> M = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    >>> fit = estimate_tau2_batch(Y, V, M, "DL")
    >>> np.round(fit.tau2, 6).tolist(), fit.note[1]
    ([0.024444, 0.0], 'the estimate (-0.01) was negative and is truncated at 0')
    """
    k = row_sum(M)
    act = k > 1
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in _CLOSED:
            fit = _CLOSED[method](Y, V, M, k, act)
        elif method == "PM":
            fit = _pm(Y, V, M, k, act, tol, maxiter)
        elif method in ("ML", "REML", "EB"):
            fit = _fisher_scoring(method, Y, V, M, k, act, tol, maxiter)
        else:
            raise ValueError(f"unknown tau2_method {method!r}")
    single = ~act
    if single.any():
        fit.tau2[single] = 0.0
        fit.se[single] = np.nan
        fit.iterations[single] = 0
        fit.converged[single] = True
        for i in np.flatnonzero(single):
            fit.note[i] = messages.k_study(int(k[i]))
    return fit
