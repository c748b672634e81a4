"""``metaprop_batch()``: the same meta-analysis as :func:`inometa.metaprop`, for many sets of
studies at once.

Simulation studies, bootstrap and adverse-event tables need thousands of meta-analyses.
Here R analyses of up to K studies are (R, K) arrays and every step of :func:`metaprop` —
continuity correction, transform, τ² (every estimator), pooled estimates, CI and PI
(every method), Q, I², H², the Q-profile interval for τ², and the binomial–normal GLMM — is
computed for all rows at once, without a Python loop over analyses in the numerical work
(the GLMM is fitted row by row). :func:`metaprop` is the case of one analysis
(:func:`fit_columns`), so each row equals ``metaprop`` on that row's studies.

Ragged sets: a study is absent from an analysis where its events and total are NaN, or
where ``mask`` is False. Analyses and studies are numbered from 1 in messages (analysis =
row, study = column), and the default index of the result is 1 … R.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import special

from ..core import messages
from ..core.batch_result import COLUMNS, MetaPropBatchResult
from ..core.glmm import GlmmFit, Nagq, fit_glmm
from ..core.heterogeneity import (
    i2_h2_ci_test_based_batch,
    i2_h2_from_q_batch,
    i2_h2_from_tau2_batch,
    q_profile_batch,
    typical_variance_batch,
)
from ..core.intervals import (
    hk_s2_from_rss,
    pooled_interval_batch,
    prediction_interval_batch,
    prediction_note,
)
from ..core.q_statistic import batch_data, generalized_q_batch, q_and_slope
from ..core.results import MetaPropOptions
from ..core.study_ci import study_confint
from ..core.tau2 import Tau2Batch, estimate_tau2_batch
from ..core.transforms import Transform, apply_correction, corrected_yi_vi, get_transform
from ._batch_input import Names, check_counts, check_finite, with_batch_backtransform
from .escalc import resolve_options

if TYPE_CHECKING:
    import pandas as pd

    from ..core.results import MetaPropResult

__all__ = ["COLUMNS", "MetaPropBatchResult", "fit_columns", "metaprop_batch", "refit_batch"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def metaprop_batch(
    events: Any,
    n: Any,
    *,
    mask: Any = None,
    labels: Sequence[Any] | None = None,
    analyses: Sequence[Any] | None = None,
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
    as_frame: bool = True,
) -> pd.DataFrame | MetaPropBatchResult:
    """Many proportion meta-analyses at once, each the same as :func:`inometa.metaprop`.

    Parameters
    ----------
    events, n
        Event counts and totals, R analyses × K studies: 2-D arrays, DataFrames, or lists
        of rows (rows of different lengths are padded with NaN). A 1-D input is one
        analysis. A study is absent from an analysis where both its events and its total
        are NaN (or where ``mask`` is False).
    mask
        Optional R × K booleans, True where the study is part of the analysis; entries
        outside the mask are ignored (they may hold anything, NaN included).
    labels
        Optional labels of the studies (columns), as :func:`inometa.metaprop`'s ``labels``:
        used in notes and error messages (default ``Study 1`` … ``Study K``).
    analyses
        Optional labels of the analyses (rows): the result's index and error messages
        (default 1 … R).
    method, transform, tau2_method, tau2_fixed, ci_method, pi_method, pi_se, i2_definition, \
study_ci_method, correction, correction_style, increment, level, nagq, profile
        As :func:`inometa.metaprop`: the same names, defaults, aliases and checks. One
        set of options applies to every analysis. ``study_ci_method`` is recorded only
        (no per-study rows are returned).
    as_frame
        Return a DataFrame (default) or a :class:`MetaPropBatchResult` of arrays.

    Returns
    -------
    pandas.DataFrame or MetaPropBatchResult
        One row per analysis with the columns of :data:`COLUMNS` — named after the keys
        of :meth:`MetaPropResult.to_dict` — and ``notes`` (a tuple of the notes
        ``metaprop`` gives for that analysis). ``attrs["options"]`` records every choice
        and ``attrs["version"]`` the inometa version. Non-converged τ² searches are kept
        and flagged (``tau2_converged`` False, with a note).

    Raises
    ------
    ValueError
        Invalid counts, naming analysis, study and field (``analysis 12, study 3: events 7
        > total 5``); an analysis with no studies; unknown options (listing the valid ones).

    Notes
    -----
    Numbers agree with ``metaprop`` row by row to floating-point rounding, except that
    root-finding (PM, the Q-profile interval for τ²) stops within the same tolerance as the
    single path does, so those values agree to that tolerance, and ``tau2_iterations``
    counts this function's root-finder evaluations there. The GLMM is fitted row by row by
    :func:`inometa.core.glmm.fit_glmm` itself.

    Examples
    --------
    >>> import numpy as np, inometa
    >>> events = np.array([[9, 17, 49], [3, 5, np.nan]])
    >>> n = np.array([[49, 90, 72], [30, 41, np.nan]])
    >>> df = inometa.metaprop_batch(events, n, tau2_method="DL")
    >>> df["k"].tolist()
    [3, 2]
    >>> one = inometa.metaprop([9, 17, 49], [49, 90, 72], tau2_method="DL")
    >>> bool(np.isclose(df.loc[1, "estimate"], one.estimate, rtol=1e-12))
    True
    >>> df.attrs["options"]["tau2_method"]
    'DL'
    """
    names = Names(_strings(analyses), _strings(labels))
    x, m, present = check_counts(events, n, mask, names)
    opts = resolve_options(
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
    opts = with_batch_backtransform(opts)
    tr = get_transform(opts.transform)
    if opts.increment < 0 or not np.isfinite(opts.increment):
        raise ValueError(f"increment must be a finite number >= 0, got {opts.increment!r}")
    out = _fit(x, m, present, opts, tr, names)
    return out.to_frame() if as_frame else out


def refit_batch(res: MetaPropResult, keep: npt.ArrayLike) -> MetaPropBatchResult:
    """Refit ``res`` on each row of ``keep`` in one batch: row i is
    ``inometa.analysis.pooling.refit(res, keep[i])``.

    As metafor's ``leave1out``, ``cumul`` and ``gosh`` do, the stored model-scale values
    yᵢ, vᵢ are reused (continuity corrections are not redone on a subset, and their notes
    name the studies the analysis corrected); the Freeman–Tukey harmonic mean is that of
    each subset. The GLMM is refitted to each subset's counts.

    Parameters
    ----------
    res
        The analysis to refit (its options are reused).
    keep
        Boolean matrix, one row per refit and one column per study of ``res``; every row
        keeps at least one study.

    Returns
    -------
    MetaPropBatchResult
        The columns of :data:`COLUMNS` and the notes, one row per refit.

    Examples
    --------
    >>> import numpy as np, inometa
    >>> res = inometa.metaprop([10, 20, 30], [50, 60, 70])
    >>> out = refit_batch(res, ~np.eye(3, dtype=bool))  # leave one out
    >>> out["k"].tolist()
    [2, 2, 2]
    >>> one = inometa.analysis.pooling.refit(res, [False, True, True])
    >>> bool(np.isclose(out["estimate"][0], one.estimate, rtol=1e-12))
    True
    """
    present = np.asarray(keep, dtype=bool)
    if present.ndim != 2 or present.shape[1] != res.k:
        raise ValueError(f"keep must have {res.k} columns (one per study), got {present.shape}")
    if not present.any(axis=1).all():
        raise ValueError(f"row {int(np.argmin(present.any(axis=1))) + 1} of keep keeps no study")
    d, shape = res.data, present.shape
    stored = tuple(np.broadcast_to(np.asarray(a, dtype=float), shape) for a in (d.yi, d.vi))
    x, m = (np.where(present, np.asarray(a, dtype=float), 0.0) for a in (d.events, d.n))
    names = Names(None, tuple(d.labels))
    tr = get_transform(res.options.transform)
    corrected = present & np.asarray(d.corrected, dtype=bool)
    return _fit(x, m, present, res.options, tr, names, (stored[0], stored[1], corrected))


def _strings(values: Sequence[Any] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple("" if v is None else str(v) for v in values)


# -- fitting --------------------------------------------------------------------------------


class _Notes:
    """Per-analysis notes, added in the order :func:`metaprop` adds them."""

    def __init__(self, r: int) -> None:
        self.rows: list[list[str]] = [[] for _ in range(r)]

    def add(self, where: BoolArray, text: str) -> None:
        for i in np.flatnonzero(where):
            self.rows[i].append(text)

    def add_each(self, texts: Any) -> None:
        """``texts[i]``: a note (str), notes (tuple) or None for analysis i."""
        for i, t in enumerate(texts):
            if t is None:
                continue
            if isinstance(t, str):
                self.rows[i].append(t)
            else:
                self.rows[i].extend(t)

    def frozen(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(r) for r in self.rows)


def _correction_notes(
    notes: _Notes,
    corrected: BoolArray,
    inc: float,
    tr: Transform,
    corr: str,
    glmm: bool,
    names: Names,
) -> None:
    for i in np.flatnonzero(corrected.any(axis=1)):
        cols = np.flatnonzero(corrected[i])
        which = ", ".join(f"'{names.study(j)}'" for j in cols[:6])
        more = "" if cols.size <= 6 else f" and {cols.size - 6} more"
        studies = f"{cols.size} stud{'y' if cols.size == 1 else 'ies'}"
        notes.rows[i].append(messages.correction(inc, studies, which + more, tr.name, corr, glmm))


def _fit(
    x: FloatArray,
    m: FloatArray,
    present: BoolArray,
    opts: MetaPropOptions,
    tr: Transform,
    names: Names,
    stored: tuple[FloatArray, FloatArray, BoolArray] | None = None,
) -> MetaPropBatchResult:
    """The batch: from the counts, or (``stored``) from given yᵢ, vᵢ and correction flags."""
    r = x.shape[0]
    glmm = opts.method == "glmm"
    notes = _Notes(r)
    if stored is None:
        xu, mu_, corrected = apply_correction(x, m, opts.correction, opts.increment, present)
        # Absent entries get harmless values so that the transform is finite there; their
        # weight is 0 through M.
        with np.errstate(divide="ignore", invalid="ignore"):
            Y, V = corrected_yi_vi(
                tr,
                np.where(present, x, 1.0),
                np.where(present, m, 2.0),
                np.where(present, xu, 1.0),
                np.where(present, mu_, 2.0),
                opts.correction_style,
            )
        if not glmm:
            check_finite(Y, V, x, m, present, tr, opts.correction, names)
    else:
        Y, V, corrected = stored
    _correction_notes(notes, corrected, opts.increment, tr, opts.correction, glmm, names)
    cols = fit_columns(x, m, present, Y, V, opts, tr, notes.rows)
    return MetaPropBatchResult.from_columns(
        opts, names.analyses, names.studies, cols, notes.frozen()
    )


def fit_columns(
    x: FloatArray,
    m: FloatArray,
    present: BoolArray,
    Y: FloatArray,
    V: FloatArray,
    opts: MetaPropOptions,
    tr: Transform,
    notes: list[list[str]],
) -> dict[str, FloatArray]:
    """Every statistic of R analyses as the columns of :data:`COLUMNS`, from their counts
    ``x``, ``m`` and model-scale values ``Y``, ``V`` (R × K, ``present`` marking the
    studies of each analysis); the notes of analysis i are appended to ``notes[i]``, in the
    order :func:`inometa.metaprop` gives them. :func:`inometa.metaprop` is the case R = 1.

    Examples
    --------
    >>> import numpy as np, inometa
    >>> from inometa.core.transforms import get_transform
    >>> opts = inometa.metaprop([9, 17, 49], [49, 90, 72], tau2_method="DL").options
    >>> x, m = np.array([[9.0, 17.0, 49.0]]), np.array([[49.0, 90.0, 72.0]])
    >>> Y, V = np.log(x / (m - x)), 1 / x + 1 / (m - x)
    >>> cols = fit_columns(x, m, x > 0, Y, V, opts, get_transform("logit"), [[]])
    >>> cols["k"].tolist(), bool(cols["tau2"][0] > 0)
    ([3.0], True)
    """
    r = x.shape[0]
    M = present.astype(float)
    k = M.sum(axis=1)
    Y = np.where(present, Y, 0.0)
    V = np.where(present, V, 1.0)
    n_bt = k / (M / np.where(present, m, 1.0)).sum(axis=1) if tr.needs_n else None
    cols: dict[str, FloatArray] = {
        "k": k,
        "n_total": m.sum(axis=1),
        "events_total": x.sum(axis=1),
    }
    row_notes = _Notes(r)
    row_notes.rows = notes
    # Boundary rows carry ±inf on the model scale by design (see metaprop); the arithmetic
    # on them is expected, and every column is checked against metaprop in the tests.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if opts.method == "glmm":
            _fit_glmm(cols, row_notes, x, m, present, Y, V, M, k, opts, tr)
        else:
            _fit_inverse(cols, row_notes, Y, V, M, k, opts, tr, n_bt)
    cols["tau"] = np.sqrt(cols["tau2"])
    cols["backtransform_n"] = np.full(r, np.nan) if n_bt is None else n_bt
    return cols


def _proportion(tr: Transform, y: FloatArray, n_bt: FloatArray | None) -> FloatArray:
    return np.asarray(tr.inverse(y, n_bt), dtype=float)


def _i2_h2(
    cols: dict[str, FloatArray],
    i2_def: str,
    tau2: FloatArray,
    tau2_lo: FloatArray,
    tau2_hi: FloatArray,
    vt: FloatArray,
    q: FloatArray,
    df: FloatArray,
    level: float,
) -> None:
    if i2_def == "tau2":
        # the estimate and both bounds as rows of one call (vt broadcasts over them)
        i2, h2 = i2_h2_from_tau2_batch(np.stack([tau2, tau2_lo, tau2_hi]), vt)
        cols["i2"], cols["i2_ci_low"], cols["i2_ci_high"] = i2
        cols["h2"], cols["h2_ci_low"], cols["h2_ci_high"] = h2
        return
    cols["i2"], cols["h2"] = i2_h2_from_q_batch(q, df)
    (i_lo, i_hi), (h_lo, h_hi) = i2_h2_ci_test_based_batch(q, df, level)
    cols["i2_ci_low"], cols["i2_ci_high"] = i_lo, i_hi
    cols["h2_ci_low"], cols["h2_ci_high"] = h_lo, h_hi


def _pooled(
    cols: dict[str, FloatArray],
    prefix: str,
    est: FloatArray,
    se_wald: FloatArray,
    method: str,
    level: float,
    k: FloatArray,
    hk_s2: FloatArray | None,
    tr: Transform,
    n_bt: FloatArray | None,
) -> FloatArray:
    """Pooled interval and test (:func:`inometa.core.intervals.pooled_interval`) into ``cols``;
    returns the SE the interval uses."""
    r = k.size
    ci = pooled_interval_batch(est, se_wald, method, level, k=k, hk_s2=hk_s2)
    lo, hi, df, se = ci.low, ci.high, ci.df, ci.se
    p = prefix
    cols[f"{p}model_estimate"] = est
    cols[f"{p}model_se"] = se
    cols[f"{p}model_ci_low"], cols[f"{p}model_ci_high"] = lo, hi
    cols[f"{p}statistic"] = ci.statistic
    cols[f"{p}pvalue"] = ci.pvalue
    cols[f"{p}estimate"] = _proportion(tr, est, n_bt)
    cols[f"{p}ci_low"] = _proportion(tr, lo, n_bt)
    cols[f"{p}ci_high"] = _proportion(tr, hi, n_bt)
    if not prefix:
        cols["model_se_wald"] = se_wald
        cols["ci_df"] = np.full(r, np.nan) if df is None else df
    return se


def _prediction(
    cols: dict[str, FloatArray],
    notes: _Notes,
    est: FloatArray,
    se: FloatArray,
    tau2: FloatArray,
    method: str,
    level: float,
    k: FloatArray,
    tr: Transform,
    n_bt: FloatArray | None,
    skip: BoolArray | None = None,
) -> None:
    """Prediction interval (:func:`inometa.core.intervals.prediction_interval`) into ``cols``;
    rows in ``skip`` get NaN and no note (the caller explains them)."""
    r = k.size
    pi = prediction_interval_batch(est, se, tau2, method, level, k=k)
    lo, hi, df = pi.low, pi.high, pi.df
    if skip is not None:
        lo, hi = np.where(skip, np.nan, lo), np.where(skip, np.nan, hi)
    cols["model_pi_low"], cols["model_pi_high"] = lo, hi
    cols["pi_low"], cols["pi_high"] = _proportion(tr, lo, n_bt), _proportion(tr, hi, n_bt)
    cols["pi_df"] = np.full(r, np.nan) if df is None else df
    if skip is not None:
        cols["pi_df"] = np.where(skip, np.nan, cols["pi_df"])
    undefined = pi.undefined if skip is None else pi.undefined & ~skip
    for i in np.flatnonzero(undefined):
        notes.rows[i].append(prediction_note(method, int(k[i])))


def _tau2_fit(
    Y: FloatArray, V: FloatArray, M: FloatArray, k: FloatArray, opts: MetaPropOptions
) -> Tau2Batch:
    r = k.size
    if opts.tau2_fixed is None:
        return estimate_tau2_batch(Y, V, M, opts.tau2_method)
    note = np.full(r, "τ² fixed by the user", dtype=object)
    return Tau2Batch(
        "fixed",
        np.full(r, opts.tau2_fixed),
        np.full(r, np.nan),
        np.zeros(r, dtype=np.int64),
        np.ones(r, dtype=bool),
        note,
    )


def _fit_inverse(
    cols: dict[str, FloatArray],
    notes: _Notes,
    Y: FloatArray,
    V: FloatArray,
    M: FloatArray,
    k: FloatArray,
    opts: MetaPropOptions,
    tr: Transform,
    n_bt: FloatArray | None,
) -> None:
    r = k.size
    lev = opts.level
    w_fe = M / V
    s_fe = w_fe.sum(axis=1)
    mu_fe = np.einsum("ij,ij->i", w_fe, Y) / s_fe
    _pooled(cols, "common_", mu_fe, np.sqrt(1 / s_fe), "z", lev, k, None, tr, n_bt)

    tfit = _tau2_fit(Y, V, M, k, opts)
    notes.add_each([None if t is None else f"τ² ({tfit.method}): {t}" for t in tfit.note])
    notes.add(~tfit.converged, messages.tau2_not_converged(tfit.method))
    tau2 = tfit.tau2
    w_re = M / (V + tau2[:, None])
    s_re = w_re.sum(axis=1)
    mu_re = np.einsum("ij,ij->i", w_re, Y) / s_re
    res = Y - mu_re[:, None]
    rss = np.einsum("ij,ij->i", w_re, res * res)
    s2 = hk_s2_from_rss(rss, k - 1)
    se = _pooled(cols, "", mu_re, np.sqrt(1 / s_re), opts.ci_method, lev, k, s2, tr, n_bt)
    if opts.ci_method in ("t", "hk", "hk_adhoc"):
        notes.add(k < 2, f"the {opts.ci_method} confidence interval needs k ≥ 2; it is undefined")
    if opts.ci_method == "hk":
        notes.add(
            np.asarray(s2 == 0),
            messages.HK_ZERO,
        )
    pi_se = cols["model_se_wald"] if opts.pi_se == "wald" else se
    _prediction(cols, notes, mu_re, pi_se, tau2, opts.pi_method, lev, k, tr, n_bt)

    multi = k >= 2
    # Cochran's Q is Q(0); its slope there starts the Q-profile searches.
    q0 = q_and_slope(batch_data(Y, V, M, None), np.zeros(r))
    q = np.where(multi, np.maximum(0.0, q0[0]), 0.0)
    q_df = np.where(multi, k - 1, 0.0)
    cols["q"], cols["q_df"] = q, q_df
    cols["q_pvalue"] = np.where(multi, special.chdtrc(np.maximum(q_df, 1.0), q), 1.0)
    cols["q_lrt"] = np.full(r, np.nan)
    cols["q_lrt_pvalue"] = np.full(r, np.nan)
    vt = typical_variance_batch(V, M)
    cols["typical_variance"] = vt
    ci = q_profile_batch(Y, V, M, lev, at_zero=q0)
    for i, row_notes in enumerate(ci.notes):
        if multi[i] and row_notes:
            notes.rows[i].extend(f"τ² interval: {s}" for s in row_notes)
    notes.add(~multi, messages.K1_HETEROGENEITY)
    cols["tau2"], cols["tau2_se"] = tau2, tfit.se
    cols["tau2_ci_low"], cols["tau2_ci_high"] = ci.low, ci.high
    cols["tau2_iterations"] = tfit.iterations.astype(float)
    cols["tau2_converged"] = tfit.converged.astype(float)
    _i2_h2(cols, opts.i2_definition, tau2, ci.low, ci.high, vt, q, q_df, lev)
    if tr.name in ("raw", "log"):
        lower = 0.0 if tr.name == "raw" else -np.inf
        upper = 1.0 if tr.name == "raw" else 0.0
        bounds = np.stack(
            [
                cols["model_ci_low"],
                cols["model_ci_high"],
                cols["model_pi_low"],
                cols["model_pi_high"],
            ]
        )
        with np.errstate(invalid="ignore"):
            outside = np.asarray(
                (np.isfinite(bounds) & ((bounds < lower) | (bounds > upper))).any(axis=0)
            )
        notes.add(
            outside,
            messages.outside_range(tr.name),
        )


def _wald_q_glmm(
    x: FloatArray, m: FloatArray, present: BoolArray, k: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """metafor's ``QE.Wld`` per analysis: the saturated model's Wald test, i.e. Cochran's Q
    on the uncorrected logits of the studies with 0 < x < n. Studies with 0 or n events have
    infinite logits whose weight tends to 0 in the saturated fit, so they contribute
    nothing; df stays k − 1 as in metafor."""
    inner = present & (x > 0) & (x < m)
    with np.errstate(divide="ignore", invalid="ignore"):
        Y = np.where(inner, np.log(x / (m - x)), 0.0)
        V = np.where(inner, 1 / x + 1 / (m - x), 1.0)
    n_inner = inner.sum(axis=1)
    enough = (k >= 2) & (n_inner >= 2)
    q = np.zeros(k.size)
    rows = np.flatnonzero(enough)
    if rows.size:
        q[rows] = np.maximum(
            0.0, generalized_q_batch(Y[rows], V[rows], inner[rows].astype(float), 0.0)
        )
    df = np.where(k >= 2, k - 1, 0.0)
    p = np.where(enough, special.chdtrc(np.maximum(df, 1.0), q), 1.0)
    return q, df, p


class _GlmmRows(NamedTuple):
    """The fields of :class:`inometa.core.glmm.GlmmFit` that the batch uses, one entry per row."""

    mu: FloatArray
    se: FloatArray
    mu_common: FloatArray
    se_common: FloatArray
    tau2: FloatArray
    tau2_ci_low: FloatArray
    tau2_ci_high: FloatArray
    loglik_common: FloatArray
    loglik_saturated: FloatArray
    iterations: FloatArray
    converged: FloatArray
    notes: list[tuple[str, ...]]


def _glmm_rows(
    x: FloatArray, m: FloatArray, present: BoolArray, opts: MetaPropOptions
) -> _GlmmRows:
    """:func:`inometa.core.glmm.fit_glmm` on each row's studies: one implementation of the GLMM,
    which a loop over 16-study analyses runs about as fast as a vectorised copy did. A row
    whose fit fails gets NaN and a note; the other rows are unaffected."""
    assert opts.nagq is not None
    fields: list[list[float]] = [[] for _ in range(11)]
    notes: list[tuple[str, ...]] = []
    for xi, mi, pi in zip(x, m, present, strict=True):
        try:
            f: GlmmFit | None = fit_glmm(
                xi[pi], mi[pi], nagq=opts.nagq, level=opts.level, tau2_fixed=opts.tau2_fixed
            )
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
            f = None
            notes.append((f"the GLMM fit failed ({err}); this row is undefined",))
        if f is None:
            values = [math.nan] * 9 + [0.0, 0.0]  # no iterations, not converged
        else:
            notes.append(f.notes)
            values = [
                f.mu,
                f.se,
                f.mu_common,
                f.se_common,
                f.tau2,
                *f.tau2_ci,
                f.loglik_common,
                f.loglik_saturated,
                float(f.iterations),
                float(f.converged),
            ]
        for column, value in zip(fields, values, strict=True):
            column.append(value)
    mu, se, mu_common, se_common, tau2, low, high, ll0, ll_sat, its, conv = (
        np.array(c, dtype=float) for c in fields
    )
    return _GlmmRows(mu, se, mu_common, se_common, tau2, low, high, ll0, ll_sat, its, conv, notes)


def _fit_glmm(
    cols: dict[str, FloatArray],
    notes: _Notes,
    x: FloatArray,
    m: FloatArray,
    present: BoolArray,
    Y: FloatArray,
    V: FloatArray,
    M: FloatArray,
    k: FloatArray,
    opts: MetaPropOptions,
    tr: Transform,
) -> None:
    r = k.size
    lev = opts.level
    assert opts.nagq is not None
    g = _glmm_rows(x, m, present, opts)
    notes.add_each([tuple(f"GLMM: {s}" for s in row) for row in g.notes])
    _pooled(cols, "common_", g.mu_common, g.se_common, "z", lev, k, None, tr, None)
    se = _pooled(cols, "", g.mu, g.se, opts.ci_method, lev, k, None, tr, None)
    cols["model_se_wald"] = g.se
    # ±inf: every study at one boundary. NaN (a failed fit) stays NaN: it must not be read
    # as a boundary, which would report a proportion of 1 for a fit that does not exist.
    bound = np.isinf(g.mu)
    if bound.any():
        # Every study at one boundary: the boundary proportion and the exact interval of
        # the pooled counts; the model-scale interval is unbounded (as metaprop).
        lo, hi = study_confint(x.sum(axis=1)[bound], m.sum(axis=1)[bound], "clopper-pearson", lev)
        prop = np.where(g.mu[bound] < 0, 0.0, 1.0)
        for p in ("common_", ""):
            for name, value in (
                ("model_se", np.inf),
                ("model_ci_low", -np.inf),
                ("model_ci_high", np.inf),
                ("statistic", np.nan),
                ("pvalue", np.nan),
                ("estimate", prop),
                ("ci_low", lo),
                ("ci_high", hi),
            ):
                cols[f"{p}{name}"] = np.array(cols[f"{p}{name}"], dtype=float)
                cols[f"{p}{name}"][bound] = value
        cols["model_se_wald"] = np.where(bound, np.inf, cols["model_se_wald"])
    pi_se = cols["model_se_wald"] if opts.pi_se == "wald" else se
    _prediction(cols, notes, g.mu, pi_se, g.tau2, opts.pi_method, lev, k, tr, None, skip=bound)
    notes.add(bound, "GLMM: no prediction interval when every study is at the same boundary")
    q, q_df, q_p = _wald_q_glmm(x, m, present, k)
    cols["q"], cols["q_df"], cols["q_pvalue"] = q, q_df, q_p
    q_lrt = np.maximum(0.0, 2 * (g.loglik_saturated - g.loglik_common))
    cols["q_lrt"] = q_lrt
    cols["q_lrt_pvalue"] = np.where(k > 1, special.chdtrc(np.maximum(k - 1, 1.0), q_lrt), 1.0)
    edge = present & ((x == 0) | (x == m))
    notes.add(
        edge.any(axis=1) & (k > 1),
        messages.GLMM_WALD_Q,
    )
    vt = typical_variance_batch(V, M)
    cols["typical_variance"] = vt
    cols["tau2"] = g.tau2
    cols["tau2_se"] = np.full(r, np.nan)
    cols["tau2_ci_low"], cols["tau2_ci_high"] = g.tau2_ci_low, g.tau2_ci_high
    cols["tau2_iterations"] = g.iterations.astype(float)
    cols["tau2_converged"] = g.converged.astype(float)
    _i2_h2(cols, opts.i2_definition, g.tau2, g.tau2_ci_low, g.tau2_ci_high, vt, q, q_df, lev)
    notes.add(
        np.ones(r, dtype=bool),
        messages.GLMM_WEIGHTS,
    )
