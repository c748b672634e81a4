"""Meta-regression of proportions: mixed-effects models with moderators.

``metareg()`` fits yᵢ = Xᵢβ + uᵢ + εᵢ, uᵢ ~ N(0, τ²), εᵢ ~ N(0, vᵢ) on the transformed scale
(metafor ``rma(yi, vi, mods=…)``), or the binomial–normal model with moderators
(``rma.glmm(measure="PLO", mods=…)``). It reports, as metafor does:

* coefficients with SEs, z or t statistics, p-values and CIs (``ci_method`` as in
  :func:`~inometa.metaprop`: ``z``, ``t``, ``hk`` = Knapp–Hartung, ``hk_adhoc``);
* the omnibus test of the moderators QM (χ² on m df, or F on (m, k − p) df for t/HK; for the
  GLMM also a likelihood-ratio test against the model without moderators);
* the test for residual heterogeneity QE (df k − p), residual τ², I² and H²;
* R² = max(0, (τ₀² − τ²)/τ₀²), τ₀² from the model without moderators (metafor's default);
* optionally a permutation test of the moderators (metafor ``permutest``): exact over all
  distinct reorderings of the moderator rows when there are at most ``permutations`` of
  them, else that many random reorderings from a seeded generator, the first being the
  observed order.

Moderators become a design matrix in :mod:`inometa.analysis.moderators` (treatment coding for
categorical ones, as R's ``factor``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from ..core.glmm import Nagq, fit_glmm
from ..core.heterogeneity import cochran_q, i2_h2_from_tau2, typical_variance
from ..core.intervals import critical_value
from ..core.q_statistic import generalized_q
from ..core.results import MetaPropOptions, StudyData, json_safe, registered_views
from ..core.significance import TestResult, chi2_test, f_test
from ..core.tau2 import estimate_tau2, estimate_tau2_batch
from .escalc import Prepared, prepare, resolve_options
from .moderators import design_matrix
from .permutation import PermutationTest, permutation_test

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MetaRegResult",
    "PermutationTest",
    "design_matrix",
    "fit_inverse_reg",
    "metareg",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MetaRegResult:
    """A fitted meta-regression. Coefficients are on the model (transformed) scale.

    Attributes
    ----------
    options
        Resolved options (as for :func:`~inometa.metaprop`).
    data
        Per-study data.
    terms, moderators
        Coefficient names (first ``"intercept"``) and moderator names.
    X
        The design matrix.
    estimate, se, statistic, pvalue, ci_low, ci_high
        Per-coefficient arrays.
    vcov
        Covariance matrix of the coefficients.
    df
        t degrees of freedom (k − p) for t/HK tests, else None.
    tau2, tau2_se, i2, h2
        Residual heterogeneity (I² as a fraction).
    r2
        Proportion of τ² accounted for by the moderators (fraction; NaN if undefined).
    qm, qm_df, qm_df2, qm_pvalue, qm_test
        Omnibus test of the moderators (``qm_df2`` is the F denominator df).
    qm_lrt, qm_lrt_pvalue
        Likelihood-ratio test of the moderators (GLMM; NaN otherwise).
    qe, qe_df, qe_pvalue, qe_type
        Test for residual heterogeneity.
    permutation
        Permutation test, if requested.
    notes
        Plain-language notes.
    """

    options: MetaPropOptions
    data: StudyData
    terms: tuple[str, ...]
    moderators: tuple[str, ...]
    X: FloatArray
    estimate: FloatArray
    se: FloatArray
    statistic: FloatArray
    pvalue: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    vcov: FloatArray
    df: float | None
    tau2: float
    tau2_se: float
    i2: float
    h2: float
    r2: float
    qm: float
    qm_df: int
    qm_df2: float | None
    qm_pvalue: float
    qm_test: str
    qm_lrt: float
    qm_lrt_pvalue: float
    qe: float
    qe_df: int
    qe_pvalue: float
    qe_type: str
    permutation: PermutationTest | None
    notes: tuple[str, ...]

    @property
    def k(self) -> int:
        """Number of studies."""
        return len(self.data.labels)

    @property
    def qm_result(self) -> TestResult:
        """The omnibus test of the moderators (``qm``, ``qm_df``, ``qm_df2``, ``qm_pvalue``)."""
        return TestResult(
            "QM", self.qm, self.qm_df, self.qm_df2, self.qm_pvalue, f"{self.qm_test} test"
        )

    @property
    def qm_lrt_result(self) -> TestResult | None:
        """The GLMM's likelihood-ratio test of the moderators (None for inverse variance)."""
        if math.isnan(self.qm_lrt):
            return None
        return TestResult(
            "QM (LRT)", self.qm_lrt, self.qm_df, None, self.qm_lrt_pvalue, "likelihood-ratio test"
        )

    @property
    def qe_result(self) -> TestResult:
        """The test for residual heterogeneity (``qe``, ``qe_df``, ``qe_pvalue``)."""
        return TestResult("QE", self.qe, self.qe_df, None, self.qe_pvalue, f"{self.qe_type} test")

    def coefficients(self) -> pd.DataFrame:
        """The coefficient table (one row per term; permutation p-values if computed).

        Examples
        --------
        >>> import inometa
        >>> res = inometa.metareg([10, 20, 30, 12, 25], [50, 60, 70, 40, 55],
        ...                       {"year": [2010, 2012, 2015, 2018, 2020]})
        >>> list(res.coefficients().index)
        ['intercept', 'year']
        """
        import pandas as pd

        table = pd.DataFrame(
            {
                "estimate": self.estimate,
                "se": self.se,
                "statistic": self.statistic,
                "pvalue": self.pvalue,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            },
            index=pd.Index(list(self.terms), name="term"),
        )
        if self.permutation is not None:
            table["pvalue_permutation"] = self.permutation.pvalues
        out: pd.DataFrame = table
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable plain values (NaN and ±inf become None)."""
        out = {
            name: getattr(self, name)
            for name in (
                "terms",
                "moderators",
                "estimate",
                "se",
                "statistic",
                "pvalue",
                "ci_low",
                "ci_high",
                "vcov",
                "df",
                "tau2",
                "tau2_se",
                "i2",
                "h2",
                "r2",
                "qm",
                "qm_df",
                "qm_df2",
                "qm_pvalue",
                "qm_test",
                "qm_lrt",
                "qm_lrt_pvalue",
                "qe",
                "qe_df",
                "qe_pvalue",
                "qe_type",
                "notes",
            )
        }
        out["k"] = self.k
        out["options"] = asdict(self.options)
        out["permutation"] = None if self.permutation is None else asdict(self.permutation)
        cleaned: dict[str, Any] = json_safe(out)
        return cleaned

    def summary(self) -> str:
        """A readable text summary."""
        return registered_views().metareg_text(self)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        """A few lines: the model, the moderator test, R² and τ², the coefficients (at most 6)
        on the model scale.

        Examples
        --------
        >>> import inometa
        >>> inometa.metareg([10, 20, 30, 12, 25], [50, 60, 70, 40, 55],
        ...                 {"year": [2010, 2012, 2015, 2018, 2020]})
        <MetaRegResult k=5, logit REML, moderators: year
          QM = 2.817 (df 1), p = 0.0932; R² 53.1%, τ² (logit scale) 0.05779
          coefficients (logit scale): intercept -160.9, year 0.07954>
        """
        o = self.options
        model = "GLMM" if o.method == "glmm" else o.tau2_method
        r2 = f"R² {100 * self.r2:.1f}%" if math.isfinite(self.r2) else "R² undefined"
        terms = [f"{t} {b:.4g}" for t, b in zip(self.terms, self.estimate, strict=True)]
        if len(terms) > 6:
            terms = [*terms[:5], f"… {len(terms) - 5} more"]
        return (
            f"<MetaRegResult k={self.k}, {o.transform} {model}, moderators: "
            f"{', '.join(self.moderators)}\n  {self.qm_result}; {r2}, "
            f"τ² ({o.transform} scale) {self.tau2:.4g}\n"
            f"  coefficients ({o.transform} scale): {', '.join(terms)}>"
        )


def metareg(
    events: Any,
    n: Any,
    moderators: Any,
    *,
    data: Any = None,
    labels: Any = None,
    method: str | None = None,
    transform: str | None = None,
    tau2_method: str | None = None,
    tau2_fixed: float | None = None,
    ci_method: str | None = None,
    correction: str | None = None,
    increment: float | None = None,
    level: float = 0.95,
    nagq: Nagq | None = None,
    profile: str = "metafor",
    permutations: int | None = None,
    seed: int | None = 0,
) -> MetaRegResult:
    """Mixed-effects meta-regression of proportions (metafor ``rma(mods=)``/``rma.glmm``).

    Parameters
    ----------
    events, n, data, labels
        As :func:`~inometa.metaprop`.
    moderators
        A DataFrame, dict or array of moderators, a list of column names of ``data``, or
        a string ``"year + setting"``. Numeric columns are continuous; text, boolean and
        categorical columns are dummy-coded against their first level.
    method, transform, tau2_method, tau2_fixed, correction, increment, nagq, profile
        As :func:`~inometa.metaprop` (GLMM: logistic mixed model with the moderators).
    ci_method
        ``"z"``, ``"t"``, ``"hk"`` (Knapp–Hartung) or ``"hk_adhoc"``; t-based methods
        test QM with an F distribution, as metafor.
    level
        Confidence level.
    permutations
        If given, run a permutation test with (at most) this many reorderings (metafor's
        ``permutest(iter=)``; 1000 is its default).
    seed
        Seed of the random reorderings (recorded on the result); unused if exact.

    Returns
    -------
    MetaRegResult

    Raises
    ------
    ValueError
        Moderators of the wrong length, with missing values or without variance,
        collinear moderators, or too many coefficients for k.

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metareg([10, 20, 30, 12, 25], [50, 60, 70, 40, 55],
    ...                       {"year": [2010, 2012, 2015, 2018, 2020]}, tau2_method="DL")
    >>> res.terms, res.qm_df
    (('intercept', 'year'), 1)
    """
    options = resolve_options(
        method=method,
        transform=transform,
        tau2_method=tau2_method,
        tau2_fixed=tau2_fixed,
        ci_method=ci_method,
        pi_method=None,
        i2_definition=None,
        study_ci_method=None,
        correction=correction,
        increment=increment,
        level=level,
        nagq=nagq,
        profile=profile,
    )
    prep = prepare(events, n, data=data, labels=labels, options=options)
    X, terms, mods = design_matrix(moderators, prep.labels, data)
    if prep.options.method == "glmm":
        res = _fit_glmm_reg(prep, X, terms, mods)
    else:
        res = fit_inverse_reg(prep, X, terms, mods)
    if permutations is not None:
        perm = _permutation_test(prep, X, res, int(permutations), seed)
        res = _with_permutation(res, perm)
    return res


def _wls(
    yi: FloatArray, vi: FloatArray, X: FloatArray, tau2: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """β̂, (XᵀWX)⁻¹ and the weighted RSS of R fits at once: designs X (R, k, p) and τ² (R,)
    (W = 1/(v + τ²)); β̂ is (R, p), (XᵀWX)⁻¹ (R, p, p), the RSS (R,)."""
    w = 1 / (vi[None, :] + tau2[:, None])
    WX = X * w[:, :, None]
    vb = np.linalg.inv(np.swapaxes(X, 1, 2) @ WX)
    beta = (vb @ (np.swapaxes(WX, 1, 2) @ yi)[:, :, None])[:, :, 0]
    res = yi[None, :] - (X @ beta[:, :, None])[:, :, 0]
    return beta, np.asarray(vb, dtype=float), np.asarray(np.sum(w * res * res, axis=1), dtype=float)


def _hk_scale(vb: FloatArray, rss: FloatArray, ci_method: str, k: int, p: int) -> FloatArray:
    """(XᵀWX)⁻¹ scaled by the Knapp–Hartung factor s² = RSS/(k − p) per fit (0 for a
    perfect fit; at least 1 for ``hk_adhoc``); unchanged for z and t."""
    if ci_method not in ("hk", "hk_adhoc"):
        return vb
    s2 = np.where(rss <= np.finfo(float).eps, 0.0, rss / (k - p))
    if ci_method == "hk_adhoc":
        s2 = np.maximum(1.0, s2)
    return np.asarray(s2[:, None, None] * vb, dtype=float)


def _qm(beta: FloatArray, vb: FloatArray) -> FloatArray:
    """The Wald statistic of every coefficient but the intercept, per fit."""
    b = beta[:, 1:]
    return np.asarray(
        np.einsum("ri,ri->r", b, np.linalg.solve(vb[:, 1:, 1:], b[:, :, None])[:, :, 0]),
        dtype=float,
    )


def _tests(
    beta: FloatArray, vb: FloatArray, ci_method: str, k: int, level: float
) -> tuple[
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
    float | None,
    float,
    int,
    float | None,
    float,
    str,
]:
    """Coefficient tests, CIs and the omnibus QM (all coefficients but the intercept)."""
    p = beta.size
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    df: float | None = float(k - p) if ci_method in ("t", "hk", "hk_adhoc") else None
    crit = critical_value(level, df)
    pval = 2 * (stats.norm.sf(np.abs(stat)) if df is None else stats.t.sf(np.abs(stat), df))
    m = p - 1
    qm = float(_qm(beta[None], vb[None])[0])
    if df is None:
        qm_p = chi2_test("QM", qm, m).pvalue
        qm_test = "Wald χ²"
        df2 = None
    else:
        qm = qm / m
        qm_p = f_test("QM", qm, m, df).pvalue
        qm_test = "F"
        df2 = df
    return (se, stat, pval, beta - crit * se, beta + crit * se, df, qm, m, df2, qm_p, qm_test)


def fit_inverse_reg(
    prep: Prepared, X: FloatArray, terms: tuple[str, ...], mods: tuple[str, ...]
) -> MetaRegResult:
    """Inverse-variance mixed-effects meta-regression of prepared studies on ``X``.

    As metafor's ``rma(yi, vi, mods = X)``: τ² by ``prep.options.tau2_method`` (or fixed),
    weighted least squares at that τ², Wald-type or Hartung–Knapp tests, the omnibus QM and
    the residual QE. Used by :func:`metareg` and by the small-study tests of
    :mod:`inometa.analysis.bias` (Egger's regression is this fit on a chosen design).

    Parameters
    ----------
    prep : Prepared
        The studies and options (``prep.options.method`` is not consulted).
    X : ndarray of float, shape (k, p)
        The design matrix, intercept column included.
    terms : tuple of str
        A name for each column of ``X``.
    mods : tuple of str
        The moderators the omnibus test QM is about (every term but the intercept).

    Returns
    -------
    MetaRegResult
    """
    opts = prep.options
    yi, vi = prep.yi, prep.vi
    k, p = X.shape
    notes = list(prep.notes)
    if opts.tau2_fixed is not None:
        tau2, tau2_se = opts.tau2_fixed, math.nan
    else:
        fit = estimate_tau2(yi, vi, opts.tau2_method, X)
        tau2, tau2_se = fit.tau2, fit.se
        if fit.note:
            notes.append(f"τ² ({fit.method}): {fit.note}")
    betas, vbs, rss = _wls(yi, vi, X[None], np.array([tau2]))
    beta, vb = betas[0], _hk_scale(vbs, rss, opts.ci_method, k, p)[0]
    se, stat, pval, lo, hi, df, qm, m, df2, qm_p, qm_test = _tests(
        beta, vb, opts.ci_method, k, opts.level
    )
    qe = cochran_q(yi, vi, X)
    vt = typical_variance(vi, X)
    i2, h2 = i2_h2_from_tau2(tau2, vt)
    r2 = math.nan
    if opts.tau2_fixed is None:
        tau2_0 = estimate_tau2(yi, vi, opts.tau2_method).tau2
        r2 = 0.0 if tau2_0 == 0 else max(0.0, (tau2_0 - tau2) / tau2_0)
    return MetaRegResult(
        options=opts,
        data=prep.study_data(1 / vi, 1 / (vi + tau2)),
        terms=terms,
        moderators=mods,
        X=_readonly(X),
        estimate=_readonly(beta),
        se=_readonly(se),
        statistic=_readonly(stat),
        pvalue=_readonly(pval),
        ci_low=_readonly(lo),
        ci_high=_readonly(hi),
        vcov=_readonly(vb),
        df=df,
        tau2=tau2,
        tau2_se=tau2_se,
        i2=i2,
        h2=h2,
        r2=r2,
        qm=qm,
        qm_df=m,
        qm_df2=df2,
        qm_pvalue=qm_p,
        qm_test=qm_test,
        qm_lrt=math.nan,
        qm_lrt_pvalue=math.nan,
        qe=qe.statistic,
        qe_df=qe.df,
        qe_pvalue=qe.pvalue,
        qe_type="Cochran (residual)",
        permutation=None,
        notes=tuple(notes),
    )


def _fit_glmm_reg(
    prep: Prepared, X: FloatArray, terms: tuple[str, ...], mods: tuple[str, ...]
) -> MetaRegResult:
    opts = prep.options
    assert opts.nagq is not None
    x, m = prep.events, prep.n
    k, p = X.shape
    notes = list(prep.notes)
    g = fit_glmm(x, m, X=X, nagq=opts.nagq, level=opts.level, tau2_fixed=opts.tau2_fixed)
    notes.extend(f"GLMM: {s}" for s in g.notes)
    se, stat, pval, lo, hi, df, qm, mdf, df2, qm_p, qm_test = _tests(
        g.beta, g.vcov, opts.ci_method, k, opts.level
    )
    g0 = fit_glmm(x, m, nagq=opts.nagq, level=opts.level, tau2_fixed=opts.tau2_fixed)
    # (max() would turn a NaN from a failed fit into 0: keep undefined tests undefined.)
    qm_lrt = _nonneg(2 * (g.loglik - g0.loglik))
    qm_lrt_p = chi2_test("QM (LRT)", qm_lrt, mdf).pvalue
    # Residual Wald-type test of the saturated model: studies at 0 or n events carry no
    # weight in it (their saturated logits are unbounded), as in metafor's glm fit.
    inner = (x > 0) & (x < m)
    qe_w = math.nan
    if inner.sum() > p and np.linalg.matrix_rank(X[inner]) == p:
        xi, mi = x[inner].astype(float), m[inner].astype(float)
        qe_w = max(
            0.0, generalized_q(0.0, np.log(xi / (mi - xi)), 1 / xi + 1 / (mi - xi), X[inner])
        )
    else:
        notes.append(
            "the residual Wald-type Q is undefined: too few studies away from 0% "
            "and 100% to estimate the moderators from them"
        )
    qe_lrt = _nonneg(2 * (g.loglik_saturated - g.loglik_common))
    notes.append(
        f"likelihood-ratio test of residual heterogeneity: Q = {qe_lrt:.4g} on {k - p} df, "
        f"p = {chi2_test('QE (LRT)', qe_lrt, k - p).pvalue:.4g}"
    )
    vt = typical_variance(prep.vi, X)
    i2, h2 = i2_h2_from_tau2(g.tau2, vt)
    r2 = math.nan
    if opts.tau2_fixed is None and math.isfinite(g.tau2):
        r2 = 0.0 if g0.tau2 == 0 else max(0.0, (g0.tau2 - g.tau2) / g0.tau2)
        notes.append(
            "R² for the GLMM compares τ² with and without moderators (an analogue of "
            "metafor's R² for rma.uni; rma.glmm reports none)"
        )
    return MetaRegResult(
        options=opts,
        data=prep.study_data(1 / prep.vi, 1 / (prep.vi + g.tau2)),
        terms=terms,
        moderators=mods,
        X=_readonly(X),
        estimate=_readonly(g.beta),
        se=_readonly(se),
        statistic=_readonly(stat),
        pvalue=_readonly(pval),
        ci_low=_readonly(lo),
        ci_high=_readonly(hi),
        vcov=_readonly(g.vcov),
        df=df,
        tau2=g.tau2,
        tau2_se=math.nan,
        i2=i2,
        h2=h2,
        r2=r2,
        qm=qm,
        qm_df=mdf,
        qm_df2=df2,
        qm_pvalue=qm_p,
        qm_test=qm_test,
        qm_lrt=qm_lrt,
        qm_lrt_pvalue=qm_lrt_p,
        qe=qe_w,
        qe_df=k - p,
        qe_pvalue=chi2_test("QE", qe_w, k - p).pvalue if k > p else math.nan,
        qe_type="Wald-type (saturated model)",
        permutation=None,
        notes=tuple(notes),
    )


def _nonneg(value: float) -> float:
    """Truncate a test statistic at 0, keeping NaN (from a failed fit) as NaN."""
    return value if math.isnan(value) else max(0.0, value)


def _readonly(a: Any) -> FloatArray:
    arr = np.array(a, dtype=float)
    arr.setflags(write=False)
    return arr


def _statistics(prep: Prepared, X: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Coefficient statistics (R, p) and QM (R,) of the designs X (R, k, p) — what a
    permutation test compares. Inverse variance: every design in one batch (τ² by
    :func:`inometa.core.tau2.estimate_tau2_batch`, then batched weighted least squares);
    the GLMM is fitted design by design."""
    opts = prep.options
    r, k, p = X.shape
    if opts.method == "glmm":
        assert opts.nagq is not None
        fits = [
            fit_glmm(prep.events, prep.n, X=Xi, nagq=opts.nagq, tau2_fixed=opts.tau2_fixed)
            for Xi in X
        ]
        beta = np.array([g.beta for g in fits])
        vb = np.array([g.vcov for g in fits])
    else:
        yi, vi = prep.yi, prep.vi
        if opts.tau2_fixed is not None:
            tau2 = np.full(r, float(opts.tau2_fixed))
        else:
            Y, V = np.broadcast_to(yi, (r, k)), np.broadcast_to(vi, (r, k))
            tau2 = estimate_tau2_batch(Y, V, np.ones((r, k)), opts.tau2_method, X).tau2
        beta, vb, rss = _wls(yi, vi, X, tau2)
        vb = _hk_scale(vb, rss, opts.ci_method, k, p)
    stat = beta / np.sqrt(np.diagonal(vb, axis1=1, axis2=2))
    qm = _qm(beta, vb)
    if opts.ci_method in ("t", "hk", "hk_adhoc"):
        qm = qm / (p - 1)
    return stat, qm


def _permutation_test(
    prep: Prepared, X: FloatArray, observed: MetaRegResult, iterations: int, seed: int | None
) -> PermutationTest:
    return permutation_test(
        X,
        np.asarray(observed.statistic),
        observed.qm,
        iterations,
        seed,
        lambda designs: _statistics(prep, designs),
    )


def _with_permutation(res: MetaRegResult, perm: PermutationTest) -> MetaRegResult:
    from dataclasses import replace

    return replace(res, permutation=perm)
