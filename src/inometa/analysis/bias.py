"""Small-study effects and publication bias: Egger, Begg, Peters, trim-and-fill.

All follow metafor 3.8 (``regtest``, ``ranktest``, ``trimfill``):

* :func:`egger_test` — ``regtest(model="rma")`` by default: a mixed-effects meta-regression
  of yᵢ on √vᵢ with the analysis' τ² estimator and test; ``model="lm"`` is Egger's classic
  weighted regression (weights 1/vᵢ, t on k − 2 df). The intercept is the "limit estimate"
  (the effect as the SE → 0).
* :func:`begg_test` — ``ranktest``: Kendall's τ between the standardised deviates
  (yᵢ − θ̂)/√(vᵢ − 1/Σw) (θ̂ the common-effect estimate) and vᵢ; exact p-value when there
  are no ties and k < 50 (R's ``cor.test``), else the normal approximation with ties.
* :func:`peters_test` — Peters et al. (2006): weighted regression (1/vᵢ) of yᵢ on 1/nᵢ
  (``regtest(model="lm", predictor="ninv")``).
* :func:`trim_and_fill` — Duval & Tweedie's L0 or R0 estimator; the side is chosen as
  metafor does (from the sign of the slope of yᵢ on √vᵢ), the imputed studies mirror the
  trimmed ones about the trimmed estimate, and the filled analysis uses the original
  options.

These tests have little power and a raised false-positive rate with few studies; below
k = 10 every result carries a note and a :class:`SmallKWarning` is issued.

For GLMM analyses the tests use the study logits (continuity-corrected) with inverse-variance
weights, as for an inverse-variance logit analysis (metafor has no ``regtest`` for
``rma.glmm``); the result says so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy import stats

from .._deferred import Deferred
from ..core.results import Interval, MetaPropResult
from .escalc import Prepared, prepared_from_result
from .pooling import fit_prepared
from .regression import fit_inverse_reg

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RankTestResult",
    "RegTestResult",
    "SmallKWarning",
    "TrimFillResult",
    "begg_test",
    "egger_test",
    "peters_test",
    "trim_and_fill",
]

FloatArray = npt.NDArray[np.float64]
_MIN_K = 10


class SmallKWarning(UserWarning):
    """A small-study-effect method was applied to fewer than 10 studies."""


def _small_k_notes(res: MetaPropResult, what: str) -> list[str]:
    notes = []
    if res.k < _MIN_K:
        msg = (
            f"{what} with k = {res.k} < {_MIN_K} studies: low power and unreliable; "
            "interpret with great caution (Sterne et al. 2011)"
        )
        warnings.warn(msg, SmallKWarning, stacklevel=3)
        notes.append(msg)
    if res.options.method == "glmm":
        notes.append(
            f"{what} uses the study logits (continuity-corrected) with inverse-variance "
            "weights; the GLMM itself has no such test"
        )
    return notes


def _inverse_view(res: MetaPropResult) -> Prepared:
    """The analysis as inverse variance on its model scale (GLMM: logits, ML)."""
    prep = prepared_from_result(res)
    if res.options.method == "glmm":
        opts = replace(res.options, method="inverse", tau2_method="ML", tau2_fixed=None)
        prep = prep._replace(options=opts)
    return prep


@dataclass(frozen=True)
class RegTestResult:
    """A regression test for funnel-plot asymmetry.

    ``statistic``/``pvalue`` test the slope (z, or t with ``df``); ``limit_estimate`` and
    ``limit_ci`` are the intercept on the model scale (for predictors that vanish as the
    study grows: √vᵢ and 1/nᵢ), ``limit_proportion``/``limit_proportion_ci`` back-transformed.
    """

    model: str
    predictor: str
    statistic: float
    pvalue: float
    df: float | None
    slope: float
    limit_estimate: float
    limit_ci: Interval
    limit_proportion: float
    limit_proportion_ci: Interval
    k: int
    notes: tuple[str, ...]

    def __str__(self) -> str:
        """The test of the slope, then the limit estimate on the proportion scale."""
        stat = (
            f"z = {self.statistic:.4g}"
            if self.df is None
            else f"t = {self.statistic:.4g} (df {self.df:g})"
        )
        low, high = self.limit_proportion_ci
        return (
            f"Regression test ({self.model}, predictor {self.predictor}), k={self.k}: {stat}, "
            f"p = {self.pvalue:.3g}\nlimit estimate (proportion) {self.limit_proportion:.4f} "
            f"[{low:.4f}, {high:.4f}]; notes: {len(self.notes)}"
        )

    def __repr__(self) -> str:
        """A few lines: the test, the limit estimate (proportion scale), the note count.

        Examples
        --------
        >>> import inometa, warnings
        >>> res = inometa.metaprop([4, 9, 17, 49, 12], [30, 49, 90, 72, 40])
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     inometa.egger_test(res)
        <RegTestResult Regression test (rma, predictor sei), k=5: z = -1.409, p = 0.159
          limit estimate (proportion) 0.7702 [0.1316, 0.9867]; notes: 1>
        """
        return f"<RegTestResult {self}>".replace("\n", "\n  ")


@dataclass(frozen=True)
class RankTestResult:
    """Begg & Mazumdar's rank correlation test (``statistic`` is Kendall's τ)."""

    statistic: float
    pvalue: float
    exact: bool
    k: int
    notes: tuple[str, ...]

    def __str__(self) -> str:
        """Kendall's τ, its p-value and whether it is exact."""
        kind = "exact" if self.exact else "normal approximation"
        return (
            f"Rank correlation test, k={self.k}: Kendall's τ = {self.statistic:.4g}, "
            f"p = {self.pvalue:.3g} ({kind}); notes: {len(self.notes)}"
        )

    def __repr__(self) -> str:
        """One line, as ``str`` in angle brackets."""
        return f"<RankTestResult {self}>"


def _regression(
    res: MetaPropResult, predictor: FloatArray, model: str, name: str, what: str
) -> RegTestResult:
    notes = _small_k_notes(res, what)
    prep = _inverse_view(res)
    yi, vi = prep.yi, prep.vi
    X = np.column_stack([np.ones(res.k), predictor])
    level = res.options.level
    if model == "rma":
        fit = fit_inverse_reg(prep, X, ("intercept", name), (name,))
        stat, pval, df = float(fit.statistic[1]), float(fit.pvalue[1]), fit.df
        slope = float(fit.estimate[1])
        est, lo, hi = float(fit.estimate[0]), float(fit.ci_low[0]), float(fit.ci_high[0])
    elif model == "lm":
        import statsmodels.api as sm

        wls = sm.WLS(yi, X, weights=1 / vi).fit()
        stat, pval, df = float(wls.tvalues[1]), float(wls.pvalues[1]), float(wls.df_resid)
        slope = float(wls.params[1])
        est = float(wls.params[0])
        lo, hi = (float(v) for v in wls.conf_int(alpha=1 - level)[0])
    else:
        raise ValueError(f"unknown model {model!r}; valid values are: lm, rma")
    tr = prep.transform
    n_bt = res.backtransform_n
    return RegTestResult(
        model=model,
        predictor=name,
        statistic=stat,
        pvalue=pval,
        df=df,
        slope=slope,
        limit_estimate=est,
        limit_ci=Interval(lo, hi),
        limit_proportion=float(tr.inverse(est, n_bt)),
        limit_proportion_ci=Interval(float(tr.inverse(lo, n_bt)), float(tr.inverse(hi, n_bt))),
        k=res.k,
        notes=tuple(notes),
    )


def egger_test(res: MetaPropResult, *, model: str = "rma") -> RegTestResult:
    """Egger's regression test for funnel-plot asymmetry (metafor ``regtest``).

    Parameters
    ----------
    res
        A meta-analysis.
    model
        ``"rma"`` (default, metafor's): mixed-effects meta-regression on the SE with the
        analysis' τ² estimator and test; ``"lm"``: Egger's weighted linear regression.

    Returns
    -------
    RegTestResult

    Examples
    --------
    >>> import inometa, warnings
    >>> res = inometa.metaprop([4, 23, 10, 1, 2, 0, 6, 9, 3, 5, 2, 7],
    ...                        [72, 164, 110, 43, 26, 18, 36, 59, 33, 80, 45, 131])
    >>> eg = inometa.egger_test(res)
    >>> eg.model, eg.predictor
    ('rma', 'sei')
    """
    return _regression(res, np.sqrt(np.asarray(res.data.vi)), model, "sei", "Egger's test")


def peters_test(res: MetaPropResult) -> RegTestResult:
    """Peters' test: weighted regression of yᵢ on 1/nᵢ (metafor ``regtest(model="lm",
    predictor="ninv")``), less prone than Egger's to the mean–variance dependence of
    proportions.

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([4, 23, 10, 1, 2, 0, 6, 9, 3, 5, 2, 7],
    ...                        [72, 164, 110, 43, 26, 18, 36, 59, 33, 80, 45, 131])
    >>> inometa.peters_test(res).predictor
    'ninv'
    """
    n = np.asarray(res.data.n, dtype=float)
    return _regression(res, 1 / n, "lm", "ninv", "Peters' test")


def begg_test(res: MetaPropResult) -> RankTestResult:
    """Begg & Mazumdar's rank correlation test (metafor ``ranktest``).

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([4, 23, 10, 1, 2, 0, 6, 9, 3, 5, 2, 7],
    ...                        [72, 164, 110, 43, 26, 18, 36, 59, 33, 80, 45, 131])
    >>> bt = inometa.begg_test(res)
    >>> bt.exact, -1 <= bt.statistic <= 1
    (True, True)
    """
    notes = _small_k_notes(res, "Begg's test")
    prep = _inverse_view(res)
    yi, vi = prep.yi, prep.vi
    w = 1 / vi
    theta = float(np.sum(w * yi) / w.sum())
    ystar = (yi - theta) / np.sqrt(vi - 1 / w.sum())
    ties = len(np.unique(ystar)) < ystar.size or len(np.unique(vi)) < vi.size
    exact = res.k < 50 and not ties  # R's cor.test(method="kendall", exact=NULL)
    kt = stats.kendalltau(ystar, vi, method="exact" if exact else "asymptotic")
    return RankTestResult(float(kt.statistic), float(kt.pvalue), exact, res.k, tuple(notes))


@dataclass(frozen=True)
class TrimFillResult:
    """Trim-and-fill.

    Attributes
    ----------
    k0, se_k0
        Estimated number of missing studies and its SE.
    side
        ``"left"`` or ``"right"``: where the missing studies were imputed.
    estimator
        ``"L0"`` or ``"R0"``.
    p_k0
        For R0, the p-value of the test that k0 = 0 (NaN for L0).
    result
        The filled analysis (a :class:`~inometa.MetaPropResult` whose ``data.imputed``
        marks the imputed studies), or the original analysis when k0 = 0.
    filled
        The imputed studies: ``label``, ``yi``, ``vi`` (model scale), ``n`` (of the study
        each mirrors).
    notes
        Plain-language notes.
    """

    k0: int
    se_k0: float
    side: str
    estimator: str
    p_k0: float
    result: MetaPropResult
    filled: pd.DataFrame
    notes: tuple[str, ...]

    def __str__(self) -> str:
        """k0 and where, then the filled analysis's pooled proportion."""
        res = self.result
        low, high = res.random.proportion_ci
        p = f", p(k0 = 0) = {self.p_k0:.3g}" if math.isfinite(self.p_k0) else ""
        return (
            f"Trim-and-fill ({self.estimator}): k0 = {self.k0} (SE {self.se_k0:.3g}){p}, "
            f"imputed on the {self.side}\nfilled analysis (k={res.k}): proportion "
            f"{res.estimate:.4f} [{100 * res.options.level:g}% CI {low:.4f}, {high:.4f}]"
        )

    def __repr__(self) -> str:
        """Two lines: k0 and side, the filled estimate (proportion scale); no tables."""
        return f"<TrimFillResult {self}>".replace("\n", "\n  ")


def _trim_fit(prep: Prepared, keep: npt.NDArray[np.bool_]) -> float:
    return fit_prepared(prep.subset(keep)).random.estimate


def trim_and_fill(
    res: MetaPropResult, *, estimator: str = "L0", side: str | None = None, maxiter: int = 100
) -> TrimFillResult:
    """Duval & Tweedie's trim-and-fill (metafor ``trimfill``).

    Parameters
    ----------
    res
        A meta-analysis (inverse variance; GLMM analyses are trimmed and filled on the
        logit scale with inverse-variance weights).
    estimator
        ``"L0"`` (default) or ``"R0"``.
    side
        ``"left"`` or ``"right"``; default chosen as metafor: ``"right"`` if the slope of yᵢ
        on √vᵢ (mixed-effects model) is negative, else ``"left"``.
    maxiter
        Iteration limit of the trim step.

    Returns
    -------
    TrimFillResult

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([4, 23, 10, 1, 2, 0, 6, 9, 3, 5, 2, 7],
    ...                        [72, 164, 110, 43, 26, 18, 36, 59, 33, 80, 45, 131])
    >>> tf = inometa.trim_and_fill(res)
    >>> tf.side in ("left", "right"), tf.k0 >= 0
    (True, True)
    """
    import pandas as pd

    if estimator not in ("L0", "R0"):
        raise ValueError(f"unknown estimator {estimator!r}; valid values are: L0, R0")
    if side is not None and side not in ("left", "right"):
        raise ValueError(f"unknown side {side!r}; valid values are: left, right")
    if res.k < 3:
        raise ValueError(f"trim-and-fill needs at least 3 studies (k = {res.k})")
    notes = _small_k_notes(res, "trim-and-fill")
    prep = _inverse_view(res)
    yi0, vi0 = prep.yi, prep.vi
    k = res.k
    if side is None:
        X = np.column_stack([np.ones(k), np.sqrt(vi0)])
        slope = fit_inverse_reg(prep, X, ("intercept", "sei"), ("sei",)).estimate[1]
        side = "right" if slope < 0 else "left"
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * yi0, kind="stable")
    yi = sign * yi0[order]
    k0 = 0
    previous = -1
    beta = math.nan
    se_k0 = math.nan
    iterations = 0
    while k0 != previous:
        previous = k0
        iterations += 1
        if iterations > maxiter:
            raise ValueError(f"trim-and-fill did not converge in {maxiter} iterations")
        keep = np.zeros(k, dtype=bool)
        keep[order[: k - k0]] = True
        beta = sign * _trim_fit(prep, keep)
        dev = yi - beta
        ranks = stats.rankdata(np.abs(dev), method="ordinal")
        signed = np.sign(dev) * ranks
        if estimator == "R0":
            negative = -signed[signed < 0]
            k0_raw = float(k - (negative.max() if negative.size else 0) - 1)
            se_k0 = math.sqrt(2 * max(0.0, k0_raw) + 2)
        else:
            sr = float(signed[signed > 0].sum())
            k0_raw = (4 * sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_raw**3
                + 27 * k0_raw**2
                + 17 * k0_raw
                - 18 * k * k0_raw**2
                - 18 * k * k0_raw
                + 6 * k**2 * k0_raw
            ) / 24
            se_k0 = 4 * math.sqrt(var_sr) / (2 * k - 1)
        k0 = int(max(0, round(k0_raw)))  # round half to even, as R
        se_k0 = max(0.0, se_k0)
    # metafor: 1 − Σ_{m=−1}^{k0−1} C(m+1, m+1) ½^(m+2), which is ½^(k0+1).
    p_k0 = 0.5 ** (k0 + 1) if estimator == "R0" else math.nan
    if k0 == 0:
        filled = pd.DataFrame({"label": [], "yi": [], "vi": [], "n": []})
        return TrimFillResult(0, se_k0, side, estimator, p_k0, res, filled, tuple(notes))
    mirrored = order[k - k0 :]
    yi_fill = 2 * sign * beta - yi0[mirrored]
    labels = tuple(f"Filled {j + 1}" for j in range(k0))
    filled = pd.DataFrame(
        {"label": labels, "yi": yi_fill, "vi": vi0[mirrored], "n": np.asarray(prep.n)[mirrored]}
    )
    result = fit_prepared(_augment(prep, mirrored, yi_fill, labels))
    notes.append(
        f"{k0} stud{'y' if k0 == 1 else 'ies'} imputed on the {side} "
        f"({estimator}); the filled analysis uses the original options"
    )
    return TrimFillResult(k0, se_k0, side, estimator, p_k0, result, filled, tuple(notes))


def _augment(
    prep: Prepared, mirrored: npt.NDArray[np.intp], yi_fill: FloatArray, labels: tuple[str, ...]
) -> Prepared:
    """Prepared inputs with the imputed studies appended (no counts; the n they mirror)."""
    z = float(stats.norm.isf((1 - prep.options.level) / 2))
    vi_fill = prep.vi[mirrored]
    n_fill = np.asarray(prep.n, dtype=float)[mirrored]
    tr = prep.transform
    n_arg = n_fill if tr.needs_n else None
    nan = np.full(yi_fill.size, np.nan)
    low = np.concatenate([prep.ci_low, tr.inverse(yi_fill - z * np.sqrt(vi_fill), n_arg)])
    high = np.concatenate([prep.ci_high, tr.inverse(yi_fill + z * np.sqrt(vi_fill), n_arg)])
    return prep._replace(
        label_source=Deferred.of(prep.labels + labels),
        events=np.concatenate([np.asarray(prep.events, dtype=float), nan]),
        n=np.concatenate([np.asarray(prep.n, dtype=float), n_fill]),
        events_used=np.concatenate([prep.events_used, nan]),
        n_used=np.concatenate([prep.n_used, n_fill]),
        corrected=np.concatenate([prep.corrected, np.zeros(yi_fill.size, dtype=bool)]),
        yi=np.concatenate([prep.yi, yi_fill]),
        vi=np.concatenate([prep.vi, vi_fill]),
        intervals=Deferred.of((low, high)),
        imputed=np.concatenate(
            [np.zeros(prep.yi.size, dtype=bool), np.ones(yi_fill.size, dtype=bool)]
        ),
        notes=(),
    )
