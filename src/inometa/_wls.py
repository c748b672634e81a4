"""Sums over short vectors without numpy's reduction overhead.

For the few tens of studies of a meta-analysis, ``w.dot(ones)`` costs half of ``w.sum()``
(numpy's reduction machinery has a fixed overhead of about a microsecond). The residual
projector of weighted least squares itself is :mod:`inometa.core.projection`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

__all__ = ["ones", "total"]

FloatArray = npt.NDArray[np.float64]


@lru_cache(maxsize=8)
def _ones(k: int) -> FloatArray:
    """A read-only vector of k ones (cached)."""
    ones = np.ones(k)
    ones.setflags(write=False)
    return ones


def ones(k: int) -> FloatArray:
    """A read-only vector of k ones (cached).

    Examples
    --------
    >>> ones(3).tolist()
    [1.0, 1.0, 1.0]
    """
    return _ones(k)


def total(w: FloatArray) -> float:
    """Σw as the dot product w·1.

    Examples
    --------
    >>> total(np.array([1.0, 2.5]))
    3.5
    """
    return float(w.dot(_ones(w.size)))
