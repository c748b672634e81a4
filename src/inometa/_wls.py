"""The residual projector of weighted least squares, without the k × k matrix.

Every τ² estimator, the generalized Q statistic and the typical within-study variance are
functions of

    P = W − W X (Xᵀ W X)⁻¹ Xᵀ W,    W = diag(w),

through a handful of quantities: Py, yᵀPy, the diagonal and trace of P, and weighted sums
of its squared entries Σᵢⱼ Pᵢⱼ² aᵢ bⱼ (tr P², tr PVPV, …). metafor forms P explicitly,
which costs O(k²) memory and O(k²)–O(k³) time; a meta-analysis of 10⁵ studies then needs
tens of gigabytes.

Two implementations share one interface: :class:`InterceptProjection` for the model
without moderators (every ``metaprop`` analysis) computes each quantity from sums over
studies, in O(k) time and memory; :class:`DenseProjection` forms P for models with
moderators. ``tests/test_wls.py`` checks the first against the second.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["DenseProjection", "InterceptProjection", "projection", "sum_of_others"]

FloatArray = npt.NDArray[np.float64]


def sum_of_others(u: FloatArray, top: int | None = None) -> FloatArray:
    """Σⱼ≠ᵢ uⱼ for each i, for u ≥ 0 (``top``: the index of the largest uᵢ, if known).

    ``total − uᵢ`` cancels catastrophically only for a term larger than half the total; at
    most one term is, and its sum is taken directly. (P's diagonal wᵢ(1 − wᵢ/Σw) for a study
    carrying nearly all the weight is the case that matters.)

    Examples
    --------
    >>> sum_of_others(np.array([1.0, 2.0, 1e20])).tolist()
    [1e+20, 1e+20, 3.0]
    """
    total = u.sum()
    out: FloatArray = total - u
    i = int(u.argmax()) if top is None else top
    if 2 * u[i] > total:
        out[i] = u[:i].sum() + u[i + 1 :].sum()
    return out


class InterceptProjection:
    """P for an intercept-only model: Pᵢⱼ = wᵢ δᵢⱼ − wᵢ wⱼ / Σw.

    Its quadratic form is Cochran's weighted sum of squares Σ wᵢ (yᵢ − μ̂)², μ̂ = Σwy/Σw,
    computed from residuals (not as Σwy² − (Σwy)²/Σw, which cancels).
    """

    __slots__ = ("_diag", "_top", "sum_w", "w")

    p = 1

    def __init__(self, w: FloatArray) -> None:
        self.w = w
        self.sum_w = float(w.sum())
        # the largest weight (also the largest squared weight) for sum_of_others
        self._top = int(w.argmax())
        self._diag: FloatArray | None = None

    def mean(self, y: FloatArray) -> float:
        """The weighted mean μ̂ = Σwy/Σw."""
        return float(np.dot(self.w, y)) / self.sum_w

    def residuals(self, y: FloatArray) -> FloatArray:
        """y − Xβ̂ (here y − μ̂)."""
        return y - self.mean(y)

    def apply(self, y: FloatArray) -> FloatArray:
        """Py = W (y − Xβ̂)."""
        return self.w * self.residuals(y)

    def quadratic(self, y: FloatArray) -> float:
        """yᵀPy = Σ wᵢ (yᵢ − μ̂)²."""
        r = self.residuals(y)
        return float(np.dot(self.w, r * r))

    def diagonal(self) -> FloatArray:
        """Pᵢᵢ = wᵢ Σⱼ≠ᵢ wⱼ / Σw (cached: estimators ask for it more than once)."""
        if self._diag is None:
            self._diag = self.w * (sum_of_others(self.w, self._top) / self.sum_w)
        return self._diag

    def trace(self) -> float:
        """tr P."""
        return float(self.diagonal().sum())

    def sum_sq(self, a: FloatArray | None = None, b: FloatArray | None = None) -> float:
        """Σᵢⱼ Pᵢⱼ² aᵢ bⱼ (a, b default to 1): tr P² = sum_sq(), tr PVPV = sum_sq(v, v).

        Diagonal terms plus the off-diagonal ones Σᵢ wᵢ²aᵢ Σⱼ≠ᵢ wⱼ²bⱼ / (Σw)², both
        non-negative, so the sum does not cancel.
        """
        d = self.diagonal()
        w2 = self.w * self.w
        if a is None and b is None:  # tr P², once per Fisher-scoring step: the short way
            return float(np.dot(d, d) + np.dot(w2, sum_of_others(w2, self._top)) / self.sum_w**2)
        aa = 1.0 if a is None else a
        bb = 1.0 if b is None else b
        diag = np.dot(d * d, aa * bb)
        return float(diag + np.dot(w2 * aa, sum_of_others(w2 * bb)) / self.sum_w**2)

    def logdet_xtwx(self) -> float:
        """log det XᵀWX = log Σw (for the restricted likelihood)."""
        return float(np.log(self.sum_w))


class DenseProjection:
    """P for a general k × p design matrix X (full column rank), formed explicitly as
    metafor does: O(k²) memory, for models with moderators (meta-regression, tens of
    studies). The explicit matrix keeps metafor's rounding behaviour, which an O(kp²)
    form cannot match when one study carries nearly all the weight of a moderator level.
    """

    __slots__ = ("P", "XtWX", "p", "w")

    def __init__(self, w: FloatArray, X: FloatArray) -> None:
        self.w = w
        self.p = X.shape[1]
        WX = X * w[:, None]
        self.XtWX = X.T @ WX
        self.P = np.diag(w) - WX @ np.linalg.solve(self.XtWX, WX.T)

    def apply(self, y: FloatArray) -> FloatArray:
        """Py."""
        return np.asarray(self.P @ y, dtype=float)

    def residuals(self, y: FloatArray) -> FloatArray:
        """y − Xβ̂ = W⁻¹Py."""
        return self.apply(y) / self.w

    def quadratic(self, y: FloatArray) -> float:
        """yᵀPy."""
        return float(y @ self.P @ y)

    def diagonal(self) -> FloatArray:
        """Pᵢᵢ."""
        return np.array(np.diag(self.P), dtype=float)

    def trace(self) -> float:
        """tr P."""
        return float(np.trace(self.P))

    def sum_sq(self, a: FloatArray | None = None, b: FloatArray | None = None) -> float:
        """Σᵢⱼ Pᵢⱼ² aᵢ bⱼ (a, b default to 1)."""
        P2 = self.P * self.P
        if a is not None:
            P2 = P2 * a[:, None]
        if b is not None:
            P2 = P2 * b[None, :]
        return float(np.sum(P2))

    def logdet_xtwx(self) -> float:
        """log det XᵀWX."""
        return float(np.linalg.slogdet(self.XtWX)[1])


def projection(w: FloatArray, X: FloatArray | None) -> InterceptProjection | DenseProjection:
    """P for weights w and design X (None: intercept only).

    Examples
    --------
    >>> P = projection(np.array([1.0, 1.0]), None)
    >>> P.quadratic(np.array([0.0, 2.0])), P.trace()
    (2.0, 1.0)
    """
    return InterceptProjection(w) if X is None else DenseProjection(w, X)
