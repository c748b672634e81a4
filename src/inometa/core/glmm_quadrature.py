"""The binomial–normal model's marginal likelihood by quadrature, with exact derivatives.

Study i contributes Lᵢ = ∫ exp(gᵢ(z)) dz, gᵢ(z) = log Bin(xᵢ | nᵢ, expit(ηᵢ + τz)) + log φ(z),
and ℓ = Σᵢ log Lᵢ; :mod:`inometa.core.glmm` describes the two rules and fits the model.
Several copies of the studies, each at its own (β, τ), are evaluated in one pass by
:meth:`Likelihood.at_many`: an evaluation of a few dozen studies is mostly the fixed cost of
its numpy calls, so the two searches for the bounds of the τ² interval, stacked, cost
little more than one.
"""

from __future__ import annotations

import functools
import math
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.special import expit, gammaln

__all__ = ["Evaluation", "Likelihood", "Nagq"]

FloatArray = npt.NDArray[np.float64]
Nagq = int | Literal["exact"]

# The exact rule: nodes per panel and the falls of gᵢ that end the panels (log Lᵢ within
# 1e-12 of scipy's quad on 0/n, n/n and interior studies: tests/test_glmm.py).
_NODES = 20
_FALLS = (3.0, 40.0)
_WITHIN = (math.exp(-0.1), math.exp(0.4))  # a panel end's fall / the fall aimed at
# the four panel ends: their sides, the falls there, the panels' widths (ends @ _WIDTHS),
# and each panel's width spread to its nodes
_SIGN, _FALL = np.array([-1.0, -1.0, 1.0, 1.0]), np.array(_FALLS * 2)
_WIDTHS = np.array([[1.0, -1, 0, 0], [0, 1, 0, 0], [0, 0, 1, -1], [0, 0, 0, 1]])
_SPREAD = np.repeat(np.eye(4), _NODES, axis=1)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@functools.lru_cache(maxsize=32)
def _rule(nagq: Nagq) -> tuple[FloatArray, FloatArray]:
    """Nodes and log weights: for the exact rule, the offsets of the 4 × 20 nodes from the
    mode as d @ u (d: the four panel ends) and log weights less log widths; for lme4's,
    √2 tⱼ and log(√2 wⱼ) + tⱼ² of the Gauss–Hermite rule."""
    if nagq == "exact":
        t, w = np.polynomial.legendre.leggauss(_NODES)
        v, o = (t + 1) / 2, np.zeros(_NODES)
        u = np.array([[-v, v - 1, o, o], [o, -v, o, o], [o, o, v, 1 - v], [o, o, o, v]])
        u, log_w = u.reshape(4, -1), np.tile(np.log(w / 2), 4)
    else:
        t, w = np.polynomial.hermite.hermgauss(nagq)
        u, log_w = math.sqrt(2) * t, np.log(math.sqrt(2) * w) + t * t
    return u, log_w


def _softplus_expit(lin: FloatArray) -> tuple[FloatArray, FloatArray]:
    """log(1 + eˡⁱⁿ) and expit(lin) from one exponential (numpy's logaddexp and scipy's
    expit cost several times more on these small arrays)."""
    e = np.exp(-np.abs(lin))
    q = 1 / (1 + e)
    return np.log1p(e) + np.maximum(lin, 0), np.where(lin >= 0, q, e * q)


class Evaluation(NamedTuple):
    """ℓ at (β, τ), its gradient and its Hessian in (β, τ) (β first, τ last)."""

    loglik: float
    grad: FloatArray
    hess: FloatArray


class Likelihood:
    """The marginal log-likelihood of the binomial–normal model and its derivatives.

    The modes and panel ends found last start the next (bracketed) searches: successive
    evaluations are at nearby (β, τ).

    Parameters
    ----------
    x, n
        Event counts and totals (floats).
    X
        k × p design matrix.
    nagq
        ``"exact"`` or a number of lme4's adaptive Gauss–Hermite nodes.

    Examples
    --------
    >>> lik = Likelihood(np.array([3.0, 5]), np.array([10.0, 12]), np.ones((2, 1)), "exact")
    >>> one = lik.at(np.array([-0.5]), 0.3)
    >>> both = lik.at_many(np.array([[-0.5], [0.2]]), np.array([0.3, 0.6]))
    >>> one.grad.shape, one.hess.shape, bool(np.isclose(both[0].loglik, one.loglik, rtol=1e-12))
    ((2,), (2, 2), True)
    """

    def __init__(self, x: FloatArray, n: FloatArray, X: FloatArray, nagq: Nagq) -> None:
        self.x, self.n, self.X, self.nagq = x, n, X, nagq
        outer = (X[:, :, None] * X[:, None, :]).reshape(x.size, -1)
        self._design = np.column_stack((X, np.ones(x.size), outer))
        # where the gradient and the Hessian are in the 5 × (p + 1 + p²) sums with the design
        p, cols = X.shape[1], X.shape[1] + 1 + X.shape[1] ** 2
        hess = [
            [(2, p + 1 + a * p + b) if b < p else (3, a) for b in range(p + 1)] for a in range(p)
        ]
        hess.append([(3, b) for b in range(p)] + [(4, p)])
        cells = [(0, i) for i in range(p)] + [(1, p)] + [cell for row in hess for cell in row]
        self._pick = np.array([row * cols + col for row, col in cells])
        self.logc = gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1) - _LOG_SQRT_2PI
        self.u, self.log_w = _rule(nagq)
        # at first the normal–normal model of the logits (+½): mode τ(yᵢ − ηᵢ)/(vᵢ + τ²)
        v = 1 / (x + 0.5) + 1 / (n - x + 0.5)
        self._linear = (np.log((x + 0.5) / (n - x + 0.5)), 0 * x, 1 / v)
        self._ends: FloatArray | None = None
        self._sigma, self._copies = np.ones_like(x), 0
        self._stack(1)

    def _stack(self, copies: int) -> None:
        """The per-study arrays for ``copies`` copies of the studies; each copy's searches
        start where the first copy's stopped."""
        if copies == self._copies:
            return
        k, m = self.x.size, self.u.shape[-1]

        def tile(a: FloatArray) -> FloatArray:  # (np.tile costs ~7 µs a call)
            return np.concatenate((a[:k],) * copies) if copies > 1 else a[:k]

        self._x, self._n, self._logc = tile(self.x), tile(self.n), tile(self.logc)
        self._xc, self._nc = self._x[:, None], self._n[:, None]
        # buffers: the node values of (r, r², w, 1) and of e·(1, z, z²) (e: the integrand)
        self._rows, self._e = np.ones((k * copies, 4, m)), np.empty((k * copies, 3, m))
        lin, r, w = self._linear
        self._linear, self._sigma = (tile(lin), tile(r), tile(w)), tile(self._sigma)
        if self._ends is not None:
            self._ends = tile(self._ends)
        self._copies = copies

    def modes(
        self, eta: FloatArray, tau: float | FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Mode ẑᵢ, scale σ̂ᵢ = (−gᵢ''(ẑᵢ))^(−½) and p̂ᵢ = expit(ηᵢ + τẑᵢ) of each integrand.

        gᵢ'(z) = τ(xᵢ − nᵢp) − z decreases, with its root in [τ(xᵢ − nᵢ), τxᵢ]. Halley steps
        from the root of gᵢ' with p linearised at the last ηᵢ + τẑᵢ (exact in a jump of τ),
        bisection for a step that leaves the bracket or cycles, and for all after the 20th.
        The exact rule needs the mode only where its panels meet (their falls, measured from
        gᵢ there, can only widen them): to a tenth of the integrand's width.
        """
        x, n = self._x, self._n
        lin, r, w = self._linear  # gᵢ' linearised where the last modes were
        z = tau * (r - w * (eta - lin)) / (1 + tau * tau * w)
        tau2n = tau * tau * n
        for i in range(200):
            p = expit(eta + tau * z)
            grad = tau * (x - n * p) - z
            curv = tau2n * (p - p * p)  # −g'' − 1
            big = curv + 1
            # exact rule: within a tenth of the integrand's width |g'|/√−g''; lme4's: to 1e-13
            close = 0.01 * big if self.nagq == "exact" else (1e-13 + 1e-13 * np.abs(z).max()) ** 2
            if (grad * grad <= close).all():
                break
            if i == 0:  # (the start is usually close enough: no bracket needed)
                lo, hi, before = tau * (x - n), tau * x, np.full_like(z, np.nan)
            lo = np.where(grad > 0, np.maximum(z, lo), lo)
            hi = np.where(grad < 0, np.minimum(z, hi), hi)
            step = z + grad * big / (big * big - 0.5 * tau * grad * curv * (1 - 2 * p))
            halley = (step >= lo) & (step <= hi) & (step != before) & (i < 20)
            before, z = z, np.where(halley, step, 0.5 * (lo + hi))
        s2 = 1 / big
        self._linear = (eta + tau * z, x - n * p, n * (p - p * p))
        return z, np.sqrt(s2), p

    def _panel_ends(
        self, eta: FloatArray, tau: float | FloatArray, zhat: FloatArray, sigma: FloatArray
    ) -> FloatArray:
        """Distances from ẑᵢ (k × 4: below, below, above, above) where gᵢ has fallen by 3
        and 40. The fall F(d) lies between d²/2 and d²(1 + τ²nᵢ/4)/2; Newton steps on log F
        against d (exact for the double-exponential fall beyond a 0/n study's mode), with
        bisection outside the bracket and after the 10th. F within −10%…+50% will do.
        (``tau``: a number, or a column of one τ per study.)"""
        sign, fall, zc = _SIGN, _FALL, zhat[:, None]
        lo, hi = np.sqrt(2 * fall / (1 + tau * tau * self._nc / 4)), np.sqrt(2 * fall)
        if self._ends is None:  # a normal integrand's ends, F = d²/2σ²
            d: FloatArray = sigma[:, None] * np.sqrt(2 * fall)
        else:  # the last ends, rescaled by the change in the integrand's curvature
            d = self._ends * (sigma / self._sigma)[:, None]
        self._sigma = sigma
        for i in range(100):
            z = np.concatenate([zc, zc + sign * d], axis=1)  # gᵢ at the mode and the ends
            lin = eta[:, None] + tau * z
            e = np.exp(-np.abs(lin))
            g = self._xc * lin - self._nc * (np.log1p(e) + np.maximum(lin, 0)) - 0.5 * z * z
            ratio = np.maximum(g[:, :1] - g[:, 1:], 1e-300) / fall  # (ẑ is not exact)
            if ratio.min() >= _WITHIN[0] and ratio.max() <= _WITHIN[1]:
                break
            drop, miss = ratio * fall, np.log(ratio)
            lo = np.where(miss < 0, np.maximum(d, lo), lo)
            hi = np.where(miss > 0, np.minimum(d, hi), hi)
            p = np.where(lin[:, 1:] >= 0, 1, e[:, 1:]) / (1 + e[:, 1:])
            slope = sign * (z[:, 1:] - tau * (self._xc - self._nc * p))
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                step = d - miss * drop / slope
            d = np.where((step > lo) & (step < hi) & (i < 10), step, 0.5 * (lo + hi))
        self._ends = d
        return d

    def per_study(self, eta: FloatArray, tau: float | FloatArray) -> tuple[FloatArray, FloatArray]:
        """log Lᵢ and the study derivatives in (ηᵢ, τ): rows ∂η, ∂τ, ∂ηη, ∂ητ, ∂ττ. ``tau``
        is a number or one τ per study (all copies)."""
        x, n, xc, nc = self._x, self._n, self._xc, self._nc
        if np.ndim(tau) == 0 and tau == 0:  # Bin(xᵢ | nᵢ, p̂ᵢ) φ(z): closed form
            p = expit(eta)
            r, w = x - n * p, n * (p - p * p)
            ll = self._logc + _LOG_SQRT_2PI + x * eta - n * np.logaddexp(0, eta)
            return ll, np.array([r, 0 * r, -w, 0 * r, r * r - w])
        tc = tau[:, None] if isinstance(tau, np.ndarray) else tau
        zhat, sigma, phat = self.modes(eta, tau)
        if self.nagq == "exact":
            d = self._panel_ends(eta, tc, zhat, sigma)
            z = zhat[:, None] + d @ self.u
            log_w = np.log(d @ _WIDTHS) @ _SPREAD + self.log_w
        else:
            z = zhat[:, None] + sigma[:, None] * self.u
            log_w = np.log(sigma)[:, None] + self.log_w
        lin = eta[:, None] + tc * z
        softplus, p = _softplus_expit(lin)
        a = xc * lin - nc * softplus - 0.5 * z * z + log_w
        top = a.max(axis=1)
        e, rows = self._e, self._rows
        np.exp(a - top[:, None], out=e[:, 0])
        # posterior means of (r, r², w = np(1 − p), 1) × (1, z, z²), r = x − np
        r = np.subtract(xc, nc * p, out=rows[:, 0])
        np.multiply(r, r, out=rows[:, 1])
        np.multiply(nc, p - p * p, out=rows[:, 2])
        np.multiply(e[:, 0], z, out=e[:, 1])
        np.multiply(e[:, 1], z, out=e[:, 2])
        sums = (rows @ e.transpose(0, 2, 1)).reshape(-1, 12)
        total = sums[:, 9].copy()
        sums /= total[:, None]
        m_e, m_t = sums[:, 0], sums[:, 1]
        hess = [sums[:, 3] - m_e * m_e - sums[:, 6], sums[:, 4] - m_e * m_t - sums[:, 7]]
        hess.append(sums[:, 5] - m_t * m_t - sums[:, 8])
        if self.nagq != "exact":
            pi = e[:, 0] / total[:, None]
            m_e, m_t = self._node_motion(tau, tc, z, pi, r, zhat, sigma, phat, (m_e, m_t))
        return self._logc + top + np.log(total), np.array([m_e, m_t, *hess])

    def _node_motion(
        self, tau: float | FloatArray, tc: float | FloatArray, z: FloatArray, pi: FloatArray,
        r: FloatArray, zhat: FloatArray, sigma: FloatArray, phat: FloatArray,
        m: tuple[FloatArray, FloatArray],
    ) -> tuple[FloatArray, FloatArray]:  # fmt: skip
        """∂θ log L̃ᵢ = ∂θσ̂/σ̂ + Σⱼ πⱼ[∂θgᵢ(zⱼ) + gᵢ'(zⱼ)(∂θẑ + uⱼ∂θσ̂)] for Gauss–Hermite
        nodes zⱼ = ẑ + uⱼσ̂ that move with θ: ∂θẑ = σ̂²∂θgᵢ'(ẑ) (the mode equation),
        σ̂ = S^(−½), S = 1 + τ²ŵ, ŵ = np̂(1 − p̂), ∂S/∂(η + τẑ) = τ²ŵ(1 − 2p̂)."""
        x, n, (m_e, m_t) = self._x, self._n, m
        s2 = sigma * sigma
        w_hat = n * (phat - phat * phat)
        zh_e, zh_t = -s2 * tau * w_hat, s2 * (x - n * phat - tau * w_hat * zhat)
        dw = tau * tau * w_hat * (1 - 2 * phat)
        sg_e = -0.5 * s2 * dw * (1 + tau * zh_e)  # ∂σ̂/σ̂ = −½ σ̂² ∂S
        sg_t = -0.5 * s2 * (2 * tau * w_hat + dw * (zhat + tau * zh_t))
        gz = tc * r - z
        f0 = (pi * gz).sum(axis=1)
        f1 = (pi * gz * (z - zhat[:, None])).sum(axis=1)  # uⱼ ∂σ̂ = (zⱼ − ẑ) ∂σ̂/σ̂
        return m_e + sg_e + zh_e * f0 + sg_e * f1, m_t + sg_t + zh_t * f0 + sg_t * f1

    def at(self, beta: FloatArray, tau: float, hessian: bool = True) -> Evaluation:
        """ℓ, gradient and Hessian in (β, τ). For lme4's approximation the Hessian is a
        forward difference of its gradient (steps 1e-7: ~1e-7 relative, far inside the 1e-4
        at which lme4's own numerical Hessian agrees with the exact one)."""
        return self.at_many(beta[None, :], np.array([tau]), hessian)[0]

    def at_many(
        self, betas: FloatArray, taus: FloatArray, hessian: bool = True
    ) -> list[Evaluation]:
        """:meth:`at` for c copies of the studies in one pass: copy j at (``betas[j]``,
        ``taus[j]``) (``betas``: c × p)."""
        c, k, p = taus.size, self.x.size, self.X.shape[1]
        self._stack(c)
        eta = (betas @ self.X.T).reshape(-1)
        ll, rows = self.per_study(eta, float(taus[0]) if c == 1 else np.repeat(taus, k))
        sums = rows.reshape(5, c, k) @ self._design  # Xᵀ rowⱼ, Σᵢ rowⱼ, Σᵢ rowⱼ xᵢxᵢᵀ
        picked = sums.transpose(1, 0, 2).reshape(c, -1)[:, self._pick]
        grad, hess = picked[:, : p + 1], picked[:, p + 1 :].reshape(c, p + 1, p + 1)
        if self.nagq != "exact" and hessian and taus.min() > 0:  # (τ = 0: closed form, exact)
            for j in range(p + 1):  # (every copy moved in its own β_j or τ)
                h = 1e-7 * (1 + np.abs(betas[:, j] if j < p else taus))
                moved = self.at_many(
                    betas + np.outer(h, np.arange(p) == j), taus + h * (j == p), False
                )
                hess[:, :, j] = (np.array([ev.grad for ev in moved]) - grad) / h[:, None]
            hess = 0.5 * (hess + hess.transpose(0, 2, 1))
        lls = ll.reshape(c, k).sum(axis=1)
        return [Evaluation(float(lls[j]), grad[j], hess[j]) for j in range(c)]
