"""A methods paragraph for a manuscript, and the equivalent R (metafor) code."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..core.results import MetaPropResult

_TRANSFORM_TEXT = {
    "raw": "untransformed proportions",
    "log": "log-transformed proportions",
    "logit": "logit-transformed proportions",
    "arcsine": "arcsine square-root transformed proportions",
    "ft": "Freeman–Tukey double-arcsine transformed proportions",
}
_TAU2_TEXT = {
    "DL": "the DerSimonian–Laird estimator",
    "REML": "restricted maximum likelihood (REML)",
    "ML": "maximum likelihood",
    "PM": "the Paule–Mandel estimator",
    "HS": "the Hunter–Schmidt estimator",
    "SJ": "the Sidik–Jonkman estimator",
    "HE": "the Hedges estimator",
    "EB": "the empirical Bayes estimator",
}
_CI_TEXT = {
    "z": "Wald-type confidence intervals based on the normal distribution",
    "t": "Wald-type confidence intervals based on the t distribution with k − 1 degrees of freedom",
    "hk": "the Hartung–Knapp–Sidik–Jonkman method (t distribution with k − 1 degrees of freedom)",
    "hk_adhoc": "the Hartung–Knapp–Sidik–Jonkman method with the ad hoc correction that keeps "
    "the standard error at least as large as the Wald standard error",
}
_PI_TEXT = {
    "z": "the normal distribution",
    "t": "a t distribution with k − 1 degrees of freedom",
    "hts": "a t distribution with k − 2 degrees of freedom (Higgins, Thompson & Spiegelhalter "
    "2009)",
}
_STUDY_CI_TEXT = {
    "clopper-pearson": "Clopper–Pearson exact",
    "wilson": "Wilson score",
    "wilson-cc": "continuity-corrected Wilson score",
    "agresti-coull": "Agresti–Coull",
    "jeffreys": "Jeffreys",
    "wald": "Wald",
}


_GLMM_TEXT = (
    "of the exact marginal likelihood (each study's integral over the random effect computed "
    "to about 1e-13 by Gauss–Legendre panels placed around its mode)"
)


def _lme4_text(nagq: object) -> str:
    return (
        f"with {nagq}-point adaptive Gauss–Hermite quadrature (lme4's approximation to the "
        "marginal likelihood, as metafor's rma.glmm)"
    )


def methods_text(res: MetaPropResult) -> str:
    """A paragraph describing exactly how ``res`` was computed, ready for a manuscript."""
    o = res.options
    pct = f"{100 * o.level:g}%"
    parts: list[str] = []
    if o.method == "glmm":
        parts.append(
            "Proportions were pooled with a binomial–normal random-effects model (a "
            "random-intercept logistic regression; Stijnen, Hamza & Özdemir 2010) fitted by "
            f"maximum likelihood {_GLMM_TEXT if o.nagq == 'exact' else _lme4_text(o.nagq)}; "
            "the model uses the binomial likelihood itself, so no continuity correction "
            "entered it."
        )
    else:
        tau2 = (
            f"fixed at {o.tau2_fixed:g}"
            if o.tau2_fixed is not None
            else f"estimated by {_TAU2_TEXT[o.tau2_method]}"
        )
        parts.append(
            f"Proportions were pooled as {_TRANSFORM_TEXT[o.transform]} in an inverse-variance "
            f"random-effects model; the between-study variance τ² was {tau2}"
            + (
                " with a Q-profile confidence interval (Viechtbauer 2007)."
                if o.tau2_fixed is None
                else "."
            )
        )
        n_corr = int(np.sum(res.data.corrected))
        studies = f"{n_corr} stud{'y' if n_corr == 1 else 'ies'}"
        meta_style = o.correction_style == "meta" and o.transform in ("raw", "log")
        if n_corr and meta_style and o.transform == "raw":
            parts.append(
                f"The sampling variances of the {studies} with 0% or 100% events were "
                f"computed after adding {o.increment:g} to their events and non-events; "
                "the proportions themselves were not corrected (R meta's rule)."
            )
        elif n_corr and meta_style:
            parts.append(
                f"Before transformation, {o.increment:g} was added to the events and to "
                f"the totals of the {studies} with 0% or 100% events (R meta's rule)."
            )
        elif n_corr:
            parts.append(
                f"Before transformation, {o.increment:g} was added to the events and "
                f"non-events of the {studies} with 0% or 100% events."
            )
    ci = _CI_TEXT[o.ci_method] if o.method == "inverse" or o.ci_method in ("z", "t") else ""
    parts.append(
        f"{pct} confidence intervals of the pooled proportion used {ci}, and {pct} "
        f"prediction intervals used {_PI_TEXT[o.pi_method]}."
    )
    i2 = (
        "I² was computed from τ² and the typical within-study variance (Higgins & Thompson 2002)"
        if o.i2_definition == "tau2"
        else "I² was computed from Cochran's Q as (Q − df)/Q"
    )
    parts.append(f"Heterogeneity was assessed with Cochran's Q and {i2}.")
    if o.transform == "ft":
        parts.append(
            "Pooled values were back-transformed with Miller's (1978) inverse using the "
            f"harmonic mean of the study sizes (n = {res.backtransform_n:.4g})."
        )
    elif o.transform != "raw":
        parts.append("Pooled values were back-transformed to proportions.")
    parts.append(
        f"Study-level {pct} confidence intervals are {_STUDY_CI_TEXT[o.study_ci_method]} intervals."
    )
    if o.method == "glmm" and o.nagq == "exact":
        agreement = (
            "whose GLMM agrees with an independent exact maximum-likelihood fit to within "
            "10⁻⁶ and, with lme4's quadrature selected instead, with the R package metafor to "
            "within 10⁻⁴."
        )
    else:
        agreement = "whose results agree with the R package metafor to within " + (
            "10⁻⁴ for the GLMM." if o.method == "glmm" else "10⁻⁶ for these methods."
        )
    parts.append(f"Analyses used inometa {o.version} (Python), {agreement}")
    return " ".join(parts)


def _r_vector(values: object, quote: bool = False) -> str:
    items = list(np.asarray(values).tolist())
    if quote:
        return "c(" + ", ".join('"' + str(v).replace('"', '\\"') + '"' for v in items) + ")"
    return "c(" + ", ".join(repr(int(v)) if float(v).is_integer() else repr(v) for v in items) + ")"


_MEASURE = {"raw": "PR", "log": "PLN", "logit": "PLO", "arcsine": "PAS", "ft": "PFT"}
_TEST = {"z": "z", "t": "t", "hk": "knha", "hk_adhoc": "adhoc"}
_TRANSF = {
    "raw": "",
    "log": ", transf = exp",
    "logit": ", transf = transf.ilogit",
    "arcsine": ", transf = transf.iarcsin",
    "ft": ", transf = transf.ipft.hm, targs = list(ni = dat$ni)",
}


def _meta_correction_lines(res: MetaPropResult) -> list[str]:
    """R lines that turn escalc's corrected yᵢ, vᵢ into R meta's (correction_style="meta")."""
    o, d = res.options, res.data
    if o.correction_style != "meta" or o.transform not in ("raw", "log") or not d.corrected.any():
        return []
    if o.transform == "raw":
        return ["dat$yi <- with(dat, xi / ni)  # R meta: only the variance is corrected"]
    cc = _r_vector(np.where(d.corrected, o.increment, 0.0))
    return [
        f"cc <- {cc}  # R meta: the increment is added once to n",
        "dat$yi <- with(dat, log((xi + cc) / (ni + cc)))",
        "dat$vi <- with(dat, ifelse(xi == ni, 1 / xi, 1 / (xi + cc)) - 1 / (ni + cc))",
    ]


def to_metafor(res: MetaPropResult) -> str:
    """R code that refits ``res`` with metafor (for re-checking the primary analyses in R)."""
    o = res.options
    d = res.data
    if bool(np.any(d.imputed)):
        raise ValueError(
            "a trim-and-fill result has no counts for its imputed studies; "
            "export the original analysis instead"
        )
    lines = [
        f"# Generated by inometa {o.version}: the analysis below refitted with metafor.",
        "library(metafor)",
        "dat <- data.frame(",
        f"  study = {_r_vector(d.labels, quote=True)},",
        f"  xi = {_r_vector(d.events)},",
        f"  ni = {_r_vector(d.n)})",
    ]
    pi_type = {"z": "", "t": ', pi.type = "t"', "hts": ', pi.type = "riley"'}[o.pi_method]
    level = "" if o.level == 0.95 else f", level = {100 * o.level:g}"
    if o.method == "glmm":
        if o.tau2_fixed is not None:
            raise ValueError("metafor's rma.glmm cannot hold τ² fixed; no equivalent R code")
        if o.nagq == "exact":
            lines.append("# inometa integrates exactly; lme4's nAGQ = 21 comes close")
        lines += [
            f'res <- rma.glmm(measure = "PLO", xi = xi, ni = ni, data = dat, method = "ML", '
            f'nAGQ = {21 if o.nagq == "exact" else o.nagq}, test = "{o.ci_method}"{level}, '
            "slab = study)",
            "print(res)",
            f"predict(res, transf = transf.ilogit{pi_type})",
        ]
        return "\n".join(lines)
    add = (
        f', add = {o.increment!r}, to = "{o.correction}"'
        if o.correction != "none"
        else (", add = 0")
    )
    tau2 = (
        f'method = "REML", tau2 = {o.tau2_fixed!r}'
        if o.tau2_fixed is not None
        else f'method = "{o.tau2_method}"'
    )
    lines += [
        f'dat <- escalc(measure = "{_MEASURE[o.transform]}", xi = xi, ni = ni, data = dat'
        f"{add}, slab = study)",
        *_meta_correction_lines(res),
        f'res <- rma(yi, vi, data = dat, {tau2}, test = "{_TEST[o.ci_method]}"{level},',
        "           control = list(tol = 1e-12, threshold = 1e-12, maxiter = 10000))",
        "print(res)",
    ]
    if o.ci_method in ("hk", "hk_adhoc") and o.pi_se == "wald":
        p = repr((1 + o.level) / 2)
        crit = {
            "z": f"qnorm({p})",
            "t": f"qt({p}, df = res$k - 1)",
            "hts": f"qt({p}, df = res$k - 2)",
        }[o.pi_method]
        lines.append("# R meta's prediction interval: the inverse-variance SE, not the HK SE:")
        lines.append("se0 <- sqrt(1 / sum(1 / (dat$vi + res$tau2)))")
        lines.append(f"half <- {crit} * sqrt(se0^2 + res$tau2)")
        lines.append("(pi <- c(pi.lb = c(res$b) - half, pi.ub = c(res$b) + half))")
        lines.append(f"predict(res{_TRANSF[o.transform]})")
    elif o.ci_method != "z" and o.pi_method == "z":
        lines.append("# inometa's z prediction interval around a t-based CI (no metafor switch):")
        lines.append(f"half <- qnorm({(1 + o.level) / 2!r}) * sqrt(res$se^2 + res$tau2)")
        lines.append("(pi <- c(pi.lb = c(res$b) - half, pi.ub = c(res$b) + half))")
        lines.append(f"predict(res{_TRANSF[o.transform]})")
    else:
        lines.append(f"predict(res{_TRANSF[o.transform]}{pi_type})")
    if o.tau2_fixed is None:
        lines.append("confint(res, control = list(tol = 1e-12))")
    return "\n".join(lines)
