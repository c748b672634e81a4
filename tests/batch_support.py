"""Row-by-row comparison of ``metaprop_batch`` with ``metaprop`` (imported by the batch tests).

``metaprop`` is the readable, metafor-verified reference; the batch path must reproduce every
column and every note of it for each analysis.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import inometa
from inometa.analysis.batch import COLUMNS

# Named tolerances (relative, absolute), one per kind of comparison, with the reason.
TOL = {
    # Inverse variance: the same closed forms and the same τ² iteration steps as metaprop,
    # summed in another order; root-found values (PM τ², Q-profile bounds) stop within the
    # single path's xtol (1e-12 · mean vᵢ), far inside 1e-10. The absolute part covers
    # values that are 0 up to rounding (a logit of 0.5, a pooled value at the boundary).
    "inverse": (1e-10, 1e-14),
    # GLMM: each row is inometa.core.glmm.fit_glmm itself, so τ², β̂ and their SEs are
    # identical (compared for equality, IDENTICAL below); the derived columns are computed
    # by the batch's own vectorised formulas (the inverse-variance tolerance). The absolute
    # part covers model-scale values near 0 and p-values below 1e-12.
    "glmm": (1e-10, 1e-12),
}

# Columns that are the same computation in both paths, so equal, not merely close: each GLMM
# row is inometa.core.glmm.fit_glmm itself.
IDENTICAL = {"inverse": (), "glmm": ("tau2", "tau2_se", "model_estimate", "model_se")}

# Iteration counts of root-found quantities count the batch root finder's evaluations.
_ROOT_FOUND = ("PM", "ML_glmm")


def single_values(res: inometa.MetaPropResult) -> dict[str, float]:
    """Every :data:`inometa.analysis.batch.COLUMNS` value of a single result (None → NaN)."""
    r, c, h, p = res.random, res.common, res.heterogeneity, res.prediction

    def nan(v: Any) -> float:
        return math.nan if v is None else float(v)

    return {
        "k": res.k,
        "n_total": res.data.n_total,
        "events_total": res.data.events_total,
        "estimate": r.proportion,
        "ci_low": r.proportion_ci.low,
        "ci_high": r.proportion_ci.high,
        "pi_low": p.proportion_low,
        "pi_high": p.proportion_high,
        "tau2": h.tau2,
        "tau": math.sqrt(h.tau2) if math.isfinite(h.tau2) else math.nan,
        "tau2_se": h.tau2_se,
        "tau2_ci_low": h.tau2_ci.low,
        "tau2_ci_high": h.tau2_ci.high,
        "tau2_iterations": h.tau2_iterations,
        "tau2_converged": h.tau2_converged,
        "i2": h.i2,
        "i2_ci_low": h.i2_ci.low,
        "i2_ci_high": h.i2_ci.high,
        "h2": h.h2,
        "h2_ci_low": h.h2_ci.low,
        "h2_ci_high": h.h2_ci.high,
        "q": h.q,
        "q_df": h.q_df,
        "q_pvalue": h.q_pvalue,
        "q_lrt": h.q_lrt,
        "q_lrt_pvalue": h.q_lrt_pvalue,
        "typical_variance": h.typical_variance,
        "model_estimate": r.estimate,
        "model_se": r.se,
        "model_se_wald": r.se_wald,
        "model_ci_low": r.ci_low,
        "model_ci_high": r.ci_high,
        "model_pi_low": p.low,
        "model_pi_high": p.high,
        "ci_df": nan(r.df),
        "pi_df": nan(p.df),
        "statistic": r.statistic,
        "pvalue": r.pvalue,
        "common_estimate": c.proportion,
        "common_ci_low": c.proportion_ci.low,
        "common_ci_high": c.proportion_ci.high,
        "common_model_estimate": c.estimate,
        "common_model_se": c.se,
        "common_model_ci_low": c.ci_low,
        "common_model_ci_high": c.ci_high,
        "common_statistic": c.statistic,
        "common_pvalue": c.pvalue,
        "backtransform_n": nan(res.backtransform_n),
    }


def _same(a: float, b: float, rtol: float, atol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(b)


def assert_matches_single(
    events: Any,
    n: Any,
    *,
    kind: str = "inverse",
    mask: Any = None,
    labels: list[str] | None = None,
    **options: Any,
) -> inometa.MetaPropBatchResult:
    """Fit ``events``/``n`` (2-D, NaN = absent) in one batch and row by row with metaprop;
    every column and the notes must agree (tolerance ``TOL[kind]``). Study labels default
    to metaprop's ``Study j``, j the column."""
    rtol, atol = TOL[kind]
    x = np.asarray(events, dtype=float)
    m = np.asarray(n, dtype=float)
    out = inometa.metaprop_batch(x, m, mask=mask, labels=labels, as_frame=False, **options)
    assert isinstance(out, inometa.MetaPropBatchResult)
    present = np.isfinite(x) & np.isfinite(m) if mask is None else np.asarray(mask, dtype=bool)
    method = out.options.tau2_method if out.options.method == "inverse" else "ML_glmm"
    names = labels or [f"Study {j + 1}" for j in range(x.shape[1])]
    for i in range(x.shape[0]):
        cols = np.flatnonzero(present[i])
        res = inometa.metaprop(x[i, cols], m[i, cols], labels=[names[j] for j in cols], **options)
        ref = single_values(res)
        for name in COLUMNS:
            if name == "tau2_iterations" and method in _ROOT_FOUND:
                continue
            got = float(out[name][i])
            exact = name in IDENTICAL[kind]
            tol = (0.0, 0.0) if exact else (rtol, atol)
            assert _same(got, float(ref[name]), *tol), (
                f"analysis {i + 1}, {name}: batch {got!r}, metaprop {ref[name]!r} ({options})"
            )
        assert out.notes[i] == res.notes, f"analysis {i + 1} ({options})"
    return out
