"""Plain-text summary of a :class:`~inometa.results.MetaPropResult`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .format import interval, num, pct, pvalue

if TYPE_CHECKING:
    from ..results import MetaPropResult

_CI_NAMES = {
    "z": "Wald (normal quantile)",
    "t": "Wald with t(k−1)",
    "hk": "Hartung–Knapp–Sidik–Jonkman, t(k−1)",
    "hk_adhoc": "Hartung–Knapp (ad hoc, s² ≥ 1), t(k−1)",
}
_PI_NAMES = {
    "z": "normal quantile",
    "t": "t(k−1)",
    "hts": "t(k−2) (Higgins–Thompson–Spiegelhalter)",
}


def method_line(res: MetaPropResult) -> str:
    """One line naming the model, transform, estimator and interval methods."""
    o = res.options
    model = (
        f"binomial–normal GLMM (logit, ML, {o.nagq}-node adaptive Gauss–Hermite)"
        if o.method == "glmm"
        else f"inverse variance, {o.transform} transform, τ² by {o.tau2_method}"
    )
    return f"{model}; CI: {_CI_NAMES[o.ci_method]}; PI: {_PI_NAMES[o.pi_method]}"


def summary_text(res: MetaPropResult) -> str:
    """A readable multi-line summary (estimates on the proportion scale)."""
    o = res.options
    h = res.heterogeneity
    lev = f"{100 * o.level:g}%"
    lines = [
        f"Meta-analysis of proportions: k = {res.k}, events = {int(res.data.events.sum())}, "
        f"N = {int(res.data.n.sum())}",
        f"Model: {method_line(res)}",
        f"Profile: {o.profile}; study CIs: {o.study_ci_method}; correction: {o.correction} "
        f"({o.increment:g}); inometa {o.version}",
        "",
        f"{'':16}{'proportion':>11}  {lev + ' CI':<20}{lev + ' PI':<20}",
        f"{'Common effect':16}{num(res.common.proportion):>11}  "
        f"{interval(*res.common.proportion_ci):<20}",
        f"{'Random effects':16}{num(res.random.proportion):>11}  "
        f"{interval(*res.random.proportion_ci):<20}"
        f"{interval(res.prediction.proportion_low, res.prediction.proportion_high):<20}",
        "",
        f"Heterogeneity: τ² = {num(h.tau2)} {interval(*h.tau2_ci)} ({h.tau2_ci_method}); "
        f"τ = {num(math.sqrt(h.tau2)) if math.isfinite(h.tau2) else '–'}",
        f"  I² = {pct(h.i2)} {interval(*h.i2_ci, fmt='pct')} ({o.i2_definition}-based); "
        f"H² = {num(h.h2, 2)}",
        f"  {h.q_type} Q({h.q_df}) = {num(h.q, 2)}, {pvalue(h.q_pvalue)}",
    ]
    if not math.isnan(h.q_lrt):
        lines.append(
            f"  Likelihood-ratio Q({h.q_df}) = {num(h.q_lrt, 2)}, {pvalue(h.q_lrt_pvalue)}"
        )
    if o.transform == "ft" and res.backtransform_n is not None:
        lines.append(f"Back-transformation: {o.backtransform}")
    if res.notes:
        lines.append("")
        lines.append("Notes:")
        lines.extend(f"  - {n}" for n in res.notes)
    return "\n".join(lines)
