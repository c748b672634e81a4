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
from dataclasses import dataclass, field, replace

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


def _logsumexp_rows(a: FloatArray) -> FloatArray:
    """log Σⱼ exp(aᵢⱼ) per row (plain numpy: scipy's version costs more than the sum here)."""
    top = np.max(a, axis=1, keepdims=True)
    return np.asarray(top[:, 0] + np.log(np.sum(np.exp(a - top), axis=1)), dtype=float)


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
        # ∫ e^{g(z)} dz ≈ √2 σ̂ Σⱼ wⱼ e^{tⱼ²} e^{g(zⱼ)}
        self.logw = (np.log(w) + t**2)[None, :]
        self.logc = (gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1))[:, None]
        # Last modes found: successive evaluations are at nearby (β, τ), so they are a good
        # start; the result does not depend on the start (the search is bracketed).
        self._z_start = np.zeros_like(x)

    # -- per-study pieces, as functions of the linear predictor η = Xβ ---------------------
    def modes(self, eta: FloatArray, tau: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Mode ẑᵢ, scale σ̂ᵢ and expit(ηᵢ + τẑᵢ) of each study's integrand.

        gᵢ'(z) = τ(xᵢ − nᵢ p) − z is decreasing with its root in [τ(xᵢ − nᵢ), τxᵢ]; Newton
        steps that leave the shrinking bracket are replaced by bisection (plain Newton
        diverges on the flat logistic tails).
        """
        x, n = self.xv, self.nv
        lo = tau * (x - n) - 1e-12
        hi = tau * x + 1e-12
        z = self._start(eta, tau, lo, hi)
        for _ in range(200):
            p = expit(eta + tau * z)
            grad = tau * (x - n * p) - z
            lo = np.where(grad > 0, z, lo)
            hi = np.where(grad < 0, z, hi)
            newton = z + grad / (tau**2 * n * p * (1 - p) + 1)
            # Non-strict bounds: a converged step lands on the bracket edge by rounding.
            inside = (newton >= lo) & (newton <= hi)
            z_new = np.where(inside, newton, 0.5 * (lo + hi))
            change = float(np.max(np.abs(z_new - z)))
            z = z_new
            if change <= 1e-13 * (1 + float(np.max(np.abs(z)))):
                break
        self._z_start = z
        p = expit(eta + tau * z)
        sigma = 1 / np.sqrt(1 + tau**2 * n * p * (1 - p))
        return z, sigma, p

    def _start(self, eta: FloatArray, tau: float, lo: FloatArray, hi: FloatArray) -> FloatArray:
        """Per study, the better of the previous mode and the z at which p = (x+½)/(n+1).

        For large τ the mode sits where the study's fitted proportion is near its observed
        one, far from a warm start made at another τ; for small τ it sits near 0.
        """
        x, n = self.xv, self.nv
        warm = np.clip(self._z_start, lo, hi)
        if tau == 0:
            return warm
        p_obs = (x + 0.5) / (n + 1)
        near = np.clip((np.log(p_obs / (1 - p_obs)) - eta) / tau, lo, hi)

        def score(z: FloatArray) -> FloatArray:
            return np.asarray(np.abs(tau * (x - n * expit(eta + tau * z)) - z), dtype=float)

        return np.where(score(near) < score(warm), near, warm)

    def _terms(
        self, eta: FloatArray, tau: float
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        zhat, sigma, phat = self.modes(eta, tau)
        z = zhat[:, None] + np.sqrt(2) * sigma[:, None] * self.t
        lin = eta[:, None] + tau * z
        g = (
            self.logc
            + self.x * lin
            - self.n * np.logaddexp(0, lin)
            - 0.5 * z**2
            - 0.5 * np.log(2 * np.pi)
        )
        a = self.logw + g
        log_li = np.log(np.sqrt(2) * sigma) + _logsumexp_rows(a)
        return zhat, sigma, phat, z, a, log_li

    def _per_study(
        self, eta: FloatArray, tau: float
    ) -> tuple[FloatArray, FloatArray, FloatArray, float]:
        """Per study: ∂ log L̃ᵢ/∂ηᵢ, ∂ log L̃ᵢ/∂τ (exact, including node movement), an
        approximate ∂²/∂ηᵢ² (nodes fixed) used only to propose Newton steps; and log L̃."""
        zhat, sigma, phat, z, a, log_li = self._terms(eta, tau)
        pi = np.exp(a - (log_li - np.log(np.sqrt(2) * sigma))[:, None])
        p = expit(eta[:, None] + tau * z)
        r = self.x - self.n * p
        gprime = tau * r - z
        # direct derivatives with nodes held fixed
        direct_eta = np.sum(pi * r, axis=1)
        direct_tau = np.sum(pi * r * z, axis=1)
        # derivatives with respect to the node centre and scale
        d_zhat = np.sum(pi * gprime, axis=1)
        d_sigma = 1 / sigma + np.sum(pi * gprime * np.sqrt(2) * self.t, axis=1)
        # implicit derivatives of ẑ (root of g') and σ̂ = (τ² n p q + 1)^(−½)
        x, n = self.xv, self.nv
        npq = n * phat * (1 - phat)
        rhat = x - n * phat
        dz_eta = sigma**2 * (-tau * npq)
        dz_tau = sigma**2 * (rhat - tau * npq * zhat)
        skew = tau**2 * npq * (1 - 2 * phat)
        ds_eta = -0.5 * sigma**3 * skew * (1 + tau * dz_eta)
        ds_tau = -0.5 * sigma**3 * (2 * tau * npq + skew * (zhat + tau * dz_tau))
        g_eta = direct_eta + d_zhat * dz_eta + d_sigma * ds_eta
        g_tau = direct_tau + d_zhat * dz_tau + d_sigma * ds_tau
        var_r = np.sum(pi * r**2, axis=1) - direct_eta**2
        slope = var_r - np.sum(pi * self.n * p * (1 - p), axis=1)
        return g_eta, g_tau, slope, float(np.sum(log_li))

    # -- functions of (β, τ) ----------------------------------------------------------
    def loglik(self, beta: FloatArray, tau: float) -> float:
        """log L̃(β, τ) = Σᵢ log L̃ᵢ."""
        return float(np.sum(self._terms(self.X @ beta, tau)[5]))

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

    def beta_hat(self, tau: float, start: FloatArray) -> tuple[FloatArray, bool]:
        """β̂(τ) by Newton steps with backtracking; False if it runs off to infinity
        (separation: some level's studies all at 0 or all at n events)."""
        beta = np.array(start, dtype=float)
        g_eta, _, slope, ll = self._per_study(self.X @ beta, tau)
        for _ in range(200):
            grad = self.X.T @ g_eta
            # The fixed-node curvature is ≤ 0 for the exact integral; guard rounding.
            curv = np.minimum(slope, -1e-12)
            info = self.X.T @ (self.X * (-curv)[:, None])
            step = np.linalg.solve(info, grad)
            scale = 1.0
            for _ in range(60):
                trial = beta + scale * step
                g_trial, _, s_trial, ll_trial = self._per_study(self.X @ trial, tau)
                if ll_trial >= ll - 1e-12 * (1 + abs(ll)):
                    break
                scale /= 2
            moved = float(np.max(np.abs(trial - beta)))
            beta, g_eta, slope, ll = trial, g_trial, s_trial, ll_trial
            if np.max(np.abs(self.X @ beta)) > _BETA_BOUND:
                return beta, False
            if moved <= 1e-12 * (1 + float(np.max(np.abs(beta)))):
                break
        return beta, bool(np.max(np.abs(self.X @ beta)) <= _BETA_BOUND)

    def profile_slope(self, tau: float, start: FloatArray) -> tuple[float, FloatArray]:
        """dℓₚ/dτ at τ (the total τ-derivative at β̂(τ), by the envelope theorem) and β̂(τ)."""
        beta, _ = self.beta_hat(tau, start)
        _, g_tau, _, _ = self._per_study(self.X @ beta, tau)
        return float(np.sum(g_tau)), beta


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

    >>>     >>> ll = glmm_loglik(0.0, 0.0, [3], [10])
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
    beta_fe, ok_fe = quad.beta_hat(0.0, start)
    ll_common = quad.loglik(beta_fe, 0.0)
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
        beta, ok = quad.beta_hat(tau, beta_fe)
        info = -quad.hessian(beta, tau)[:p, :p]
        vcov = np.linalg.inv(info) if tau > 0 else vcov_fe
        return GlmmFit(
            beta,
            np.asarray(vcov, dtype=float),
            float(tau2_fixed),
            (np.nan, np.nan),
            quad.loglik(beta, tau),
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
    tau, beta, iterations, converged, boundary = _locate_tau(quad, beta_fe, notes)
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
    ll_hat = quad.loglik(beta, tau)
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
    quad: _Quadrature, beta_fe: FloatArray, notes: list[str]
) -> tuple[float, FloatArray, int, bool, str | None]:
    """Maximise the profile likelihood in τ ≥ 0.

    The profile slope dℓₚ/dτ vanishes at τ = 0 (ℓ is even in τ); the sign of the slope
    just above 0 decides between the boundary and an interior maximum, which is then
    bracketed geometrically and refined by Brent's method on the slope.
    """
    evaluations = 0
    tau0 = 1e-3
    slope0, beta0 = quad.profile_slope(tau0, beta_fe)
    evaluations += 1
    ll_zero = quad.loglik(beta_fe, 0.0)
    if slope0 <= 0:
        notes.append("no extra-binomial variation: τ² is estimated at its boundary, 0")
        return 0.0, beta_fe, evaluations, True, "tau2=0"
    lo, hi = tau0, 0.5
    beta_lo = beta0
    slope_hi, beta_hi = quad.profile_slope(hi, beta0)
    evaluations += 1
    while slope_hi > 0:
        if hi >= _TAU_MAX:
            notes.append(
                "the likelihood keeps increasing with τ (e.g. only 0% and 100% studies): "
                f"τ is stopped at {_TAU_MAX:g} on the logit scale and the estimates are "
                "not interpretable"
            )
            return _TAU_MAX, beta_hi, evaluations, False, "tau-unbounded"
        lo, beta_lo = hi, beta_hi
        hi = min(2 * hi, _TAU_MAX)
        slope_hi, beta_hi = quad.profile_slope(hi, beta_lo)
        evaluations += 1
    warm = [beta_lo]

    def slope(t: float) -> float:
        s, warm[0] = quad.profile_slope(t, warm[0])
        return s

    tau, info = brentq(slope, lo, hi, xtol=1e-13, rtol=1e-13, maxiter=500, full_output=True)
    evaluations += int(info.function_calls)
    tau = float(tau)
    beta, _ = quad.beta_hat(tau, warm[0])
    if quad.loglik(beta, tau) < ll_zero:
        notes.append("the likelihood is highest at τ² = 0")
        return 0.0, beta_fe, evaluations, True, "tau2=0"
    return tau, beta, evaluations, bool(info.converged), None


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
    to within quadrature error, and a crossing there would be spurious).
    """
    drop = chi2_ppf(level, 1) / 2
    warm = [beta_hat]

    def excess(t: float) -> float:
        warm[0], _ = quad.beta_hat(t, warm[0])
        return quad.loglik(warm[0], t) - (ll_hat - drop)

    lo = 0.0
    if tau_hat > 0:
        inner = tau_hat
        for frac in (0.8, 0.6, 0.4, 0.2, 0.0):
            outer = tau_hat * frac
            if excess(outer) < 0:
                lo = float(brentq(excess, outer, inner, xtol=1e-12 * max(1.0, tau_hat)))
                break
            inner = outer
    warm[0] = beta_hat
    inner = tau_hat
    outer = max(1.25 * tau_hat, 0.1)
    while excess(outer) > 0:
        inner, outer = outer, 1.25 * outer
        if outer > 2 * _TAU_MAX:
            notes.append(
                "the likelihood does not fall enough as τ grows: the data do not bound τ² "
                "from above (profile-likelihood upper limit ∞)"
            )
            return lo**2, np.inf
    hi = float(brentq(excess, inner, outer, xtol=1e-12 * max(1.0, tau_hat)))
    return lo**2, hi**2
