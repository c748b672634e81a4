"""The binomial–normal (random-intercept logistic) model, fitted by maximum likelihood.

Model: xᵢ ~ Binomial(nᵢ, expit(μ + τ zᵢ)), zᵢ ~ N(0, 1), as metafor's
``rma.glmm(measure="PLO", method="ML")`` (lme4's ``glmer`` with ``nAGQ`` nodes).

Each study's marginal likelihood ∫ Bin(xᵢ | nᵢ, expit(μ + τz)) φ(z) dz is computed by
adaptive Gauss–Hermite quadrature over the exact binomial likelihood: the nodes are
centred at the mode ẑᵢ of the integrand and scaled by its curvature, σ̂ᵢ = (1 + τ² nᵢ p̂ᵢ(1−p̂ᵢ))^(−½),
which is what lme4 does (one node is the Laplace approximation). Computation is
vectorised over studies × nodes.

Estimation profiles μ out: for fixed τ the log-likelihood is concave in μ, so μ̂(τ) is
found by safeguarded Newton steps. τ̂ is the root of the profile score in τ² (the score
at τ² = 0 is the classic test of extra-binomial variation; if it is ≤ 0, τ̂² = 0). The
standard error of μ̂ is taken from the inverse of the full observed information in
(μ, τ) — the Hessian-based covariance lme4 reports for ``glmer`` fits.

Boundary cases never raise:

* τ̂² = 0 (no extra-binomial variation): reported with a note; SE from the common-effect
  information.
* all studies at 0 events (or all at n events): the maximum-likelihood estimate is the
  boundary proportion 0 (or 1), τ² is not identifiable; the result says so and gives the
  Clopper–Pearson interval of the pooled counts.
* likelihood increasing without bound in τ (e.g. only 0% and 100% studies): τ is
  stopped at a large value, flagged as not converged, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats
from scipy.optimize import brentq
from scipy.special import expit, gammaln, logsumexp

__all__ = ["GlmmFit", "fit_glmm", "glmm_loglik"]

FloatArray = npt.NDArray[np.float64]

# τ on the logit scale beyond which the data carry no information about the mean: a
# between-study SD of 15 logits spans proportions from 1e-13 to 1 - 1e-13 within ±2 SD.
_TAU_MAX = 15.0
_MU_BOUND = 40.0


@dataclass(frozen=True)
class GlmmFit:
    """A fitted binomial–normal model (model scale: logit).

    Attributes
    ----------
    mu, se
        Estimate of the mean logit and its standard error (±inf and inf at the boundary).
    tau2
        Between-study variance on the logit scale.
    tau2_ci
        Profile-likelihood confidence interval for τ² (NaN if undefined).
    loglik
        Maximised marginal log-likelihood (with binomial coefficients).
    loglik_common, loglik_saturated
        Log-likelihoods of the common-effect (τ = 0) and saturated binomial models.
    mu_common, se_common
        Common-effect (fixed-effect logistic) estimate logit(Σx/Σn) and its SE.
    nagq
        Number of quadrature nodes.
    iterations
        Profile-score evaluations used to locate τ̂.
    converged
        False if τ̂ could not be located (likelihood unbounded in τ).
    boundary
        ``None``, ``"tau2=0"``, ``"all-zero"``, ``"all-full"`` or ``"tau-unbounded"``.
    notes
        Plain-language notes on anything unusual.
    """

    mu: float
    se: float
    tau2: float
    tau2_ci: tuple[float, float]
    loglik: float
    loglik_common: float
    loglik_saturated: float
    mu_common: float
    se_common: float
    nagq: int
    iterations: int
    converged: bool
    boundary: str | None
    notes: tuple[str, ...]


class _Quadrature:
    """Adaptive Gauss–Hermite quadrature of the binomial–normal marginal likelihood."""

    def __init__(self, x: FloatArray, n: FloatArray, nagq: int) -> None:
        self.x = x[:, None]
        self.n = n[:, None]
        t, w = np.polynomial.hermite.hermgauss(nagq)
        # ∫ f(z) φ(z) dz with nodes z = ẑ + √2 σ̂ t: weight √2 σ̂ w e^{t²} φ(z) f(z).
        self.t = t[None, :]
        self.logw = (np.log(w) + t**2)[None, :]
        self.logc = (gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1))[:, None]

    def _modes(self, mu: float, tau: float) -> tuple[FloatArray, FloatArray]:
        """Mode ẑᵢ and scale σ̂ᵢ of each study's integrand (Newton; the integrand is log-concave)."""
        x = self.x[:, 0]
        n = self.n[:, 0]
        z = np.zeros_like(x)
        for _ in range(100):
            p = expit(mu + tau * z)
            grad = tau * (x - n * p) - z
            hess = -(tau**2) * n * p * (1 - p) - 1
            step = grad / hess
            z = z - step
            if np.max(np.abs(step)) < 1e-13:
                break
        p = expit(mu + tau * z)
        sigma = 1 / np.sqrt(1 + tau**2 * n * p * (1 - p))
        return z, sigma

    def nodes(self, mu: float, tau: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Nodes z (k × q), their log weights incl. the integrand, and log Lᵢ."""
        zhat, sigma = self._modes(mu, tau)
        z = zhat[:, None] + np.sqrt(2) * sigma[:, None] * self.t
        eta = mu + tau * z
        # log Bin(x | n, expit(eta)) = logc + x eta − n log(1 + e^eta), computed stably.
        loglik_bin = self.logc + self.x * eta - self.n * np.logaddexp(0, eta)
        logterm = self.logw + loglik_bin - 0.5 * z**2 - 0.5 * np.log(2 * np.pi)
        logterm = logterm + np.log(np.sqrt(2) * sigma)[:, None]
        log_li = logsumexp(logterm, axis=1)
        return z, logterm - log_li[:, None], log_li

    def loglik(self, mu: float, tau: float) -> float:
        return float(np.sum(self.nodes(mu, tau)[2]))

    def derivatives(self, mu: float, tau: float) -> tuple[FloatArray, FloatArray]:
        """Gradient and Hessian of the log-likelihood in (μ, τ) (nodes held at their centres)."""
        z, logw, _ = self.nodes(mu, tau)
        w = np.exp(logw)
        p = expit(mu + tau * z)
        r = self.x - self.n * p
        npq = self.n * p * (1 - p)
        g = np.stack([r, r * z])  # d log f / d(μ, τ) at each node
        e_g = np.sum(w[None] * g, axis=2)  # 2 × k
        e_gg = np.einsum("ikq,jkq,kq->ijk", g, g, w)
        d2 = np.stack([np.stack([-npq, -npq * z]), np.stack([-npq * z, -npq * z**2])])
        e_d2 = np.sum(w[None, None] * d2, axis=3)
        hess_k = e_d2 + e_gg - np.einsum("ik,jk->ijk", e_g, e_g)
        return e_g.sum(axis=1), hess_k.sum(axis=2)

    def mu_hat(self, tau: float, start: float) -> float:
        """μ̂(τ): root of the μ-score by Newton steps kept inside a sign-change bracket."""
        lo, hi = -_MU_BOUND, _MU_BOUND
        mu = float(np.clip(start, lo + 1, hi - 1))
        for _ in range(200):
            grad, hess = self.derivatives(mu, tau)
            s, h = float(grad[0]), float(hess[0, 0])
            if s > 0:
                lo = mu
            else:
                hi = mu
            new = mu - s / h if h < 0 else 0.5 * (lo + hi)
            if not lo < new < hi:
                new = 0.5 * (lo + hi)
            if abs(new - mu) < 1e-13 * max(1.0, abs(mu)) or hi - lo < 1e-14:
                return new
            mu = new
        return mu

    def profile_score(self, tau: float, start: float) -> tuple[float, float]:
        """Profile score in τ² (sign only matters) and μ̂(τ)."""
        mu = self.mu_hat(tau, start)
        grad, _ = self.derivatives(mu, tau)
        return float(grad[1]) / tau, mu


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


def _common_loglik(x: FloatArray, n: FloatArray, p: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = (
            gammaln(n + 1)
            - gammaln(x + 1)
            - gammaln(n - x + 1)
            + (x * np.log(p) if p > 0 else np.where(x > 0, -np.inf, 0.0))
            + ((n - x) * np.log1p(-p) if p < 1 else np.where(x < n, -np.inf, 0.0))
        )
    return float(np.sum(ll))


def glmm_loglik(
    mu: float, tau2: float, events: npt.ArrayLike, n: npt.ArrayLike, nagq: int = 21
) -> float:
    """Marginal log-likelihood of the binomial–normal model by adaptive quadrature.

    Examples
    --------
    With τ² = 0 the model is the binomial likelihood at p = expit(μ):

    >>> from scipy import stats
    >>> ll = glmm_loglik(0.0, 0.0, [3], [10])
    >>> bool(np.isclose(ll, stats.binom.logpmf(3, 10, 0.5)))
    True
    """
    quad = _Quadrature(np.asarray(events, float), np.asarray(n, float), nagq)
    return quad.loglik(mu, float(np.sqrt(tau2)))


def fit_glmm(
    events: npt.ArrayLike, n: npt.ArrayLike, *, nagq: int = 21, level: float = 0.95
) -> GlmmFit:
    """Fit the binomial–normal model by maximum likelihood (adaptive Gauss–Hermite).

    Parameters
    ----------
    events, n
        Validated event counts and totals.
    nagq
        Number of quadrature nodes (1 = Laplace approximation; lme4/metafor default 7).
    level
        Level of the profile-likelihood interval for τ².

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
    quad = _Quadrature(x, m, int(nagq))
    total_x, total_n = float(x.sum()), float(m.sum())
    p_pool = total_x / total_n
    ll_sat = _saturated_loglik(x, m)
    ll_common = _common_loglik(x, m, p_pool)
    notes: list[str] = []

    if total_x == 0 or total_x == total_n:
        which = "all-zero" if total_x == 0 else "all-full"
        mu = -np.inf if total_x == 0 else np.inf
        notes.append(
            f"every study has {'0' if total_x == 0 else 'n'} events: the maximum-likelihood "
            f"proportion is {'0' if total_x == 0 else '1'} (logit {mu}), τ² is not "
            "identifiable and is reported as 0; the confidence interval is the "
            "Clopper–Pearson interval of the pooled counts"
        )
        return GlmmFit(
            mu,
            np.inf,
            0.0,
            (np.nan, np.nan),
            ll_common,
            ll_common,
            ll_sat,
            mu,
            np.inf,
            int(nagq),
            0,
            True,
            which,
            tuple(notes),
        )

    mu_fe = float(np.log(p_pool / (1 - p_pool)))
    se_fe = float(1 / np.sqrt(total_n * p_pool * (1 - p_pool)))
    # Score for τ² at 0: ½ Σ [(x − n p)² − n p (1 − p)] (overdispersion score).
    score0 = 0.5 * float(np.sum((x - m * p_pool) ** 2 - m * p_pool * (1 - p_pool)))
    iterations = 0
    converged = True
    boundary: str | None = None
    tau = 0.0
    mu = mu_fe
    if score0 <= 0:
        boundary = "tau2=0"
        notes.append("no extra-binomial variation: τ² is estimated at its boundary, 0")
    else:
        # Scan a geometric grid for sign changes of the profile score, then refine each.
        grid = np.geomspace(1e-4, _TAU_MAX, 40)
        scores = []
        mus = []
        start = mu_fe
        for t in grid:
            s, start = quad.profile_score(float(t), start)
            scores.append(s)
            mus.append(start)
            iterations += 1
        scores_a = np.asarray(scores)
        candidates: list[tuple[float, float]] = []
        for i in np.flatnonzero((scores_a[:-1] > 0) & (scores_a[1:] <= 0)):
            counter = [0]

            def f(t: float, i: int = int(i), counter: list[int] = counter) -> float:
                counter[0] += 1
                return quad.profile_score(t, mus[i])[0]

            root = float(brentq(f, grid[i], grid[i + 1], xtol=1e-14, rtol=1e-13, maxiter=500))
            iterations += counter[0]
            candidates.append((root, quad.mu_hat(root, mus[i])))
        if scores_a[0] <= 0 and not candidates:
            # The score at 0 is positive but turns negative before the first grid point.
            root = float(
                brentq(
                    lambda t: quad.profile_score(t, mu_fe)[0],
                    1e-12,
                    grid[0],
                    xtol=1e-16,
                    rtol=1e-13,
                )
            )
            candidates.append((root, quad.mu_hat(root, mu_fe)))
        if candidates:
            best = max(candidates, key=lambda c: quad.loglik(c[1], c[0]))
            tau, mu = best
            if quad.loglik(mu, tau) < quad.loglik(mu_fe, 0.0):
                tau, mu = 0.0, mu_fe
                boundary = "tau2=0"
                notes.append("the likelihood is highest at τ² = 0")
        else:
            tau, mu = float(grid[-1]), float(mus[-1])
            converged = False
            boundary = "tau-unbounded"
            notes.append(
                "the likelihood keeps increasing with τ (e.g. only 0% and 100% studies): "
                f"τ is stopped at {_TAU_MAX:g} on the logit scale and the estimates are "
                "not interpretable"
            )

    _, hess = quad.derivatives(mu, tau)
    info = -hess
    if tau > 0 and np.linalg.det(info) > 0:
        se = float(np.sqrt(np.linalg.inv(info)[0, 0]))
    else:
        se = float(1 / np.sqrt(info[0, 0]))
    ll_hat = quad.loglik(mu, tau)
    tau2_ci = _profile_ci_tau2(quad, tau, mu, ll_hat, level) if converged else (np.nan, np.nan)
    return GlmmFit(
        mu,
        se,
        tau**2,
        tau2_ci,
        ll_hat,
        ll_common,
        ll_sat,
        mu_fe,
        se_fe,
        int(nagq),
        iterations,
        converged,
        boundary,
        tuple(notes),
    )


def _profile_ci_tau2(
    quad: _Quadrature, tau_hat: float, mu_hat: float, ll_hat: float, level: float
) -> tuple[float, float]:
    """Profile-likelihood interval for τ²: where 2(ℓ̂ − ℓₚ(τ)) = χ²₁ quantile."""
    drop = float(stats.chi2.ppf(level, 1)) / 2

    def excess(t: float) -> float:
        return quad.loglik(quad.mu_hat(t, mu_hat), t) - (ll_hat - drop)

    lo = 0.0
    if tau_hat > 0 and excess(0.0) < 0:
        lo = float(brentq(excess, 0.0, tau_hat, xtol=1e-12))
    hi_end = max(2 * tau_hat, 0.1)
    while excess(hi_end) > 0:
        hi_end *= 2
        if hi_end > 4 * _TAU_MAX:
            return lo**2, np.inf
    hi = float(brentq(excess, tau_hat, hi_end, xtol=1e-12))
    return lo**2, hi**2
