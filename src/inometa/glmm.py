"""The binomial–normal (random-intercept logistic) model, fitted by maximum likelihood.

Model: xᵢ ~ Binomial(nᵢ, expit(Xᵢβ + τ zᵢ)), zᵢ ~ N(0, 1), as metafor's
``rma.glmm(measure="PLO", method="ML", mods=…)`` (lme4's ``glmer`` with ``nAGQ`` nodes).
Without moderators X is a column of ones and β = μ, the mean logit.

Each study's marginal likelihood ∫ Bin(xᵢ | nᵢ, expit(μ + τz)) φ(z) dz is computed by
adaptive Gauss–Hermite quadrature over the exact binomial likelihood: the nodes are
centred at the mode ẑᵢ of the integrand and scaled by its curvature, σ̂ᵢ = (1 + τ² nᵢ p̂ᵢ(1−p̂ᵢ))^(−½),
which is what lme4 does (one node is the Laplace approximation). Computation is
vectorised over studies × nodes.

Estimation maximises that quadrature likelihood L̃ itself, as lme4 does, so the estimates
agree with ``rma.glmm`` at any number of nodes (not only as the nodes → ∞): its gradient
includes how the node centres ẑᵢ and scales σ̂ᵢ move with (μ, τ) (implicit
differentiation). β is profiled out — for fixed τ the likelihood is concave in β, so β̂(τ)
is found by Newton steps with backtracking — and τ̂ is the root of the
profile slope dℓₚ/dτ, bracketed geometrically and refined by Brent's method. If the slope
just above τ = 0 is ≤ 0, τ̂² = 0. The covariance of β̂ comes from the inverse of the
observed information in (β, τ) (central differences of the exact gradient) — the
Hessian-based covariance lme4 reports for ``glmer`` fits. The τ² interval is a profile-
likelihood interval, each bound the crossing nearest to τ̂.

Boundary cases never raise:

* τ̂² = 0 (no extra-binomial variation): reported with a note; SE from the common-effect
  information.
* all studies at 0 events (or all at n events): the maximum-likelihood estimate is the
  boundary proportion 0 (or 1), τ² is not identifiable; the result says so and gives the
  Clopper–Pearson interval of the pooled counts. With moderators, a level whose studies
  all sit at one boundary (separation) makes its coefficient unbounded: reported as not
  converged, with a note.
* likelihood increasing without bound in τ (e.g. only 0% and 100% studies): τ is
  stopped at a large value, flagged as not converged, with a note.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq
from scipy.special import expit, gammaln

from ._distributions import chi2_ppf

__all__ = ["GlmmFit", "fit_glmm", "glmm_loglik"]

FloatArray = npt.NDArray[np.float64]

# τ on the logit scale beyond which the data carry no information about the mean: a
# between-study SD of 15 logits spans proportions from 1e-13 to 1 - 1e-13 within ±2 SD.
_TAU_MAX = 15.0
# A fitted linear predictor beyond this many logits (a proportion below 1e-11) means
# separation — the likelihood is maximised at infinity, and Newton merely stalls there
# because the curvature underflows — not an estimate.
_BETA_BOUND = 25.0
# Beyond this τ the fitted proportions of typical studies span more than 1e-4 to 1 - 1e-4.
_TAU_LARGE = 5.0


@dataclass(frozen=True)
class GlmmFit:
    """A fitted binomial–normal model (model scale: logit).

    Attributes
    ----------
    beta, vcov
        Coefficients (β₀ = the mean logit without moderators) and their covariance matrix
        (±inf / inf at a boundary).
    tau2
        Between-study variance on the logit scale.
    tau2_ci
        Profile-likelihood confidence interval for τ² (NaN if undefined).
    loglik
        Maximised marginal log-likelihood (with binomial coefficients).
    loglik_common, loglik_saturated
        Log-likelihoods of the common-effect (τ = 0) and saturated binomial models.
    beta_common, vcov_common
        Common-effect (fixed-effect logistic regression) coefficients and covariance.
    nagq
        Number of quadrature nodes.
    iterations
        Profile-slope evaluations used to locate τ̂.
    converged
        False if τ̂ or β̂ could not be located (unbounded likelihood).
    boundary
        ``None``, ``"tau2=0"``, ``"all-zero"``, ``"all-full"``, ``"tau-unbounded"`` or
        ``"separation"``.
    notes
        Plain-language notes on anything unusual.
    """

    beta: FloatArray
    vcov: FloatArray
    tau2: float
    tau2_ci: tuple[float, float]
    loglik: float
    loglik_common: float
    loglik_saturated: float
    beta_common: FloatArray
    vcov_common: FloatArray
    nagq: int
    iterations: int
    converged: bool
    boundary: str | None
    notes: tuple[str, ...] = field(default=())

    @property
    def mu(self) -> float:
        """The first coefficient (the mean logit in a model without moderators)."""
        return float(self.beta[0])

    @property
    def se(self) -> float:
        """Standard error of the first coefficient."""
        return float(np.sqrt(self.vcov[0, 0]))

    @property
    def mu_common(self) -> float:
        """Common-effect first coefficient."""
        return float(self.beta_common[0])

    @property
    def se_common(self) -> float:
        """Standard error of the common-effect first coefficient."""
        return float(np.sqrt(self.vcov_common[0, 0]))


class _Nodes(NamedTuple):
    """The adaptive quadrature of every study at one (η, τ): modes ẑ, scales σ̂, fitted
    proportions at the modes, the nodes z (k × nagq), the linear predictor there, the
    normalised node weights πᵢⱼ of each study's integral, and log L̃ᵢ."""

    zhat: FloatArray
    sigma: FloatArray
    phat: FloatArray
    z: FloatArray
    lin: FloatArray
    pi: FloatArray
    log_li: FloatArray


class _Quadrature:
    """Adaptive Gauss–Hermite quadrature of the binomial–normal marginal likelihood.

    For study i with linear predictor ηᵢ = Xᵢβ the integrand in z is exp(gᵢ(z)) with
    gᵢ(z) = log Bin(xᵢ | nᵢ, expit(ηᵢ + τz)) − z²/2 − ½ log 2π. The nodes are
    zᵢⱼ = ẑᵢ + √2 σ̂ᵢ tⱼ with ẑᵢ the mode of gᵢ and σ̂ᵢ = (−gᵢ''(ẑᵢ))^(−½), so the
    approximation L̃ depends on (β, τ) also through where the nodes sit. Its gradient
    includes that dependence, so the estimates maximise L̃ itself — as lme4 does — and
    agree with it at any number of nodes, not only as nodes → ∞.
    """

    def __init__(self, x: FloatArray, n: FloatArray, X: FloatArray, nagq: int) -> None:
        self.xv = x
        self.nv = n
        self.X = X
        self.x = x[:, None]
        self.n = n[:, None]
        t, w = np.polynomial.hermite.hermgauss(nagq)
        self.t = t[None, :]
        self.sqrt2_t = np.sqrt(2) * self.t
        # log of ∫ e^{g(z)} dz ≈ √2 σ̂ Σⱼ wⱼ e^{tⱼ²} e^{g(zⱼ)}: the terms of g that do not
        # depend on (β, τ) — binomial coefficient, ½ log 2π — and the node weights, once.
        logc = gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1)
        self.log_const = logc[:, None] + (np.log(w) + t**2)[None, :] - 0.5 * np.log(2 * np.pi)
        self.x_minus_n = x - n
        # Successive evaluations are at nearby (β, τ): the modes found last, moved to first
        # order with their derivatives in (η, τ) when _per_study computed those, are a good
        # start. The result does not depend on the start (the search is bracketed).
        self._z_start = np.zeros_like(x)
        self._z_motion: tuple[FloatArray, float, FloatArray, FloatArray, FloatArray] | None = None

    # -- per-study pieces, as functions of the linear predictor η = Xβ ---------------------
    def modes(self, eta: FloatArray, tau: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Mode ẑᵢ, scale σ̂ᵢ and expit(ηᵢ + τẑᵢ) of each study's integrand.

        gᵢ'(z) = τ(xᵢ − nᵢ p) − z is decreasing with its root in [τ(xᵢ − nᵢ), τxᵢ]; Newton
        steps that leave the shrinking bracket are replaced by bisection (plain Newton
        diverges on the flat logistic tails). Since gᵢ'' ≤ −1, |z − ẑᵢ| ≤ |gᵢ'(z)|: the
        iteration stops when every gradient is below 1e-13 (relative to 1 + |z|).
        """
        x, n = self.xv, self.nv
        lo = tau * self.x_minus_n - 1e-12
        hi = tau * x + 1e-12
        tau2 = tau * tau
        z, p, grad = self._start(eta, tau, lo, hi)
        for _ in range(200):
            if np.abs(grad).max() <= 1e-13 * (1 + np.abs(z).max()):
                break
            lo = np.where(grad > 0, z, lo)
            hi = np.where(grad < 0, z, hi)
            newton = z + grad / (tau2 * n * p * (1 - p) + 1)
            # Non-strict bounds: a converged step lands on the bracket edge by rounding.
            inside = (newton >= lo) & (newton <= hi)
            z = np.where(inside, newton, 0.5 * (lo + hi))
            p = expit(eta + tau * z)
            grad = tau * (x - n * p) - z
        self._z_start = z
        sigma = 1 / np.sqrt(1 + tau2 * n * p * (1 - p))
        return z, sigma, p

    def _start(
        self, eta: FloatArray, tau: float, lo: FloatArray, hi: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per study, the better (smaller |g'|) of the last modes — moved to first order when
        their derivatives are known — and the z at which p = (x+½)/(n+1); with expit and g'
        there.

        For large τ the mode sits where the study's fitted proportion is near its observed
        one, far from a warm start made at another τ; for small τ it sits near 0.
        """
        x, n = self.xv, self.nv
        warm = self._z_start
        if self._z_motion is not None:
            eta0, tau0, z0, dz_eta, dz_tau = self._z_motion
            warm = z0 + dz_eta * (eta - eta0) + dz_tau * (tau - tau0)
        warm = np.clip(warm, lo, hi)
        p_warm = expit(eta + tau * warm)
        g_warm = tau * (x - n * p_warm) - warm
        if tau == 0:
            return warm, p_warm, g_warm
        p_obs = (x + 0.5) / (n + 1)
        near = np.clip((np.log(p_obs / (1 - p_obs)) - eta) / tau, lo, hi)
        p_near = expit(eta + tau * near)
        g_near = tau * (x - n * p_near) - near
        better = np.abs(g_near) < np.abs(g_warm)
        return (
            np.where(better, near, warm),
            np.where(better, p_near, p_warm),
            np.where(better, g_near, g_warm),
        )

    def _terms(self, eta: FloatArray, tau: float) -> _Nodes:
        """The adaptive nodes and each study's log L̃ᵢ."""
        zhat, sigma, phat = self.modes(eta, tau)
        z = zhat[:, None] + sigma[:, None] * self.sqrt2_t
        lin = eta[:, None] + tau * z
        a = self.log_const + self.x * lin - self.n * np.logaddexp(0, lin) - 0.5 * z * z
        # log Σⱼ exp(aᵢⱼ), shifted by the row maximum (plain numpy: scipy's logsumexp costs
        # more than the sum here)
        top = a.max(axis=1, keepdims=True)
        e = np.exp(a - top)
        total = e.sum(axis=1)
        log_li = np.log(np.sqrt(2) * sigma * total) + top[:, 0]
        return _Nodes(zhat, sigma, phat, z, lin, e / total[:, None], log_li)

    def _per_study(
        self, eta: FloatArray, tau: float
    ) -> tuple[FloatArray, FloatArray, FloatArray, float]:
        """Per study: ∂ log L̃ᵢ/∂ηᵢ, ∂ log L̃ᵢ/∂τ (exact, including node movement), an
        approximate ∂²/∂ηᵢ² (nodes fixed) used only to propose Newton steps; and log L̃."""
        zhat, sigma, phat, z, lin, pi, log_li = self._terms(eta, tau)
        p = expit(lin)
        r = self.x - self.n * p
        pi_r = pi * r
        # direct derivatives with nodes held fixed
        direct_eta = pi_r.sum(axis=1)
        direct_tau = (pi_r * z).sum(axis=1)
        # derivatives with respect to the node centre and scale: g'(z) = τr − z at the nodes
        pi_g = tau * pi_r - pi * z
        d_zhat = pi_g.sum(axis=1)
        d_sigma = 1 / sigma + (pi_g * self.sqrt2_t).sum(axis=1)
        # implicit derivatives of ẑ (root of g') and σ̂ = (τ² n p q + 1)^(−½)
        x, n = self.xv, self.nv
        npq = n * phat * (1 - phat)
        rhat = x - n * phat
        sigma2 = sigma * sigma
        dz_eta = sigma2 * (-tau * npq)
        dz_tau = sigma2 * (rhat - tau * npq * zhat)
        skew = tau * tau * npq * (1 - 2 * phat)
        half_s3 = 0.5 * sigma2 * sigma
        ds_eta = -half_s3 * skew * (1 + tau * dz_eta)
        ds_tau = -half_s3 * (2 * tau * npq + skew * (zhat + tau * dz_tau))
        g_eta = direct_eta + d_zhat * dz_eta + d_sigma * ds_eta
        g_tau = direct_tau + d_zhat * dz_tau + d_sigma * ds_tau
        self._z_motion = (eta, tau, zhat, dz_eta, dz_tau)
        # variance of r under the node weights, less the binomial information
        slope = (pi_r * r).sum(axis=1) - direct_eta**2 - (pi * (self.n * p * (1 - p))).sum(axis=1)
        return g_eta, g_tau, slope, float(log_li.sum())

    # -- functions of (β, τ) ----------------------------------------------------------
    def loglik(self, beta: FloatArray, tau: float) -> float:
        """log L̃(β, τ) = Σᵢ log L̃ᵢ."""
        return float(self._terms(self.X @ beta, tau).log_li.sum())

    def gradient(self, beta: FloatArray, tau: float) -> FloatArray:
        """Exact gradient of log L̃ in (β, τ), including the movement of ẑ and σ̂."""
        g_eta, g_tau, _, _ = self._per_study(self.X @ beta, tau)
        return np.append(self.X.T @ g_eta, np.sum(g_tau))

    def hessian(self, beta: FloatArray, tau: float) -> FloatArray:
        """Hessian of log L̃ in (β, τ) by central differences of the exact gradient."""
        theta = np.append(beta, tau)
        dim = theta.size
        out = np.empty((dim, dim))
        for j in range(dim):
            h = 1e-5 * max(1.0, abs(float(theta[j])))
            step = np.zeros(dim)
            step[j] = h
            gp = self.gradient((theta + step)[:-1], float((theta + step)[-1]))
            gm = self.gradient((theta - step)[:-1], float((theta - step)[-1]))
            out[:, j] = (gp - gm) / (2 * h)
        return np.asarray(0.5 * (out + out.T), dtype=float)

    def profile(self, tau: float, start: FloatArray) -> _ProfilePoint:
        """β̂(τ) by Newton steps with backtracking, with log L̃ and the profile slope there
        (from the same evaluation); ``ok`` False if β̂ runs off to infinity (separation:
        some level's studies all at 0 or all at n events).

        The Newton steps use the curvature with the nodes held fixed (it needs no further
        evaluation), rescaled after each step by how far it misjudged the curvature along
        that step — the observed change of the exact gradient. Usually the two agree to
        about 1e-3; for large τ with one node (Laplace) the moving nodes can make the true
        curvature hundreds of times smaller, and unscaled steps would crawl.

        The iteration stops when the proposed step is below 1e-12 (relative to 1 + |β|):
        the current β is then within about that distance of β̂(τ), and its evaluation is
        the one reported.
        """
        beta = np.array(start, dtype=float)
        g_eta, g_tau, slope, ll = self._per_study(self.X @ beta, tau)

        def negligible(change: FloatArray) -> bool:
            return float(np.abs(change).max()) <= 1e-12 * (1 + float(np.abs(beta).max()))

        rescale = 1.0
        for _ in range(200):
            grad = self.X.T @ g_eta
            # The fixed-node curvature is ≤ 0 for the exact integral; guard rounding.
            curv = np.minimum(slope, -1e-12)
            info = self.X.T @ (self.X * (-curv)[:, None])
            # (one coefficient: a division; LAPACK's call costs more than an evaluation)
            step = grad / info[0, 0] if info.shape == (1, 1) else np.linalg.solve(info, grad)
            step = step / rescale
            if negligible(step):
                break
            scale = 1.0
            for _ in range(60):
                trial = beta + scale * step
                g_trial, t_trial, s_trial, ll_trial = self._per_study(self.X @ trial, tau)
                if ll_trial >= ll - 1e-12 * (1 + abs(ll)):
                    break
                scale /= 2
            moved = trial - beta
            # curvature along the step: observed (−Δgradient·Δβ) against the fixed-node one
            observed = -float((self.X.T @ g_trial - grad) @ moved)
            predicted = float(moved @ (info @ moved))
            if observed > 0 and predicted > 0:
                rescale = observed / predicted
            beta, g_eta, g_tau, slope, ll = trial, g_trial, t_trial, s_trial, ll_trial
            if np.abs(self.X @ beta).max() > _BETA_BOUND:
                return _ProfilePoint(beta, False, ll, float(g_tau.sum()))
            if negligible(moved):  # backtracking found no ascent: as far as β̂ can be located
                break
        ok = bool(np.abs(self.X @ beta).max() <= _BETA_BOUND)
        return _ProfilePoint(beta, ok, ll, float(g_tau.sum()))

    def beta_hat(self, tau: float, start: FloatArray) -> tuple[FloatArray, bool]:
        """β̂(τ) and whether it is finite (see :meth:`profile`)."""
        point = self.profile(tau, start)
        return point.beta, point.ok

    def profile_slope(self, tau: float, start: FloatArray) -> tuple[float, FloatArray]:
        """dℓₚ/dτ at τ (the total τ-derivative at β̂(τ), by the envelope theorem) and β̂(τ)."""
        point = self.profile(tau, start)
        return point.slope, point.beta


class _ProfilePoint(NamedTuple):
    """The profile likelihood at one τ: β̂(τ), whether it is finite, ℓₚ(τ) and dℓₚ/dτ."""

    beta: FloatArray
    ok: bool
    loglik: float
    slope: float


class _BetaPath:
    """The β̂(τ) found so far, to start the search for β̂ at a new τ.

    The start is interpolated (or extrapolated) linearly from the two known τ nearest to
    the new one: its error is of second order in the distance, so Newton needs fewer steps
    than from the nearest β̂ alone. The result does not depend on the start.
    """

    def __init__(self, tau: float, beta: FloatArray) -> None:
        self.taus = [tau]
        self.betas = [beta]

    def start(self, tau: float) -> FloatArray:
        if len(self.taus) == 1:
            return self.betas[0]
        order = np.argsort(np.abs(np.asarray(self.taus) - tau))
        i, j = int(order[0]), int(order[1])
        t_i, t_j = self.taus[i], self.taus[j]
        if t_i == t_j:
            return self.betas[i]
        return self.betas[i] + (self.betas[j] - self.betas[i]) * ((tau - t_i) / (t_j - t_i))

    def profile(self, quad: _Quadrature, tau: float) -> _ProfilePoint:
        """The profile point at τ, started from the path and added to it."""
        point = quad.profile(tau, self.start(tau))
        if point.ok:
            self.taus.append(tau)
            self.betas.append(point.beta)
        return point


def _saturated_loglik(x: FloatArray, n: FloatArray) -> float:
    p = x / n
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = (
            gammaln(n + 1)
            - gammaln(x + 1)
            - gammaln(n - x + 1)
            + np.where(x > 0, x * np.log(p), 0.0)
            + np.where(x < n, (n - x) * np.log1p(-p), 0.0)
        )
    return float(np.sum(ll))


def glmm_loglik(
    mu: float, tau2: float, events: npt.ArrayLike, n: npt.ArrayLike, nagq: int = 21
) -> float:
    """Marginal log-likelihood of the binomial–normal model (no moderators) by adaptive
    quadrature.

    Examples
    --------
    With τ² = 0 the model is the binomial likelihood at p = expit(μ):

    >>> from scipy import stats
    >>> ll = glmm_loglik(0.0, 0.0, [3], [10])
    >>> bool(np.isclose(ll, stats.binom.logpmf(3, 10, 0.5)))
    True
    """
    x = np.asarray(events, float)
    quad = _Quadrature(x, np.asarray(n, float), np.ones((x.size, 1)), nagq)
    return quad.loglik(np.array([mu]), float(np.sqrt(tau2)))


def fit_glmm(
    events: npt.ArrayLike,
    n: npt.ArrayLike,
    *,
    X: npt.ArrayLike | None = None,
    nagq: int = 21,
    level: float = 0.95,
    tau2_fixed: float | None = None,
) -> GlmmFit:
    """Fit the binomial–normal model by maximum likelihood (adaptive Gauss–Hermite).

    Parameters
    ----------
    events, n
        Validated event counts and totals.
    X
        Optional k × p design matrix (default: intercept only).
    nagq
        Number of quadrature nodes (1 = Laplace approximation; lme4/metafor default 7).
    level
        Level of the profile-likelihood interval for τ².
    tau2_fixed
        Hold τ² at this value and estimate β only (no interval for τ²; the covariance of β̂
        is conditional on τ²).

    Returns
    -------
    GlmmFit

    Examples
    --------
    >>> fit = fit_glmm([2, 8, 15], [20, 25, 30])
    >>> fit.tau2 > 0, fit.converged
    (True, True)
    """
    if int(nagq) != nagq or nagq < 1:
        raise ValueError(f"nagq must be a whole number ≥ 1, got {nagq!r}")
    x = np.asarray(events, dtype=float)
    m = np.asarray(n, dtype=float)
    if X is None:
        return _fit(x, m, np.ones((x.size, 1)), int(nagq), level, tau2_fixed)
    # As metafor's rma.glmm (scaleX): fit with standardised continuous moderators, then
    # map the coefficients back, so that a moderator such as the year (≈ 2000) does not
    # make the intercept enormous and the optimisation ill-conditioned.
    Xd = np.asarray(X, dtype=float)
    shift = np.zeros(Xd.shape[1])
    scale = np.ones(Xd.shape[1])
    for j in range(1, Xd.shape[1]):
        col = Xd[:, j]
        if not np.all(np.isin(col, (0.0, 1.0))):
            shift[j], scale[j] = float(np.mean(col)), float(np.std(col, ddof=1))
    if np.all(shift == 0) and np.all(scale == 1):
        return _fit(x, m, Xd, int(nagq), level, tau2_fixed)
    fit = _fit(x, m, (Xd - shift) / scale, int(nagq), level, tau2_fixed)
    back = np.diag(1 / scale)
    back[0, 1:] = -shift[1:] / scale[1:]
    return replace(
        fit,
        beta=back @ fit.beta,
        vcov=back @ fit.vcov @ back.T,
        beta_common=back @ fit.beta_common,
        vcov_common=back @ fit.vcov_common @ back.T,
    )


def _fit(
    x: FloatArray,
    m: FloatArray,
    Xd: FloatArray,
    nagq: int,
    level: float,
    tau2_fixed: float | None,
) -> GlmmFit:
    p = Xd.shape[1]
    quad = _Quadrature(x, m, Xd, int(nagq))
    total_x, total_n = float(x.sum()), float(m.sum())
    ll_sat = _saturated_loglik(x, m)
    notes: list[str] = []

    if total_x == 0 or total_x == total_n:
        which = "all-zero" if total_x == 0 else "all-full"
        bound = -np.inf if total_x == 0 else np.inf
        notes.append(
            f"every study has {'0' if total_x == 0 else 'n'} events: the maximum-likelihood "
            f"proportion is {'0' if total_x == 0 else '1'} (logit {bound}), τ² is not "
            "identifiable and is reported as 0; the confidence interval is the "
            "Clopper–Pearson interval of the pooled counts"
        )
        beta = np.full(p, np.nan)
        beta[0] = bound
        inf = np.full((p, p), np.inf)
        return GlmmFit(
            beta,
            inf,
            0.0,
            (np.nan, np.nan),
            ll_sat,
            ll_sat,
            ll_sat,
            beta.copy(),
            inf.copy(),
            int(nagq),
            0,
            True,
            which,
            tuple(notes),
        )

    p_pool = total_x / total_n
    start = np.linalg.lstsq(Xd, np.full(x.size, np.log(p_pool / (1 - p_pool))), rcond=None)[0]
    common = quad.profile(0.0, start)
    beta_fe, ok_fe, ll_common = common.beta, common.ok, common.loglik
    npq = m * expit(Xd @ beta_fe) * (1 - expit(Xd @ beta_fe))
    vcov_fe = np.linalg.inv(Xd.T @ (Xd * npq[:, None]))
    if not ok_fe:
        notes.append(
            "a moderator level has all its studies at 0 or at n events (separation): its "
            "coefficient is unbounded and the model cannot be estimated as specified"
        )
        nan = np.full(p, np.nan)
        nanm = np.full((p, p), np.nan)
        return GlmmFit(
            nan,
            nanm,
            math.nan,
            (np.nan, np.nan),
            math.nan,
            ll_common,
            ll_sat,
            beta_fe,
            vcov_fe,
            int(nagq),
            0,
            False,
            "separation",
            tuple(notes),
        )

    if tau2_fixed is not None:
        tau = math.sqrt(tau2_fixed)
        fixed = quad.profile(tau, beta_fe)
        beta, ok = fixed.beta, fixed.ok
        info = -quad.hessian(beta, tau)[:p, :p]
        vcov = np.linalg.inv(info) if tau > 0 else vcov_fe
        return GlmmFit(
            beta,
            np.asarray(vcov, dtype=float),
            float(tau2_fixed),
            (np.nan, np.nan),
            fixed.loglik,
            ll_common,
            ll_sat,
            beta_fe,
            vcov_fe,
            int(nagq),
            0,
            ok,
            None if ok else "separation",
            tuple(notes),
        )
    tau, at_tau, iterations, converged, boundary = _locate_tau(quad, common, notes)
    beta, ll_hat = at_tau.beta, at_tau.loglik
    if converged and tau > _TAU_LARGE:
        notes.append(
            f"τ̂ = {tau:.3g} on the logit scale: studies at or near 0% and 100% drive an extreme "
            "heterogeneity estimate on a nearly flat likelihood; it changes with the number of "
            "quadrature nodes (compare nagq=7 and nagq=21)"
        )
    if tau > 0:
        info = -quad.hessian(beta, tau)
        try:
            cov = np.linalg.inv(info)
            ok = bool(np.all(np.linalg.eigvalsh(info) > 0))
        except np.linalg.LinAlgError:
            ok = False
        if ok:
            vcov = cov[:p, :p]
        else:
            vcov = np.linalg.inv(info[:p, :p])
            notes.append(
                "the observed information in (β, τ) is not positive definite; the covariance "
                "of β̂ ignores the uncertainty in τ"
            )
    else:
        # At τ = 0 the likelihood is even in τ, so the information is block-diagonal.
        vcov = vcov_fe
    tau2_ci = (
        _profile_ci_tau2(quad, tau, beta, ll_hat, level, notes) if converged else (np.nan, np.nan)
    )
    return GlmmFit(
        beta,
        np.asarray(vcov, dtype=float),
        tau**2,
        tau2_ci,
        ll_hat,
        ll_common,
        ll_sat,
        beta_fe,
        vcov_fe,
        int(nagq),
        iterations,
        converged,
        boundary,
        tuple(notes),
    )


def _locate_tau(
    quad: _Quadrature, common: _ProfilePoint, notes: list[str]
) -> tuple[float, _ProfilePoint, int, bool, str | None]:
    """Maximise the profile likelihood in τ ≥ 0 (``common``: the profile point at τ = 0).

    The profile slope dℓₚ/dτ vanishes at τ = 0 (ℓ is even in τ); the sign of the slope
    just above 0 decides between the boundary and an interior maximum, which is then
    bracketed geometrically and refined by Brent's method on the slope.
    """
    evaluations = 0
    tau0 = 1e-3
    near_zero = quad.profile(tau0, common.beta)
    evaluations += 1
    if near_zero.slope <= 0:
        notes.append("no extra-binomial variation: τ² is estimated at its boundary, 0")
        return 0.0, common, evaluations, True, "tau2=0"
    lo, hi = tau0, 0.5
    beta_lo, slope_lo = near_zero.beta, near_zero.slope
    at_hi = quad.profile(hi, beta_lo)
    evaluations += 1
    while at_hi.slope > 0:
        if hi >= _TAU_MAX:
            notes.append(
                "the likelihood keeps increasing with τ (e.g. only 0% and 100% studies): "
                f"τ is stopped at {_TAU_MAX:g} on the logit scale and the estimates are "
                "not interpretable"
            )
            return _TAU_MAX, at_hi, evaluations, False, "tau-unbounded"
        lo, beta_lo, slope_lo = hi, at_hi.beta, at_hi.slope
        hi = min(2 * hi, _TAU_MAX)
        at_hi = quad.profile(hi, beta_lo)
        evaluations += 1
    path = _BetaPath(lo, beta_lo)
    path.taus.append(hi)
    path.betas.append(at_hi.beta)

    known = {lo: slope_lo, hi: at_hi.slope}  # brentq starts by evaluating the bracket ends

    def slope(t: float) -> float:
        return known[t] if t in known else path.profile(quad, t).slope

    tau, info = brentq(slope, lo, hi, xtol=1e-13, rtol=1e-13, maxiter=500, full_output=True)
    evaluations += int(info.function_calls)
    tau = float(tau)
    at_tau = quad.profile(tau, path.start(tau))
    if at_tau.loglik < common.loglik:
        notes.append("the likelihood is highest at τ² = 0")
        return 0.0, common, evaluations, True, "tau2=0"
    return tau, at_tau, evaluations, bool(info.converged), None


def _profile_ci_tau2(
    quad: _Quadrature,
    tau_hat: float,
    beta_hat: FloatArray,
    ll_hat: float,
    level: float,
    notes: list[str],
) -> tuple[float, float]:
    """Profile-likelihood interval for τ²: where 2(ℓ̂ − ℓₚ(τ)) = χ²₁ quantile.

    Each bound is the crossing nearest to τ̂: the search walks outwards on a grid and
    refines the first sign change (far from τ̂ the likelihood of extreme data can be flat
    to within quadrature error, and a crossing there would be spurious). The refinement
    uses the profile slope dℓₚ/dτ, which each evaluation yields with ℓₚ, for Newton steps
    inside the bracket.
    """
    drop = chi2_ppf(level, 1) / 2
    xtol = 1e-12 * max(1.0, tau_hat)
    path = _BetaPath(tau_hat, beta_hat)

    def excess(t: float) -> tuple[float, float]:
        """ℓₚ(t) − (ℓ̂ − drop) and its derivative in t."""
        point = path.profile(quad, t)
        return point.loglik - (ll_hat - drop), point.slope

    lo = 0.0
    if tau_hat > 0:
        inner, f_inner = tau_hat, (drop, 0.0)  # ℓₚ is flat at its maximum
        for frac in (0.8, 0.6, 0.4, 0.2, 0.0):
            outer = tau_hat * frac
            f_outer = excess(outer)
            if f_outer[0] < 0:
                lo = _newton_in_bracket(excess, outer, inner, f_outer, f_inner, xtol)
                break
            inner, f_inner = outer, f_outer
    inner, f_inner = tau_hat, (drop, 0.0)
    outer = max(1.25 * tau_hat, 0.1)
    f_outer = excess(outer)
    while f_outer[0] > 0:
        inner, f_inner = outer, f_outer
        outer = 1.25 * outer
        if outer > 2 * _TAU_MAX:
            notes.append(
                "the likelihood does not fall enough as τ grows: the data do not bound τ² "
                "from above (profile-likelihood upper limit ∞)"
            )
            return lo**2, np.inf
        f_outer = excess(outer)
    hi = _newton_in_bracket(excess, inner, outer, f_inner, f_outer, xtol)
    return lo**2, hi**2


def _hermite_root(a: float, fa: tuple[float, float], b: float, fb: tuple[float, float]) -> float:
    """A zero in (a, b) of the cubic that matches f and f′ at a and b (f(a), f(b) of
    opposite signs), by bisection on the cubic: a start for Newton steps on f itself that is
    much closer to its root than the chord's zero."""
    h = b - a

    def cubic(u: float) -> float:
        u2, u3 = u * u, u * u * u
        return (
            (2 * u3 - 3 * u2 + 1) * fa[0]
            + (u3 - 2 * u2 + u) * h * fa[1]
            + (3 * u2 - 2 * u3) * fb[0]
            + (u3 - u2) * h * fb[1]
        )

    lo, hi = 0.0, 1.0
    negative_at_lo = fa[0] < 0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if (cubic(mid) < 0) == negative_at_lo:
            lo = mid
        else:
            hi = mid
    return a + 0.5 * (lo + hi) * h


def _newton_in_bracket(
    f: Callable[[float], tuple[float, float]],
    a: float,
    b: float,
    f_a: tuple[float, float],
    f_b: tuple[float, float],
    xtol: float,
) -> float:
    """The root of f in the bracket [a, b] (f returns its value and derivative; the values
    at a and b, given, have opposite signs): Newton steps, started at the zero of the
    cubic through both ends (:func:`_hermite_root`), with bisection whenever a step would
    leave the shrinking bracket ("rtsafe"). Quadratic convergence near the root; never
    worse than bisection."""
    fa, fb = f_a[0], f_b[0]
    if fa == 0:
        return a
    if fb == 0:
        return b
    x = _hermite_root(a, f_a, b, f_b)
    for _ in range(200):
        fx, dfx = f(x)
        if fx == 0:
            return x
        if (fx < 0) == (fa < 0):
            a, fa = x, fx
        else:
            b = x
        step = fx / dfx if dfx != 0 else math.inf
        new = x - step
        if not min(a, b) < new < max(a, b):
            new = 0.5 * (a + b)
        if abs(new - x) <= xtol:
            return new
        x = new
    return x
