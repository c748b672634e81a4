"""Row-wise reductions of (R, K) arrays, shared by the batch modules."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._wls import ones

__all__ = ["EPS", "Workspace", "masked_mean", "row_dot", "row_dot3", "row_sum"]

FloatArray = npt.NDArray[np.float64]

EPS = float(np.finfo(float).eps)


def row_sum(a: FloatArray) -> FloatArray:
    """Row sums (a matrix–vector product: far faster than ``sum(axis=1)`` over short rows).

    Examples
    --------
    >>> row_sum(np.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [3.0, 7.0]
    """
    out: FloatArray = a.dot(ones(a.shape[1]))
    return out


def row_dot(a: FloatArray, b: FloatArray) -> FloatArray:
    """Row-wise Σⱼ aᵢⱼ bᵢⱼ.

    Examples
    --------
    >>> row_dot(np.ones((2, 3)), np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]])).tolist()
    [6.0, 1.0]
    """
    if a.shape[0] == 1:  # one analysis: a dot product, without einsum's fixed cost
        return np.array([a.reshape(-1).dot(b.reshape(-1))])
    out: FloatArray = np.einsum("ij,ij->i", a, b)
    return out


def row_dot3(a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
    """Row-wise Σⱼ aᵢⱼ bᵢⱼ cᵢⱼ, without a temporary array of the product.

    Examples
    --------
    >>> row_dot3(np.ones((1, 2)), np.full((1, 2), 2.0), np.array([[1.0, 3.0]])).tolist()
    [8.0]
    """
    if a.shape[0] == 1:
        return np.array([(a * b).reshape(-1).dot(c.reshape(-1))])
    out: FloatArray = np.einsum("ij,ij,ij->i", a, b, c)
    return out


def masked_mean(V: FloatArray, M: FloatArray, k: FloatArray) -> FloatArray:
    """Mean of the entries present (M = 1) in each row; k = the number present."""
    return np.asarray(row_sum(M * V) / k, dtype=float)


class Workspace:
    """Reused (rows × studies) buffers for the hot loops: a fresh array of this size costs
    more in page faults than the arithmetic done in it."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self._bufs = [np.empty(shape) for _ in range(3)]

    def get(self, n: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Three buffers of n rows."""
        a, b, c = (buf[:n] for buf in self._bufs)
        return a, b, c
