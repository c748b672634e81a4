"""Permutation tests of meta-regression moderators (metafor ``permutest``).

The moderator rows are reordered against the outcomes; each reordering is refitted and its
statistics compared with the observed ones. When the distinct reorderings are at most the
number asked for, all of them are used (an exact test): enumerating distinct arrangements
of the rows, rather than all k! orders, gives the same p-values with far fewer fits, because
every distinct arrangement stands for the same number of orders. Otherwise the observed
order and ``iterations − 1`` random orders from a seeded generator are used.

The refitting is not done here: :func:`permutation_test` takes a function that fits a batch
of designs (R, k, p) at once and returns their statistics — for the inverse-variance model
:mod:`inometa.analysis.regression` fits them all through the batched τ² estimators.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["COMPTOL", "PermutationTest", "distinct_orderings", "permutation_test", "unique_orders"]

FloatArray = npt.NDArray[np.float64]

COMPTOL = float(np.sqrt(np.finfo(float).eps))  # metafor permutest's comparison tolerance


@dataclass(frozen=True)
class PermutationTest:
    """Permutation p-values for the moderators (metafor ``permutest``).

    ``pvalues`` are per coefficient (two-sided, on the absolute statistic), ``qm_pvalue`` for the
    omnibus test; ``exact`` says whether all distinct reorderings were used.
    """

    pvalues: tuple[float, ...]
    qm_pvalue: float
    n_permutations: int
    exact: bool
    seed: int | None


def distinct_orderings(X: FloatArray) -> int:
    """Number of distinct reorderings of the rows of X: k! / Πⱼ (multiplicity of row j)!.

    Examples
    --------
    >>> distinct_orderings(np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0]]))
    3
    """
    counts = Counter(map(tuple, X.tolist()))
    total = math.factorial(X.shape[0])
    for c in counts.values():
        total //= math.factorial(c)
    return total


def unique_orders(X: FloatArray) -> list[npt.NDArray[np.intp]]:
    """One row order for each distinct arrangement of the rows of X (multiset permutations,
    generated directly so that many identical rows cost nothing).

    Examples
    --------
    >>> [o.tolist() for o in unique_orders(np.array([[0.0], [0.0], [1.0]]))]
    [[0, 1, 2], [0, 2, 1], [2, 0, 1]]
    """
    rows = [tuple(r) for r in X.tolist()]
    kinds = sorted(set(rows))
    members = {kind: [i for i, r in enumerate(rows) if r == kind] for kind in kinds}
    remaining = {kind: len(members[kind]) for kind in kinds}
    k = len(rows)
    out: list[npt.NDArray[np.intp]] = []
    seq: list[tuple[float, ...]] = []

    def extend() -> None:
        if len(seq) == k:
            used = {kind: 0 for kind in kinds}
            order = []
            for kind in seq:
                order.append(members[kind][used[kind]])
                used[kind] += 1
            out.append(np.array(order))
            return
        for kind in kinds:
            if remaining[kind]:
                remaining[kind] -= 1
                seq.append(kind)
                extend()
                seq.pop()
                remaining[kind] += 1

    extend()
    return out


def permutation_test(
    X: FloatArray,
    statistic: FloatArray,
    qm: float,
    iterations: int,
    seed: int | None,
    fit: Callable[[FloatArray], tuple[FloatArray, FloatArray]],
) -> PermutationTest:
    """Permutation p-values of the coefficients and of QM, as metafor's ``permutest``.

    Parameters
    ----------
    X
        The observed design (k, p).
    statistic, qm
        The observed coefficient statistics (p,) and omnibus statistic.
    iterations
        At most this many reorderings (at least 2); all distinct ones if they are fewer.
    seed
        Seed of the random reorderings (unused, and recorded as None, for an exact test).
    fit
        Fits a batch of designs (R, k, p); returns their statistics (R, p) and QM (R,).

    Returns
    -------
    PermutationTest

    Examples
    --------
    >>> X = np.column_stack([np.ones(4), [0.0, 0.0, 1.0, 1.0]])
    >>> y = np.array([0.1, 0.2, 0.9, 1.0])
    >>> def fit(designs):  # the slope of y on the moderator, by least squares
    ...     b = np.array([np.linalg.lstsq(d, y, rcond=None)[0] for d in designs])
    ...     return b, np.abs(b[:, 1])
    >>> res = permutation_test(X, np.array([0.15, 0.8]), 0.8, 100, None, fit)
    >>> res.exact, res.n_permutations, res.qm_pvalue
    (True, 6, 0.3333333333333333)
    """
    if iterations < 2:
        raise ValueError(f"permutations must be at least 2, got {iterations}")
    k = X.shape[0]
    exact = distinct_orderings(X) <= iterations
    if exact:
        orders = unique_orders(X)
    else:
        rng = np.random.default_rng(seed)
        orders = [np.arange(k)] + [rng.permutation(k) for _ in range(iterations - 1)]
    stat_obs = np.abs(np.asarray(statistic))
    exceed = np.zeros(stat_obs.size)
    exceed_qm = 0.0
    # The permuted designs in batches of about 2·10⁶ entries of the k × k projectors.
    chunk = max(1, 2_000_000 // (k * k))
    for start in range(0, len(orders), chunk):
        stat, qms = fit(X[np.stack(orders[start : start + chunk])])
        exceed += np.sum(np.abs(stat) >= stat_obs - COMPTOL, axis=0)
        exceed_qm += float(np.sum(qms >= qm - COMPTOL))
    total = len(orders)
    return PermutationTest(
        pvalues=tuple(float(v) for v in np.minimum(exceed / total, 1.0)),
        qm_pvalue=float(exceed_qm / total),
        n_permutations=total,
        exact=exact,
        seed=None if exact else seed,
    )
