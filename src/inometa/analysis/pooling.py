"""``metaprop()``: pool single-arm proportions.

validate → resolve options → transform (with continuity correction), all in
:mod:`~inometa.analysis.escalc`; then the analysis is the batch of one of
:func:`inometa.analysis.batch.fit_columns` (τ² → weights → pooled estimates and intervals →
heterogeneity, on the pure modules of :mod:`inometa.core`), read back into a
:class:`~inometa.core.results.MetaPropResult`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.glmm import Nagq
from ..core.intervals import prediction_note
from ..core.results import (
    Heterogeneity,
    Interval,
    MetaPropResult,
    PooledEstimate,
    Prediction,
)
from .batch import fit_columns
from .escalc import Prepared, prepare, prepared_from_result, resolve_options

__all__ = ["fit_prepared", "metaprop", "refit"]

FloatArray = npt.NDArray[np.float64]


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
    pi_se: str | None = None,
    i2_definition: str | None = None,
    study_ci_method: str | None = None,
    correction: str | None = None,
    correction_style: str | None = None,
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
    pi_se
        The SE in the prediction interval: ``"ci"``, the SE of the pooled CI (metafor's
        ``predict``; the Hartung–Knapp SE when ``ci_method="hk"``) or ``"wald"``, the
        inverse-variance SE whatever the CI (R meta). They differ only for Hartung–Knapp CIs.
    i2_definition
        ``"tau2"`` (I² = τ²/(τ² + ṽ), metafor) or ``"q"`` (I² = (Q − df)/Q, R meta).
    study_ci_method
        Per-study CIs: ``"clopper-pearson"``, ``"wilson"``, ``"wilson-cc"``,
        ``"agresti-coull"``, ``"jeffreys"`` or ``"wald"``.
    correction
        Continuity correction rule: ``"only0"``, ``"all"``, ``"if0all"`` or ``"none"``
        (default: ``only0`` for raw/log/logit, ``none`` for arcsine/ft, as metafor).
    correction_style
        What the correction changes on the raw and log scales: ``"metafor"`` (events and
        non-events before transforming; profiles ``metafor``, ``stata_metaprop``) or
        ``"meta"`` (R meta's ``metaprop``: the raw proportion stays x/n and only its
        variance is corrected; on the log scale c is added once to n). See
        :func:`inometa.core.transforms.corrected_yi_vi`.
    increment
        Amount added to events and non-events of corrected studies (default 0.5).
    level
        Confidence level for all intervals: a fraction in (0, 1) such as 0.95, or a
        percentage in [50, 100) such as 95 (anything else, e.g. 1.96, is refused).
    nagq
        How the GLMM integrates over the random effects: ``"exact"`` (the default in every
        profile: the exact likelihood, see :mod:`inometa.core.glmm`) or a whole number k, lme4's
        k-node adaptive Gauss–Hermite approximation (metafor ``rma.glmm(nAGQ = k)``; its
        default is 7), for parity with metafor and R meta.
    profile
        Convention profile supplying unspecified options: ``"metafor"`` (default),
        ``"meta"`` or ``"stata_metaprop"`` (see :mod:`inometa.core.profiles`).

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
    options = resolve_options(
        method=method,
        transform=transform,
        tau2_method=tau2_method,
        tau2_fixed=tau2_fixed,
        ci_method=ci_method,
        pi_method=pi_method,
        pi_se=pi_se,
        i2_definition=i2_definition,
        study_ci_method=study_ci_method,
        correction=correction,
        correction_style=correction_style,
        increment=increment,
        level=level,
        nagq=nagq,
        profile=profile,
    )
    prep = prepare(events, n, data=data, labels=labels, options=options)
    return fit_prepared(prep)


def fit_prepared(prep: Prepared) -> MetaPropResult:
    """Run the fitting routine the options ask for."""
    return _fit(prep)


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


def _value(cols: dict[str, FloatArray], name: str) -> float:
    return float(cols[name][0])


def _df(cols: dict[str, FloatArray], name: str) -> float | None:
    """A t df column (NaN: a z-based interval, no df)."""
    value = _value(cols, name)
    return None if math.isnan(value) else value


def _pooled(cols: dict[str, FloatArray], model: str, method: str) -> PooledEstimate:
    """The pooled estimate ``model`` from the columns (``common_…`` or unprefixed)."""
    p = "common_" if model == "common" else ""
    se = _value(cols, f"{p}model_se")
    return PooledEstimate(
        model=model,
        estimate=_value(cols, f"{p}model_estimate"),
        se=se,
        se_wald=se if model == "common" else _value(cols, "model_se_wald"),
        ci_method=method,
        df=None if model == "common" else _df(cols, "ci_df"),
        ci_low=_value(cols, f"{p}model_ci_low"),
        ci_high=_value(cols, f"{p}model_ci_high"),
        statistic=_value(cols, f"{p}statistic"),
        pvalue=_value(cols, f"{p}pvalue"),
        proportion=_value(cols, f"{p}estimate"),
        proportion_ci=Interval(_value(cols, f"{p}ci_low"), _value(cols, f"{p}ci_high")),
    )


def _fit(prep: Prepared) -> MetaPropResult:
    """The analysis as the batch of one (:func:`inometa.analysis.batch.fit_columns`), read
    back into a :class:`MetaPropResult`."""
    options = prep.options
    glmm = options.method == "glmm"
    x, m = prep.events.astype(float)[None], prep.n.astype(float)[None]
    notes = [list(prep.notes)]
    cols = fit_columns(x, m, np.ones(x.shape, dtype=bool), prep.yi[None], prep.vi[None], options,
                       prep.transform, notes)  # fmt: skip
    notes_out = tuple(notes[0])
    pi_low, pi_df = _value(cols, "model_pi_low"), _df(cols, "pi_df")
    pi_note = None
    if glmm and math.isinf(_value(cols, "model_estimate")):
        pi_note = "no prediction interval when every study is at the same boundary"
    elif pi_df is not None and pi_df < 1:
        pi_note = prediction_note(options.pi_method, prep.yi.size)
    prediction = Prediction(
        pi_low,
        _value(cols, "model_pi_high"),
        _value(cols, "pi_low"),
        _value(cols, "pi_high"),
        options.pi_method,
        pi_df,
        pi_note,
    )
    tau2 = _value(cols, "tau2")
    het = Heterogeneity(
        tau2=tau2,
        tau2_se=_value(cols, "tau2_se"),
        tau2_ci=Interval(_value(cols, "tau2_ci_low"), _value(cols, "tau2_ci_high")),
        tau2_ci_method="profile likelihood" if glmm else "Q-profile",
        tau2_iterations=int(_value(cols, "tau2_iterations")),
        tau2_converged=bool(_value(cols, "tau2_converged")),
        q=_value(cols, "q"),
        q_df=int(_value(cols, "q_df")),
        q_pvalue=_value(cols, "q_pvalue"),
        q_type="Wald-type (saturated model)" if glmm else "Cochran",
        q_lrt=_value(cols, "q_lrt"),
        q_lrt_pvalue=_value(cols, "q_lrt_pvalue"),
        i2=_value(cols, "i2"),
        h2=_value(cols, "h2"),
        i2_ci=Interval(_value(cols, "i2_ci_low"), _value(cols, "i2_ci_high")),
        h2_ci=Interval(_value(cols, "h2_ci_low"), _value(cols, "h2_ci_high")),
        typical_variance=_value(cols, "typical_variance"),
    )
    w_re = 1 / (prep.vi + tau2)
    data = prep.study_data(prep.n.astype(float) if glmm else 1 / prep.vi, w_re)
    return MetaPropResult(
        options,
        data,
        _pooled(cols, "common", "z"),
        _pooled(cols, "random", options.ci_method),
        het,
        prediction,
        None if glmm else prep.backtransform_n,
        notes_out,
    )
