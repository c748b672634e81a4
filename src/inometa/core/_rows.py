"""Row-wise reductions of (R, K) arrays, shared by the batch modules."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["EPS", "Workspace", "masked_mean", "row_dot", "row_sum"]

FloatArray = npt.NDArray[np.float64]

EPS = float(np.finfo(float).eps)


def row_sum(a: FloatArray) -> FloatArray:
    """Row sums (a matrix–vector product: far faster than ``sum(axis=1)`` over short rows).

    Examples
    --------
    >>> row_sum(np.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [3.0, 7.0]
    """
    return np.asarray(a @ np.ones(a.shape[1]), dtype=float)


def row_dot(a: FloatArray, b: FloatArray) -> FloatArray:
    """Row-wise Σⱼ aᵢⱼ bᵢⱼ.

    Examples
    --------
    >>> row_dot(np.ones((2, 3)), np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]])).tolist()
    [6.0, 1.0]
    """
    return np.asarray(np.einsum("ij,ij->i", a, b), dtype=float)


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
