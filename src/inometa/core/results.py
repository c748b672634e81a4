"""Frozen result objects for a proportion meta-analysis. No printing logic, no plotting.

Model-scale values (logit, arcsine, …) and proportion-scale values are kept in separate,
named fields; back-transformation rules are recorded in the options.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .intervals import critical_value
from .significance import TestResult
from .study_data import StudyData
from .transforms import get_transform
from .views import ResultViews, register_views, registered_views

if TYPE_CHECKING:
    import pandas as pd

    from .glmm import Nagq

__all__ = [
    "Heterogeneity",
    "Interval",
    "MetaPropOptions",
    "MetaPropResult",
    "PooledEstimate",
    "Prediction",
    "ResultViews",
    "StudyData",
    "json_safe",
    "register_views",
    "registered_views",
]

FloatArray = npt.NDArray[np.float64]


class Interval(NamedTuple):
    """A ``(low, high)`` interval."""

    low: float
    high: float


@dataclass(frozen=True)
class MetaPropOptions:
    """Every choice that produced a result (resolved from the profile and explicit options).

    Attributes
    ----------
    method
        ``"inverse"`` (inverse-variance, normal–normal) or ``"glmm"`` (binomial–normal).
    transform
        ``raw``, ``log``, ``logit``, ``arcsine`` or ``ft`` (``logit`` for GLMM).
    tau2_method
        τ² estimator (``"ML"`` for GLMM).
    ci_method, pi_method
        Pooled CI method (``z``, ``t``, ``hk``, ``hk_adhoc``) and PI method (``z``, ``t``, ``hts``).
    pi_se
        The SE in the prediction interval: ``"ci"`` (the CI's, metafor) or ``"wald"`` (the
        inverse-variance SE, R meta); see :mod:`inometa.core.intervals`.
    i2_definition
        ``"tau2"`` (metafor) or ``"q"`` (R meta, Stata).
    study_ci_method
        Method of the per-study confidence intervals.
    correction, increment
        Continuity-correction rule (metafor ``to``) and amount (``add``).
    correction_style
        What the correction changes on the raw and log scales: ``"metafor"`` (the counts,
        before transforming) or ``"meta"`` (as R meta's ``metaprop``); see
        :func:`inometa.core.transforms.corrected_yi_vi`.
    level
        Confidence level of the reported intervals.
    nagq
        How the GLMM integrated over the random effects: ``"exact"`` or lme4's number of
        adaptive Gauss–Hermite nodes (None for inverse variance).
    backtransform
        How pooled values were back-transformed to proportions.
    tau2_fixed
        The user-fixed τ² (``tau2_method == "fixed"``), else None.
    profile
        The convention profile whose defaults filled the unspecified options.
    version
        inometa version.
    """

    method: str
    transform: str
    tau2_method: str
    ci_method: str
    pi_method: str
    pi_se: str
    i2_definition: str
    study_ci_method: str
    correction: str
    correction_style: str
    increment: float
    level: float
    nagq: Nagq | None
    backtransform: str
    tau2_fixed: float | None
    profile: str
    version: str


@dataclass(frozen=True)
class PooledEstimate:
    """One pooled estimate (common or random effects), on two scales.

    The **proportion scale** (what a reader quotes): ``proportion`` and ``proportion_ci``.
    The **model scale** (the transform's: logit, arcsine, …; the proportion itself for
    ``raw``): ``model_estimate``, ``model_se``, ``model_ci``, and the fields ``se_wald``,
    ``statistic`` and ``pvalue`` (the test of 0 on that scale). The fields ``estimate``,
    ``se``, ``ci_low`` and ``ci_high`` are the same model-scale values under their original
    names, kept so that existing code keeps working: ``res.random.estimate`` is *not* the
    pooled proportion (that is ``res.random.proportion``, or ``res.estimate``). ``se`` is the
    SE of the CI method (Hartung–Knapp-scaled for ``hk``); ``df`` the t degrees of freedom of
    the CI (None for normal-based).

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([10, 20, 30], [50, 60, 70])
    >>> round(res.random.proportion, 4), round(res.random.model_estimate, 4)
    (0.3216, -0.7466)
    >>> res.random.model_estimate == res.random.estimate
    True
    """

    model: str
    estimate: float
    se: float
    se_wald: float
    ci_method: str
    df: float | None
    ci_low: float
    ci_high: float
    statistic: float
    pvalue: float
    proportion: float
    proportion_ci: Interval

    @property
    def model_estimate(self) -> float:
        """The pooled estimate on the model scale (the same number as ``estimate``)."""
        return self.estimate

    @property
    def model_se(self) -> float:
        """Its standard error as the CI method uses it, model scale (same as ``se``)."""
        return self.se

    @property
    def model_ci(self) -> Interval:
        """The confidence interval on the model scale (``ci_low``, ``ci_high``)."""
        return Interval(self.ci_low, self.ci_high)

    def __repr__(self) -> str:
        """Two lines: the proportion scale, then the model scale, each named.

        Examples
        --------
        >>> import inometa
        >>> inometa.metaprop([10, 20, 30], [50, 60, 70]).random
        <PooledEstimate random, CI z: proportion 0.3216 [0.2057, 0.4645];
          model scale: estimate -0.7466 [-1.3510, -0.1422], se 0.3084>
        """
        low, high = self.proportion_ci
        return (
            f"<PooledEstimate {self.model}, CI {self.ci_method}: proportion "
            f"{self.proportion:.4f} [{low:.4f}, {high:.4f}];\n  model scale: estimate "
            f"{self.estimate:.4f} [{self.ci_low:.4f}, {self.ci_high:.4f}], se {self.se:.4f}>"
        )


@dataclass(frozen=True)
class Heterogeneity:
    """Between-study variance and heterogeneity statistics.

    ``q`` is Cochran's Q on the model scale (inverse variance) or, for the GLMM, the
    Wald-type test of the saturated model (metafor ``QE.Wld``); ``q_lrt`` is the GLMM's
    likelihood-ratio test (NaN for inverse variance). ``i2`` is a fraction in [0, 1].
    """

    tau2: float
    tau2_se: float
    tau2_ci: Interval
    tau2_ci_method: str
    tau2_iterations: int
    tau2_converged: bool
    q: float
    q_df: int
    q_pvalue: float
    q_type: str
    q_lrt: float
    q_lrt_pvalue: float
    i2: float
    h2: float
    i2_ci: Interval
    h2_ci: Interval
    typical_variance: float

    @property
    def q_result(self) -> TestResult:
        """``q``, ``q_df`` and ``q_pvalue`` as one :class:`~inometa.TestResult`."""
        return TestResult("Q", self.q, self.q_df, None, self.q_pvalue, f"{self.q_type} Q test")

    @property
    def q_lrt_result(self) -> TestResult | None:
        """The GLMM's likelihood-ratio test of heterogeneity (None for inverse variance)."""
        if math.isnan(self.q_lrt):
            return None
        return TestResult(
            "Q (LRT)",
            self.q_lrt,
            self.q_df,
            None,
            self.q_lrt_pvalue,
            "likelihood-ratio test against the saturated model",
        )


@dataclass(frozen=True)
class Prediction:
    """Prediction interval for the true proportion of a new study, on two scales.

    ``proportion_low``/``proportion_high`` (or ``proportion_interval``) are on the
    proportion scale; ``model_low``/``model_high`` (or ``model_interval``) on the model
    scale, the same numbers as the fields ``low``/``high``, which keep their original names
    for existing code. ``df`` is the t degrees of freedom (None: normal quantile); ``note``
    says why the bounds are undefined (NaN) when they are.

    Examples
    --------
    >>> import inometa
    >>> pred = inometa.metaprop([10, 20, 30, 12], [50, 60, 70, 40]).prediction
    >>> pred.proportion_low < pred.proportion_high and pred.model_low == pred.low
    True
    """

    low: float
    high: float
    proportion_low: float
    proportion_high: float
    method: str
    df: float | None
    note: str | None = None

    @property
    def model_low(self) -> float:
        """Lower bound on the model scale (the same number as ``low``)."""
        return self.low

    @property
    def model_high(self) -> float:
        """Upper bound on the model scale (the same number as ``high``)."""
        return self.high

    @property
    def model_interval(self) -> Interval:
        """``(model_low, model_high)``."""
        return Interval(self.low, self.high)

    @property
    def proportion_interval(self) -> Interval:
        """``(proportion_low, proportion_high)``."""
        return Interval(self.proportion_low, self.proportion_high)

    def __repr__(self) -> str:
        """Both scales, each named."""
        return (
            f"<Prediction {self.method}: proportion [{self.proportion_low:.4f}, "
            f"{self.proportion_high:.4f}]; model scale [{self.low:.4f}, {self.high:.4f}]>"
        )


def json_safe(value: Any) -> Any:
    """JSON-safe plain Python values: NaN/inf → None, numpy → Python, tuples → lists.

    What every result's ``to_dict()`` returns its fields through, so that ``json.dumps``
    accepts the dictionary as it is.

    Examples
    --------
    >>> json_safe({"q": np.float64(2.5), "ci": (np.nan, 1.0), "k": np.int64(3)})
    {'q': 2.5, 'ci': [None, 1.0], 'k': 3}
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


@dataclass(frozen=True)
class MetaPropResult:
    """The result of :func:`inometa.metaprop`.

    Two scales, always named: the **proportion scale** (``res.estimate``,
    ``res.random.proportion``, ``res.random.proportion_ci``,
    ``res.prediction.proportion_low``/``proportion_high``, ``res.confidence_interval()``)
    and the **model scale** of ``options.transform`` (logit, arcsine, …):
    ``res.random.model_estimate``, ``res.random.model_ci``, ``res.prediction.model_low``/
    ``model_high``, ``res.tau2``, ``res.data.yi`` and ``res.data.vi``. The nested objects'
    older field names ``res.random.estimate``, ``res.random.ci_low``/``ci_high`` and
    ``res.prediction.low``/``high`` are model-scale too, kept for existing code.

    Attributes
    ----------
    options
        Every resolved choice (:class:`MetaPropOptions`).
    data
        Per-study counts, model-scale values, study CIs and weights (:class:`StudyData`).
    common, random
        Common-effect and random-effects estimates (:class:`PooledEstimate`).
    heterogeneity
        τ², Q, I², H² and their intervals (:class:`Heterogeneity`).
    prediction
        The prediction interval (:class:`Prediction`).
    backtransform_n
        The n used to back-transform pooled Freeman–Tukey values (harmonic mean), else None.
    notes
        Plain-language notes on degenerate or unusual situations.
    """

    options: MetaPropOptions
    data: StudyData
    common: PooledEstimate
    random: PooledEstimate
    heterogeneity: Heterogeneity
    prediction: Prediction
    backtransform_n: float | None
    notes: tuple[str, ...] = field(default=())

    # -- convenient proportion-scale accessors (random effects) ---------------------------
    @property
    def k(self) -> int:
        """Number of studies."""
        return self.data.k

    @property
    def weights_approximate(self) -> bool:
        """True when the study weights are only approximate (the GLMM has none of its own)."""
        return self.options.method == "glmm"

    @property
    def estimate(self) -> float:
        """Random-effects pooled proportion (proportion scale; ``random.model_estimate`` is
        the same estimate on the model scale)."""
        return self.random.proportion

    @property
    def tau2(self) -> float:
        """Between-study variance (model scale)."""
        return self.heterogeneity.tau2

    @property
    def i2(self) -> float:
        """I² as a fraction."""
        return self.heterogeneity.i2

    def _to_proportion(self, y: float) -> float:
        tr = get_transform(self.options.transform)
        return float(tr.inverse(y, self.backtransform_n))

    def confidence_interval(
        self, level: float | None = None, *, model: str = "random", scale: str = "proportion"
    ) -> Interval:
        """Confidence interval of a pooled estimate at any level.

        Parameters
        ----------
        level
            Confidence level (default: the level the result was computed at).
        model
            ``"random"`` or ``"common"``.
        scale
            ``"proportion"`` or ``"model"``.

        Examples
        --------
        >>> import inometa
        >>> res = inometa.metaprop([10, 20, 30], [50, 60, 70])
        >>> lo, hi = res.confidence_interval(0.9)
        >>> lo < res.estimate < hi
        True
        """
        if model not in ("random", "common"):
            raise ValueError(f"unknown model {model!r}; valid values are: common, random")
        if scale not in ("proportion", "model"):
            raise ValueError(f"unknown scale {scale!r}; valid values are: model, proportion")
        lev = self.options.level if level is None else _level(level)
        est = self.random if model == "random" else self.common
        if not math.isfinite(est.estimate):
            # GLMM with all studies at a boundary: the exact interval of the pooled counts.
            from .study_ci import study_confint

            lo, hi = study_confint(
                [self.data.events_total], [self.data.n_total], "clopper-pearson", lev
            )
            if scale == "model":
                return Interval(_logit(float(lo[0])), _logit(float(hi[0])))
            return Interval(float(lo[0]), float(hi[0]))
        crit = critical_value(lev, est.df)
        low, high = est.estimate - crit * est.se, est.estimate + crit * est.se
        if scale == "model":
            return Interval(low, high)
        return Interval(self._to_proportion(low), self._to_proportion(high))

    def prediction_interval(
        self, level: float | None = None, *, scale: str = "proportion"
    ) -> Interval:
        """Prediction interval for a new study's true proportion at any level.

        Examples
        --------
        >>> import inometa
        >>> res = inometa.metaprop([10, 20, 30, 12], [50, 60, 70, 40])
        >>> pi = res.prediction_interval()
        >>> pi.low <= res.estimate <= pi.high
        True
        """
        if scale not in ("proportion", "model"):
            raise ValueError(f"unknown scale {scale!r}; valid values are: model, proportion")
        lev = self.options.level if level is None else _level(level)
        pred = self.prediction
        est = self.random
        crit = critical_value(lev, pred.df)
        if not math.isfinite(est.estimate) or not math.isfinite(crit):
            return Interval(math.nan, math.nan)
        half = crit * math.sqrt(est.se**2 + self.heterogeneity.tau2)
        low, high = est.estimate - half, est.estimate + half
        if scale == "model":
            return Interval(low, high)
        return Interval(self._to_proportion(low), self._to_proportion(high))

    # -- tabular and serialised views ---------------------------------------------------
    @property
    def studies(self) -> pd.DataFrame:
        """One row per study: counts, proportion, study CI, model-scale values, weights (%)."""
        import pandas as pd

        d = self.data
        tr = get_transform(self.options.transform)
        frame: pd.DataFrame = pd.DataFrame(
            {
                "label": list(d.labels),
                "events": d.events,
                "n": d.n,
                "proportion": d.events / d.n,
                "ci_low": d.ci_low,
                "ci_high": d.ci_high,
                "corrected": d.corrected,
                "yi": d.yi,
                "vi": d.vi,
                "yi_proportion": tr.inverse(d.yi, d.n_used if tr.needs_n else None),
                "weight_common": d.weights_common,
                "weight_random": d.weights_random,
                "imputed": d.imputed,
            }
        )
        return frame

    def to_dict(self) -> dict[str, Any]:
        """All results as plain JSON-serialisable values (NaN and ±inf become None).

        Keys include ``k``, ``estimate``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high``
        (proportion scale), ``tau2``, ``i2`` (fraction), ``h2``, ``q``, ``q_df``, ``q_pvalue``,
        ``tau2_ci``, ``i2_ci``, ``model_scale`` (estimate, se, ci and pi bounds on the model
        scale), ``common``, ``options``, ``studies`` and ``notes``.

        Examples
        --------
        >>> import inometa, json
        >>> d = inometa.metaprop([10, 20, 30], [50, 60, 70]).to_dict()
        >>> sorted(d["model_scale"])
        ['ci_high', 'ci_low', 'estimate', 'pi_high', 'pi_low', 'se']
        >>> _ = json.dumps(d, allow_nan=False)
        """
        het = self.heterogeneity
        r = self.random
        c = self.common
        out: dict[str, Any] = {
            "k": self.k,
            "n_total": self.data.n_total,
            "events_total": self.data.events_total,
            "estimate": r.proportion,
            "ci_low": r.proportion_ci.low,
            "ci_high": r.proportion_ci.high,
            "pi_low": self.prediction.proportion_low,
            "pi_high": self.prediction.proportion_high,
            "tau2": het.tau2,
            "tau": math.sqrt(het.tau2) if math.isfinite(het.tau2) else math.nan,
            "tau2_se": het.tau2_se,
            "tau2_ci": list(het.tau2_ci),
            "tau2_ci_method": het.tau2_ci_method,
            "tau2_iterations": het.tau2_iterations,
            "tau2_converged": het.tau2_converged,
            "i2": het.i2,
            "i2_ci": list(het.i2_ci),
            "h2": het.h2,
            "h2_ci": list(het.h2_ci),
            "q": het.q,
            "q_df": het.q_df,
            "q_pvalue": het.q_pvalue,
            "q_type": het.q_type,
            "q_lrt": het.q_lrt,
            "q_lrt_pvalue": het.q_lrt_pvalue,
            "typical_variance": het.typical_variance,
            "model_scale": {
                "estimate": r.estimate,
                "se": r.se,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "pi_low": self.prediction.low,
                "pi_high": self.prediction.high,
            },
            "random": {k: v for k, v in asdict(r).items()},
            "common": {k: v for k, v in asdict(c).items()},
            "pi_df": self.prediction.df,
            "backtransform_n": self.backtransform_n,
            "options": asdict(self.options),
            "studies": {
                "label": list(self.data.labels),
                "events": self.data.events,
                "n": self.data.n,
                "yi": self.data.yi,
                "vi": self.data.vi,
                "ci_low": self.data.ci_low,
                "ci_high": self.data.ci_high,
                "weight_common": self.data.weights_common,
                "weight_random": self.data.weights_random,
            },
            "notes": list(self.notes),
        }
        cleaned: dict[str, Any] = json_safe(out)
        return cleaned

    # -- for manuscripts and for re-checking in R ------------------------------------------
    def methods_text(self) -> str:
        """A methods paragraph describing exactly how this result was computed.

        Examples
        --------
        >>> import inometa
        >>> text = inometa.metaprop([10, 20, 30], [50, 60, 70]).methods_text()
        >>> "restricted maximum likelihood" in text
        True
        """
        return registered_views().methods(self)

    def to_metafor(self) -> str:
        """R code that refits this analysis with metafor (data included).

        Examples
        --------
        >>> import inometa
        >>> code = inometa.metaprop([10, 20, 30], [50, 60, 70]).to_metafor()
        >>> 'escalc(measure = "PLO"' in code
        True
        """
        return registered_views().metafor(self)

    # -- display -------------------------------------------------------------------------
    def summary(self) -> str:
        """A readable multi-line text summary (written by :mod:`inometa.report.text`)."""
        return registered_views().text(self)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        """One line: the model, then the pooled proportion, its CI, I² and τ².

        Examples
        --------
        >>> import inometa
        >>> inometa.metaprop([10, 20, 30], [50, 60, 70])
        <MetaPropResult k=3, logit REML, CI z: proportion 0.3216 [95% CI 0.2057, 0.4645], I² 71.2%, τ² (logit scale) 0.2018>
        """  # noqa: E501
        o = self.options
        model = "GLMM" if o.method == "glmm" else o.tau2_method
        low, high = self.random.proportion_ci
        return (
            f"<MetaPropResult k={self.k}, {o.transform} {model}, CI {o.ci_method}: "
            f"proportion {self.estimate:.4f} [{100 * o.level:g}% CI {low:.4f}, {high:.4f}], "
            f"I² {100 * self.i2:.1f}%, τ² ({o.transform} scale) {self.tau2:.4g}>"
        )

    def _repr_html_(self) -> str:
        return registered_views().html(self)


def _logit(p: float) -> float:
    if p <= 0:
        return -math.inf
    if p >= 1:
        return math.inf
    return math.log(p / (1 - p))


def _level(level: float) -> float:
    from .._validation import check_level

    return check_level(level)
