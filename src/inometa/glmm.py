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
and Hessian include how the node centres ẑᵢ and scales σ̂ᵢ move with (μ, τ) (implicit
differentiation, exact). β is profiled out — for fixed τ the likelihood is concave in β,
so β̂(τ) is found by Newton steps with backtracking — and τ̂ is the root of the profile
slope dℓₚ/dτ, found by safeguarded Newton steps with the exact profile curvature. If the
slope just above τ = 0 is ≤ 0, τ̂² = 0. The covariance of β̂ comes from the inverse of
the observed information in (β, τ) (the exact Hessian) — the Hessian-based covariance
lme4 reports for ``glmer`` fits. The τ² interval is a profile-likelihood interval, each
bound the crossing nearest to τ̂.

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

import functools
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.special import expit, gammaln, xlog1py, xlogy

from ._distributions import chi2_ppf
from .tau2 import estimate_tau2

__all__ = ["GlmmFit", "fit_glmm", "glmm_loglik"]

FloatArray = npt.NDArray[np.float64]
# τ: one value, or one per study row when several profile points are evaluated in one pass
# (see _Quadrature.profile_many).
Tau = float | FloatArray

# τ on the logit scale beyond which the data carry no information about the mean: a
# between-study SD of 15 logits spans proportions from 1e-13 to 1 - 1e-13 within ±2 SD.
_TAU_MAX = 15.0
# A fitted linear predictor beyond this many logits (a proportion below 1e-11) means
# separation — the likelihood is maximised at infinity, and Newton merely stalls there
# because the curvature underflows — not an estimate.
_BETA_BOUND = 25.0
# Newton steps for β left at profile points on the way to τ̂ or a bound of its interval
# (relative to 1 + |β|): the values there are corrected to second order in the step.
_LOOSE = 1e-2
# ... and where the search for a bound of the τ² interval stops: ℓₚ there is corrected to
# second order in the remaining step δ, leaving an error of about δ³ times the third
# derivative in β (of the order of the total count, ~10³): ~10⁻¹⁵ in ℓₚ for δ = 10⁻⁶, so
# that the bound, where ℓₚ crosses the cut, is off by that over the slope (τ̂ itself is
# reported with β̂ located to 10⁻¹², and the Hessian taken there).
_FINAL = 1e-6
# Beyond this τ the fitted proportions of typical studies span more than 1e-4 to 1 - 1e-4.
_TAU_LARGE = 5.0


def _max_abs(a: FloatArray) -> float:
    """max |aᵢ| of a short vector (β or a step in β), NaN if any entry is NaN.

    A numpy reduction has a fixed cost of a few microseconds, paid several times for each
    of the ~15 likelihood evaluations of a fit; for the one or few coefficients of β a
    Python loop costs a fraction of that.
    """
    values = [abs(v) for v in a.tolist()]
    if any(v != v for v in values):
        return math.nan
    return max(values, default=0.0)


def _by_node(tau: Tau) -> Tau:
    """τ as a factor of (studies × nodes) arrays: per-row values become a column."""
    return tau if isinstance(tau, float) else tau[:, None]


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


_SQRT2 = math.sqrt(2)


@functools.lru_cache(maxsize=32)
def _hermite(nagq: int) -> tuple[FloatArray, FloatArray]:
    """√2 tⱼ and log wⱼ + tⱼ² − ½ log 2π of the nagq-point Gauss–Hermite rule (rows)."""
    t, w = np.polynomial.hermite.hermgauss(nagq)
    sqrt2_t = (_SQRT2 * t)[None, :]
    log_w = (np.log(w) + t**2 - 0.5 * math.log(2 * math.pi))[None, :]
    sqrt2_t.setflags(write=False)
    log_w.setflags(write=False)
    return sqrt2_t, log_w


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


class _ModeRecord(NamedTuple):
    """The modes ẑ found at one evaluated (η, τ), with ∂ẑ/∂η and ∂ẑ/∂τ there (τ per study
    for a stack's evaluation): the start for the next evaluation (see _Quadrature._start)."""

    tau: Tau
    eta: FloatArray
    zhat: FloatArray
    dz_eta: FloatArray
    dz_tau: FloatArray


class _Evaluation(NamedTuple):
    """log L̃ at one (η, τ), per study the gradient (∂/∂ηᵢ, ∂/∂τ) and the Hessian
    (∂²/∂ηᵢ², ∂²/∂ηᵢ∂τ, ∂²/∂τ²) of log L̃ᵢ, and the sums over studies of those six
    (in that order, log L̃ first): all a model without moderators needs."""

    loglik: float
    g_eta: FloatArray
    g_tau: FloatArray
    h_ee: FloatArray
    h_et: FloatArray
    h_tt: FloatArray
    sums: list[float]

    @classmethod
    def of(cls, rows: FloatArray, sums: list[float]) -> _Evaluation:
        """From the (6 × k) rows of :meth:`_Quadrature._evaluate_rows` and their sums."""
        return cls(sums[0], rows[1], rows[2], rows[3], rows[4], rows[5], sums)


class _Quadrature:
    """Adaptive Gauss–Hermite quadrature of the binomial–normal marginal likelihood.

    For study i with linear predictor ηᵢ = Xᵢβ the integrand in z is exp(gᵢ(z)) with
    gᵢ(z) = log Bin(xᵢ | nᵢ, expit(ηᵢ + τz)) − z²/2 − ½ log 2π. The nodes are
    zᵢⱼ = ẑᵢ + √2 σ̂ᵢ tⱼ with ẑᵢ the mode of gᵢ and σ̂ᵢ = (−gᵢ''(ẑᵢ))^(−½), so the
    approximation L̃ depends on (β, τ) also through where the nodes sit. Its gradient
    includes that dependence, so the estimates maximise L̃ itself — as lme4 does — and
    agree with it at any number of nodes, not only as nodes → ∞.
    """

    def __init__(
        self, x: FloatArray, n: FloatArray, X: FloatArray, nagq: int, logc: FloatArray | None = None
    ) -> None:
        self.xv = x
        self.nv = n
        self.X = X
        self.x = x[:, None]
        self.n = n[:, None]
        self.nagq = nagq
        self.sqrt2_t, log_w = _hermite(nagq)
        # log of ∫ e^{g(z)} dz ≈ √2 σ̂ Σⱼ wⱼ e^{tⱼ²} e^{g(zⱼ)}: the terms of g that do not
        # depend on (β, τ) — binomial coefficient, ½ log 2π — and the node weights, once.
        if logc is None:  # (given for a stack: see profile_many)
            logc = gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1)
        self.logc = logc
        self.log_const = logc[:, None] + log_w
        self.logc_sum = float(logc.sum())
        self.intercept_only = X.shape[1] == 1 and bool((X == 1).all())
        self.x_minus_n = x - n
        self.logit_obs = np.log((x + 0.5) / (n - x + 0.5))
        self.n_max = float(n.max())
        # Successive evaluations are at nearby (β, τ): the modes found last, moved to first
        # order with their derivatives in (η, τ) when _evaluate computed those, are a good
        # start. The result does not depend on the start (the search is bracketed).
        self._z_start = np.zeros_like(x)
        self._motion: _ModeRecord | None = None
        self._rows = np.empty((x.size, 4, nagq))  # scratch for _evaluate's weighted sums
        self._stacks: dict[int, _Quadrature] = {}

    # -- per-study pieces, as functions of the linear predictor η = Xβ ---------------------
    def modes(self, eta: FloatArray, tau: Tau) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Mode ẑᵢ, scale σ̂ᵢ and expit(ηᵢ + τẑᵢ) of each study's integrand.

        gᵢ'(z) = τ(xᵢ − nᵢ p) − z is decreasing with its root in [τ(xᵢ − nᵢ), τxᵢ]. Halley
        steps (cubic convergence; gᵢ‴ = −τ³nᵢpq(1 − 2p) costs a few operations, a step saved
        an evaluation of expit and the test) that leave the shrinking bracket are replaced
        by bisection (plain steps diverge on the flat logistic tails). Since gᵢ'' ≤ −1,
        |z − ẑᵢ| ≤ |gᵢ'(z)|: the iteration stops when every gradient is below 1e-13
        (relative to 1 + |z|).
        """
        x, n = self.xv, self.nv
        lo = tau * self.x_minus_n - 1e-12
        hi = tau * x + 1e-12
        tau2 = tau * tau
        z, p, grad = self._start(eta, tau, lo, hi)
        # |z| ≤ τ max nᵢ: the relative test needs max |z| only once the gradients are small
        tau_top = tau if isinstance(tau, float) else float(tau.max())
        loose = 1e-13 * (1 + tau_top * self.n_max + 1e-12)
        # From a warm start plain Halley steps usually converge at once; the test certifies
        # the result whatever the path, so they are tried first, without the bracket.
        tau2n = tau2 * n
        half_tau = 0.5 * tau
        for _ in range(3):
            top = np.abs(grad).max()
            if top <= loose and top <= 1e-13 * (1 + np.abs(z).max()):
                break
            # Halley: z − 2g'g''/(2g''² − g'g‴), with g'' = −D and g‴ = −τ(D − 1)(1 − 2p)
            curv = tau2n * (p - p * p)  # D − 1
            big_d = curv + 1
            newton = z + grad * big_d / (big_d * big_d + half_tau * grad * curv * (1 - 2 * p))
            if not ((newton >= lo) & (newton <= hi)).all():
                break
            z = newton
            p = expit(eta + tau * z)
            grad = tau * (x - n * p) - z
        for _ in range(200):
            top = np.abs(grad).max()
            if top <= loose and top <= 1e-13 * (1 + np.abs(z).max()):
                break
            lo = np.where(grad > 0, z, lo)
            hi = np.where(grad < 0, z, hi)
            curv = tau2n * (p - p * p)
            big_d = curv + 1
            newton = z + grad * big_d / (big_d * big_d + half_tau * grad * curv * (1 - 2 * p))
            # Non-strict bounds: a converged step lands on the bracket edge by rounding.
            inside = (newton >= lo) & (newton <= hi)
            z = newton if inside.all() else np.where(inside, newton, 0.5 * (lo + hi))
            p = expit(eta + tau * z)
            grad = tau * (x - n * p) - z
        self._z_start = z
        sigma = 1 / np.sqrt(1 + tau2 * n * (p - p * p))
        return z, sigma, p

    def _start(
        self, eta: FloatArray, tau: Tau, lo: FloatArray, hi: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per study, the better (smaller |g'|) of the last modes — moved to first order when
        their derivatives are known — and the z at which p = (x+½)/(n+1); with expit and g'
        there. The second is tried only where the first is not already close (|g'| > 10⁻³).

        For large τ the mode sits where the study's fitted proportion is near its observed
        one, far from a warm start made at another τ; for small τ it sits near 0.
        """
        x, n = self.xv, self.nv
        warm = self._z_start
        if self._motion is not None:
            tau0, eta0, z0, dz_eta, dz_tau = self._motion
            warm = z0 + dz_eta * (eta - eta0) + dz_tau * (tau - tau0)
        warm = np.minimum(np.maximum(warm, lo), hi)
        p_warm = expit(eta + tau * warm)
        g_warm = tau * (x - n * p_warm) - warm
        # (per-row τ is always positive: see profile_many)
        if (isinstance(tau, float) and tau == 0) or np.abs(g_warm).max() <= 1e-3:
            return warm, p_warm, g_warm
        near = np.minimum(np.maximum((self.logit_obs - eta) / tau, lo), hi)
        p_near = expit(eta + tau * near)
        g_near = tau * (x - n * p_near) - near
        better = np.abs(g_near) < np.abs(g_warm)
        return (
            np.where(better, near, warm),
            np.where(better, p_near, p_warm),
            np.where(better, g_near, g_warm),
        )

    def _terms(
        self, eta: FloatArray, tau: Tau, modes: tuple[FloatArray, ...] | None = None
    ) -> _Nodes:
        """The adaptive nodes and each study's log L̃ᵢ (``modes``: ẑ, σ̂ and p̂ found
        elsewhere, see :meth:`_evaluate_rows`)."""
        zhat, sigma, phat = self.modes(eta, tau) if modes is None else modes
        z = zhat[:, None] + sigma[:, None] * self.sqrt2_t
        lin = eta[:, None] + _by_node(tau) * z
        a = self.log_const + self.x * lin - self.n * np.logaddexp(0, lin) - 0.5 * z * z
        # log Σⱼ exp(aᵢⱼ), shifted by the row maximum (plain numpy: scipy's logsumexp costs
        # more than the sum here)
        top = a.max(axis=1, keepdims=True)
        e = np.exp(a - top)
        total = e.sum(axis=1)
        log_li = np.log(_SQRT2 * sigma * total) + top[:, 0]
        return _Nodes(zhat, sigma, phat, z, lin, e / total[:, None], log_li)

    def _evaluate(self, eta: FloatArray, tau: float) -> _Evaluation:
        """log L̃ and, per study, the exact gradient and Hessian of log L̃ᵢ in (ηᵢ, τ)
        (see :meth:`_evaluate_rows`)."""
        rows = self._evaluate_rows(eta, tau)
        return _Evaluation.of(rows, rows.sum(axis=1).tolist())

    def _evaluate_rows(
        self, eta: FloatArray, tau: Tau, modes: tuple[FloatArray, ...] | None = None
    ) -> FloatArray:
        """Per study (columns), log L̃ᵢ and the exact gradient and Hessian of log L̃ᵢ in (ηᵢ, τ),
        including how the nodes move. τ is one value or one per study (a stack of points,
        see :meth:`profile_many`). ``modes``: the modes ẑ, scales σ̂ and expit(η + τẑ),
        if located elsewhere (the batch GLMM locates them for each of its analyses).

        With θ = (η, τ), node j sits at zⱼ(θ) = ẑ(θ) + √2 tⱼ σ̂(θ) and log L̃ᵢ =
        log σ̂ + log Σⱼ exp(cⱼ + g(zⱼ(θ); θ)) (cⱼ constant). Writing Aⱼ(θ) = g(zⱼ(θ); θ) and
        πⱼ the normalised node weights,

            ∇ log L̃ᵢ = ∇σ̂/σ̂ + Σⱼ πⱼ ∇Aⱼ,
            ∇² log L̃ᵢ = ∇²σ̂/σ̂ − ∇σ̂∇σ̂ᵀ/σ̂² + Σⱼ πⱼ ∇²Aⱼ + Cov_π(∇Aⱼ),

        with ∇Aⱼ = g_θ + g_z ∇zⱼ and ∇²Aⱼ = g_θθ + g_θz ∇zⱼᵀ + ∇zⱼ g_zθᵀ + g_zz ∇zⱼ∇zⱼᵀ
        + g_z ∇²zⱼ at the node. The derivatives of ẑ and σ̂ follow from the mode equation
        ẑ = τ r(û) (r = x − n expit, û = η + τẑ) and σ̂ = (1 + τ² ŵ)^(−½) (ŵ = n p̂ q̂),
        differentiated twice (implicit differentiation).
        """
        zhat, sigma, phat, z, lin, pi, log_li = self._terms(eta, tau, modes)
        x, n = self.xv, self.nv
        tau2 = tau * tau
        # -- the mode ẑ and the scale σ̂ as functions of θ -----------------------------
        s2 = sigma * sigma
        pq_hat = phat - phat * phat
        w_hat = n * pq_hat
        w1_hat = w_hat - 2 * w_hat * phat  # dŵ/dû = ŵ(1 − 2p̂)
        w2_hat = w_hat - 6 * w_hat * pq_hat  # d²ŵ/dû² = ŵ(1 − 6p̂q̂)
        tw = tau * w_hat
        zh_e = -s2 * tw  # ∇ẑ
        zh_t = s2 * (x - n * phat - tw * zhat)
        u_e = 1 + tau * zh_e  # ∇û
        u_t = zhat + tau * zh_t
        tw1 = tau * w1_hat
        tw1_ue = tw1 * u_e
        zh_ee = -s2 * (tw1_ue * u_e)  # ∇²ẑ
        zh_et = -s2 * (w_hat * (u_e + tau * zh_e) + tw1_ue * u_t)
        zh_tt = -s2 * (2 * w_hat * (u_t + tau * zh_t) + tw1 * u_t * u_t)
        t2w1, t2w2 = tau * tw1, tau2 * w2_hat
        # ∇S and ∇²S for S = 1 + τ²ŵ = σ̂⁻² (∇²û = e_τ∇ẑᵀ + ∇ẑe_τᵀ + τ∇²ẑ)
        t2w2_ue = t2w2 * u_e
        big_s_e = t2w1 * u_e
        big_s_t = 2 * tw + t2w1 * u_t
        big_s_ee = t2w2_ue * u_e + t2w1 * tau * zh_ee
        big_s_et = 2 * tw1_ue + t2w2_ue * u_t + t2w1 * (zh_e + tau * zh_et)
        big_s_tt = 2 * w_hat + 4 * tw1 * u_t + t2w2 * u_t * u_t + t2w1 * (2 * zh_t + tau * zh_tt)
        half_s3 = 0.5 * s2 * sigma
        sg_e = -half_s3 * big_s_e  # ∇σ̂
        sg_t = -half_s3 * big_s_t
        # ∇²σ̂ = 3∇σ̂∇σ̂ᵀ/σ̂ − ½σ̂³∇²S
        inv_s = 1 / sigma
        three_e = 3 * inv_s * sg_e
        sg_ee = three_e * sg_e - half_s3 * big_s_ee
        sg_et = three_e * sg_t - half_s3 * big_s_et
        sg_tt = 3 * inv_s * sg_t * sg_t - half_s3 * big_s_tt
        # -- at the nodes ----------------------------------------------------------------
        t2 = self.sqrt2_t
        tau_n = _by_node(tau)
        p = expit(lin)
        w = self.n * (p - p * p)
        r = self.x - self.n * p
        gz = tau_n * r - z
        dz_e = zh_e[:, None] + t2 * sg_e[:, None]  # ∇zⱼ
        dz_t = zh_t[:, None] + t2 * sg_t[:, None]
        a_e = r + gz * dz_e  # ∇Aⱼ
        a_t = r * z + gz * dz_t
        # π-weighted sums of several node arrays in one matmul; filling a preallocated
        # (k, m, nagq) buffer costs less than np.stack on these small arrays.
        rows = self._rows
        rows[:, 0] = a_e
        rows[:, 1] = a_t
        rows[:, 2] = gz
        np.multiply(gz, t2, out=rows[:, 3])
        first = np.matmul(rows[:, :4], pi[:, :, None])[:, :, 0]
        m_e, m_t, d_zhat = first[:, 0], first[:, 1], first[:, 2]
        d_sigma = inv_s + first[:, 3]
        c_e = a_e - m_e[:, None]
        c_t = a_t - m_t[:, None]
        # g_θθ = −w(1, z)(1, z)ᵀ, g_zθ = (−τw, r − τwz), g_zz = −(τ²w + 1)
        tww = tau_n * w
        gzz_e = -(tau_n * tww + 1) * dz_e
        b_t = r - tww * z
        wz = w * z
        node_ee = dz_e * (gzz_e - 2 * tww) - w + c_e * c_e
        node_et = gzz_e * dz_t - tww * dz_t + b_t * dz_e - wz + c_e * c_t
        node_tt = dz_t * (2 * b_t - (tau_n * tww + 1) * dz_t) - wz * z + c_t * c_t
        rows[:, 0] = node_ee
        rows[:, 1] = node_et
        rows[:, 2] = node_tt
        second = np.matmul(rows[:, :3], pi[:, :, None])[:, :, 0]
        out = np.empty((6, eta.size))
        out[0] = log_li
        np.add(sg_e * inv_s, m_e, out=out[1])  # ∇ log L̃ᵢ
        np.add(sg_t * inv_s, m_t, out=out[2])
        inv_s2 = inv_s * inv_s
        np.add(d_zhat * zh_ee + d_sigma * sg_ee - sg_e * sg_e * inv_s2, second[:, 0], out=out[3])
        np.add(d_zhat * zh_et + d_sigma * sg_et - sg_e * sg_t * inv_s2, second[:, 1], out=out[4])
        np.add(d_zhat * zh_tt + d_sigma * sg_tt - sg_t * sg_t * inv_s2, second[:, 2], out=out[5])
        self._motion = _ModeRecord(tau, eta, zhat, zh_e, zh_t)
        return out

    # -- functions of (β, τ) ----------------------------------------------------------
    def loglik(self, beta: FloatArray, tau: float) -> float:
        """log L̃(β, τ) = Σᵢ log L̃ᵢ."""
        return float(self._terms(self.X @ beta, tau).log_li.sum())

    def gradient(self, beta: FloatArray, tau: float) -> FloatArray:
        """Exact gradient of log L̃ in (β, τ), including the movement of ẑ and σ̂."""
        ev = self._evaluate(self.X @ beta, tau)
        return np.append(self.X.T @ ev.g_eta, np.sum(ev.g_tau))

    def hessian(self, beta: FloatArray, tau: float) -> FloatArray:
        """Exact Hessian of log L̃ in (β, τ), including the movement of ẑ and σ̂."""
        return self._hessian(self._evaluate(self.X @ beta, tau))

    def _hessian(self, ev: _Evaluation) -> FloatArray:
        X = self.X
        p = X.shape[1]
        out = np.empty((p + 1, p + 1))
        out[:p, :p] = X.T @ (X * ev.h_ee[:, None])
        out[:p, p] = out[p, :p] = X.T @ ev.h_et
        out[p, p] = ev.sums[5]
        return out

    def profile(
        self,
        tau: float,
        start: FloatArray,
        tol: float = 1e-12,
        first: _Evaluation | None = None,
    ) -> _ProfilePoint:
        """β̂(τ) by Newton steps with backtracking, with log L̃, the profile slope and
        curvature there (from the same evaluation); ``ok`` False if β̂ runs off to infinity
        (separation: some level's studies all at 0 or all at n events).

        The Newton steps use the exact Hessian in β. Should it not be negative definite
        (L̃ approximates a log-concave integral, but need not be exactly concave itself),
        the step is the gradient scaled by the per-study curvatures' magnitudes, still an
        ascent direction for the backtracking.

        The iteration stops when the proposed Newton step δ is below ``tol`` (relative to
        1 + |β|), without evaluating there: the point reports β + δ and the values at
        β̂(τ) to second order in δ (see :meth:`_ProfilePoint.at`). With the default
        tolerance β is then within about 1e-12 of β̂(τ); searches over τ ask for less on
        their way and for that only where they stop.

        ``first``, if given, is the evaluation at (``start``, τ), already made (see
        :meth:`profile_many`).
        """
        X = self.X
        beta = np.array(start, dtype=float)
        ev = self._evaluate(X @ beta, tau) if first is None else first
        if self.intercept_only:
            # The usual case, in Python floats: the same Newton step and test as below,
            # and, when it passes, the same point as _ProfilePoint.at reports.
            b = float(beta[0])
            h_bb = ev.sums[3]
            if h_bb < 0:
                delta = ev.sums[1] / -h_bb
                if abs(delta) <= tol * (1 + abs(b)):
                    return _ProfilePoint.intercept(b, ev, h_bb, delta)

        def negligible(change: FloatArray, limit: float) -> bool:
            return _max_abs(change) <= limit * (1 + _max_abs(beta))

        for _ in range(200):
            grad = X.T @ ev.g_eta
            step, newton = _ascent_step(X, ev.h_ee, grad)
            if newton and negligible(step, tol):
                break
            scale = 1.0
            ll = ev.loglik
            for _ in range(60):
                trial = beta + scale * step
                ev_trial = self._evaluate(X @ trial, tau)
                if ev_trial.loglik >= ll - 1e-12 * (1 + abs(ll)):
                    break
                scale /= 2
            moved = trial - beta
            beta, ev = trial, ev_trial
            if np.abs(X @ beta).max() > _BETA_BOUND:
                return _ProfilePoint.at(beta, False, ev, self._hessian(ev), None)
            if negligible(moved, 1e-12):  # no ascent found: as far as β̂ can be located
                step, newton = np.zeros_like(beta), True
                break
        ok = bool(np.abs(X @ beta).max() <= _BETA_BOUND)
        return _ProfilePoint.at(beta, ok, ev, self._hessian(ev), step if newton else None)

    def profile_many(
        self, taus: list[float], starts: list[FloatArray], tol: float = 1e-12
    ) -> list[_ProfilePoint]:
        """The profile points at several τ > 0 (as :meth:`profile`), their first
        evaluations made in one pass over the studies repeated once per point.

        An evaluation of k studies costs mostly the fixed overhead of its ~250 numpy
        operations on small arrays, so two or three of them cost about as much as one;
        the searches use this where they need points that do not depend on each other
        (the probe near τ = 0 and the first point of the search for τ̂; the points of the
        two searches for the bounds of the τ² interval and of the τ̂ search). Any further
        Newton steps for β̂(τ) are taken one point at a time.
        """
        if len(taus) == 1:
            return [self.profile(taus[0], starts[0], tol)]
        m, k = len(taus), self.xv.size
        stack = self._stacks.get(m)
        if stack is None:
            x, n, logc = (np.tile(a, m) for a in (self.xv, self.nv, self.logc))
            stack = _Quadrature(x, n, np.tile(self.X, (m, 1)), self.nagq, logc)
            self._stacks[m] = stack
        if self.intercept_only:
            eta = np.repeat(np.array([b[0] for b in starts], dtype=float), k)
        else:
            eta = np.concatenate([self.X @ b for b in starts])
        rows = stack._evaluate_rows(eta, np.repeat(np.array(taus, dtype=float), k))
        sums = rows.reshape(6, m, k).sum(axis=2).T.tolist()
        if self._motion is None and stack._motion is not None:
            # no start of its own yet (the first search point): take the last point's modes
            last = slice((m - 1) * k, m * k)
            self._motion = _ModeRecord(taus[-1], *(a[last] for a in stack._motion[1:]))
        points = []
        for j, (tau, start) in enumerate(zip(taus, starts, strict=True)):
            ev = _Evaluation.of(rows[:, j * k : (j + 1) * k], sums[j])
            points.append(self.profile(tau, start, tol, first=ev))
        return points

    def common_point(self) -> _ProfilePoint:
        """The profile point at τ = 0 of the model without moderators (X a column of ones),
        in closed form: β̂ = logit(Σx/Σn) (0 < Σx < Σn) and ℓ the binomial log-likelihood
        there, as :meth:`profile` at τ = 0 finds them to rounding error.

        At τ = 0 the nodes sit at ẑ = 0 with σ̂ = 1 whatever η, and ℓₚ is even in τ: the
        slope and ∂²/∂β∂τ (so dβ̂/dτ) vanish, ∂²/∂β² = −Σ nᵢp̂q̂, and ∂²/∂τ² =
        Σ [(xᵢ − nᵢp̂)² − nᵢp̂q̂] (E z² = 1 times the binomial score² plus its derivative;
        exact for every number of nodes, the Laplace approximation included).
        """
        x, n = self.xv, self.nv
        total_x, total_n = float(x.sum()), float(n.sum())
        p_pool = total_x / total_n
        beta = math.log(p_pool / (1 - p_pool))
        loglik = (
            self.logc_sum + total_x * math.log(p_pool) + (total_n - total_x) * math.log1p(-p_pool)
        )
        w = n * (p_pool - p_pool * p_pool)
        r = x - n * p_pool
        h_bb = -float(w.sum())
        curvature = float(r.dot(r)) + h_bb
        hessian = np.array([[h_bb, 0.0], [0.0, curvature]])
        ok = abs(beta) <= _BETA_BOUND
        return _ProfilePoint(
            np.array([beta]), ok, loglik, 0.0, curvature, np.zeros(1), hessian, 0.0, 0.0, 0.0
        )

    def beta_hat(self, tau: float, start: FloatArray) -> tuple[FloatArray, bool]:
        """β̂(τ) and whether it is finite (see :meth:`profile`)."""
        point = self.profile(tau, start)
        return point.beta, point.ok

    def profile_slope(self, tau: float, start: FloatArray) -> tuple[float, FloatArray]:
        """dℓₚ/dτ at τ (the total τ-derivative at β̂(τ), by the envelope theorem) and β̂(τ)."""
        point = self.profile(tau, start)
        return point.slope, point.beta


def _ascent_step(X: FloatArray, h_ee: FloatArray, grad: FloatArray) -> tuple[FloatArray, bool]:
    """Newton's step for β from the per-study curvatures ∂² log L̃ᵢ/∂ηᵢ² (and True), or,
    where the information Xᵀ(−h)X is not positive definite, the gradient scaled by their
    magnitudes (and False)."""
    if X.shape[1] == 1:
        # (one coefficient: divisions; LAPACK's call costs more than an evaluation)
        col = X[:, 0]
        info = -float((col * col).dot(h_ee))
        if info > 0:
            return grad / info, True
        return grad / max(float((col * col).dot(np.abs(h_ee))), 1e-12), False
    info = -(X.T @ (X * h_ee[:, None]))
    try:
        chol = np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        diag = np.maximum(np.einsum("ij,ij,i->j", X, X, np.abs(h_ee)), 1e-12)
        return np.asarray(grad / diag, dtype=float), False
    return np.asarray(np.linalg.solve(chol.T, np.linalg.solve(chol, grad)), dtype=float), True


class _ProfilePoint(NamedTuple):
    """The profile likelihood at one τ: β̂(τ), whether it is finite, ℓₚ(τ), dℓₚ/dτ and
    d²ℓₚ/dτ², dβ̂/dτ, the Hessian of log L̃ in (β, τ) at the point evaluated, and the
    size of the Newton step δ that remained there (relative to 1 + |β|).

    With H the Hessian, dβ̂/dτ = −H_ββ⁻¹ H_βτ (differentiating ∇_β log L̃ = 0) and
    d²ℓₚ/dτ² = H_ττ + H_τβ dβ̂/dτ.
    """

    beta: FloatArray
    ok: bool
    loglik: float
    slope: float
    curvature: float
    dbeta: FloatArray
    hessian: FloatArray
    step: float
    loglik_error: float
    slope_error: float

    @classmethod
    def intercept(cls, beta: float, ev: _Evaluation, h_bb: float, delta: float) -> _ProfilePoint:
        """:meth:`at` for the model without moderators (β = μ, X a column of ones), with
        the Newton step δ and ∂²/∂μ² = Σ hᵢ already summed."""
        h_bt, h_tt = ev.sums[4], ev.sums[5]
        db = -h_bt / h_bb
        d_loglik = -0.5 * delta * h_bb * delta
        d_slope = h_bt * delta
        return cls(
            np.array([beta + delta]),
            abs(beta) <= _BETA_BOUND,
            ev.loglik + d_loglik,
            ev.sums[2] + d_slope,
            h_tt + h_bt * db,
            np.array([db]),
            np.array([[h_bb, h_bt], [h_bt, h_tt]]),
            abs(delta) / (1 + abs(beta)),
            abs(d_loglik),
            abs(d_slope),
        )

    @classmethod
    def at(
        cls,
        beta: FloatArray,
        ok: bool,
        ev: _Evaluation,
        hessian: FloatArray,
        delta: FloatArray | None,
    ) -> _ProfilePoint:
        """The point evaluated at β, moved by the Newton step δ = −H_ββ⁻¹ ∇_β log L̃ to
        β + δ: log L̃ + ½ ∇_β log L̃ · δ and ∂ log L̃/∂τ + H_τβ δ are ℓₚ and its slope to
        second order in δ (errors O(δ³) and O(δ²)). Without a Newton step (``None``) the
        values at β are reported as they are, as the best that can be located. The sizes of
        the two corrections are kept: a sign that rests on them is not to be trusted."""
        p = beta.size
        h_bb, h_bt = hessian[:p, :p], hessian[:p, p]
        if p == 1 and hessian[0, 0] != 0:
            # the usual case, in Python floats (the same operations; no warnings to silence)
            h_bt0 = float(hessian[0, 1])
            db = -h_bt0 / float(hessian[0, 0])
            dbeta = np.array([db])
            curvature = float(hessian[1, 1]) + h_bt0 * db
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                if p == 1:
                    dbeta = -h_bt / h_bb[0, 0]
                else:
                    try:
                        dbeta = -np.linalg.solve(h_bb, h_bt)
                    except np.linalg.LinAlgError:
                        dbeta = np.full(p, np.nan)
                curvature = float(hessian[p, p] + h_bt @ dbeta)
        slope, loglik = ev.sums[2], ev.loglik
        if delta is None:
            return cls(beta, ok, loglik, slope, curvature, dbeta, hessian, 0.0, 0.0, 0.0)
        size = _max_abs(delta) / (1 + _max_abs(beta))
        d_loglik = -0.5 * float(delta @ (h_bb @ delta))  # ½ ∇_β log L̃ · δ, ∇_β = −H_ββ δ
        d_slope = float(h_bt @ delta)
        return cls(
            beta + delta,
            ok,
            loglik + d_loglik,
            slope + d_slope,
            curvature,
            dbeta,
            hessian,
            size,
            abs(d_loglik),
            abs(d_slope),
        )


class _BetaPath:
    """The β̂(τ) found so far, to start the search for β̂ at a new τ.

    Between two known τ the start is the cubic that matches β̂ and dβ̂/dτ at both; beyond
    them, the tangent at the nearest. Its error is of fourth (second) order in the
    distance, so Newton needs few steps. The result does not depend on the start.
    """

    def __init__(self, tau: float, point: _ProfilePoint) -> None:
        self.points: list[tuple[float, FloatArray, FloatArray]] = []
        self._add(tau, point)

    def add(self, tau: float, point: _ProfilePoint) -> None:
        """Add a point located elsewhere (if β̂ is finite there)."""
        if point.ok:
            self._add(tau, point)

    def _add(self, tau: float, point: _ProfilePoint) -> None:
        finite = all(map(math.isfinite, point.dbeta.tolist()))
        dbeta = point.dbeta if finite else np.zeros_like(point.beta)
        self.points.append((tau, point.beta, dbeta))

    def start(self, tau: float) -> FloatArray:
        below = [q for q in self.points if q[0] <= tau]
        above = [q for q in self.points if q[0] > tau]
        a = max(below, key=lambda q: q[0]) if below else None
        b = min(above, key=lambda q: q[0]) if above else None
        if a is not None and b is not None:
            (ta, ba, da), (tb, bb, db) = a, b
            h = tb - ta
            u = (tau - ta) / h
            u2, u3 = u * u, u * u * u
            return (
                (2 * u3 - 3 * u2 + 1) * ba
                + (u3 - 2 * u2 + u) * h * da
                + (3 * u2 - 2 * u3) * bb
                + (u3 - u2) * h * db
            )
        t0, b0, d0 = a if a is not None else b  # type: ignore[misc]
        return b0 + d0 * (tau - t0)

    def profile(
        self, quad: _Quadrature, tau: float, tol: float = 1e-12, start: FloatArray | None = None
    ) -> _ProfilePoint:
        """The profile point at τ, started from the path (or ``start``) and added to it."""
        point = quad.profile(tau, self.start(tau) if start is None else start, tol)
        self.add(tau, point)
        return point

    def profile_many(
        self, quad: _Quadrature, taus: list[float], tol: float = 1e-12
    ) -> list[_ProfilePoint]:
        """The profile points at several τ > 0 (:meth:`_Quadrature.profile_many`), each
        started from the path as it was before any of them, and added to it."""
        points = quad.profile_many(taus, [self.start(t) for t in taus], tol)
        for tau, point in zip(taus, points, strict=True):
            self.add(tau, point)
        return points


def _saturated_loglik(quad: _Quadrature) -> float:
    """The binomial log-likelihood at pᵢ = xᵢ/nᵢ (0 log 0 = 0)."""
    x, n = quad.xv, quad.nv
    p = x / n
    return quad.logc_sum + float(np.sum(xlogy(x, p) + xlog1py(n - x, -p)))


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
    ll_sat = _saturated_loglik(quad)
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

    if quad.intercept_only:
        common = quad.common_point()
        vcov_fe = np.array([[-1 / float(common.hessian[0, 0])]])
    else:
        p_pool = total_x / total_n
        logit = np.log(p_pool / (1 - p_pool))
        start = np.linalg.lstsq(Xd, np.full(x.size, logit), rcond=None)[0]
        common = quad.profile(0.0, start)
        npq = m * expit(Xd @ common.beta) * (1 - expit(Xd @ common.beta))
        vcov_fe = np.linalg.inv(Xd.T @ (Xd * npq[:, None]))
    beta_fe, ok_fe, ll_common = common.beta, common.ok, common.loglik
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
        info = -fixed.hessian[:p, :p]
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
    drop = chi2_ppf(level, 1) / 2
    tau, at_tau, iterations, converged, boundary, ahead = _locate_tau(quad, common, notes, drop)
    beta, ll_hat = at_tau.beta, at_tau.loglik
    if converged and tau > _TAU_LARGE:
        notes.append(
            f"τ̂ = {tau:.3g} on the logit scale: studies at or near 0% and 100% drive an extreme "
            "heterogeneity estimate on a nearly flat likelihood; it changes with the number of "
            "quadrature nodes (compare nagq=7 and nagq=21)"
        )
    if tau > 0:
        info = -at_tau.hessian
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
            if not np.all(np.diag(vcov) > 0):
                vcov = np.full((p, p), np.nan)
                notes.append(
                    "the information for β alone is not positive either (the likelihood is "
                    "too flat to give a standard error): the standard error and confidence "
                    "interval of the pooled value are undefined"
                )
    else:
        # At τ = 0 the likelihood is even in τ, so the information is block-diagonal.
        vcov = vcov_fe
    tau2_ci = (
        _profile_ci_tau2(quad, tau, at_tau, ll_common, drop, notes, ahead)
        if converged
        else (np.nan, np.nan)
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
    quad: _Quadrature, common: _ProfilePoint, notes: list[str], drop: float
) -> tuple[float, _ProfilePoint, int, bool, str | None, _Ahead | None]:
    """Maximise the profile likelihood in τ ≥ 0 (``common``: the profile point at τ = 0).

    The profile slope dℓₚ/dτ vanishes at τ = 0 (ℓ is even in τ); the sign of the slope
    just above 0 decides between the boundary and an interior maximum. The root of the
    slope is then found by Newton steps (:func:`_tau_newton`) with the profile curvature
    d²ℓₚ/dτ², exact from the same evaluation, starting at the normal approximation's τ̂
    and mean (:func:`_normal_approximation`) or else at :func:`_first_tau`: until the
    slope turns negative no step more than doubles τ (up to 15), and once the root is
    bracketed a step that would leave the bracket or fails to halve the previous one is
    replaced by bisection ("rtsafe"). On the way β̂(τ) is located only to 10⁻³ (the
    profile values corrected to second order, see :meth:`_ProfilePoint.at`), so each
    step is in effect a Newton step in (β, τ) jointly. The search stops at a point where
    the step in τ is below 10⁻¹³ (1 + τ) and the one in β below 10⁻¹² (1 + |β|): it is
    then within about those distances of the maximum, and is reported. The probe just
    above 0 and the first point of the search are evaluated in one pass.

    Once the Newton steps are within 5% of τ, the two searches for the bounds of the τ²
    interval (``drop``: the fall in ℓₚ that defines them) are started at the next point
    and run alongside, their points evaluated in the same passes (:class:`_Ahead`); they
    are returned for :func:`_profile_ci_tau2` to finish.
    """
    evaluations = 0
    tau0 = 1e-3
    approx = _normal_approximation(quad)
    first: _ProfilePoint | None = None  # the point at the first τ, if already evaluated
    ahead: _Ahead | None = None
    if approx is None:
        near_zero = quad.profile(tau0, common.beta, _LOOSE)
    else:
        # the probe near 0 and the first point of the search, in one pass (profile_many);
        # the second is wasted only when τ̂ = 0
        near_zero, first = quad.profile_many([tau0, approx.tau], [common.beta, approx.beta], _LOOSE)
    if abs(near_zero.slope) <= near_zero.slope_error:  # the sign rests on the correction
        near_zero = quad.profile(tau0, common.beta)
    evaluations += 1
    if near_zero.slope <= 0:
        notes.append("no extra-binomial variation: τ² is estimated at its boundary, 0")
        return 0.0, common, evaluations, True, "tau2=0", None
    path = _BetaPath(tau0, near_zero)
    if approx is not None and first is not None:
        path.add(approx.tau, first)
    lo, hi = tau0, math.inf
    v = _typical_variance(quad, common)
    tau = approx.tau if approx is not None else _first_tau(quad, common, near_zero, tau0, v)
    last_step = math.inf
    converged = False
    repeats = 0  # points evaluated again to locate β̂(τ) where τ has converged
    for _ in range(500):
        if first is not None:
            point, first = first, None  # (added to the path above)
        elif ahead is not None and ahead.pending:
            inner = [t for t in ahead.points() if t != 0]
            point, *others = path.profile_many(quad, [tau, *inner], _LOOSE)
            ahead.feed(tau, point.loglik, others, lambda t: path.profile(quad, t))
        else:
            point = path.profile(quad, tau, _LOOSE)
        newton = _tau_newton(tau, point.slope, point.curvature, v)
        # Where the sign of the slope rests on the correction for β̂(τ), it is made sure of
        # by locating β̂(τ) fully, unless the point is already in Newton's quadratic
        # convergence to the maximum (the slope is then about 0, the bracket no longer
        # matters, and the next point is located from this one).
        settled = lo < newton < hi and abs(newton - tau) <= 0.25 * abs(last_step)
        uncertain = abs(point.slope) <= point.slope_error
        if uncertain and not settled:
            point = path.profile(quad, tau)
            newton = _tau_newton(tau, point.slope, point.curvature, v)
        evaluations += 1
        if point.slope == 0 and point.step <= 1e-12:
            converged = True
            break
        if uncertain and settled:
            pass
        elif (point.slope > 0 and tau >= hi) or (point.slope < 0 and tau <= lo):
            # The slope contradicts the bracket: β̂(τ) has jumped between separate maxima in
            # β (the quadrature likelihood need not be concave in β; seen with one node and
            # only 0% and 100% studies). ℓₚ is then not smooth and has no root to find.
            notes.append(_JUMP_NOTE)
            return tau, point, evaluations, False, None, None
        elif point.slope > 0:
            lo = tau
        else:
            hi = tau
        if math.isinf(hi):
            if tau >= _TAU_MAX:
                notes.append(
                    "the likelihood keeps increasing with τ (e.g. only 0% and 100% studies): "
                    f"τ is stopped at {_TAU_MAX:g} on the logit scale and the estimates are "
                    "not interpretable"
                )
                return _TAU_MAX, point, evaluations, False, "tau-unbounded", None
            nxt = min(2 * tau, _TAU_MAX)
            if newton > tau:
                nxt = min(newton, nxt)
        elif lo < newton < hi and abs(newton - tau) <= 0.5 * abs(last_step):
            nxt = newton
        else:
            nxt = 0.5 * (lo + hi)
        tol = 1e-13 * (1 + tau)
        near_root = not math.isnan(newton) and abs(newton - tau) <= tol
        if near_root or hi - lo <= tol:
            if not (near_root or abs(newton - tau) <= 1e3 * tol) or repeats == 3:
                # The slope changes sign without passing through 0, or β̂(τ) cannot be
                # located there: as above, a jump between maxima in β.
                notes.append(_JUMP_NOTE)
                return tau, point, evaluations, False, None, None
            if point.step <= 1e-12:
                converged = True
                break
            nxt = newton if lo <= newton <= hi else tau  # once more, with β̂(τ) located
            repeats += 1
        elif ahead is None and settled and abs(nxt - tau) <= 5e-2 * (1 + tau):
            walks = _interval_walks(nxt, point.curvature, drop)
            ahead = _Ahead(nxt, walks, drop, common.loglik)
        last_step, tau = nxt - tau, nxt
    else:
        notes.append(_JUMP_NOTE)
    if point.loglik < common.loglik:
        notes.append("the likelihood is highest at τ² = 0")
        return 0.0, common, evaluations, True, "tau2=0", None
    return tau, point, evaluations, converged, None, ahead


_JUMP_NOTE = (
    "τ̂ could not be located: the profile likelihood jumps between separate maxima in β "
    "(the likelihood of these data is nearly flat and not concave in β); the estimates "
    "are not a maximum of the likelihood"
)


class _Start(NamedTuple):
    """Where the search for τ̂ starts: τ and β̂ there."""

    tau: float
    beta: FloatArray


def _normal_approximation(quad: _Quadrature) -> _Start | None:
    """A start for τ̂ and β̂(τ̂) without moderators: the ML fit of the normal–normal model
    to the study logits (½ added to every count), whose τ̂ and mean are usually close to the
    GLMM's. None with moderators, or where that fit gives τ̂ = 0 (the search then starts
    at :func:`_first_tau`). Only the speed of the search depends on this start.
    """
    if quad.X.shape[1] != 1:
        return None
    x, n = quad.xv, quad.nv
    yi = quad.logit_obs
    vi = 1 / (x + 0.5) + 1 / (n - x + 0.5)
    tau2 = estimate_tau2(yi, vi, "ML").tau2
    if not tau2 > 0:
        return None
    w = 1 / (vi + tau2)
    mean = float(w.dot(yi)) / float(w.sum())
    return _Start(min(math.sqrt(tau2), _TAU_MAX), np.array([mean / float(quad.X[0, 0])]))


def _typical_variance(quad: _Quadrature, common: _ProfilePoint) -> float:
    """The mean of 1/wᵢ (wᵢ = nᵢ p̂ᵢ(1 − p̂ᵢ) at the common fit): the typical within-study
    variance of the logits, the v of :func:`_tau_newton`."""
    p = expit(quad.X @ common.beta)
    return float(np.mean(1 / (quad.nv * (p - p * p))))


def _first_tau(
    quad: _Quadrature, common: _ProfilePoint, near_zero: _ProfilePoint, tau0: float, v: float
) -> float:
    """Where to start looking for τ̂ without the normal approximation: one Fisher-scoring
    step in τ² from τ² = 0.

    At τ = 0 the score for τ² is ½ d²ℓₚ/dτ² ≈ ½ slope(τ₀)/τ₀ and its expected information
    about ½ Σ wᵢ² (wᵢ = nᵢ p̂ᵢ(1 − p̂ᵢ) at the common fit), as for a normal model with
    variances 1/wᵢ. Only the speed of the search depends on this start.
    """
    p = expit(quad.X @ common.beta)
    w = quad.nv * p * (1 - p)
    step = (near_zero.slope / tau0) / float(np.sum(w * w))
    return min(max(math.sqrt(step), 1e-2), _TAU_MAX) if step > 0 else 0.5


def _tau_newton(tau: float, slope: float, curvature: float, v: float) -> float:
    """Newton's step for the root of the profile slope, taken in τ² on
    ψ(τ²) = (dℓₚ/dτ²)(v + τ²)² (NaN if it does not point to a maximum).

    For a normal model with equal variances v, ψ is linear in τ² and one step lands on
    τ̂²; the binomial–normal profile is close to that shape, whereas the slope in τ
    itself is strongly convex and Newton steps on it creep up on τ̂ from below. The
    root, and so the result, is the same.
    """
    t2 = tau * tau
    q = slope / (2 * tau)  # dℓₚ/dτ²
    dq = (curvature * tau - slope) / (4 * t2 * tau)  # d²ℓₚ/d(τ²)²
    den = dq * (v + t2) + 2 * q  # dψ/dτ² / (v + τ²)
    if not den < 0:
        return tau - slope / curvature if curvature < 0 else math.nan
    new_t2 = t2 - q * (v + t2) / den
    return math.sqrt(new_t2) if new_t2 > 0 else math.nan


def _profile_ci_tau2(
    quad: _Quadrature,
    tau_hat: float,
    at_hat: _ProfilePoint,
    ll_common: float,
    drop: float,
    notes: list[str],
    ahead: _Ahead | None = None,
) -> tuple[float, float]:
    """Profile-likelihood interval for τ²: where ℓ̂ − ℓₚ(τ) = ``drop`` (half the χ²₁
    quantile of the level).

    Each bound is the crossing nearest to τ̂, reached by walking outwards from τ̂ (far
    from τ̂ the likelihood of extreme data can be flat to within quadrature error, and a
    crossing there would be spurious). Each step goes to the zero of the quadratic that
    matches ℓₚ and its first two derivatives (which every evaluation yields) at the last
    point — from τ̂ itself, the bound of the quadratic approximation to ℓₚ — but never
    more than 0.5 τ̂ down or to more than twice τ (at least 0.1) up. The first sign
    change is refined by the same steps, kept inside the bracket ("rtsafe"); as in
    :func:`_locate_tau`, β̂(τ) is located to 10⁻¹² only where the search stops. The two
    bounds are searched side by side (:func:`_side_by_side`): each round evaluates the next
    point of both in one pass (:meth:`_Quadrature.profile_many`). ``ahead``: the searches
    as started by :func:`_locate_tau`, to be finished.
    """
    cut = at_hat.loglik - drop
    path = _BetaPath(tau_hat, at_hat)

    def excess(ts: list[float]) -> list[_Excess]:
        """ℓₚ(t) − (ℓ̂ − drop) and its first two derivatives at each t (in one pass)."""
        inner = [t for t in ts if t != 0]
        points = iter(path.profile_many(quad, inner, _LOOSE) if inner else [])
        relocate = functools.partial(path.profile, quad)
        return [
            _excess_at(t, None if t == 0 else next(points), cut, ll_common, relocate)[1] for t in ts
        ]

    for t, point in ahead.evaluated if ahead is not None else []:
        path.add(t, point)  # (β̂ there: starts for the points between them)
    fresh = _interval_walks(tau_hat, at_hat.curvature, drop)
    running, finished = ahead.kept(at_hat.loglik) if ahead is not None else ({}, {})
    # the searches kept go on (or are done); the others start afresh from τ̂
    searches = [
        ahead.walks[i] if ahead is not None and (i in running or i in finished) else walk
        for i, walk in enumerate(fresh)
    ]
    found = _side_by_side(searches, excess, running, finished)
    if any(t is not None and math.isnan(t) for t in found):
        notes.append(
            "the profile likelihood jumps across the cut that defines the τ² interval "
            "(β̂(τ) switches between separate maxima in β): that bound is not determined"
        )
    lo = 0.0 if tau_hat == 0 or found[1] is None else found[1]
    if found[0] is None:
        notes.append(
            "the likelihood does not fall enough as τ grows: the data do not bound τ² "
            "from above (profile-likelihood upper limit ∞)"
        )
        return lo**2, np.inf
    return lo**2, found[0] ** 2


# A search written as a generator: it yields the points where it needs f, is sent f there,
# and returns its result.
_Search = Generator[float, "_Excess", float | None]


def _interval_walks(tau_hat: float, curvature: float, drop: float) -> list[_Search]:
    """The searches for the upper and (if τ̂ > 0) lower bound of the τ² interval, walking
    from τ̂ where ℓₚ is ``drop`` above the cut and has the given curvature (see
    :func:`_profile_ci_tau2`)."""
    xtol = 1e-12 * max(1.0, tau_hat)
    top = _Excess(drop, 0.0, curvature, 0.0)
    walks = [
        _walk_to_crossing(tau_hat, top, 1.0, lambda t: min(max(2 * t, 0.1), 2 * _TAU_MAX), xtol)
    ]
    if tau_hat > 0:
        walks.append(
            _walk_to_crossing(tau_hat, top, -1.0, lambda t: max(t - 0.5 * tau_hat, 0.0), xtol)
        )
    return walks


class _Ahead:
    """The searches for the bounds of the τ² interval, started before τ̂ is final.

    They walk from a point τ̃ of the search for τ̂ and their points are evaluated in the
    passes of that search, each judged against the cut ℓ − drop of the τ̂ search's point of
    the same pass, the best value of ℓ̂ known then. :func:`_profile_ci_tau2` then goes on
    with the final cut c′, keeping a search only if every sign it decided on stays the same
    under c′ (its bracket is then one of f′ = ℓₚ − c′, and its steps merely land
    elsewhere): |f| > |c′ − c| for each value f it was sent with a cut c. A search that
    ended on the cut c has its crossing t* moved by the Newton step (c′ − c)/ℓₚ′(t*) if
    that is below 10⁻⁷ (the error is then ~10⁻¹⁴). Searches not kept start again from τ̂
    (the points evaluated still serve as starts for β̂), as do all of them if ℓ at τ̃
    turns out more than drop/10 below ℓ̂ (they rely on f(τ̃) > 0).
    """

    def __init__(self, start: float, walks: list[_Search], drop: float, ll_common: float) -> None:
        self.start, self.walks, self.drop, self.ll_common = start, walks, drop, ll_common
        self.start_loglik = math.nan
        self.evaluated: list[tuple[float, _ProfilePoint]] = []
        self.pending: dict[int, float] = {}  # running searches: the point each waits at
        self.done: dict[int, float | None] = {}  # finished searches: their results
        # per search, the (cut, point, value) it was sent, in order
        self.sent: dict[int, list[tuple[float, float, _Excess]]] = {}
        for i, walk in enumerate(walks):
            self.sent[i] = []
            try:
                self.pending[i] = next(walk)
            except StopIteration as end:
                self.done[i] = end.value

    def feed(
        self,
        tau: float,
        loglik: float,
        points: list[_ProfilePoint],
        relocate: Callable[[float], _ProfilePoint],
    ) -> None:
        """Send the running searches ℓₚ at their pending points (``points``: those at τ > 0,
        in order, evaluated with the τ̂ search's point at ``tau`` with log-likelihood
        ``loglik``; at τ = 0 ℓₚ is the common-effect fit's, as in :func:`_profile_ci_tau2`);
        ``relocate(t)`` locates β̂(t) fully where the sign rests on the correction."""
        if tau == self.start:
            self.start_loglik = loglik
        cut = loglik - self.drop
        inner = iter(points)
        for i, t in list(self.pending.items()):
            point, value = _excess_at(
                t, None if t == 0 else next(inner), cut, self.ll_common, relocate
            )
            if point is not None:
                self.evaluated.append((t, point))
            self.sent[i].append((cut, t, value))
            try:
                self.pending[i] = self.walks[i].send(value)
            except StopIteration as end:
                del self.pending[i]
                self.done[i] = end.value

    def points(self) -> list[float]:
        """The points the running searches wait at (all > 0 or 0)."""
        return list(self.pending.values())

    def kept(self, loglik_hat: float) -> tuple[dict[int, float], dict[int, float | None]]:
        """For the final cut ``loglik_hat`` − drop: the running searches kept, with the
        points they wait at, and the finished ones kept, with their results (moved)."""
        if not loglik_hat - self.start_loglik <= 0.1 * self.drop:
            return {}, {}
        final = loglik_hat - self.drop
        running: dict[int, float] = {}
        finished: dict[int, float | None] = {}
        for i, sent in self.sent.items():
            if any(abs(value.value) <= abs(final - cut) for cut, _, value in sent):
                continue  # a sign it decided on may differ under the final cut
            if i in self.pending:
                running[i] = self.pending[i]
                continue
            result = self.done[i]
            if result is None or not sent:
                finished[i] = result
                continue
            cut, t, value = sent[-1]
            shift = final - cut  # f with the final cut is f − shift
            slope = value.d1 + (0.0 if math.isnan(value.d2) else value.d2 * (result - t))
            if slope != 0 and abs(shift / slope) <= 1e-7:
                finished[i] = result + shift / slope
        return running, finished


def _excess_at(
    t: float,
    point: _ProfilePoint | None,
    cut: float,
    ll_common: float,
    relocate: Callable[[float], _ProfilePoint],
) -> tuple[_ProfilePoint | None, _Excess]:
    """ℓₚ(t) − cut and its first two derivatives in t, from the profile point at t > 0
    (located fully by ``relocate(t)`` where the sign rests on the correction for β̂), or at
    t = 0 from the common-effect log-likelihood (no point: the curvature is not needed
    there). Returns the point used with them."""
    if point is None:
        return None, _Excess(ll_common - cut, 0.0, math.nan, 0.0)
    if abs(point.loglik - cut) <= point.loglik_error:
        point = relocate(t)
    return point, _Excess(point.loglik - cut, point.slope, point.curvature, point.step)


def _side_by_side(
    searches: list[_Search],
    f: Callable[[list[float]], list[_Excess]],
    waiting: dict[int, float] | None = None,
    finished: dict[int, float | None] | None = None,
) -> list[float | None]:
    """Run searches together: at each round, f is called once for the next point of every
    search still running, and the values are sent back to each. ``waiting``: searches
    already running, and the points they wait at; ``finished``: searches already done,
    and their results; the others are started here."""
    results: list[float | None] = [None] * len(searches)
    pending = dict(waiting or {})
    done = finished or {}
    for i, search in enumerate(searches):
        if i in done:
            results[i] = done[i]
        elif i not in pending:
            try:
                pending[i] = next(search)
            except StopIteration as end:
                results[i] = end.value
    while pending:
        order = list(pending)
        values = f([pending[i] for i in order])
        for i, value in zip(order, values, strict=True):
            try:
                pending[i] = searches[i].send(value)
            except StopIteration as end:
                del pending[i]
                results[i] = end.value
    return results


class _Excess(NamedTuple):
    """f(t) = ℓₚ(t) − (ℓ̂ − drop) and its first two derivatives (NaN if unknown)."""

    value: float
    d1: float
    d2: float
    step: float  # of the profile point (see _ProfilePoint)


def _model_step(f: _Excess, direction: float) -> float:
    """The smallest step d of the given sign (+1, −1) to a zero of the quadratic
    f + f′d + ½f″d²; Newton's step if the quadratic has none in that direction (NaN if
    neither exists)."""
    f0, f1, f2, _ = f
    if not math.isnan(f2) and f2 != 0:
        disc = f1 * f1 - 2 * f0 * f2
        if disc >= 0:
            root = math.sqrt(disc)
            steps = [d for d in ((-f1 - root) / f2, (-f1 + root) / f2) if d * direction > 0]
            if steps:
                return min(steps, key=abs)
    if f1 != 0:
        d = -f0 / f1
        if d * direction > 0:
            return d
    return math.nan


def _walk_to_crossing(
    start: float,
    f_start: _Excess,
    direction: float,
    limit: Callable[[float], float],
    xtol: float,
) -> _Search:
    """The first zero of f met walking from ``start`` (f > 0 there) in ``direction``
    (−1 or +1), or None if f stays positive up to where ``limit`` stops moving (0 below,
    2 τ_max above). Steps are :func:`_model_step`, each no further than ``limit(t)``;
    the first sign change is refined by :func:`_refine_crossing`. A generator: it yields
    each point where it needs f (see :func:`_side_by_side`)."""
    inner, f_inner = start, f_start
    last_step, last_model = math.inf, False  # the step to inner, and whether by the model
    for i in range(200):
        bound = limit(inner)
        if bound == inner:
            return None
        d = _model_step(f_inner, direction)
        if i == 0 and f_inner.d1 == 0 and start > 0 and not math.isnan(d):
            # From τ̂ (slope 0) the quadratic model is symmetric in τ, the profile likelihood
            # is not: it falls faster towards 0 than away from it. The same model in log τ
            # (curvature τ̂² ℓ'' there) gives τ̂·exp(±|d|/τ̂), closer on both sides.
            d = start * math.expm1(direction * abs(d) / start)
        # converged from inside: a step below xtol, or, after two model steps in a row,
        # a predicted error |d|⁴/|previous step|³ below it (see _refine_crossing)
        if (
            not math.isnan(d)
            and (
                abs(d) <= xtol
                or (
                    i >= 2
                    and last_model
                    and abs(d) <= 0.25 * abs(last_step)
                    and d**4 <= xtol * abs(last_step) ** 3
                )
            )
            and f_inner.step <= _FINAL
        ):
            return inner + d
        capped = math.isnan(d) or (inner + d - bound) * direction >= 0
        outer = bound if capped else inner + d
        f_outer = yield outer
        if f_outer.value <= 0:
            return (yield from _refine_crossing(inner, f_inner, outer, f_outer, xtol))
        last_step, last_model = outer - inner, not capped
        inner, f_inner = outer, f_outer
    return None


def _refine_crossing(
    a: float,
    f_a: _Excess,
    b: float,
    f_b: _Excess,
    xtol: float,
) -> _Search:
    """The zero of f in the bracket between a (f > 0) and b (f ≤ 0): steps to the zero of
    the local quadratic (:func:`_model_step`) from the point evaluated last, replaced by
    bisection whenever one would leave the shrinking bracket ("rtsafe"). Fast (cubic)
    convergence near the root; never worse than bisection.

    NaN if the bracket closes on a jump rather than a zero: f falls across it by far
    more than its slopes allow (where β̂(τ) switches between separate maxima in β, as in
    nearly flat likelihoods; the bound is then not determined)."""
    if f_b.value == 0:
        return b
    x, fx = b, f_b
    last_step = math.inf
    last_model = False  # whether the step to x was a model step
    for _ in range(200):
        d = _model_step(fx, math.copysign(1.0, (b if fx.value > 0 else a) - x))
        model = (
            not math.isnan(d) and min(a, b) < x + d < max(a, b) and abs(d) <= 0.5 * abs(last_step)
        )
        new = x + d if model else 0.5 * (a + b)
        step = new - x
        # Model steps converge cubically near the root: after two in a row the error of the
        # point reached is about |step|⁴/|previous step|³ (and that point needs no evaluation).
        if abs(step) <= xtol or (
            model
            and last_model
            and abs(step) <= 0.25 * abs(last_step)
            and step**4 <= xtol * abs(last_step) ** 3
        ):
            if _is_jump(a, f_a, b, f_b, xtol):
                return math.nan
            if fx.step <= _FINAL:
                return new
            new = x + d if not math.isnan(d) and min(a, b) <= x + d <= max(a, b) else x
        last_step, x, last_model = new - x, new, model
        fx = yield x
        if fx.value == 0:
            return x
        if fx.value > 0:
            a, f_a = x, fx
        else:
            b, f_b = x, fx
    return x


def _is_jump(a: float, f_a: _Excess, b: float, f_b: _Excess, xtol: float) -> bool:
    """Whether f falls from f(a) > 0 to f(b) ≤ 0 across a bracket at most 10³ xtol wide by
    over 100 times what its slopes at the ends allow."""
    width = abs(b - a)
    if width > 1e3 * xtol:
        return False
    slope = max(abs(f_a.d1), abs(f_b.d1))
    return f_a.value - f_b.value > 100 * slope * width + 1e-9
