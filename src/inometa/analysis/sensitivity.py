"""Sensitivity and influence analyses: leave-one-out, influence diagnostics, Baujat, GOSH,
cumulative meta-analysis.

Every function takes a :class:`~inometa.MetaPropResult` and reuses its options, so it works
for every transform, τ² estimator and CI method, and for the GLMM (refitted where metafor
cannot refit ``rma.glmm``). As metafor does, inverse-variance refits reuse the stored
model-scale values yᵢ, vᵢ (continuity corrections are not redone on subsets).

GOSH (Olkin, Dahabreh & Trikalinos 2012) fits every subset — or a seeded random sample of
subsets — as one masked batch of analyses for the inverse-variance model, through the τ²
estimators of :func:`inometa.metaprop_batch`.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from ..core.heterogeneity import i2_h2_from_tau2_batch, typical_variance_batch
from ..core.q_statistic import generalized_q_batch
from ..core.results import MetaPropResult
from ..core.tau2 import estimate_tau2_batch
from ..core.transforms import get_transform
from .batch import refit_batch

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["baujat", "cumulative", "gosh", "influence", "leave_one_out"]

FloatArray = npt.NDArray[np.float64]
# Subsets per batch in GOSH: about 10 MB per float array at k = 20.
_CHUNK = 65_536


# The columns of leave-one-out and cumulative tables, as named in inometa.analysis.batch.COLUMNS.
_SUMMARY = (
    "k", "model_estimate", "model_se", "model_ci_low", "model_ci_high", "statistic", "pvalue",
    "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "model_pi_low", "model_pi_high",
    "tau2", "i2", "h2", "q", "q_df", "q_pvalue",
)  # fmt: skip


def _summary(res: MetaPropResult, keep: np.ndarray) -> dict[str, Any]:
    """The :data:`_SUMMARY` columns of ``res`` refitted on each row of ``keep``."""
    out = refit_batch(res, keep)
    return {name: out[name] for name in _SUMMARY}


def _with_options(frame: pd.DataFrame, res: MetaPropResult, analysis: str) -> pd.DataFrame:
    """Record on the table what produced it (``frame.attrs``)."""
    frame.attrs["analysis"] = analysis
    frame.attrs["options"] = asdict(res.options)
    return frame


def _need_k(res: MetaPropResult, k: int, what: str) -> None:
    if res.k < k:
        raise ValueError(f"{what} needs at least {k} studies (k = {res.k})")


def leave_one_out(res: MetaPropResult) -> pd.DataFrame:
    """Refit the analysis omitting each study in turn (metafor ``leave1out``).

    Returns
    -------
    pandas.DataFrame
        One row per omitted study: ``omitted`` (its label), ``k``, model-scale
        ``model_estimate``, ``model_se``, ``model_ci_low``/``high``, ``statistic``,
        ``pvalue``, proportion-scale ``estimate``, ``ci_low``/``high``, ``pi_low``/``high``,
        ``tau2``, ``i2`` (fraction), ``h2``, ``q``, ``q_df``, ``q_pvalue``.

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([10, 20, 30, 12], [50, 60, 70, 40], labels=list("ABCD"))
    >>> list(inometa.leave_one_out(res)["omitted"])
    ['A', 'B', 'C', 'D']
    """
    import pandas as pd

    _need_k(res, 2, "leave-one-out")
    frame = pd.DataFrame({"omitted": list(res.data.labels), **_summary(res, _deleted(res.k))})
    return _with_options(frame, res, "leave-one-out")


def cumulative(
    res: MetaPropResult, order: npt.ArrayLike | None = None, *, decreasing: bool = False
) -> pd.DataFrame:
    """Cumulative meta-analysis: the pooled result after each added study (metafor ``cumul``).

    Parameters
    ----------
    res
        The full analysis.
    order
        Sort keys aligned with the studies (e.g. publication years); studies are added in
        increasing order of the keys (stable for ties). Default: input order.
    decreasing
        Add studies in decreasing order of the keys.

    Returns
    -------
    pandas.DataFrame
        One row per step: ``added`` (label), ``order`` (its key) and the columns of
        :func:`leave_one_out`.

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([10, 20, 30], [50, 60, 70], labels=["B", "A", "C"])
    >>> list(inometa.cumulative(res, order=[2019, 2017, 2021])["added"])
    ['A', 'B', 'C']
    """
    import pandas as pd

    keys = np.arange(res.k) if order is None else np.asarray(order)
    if keys.shape != (res.k,):
        raise ValueError(f"order must have one entry per study ({res.k}), got {keys.shape}")
    ranked = pd.Series(keys).sort_values(ascending=not decreasing, kind="stable").index
    idx = np.asarray(ranked, dtype=int)
    keep = np.zeros((res.k, res.k), dtype=bool)
    keep[:, idx] = np.tri(res.k, dtype=bool)  # step s keeps the first s studies in order
    added = {"added": [res.data.labels[i] for i in idx], "order": keys[idx]}
    return _with_options(pd.DataFrame({**added, **_summary(res, keep)}), res, "cumulative")


def _deleted(k: int) -> np.ndarray:
    """Row i keeps every study but the i-th."""
    return ~np.eye(k, dtype=bool)


def influence(res: MetaPropResult) -> pd.DataFrame:
    """Case-deletion diagnostics of Viechtbauer & Cheung (2010), as metafor's ``influence()``.

    Columns: ``label``, ``rstudent`` (externally standardised residual), ``dffits``,
    ``cook_d`` (Cook's distance), ``cov_r`` (covariance ratio), ``tau2_del`` and ``q_del``
    (τ² and Q without the study), ``hat``, ``weight`` (%), ``dfbetas`` and ``influential``
    (metafor's rule: abs(DFFITS) > 3√(p/(k−p)), P(χ²₁ ≤ Cook's D) > 0.5, hat > 3p/k or
    abs(DFBETAS) > 1).

    For the GLMM (no ``influence()`` in metafor) the same formulas are applied on the logit
    scale to the study logits (continuity-corrected) with the refitted GLMM estimates and
    approximate inverse-variance weights 1/(vᵢ + τ²).

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([10, 20, 30, 12, 40], [50, 60, 70, 40, 60])
    >>> inf = inometa.influence(res)
    >>> list(inf.columns)[:4]
    ['label', 'rstudent', 'dffits', 'cook_d']
    """
    import pandas as pd

    _need_k(res, 3, "influence diagnostics")
    yi, vi = np.asarray(res.data.yi), np.asarray(res.data.vi)
    k, p = res.k, 1
    tau2 = res.heterogeneity.tau2
    w = 1 / (vi + tau2)
    hat = w / w.sum()
    mu = res.random.estimate
    vb = res.random.se**2
    fits = refit_batch(res, _deleted(k))
    tau2_del, q_del, delpred = fits["tau2"], fits["q"], fits["model_estimate"]
    vdelpred = fits["model_se"] ** 2
    # Hartung–Knapp fits carry their scale factor s² in the SE; metafor's s2w.
    se_wald = fits["model_se_wald"]
    with np.errstate(divide="ignore", invalid="ignore"):
        s2w = np.where(se_wald > 0, (fits["model_se"] / se_wald) ** 2, 1.0)
    dffits = (mu - delpred) / np.sqrt(s2w * hat * (tau2_del + vi))
    vb_del = 1 / np.sum(1 / (vi[None, :] + tau2_del[:, None]), axis=1)
    dfbetas = (mu - delpred) / np.sqrt(s2w * vb_del)
    cook = (mu - delpred) ** 2 / vb
    cov_r = vdelpred / vb
    resid = yi - delpred
    resid[np.abs(resid) < 100 * np.finfo(float).eps] = 0.0
    rstudent = resid / np.sqrt(vi * s2w + vdelpred + tau2_del * s2w)
    influential = (
        (np.abs(dffits) > 3 * math.sqrt(p / (k - p)))
        | (stats.chi2.cdf(cook, p) > 0.5)
        | (hat > 3 * p / k)
        | (np.abs(dfbetas) > 1)
    )
    frame: pd.DataFrame = pd.DataFrame(
        {
            "label": list(res.data.labels),
            "rstudent": rstudent,
            "dffits": dffits,
            "cook_d": cook,
            "cov_r": cov_r,
            "tau2_del": tau2_del,
            "q_del": q_del,
            "hat": hat,
            "weight": 100 * hat,
            "dfbetas": dfbetas,
            "influential": influential,
        }
    )
    return _with_options(frame, res, "influence")


def baujat(res: MetaPropResult) -> pd.DataFrame:
    """Baujat et al. (2002) coordinates, as metafor's ``baujat()``.

    ``x`` is each study's squared Pearson residual (yᵢ − μ̂)²/(τ² + vᵢ) — its contribution
    to the heterogeneity — and ``y`` its influence on the pooled result,
    (μ̂₍₋ᵢ₎ − μ̂)²/Var(μ̂₍₋ᵢ₎). Both on the model scale.

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([10, 20, 30, 12], [50, 60, 70, 40], labels=list("ABCD"))
    >>> list(inometa.baujat(res).columns)
    ['label', 'x', 'y']
    """
    import pandas as pd

    _need_k(res, 2, "a Baujat plot")
    if not math.isfinite(res.random.estimate):
        raise ValueError(
            "a Baujat plot needs a pooled estimate on the model scale, but this one is "
            f"{res.random.estimate} (every study at the boundary: the GLMM's maximum-likelihood "
            "proportion is 0 or 1), so no study can contribute heterogeneity or influence"
        )
    yi, vi = np.asarray(res.data.yi), np.asarray(res.data.vi)
    fits = refit_batch(res, _deleted(res.k))
    delpred, vdelpred = fits["model_estimate"], fits["model_se"] ** 2
    x = (yi - res.random.estimate) ** 2 / (res.heterogeneity.tau2 + vi)
    y = (delpred - res.random.estimate) ** 2 / vdelpred
    frame: pd.DataFrame = pd.DataFrame({"label": list(res.data.labels), "x": x, "y": y})
    return _with_options(frame, res, "baujat")


# -- GOSH ---------------------------------------------------------------------------------


def _subset_matrix(k: int, subsets: int | None, seed: int | None) -> tuple[np.ndarray, bool]:
    """Inclusion matrix (rows = subsets of size ≥ 1): all 2^k − 1 subsets if that is at most
    ``subsets`` (default 10⁶, metafor's), else a seeded random sample whose sizes follow
    Binomial(k, ½) truncated at 1, as metafor's ``gosh``."""
    cap = 10**6 if subsets is None else int(subsets)
    if cap < 2:
        raise ValueError(f"subsets must be at least 2, got {subsets}")
    total = 2**k - 1
    if total <= cap:
        codes = np.arange(1, total + 1, dtype=np.int64)
        incl = ((codes[:, None] >> np.arange(k)) & 1).astype(bool)
        return incl, True
    rng = np.random.default_rng(seed)
    sizes = np.arange(1, k + 1)
    prob = stats.binom.pmf(sizes, k, 0.5)
    drawn = rng.choice(sizes, size=cap, p=prob / prob.sum())
    keys = rng.random((cap, k))
    # the `size` smallest random keys of each row mark a uniformly random subset of that size
    ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
    return ranks < drawn[:, None], False


def _gosh_inverse(
    yi: FloatArray, vi: FloatArray, S: np.ndarray, method: str, tau2_fixed: float | None
) -> dict[str, FloatArray]:
    """All subsets as one masked batch of analyses (in chunks, to bound memory): τ² by
    :func:`inometa.core.tau2.estimate_tau2_batch` (the estimators of every analysis), Q, I²,
    H² and the random-effects estimate."""
    out: dict[str, list[FloatArray]] = {n: [] for n in ("k", "q", "tau2", "i2", "h2", "estimate")}
    for start in range(0, S.shape[0], _CHUNK):
        M = S[start : start + _CHUNK].astype(float)
        Y, V = np.broadcast_to(yi, M.shape), np.broadcast_to(vi, M.shape)
        ks = M.sum(axis=1)
        if tau2_fixed is None:
            tau2 = estimate_tau2_batch(Y, V, M, method).tau2
        else:
            tau2 = np.full(M.shape[0], float(tau2_fixed))
        i2, h2 = i2_h2_from_tau2_batch(tau2, typical_variance_batch(V, M))
        out["i2"].append(i2)
        out["h2"].append(h2)
        w = M / (V + tau2[:, None])
        out["estimate"].append((w @ yi) / w.sum(axis=1))
        out["q"].append(np.where(ks > 1, generalized_q_batch(Y, V, M, 0.0), 0.0))
        out["k"].append(ks)
        out["tau2"].append(tau2)
    return {name: np.concatenate(parts) for name, parts in out.items()}


def gosh(res: MetaPropResult, subsets: int | None = None, *, seed: int | None = 0) -> pd.DataFrame:
    """GOSH: the model fitted to every subset of the studies (or to a random sample of them).

    Parameters
    ----------
    res
        The full analysis (its options are reused).
    subsets
        At most this many subsets (default 10⁶, as metafor): if 2^k − 1 exceeds it, a random
        sample is drawn whose subset sizes follow Binomial(k, ½).
    seed
        Seed of the random sample (ignored when all subsets are used).

    Returns
    -------
    pandas.DataFrame
        One row per subset: ``k``, ``estimate`` (model scale), ``proportion``, ``q``,
        ``i2`` (fraction), ``h2``, ``tau2``, then one boolean column per study (its label)
        saying whether it is in the subset. ``attrs["exact"]`` says whether all subsets were
        used.

    Notes
    -----
    Inverse-variance models are computed for all subsets at once; the GLMM is refitted
    subset by subset (about 0.1 s each), so keep ``subsets`` small with ``method="glmm"``.

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([10, 20, 30, 12], [50, 60, 70, 40], tau2_method="DL")
    >>> g = inometa.gosh(res)
    >>> len(g), bool(g.attrs["exact"])
    (15, True)
    """
    import pandas as pd

    _need_k(res, 2, "GOSH")
    S, exact = _subset_matrix(res.k, subsets, seed)
    yi, vi = np.asarray(res.data.yi), np.asarray(res.data.vi)
    opts = res.options
    if opts.method == "inverse":
        out = _gosh_inverse(yi, vi, S, opts.tau2_method, opts.tau2_fixed)
    else:
        fits = refit_batch(res, S)
        out = {name: fits[name] for name in ("k", "q", "tau2", "i2", "h2")}
        out["estimate"] = fits["model_estimate"]
    tr = get_transform(opts.transform)
    n_bt = None
    if tr.needs_n:
        n = np.asarray(res.data.n, dtype=float)
        n_bt = S.sum(axis=1) / (S.astype(float) @ (1 / n))
    frame = pd.DataFrame(
        {
            "k": out["k"].astype(int),
            "estimate": out["estimate"],
            "proportion": tr.inverse(out["estimate"], n_bt),
            "q": out["q"],
            "i2": out["i2"],
            "h2": out["h2"],
            "tau2": out["tau2"],
        }
    )
    incl = pd.DataFrame(S, columns=list(_unique_labels(res.data.labels)))
    result: pd.DataFrame = pd.concat([frame, incl], axis=1)
    result.attrs["exact"] = exact
    return _with_options(result, res, "gosh")


def _unique_labels(labels: tuple[str, ...]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    return out
