"""``metaprop()``: pool single-arm proportions (the one orchestrator).

validate → resolve options → transform (with continuity correction), all in
:mod:`~inometa.analysis.escalc`; then τ² → weights → pooled estimates and intervals →
heterogeneity → result. All numerical work is delegated to the pure modules
(:mod:`~inometa.core.transforms`, :mod:`~inometa.core.tau2`, :mod:`~inometa.core.heterogeneity`,
:mod:`~inometa.core.intervals`, :mod:`~inometa.core.glmm`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .._distributions import chi2_sf
from .._wls import total
from ..core import messages
from ..core.glmm import Nagq, fit_glmm
from ..core.heterogeneity import (
    cochran_q,
    i2_h2_ci_test_based,
    i2_h2_from_q,
    i2_h2_from_tau2,
    q_profile_tau2_ci,
    q_test,
    typical_variance,
)
from ..core.intervals import (
    hartung_knapp_s2,
    pooled_interval,
    prediction_interval,
)
from ..core.results import (
    Heterogeneity,
    Interval,
    MetaPropResult,
    PooledEstimate,
    Prediction,
)
from ..core.study_ci import study_confint
from ..core.tau2 import Tau2Fit, estimate_tau2
from ..core.transforms import Transform
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
    sum_fe = total(w_fe)
    mu_fe = float(w_fe.dot(yi)) / sum_fe
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
    pi_se = random.se_wald if options.pi_se == "wald" else random.se
    pi = prediction_interval(mu_re, pi_se, tau2, options.pi_method, lev, k=k)
    if pi.note:
        notes.append(pi.note)

    qt = q_test(at_zero[0], k - 1)
    vt = typical_variance(vi)
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
        pi_se = random.se_wald if options.pi_se == "wald" else random.se
        pi = prediction_interval(g.mu, pi_se, g.tau2, options.pi_method, lev, k=k)
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
