"""One type for every hypothesis test the package reports.

Cochran's Q, a meta-regression's QM and QE, the GLMM's likelihood-ratio tests and the
tests for subgroup differences are all a statistic referred to a χ² distribution (``df2``
None) or an F distribution (``df``, ``df2``). They were once spelled four ways (a ``QTest``,
flat ``qm``/``qm_df``/``qm_pvalue`` fields, a ``SubgroupTest``, loose tuples); they are now
all a :class:`TestResult`, built by :func:`chi2_test`, :func:`f_test` or :func:`undefined_test`
so that a p-value is computed in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._distributions import chi2_sf, f_sf

__all__ = ["TestResult", "chi2_test", "f_test", "undefined_test"]


@dataclass(frozen=True)
class TestResult:
    """A hypothesis test: its statistic, degrees of freedom and p-value.

    Attributes
    ----------
    name
        What was tested, e.g. ``"Q"``, ``"QM"``, ``"Q between (separate τ²)"``.
    statistic
        The test statistic (NaN when the test is undefined; ``description`` says why).
    df
        Degrees of freedom (the numerator df of an F test).
    df2
        Denominator df of an F test; None for a χ² test.
    pvalue
        The upper-tail p-value.
    description
        One sentence on the test, or on why it is undefined.

    Examples
    --------
    >>> t = chi2_test("Q", 3.841458820694124, 1)
    >>> t.distribution, t.df, round(t.pvalue, 12)
    ('chi2', 1, 0.05)
    """

    __test__ = False  # not a pytest test class, whatever its name

    name: str
    statistic: float
    df: int
    df2: float | None
    pvalue: float
    description: str = ""

    @property
    def distribution(self) -> str:
        """``"F"`` when ``df2`` is set, else ``"chi2"``."""
        return "F" if self.df2 is not None else "chi2"

    @property
    def defined(self) -> bool:
        """Whether the statistic and p-value are numbers (False: see ``description``)."""
        return math.isfinite(self.statistic) and math.isfinite(self.pvalue)

    def __str__(self) -> str:
        """``Q = 12.34 (df 3), p = 0.0064``; F tests name both df; an undefined test says why.

        Examples
        --------
        >>> print(chi2_test("Q", 3.841458820694124, 1))
        Q = 3.841 (df 1), p = 0.05
        >>> print(f_test("QM", 2.5, 1, 6.0))
        QM = 2.5 (F, df 1 and 6), p = 0.165
        """
        if not self.defined:
            return f"{self.name}: undefined ({self.description or 'no statistic'})"
        df = f"F, df {self.df} and {self.df2:g}" if self.df2 is not None else f"df {self.df}"
        return f"{self.name} = {self.statistic:.4g} ({df}), p = {self.pvalue:.3g}"

    def __repr__(self) -> str:
        """One line, as ``str`` in angle brackets.

        Examples
        --------
        >>> chi2_test("Q", 3.841458820694124, 1)
        <TestResult Q = 3.841 (df 1), p = 0.05>
        """
        return f"<TestResult {self}>"

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (``df2`` None for χ² tests; NaN kept as NaN).

        Examples
        --------
        >>> chi2_test("QE", 2.0, 1).to_dict()["distribution"]
        'chi2'
        """
        return {
            "name": self.name,
            "statistic": self.statistic,
            "df": self.df,
            "df2": self.df2,
            "pvalue": self.pvalue,
            "distribution": self.distribution,
            "description": self.description,
        }


def chi2_test(name: str, statistic: float, df: int, description: str = "") -> TestResult:
    """A χ² test of ``statistic`` on ``df`` degrees of freedom.

    A statistic that is negative only by rounding is clipped at 0; with ``df`` ≤ 0 there is
    nothing to test (statistic 0, df 0, p = 1). A NaN statistic gives a NaN p-value.

    Examples
    --------
    >>> chi2_test("Q", -1e-15, 2).statistic
    0.0
    >>> chi2_test("Q", 4.0, 0).pvalue
    1.0
    """
    if df <= 0:
        return TestResult(name, 0.0, 0, None, 1.0, description)
    if math.isnan(statistic):
        return TestResult(name, math.nan, df, None, math.nan, description)
    stat = max(0.0, float(statistic))
    return TestResult(name, stat, int(df), None, chi2_sf(stat, df), description)


def f_test(name: str, statistic: float, df: int, df2: float, description: str = "") -> TestResult:
    """An F test of ``statistic`` on (``df``, ``df2``) degrees of freedom.

    Examples
    --------
    >>> round(f_test("QM", 4.0, 1, 10.0).pvalue, 6)
    0.073388
    """
    p = f_sf(statistic, df, df2) if math.isfinite(statistic) and df > 0 and df2 > 0 else math.nan
    return TestResult(name, float(statistic), int(df), float(df2), p, description)


def undefined_test(name: str, df: int, reason: str, df2: float | None = None) -> TestResult:
    """A test that cannot be computed: NaN statistic and p-value, ``reason`` as description.

    Examples
    --------
    >>> undefined_test("QM", 0, "undefined with a single subgroup").defined
    False
    """
    return TestResult(name, math.nan, df, df2, math.nan, reason)
