"""Tail probabilities and quantiles of the normal, t, χ² and beta distributions.

These call the :mod:`scipy.special` functions that :mod:`scipy.stats` itself evaluates
(``stats.t.isf(q, df)`` is ``-special.stdtrit(df, q)``, and so on), so the numbers are
identical; what is skipped is ``scipy.stats``'s generic argument handling, which costs
about 50 µs per call — more than a whole meta-analysis of 16 studies otherwise takes.
Arguments are assumed valid (probabilities in (0, 1), df > 0): callers check them.

The scalar quantiles are cached: an analysis asks for the same few (the level's normal,
t and χ² quantiles) several times, and a loop of analyses asks for them again each time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy import special

__all__ = [
    "beta_isf",
    "beta_ppf",
    "by_df",
    "chi2_isf",
    "chi2_ppf",
    "chi2_sf",
    "f_sf",
    "norm_isf",
    "norm_sf",
    "t_isf",
    "t_sf",
]

FloatArray = npt.NDArray[np.float64]


@lru_cache(maxsize=512)
def norm_isf(q: float) -> float:
    """Upper-tail normal quantile (``stats.norm.isf``).

    Examples
    --------
    >>> round(norm_isf(0.025), 6)
    1.959964
    """
    return -float(special.ndtri(q))


def norm_sf(x: float) -> float:
    """Normal upper-tail probability (``stats.norm.sf``)."""
    return float(special.ndtr(-x))


@lru_cache(maxsize=512)
def t_isf(q: float, df: float) -> float:
    """Upper-tail t quantile (``stats.t.isf``).

    Examples
    --------
    >>> round(t_isf(0.025, 4), 6)
    2.776445
    """
    return -float(special.stdtrit(df, q))


def t_sf(x: float, df: float) -> float:
    """t upper-tail probability (``stats.t.sf``)."""
    return float(special.stdtr(df, -x))


def chi2_sf(x: float, df: float) -> float:
    """χ² upper-tail probability (``stats.chi2.sf``).

    Examples
    --------
    >>> round(chi2_sf(3.841458820694124, 1), 12)
    0.05
    """
    return float(special.chdtrc(df, x))


def f_sf(x: float, dfn: float, dfd: float) -> float:
    """F upper-tail probability (``stats.f.sf``)."""
    return float(special.fdtrc(dfn, dfd, x))


@lru_cache(maxsize=512)
def chi2_isf(q: float, df: float) -> float:
    """Upper-tail χ² quantile (``stats.chi2.isf``)."""
    return float(special.chdtri(df, q))


@lru_cache(maxsize=512)
def chi2_ppf(p: float, df: float) -> float:
    """Lower-tail χ² quantile (``stats.chi2.ppf``)."""
    return 2 * float(special.gammaincinv(df / 2, p))


def beta_ppf(p: float, a: FloatArray, b: FloatArray) -> FloatArray:
    """Lower-tail beta quantiles, elementwise in the shapes (``stats.beta.ppf``)."""
    return np.asarray(special.betaincinv(a, b, p), dtype=float)


def beta_isf(q: float, a: FloatArray, b: FloatArray) -> FloatArray:
    """Upper-tail beta quantiles, elementwise in the shapes (``stats.beta.isf``)."""
    return np.asarray(special.betainccinv(a, b, q), dtype=float)


def by_df(
    quantile: Callable[[float, FloatArray], FloatArray], p: float, df: FloatArray
) -> FloatArray:
    """``quantile(p, df)`` for an array of df, computed once per distinct df (a batch of
    analyses has at most K of them).

    Examples
    --------
    >>> from scipy import stats
    >>> np.round(by_df(stats.chi2.isf, 0.025, np.array([4.0, 2.0, 4.0])), 4).tolist()
    [11.1433, 7.3778, 11.1433]
    """
    if df.size == 1:
        return np.asarray(quantile(p, df), dtype=float).reshape(df.shape)
    values, inverse = np.unique(df, return_inverse=True)
    return np.asarray(quantile(p, values), dtype=float)[inverse]
