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

import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt

__all__ = [
    "DenseProjection",
    "InterceptProjection",
    "design_matrix",
    "model_dimensions",
    "ones",
    "projection",
    "sum_of_others",
    "total",
]

FloatArray = npt.NDArray[np.float64]


@lru_cache(maxsize=8)
def _ones(k: int) -> FloatArray:
    """A read-only vector of k ones: Σw as the dot product w·1, which for the few tens of
    studies of a meta-analysis costs half of ``w.sum()`` (numpy's reduction machinery has a
    fixed overhead of about a microsecond, paid in every τ² iteration)."""
    ones = np.ones(k)
    ones.setflags(write=False)
    return ones


def ones(k: int) -> FloatArray:
    """A read-only vector of k ones (cached: see :func:`_ones`)."""
    return _ones(k)


def total(w: FloatArray) -> float:
    """Σw (see :func:`_ones`)."""
    return float(w.dot(_ones(w.size)))


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
    computed from residuals (not as Σwy² − (Σwy)²/Σw, which cancels). With ωᵢ = wᵢ/Σw,

        tr P  = Σw − Σw²/Σw = Σ wᵢ(1 − ωᵢ),
        tr P² = Σw² − 2Σw³/Σw + (Σw²/Σw)² = Σ wᵢ²(1 − 2ωᵢ) + (Σw²/Σw)².

    While no study carries more than half the weight (ωᵢ ≤ ½) every term is non-negative
    and the power sums can be used as they stand (one pass over the studies each). A study
    with more than half makes them cancel, and then the leave-one-out sums of
    :func:`sum_of_others` are used instead.
    """

    __slots__ = ("_diag", "_sums", "sum_w", "w")

    p = 1

    def __init__(self, w: FloatArray) -> None:
        self.w = w
        self.sum_w = total(w)
        self._diag: FloatArray | None = None
        self._sums: tuple[float, float, int | None] | None = None

    def _power_sums(self) -> tuple[float, float, int | None]:
        """Σw², Σw³ and the index of a study with more than half the weight (or None)."""
        if self._sums is None:
            w = self.w
            s2 = float(w.dot(w))
            top: int | None = None
            # max wᵢ ≤ √Σw², so no study can have half the weight while 4 Σw² ≤ (Σw)²
            if 4 * s2 > self.sum_w * self.sum_w:
                i = int(self.w.argmax())
                top = i if 2 * float(self.w[i]) > self.sum_w else None
            self._sums = (s2, float((w * w).dot(w)), top)
        return self._sums

    def mean(self, y: FloatArray) -> float:
        """The weighted mean μ̂ = Σwy/Σw."""
        return float(self.w.dot(y)) / self.sum_w

    def residuals(self, y: FloatArray) -> FloatArray:
        """y − Xβ̂ (here y − μ̂)."""
        return y - self.mean(y)

    def apply(self, y: FloatArray) -> FloatArray:
        """Py = W (y − Xβ̂)."""
        return self.w * self.residuals(y)

    def quadratic(self, y: FloatArray) -> float:
        """yᵀPy = Σ wᵢ (yᵢ − μ̂)²."""
        r = self.residuals(y)
        return float(self.w.dot(r * r))

    def diagonal(self) -> FloatArray:
        """Pᵢᵢ = wᵢ Σⱼ≠ᵢ wⱼ / Σw."""
        if self._diag is None:
            self._diag = self.w * (sum_of_others(self.w) / self.sum_w)
        return self._diag

    def trace(self) -> float:
        """tr P."""
        s2, _, dominant = self._power_sums()
        if dominant is None:
            return self.sum_w - s2 / self.sum_w
        return float(self.diagonal().sum())

    def sum_sq(self, a: FloatArray | None = None, b: FloatArray | None = None) -> float:
        """Σᵢⱼ Pᵢⱼ² aᵢ bⱼ (a, b default to 1): tr P² = sum_sq(), tr PVPV = sum_sq(v, v).

        In general: the diagonal terms plus the off-diagonal ones
        Σᵢ wᵢ²aᵢ Σⱼ≠ᵢ wⱼ²bⱼ / (Σw)², both non-negative, so the sum does not cancel.
        """
        if a is None and b is None:
            s2, s3, dominant = self._power_sums()
            if dominant is None:
                ratio = s2 / self.sum_w
                return s2 - 2 * s3 / self.sum_w + ratio * ratio
        d = self.diagonal()
        w2 = self.w * self.w
        aa = 1.0 if a is None else a
        bb = 1.0 if b is None else b
        diag = np.dot(d * d, aa * bb) if np.ndim(aa * bb) else float(np.dot(d, d))
        return float(diag + (w2 * aa).dot(sum_of_others(w2 * bb)) / self.sum_w**2)

    def total_weight(self) -> float:
        """Σw."""
        return self.sum_w

    def logdet_xtwx(self) -> float:
        """log det XᵀWX = log Σw (for the restricted likelihood)."""
        return math.log(self.sum_w)


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

    def total_weight(self) -> float:
        """Σw."""
        return total(self.w)

    def logdet_xtwx(self) -> float:
        """log det XᵀWX."""
        return float(np.linalg.slogdet(self.XtWX)[1])


def design_matrix(X: npt.ArrayLike | None, k: int) -> FloatArray | None:
    """The design matrix as a k × p array, or None for intercept only (the O(k) path).

    Examples
    --------
    >>> design_matrix([1.0, 2.0, 3.0], 3).shape
    (3, 1)
    >>> design_matrix(None, 3) is None
    True
    """
    if X is None:
        return None
    Xa = np.asarray(X, dtype=float)
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    if Xa.shape[0] != k:
        raise ValueError(f"design matrix has {Xa.shape[0]} rows but there are {k} studies")
    return Xa


def model_dimensions(yi: FloatArray, X: FloatArray | None) -> tuple[int, int]:
    """(k, p): studies and model coefficients (p = 1 for intercept only, ``X`` None)."""
    return yi.size, 1 if X is None else X.shape[1]


def projection(w: FloatArray, X: FloatArray | None) -> InterceptProjection | DenseProjection:
    """P for weights w and design X (None: intercept only).

    Examples
    --------
    >>> P = projection(np.array([1.0, 1.0]), None)
    >>> P.quadratic(np.array([0.0, 2.0])), P.trace()
    (2.0, 1.0)
    """
    return InterceptProjection(w) if X is None else DenseProjection(w, X)
