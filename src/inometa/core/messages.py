"""The notes that results carry, written once for the single and the batch paths.

Both :func:`inometa.metaprop` and :func:`inometa.metaprop_batch` (and the τ² estimators and
interval searches behind them) give the same note for the same situation; the tests
compare them analysis by analysis. Constants are notes with nothing to fill in; functions
take what the note names.
"""

from __future__ import annotations

__all__ = [
    "ALL_EQUAL",
    "AT_BOUNDARY",
    "BELOW_EXPECTATION",
    "GLMM_WALD_Q",
    "GLMM_WEIGHTS",
    "HK_ZERO",
    "K1_HETEROGENEITY",
    "K1_TAU2_CI",
    "LIKELIHOOD_AT_ZERO",
    "NULL_Q_PROFILE",
    "correction",
    "fisher_not_converged",
    "k_study",
    "newton_not_converged",
    "outside_range",
    "tau2_not_converged",
    "truncated",
]

# τ² estimators
ALL_EQUAL = "all model-scale values are equal: τ² = 0"
BELOW_EXPECTATION = "Q at τ² = 0 is below its expectation: τ² = 0"
AT_BOUNDARY = "the maximum is at the boundary τ² = 0"
LIKELIHOOD_AT_ZERO = "the likelihood is higher at τ² = 0 than at the Fisher-scoring solution"


def truncated(raw: float) -> str:
    """A method-of-moments estimate below 0.

    Examples
    --------
    >>> truncated(-0.01)
    'the estimate (-0.01) was negative and is truncated at 0'
    """
    return f"the estimate ({raw:.4g}) was negative and is truncated at 0"


def k_study(k: int) -> str:
    """τ² of an analysis of one study."""
    return f"k = {k} study: τ² is 0 by definition"


def newton_not_converged(maxiter: int) -> str:
    """The Paule–Mandel search ran out of iterations."""
    return f"Newton's method did not converge in {maxiter} iterations"


def fisher_not_converged(maxiter: int, tol: float) -> str:
    """ML, REML or EB ran out of iterations."""
    return f"Fisher scoring did not converge in {maxiter} iterations (last change > {tol:g})"


def tau2_not_converged(method: str) -> str:
    """The analysis-level note for an estimator that did not converge."""
    return f"τ² ({method}) did not converge; the last iterate is reported"


# τ² interval and heterogeneity
NULL_Q_PROFILE = (
    "Q at τ² = 0 is below the lower quantile of its distribution: the Q-profile "
    "interval for τ² is the single point 0 (metafor: 'CI is the null set')"
)
K1_TAU2_CI = "no confidence interval for τ² with k = 1"
K1_HETEROGENEITY = "k = 1: no heterogeneity can be estimated (τ² = 0, Q = 0, I² = 0)"

# pooled values
HK_ZERO = (
    "Hartung–Knapp s² is 0 (all studies at the pooled value): the HK interval has "
    "zero width; ci_method='hk_adhoc' keeps the Wald width"
)


def outside_range(transform: str) -> str:
    """An interval bound on the raw or log scale beyond what a proportion can be."""
    return (
        f"an interval bound on the {transform} scale lies outside the range of a "
        "proportion; on the proportion scale it is truncated to [0, 1] (model-scale "
        "values are kept as computed)"
    )


def correction(
    increment: float, studies: str, which: str, transform: str, rule: str, glmm: bool
) -> str:
    """The continuity correction applied (``studies``: "2 studies"; ``which``: their labels).

    Examples
    --------
    >>> correction(0.5, "1 study", "'A'", "logit", "only0", False)
    "continuity correction: 0.5 added to events and non-events of 1 study ('A') before the logit transform (rule 'only0')"
    """  # noqa: E501
    if glmm:
        return (
            f"continuity correction: {increment:g} added to {studies} ({which}) only for the "
            "study logits shown in tables and the typical variance behind I²; the GLMM "
            "itself uses the exact binomial likelihood"
        )
    return (
        f"continuity correction: {increment:g} added to events and non-events of {studies} "
        f"({which}) before the {transform} transform (rule '{rule}')"
    )


# the GLMM
GLMM_WALD_Q = (
    "GLMM Wald-type Q: studies with 0 or n events have unbounded logits and carry no "
    "weight in it (as in metafor's saturated-model fit); the likelihood-ratio Q uses them"
)
GLMM_WEIGHTS = (
    "GLMM study weights are approximate: inverse-variance weights 1/(vᵢ + τ²) on the "
    "logit scale (the binomial–normal model has no study weights of its own)"
)
