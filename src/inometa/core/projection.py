"""The residual projector of weighted least squares for R analyses × K studies.

Every τ² estimator, the generalized Q statistic and the typical within-study variance are
functions of

    P = W − W X (Xᵀ W X)⁻¹ Xᵀ W,    W = diag(w),

through a handful of quantities: Py, yᵀPy, the diagonal and trace of P, and weighted sums
of its squared entries Σᵢⱼ Pᵢⱼ² aᵢ bⱼ (tr P², tr PVPV, …). Here w is an (R, K) array, one
row per analysis, with wᵢ = 0 for a study absent from an analysis (a mask), so that ragged
study sets share one array. :func:`projection` returns one of two implementations of the
same interface:

* :class:`InterceptProjection` (no moderators: every ``metaprop`` analysis) computes each
  quantity from sums over studies, O(RK) time and memory, so that 10⁶ studies or 10⁵
  analyses cost no more than their data;
* :class:`DenseProjection` (a design matrix, shared (K, p) or per analysis (R, K, p)) forms
  the R matrices P as metafor does (O(RK²) memory, for meta-regression: tens of studies).
  The explicit matrix keeps metafor's rounding behaviour, which an O(Kp²) form cannot match
  when one study carries nearly all the weight of a moderator level.

``tests/test_projection.py`` checks the first against the second.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._rows import row_dot, row_dot3, row_sum

__all__ = [
    "DenseProjection",
    "InterceptProjection",
    "as_design",
    "projection",
    "sum_of_others",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def sum_of_others(u: FloatArray) -> FloatArray:
    """Σⱼ≠ᵢ uᵢⱼ for each entry of an (R, K) array u ≥ 0.

    ``total − uᵢ`` cancels catastrophically only for a term larger than half its row's
    total; at most one term per row is, and its sum is taken directly. (P's diagonal
    wᵢ(1 − wᵢ/Σw) for a study carrying nearly all the weight is the case that matters.)

    Examples
    --------
    >>> sum_of_others(np.array([[1.0, 2.0, 1e20]])).tolist()
    [[1e+20, 1e+20, 3.0]]
    """
    tot = row_sum(u)
    out: FloatArray = tot[:, None] - u
    top = u.argmax(axis=1)
    rows = np.flatnonzero(2 * u[np.arange(u.shape[0]), top] > tot)
    if rows.size:
        rest = u[rows].copy()
        rest[np.arange(rows.size), top[rows]] = 0.0
        out[rows, top[rows]] = row_sum(rest)
    return out


class InterceptProjection:
    """P for intercept-only models, one per row: Pᵢⱼ = wᵢ δᵢⱼ − wᵢ wⱼ / Σw.

    Its quadratic form is Cochran's weighted sum of squares Σ wᵢ (yᵢ − μ̂)², μ̂ = Σwy/Σw,
    computed from residuals (not as Σwy² − (Σwy)²/Σw, which cancels). With ωᵢ = wᵢ/Σw,

        tr P  = Σw − Σw²/Σw = Σ wᵢ(1 − ωᵢ),
        tr P² = Σw² − 2Σw³/Σw + (Σw²/Σw)² = Σ wᵢ²(1 − 2ωᵢ) + (Σw²/Σw)².

    While no study carries more than half its row's weight (ωᵢ ≤ ½) every term is
    non-negative and the power sums can be used as they stand. A study with more than half
    makes them cancel; such rows use the leave-one-out sums of :func:`sum_of_others`.
    """

    __slots__ = ("_diag", "_dominant", "_exact", "_s2", "_s3", "sum_w", "w")

    p = 1

    def __init__(self, w: FloatArray) -> None:
        self.w = w
        self.sum_w = row_sum(w)
        self._s2: FloatArray | None = None
        self._s3: FloatArray | None = None
        self._dominant: IntArray | None = None
        self._diag: FloatArray | None = None
        self._exact: FloatArray | None = None

    def _power_sums(self) -> tuple[FloatArray, FloatArray, IntArray]:
        """Σw², Σw³ and the rows where a study may carry more than half the weight."""
        if self._s2 is None or self._s3 is None or self._dominant is None:
            self._s2 = row_dot(self.w, self.w)
            self._s3 = row_dot3(self.w, self.w, self.w)
            # max wᵢ ≤ √Σw², so no study can have half the weight while 4 Σw² ≤ (Σw)²
            self._dominant = np.flatnonzero(4 * self._s2 > self.sum_w * self.sum_w)
        return self._s2, self._s3, self._dominant

    def mean(self, y: FloatArray) -> FloatArray:
        """The weighted means μ̂ = Σwy/Σw."""
        return row_dot(self.w, y) / self.sum_w

    def residuals(self, y: FloatArray, out: FloatArray | None = None) -> FloatArray:
        """y − Xβ̂ (here y − μ̂); ``out``: a buffer of y's shape to write it in."""
        return np.subtract(y, self.mean(y)[:, None], out=out)

    def apply(self, y: FloatArray, out: FloatArray | None = None) -> FloatArray:
        """Py = W (y − Xβ̂)."""
        r = self.residuals(y, out)
        return np.multiply(self.w, r, out=r)

    def quadratic(self, y: FloatArray, out: FloatArray | None = None) -> FloatArray:
        """yᵀPy = Σ wᵢ (yᵢ − μ̂)²."""
        r = self.residuals(y, out)
        return row_dot3(self.w, r, r)

    def diagonal(self) -> FloatArray:
        """Pᵢᵢ = wᵢ Σⱼ≠ᵢ wⱼ / Σw."""
        if self._diag is None:
            dominant = self._power_sums()[2]
            self._diag = self.w * ((self.sum_w[:, None] - self.w) / self.sum_w[:, None])
            if dominant.size:
                self._diag[dominant] = self._exact_diagonal()
        return self._diag

    def _exact_diagonal(self) -> FloatArray:
        """Pᵢᵢ of the analyses with a dominant study, from the sums of the other studies'
        weights."""
        if self._exact is None:
            rows = self._power_sums()[2]
            w = self.w[rows]
            self._exact = w * (sum_of_others(w) / self.sum_w[rows, None])
        return self._exact

    def trace(self) -> FloatArray:
        """tr P."""
        s2, _, dominant = self._power_sums()
        out = self.sum_w - s2 / self.sum_w
        if dominant.size:
            out[dominant] = row_sum(self._exact_diagonal())
        return np.asarray(out, dtype=float)

    def sum_sq(self, a: FloatArray | None = None, b: FloatArray | None = None) -> FloatArray:
        """Σᵢⱼ Pᵢⱼ² aᵢ bⱼ (a, b default to 1): tr P² = sum_sq(), tr PVPV = sum_sq(v, v).

        In general: the diagonal terms plus the off-diagonal ones
        Σᵢ wᵢ²aᵢ Σⱼ≠ᵢ wⱼ²bⱼ / (Σw)², both non-negative, so the sum does not cancel.
        """
        if a is None and b is None:
            s2, s3, dominant = self._power_sums()
            ratio = s2 / self.sum_w
            out = s2 - 2 * s3 / self.sum_w + ratio * ratio
            if dominant.size:
                d = self._exact_diagonal()
                w2 = self.w[dominant] ** 2
                out[dominant] = row_dot(d, d) + row_dot(w2, sum_of_others(w2)) / (
                    self.sum_w[dominant] ** 2
                )
            return np.asarray(out, dtype=float)
        d = self.diagonal()
        w2 = self.w * self.w
        aa = np.ones_like(w2) if a is None else a
        bb = np.ones_like(w2) if b is None else b
        return row_dot(d * d, aa * bb) + row_dot(w2 * aa, sum_of_others(w2 * bb)) / self.sum_w**2

    def total_weight(self) -> FloatArray:
        """Σw."""
        return self.sum_w

    def logdet_xtwx(self) -> FloatArray:
        """log det XᵀWX = log Σw (for the restricted likelihood)."""
        return np.asarray(np.log(self.sum_w), dtype=float)


class DenseProjection:
    """P for a design matrix X, shared (K, p) or one per row (R, K, p), full column rank on
    the studies present; formed explicitly (R × K × K) as metafor does."""

    __slots__ = ("P", "XtWX", "p", "w")

    def __init__(self, w: FloatArray, X: FloatArray) -> None:
        self.w = w
        self.p = X.shape[-1]
        WX = X * w[:, :, None]  # (R, K, p)
        self.XtWX = np.swapaxes(X, -1, -2) @ WX if X.ndim == 3 else np.einsum("kp,rkq->rpq", X, WX)
        diag = np.zeros((*w.shape, w.shape[1]))
        idx = np.arange(w.shape[1])
        diag[:, idx, idx] = w
        self.P = diag - WX @ np.linalg.solve(self.XtWX, np.swapaxes(WX, -1, -2))

    def apply(self, y: FloatArray, out: FloatArray | None = None) -> FloatArray:
        """Py (``out`` is not used: the interface of :class:`InterceptProjection`)."""
        return np.asarray((self.P @ y[:, :, None])[:, :, 0], dtype=float)

    def residuals(self, y: FloatArray, out: FloatArray | None = None) -> FloatArray:
        """y − Xβ̂ = W⁻¹Py (0 where a study is absent)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.w > 0, self.apply(y) / self.w, 0.0)

    def quadratic(self, y: FloatArray, out: FloatArray | None = None) -> FloatArray:
        """yᵀPy."""
        return row_dot(y, self.apply(y))

    def diagonal(self) -> FloatArray:
        """Pᵢᵢ."""
        return np.array(np.diagonal(self.P, axis1=1, axis2=2), dtype=float)

    def trace(self) -> FloatArray:
        """tr P."""
        return np.asarray(np.trace(self.P, axis1=1, axis2=2), dtype=float)

    def sum_sq(self, a: FloatArray | None = None, b: FloatArray | None = None) -> FloatArray:
        """Σᵢⱼ Pᵢⱼ² aᵢ bⱼ (a, b default to 1)."""
        P2 = self.P * self.P
        if a is not None:
            P2 = P2 * a[:, :, None]
        if b is not None:
            P2 = P2 * b[:, None, :]
        return np.asarray(P2.sum(axis=(1, 2)), dtype=float)

    def total_weight(self) -> FloatArray:
        """Σw."""
        return row_sum(self.w)

    def logdet_xtwx(self) -> FloatArray:
        """log det XᵀWX."""
        return np.asarray(np.linalg.slogdet(self.XtWX)[1], dtype=float)


Projection = InterceptProjection | DenseProjection


def as_design(X: npt.ArrayLike | None, r: int, k: int) -> FloatArray | None:
    """The design matrix as a (K, p) or (R, K, p) float array, or None for intercept only.

    A 1-D X of length K is one moderator column.

    Examples
    --------
    >>> as_design([1.0, 2.0, 3.0], 1, 3).shape
    (3, 1)
    >>> as_design(None, 1, 3) is None
    True
    """
    if X is None:
        return None
    Xa = np.asarray(X, dtype=float)
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    if Xa.ndim not in (2, 3) or Xa.shape[-2] != k or (Xa.ndim == 3 and Xa.shape[0] != r):
        raise ValueError(
            f"the design matrix has shape {Xa.shape}; it must be (K, p) or (R, K, p) "
            f"for R = {r} analyses of K = {k} studies"
        )
    return Xa


def projection(w: FloatArray, X: FloatArray | None) -> Projection:
    """P for weights w (R, K) and design X (None: intercept only).

    Examples
    --------
    >>> P = projection(np.array([[1.0, 1.0]]), None)
    >>> P.quadratic(np.array([[0.0, 2.0]])).tolist(), P.trace().tolist()
    ([2.0], [1.0])
    """
    return InterceptProjection(w) if X is None else DenseProjection(w, X)
