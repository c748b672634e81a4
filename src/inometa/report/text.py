"""Plain-text summary of a :class:`~inometa.core.results.MetaPropResult`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .format import interval, num, pct, pvalue

if TYPE_CHECKING:
    from ..analysis.regression import MetaRegResult
    from ..analysis.subgroups import SubgroupResult
    from ..core.results import MetaPropResult

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


def glmm_integration(nagq: object) -> str:
    """How the GLMM likelihood was integrated, in words ("exact likelihood" or lme4's
    approximation with its node count).

    Examples
    --------
    >>> glmm_integration("exact"), glmm_integration(7)
    ('exact likelihood', 'lme4 approximation: 7-node adaptive Gauss–Hermite')
    """
    if nagq == "exact":
        return "exact likelihood"
    return f"lme4 approximation: {nagq}-node adaptive Gauss–Hermite"


def method_line(res: MetaPropResult) -> str:
    """One line naming the model, transform, estimator and interval methods."""
    o = res.options
    model = (
        f"binomial–normal GLMM (logit, ML, {glmm_integration(o.nagq)})"
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
        f"Meta-analysis of proportions: k = {res.k}, events = {res.data.events_total}, "
        f"N = {res.data.n_total}",
        f"Model: {method_line(res)}",
        f"Profile: {o.profile}; study CIs: {o.study_ci_method}; correction: "
        + (o.correction if o.correction == "none" else f"{o.correction} ({o.increment:g})")
        + f"; inometa {o.version}",
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


def metareg_text(res: MetaRegResult) -> str:
    """A readable summary of a meta-regression (coefficients on the model scale)."""
    o = res.options
    lev = f"{100 * o.level:g}%"
    model = (
        f"binomial–normal GLMM (logit, ML, {glmm_integration(o.nagq)})"
        if o.method == "glmm"
        else f"mixed-effects, {o.transform} transform, τ² by {o.tau2_method}"
    )
    lines = [
        f"Meta-regression: k = {res.k}; moderators: {', '.join(res.moderators)}",
        f"Model: {model}; tests: {_CI_NAMES[o.ci_method]}; inometa {o.version}",
        "",
        f"{'term':28}{'estimate':>10}{'se':>10}{'stat':>9}{'p':>10}  {lev + ' CI'}",
    ]
    perm = res.permutation
    for j, term in enumerate(res.terms):
        lines.append(
            f"{term[:28]:28}{num(res.estimate[j]):>10}{num(res.se[j]):>10}"
            f"{num(res.statistic[j], 2):>9}{num(res.pvalue[j]):>10}  "
            f"{interval(res.ci_low[j], res.ci_high[j])}"
            + (f"  perm. p = {num(perm.pvalues[j])}" if perm is not None else "")
        )
    df = f"{res.qm_df}, {res.qm_df2:g}" if res.qm_df2 is not None else f"{res.qm_df}"
    lines += [
        "",
        f"Test of moderators: QM({df}) = {num(res.qm, 2)} ({res.qm_test}), {pvalue(res.qm_pvalue)}"
        + (f"; permutation {pvalue(perm.qm_pvalue)}" if perm is not None else ""),
    ]
    if not math.isnan(res.qm_lrt):
        lines.append(
            f"Likelihood-ratio test of moderators: {num(res.qm_lrt, 2)} on "
            f"{res.qm_df} df, {pvalue(res.qm_lrt_pvalue)}"
        )
    lines += [
        f"Residual heterogeneity: QE({res.qe_df}) = {num(res.qe, 2)} ({res.qe_type}), "
        f"{pvalue(res.qe_pvalue)}; τ² = {num(res.tau2)}; I² = {pct(res.i2)}; "
        f"R² = {pct(res.r2)}",
    ]
    if perm is not None:
        kind = "exact (all distinct reorderings)" if perm.exact else f"seed {perm.seed}"
        lines.append(f"Permutation test: {perm.n_permutations} reorderings, {kind}")
    if res.notes:
        lines += ["", "Notes:", *(f"  - {n}" for n in res.notes)]
    return "\n".join(lines)


def subgroup_text(res: SubgroupResult) -> str:
    """A readable summary of a subgroup analysis (proportions)."""
    o = res.overall.options
    lev = f"{100 * o.level:g}%"
    lines = [
        f"Subgroup analysis ({res.tau2} τ²): {len(res.subgroups)} subgroups, k = {res.overall.k}",
        f"Model: {method_line(res.overall)}",
        "",
        f"{'subgroup':24}{'k':>4}{'proportion':>12}  {lev + ' CI':<20}{lev + ' PI':<20}{'I²':>7}",
    ]
    for name, r in [*res.subgroups.items(), ("Overall", res.overall)]:
        i2 = pct(r.i2) if r.k > 1 else "–"
        lines.append(
            f"{name[:24]:24}{r.k:>4}{num(r.estimate):>12}  {interval(*r.random.proportion_ci):<20}"
            f"{interval(r.prediction.proportion_low, r.prediction.proportion_high):<20}{i2:>7}"
        )
    lines.append("")
    for t in res.tests:
        df = f"{t.df}, {t.df2:g}" if t.df2 is not None else f"{t.df}"
        mark = "  <- reported" if t is res.test else ""
        lines.append(f"{t.name}: {num(t.statistic, 2)} on {df} df, {pvalue(t.pvalue)}{mark}")
    if res.notes:
        lines += ["", "Notes:", *(f"  - {n}" for n in res.notes)]
    return "\n".join(lines)
