"""Study sets as masks, and the inverse-variance sums of many sets at once.

A search over study sets (:func:`inometa.reconstruct`) draws at most one report per cohort:
the sets are the points of a mixed-radix number system whose digit *c* says which report of
cohort *c* is in the set (0: none). :func:`subset_masks` decodes a range of set numbers into
boolean masks (sets × studies) and :func:`masked_sums` turns the masks into the sums that
Cochran's Q, the DerSimonian–Laird τ² and the typical within-study variance are made of, one
matrix product for a whole chunk of sets. Arrays in, arrays out; nothing here knows about
targets or methods.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "InverseVarianceSums",
    "count_subsets",
    "masked_sums",
    "random_effects_sums",
    "subset_masks",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def count_subsets(groups: Sequence[Sequence[int]]) -> int:
    """The number of sets with at most one member of each group (the empty set included).

    Examples
    --------
    >>> count_subsets([[0], [1, 2], [3]])
    12
    """
    return math.prod(len(g) + 1 for g in groups)


def subset_masks(
    groups: Sequence[Sequence[int]], n: int, start: int | IntArray, stop: int | None = None
) -> BoolArray:
    """Masks of the sets numbered ``start`` … ``stop - 1`` (at most one member per group).

    Parameters
    ----------
    groups
        The study columns (0 … n−1) of each group; every column in exactly one group.
    n
        The number of study columns.
    start, stop
        The range of set numbers, within ``0 … count_subsets(groups)``. Set 0 is empty; the
        first group is the fastest-changing digit. With ``stop`` None, ``start`` is an
        array of set numbers.

    Returns
    -------
    numpy.ndarray of bool
        ``(stop - start) × n``: True where the study is in the set.

    Examples
    --------
    >>> subset_masks([[0], [1, 2]], 3, 0, 6).astype(int).tolist()
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1]]
    >>> subset_masks([[0], [1, 2]], 3, np.array([5])).astype(int).tolist()
    [[1, 0, 1]]
    """
    if stop is None:
        index = np.array(start, dtype=np.int64).reshape(-1)
    else:
        index = np.arange(int(start), stop, dtype=np.int64)
    masks = np.zeros((index.size, n), dtype=bool)
    rows = np.arange(index.size)
    for members in groups:
        radix = len(members) + 1
        digit = index % radix
        index //= radix
        chosen = digit > 0
        cols = np.asarray(members, dtype=np.int64)[np.maximum(digit - 1, 0)]
        masks[rows[chosen], cols[chosen]] = True
    return masks


class InverseVarianceSums(NamedTuple):
    """Fixed-effect sums of each set: Σw, Σwy, Σwy², Σw² with w = 1/v, and k."""

    k: FloatArray
    sw: FloatArray
    swy: FloatArray
    swy2: FloatArray
    sw2: FloatArray

    @property
    def q(self) -> FloatArray:
        """Cochran's Q, Σw(y − ȳ_w)² = Σwy² − (Σwy)²/Σw."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.maximum(self.swy2 - self.swy**2 / self.sw, 0.0)

    @property
    def c(self) -> FloatArray:
        """DerSimonian–Laird's denominator Σw − Σw²/Σw (= (k−1)/s̃², s̃² the typical variance)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.sw - self.sw2 / self.sw

    @property
    def tau2_dl(self) -> FloatArray:
        """The DerSimonian–Laird τ², max(0, (Q − (k − 1)) / C)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.maximum((self.q - (self.k - 1)) / self.c, 0.0)

    @property
    def typical_variance(self) -> FloatArray:
        """metafor's typical within-study variance s̃² = (k − 1) / C (Higgins & Thompson)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.k - 1) / self.c


def masked_sums(
    masks: BoolArray | FloatArray, yi: FloatArray, vi: FloatArray
) -> InverseVarianceSums | list[InverseVarianceSums]:
    """The inverse-variance sums of every set, one matrix product for all of them.

    ``yi`` and ``vi`` of length n give one :class:`InverseVarianceSums`; T × n arrays (T
    scales, e.g. transforms) give a list of T, still from one product. ``masks`` may be
    given as 0/1 floats to save the conversion when it is reused.

    Examples
    --------
    >>> m = np.array([[True, True, False], [True, True, True]])
    >>> s = masked_sums(m, np.array([0.2, 0.4, 0.6]), np.array([0.01, 0.01, 0.02]))
    >>> s.k.tolist(), np.round(s.q, 6).tolist()
    ([2.0, 3.0], [2.0, 5.6])
    """
    y2 = np.atleast_2d(yi)
    w = 1.0 / np.atleast_2d(vi)
    cols = np.concatenate([np.ones((1, w.shape[1])), w, w * y2, w * y2 * y2, w * w], axis=0).T
    sums = (masks if masks.dtype == np.float64 else masks.astype(np.float64)) @ cols
    t = w.shape[0]
    out = [
        InverseVarianceSums(
            *(
                np.ascontiguousarray(sums[:, j])
                for j in (0, 1 + i, 1 + t + i, 1 + 2 * t + i, 1 + 3 * t + i)
            )
        )
        for i in range(t)
    ]
    return out[0] if np.ndim(yi) == 1 else out


def random_effects_sums(
    masks: BoolArray, yi: FloatArray, vi: FloatArray, tau2: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Σ 1/(v + τ²) and Σ y/(v + τ²) of every set, each with its own τ².

    Examples
    --------
    >>> m = np.array([[True, True]])
    >>> w, wy = random_effects_sums(m, np.array([0.2, 0.4]), np.array([0.01, 0.03]),
    ...                             np.array([0.01]))
    >>> round(float((wy / w)[0]), 6)
    0.266667
    """
    w = np.where(masks, 1.0 / (vi[None, :] + tau2[:, None]), 0.0)
    return w.sum(axis=1), w @ yi
