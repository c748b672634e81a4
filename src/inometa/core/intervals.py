"""Confidence intervals for a pooled estimate, and prediction intervals.

CI methods (``ci_method``), with their metafor ``test=`` and R meta names:

============  =============  ===========================  =====================================
inometa       metafor        R meta                       SE and critical value
============  =============  ===========================  =====================================
``z``         ``"z"``        ``method.random.ci="classic"``  Wald SE, normal quantile
``t``         ``"t"``        —                            Wald SE, t(k − p)
``hk``        ``"knha"``     ``"HK"``                     SE·√s², t(k − p); s² = Σwᵢ(yᵢ−μ̂)²/(k−p)
``hk_adhoc``  ``"adhoc"``    ``"HK"`` + ``adhoc.hakn.ci="se"``  as ``hk`` with s² ≥ 1
============  =============  ===========================  =====================================

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

from .._distributions import norm_isf, norm_sf, t_isf, t_sf

__all__ = [
    "CI_METHODS",
    "PI_METHODS",
    "PI_SES",
    "PooledInterval",
    "PredictionInterval",
    "critical_value",
    "hartung_knapp_s2",
    "pooled_interval",
    "prediction_interval",
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


def critical_value(level: float, df: float | None) -> float:
    """Two-sided critical value: normal if ``df`` is None, else t(df); NaN for df < 1.

    Examples
    --------
    >>> round(critical_value(0.95, None), 6)
    1.959964
    >>> round(critical_value(0.95, 4), 6)
    2.776445
    """
    alpha = 1 - level
    if df is None:
        return norm_isf(alpha / 2)
    if df < 1:
        return float("nan")
    return t_isf(alpha / 2, df)


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
    df = y.size - n_params
    if df < 1:
        return float("nan")
    if rss <= _EPS:
        return 0.0
    return rss / df


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
    se = se_wald
    df: float | None = None
    if method in ("t", "hk", "hk_adhoc"):
        df = float(k - n_params)
    if method in ("hk", "hk_adhoc"):
        if hk_s2 is None:
            raise ValueError("hk_s2 is required for Hartung–Knapp intervals")
        s2 = max(1.0, hk_s2) if method == "hk_adhoc" else hk_s2
        se = math.sqrt(s2) * se_wald
    crit = critical_value(level, df)
    stat = estimate / se if se > 0 else float("nan")
    if df is None:
        pval = 2 * norm_sf(abs(stat))
    else:
        pval = 2 * t_sf(abs(stat), df) if df >= 1 else float("nan")
    return PooledInterval(
        estimate, se, se_wald, method, df, estimate - crit * se, estimate + crit * se, stat, pval
    )


class PredictionInterval(NamedTuple):
    """A prediction interval on the model scale, with the df of its t quantile (None: z)."""

    low: float
    high: float
    method: str
    df: float | None
    note: str | None = None


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
    df: float | None = {"z": None, "t": float(k - 1), "hts": float(k - 2)}[method]
    note = None
    if df is not None and df < 1:
        need = "k ≥ 3" if method == "hts" else "k ≥ 2"
        note = (
            f"the {'HTS t(k−2)' if method == 'hts' else 't(k−1)'} prediction interval "
            f"needs {need} (k = {k}); its bounds are undefined"
        )
        return PredictionInterval(float("nan"), float("nan"), method, df, note)
    crit = critical_value(level, df)
    half = crit * math.sqrt(se**2 + tau2)
    return PredictionInterval(estimate - half, estimate + half, method, df, note)
