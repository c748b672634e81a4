"""Subgroup analysis with both tests for subgroup differences.

Two models are fitted whatever ``tau2`` says, so that both classical tests are always
reported (``SubgroupResult.tests``):

* **separate τ²** (R meta's default, ``tau.common = FALSE``): a random-effects analysis per
  subgroup; the test is the fixed-effect Q between the subgroup estimates,
  Q_b = Σ_g w_g (θ̂_g − θ̄)², w_g = 1/SE_g² (the inverse-variance SE of each subgroup's
  random-effects estimate), on G − 1 df — metafor ``rma(b_g, sei = se_g, method = "FE")``.
* **common τ²** (metafor's mixed model ``rma(yi, vi, mods = ~ factor(group))``): the omnibus
  test QM of the subgroup dummies (χ² on G − 1 df, or F for t/Knapp–Hartung tests) with
  one τ² shared by all subgroups; the subgroup estimates are then each subgroup's pooled
  value with τ² fixed at the common estimate (R meta ``tau.common = TRUE``).
  For ``method="glmm"`` the test is the likelihood-ratio test of the subgroup dummies in
  the binomial–normal model (the Wald QM is reported too).

``tau2`` chooses which model provides ``.subgroups`` and the headline test
(``.q_between`` …). A subgroup with a single study is reported without τ² (it is 0 by
definition) and listed in ``.single_study``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import data_column
from ..core.results import MetaPropResult, registered_views
from ..core.significance import TestResult, chi2_test, undefined_test
from .pooling import metaprop
from .regression import metareg

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

__all__ = ["SubgroupResult", "SubgroupTest", "subgroup_analysis"]

_TAU2_CHOICES = ("separate", "common")


# The former name of the test type; every test in the package is now a TestResult.
SubgroupTest = TestResult


@dataclass(frozen=True)
class SubgroupResult:
    """Subgroup analysis.

    Attributes
    ----------
    subgroups
        Level → :class:`~inometa.MetaPropResult` (in the order of the levels).
    overall
        The analysis of all studies together.
    tau2
        ``"separate"`` or ``"common"``: which model gave ``subgroups`` and ``test``.
    test
        The headline test for subgroup differences.
    tests
        Both tests (and, for the GLMM, the Wald test besides the likelihood-ratio test).
    common_tau2
        τ² of the common-τ² model.
    single_study
        Levels with one study (reported without τ², flagged).
    groups
        The subgroup of each study, in the order of ``overall.data``.
    notes
        Plain-language notes.
    """

    subgroups: Mapping[str, MetaPropResult]
    overall: MetaPropResult
    tau2: str
    test: TestResult
    tests: tuple[TestResult, ...]
    common_tau2: float
    single_study: tuple[str, ...]
    groups: tuple[str, ...]
    notes: tuple[str, ...]

    def members(self) -> dict[str, list[int]]:
        """Indices (into ``overall.data``) of each subgroup's studies, in level order.

        Examples
        --------
        >>> import inometa
        >>> sg = inometa.subgroup_analysis([10, 20, 30, 12], [50, 60, 70, 40],
        ...                                ["b", "a", "b", "a"])
        >>> sg.members()
        {'b': [0, 2], 'a': [1, 3]}
        """
        return {
            level: [i for i, g in enumerate(self.groups) if g == level] for level in self.subgroups
        }

    @property
    def q_between(self) -> float:
        """Statistic of the headline test for subgroup differences."""
        return self.test.statistic

    @property
    def q_between_df(self) -> int:
        """Its degrees of freedom (numerator df for F)."""
        return self.test.df

    @property
    def q_between_pvalue(self) -> float:
        """Its p-value."""
        return self.test.pvalue

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup (and the overall analysis): k, estimate, CI, PI, τ², I², Q.

        Examples
        --------
        >>> import inometa
        >>> sg = inometa.subgroup_analysis([10, 20, 30, 12], [50, 60, 70, 40],
        ...                                ["a", "a", "b", "b"])
        >>> list(sg.to_frame()["subgroup"])
        ['a', 'b', 'overall']
        """
        import pandas as pd

        rows = []
        for name, res in [*self.subgroups.items(), ("overall", self.overall)]:
            d = res.to_dict()
            rows.append(
                {
                    "subgroup": name,
                    "k": d["k"],
                    "events": d["events_total"],
                    "n": d["n_total"],
                    "estimate": d["estimate"],
                    "ci_low": d["ci_low"],
                    "ci_high": d["ci_high"],
                    "pi_low": d["pi_low"],
                    "pi_high": d["pi_high"],
                    "model_estimate": d["model_scale"]["estimate"],
                    "model_se": d["model_scale"]["se"],
                    "tau2": d["tau2"] if d["k"] > 1 else None,
                    "i2": d["i2"] if d["k"] > 1 else None,
                    "q": d["q"],
                    "q_pvalue": d["q_pvalue"],
                    "single_study": name in self.single_study,
                }
            )
        frame: pd.DataFrame = pd.DataFrame(rows)
        return frame

    def summary(self) -> str:
        """A readable text summary."""
        return registered_views().subgroup_text(self)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        """A few lines: each subgroup's pooled proportion and CI (at most 8), the overall
        one, the headline test.

        Examples
        --------
        >>> import inometa
        >>> inometa.subgroup_analysis([10, 20, 30, 12], [50, 60, 70, 40], ["a", "a", "b", "b"])
        <SubgroupResult 2 subgroups, separate τ², k=4, proportions (95% CI):
          a: 0.2682 [0.1572, 0.4187], k=2
          b: 0.3744 [0.2590, 0.5062], k=2
          overall: 0.3197 [0.2318, 0.4227], k=4
          Q between (separate τ²) = 1.239 (df 1), p = 0.266>
        """
        levels = list(self.subgroups.items())
        lines = [
            f"<SubgroupResult {len(levels)} subgroups, {self.tau2} τ², k={self.overall.k}, "
            f"proportions ({100 * self.overall.options.level:g}% CI):"
        ]
        shown = levels if len(levels) <= 8 else levels[:7]
        for name, res in [*shown, ("overall", self.overall)]:
            low, high = res.random.proportion_ci
            lines.append(f"  {name}: {res.estimate:.4f} [{low:.4f}, {high:.4f}], k={res.k}")
            if len(levels) > 8 and name == shown[-1][0]:
                lines.append(f"  … {len(levels) - 7} more subgroups")
        lines.append(f"  {self.test}>")
        return "\n".join(lines)


def _levels(groups: Any, labels: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    import pandas as pd

    if isinstance(groups, pd.Series):
        series = groups.reset_index(drop=True)
    elif isinstance(groups, pd.Categorical):
        series = pd.Series(groups)
    else:
        series = pd.Series(list(groups), dtype=object)
    if len(series) != len(labels):
        raise ValueError(f"groups has {len(series)} entries but there are {len(labels)} studies")
    missing = np.flatnonzero(pd.isna(series).to_numpy())
    if missing.size:
        where = "; ".join(f"study '{labels[i]}' (row {i + 1})" for i in missing[:5])
        raise ValueError(f"subgroup label is missing for {where}")
    if isinstance(series.dtype, pd.CategoricalDtype):
        order = [str(c) for c in series.cat.categories if (series == c).any()]
    else:
        order = list(dict.fromkeys(series.astype(str)))  # order of first appearance
    return order, series.astype(str).to_numpy()


def subgroup_analysis(
    events: Any,
    n: Any,
    groups: Any,
    *,
    data: Any = None,
    labels: Any = None,
    tau2: str = "separate",
    **metaprop_options: Any,
) -> SubgroupResult:
    """Meta-analysis by subgroup with the tests for subgroup differences.

    Parameters
    ----------
    events, n, labels, data
        As :func:`~inometa.metaprop` (column names of ``data`` allowed).
    groups
        Subgroup of each study (array-like or a column name of ``data``). Levels keep the
        order of a pandas ``Categorical``, else their order of first appearance.
    tau2
        ``"separate"`` (one τ² per subgroup; test: Q between subgroup estimates) or
        ``"common"`` (one τ² for all; test: QM of the mixed model, or the likelihood-ratio
        test for the GLMM).
    **metaprop_options
        Any option of :func:`~inometa.metaprop` (``transform``, ``tau2_method``,
        ``ci_method``, ``method="glmm"`` …).

    Returns
    -------
    SubgroupResult

    Raises
    ------
    ValueError
        Groups of the wrong length or with missing labels, or an unknown ``tau2``. (A
        single subgroup is allowed: it reproduces the overall analysis, with the tests
        undefined.)

    Examples
    --------
    >>> import inometa
    >>> sg = inometa.subgroup_analysis([10, 20, 30, 12, 25], [50, 60, 70, 40, 55],
    ...                                ["ND", "ND", "RR", "RR", "RR"], tau2="separate")
    >>> list(sg.subgroups), sg.q_between_df
    (['ND', 'RR'], 1)
    """
    if tau2 not in _TAU2_CHOICES:
        raise ValueError(f"unknown tau2 {tau2!r}; valid values are: common, separate")
    if data is not None:
        events = data_column(data, events, "events")
        n = data_column(data, n, "n")
        labels = data_column(data, labels, "labels")
        groups = data_column(data, groups, "groups")
    overall = metaprop(events, n, labels=labels, **metaprop_options)
    levels, codes = _levels(groups, overall.data.labels)
    x, m, labs = overall.data.events, overall.data.n, overall.data.labels

    def fit(level: str, **extra: Any) -> MetaPropResult:
        keep = codes == level
        return metaprop(
            x[keep],
            m[keep],
            labels=[lab for lab, k in zip(labs, keep, strict=True) if k],
            **{**metaprop_options, **extra},
        )

    notes: list[str] = []
    separate = {level: fit(level) for level in levels}
    single = tuple(level for level, res in separate.items() if res.k == 1)
    if single:
        notes.append(
            "one-study subgroups (no τ², no heterogeneity; included in the tests with their "
            f"own sampling variance): {', '.join(single)}"
        )
    q_between = _q_between(separate)
    opts = overall.options
    if len(levels) == 1:
        undefined = undefined_test("QM (common τ²)", 0, "undefined with a single subgroup")
        return SubgroupResult(
            subgroups=MappingProxyType(dict(separate)),
            overall=overall,
            tau2=tau2,
            test=q_between if tau2 == "separate" else undefined,
            tests=(q_between, undefined),
            common_tau2=overall.tau2,
            single_study=single,
            groups=tuple(codes.tolist()),
            notes=(*notes, "a single subgroup: no test for subgroup differences"),
        )

    estimator = opts.tau2_method if opts.method == "inverse" else "ML"
    reg_kw = {
        key: metaprop_options[key]
        for key in (
            "method",
            "transform",
            "tau2_method",
            "tau2_fixed",
            "ci_method",
            "correction",
            "increment",
            "nagq",
            "profile",
            "level",
        )
        if key in metaprop_options
    }
    reg = metareg(x, m, {"subgroup": codes}, labels=labs, **reg_kw)
    qm_test = replace(
        reg.qm_result,
        name="QM (common τ²)",
        description=f"omnibus {reg.qm_test} test of the subgroup dummies in a "
        f"mixed-effects model with one τ² ({estimator})",
    )
    tests = [q_between, qm_test]
    if opts.method == "glmm":
        lrt = TestResult(
            "LRT (common τ²)",
            reg.qm_lrt,
            reg.qm_df,
            None,
            reg.qm_lrt_pvalue,
            "likelihood-ratio test of the subgroup dummies in the binomial–normal model",
        )
        tests.append(lrt)
    if tau2 == "separate":
        chosen = separate
        headline = q_between
    elif not math.isfinite(reg.tau2):
        chosen = separate
        headline = tests[-1]
        notes.append(
            "the common-τ² model could not be fitted (see the notes below); subgroup "
            "estimates are shown with separate τ² and the common-τ² test is undefined"
        )
    else:
        chosen = {level: fit(level, tau2_fixed=reg.tau2) for level in levels}
        headline = tests[-1]
        notes.append(
            f"subgroup estimates use the common τ² = {reg.tau2:.4g} (R meta tau.common = TRUE)"
        )
    notes.extend(reg.notes)
    return SubgroupResult(
        subgroups=MappingProxyType(dict(chosen)),
        overall=overall,
        tau2=tau2,
        test=headline,
        tests=tuple(tests),
        common_tau2=reg.tau2,
        single_study=single,
        groups=tuple(codes.tolist()),
        notes=tuple(dict.fromkeys(notes)),
    )


def _q_between(subgroups: Mapping[str, MetaPropResult]) -> TestResult:
    """Fixed-effect Q of the subgroup random-effects estimates (weights 1/SE² with the
    inverse-variance SE)."""
    name = "Q between (separate τ²)"
    est = np.array([r.random.estimate for r in subgroups.values()])
    se = np.array([r.random.se_wald for r in subgroups.values()])
    df = len(est) - 1
    if df < 1:
        return undefined_test(name, 0, "undefined with a single subgroup")
    if not np.all(np.isfinite(est)) or not np.all(se > 0):
        return undefined_test(
            name, df, "undefined: a subgroup estimate is at the boundary (0% or 100%)"
        )
    w = 1 / se**2
    mean = float(np.sum(w * est) / np.sum(w))
    q = float(np.sum(w * (est - mean) ** 2))
    return chi2_test(
        name,
        q,
        df,
        "fixed-effect Q between the subgroups' random-effects estimates, each with its own τ²",
    )
