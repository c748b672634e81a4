"""Confidence intervals for a pooled estimate, and prediction intervals.

CI methods (``ci_method``), with their metafor ``test=`` and R meta names:

============  ===========  =================================  =====================================
inometa       metafor      R meta                             SE and critical value
============  ===========  =================================  =====================================
``z``         ``"z"``      ``method.random.ci="classic"``     Wald SE, normal quantile
``t``         ``"t"``      —                                  Wald SE, t(k − p)
``hk``        ``"knha"``   ``"HK"``                           SE·√s², t(k−p); s² = Σwᵢ(yᵢ−μ̂)²/(k−p)
``hk_adhoc``  ``"adhoc"``  ``"HK"`` + ``adhoc.hakn.ci="se"``  as ``hk`` with s² ≥ 1
============  ===========  =================================  =====================================

Prediction intervals (``pi_method``) are μ̂ ± c √(SE² + τ²). Which SE (``pi_se``) is a
convention: ``"ci"``, the SE of the chosen CI method (metafor ``predict``: the
Hartung–Knapp SE after ``test="knha"``), or ``"wald"``, the inverse-variance SE whatever the
CI (R meta's ``method.predict = "V"``, ``"HTS"`` and ``"S"``). The two differ only when the
CI is Hartung–Knapp; R meta's ``method.predict = "HK"`` is ``pi_method="t"`` with
``pi_se="ci"`` and ``ci_method="hk"``.

=========  ===================================  ==========================================
inometa    metafor ``predict(pi.type=)``         critical value c
=========  ===================================  ==========================================
``z``      ``"default"`` with ``test="z"``       normal quantile
``t``      ``"t"``                               t(k − 1) (R meta ≥ 8 default)
``hts``    ``"riley"``                           t(k − 2) (Higgins, Thompson & Spiegelhalter
                                                 2009; undefined for k ≤ 2 — metafor
                                                 silently uses df = 1 instead)
=========  ===================================  ==========================================
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import special

from .._distributions import by_df, norm_isf, t_isf

__all__ = [
    "CI_METHODS",
    "PI_METHODS",
    "PI_SES",
    "PooledInterval",
    "PooledIntervalBatch",
    "PredictionInterval",
    "PredictionIntervalBatch",
    "critical_value",
    "critical_value_batch",
    "hartung_knapp_s2",
    "hk_s2_from_rss",
    "pooled_interval",
    "pooled_interval_batch",
    "prediction_interval",
    "prediction_interval_batch",
    "prediction_note",
    "two_sided_pvalue_batch",
]

FloatArray = npt.NDArray[np.float64]

CI_METHODS = {
    "z": "z",
    "t": "t",
    "hk": "hk",
    "knha": "hk",
    "hksj": "hk",
    "hk_adhoc": "hk_adhoc",
    "adhoc": "hk_adhoc",
}
PI_METHODS = {"z": "z", "t": "t", "hts": "hts", "riley": "hts"}
#: The SE of a prediction interval: the CI's (metafor) or the Wald SE (R meta).
PI_SES = {"ci": "ci", "wald": "wald"}


_EPS = float(np.finfo(float).eps)

# Each interval is written once, for many analyses at a time (arrays with one entry per
# analysis, as metaprop_batch needs them); the single-analysis functions are the case of one
# entry. The t quantiles are computed once per distinct df.


def _t_isf_array(q: float, df: FloatArray) -> FloatArray:
    if df.size == 1:
        return np.full(df.shape, t_isf(q, float(df.reshape(-1)[0])))  # cached
    return np.asarray(-special.stdtrit(df, q), dtype=float)


def critical_value_batch(level: float, df: FloatArray | None, r: int) -> FloatArray:
    """Two-sided critical values for ``r`` analyses: normal (``df`` None) or t(df), NaN
    where df < 1.

    Examples
    --------
    >>> np.round(critical_value_batch(0.95, np.array([4.0, 0.0]), 2), 6).tolist()
    [2.776445, nan]
    """
    alpha = 1 - level
    if df is None:
        return np.full(r, norm_isf(alpha / 2))
    ok = df >= 1
    return np.where(ok, by_df(_t_isf_array, alpha / 2, np.where(ok, df, 1.0)), np.nan)


def critical_value(level: float, df: float | None) -> float:
    """Two-sided critical value: normal if ``df`` is None, else t(df); NaN for df < 1.

    Examples
    --------
    >>> round(critical_value(0.95, None), 6)
    1.959964
    >>> round(critical_value(0.95, 4), 6)
    2.776445
    """
    return float(critical_value_batch(level, None if df is None else np.array([df]), 1)[0])


def two_sided_pvalue_batch(stat: FloatArray, df: FloatArray | None) -> FloatArray:
    """Two-sided p-values of z (``df`` None) or t(df) statistics; NaN where df < 1.

    Examples
    --------
    >>> np.round(two_sided_pvalue_batch(np.array([1.959963984540054]), None), 12).tolist()
    [0.05]
    """
    if df is None:
        return np.asarray(2 * special.ndtr(-np.abs(stat)), dtype=float)
    ok = df >= 1
    return np.where(ok, 2 * special.stdtr(np.where(ok, df, 1.0), -np.abs(stat)), np.nan)


def hartung_knapp_s2(
    yi: npt.ArrayLike, vi: npt.ArrayLike, tau2: float, estimate: float, n_params: int = 1
) -> float:
    """The Hartung–Knapp scale factor s² = Σ wᵢ (yᵢ − μ̂)² / (k − p), wᵢ = 1/(vᵢ + τ²).

    Returns 0 when the weighted residual sum of squares is at machine precision (metafor).

    Examples
    --------
    >>> round(hartung_knapp_s2([0.1, 0.3], [0.01, 0.01], 0.0, 0.2), 12)
    2.0
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    r = y - estimate
    rss = float((r / (v + tau2)).dot(r))
    return float(hk_s2_from_rss(np.array([rss]), np.array([float(y.size - n_params)]))[0])


def hk_s2_from_rss(rss: FloatArray, df: FloatArray) -> FloatArray:
    """s² = RSS/df per analysis: NaN where df < 1, 0 where the weighted residual sum of
    squares is at machine precision (metafor).

    Examples
    --------
    >>> hk_s2_from_rss(np.array([2.0, 1e-17, 3.0]), np.array([1.0, 4.0, 0.0])).tolist()
    [2.0, 0.0, nan]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(df >= 1, np.where(rss <= _EPS, 0.0, rss / df), np.nan)


class PooledInterval(NamedTuple):
    """A pooled estimate's test and confidence interval on the model scale.

    ``se`` is the standard error the interval uses (Wald, or Hartung–Knapp-scaled);
    ``df`` is None for normal-based intervals.
    """

    estimate: float
    se: float
    se_wald: float
    method: str
    df: float | None
    low: float
    high: float
    statistic: float
    pvalue: float


class PooledIntervalBatch(NamedTuple):
    """:class:`PooledInterval` for many analyses (one entry per analysis; ``df`` None for
    normal-based intervals)."""

    estimate: FloatArray
    se: FloatArray
    se_wald: FloatArray
    method: str
    df: FloatArray | None
    low: FloatArray
    high: FloatArray
    statistic: FloatArray
    pvalue: FloatArray


def pooled_interval_batch(
    estimate: FloatArray,
    se_wald: FloatArray,
    method: str,
    level: float,
    *,
    k: FloatArray,
    hk_s2: FloatArray | None = None,
    n_params: int = 1,
) -> PooledIntervalBatch:
    """Confidence intervals and tests (H₀: μ = 0 on the model scale) for many pooled
    estimates; the arguments as for :func:`pooled_interval`, one entry per analysis.

    Examples
    --------
    >>> ci = pooled_interval_batch(np.array([0.2, 0.1]), np.array([0.1, 0.1]), "t", 0.95,
    ...                            k=np.array([5.0, 1.0]))
    >>> np.round(ci.high, 6).tolist()
    [0.477645, nan]
    """
    se = se_wald
    df = k - n_params if method in ("t", "hk", "hk_adhoc") else None
    if method in ("hk", "hk_adhoc"):
        if hk_s2 is None:
            raise ValueError("hk_s2 is required for Hartung–Knapp intervals")
        s2 = np.fmax(1.0, hk_s2) if method == "hk_adhoc" else hk_s2
        se = np.sqrt(s2) * se_wald
    crit = critical_value_batch(level, df, estimate.size)
    # an infinite estimate or SE (a failed fit) gives NaN bounds, without numpy's warning
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > 0, estimate / se, np.nan)
        low, high = estimate - crit * se, estimate + crit * se
    return PooledIntervalBatch(
        estimate, se, se_wald, method, df, low, high, stat, two_sided_pvalue_batch(stat, df)
    )


def pooled_interval(
    estimate: float,
    se_wald: float,
    method: str,
    level: float,
    *,
    k: int,
    hk_s2: float | None = None,
    n_params: int = 1,
) -> PooledInterval:
    """Confidence interval and test (H₀: μ = 0 on the model scale) for a pooled estimate.

    Parameters
    ----------
    estimate, se_wald
        The estimate and its Wald (inverse-variance) standard error.
    method
        ``"z"``, ``"t"``, ``"hk"`` or ``"hk_adhoc"`` (canonical names; see module table).
    level
        Confidence level.
    k, n_params
        Number of studies and of model coefficients (df = k − p for t-based methods).
    hk_s2
        Hartung–Knapp scale factor (required for ``hk`` and ``hk_adhoc``).

    Examples
    --------
    >>> ci = pooled_interval(0.2, 0.1, "z", 0.95, k=5)
    >>> round(ci.low, 6), round(ci.high, 6)
    (0.004004, 0.395996)
    """
    b = pooled_interval_batch(
        np.array([estimate], dtype=float),
        np.array([se_wald], dtype=float),
        method,
        level,
        k=np.array([k], dtype=float),
        hk_s2=None if hk_s2 is None else np.array([hk_s2], dtype=float),
        n_params=n_params,
    )
    return PooledInterval(
        estimate,
        float(b.se[0]),
        se_wald,
        method,
        None if b.df is None else float(b.df[0]),
        float(b.low[0]),
        float(b.high[0]),
        float(b.statistic[0]),
        float(b.pvalue[0]),
    )


class PredictionInterval(NamedTuple):
    """A prediction interval on the model scale, with the df of its t quantile (None: z)."""

    low: float
    high: float
    method: str
    df: float | None
    note: str | None = None


class PredictionIntervalBatch(NamedTuple):
    """:class:`PredictionInterval` for many analyses; ``undefined`` marks the analyses whose
    t quantile is undefined (NaN bounds; :func:`prediction_note` says why)."""

    low: FloatArray
    high: FloatArray
    method: str
    df: FloatArray | None
    undefined: npt.NDArray[np.bool_]


def prediction_note(method: str, k: int) -> str:
    """Why the ``method`` prediction interval of ``k`` studies is undefined.

    Examples
    --------
    >>> prediction_note("hts", 2)
    'the HTS t(k−2) prediction interval needs k ≥ 3 (k = 2); its bounds are undefined'
    """
    label = "HTS t(k−2)" if method == "hts" else "t(k−1)"
    need = "k ≥ 3" if method == "hts" else "k ≥ 2"
    return f"the {label} prediction interval needs {need} (k = {k}); its bounds are undefined"


def prediction_interval_batch(
    estimate: FloatArray,
    se: FloatArray,
    tau2: FloatArray,
    method: str,
    level: float,
    *,
    k: FloatArray,
) -> PredictionIntervalBatch:
    """Prediction intervals μ̂ ± c √(SE² + τ²) for many analyses (arguments as for
    :func:`prediction_interval`, one entry per analysis).

    Examples
    --------
    >>> pi = prediction_interval_batch(np.zeros(2), np.full(2, 0.1), np.full(2, 0.03), "t",
    ...                                0.95, k=np.array([10.0, 1.0]))
    >>> np.round(pi.high, 6).tolist(), pi.undefined.tolist()
    ([0.452431, nan], [False, True])
    """
    df = None if method == "z" else (k - 1 if method == "t" else k - 2)
    undefined = np.zeros(estimate.size, dtype=bool) if df is None else df < 1
    with np.errstate(invalid="ignore"):  # as in pooled_interval_batch
        half = critical_value_batch(level, df, estimate.size) * np.sqrt(se**2 + tau2)
        low, high = estimate - half, estimate + half
    return PredictionIntervalBatch(low, high, method, df, undefined)


def prediction_interval(
    estimate: float, se: float, tau2: float, method: str, level: float, *, k: int
) -> PredictionInterval:
    """Prediction interval μ̂ ± c √(SE² + τ²) for the true effect in a new study.

    For ``hts`` with k ≤ 2 and ``t`` with k = 1 the t quantile is undefined; the bounds
    are NaN and ``note`` says why.

    Examples
    --------
    >>> pi = prediction_interval(0.0, 0.1, 0.03, "t", 0.95, k=10)
    >>> round(pi.high, 6)  # t(9) quantile 2.262157 × √(0.01 + 0.03)
    0.452431
    """
    b = prediction_interval_batch(
        np.array([estimate], dtype=float),
        np.array([se], dtype=float),
        np.array([tau2], dtype=float),
        method,
        level,
        k=np.array([k], dtype=float),
    )
    df = None if b.df is None else float(b.df[0])
    if b.undefined[0]:
        return PredictionInterval(math.nan, math.nan, method, df, prediction_note(method, k))
    return PredictionInterval(float(b.low[0]), float(b.high[0]), method, df, None)
