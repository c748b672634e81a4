"""``metaprop()``: pool single-arm proportions (the one orchestrator).

validate → resolve options → transform (with continuity correction) → τ² → weights →
pooled estimates and intervals → heterogeneity → result. All numerical work is delegated
to the pure modules (:mod:`~inometa.transforms`, :mod:`~inometa.tau2`,
:mod:`~inometa.heterogeneity`, :mod:`~inometa.intervals`, :mod:`~inometa.glmm`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache, wraps
from itertools import compress
from typing import Any, NamedTuple, ParamSpec, TypeVar, cast

import numpy as np
import numpy.typing as npt

from . import messages
from ._deferred import Deferred
from ._distributions import chi2_sf
from ._validation import (
    check_choice,
    check_counts,
    check_labels,
    check_level,
    data_column,
    study_label,
)
from ._version import __version__
from ._wls import InterceptProjection, total
from .glmm import Nagq, check_nagq, fit_glmm
from .heterogeneity import (
    cochran_q,
    i2_h2_ci_test_based,
    i2_h2_from_q,
    i2_h2_from_tau2,
    q_profile_tau2_ci,
    q_test,
    typical_variance,
)
from .intervals import (
    CI_METHODS,
    PI_METHODS,
    hartung_knapp_s2,
    pooled_interval,
    prediction_interval,
)
from .profiles import resolve_profile
from .results import (
    Heterogeneity,
    Interval,
    MetaPropOptions,
    MetaPropResult,
    PooledEstimate,
    Prediction,
    StudyData,
)
from .study_ci import STUDY_CI_METHODS, study_confint
from .tau2 import TAU2_ESTIMATORS, Tau2Fit, estimate_tau2
from .transforms import CORRECTIONS, Transform, apply_correction, get_transform

__all__ = ["Prepared", "fit_prepared", "metaprop", "prepare", "prepared_from_result", "refit"]

FloatArray = npt.NDArray[np.float64]

_P = ParamSpec("_P")
_R = TypeVar("_R")

_METHODS = {"inverse": "inverse", "iv": "inverse", "glmm": "glmm"}
_I2_DEFINITIONS = {"tau2": "tau2", "q": "q"}
_TAU2_NAMES = {name.lower(): name for name in TAU2_ESTIMATORS}


def metaprop(
    events: Any,
    n: Any,
    *,
    data: Any = None,
    labels: Any = None,
    method: str | None = None,
    transform: str | None = None,
    tau2_method: str | None = None,
    tau2_fixed: float | None = None,
    ci_method: str | None = None,
    pi_method: str | None = None,
    i2_definition: str | None = None,
    study_ci_method: str | None = None,
    correction: str | None = None,
    increment: float | None = None,
    level: float = 0.95,
    nagq: Nagq | None = None,
    profile: str = "metafor",
) -> MetaPropResult:
    """Random-effects (and common-effect) meta-analysis of single proportions.

    Parameters
    ----------
    events, n
        Event counts and totals: array-likes, pandas Series, or column names of ``data``.
    data
        Optional DataFrame holding the columns named by ``events``, ``n`` and ``labels``.
    labels
        Study labels (array-like or column name), used in tables, plots and error messages.
    method
        ``"inverse"`` (inverse-variance pooling of transformed proportions) or ``"glmm"``
        (binomial–normal model on the logit scale, fitted by maximum likelihood).
    transform
        ``"raw"``, ``"log"``, ``"logit"``, ``"arcsine"`` or ``"ft"`` (Freeman–Tukey); metafor
        (``"PLO"``…) and R meta (``"PLOGIT"``…) names are accepted.
    tau2_method
        ``"DL"``, ``"REML"``, ``"ML"``, ``"PM"``, ``"HS"``, ``"SJ"``, ``"HE"``, ``"EB"``
        (GLMM: ``"ML"`` only).
    tau2_fixed
        Use this value of τ² instead of estimating it (metafor ``rma(tau2=)``); the
        result records ``tau2_method="fixed"``. With ``method="glmm"`` only β is estimated.
    ci_method
        Pooled CI: ``"z"``, ``"t"``, ``"hk"`` (Hartung–Knapp–Sidik–Jonkman) or ``"hk_adhoc"``
        (HK with s² ≥ 1). GLMM: ``"z"`` or ``"t"``.
    pi_method
        Prediction interval: ``"z"``, ``"t"`` (t(k−1)) or ``"hts"`` (t(k−2)).
    i2_definition
        ``"tau2"`` (I² = τ²/(τ² + ṽ), metafor) or ``"q"`` (I² = (Q − df)/Q, R meta).
    study_ci_method
        Per-study CIs: ``"clopper-pearson"``, ``"wilson"``, ``"wilson-cc"``,
        ``"agresti-coull"``, ``"jeffreys"`` or ``"wald"``.
    correction
        Continuity correction rule: ``"only0"``, ``"all"``, ``"if0all"`` or ``"none"``
        (default: ``only0`` for raw/log/logit, ``none`` for arcsine/ft, as metafor).
    increment
        Amount added to events and non-events of corrected studies (default 0.5).
    level
        Confidence level for all intervals (0.95, or 95).
    nagq
        How the GLMM integrates over the random effects: ``"exact"`` (the default in every
        profile: the exact likelihood, see :mod:`inometa.glmm`) or a whole number k, lme4's
        k-node adaptive Gauss–Hermite approximation (metafor ``rma.glmm(nAGQ = k)``; its
        default is 7), for parity with metafor and R meta.
    profile
        Convention profile supplying unspecified options: ``"metafor"`` (default),
        ``"meta"`` or ``"stata_metaprop"`` (see :mod:`inometa.profiles`).

    Returns
    -------
    MetaPropResult
        Frozen result; ``res.to_dict()``, ``res.summary()``, ``res.studies``,
        ``res.confidence_interval(level)``, ``res.prediction_interval(level)``.

    Raises
    ------
    ValueError
        Invalid counts (naming study, row and field), unknown option names (listing the
        valid ones), or option combinations that are not defined.

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([9, 17, 49], [49, 90, 72], labels=["A", "B", "C"],
    ...                        transform="logit", tau2_method="DL")
    >>> res.options.transform, res.options.tau2_method, res.k
    ('logit', 'DL', 3)
    >>> 0 < res.estimate < 1
    True
    """
    prep = prepare(
        events,
        n,
        data=data,
        labels=labels,
        method=method,
        transform=transform,
        tau2_method=tau2_method,
        tau2_fixed=tau2_fixed,
        ci_method=ci_method,
        pi_method=pi_method,
        i2_definition=i2_definition,
        study_ci_method=study_ci_method,
        correction=correction,
        increment=increment,
        level=level,
        nagq=nagq,
        profile=profile,
    )
    return fit_prepared(prep)


class Prepared(NamedTuple):
    """The studies of one analysis, ready to fit: metafor's ``escalc`` step, with the options.

    :func:`prepare` builds it (counts validated, options resolved, continuity correction
    applied, transform computed) and :func:`fit_prepared` fits it; :func:`prepared_from_result`
    recovers it from a result, for refits on subsets of the studies (leave-one-out,
    cumulative, trim-and-fill) and for meta-regression and the small-study tests, which fit
    the same studies with a design matrix. Frozen: a NamedTuple (built in one step, on
    every call) whose arrays are read-only. Study labels and per-study confidence intervals
    are deferred, computed on first use: the fit does not need them.

    Attributes
    ----------
    options : MetaPropOptions
        Every option, resolved (profile applied, names canonical).
    transform : Transform
        The transform ``options.transform`` names.
    label_source : Deferred of tuple of str
        The study labels (read them as :attr:`labels`).
    events, n : ndarray of int64
        The counts as given.
    events_used, n_used : ndarray of float
        The counts after the continuity correction (metafor's ``add``/``to``).
    corrected : ndarray of bool
        The studies the continuity correction was applied to.
    yi, vi : ndarray of float
        Model-scale values and their sampling variances (metafor's ``yi`` and ``vi``).
    intervals : Deferred of (ndarray, ndarray)
        Each study's own confidence interval, on the proportion scale.
    backtransform_n : float or None
        The harmonic mean of n used by the Freeman–Tukey inverse (Miller 1978); None for
        the other transforms.
    notes : tuple of str
        Notes raised while preparing (which studies were corrected).
    imputed : ndarray of bool or None
        The studies added by trim-and-fill; None when all are observed.
    """

    options: MetaPropOptions
    transform: Transform
    label_source: Deferred[tuple[str, ...]]
    events: npt.NDArray[np.int64]
    n: npt.NDArray[np.int64]
    events_used: FloatArray
    n_used: FloatArray
    corrected: npt.NDArray[np.bool_]
    yi: FloatArray
    vi: FloatArray
    intervals: Deferred[tuple[FloatArray, FloatArray]]
    backtransform_n: float | None
    notes: tuple[str, ...]
    imputed: npt.NDArray[np.bool_] | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return self.label_source.get()

    @property
    def ci_low(self) -> FloatArray:
        return self.intervals.get()[0]

    @property
    def ci_high(self) -> FloatArray:
        return self.intervals.get()[1]

    def study_data(self, w_common: FloatArray, w_random: FloatArray) -> StudyData:
        """The result's per-study data, with the given (unnormalised) weights as percentages."""
        return StudyData.build(
            labels=self.label_source,
            events=self.events,
            n=self.n,
            events_used=self.events_used,
            n_used=self.n_used,
            corrected=self.corrected,
            yi=self.yi,
            vi=self.vi,
            intervals=self.intervals,
            weights_common=_weights(w_common),
            weights_random=_weights(w_random),
            imputed=_imputed(self),
        )

    def subset(self, keep: npt.NDArray[np.bool_]) -> Prepared:
        """The same analysis restricted to the studies in ``keep`` (stored yᵢ, vᵢ reused,
        as metafor's leave1out/cumul do; the Freeman–Tukey harmonic mean is recomputed)."""
        keep = np.array(keep, dtype=bool)  # a copy: the deferred values below read it later
        n_sub = self.n[keep]
        labels, intervals = self.label_source, self.intervals
        return self._replace(
            label_source=Deferred(lambda: tuple(compress(labels.get(), keep))),
            events=self.events[keep],
            n=n_sub,
            events_used=self.events_used[keep],
            n_used=self.n_used[keep],
            corrected=self.corrected[keep],
            yi=self.yi[keep],
            vi=self.vi[keep],
            intervals=Deferred(lambda: (intervals.get()[0][keep], intervals.get()[1][keep])),
            backtransform_n=float(1 / np.mean(1 / n_sub)) if self.transform.needs_n else None,
            notes=(),
            imputed=None if self.imputed is None else self.imputed[keep],
        )


def prepared_from_result(res: MetaPropResult) -> Prepared:
    """Recover the prepared inputs of a result (for refits on subsets of its studies)."""
    d = res.data
    return Prepared(
        options=res.options,
        transform=get_transform(res.options.transform),
        label_source=d._labels,
        events=np.asarray(d.events),
        n=np.asarray(d.n),
        events_used=np.asarray(d.events_used),
        n_used=np.asarray(d.n_used),
        corrected=np.asarray(d.corrected),
        yi=np.asarray(d.yi),
        vi=np.asarray(d.vi),
        intervals=d._intervals,
        backtransform_n=res.backtransform_n,
        notes=(),
        imputed=np.asarray(d.imputed),
    )


def fit_prepared(prep: Prepared) -> MetaPropResult:
    """Run the fitting routine the options ask for."""
    return _fit_inverse(prep) if prep.options.method == "inverse" else _fit_glmm(prep)


def refit(res: MetaPropResult, keep: npt.ArrayLike) -> MetaPropResult:
    """Refit ``res`` with the same options on the studies where ``keep`` is True.

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([10, 20, 30], [50, 60, 70])
    >>> refit(res, [True, False, True]).k
    2
    """
    mask = np.asarray(keep, dtype=bool)
    if mask.shape != (res.k,):
        raise ValueError(f"keep must have one entry per study ({res.k}), got shape {mask.shape}")
    if not mask.any():
        raise ValueError("cannot refit on zero studies")
    return fit_prepared(prepared_from_result(res).subset(mask))


def _cached_if_hashable(f: Callable[_P, _R]) -> Callable[_P, _R]:
    """``f`` with its results cached, keyed on the arguments' values and types, for calls
    whose arguments can all be hashed (others call ``f`` itself)."""
    cached = cast(Callable[_P, _R], lru_cache(maxsize=256, typed=True)(f))

    @wraps(f)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            hash((args, tuple(kwargs.values())))
        except TypeError:
            return f(*args, **kwargs)
        return cached(*args, **kwargs)

    return call


@_cached_if_hashable
def resolve_options(
    *,
    method: str | None,
    transform: str | None,
    tau2_method: str | None,
    tau2_fixed: float | None,
    ci_method: str | None,
    pi_method: str | None,
    i2_definition: str | None,
    study_ci_method: str | None,
    correction: str | None,
    increment: float | None,
    level: float,
    nagq: Nagq | None,
    profile: str,
) -> MetaPropOptions:
    """Resolve the options of :func:`metaprop` against the profile and check each one.

    Shared with :func:`inometa.metaprop_batch`, so that both accept and reject the same
    options with the same messages. ``backtransform`` is left empty: it depends on the data
    (the harmonic mean of n), and each caller describes it.

    The options are immutable, and an analysis re-run in a loop (a simulation, a
    sensitivity analysis) resolves the same ones each time: resolved options are cached,
    keyed on the values and their types (``nagq=True`` is refused, ``nagq=1`` is not).
    Values that cannot be hashed are resolved uncached, and refused with their own message.
    """
    lev = check_level(level)
    explicit = {
        "method": method,
        "transform": transform,
        "tau2_method": tau2_method,
        "ci_method": ci_method,
        "pi_method": pi_method,
        "i2_definition": i2_definition,
        "study_ci_method": study_ci_method,
        "increment": increment,
        "nagq": nagq,
    }
    profile_name, opts = resolve_profile(profile, explicit)
    meth = check_choice(opts["method"], "method", _METHODS)
    tr = get_transform(opts["transform"])
    ci_m = check_choice(opts["ci_method"], "ci_method", CI_METHODS)
    pi_m = check_choice(opts["pi_method"], "pi_method", PI_METHODS)
    i2_def = check_choice(opts["i2_definition"], "i2_definition", _I2_DEFINITIONS)
    sci_m = check_choice(opts["study_ci_method"], "study_ci_method", STUDY_CI_METHODS)
    inc = float(opts["increment"])
    corr = check_choice(
        correction if correction is not None else tr.default_correction, "correction", CORRECTIONS
    )

    if meth == "glmm":
        if tr.name != "logit":
            raise ValueError(
                f"method='glmm' models the logit of the proportion; transform={tr.name!r} "
                "is not available with it (use transform='logit' or method='inverse')"
            )
        if tau2_method is not None and tau2_method.upper() != "ML":
            raise ValueError(
                f"method='glmm' is fitted by maximum likelihood; tau2_method={tau2_method!r} "
                "is not available with it (valid: ML)"
            )
        if ci_m not in ("z", "t"):
            raise ValueError(
                f"ci_method={ci_m!r} is not defined for method='glmm'; valid values are: t, z"
            )
        tau2_name = "ML" if tau2_fixed is None else "fixed"
        check_nagq(opts["nagq"])
    if tau2_fixed is not None:
        if not (isinstance(tau2_fixed, (int, float)) and math.isfinite(tau2_fixed)) or (
            tau2_fixed < 0
        ):
            raise ValueError(f"tau2_fixed must be a finite number >= 0, got {tau2_fixed!r}")
        tau2_name = "fixed"
    elif meth == "inverse":
        tau2_name = check_choice(opts["tau2_method"], "tau2_method", _TAU2_NAMES)

    return MetaPropOptions(
        method=meth,
        transform=tr.name,
        tau2_method=tau2_name,
        ci_method=ci_m,
        pi_method=pi_m,
        i2_definition=i2_def,
        study_ci_method=sci_m,
        correction=corr,
        increment=inc,
        level=lev,
        nagq=check_nagq(opts["nagq"]) if meth == "glmm" else None,
        backtransform="",
        tau2_fixed=None if tau2_fixed is None else float(tau2_fixed),
        profile=profile_name,
        version=__version__,
    )


@lru_cache(maxsize=256)
def _with_backtransform(options: MetaPropOptions, backtransform: str) -> MetaPropOptions:
    """``options`` with its data-dependent description of the back-transform (cached, as
    the options are: rebuilding a frozen dataclass costs more than a small analysis's sums)."""
    return replace(options, backtransform=backtransform)


def prepare(
    events: Any,
    n: Any,
    *,
    data: Any,
    labels: Any,
    method: str | None,
    transform: str | None,
    tau2_method: str | None,
    tau2_fixed: float | None,
    ci_method: str | None,
    pi_method: str | None,
    i2_definition: str | None,
    study_ci_method: str | None,
    correction: str | None,
    increment: float | None,
    level: float,
    nagq: Nagq | None,
    profile: str,
) -> Prepared:
    """Validate counts and options, apply the continuity correction, transform.

    The first half of :func:`metaprop` (which is ``fit_prepared(prepare(...))``), shared by
    :func:`~inometa.metareg`, whose design matrix needs the study labels first.

    Parameters
    ----------
    events, n, data, labels
        The studies, as for :func:`metaprop`.
    method, transform, tau2_method, tau2_fixed, ci_method, pi_method, i2_definition
        The model options, as for :func:`metaprop`; None takes the profile's value.
    study_ci_method, correction, increment, level, nagq, profile
        The remaining options, as for :func:`metaprop`.

    Returns
    -------
    Prepared

    Raises
    ------
    ValueError
        Invalid counts (naming study, row and field) or unknown option names.
    """

    if data is not None:
        events = data_column(data, events, "events")
        n = data_column(data, n, "n")
        labels = data_column(data, labels, "labels")
    x, m, labs = check_counts(events, n, None if labels is None else list(labels))
    k = x.size
    options = resolve_options(
        method=method,
        transform=transform,
        tau2_method=tau2_method,
        tau2_fixed=tau2_fixed,
        ci_method=ci_method,
        pi_method=pi_method,
        i2_definition=i2_definition,
        study_ci_method=study_ci_method,
        correction=correction,
        increment=increment,
        level=level,
        nagq=nagq,
        profile=profile,
    )
    meth, tr, corr, inc = (
        options.method,
        get_transform(options.transform),
        options.correction,
        options.increment,
    )
    sci_m, lev = options.study_ci_method, options.level

    notes: list[str] = []
    x_used, n_used, corrected = apply_correction(x, m, corr, inc)
    if corrected.any():
        which = ", ".join(f"'{study_label(labs, i)}'" for i in np.flatnonzero(corrected)[:6])
        more = "" if corrected.sum() <= 6 else f" and {int(corrected.sum()) - 6} more"
        studies = f"{int(corrected.sum())} stud{'y' if corrected.sum() == 1 else 'ies'}"
        notes.append(messages.correction(inc, studies, which + more, tr.name, corr, meth == "glmm"))
    yi, vi = tr.yi_vi(x_used, n_used)
    if meth == "inverse":
        _check_finite(yi, vi, x, m, labs, tr, corr)

    # Per-study intervals describe single studies and do not enter the fit: deferred.
    intervals = Deferred(lambda: study_confint(x, m, sci_m, lev))
    label_source = (
        Deferred.of(labs) if labs is not None else Deferred(lambda: check_labels(None, k))
    )
    backtransform_n = float(1 / np.mean(1 / m)) if tr.needs_n else None
    backtransform = (
        f"Miller (1978) inverse with the harmonic mean of n ({backtransform_n:.4g}); "
        "study rows with their own n"
        if tr.needs_n
        else f"inverse of the {tr.name} transform"
    )
    options = _with_backtransform(options, backtransform)
    # Read-only: the result shares these arrays instead of copying them.
    for arr in (x, m, x_used, n_used, corrected, yi, vi):
        arr.setflags(write=False)
    return Prepared(
        options,
        tr,
        label_source,
        x,
        m,
        x_used,
        n_used,
        corrected,
        yi,
        vi,
        intervals,
        backtransform_n,
        tuple(notes),
    )


def _check_finite(
    yi: FloatArray,
    vi: FloatArray,
    x: npt.NDArray[np.int64],
    m: npt.NDArray[np.int64],
    labs: tuple[str, ...] | None,
    tr: Transform,
    corr: str,
) -> None:
    if math.isfinite(float(yi.dot(vi))) and float(vi.min()) > 0:
        return  # all finite (a sum of products overflows only for values near 1e154)
    bad = np.flatnonzero(~np.isfinite(yi) | ~np.isfinite(vi) | (vi <= 0))
    if bad.size:
        i = int(bad[0])
        problem = "is infinite" if not np.isfinite(yi[i]) else "has zero sampling variance"
        raise ValueError(
            f"study '{study_label(labs, i)}' (row {i + 1}): {x[i]} events of {m[i]} {problem} "
            f"on the {tr.name} scale with correction '{corr}'; use correction='only0' "
            "(metafor's default) or the 'arcsine' or 'ft' transform"
        )


def _proportion(tr: Transform, y: float, n_bt: float | None) -> float:
    return float(tr.inverse(y, n_bt))


def _proportions(tr: Transform, ys: tuple[float, ...], n_bt: float | None) -> list[float]:
    """Several model-scale values back-transformed in one call."""
    out: list[float] = tr.inverse(ys, n_bt).tolist()
    return out


def _pooled(
    model: str,
    ci: Any,
    tr: Transform,
    n_bt: float | None,
    proportions: tuple[float, float, float] | list[float] | None = None,
) -> PooledEstimate:
    """The pooled estimate of ``ci``; ``proportions``: its three values back-transformed,
    if the caller did that already (with others, in one call)."""
    if proportions is None:
        proportions = _proportions(tr, (ci.estimate, ci.low, ci.high), n_bt)
    est, low, high = proportions
    return PooledEstimate(
        model=model,
        estimate=ci.estimate,
        se=ci.se,
        se_wald=ci.se_wald,
        ci_method=ci.method,
        df=ci.df,
        ci_low=ci.low,
        ci_high=ci.high,
        statistic=ci.statistic,
        pvalue=ci.pvalue,
        proportion=est,
        proportion_ci=Interval(low, high),
    )


def _imputed(prep: Prepared) -> npt.NDArray[np.bool_]:
    return np.zeros(prep.yi.size, dtype=bool) if prep.imputed is None else prep.imputed


def _weights(w: FloatArray) -> FloatArray:
    """Weights in percent, read-only (the result keeps this array rather than a copy)."""
    out: FloatArray = w * (100 / total(w))
    out.setflags(write=False)
    return out


def _i2_h2(
    i2_def: str, tau2: float, tau2_ci: Interval, vt: float, q: float, df: int, level: float
) -> tuple[float, float, Interval, Interval]:
    if i2_def == "tau2":
        i2, h2 = i2_h2_from_tau2(tau2, vt)
        lo, hi = (
            i2_h2_from_tau2(t, vt) if math.isfinite(t) else (math.nan, math.nan) for t in tau2_ci
        )
        return i2, h2, Interval(lo[0], hi[0]), Interval(lo[1], hi[1])
    i2, h2 = i2_h2_from_q(q, df)
    i2_ci, h2_ci = i2_h2_ci_test_based(q, df, level)
    return i2, h2, Interval(*i2_ci), Interval(*h2_ci)


def _clip_notes(tr: Transform, ci: Any, pi_low: float, pi_high: float) -> list[str]:
    if tr.name not in ("raw", "log"):
        return []
    lower = 0.0 if tr.name == "raw" else -math.inf
    upper = 1.0 if tr.name == "raw" else 0.0
    vals = [v for v in (ci.low, ci.high, pi_low, pi_high) if math.isfinite(v)]
    if any(v < lower or v > upper for v in vals):
        return [messages.outside_range(tr.name)]
    return []


def _fit_inverse(prep: Prepared) -> MetaPropResult:
    options, tr = prep.options, prep.transform
    yi, vi = prep.yi, prep.vi
    n_bt = prep.backtransform_n
    notes = list(prep.notes)
    k = yi.size
    lev = options.level
    w_fe = np.reciprocal(vi)
    P0 = InterceptProjection(w_fe)
    sum_fe = P0.sum_w
    mu_fe = P0.mean(yi)
    common = pooled_interval(mu_fe, math.sqrt(1 / sum_fe), "z", lev, k=k)
    # Q(τ²) and its slope at τ² = 0 (computed as solve_q does): Cochran's Q, and the start
    # of the Q-profile search for the τ² interval.
    r_fe = yi - mu_fe
    wr_fe = w_fe * r_fe
    at_zero = (float(wr_fe.dot(r_fe)), float(wr_fe.dot(wr_fe)))

    if options.tau2_fixed is not None:
        tfit = Tau2Fit("fixed", options.tau2_fixed, math.nan, note="τ² fixed by the user")
    else:
        tfit = estimate_tau2(yi, vi, options.tau2_method)
    if tfit.note:
        notes.append(f"τ² ({tfit.method}): {tfit.note}")
    if not tfit.converged:
        notes.append(messages.tau2_not_converged(tfit.method))
    tau2 = tfit.tau2
    w_re = 1 / (vi + tau2)
    sum_re = total(w_re)
    mu_re = float(w_re.dot(yi)) / sum_re
    se_re = math.sqrt(1 / sum_re)
    hk = options.ci_method in ("hk", "hk_adhoc")
    s2 = hartung_knapp_s2(yi, vi, tau2, mu_re) if hk and k > 1 else math.nan
    random = pooled_interval(mu_re, se_re, options.ci_method, lev, k=k, hk_s2=s2)
    if options.ci_method in ("t", "hk", "hk_adhoc") and k < 2:
        notes.append(f"the {options.ci_method} confidence interval needs k ≥ 2; it is undefined")
    if options.ci_method == "hk" and s2 == 0:
        notes.append(messages.HK_ZERO)
    pi = prediction_interval(mu_re, random.se, tau2, options.pi_method, lev, k=k)
    if pi.note:
        notes.append(pi.note)

    qt = q_test(at_zero[0], k - 1)
    vt = (k - 1) / P0.trace() if k >= 2 else 0.0  # the typical variance (see heterogeneity)
    if k >= 2:
        ci_tau = q_profile_tau2_ci(yi, vi, lev, at_zero=at_zero)
        notes.extend(f"τ² interval: {s}" for s in ci_tau.notes)
        tau2_ci = Interval(ci_tau.low, ci_tau.high)
    else:
        tau2_ci = Interval(math.nan, math.nan)
        notes.append(messages.K1_HETEROGENEITY)
    i2, h2, i2_ci, h2_ci = _i2_h2(
        options.i2_definition, tau2, tau2_ci, vt, qt.statistic, qt.df, lev
    )
    het = Heterogeneity(
        tau2=tau2,
        tau2_se=tfit.se,
        tau2_ci=tau2_ci,
        tau2_ci_method="Q-profile",
        tau2_iterations=tfit.iterations,
        tau2_converged=tfit.converged,
        q=qt.statistic,
        q_df=qt.df,
        q_pvalue=qt.pvalue,
        q_type="Cochran",
        q_lrt=math.nan,
        q_lrt_pvalue=math.nan,
        i2=i2,
        h2=h2,
        i2_ci=i2_ci,
        h2_ci=h2_ci,
        typical_variance=vt,
    )
    notes.extend(_clip_notes(tr, random, pi.low, pi.high))
    # Every pooled value back-transformed in one call: common, random, prediction.
    values = (common.estimate, common.low, common.high, random.estimate, random.low)
    props = _proportions(tr, (*values, random.high, pi.low, pi.high), n_bt)
    pi_prop_low, pi_prop_high = props[6:]
    prediction = Prediction(
        pi.low,
        pi.high,
        pi_prop_low,
        pi_prop_high,
        pi.method,
        pi.df,
        pi.note,
    )
    data = prep.study_data(w_fe, w_re)
    return MetaPropResult(
        options,
        data,
        _pooled("common", common, tr, n_bt, props[:3]),
        _pooled("random", random, tr, n_bt, props[3:6]),
        het,
        prediction,
        n_bt,
        tuple(notes),
    )


def _wald_q_glmm(x: npt.NDArray[np.int64], m: npt.NDArray[np.int64]) -> tuple[float, int, float]:
    """metafor's ``QE.Wld``: the saturated model's Wald test, i.e. Cochran's Q on the
    uncorrected logits. Studies with 0 or n events have infinite logits whose weight tends
    to 0 in the saturated fit, so they contribute nothing; df stays k − 1 as in metafor."""
    k = x.size
    inner = (x > 0) & (x < m)
    if k < 2:
        return 0.0, 0, 1.0
    if inner.sum() < 2:
        return 0.0, k - 1, 1.0
    xi, mi = x[inner].astype(float), m[inner].astype(float)
    yi = np.log(xi / (mi - xi))
    vi = 1 / xi + 1 / (mi - xi)
    q = cochran_q(yi, vi).statistic
    return q, k - 1, chi2_sf(q, k - 1)


def _fit_glmm(prep: Prepared) -> MetaPropResult:
    options, tr = prep.options, prep.transform
    x, m, vi = prep.events, prep.n, prep.vi
    notes = list(prep.notes)
    k = x.size
    lev = options.level
    assert options.nagq is not None
    g = fit_glmm(x, m, nagq=options.nagq, level=lev, tau2_fixed=options.tau2_fixed)
    notes.extend(f"GLMM: {s}" for s in g.notes)
    common = pooled_interval(g.mu_common, g.se_common, "z", lev, k=k)
    random = pooled_interval(g.mu, g.se, options.ci_method, lev, k=k)
    if not math.isfinite(g.mu):
        # Every study at one boundary: report the boundary proportion and the exact interval
        # of the pooled counts (see GlmmFit); the model-scale interval is unbounded.
        bound = 0.0 if g.mu < 0 else 1.0
        lo, hi = study_confint([int(x.sum())], [int(m.sum())], "clopper-pearson", lev)
        prop_ci = Interval(float(lo[0]), float(hi[0]))
        common_pe = PooledEstimate(
            "common",
            g.mu_common,
            math.inf,
            math.inf,
            "z",
            None,
            -math.inf,
            math.inf,
            math.nan,
            math.nan,
            bound,
            prop_ci,
        )
        random_pe = PooledEstimate(
            "random",
            g.mu,
            math.inf,
            math.inf,
            options.ci_method,
            random.df,
            -math.inf,
            math.inf,
            math.nan,
            math.nan,
            bound,
            prop_ci,
        )
        why = "no prediction interval when every study is at the same boundary"
        prediction = Prediction(
            math.nan, math.nan, math.nan, math.nan, options.pi_method, None, why
        )
        notes.append(f"GLMM: {why}")
    else:
        common_pe = _pooled("common", common, tr, None)
        random_pe = _pooled("random", random, tr, None)
        pi = prediction_interval(g.mu, random.se, g.tau2, options.pi_method, lev, k=k)
        if pi.note:
            notes.append(pi.note)
        prediction = Prediction(
            pi.low,
            pi.high,
            _proportion(tr, pi.low, None),
            _proportion(tr, pi.high, None),
            pi.method,
            pi.df,
            pi.note,
        )

    q, q_df, q_p = _wald_q_glmm(x, m)
    q_lrt = max(0.0, 2 * (g.loglik_saturated - g.loglik_common))
    q_lrt_p = chi2_sf(q_lrt, k - 1) if k > 1 else 1.0
    if ((x == 0) | (x == m)).any() and k > 1:
        notes.append(messages.GLMM_WALD_Q)
    vt = typical_variance(vi)
    tau2_ci = Interval(*g.tau2_ci)
    i2, h2, i2_ci, h2_ci = _i2_h2(options.i2_definition, g.tau2, tau2_ci, vt, q, q_df, lev)
    het = Heterogeneity(
        tau2=g.tau2,
        tau2_se=math.nan,
        tau2_ci=tau2_ci,
        tau2_ci_method="profile likelihood",
        tau2_iterations=g.iterations,
        tau2_converged=g.converged,
        q=q,
        q_df=q_df,
        q_pvalue=q_p,
        q_type="Wald-type (saturated model)",
        q_lrt=q_lrt,
        q_lrt_pvalue=q_lrt_p,
        i2=i2,
        h2=h2,
        i2_ci=i2_ci,
        h2_ci=h2_ci,
        typical_variance=vt,
    )
    w_re = 1 / (vi + g.tau2)
    notes.append(messages.GLMM_WEIGHTS)
    data = prep.study_data(m.astype(float), w_re)
    return MetaPropResult(options, data, common_pe, random_pe, het, prediction, None, tuple(notes))
