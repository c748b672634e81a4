"""The binomial–normal GLMM (no moderators) fitted to many analyses at once.

Every analysis (row) is fitted exactly as :func:`inometa.glmm.fit_glmm` fits one: the same
adaptive Gauss–Hermite likelihood L̃ (nodes centred at each study's mode and scaled by its
curvature, lme4's rule), β profiled out by Newton steps with backtracking, τ̂ the root of
the profile slope bracketed geometrically from τ = 10⁻³ and 0.5, the boundary rules, the
covariance from the exact Hessian in (β, τ), and the profile-likelihood interval for τ²
taken at the crossings nearest to τ̂. Rows are vectorised over (analyses × studies ×
nodes) arrays, studies absent from a row have weight 0, and each inner iteration runs only
on the rows that still need it.

Roots (τ̂ and the interval bounds) are found by :func:`inometa.batch_tau2.find_root`
(Chandrupatla's method) with the single path's tolerances instead of its Newton steps, so
both locate the same roots to those tolerances (10⁻¹³ in τ for τ̂, 10⁻¹² · max(1, τ̂) for
the bounds); the iteration counts differ. The standard error comes from the single path's
exact Hessian (its formulas, evaluated for all analyses in one pass with the modes located
here), at points that agree to those tolerances. Where the likelihood is nearly flat (the
fits noted "τ̂ = … nearly flat likelihood", e.g. 0% and 100% studies with 7 nodes), the
profile slope is only determined to about 10⁻⁶ by the Newton stopping rule for β̂(τ) that
both paths share, and τ̂ agrees to about 10⁻⁵ relative; so do data made mostly of 0% and
100% studies without that note (τ̂ and the bounds within 10⁻⁵ to 10⁻³, seen in a stress
comparison). Where ℓₚ jumps between separate maxima in β, the two paths' walks towards a
bound can end differently (NaN with a note in one, ∞ or another crossing in the other).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats
from scipy.special import expit, gammaln

from .batch_tau2 import find_root
from .glmm import _BETA_BOUND, _TAU_LARGE, _TAU_MAX
from .glmm import _Quadrature as _SingleQuadrature

__all__ = ["GlmmBatch", "fit_glmm_batch"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_SQRT2 = float(np.sqrt(2))
_LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class GlmmBatch:
    """GLMM fits of many analyses: per row, the fields of :class:`inometa.glmm.GlmmFit`
    that :func:`inometa.metaprop` uses (``mu`` = β₀, ``se`` = √vcov₀₀, …)."""

    mu: FloatArray
    se: FloatArray
    mu_common: FloatArray
    se_common: FloatArray
    tau2: FloatArray
    tau2_ci_low: FloatArray
    tau2_ci_high: FloatArray
    loglik: FloatArray
    loglik_common: FloatArray
    loglik_saturated: FloatArray
    iterations: IntArray
    converged: BoolArray
    boundary: npt.NDArray[np.object_]
    notes: tuple[tuple[str, ...], ...]


def _logsumexp_last(a: FloatArray) -> FloatArray:
    top = np.max(a, axis=-1, keepdims=True)
    return np.asarray(top[..., 0] + np.log(np.sum(np.exp(a - top), axis=-1)), dtype=float)


class _Quadrature:
    """:class:`inometa.glmm._Quadrature` for many analyses: every method takes the rows it
    works on, their linear predictors η (one per row: no moderators) and their τ."""

    def __init__(self, x: FloatArray, n: FloatArray, present: BoolArray, nagq: int) -> None:
        self.x = np.where(present, x, 0.0)
        self.n = np.where(present, n, 0.0)
        self.M = present.astype(float)
        t, w = np.polynomial.hermite.hermgauss(nagq)
        self.t = t
        self.logw = np.log(w) + t**2
        self.logc = np.where(
            present,
            gammaln(self.n + 1) - gammaln(self.x + 1) - gammaln(self.n - self.x + 1),
            0.0,
        )
        self.z_start = np.zeros_like(self.x)
        self.nagq = nagq

    def modes(
        self, rows: IntArray, eta: FloatArray, tau: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Mode ẑ, scale σ̂ and expit(η + τẑ) of each study's integrand (bracketed Newton,
        each row until its largest change is ≤ 10⁻¹³ (1 + max |z|), as the single path)."""
        x, n = self.x[rows], self.n[rows]
        e, tt = eta[:, None], tau[:, None]
        lo = tt * (x - n) - 1e-12
        hi = tt * x + 1e-12
        z = self._start(rows, x, n, e, tt, lo, hi)
        act = np.arange(rows.size)
        for _ in range(200):
            za, xa, na, ea, ta = z[act], x[act], n[act], e[act], tt[act]
            p = expit(ea + ta * za)
            grad = ta * (xa - na * p) - za
            la = np.where(grad > 0, za, lo[act])
            ha = np.where(grad < 0, za, hi[act])
            newton = za + grad / (ta**2 * na * p * (1 - p) + 1)
            inside = (newton >= la) & (newton <= ha)
            z_new = np.where(inside, newton, 0.5 * (la + ha))
            change = np.max(np.abs(z_new - za), axis=1)
            z[act], lo[act], hi[act] = z_new, la, ha
            act = act[change > 1e-13 * (1 + np.max(np.abs(z_new), axis=1))]
            if act.size == 0:
                break
        self.z_start[rows] = z
        p = expit(e + tt * z)
        sigma = 1 / np.sqrt(1 + tt**2 * n * p * (1 - p))
        return z, sigma, p

    def _start(
        self,
        rows: IntArray,
        x: FloatArray,
        n: FloatArray,
        e: FloatArray,
        tt: FloatArray,
        lo: FloatArray,
        hi: FloatArray,
    ) -> FloatArray:
        """Per study, the better of the previous mode and the z at which p = (x+½)/(n+1)."""
        warm = np.clip(self.z_start[rows], lo, hi)
        p_obs = (x + 0.5) / (n + 1)
        safe = np.where(tt == 0, 1.0, tt)
        near = np.clip((np.log(p_obs / (1 - p_obs)) - e) / safe, lo, hi)

        def score(z: FloatArray) -> FloatArray:
            return np.asarray(np.abs(tt * (x - n * expit(e + tt * z)) - z), dtype=float)

        better = (score(near) < score(warm)) & (tt != 0)
        return np.asarray(np.where(better, near, warm), dtype=float)

    def _terms(
        self, rows: IntArray, eta: FloatArray, tau: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        zhat, sigma, phat = self.modes(rows, eta, tau)
        z = zhat[..., None] + _SQRT2 * sigma[..., None] * self.t
        lin = eta[:, None, None] + tau[:, None, None] * z
        x = self.x[rows][..., None]
        n = self.n[rows][..., None]
        g = (
            self.logc[rows][..., None]
            + x * lin
            - n * np.logaddexp(0, lin)
            - 0.5 * z**2
            - 0.5 * _LOG_2PI
        )
        a = self.logw + g
        log_li = np.log(_SQRT2 * sigma) + _logsumexp_last(a)
        return zhat, sigma, phat, z, a, log_li

    def per_study(
        self, rows: IntArray, eta: FloatArray, tau: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """∂ log L̃ᵢ/∂η, ∂ log L̃ᵢ/∂τ (including node movement), the fixed-node curvature
        in η (for Newton proposals), all per study (0 where absent); and log L̃ per row."""
        zhat, sigma, phat, z, a, log_li = self._terms(rows, eta, tau)
        M = self.M[rows]
        pi = np.exp(a - (log_li - np.log(_SQRT2 * sigma))[..., None])
        tt = tau[:, None, None]
        p = expit(eta[:, None, None] + tt * z)
        xs, ns = self.x[rows], self.n[rows]
        r = xs[..., None] - ns[..., None] * p
        gprime = tt * r - z
        direct_eta = np.sum(pi * r, axis=-1)
        direct_tau = np.sum(pi * r * z, axis=-1)
        d_zhat = np.sum(pi * gprime, axis=-1)
        d_sigma = 1 / sigma + np.sum(pi * gprime * _SQRT2 * self.t, axis=-1)
        t2 = tau[:, None]
        npq = ns * phat * (1 - phat)
        rhat = xs - ns * phat
        dz_eta = sigma**2 * (-t2 * npq)
        dz_tau = sigma**2 * (rhat - t2 * npq * zhat)
        skew = t2**2 * npq * (1 - 2 * phat)
        ds_eta = -0.5 * sigma**3 * skew * (1 + t2 * dz_eta)
        ds_tau = -0.5 * sigma**3 * (2 * t2 * npq + skew * (zhat + t2 * dz_tau))
        g_eta = M * (direct_eta + d_zhat * dz_eta + d_sigma * ds_eta)
        g_tau = M * (direct_tau + d_zhat * dz_tau + d_sigma * ds_tau)
        var_r = np.sum(pi * r**2, axis=-1) - direct_eta**2
        slope = M * (var_r - np.sum(pi * ns[..., None] * p * (1 - p), axis=-1))
        return g_eta, g_tau, slope, np.sum(M * log_li, axis=1)

    def loglik(self, rows: IntArray, beta: FloatArray, tau: FloatArray) -> FloatArray:
        return np.asarray(np.sum(self.M[rows] * self._terms(rows, beta, tau)[5], axis=1))

    def gradient(
        self, rows: IntArray, beta: FloatArray, tau: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        g_eta, g_tau, _, _ = self.per_study(rows, beta, tau)
        return g_eta.sum(axis=1), g_tau.sum(axis=1)

    def info(self, rows: IntArray, beta: FloatArray, tau: FloatArray) -> FloatArray:
        """Observed information −H in (β, τ), shape (rows, 2, 2): the exact Hessian of the
        single path (:meth:`inometa.glmm._Quadrature._evaluate_rows`, node movement
        included) for the present studies of all rows in one pass, each at its row's
        (β, τ) and with the modes located here, row by row; summed per row."""
        present = self.M[rows] > 0
        owner = np.nonzero(present)[0]  # the row (of ``rows``) of each present study
        zhat, sigma, phat = self.modes(rows, beta, tau)
        flat = _SingleQuadrature(
            self.x[rows][present],
            self.n[rows][present],
            np.ones((owner.size, 1)),
            self.nagq,
            self.logc[rows][present],
        )
        h = flat._evaluate_rows(
            beta[owner], tau[owner], (zhat[present], sigma[present], phat[present])
        )
        sums = [np.bincount(owner, weights=h[j], minlength=rows.size) for j in (3, 4, 5)]
        return np.asarray(-np.stack([sums[:2], sums[1:]]).transpose(2, 0, 1), dtype=float)

    def beta_hat(
        self, rows: IntArray, tau: FloatArray, start: FloatArray
    ) -> tuple[FloatArray, BoolArray]:
        """β̂(τ) per row by Newton steps with backtracking; False where it runs off to
        infinity (separation)."""
        beta = np.array(start, dtype=float)
        g_eta, _, slope, ll = self.per_study(rows, beta, tau)
        M = self.M[rows]
        act = np.arange(rows.size)
        ok = np.ones(rows.size, dtype=bool)
        for _ in range(200):
            grad = g_eta.sum(axis=1)
            # Newton's step with the exact information for β (node movement included, as
            # in the single path); where that is not positive, the fixed-node curvature's
            # magnitude (still an ascent direction for the backtracking below). The
            # fixed-node curvature alone can overstate the information a hundredfold (one
            # node, τ near 12), and 200 such steps then stop far from β̂(τ).
            exact = self.info(rows[act], beta[act], tau[act])[:, 0, 0]
            proxy = np.sum(M[act] * -np.minimum(slope, -1e-12), axis=1)
            info = np.where(exact > 0, exact, proxy)
            step = grad / info
            b0 = beta[act]
            trial = b0 + step
            g_t, s_t, ll_t = np.empty_like(g_eta), np.empty_like(slope), np.empty_like(ll)
            pending = np.arange(act.size)
            scale = np.ones(act.size)
            for _ in range(60):
                cand = b0[pending] + scale[pending] * step[pending]
                trial[pending] = cand
                ge, _, sl, lt = self.per_study(rows[act[pending]], cand, tau[act[pending]])
                g_t[pending], s_t[pending], ll_t[pending] = ge, sl, lt
                base = ll[pending]
                accept = lt >= base - 1e-12 * (1 + np.abs(base))
                scale[pending[~accept]] /= 2
                pending = pending[~accept]
                if pending.size == 0:
                    break
            moved = np.abs(trial - b0)
            beta[act] = trial
            off = np.abs(trial) > _BETA_BOUND
            ok[act[off]] = False
            keep = ~off & ~(moved <= 1e-12 * (1 + np.abs(trial)))
            act = act[keep]
            g_eta, slope, ll = g_t[keep], s_t[keep], ll_t[keep]
            if act.size == 0:
                break
        return beta, ok & (np.abs(beta) <= _BETA_BOUND)

    def profile_slope(
        self, rows: IntArray, tau: FloatArray, start: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """dℓₚ/dτ at τ (envelope theorem) and β̂(τ), per row."""
        beta, _ = self.beta_hat(rows, tau, start)
        _, g_tau = self.gradient(rows, beta, tau)
        return g_tau, beta


def _saturated_loglik(x: FloatArray, n: FloatArray, present: BoolArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        ll = (
            gammaln(n + 1)
            - gammaln(x + 1)
            - gammaln(n - x + 1)
            + np.where(x > 0, x * np.log(p), 0.0)
            + np.where(x < n, (n - x) * np.log1p(-p), 0.0)
        )
    return np.asarray(np.where(present, ll, 0.0).sum(axis=1), dtype=float)


def fit_glmm_batch(
    events: FloatArray,
    n: FloatArray,
    present: BoolArray,
    *,
    nagq: int = 7,
    level: float = 0.95,
    tau2_fixed: float | None = None,
) -> GlmmBatch:
    """Fit the binomial–normal model (no moderators) to every row by maximum likelihood.

    Parameters
    ----------
    events, n
        (R, K) validated counts; entries where ``present`` is False are ignored.
    present
        (R, K) booleans: the studies of each analysis.
    nagq, level, tau2_fixed
        As :func:`inometa.glmm.fit_glmm`.

    Returns
    -------
    GlmmBatch

    Examples
    --------
    >>> from inometa.glmm import fit_glmm
    >>> x = np.array([[2.0, 8, 15], [3, 3, 0]])
    >>> n = np.array([[20.0, 25, 30], [10, 12, 1]])
    >>> present = np.array([[True, True, True], [True, True, False]])
    >>> fit = fit_glmm_batch(x, n, present)
    >>> one = fit_glmm([2, 8, 15], [20, 25, 30], nagq=7)
    >>> bool(np.isclose(fit.tau2[0], one.tau2, rtol=1e-9)), fit.notes[1]
    (True, ('no extra-binomial variation: τ² is estimated at its boundary, 0',))
    """
    r = events.shape[0]
    x = np.where(present, events, 0.0)
    m = np.where(present, n, 0.0)
    quad = _Quadrature(x, m, present, int(nagq))
    total_x, total_n = x.sum(axis=1), m.sum(axis=1)
    ll_sat = _saturated_loglik(x, m, present)
    notes: list[list[str]] = [[] for _ in range(r)]
    mu = np.full(r, np.nan)
    se = np.full(r, np.nan)
    mu_c = np.full(r, np.nan)
    se_c = np.full(r, np.nan)
    tau2 = np.zeros(r)
    ci_lo = np.full(r, np.nan)
    ci_hi = np.full(r, np.nan)
    ll = ll_sat.copy()
    ll_c = ll_sat.copy()
    iterations = np.zeros(r, dtype=np.int64)
    converged = np.ones(r, dtype=bool)
    boundary = np.full(r, None, dtype=object)

    edge = (total_x == 0) | (total_x == total_n)
    for i in np.flatnonzero(edge):
        zero = total_x[i] == 0
        bound = -np.inf if zero else np.inf
        notes[i].append(
            f"every study has {'0' if zero else 'n'} events: the maximum-likelihood "
            f"proportion is {'0' if zero else '1'} (logit {bound}), τ² is not "
            "identifiable and is reported as 0; the confidence interval is the "
            "Clopper–Pearson interval of the pooled counts"
        )
        mu[i] = mu_c[i] = bound
        se[i] = se_c[i] = np.inf
        boundary[i] = "all-zero" if zero else "all-full"

    rows = np.flatnonzero(~edge)
    if rows.size:
        p_pool = total_x[rows] / total_n[rows]
        start = np.log(p_pool / (1 - p_pool))
        zeros = np.zeros(rows.size)
        beta_fe, ok_fe = quad.beta_hat(rows, zeros, start)
        ll_c[rows] = quad.loglik(rows, beta_fe, zeros)
        pf = expit(beta_fe)
        vcov_fe = 1 / np.sum(m[rows] * pf[:, None] * (1 - pf[:, None]), axis=1)
        mu_c[rows], se_c[rows] = beta_fe, np.sqrt(vcov_fe)
        sep = ~ok_fe
        for i in rows[sep]:
            notes[i].append(
                "a moderator level has all its studies at 0 or at n events (separation): its "
                "coefficient is unbounded and the model cannot be estimated as specified"
            )
        tau2[rows[sep]] = np.nan
        ll[rows[sep]] = np.nan
        converged[rows[sep]] = False
        boundary[rows[sep]] = "separation"
        fit = rows[ok_fe]
        beta_fe, vcov_fe = beta_fe[ok_fe], vcov_fe[ok_fe]
        if fit.size and tau2_fixed is not None:
            _fixed(
                quad,
                fit,
                beta_fe,
                vcov_fe,
                float(tau2_fixed),
                mu,
                se,
                tau2,
                ll,
                converged,
                boundary,
            )
        elif fit.size:
            _estimate(
                quad,
                fit,
                beta_fe,
                vcov_fe,
                level,
                notes,
                mu,
                se,
                tau2,
                ci_lo,
                ci_hi,
                ll,
                iterations,
                converged,
                boundary,
            )
    return GlmmBatch(
        mu,
        se,
        mu_c,
        se_c,
        tau2,
        ci_lo,
        ci_hi,
        ll,
        ll_c,
        ll_sat,
        iterations,
        converged,
        boundary,
        tuple(tuple(row) for row in notes),
    )


def _fixed(
    quad: _Quadrature,
    rows: IntArray,
    beta_fe: FloatArray,
    vcov_fe: FloatArray,
    tau2_fixed: float,
    mu: FloatArray,
    se: FloatArray,
    tau2: FloatArray,
    ll: FloatArray,
    converged: BoolArray,
    boundary: npt.NDArray[np.object_],
) -> None:
    tau = np.full(rows.size, np.sqrt(tau2_fixed))
    beta, ok = quad.beta_hat(rows, tau, beta_fe)
    # Only the β-block of the Hessian is needed: the covariance is conditional on τ.
    vcov = 1 / quad.info(rows, beta, tau)[:, 0, 0] if tau2_fixed > 0 else vcov_fe
    mu[rows], se[rows] = beta, np.sqrt(vcov)
    tau2[rows] = tau2_fixed
    ll[rows] = quad.loglik(rows, beta, tau)
    converged[rows] = ok
    boundary[rows[~ok]] = "separation"


def _estimate(
    quad: _Quadrature,
    rows: IntArray,
    beta_fe: FloatArray,
    vcov_fe: FloatArray,
    level: float,
    notes: list[list[str]],
    mu: FloatArray,
    se: FloatArray,
    tau2: FloatArray,
    ci_lo: FloatArray,
    ci_hi: FloatArray,
    ll: FloatArray,
    iterations: IntArray,
    converged: BoolArray,
    boundary: npt.NDArray[np.object_],
) -> None:
    tau, beta, evals, conv, bnd = _locate_tau(quad, rows, beta_fe, notes)
    for j in np.flatnonzero(conv & (tau > _TAU_LARGE)):
        notes[rows[j]].append(
            f"τ̂ = {tau[j]:.3g} on the logit scale: studies at or near 0% and 100% drive an "
            "extreme heterogeneity estimate on a nearly flat likelihood; it changes with the "
            "number of quadrature nodes (compare nagq=7 and nagq=21)"
        )
    vcov = vcov_fe.copy()
    pos = np.flatnonzero(tau > 0)
    if pos.size:
        info = quad.info(rows[pos], beta[pos], tau[pos])
        a, b, d = info[:, 0, 0], info[:, 0, 1], info[:, 1, 1]
        det = a * d - b * b
        definite = (det > 0) & (a + d > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            vcov[pos] = np.where(definite, d / det, 1 / a)
        for j in pos[~definite]:
            notes[rows[j]].append(
                "the observed information in (β, τ) is not positive definite; the covariance "
                "of β̂ ignores the uncertainty in τ"
            )
            if not vcov[j] > 0:
                vcov[j] = np.nan
                notes[rows[j]].append(
                    "the information for β alone is not positive either (the likelihood is "
                    "too flat to give a standard error): the standard error and confidence "
                    "interval of the pooled value are undefined"
                )
    ll_hat = quad.loglik(rows, beta, tau)
    lo, hi = np.full(rows.size, np.nan), np.full(rows.size, np.nan)
    ci = np.flatnonzero(conv)
    if ci.size:
        lo[ci], hi[ci] = _profile_ci(quad, rows[ci], tau[ci], beta[ci], ll_hat[ci], level, notes)
    with np.errstate(invalid="ignore"):
        # A negative variance (information not positive definite, noted) gives NaN, as in
        # the single path.
        se[rows] = np.sqrt(vcov)
    mu[rows], tau2[rows] = beta, tau**2
    ci_lo[rows], ci_hi[rows] = lo, hi
    ll[rows] = ll_hat
    iterations[rows], converged[rows], boundary[rows] = evals, conv, bnd


def _locate_tau(
    quad: _Quadrature, rows: IntArray, beta_fe: FloatArray, notes: list[list[str]]
) -> tuple[FloatArray, FloatArray, IntArray, BoolArray, npt.NDArray[np.object_]]:
    """Maximise the profile likelihood in τ ≥ 0 for every row (as ``glmm._locate_tau``)."""
    size = rows.size
    tau = np.zeros(size)
    beta = beta_fe.copy()
    evals = np.ones(size, dtype=np.int64)
    conv = np.ones(size, dtype=bool)
    bnd = np.full(size, None, dtype=object)
    slope0, beta0 = quad.profile_slope(rows, np.full(size, 1e-3), beta_fe)
    ll_zero = quad.loglik(rows, beta_fe, np.zeros(size))
    flat = slope0 <= 0
    for j in np.flatnonzero(flat):
        notes[rows[j]].append("no extra-binomial variation: τ² is estimated at its boundary, 0")
    bnd[flat] = "tau2=0"
    act = np.flatnonzero(~flat)
    if act.size == 0:
        return tau, beta, evals, conv, bnd
    lo = np.full(size, 1e-3)
    hi = np.full(size, 0.5)
    slope_lo = slope0.copy()
    beta_lo = beta0.copy()
    slope_hi = np.zeros(size)
    beta_hi = beta0.copy()
    slope_hi[act], beta_hi[act] = quad.profile_slope(rows[act], hi[act], beta0[act])
    evals[act] += 1
    grow = act[slope_hi[act] > 0]
    unbounded = np.zeros(size, dtype=bool)
    while grow.size:
        stop = grow[hi[grow] >= _TAU_MAX]
        unbounded[stop] = True
        grow = grow[hi[grow] < _TAU_MAX]
        if grow.size == 0:
            break
        lo[grow], beta_lo[grow], slope_lo[grow] = hi[grow], beta_hi[grow], slope_hi[grow]
        hi[grow] = np.minimum(2 * hi[grow], _TAU_MAX)
        slope_hi[grow], beta_hi[grow] = quad.profile_slope(rows[grow], hi[grow], beta_lo[grow])
        evals[grow] += 1
        grow = grow[slope_hi[grow] > 0]
    for j in np.flatnonzero(unbounded):
        notes[rows[j]].append(
            "the likelihood keeps increasing with τ (e.g. only 0% and 100% studies): "
            f"τ is stopped at {_TAU_MAX:g} on the logit scale and the estimates are "
            "not interpretable"
        )
    tau[unbounded], beta[unbounded] = _TAU_MAX, beta_hi[unbounded]
    conv[unbounded] = False
    bnd[unbounded] = "tau-unbounded"
    solve = act[~unbounded[act]]
    if solve.size:
        sub_rows = rows[solve]
        warm = beta_lo[solve].copy()

        def slope(t: FloatArray, sub: IntArray) -> FloatArray:
            s, warm[sub] = quad.profile_slope(sub_rows[sub], t, warm[sub])
            return s

        root, ok, nfev = find_root(
            slope,
            lo[solve],
            hi[solve],
            xatol=1e-13,
            xrtol=1e-13,
            maxiter=500,
            fa=slope_lo[solve],
            fb=slope_hi[solve],
        )
        evals[solve] += nfev
        b, _ = quad.beta_hat(sub_rows, root, warm)
        lower = quad.loglik(sub_rows, b, root) < ll_zero[solve]
        for j in solve[lower]:
            notes[rows[j]].append("the likelihood is highest at τ² = 0")
        tau[solve] = np.where(lower, 0.0, root)
        beta[solve] = np.where(lower, beta_fe[solve], b)
        conv[solve] = lower | ok
        bnd[solve[lower]] = "tau2=0"
    return tau, beta, evals, conv, bnd


def _profile_ci(
    quad: _Quadrature,
    rows: IntArray,
    tau_hat: FloatArray,
    beta_hat: FloatArray,
    ll_hat: FloatArray,
    level: float,
    notes: list[list[str]],
) -> tuple[FloatArray, FloatArray]:
    """Profile-likelihood interval for τ² per row: each bound the crossing of
    2(ℓ̂ − ℓₚ(τ)) = χ²₁ quantile nearest to τ̂ (a grid walk outwards, then a root)."""
    size = rows.size
    drop = float(stats.chi2.ppf(level, 1)) / 2
    xatol = 1e-12 * np.maximum(1.0, tau_hat)
    warm = beta_hat.copy()

    def excess_at(sel: IntArray, t: FloatArray) -> FloatArray:
        warm[sel], _ = quad.beta_hat(rows[sel], t, warm[sel])
        return np.asarray(quad.loglik(rows[sel], warm[sel], t) - (ll_hat[sel] - drop))

    def root(sel: IntArray, a: FloatArray, b: FloatArray, fa: FloatArray) -> FloatArray:
        def f(t: FloatArray, sub: IntArray) -> FloatArray:
            return excess_at(sel[sub], t)

        x, _, _ = find_root(f, a, b, xatol=xatol[sel], fa=fa)
        return x

    lo = np.zeros(size)
    act = np.flatnonzero(tau_hat > 0)
    inner = tau_hat.copy()
    for frac in (0.8, 0.6, 0.4, 0.2, 0.0):
        if act.size == 0:
            break
        outer = tau_hat[act] * frac
        e = excess_at(act, outer)
        cross = e < 0
        if cross.any():
            sel = act[cross]
            lo[sel] = root(sel, outer[cross], inner[sel], e[cross])
        inner[act] = outer
        act = act[~cross]
    warm[:] = beta_hat
    hi = np.full(size, np.nan)
    inner = tau_hat.copy()
    outer = np.maximum(1.25 * tau_hat, 0.1)
    act = np.arange(size)
    while act.size:
        e = excess_at(act, outer[act])
        cross = ~(e > 0)
        if cross.any():
            sel = act[cross]
            hi[sel] = root(sel, outer[sel], inner[sel], e[cross])
        act = act[~cross]
        inner[act], outer[act] = outer[act], 1.25 * outer[act]
        gone = act[outer[act] > 2 * _TAU_MAX]
        hi[gone] = np.inf
        for j in gone:
            notes[rows[j]].append(
                "the likelihood does not fall enough as τ grows: the data do not bound τ² "
                "from above (profile-likelihood upper limit ∞)"
            )
        act = act[outer[act] <= 2 * _TAU_MAX]
    return lo**2, hi**2
