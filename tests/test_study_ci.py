"""Per-study confidence intervals (Newcombe's published values: test_published_newcombe1998).

Every method at levels 0.90, 0.95 and 0.99 is compared with base R (binom.test, prop.test
and the published formulas, evaluated by the committed tests/reference/metafor_level_reference.R
into metafor_level_reference.json), not with statsmodels, which the code itself calls.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from inometa.core.study_ci import STUDY_CI_METHODS, study_confint

METHODS = sorted(set(STUDY_CI_METHODS.values()))
REF = json.loads(
    (Path(__file__).parent / "reference" / "metafor_level_reference.json").read_text()
)["study_ci"]
# R and Python evaluate the same closed forms and beta/normal quantiles: observed ≤ 1e-13
# relative, the largest where a Wald bound p − z·se nearly cancels (5/20 at 0.99); the
# absolute part covers bounds that are 0 up to rounding.
RTOL, ATOL = 1e-12, 1e-15


def test_every_method_has_a_reference_at_three_levels() -> None:
    assert {(c["method"], c["level"]) for c in REF["intervals"]} == {
        (m, lev) for m in METHODS for lev in (0.9, 0.95, 0.99)
    }


@pytest.mark.parametrize("case", REF["intervals"], ids=lambda c: f"{c['method']}-{c['level']}")
def test_matches_r(case: dict) -> None:
    lo, hi = study_confint(REF["events"], REF["n"], case["method"], level=case["level"])
    np.testing.assert_allclose(lo, case["low"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(hi, case["high"], rtol=RTOL, atol=ATOL)


X = np.array([0, 1, 5, 19, 20, 0, 3, 3])
N = np.array([20, 20, 20, 20, 20, 1, 3, 500])


@pytest.mark.parametrize("method", METHODS)
def test_bounds_lie_in_unit_interval_and_contain_estimate(method: str) -> None:
    lo, hi = study_confint(X, N, method)
    p = X / N
    assert ((lo >= 0) & (hi <= 1) & (lo <= p + 1e-12) & (p <= hi + 1e-12)).all()


@pytest.mark.parametrize("method", ["clopper-pearson", "wilson", "wilson-cc", "jeffreys"])
def test_exact_boundary_limits(method: str) -> None:
    lo, hi = study_confint([0, 20], [20, 20], method)
    assert lo[0] == 0.0 and hi[1] == 1.0


def test_jeffreys_is_beta_quantiles_away_from_the_boundary() -> None:
    lo, hi = study_confint([7], [20], "jeffreys")
    assert (lo[0], hi[0]) == pytest.approx(stats.beta.ppf([0.025, 0.975], 7.5, 13.5), rel=1e-10)


def test_clopper_pearson_is_exact() -> None:
    lo, hi = study_confint([7], [20], "CP", level=0.9)
    assert stats.binom.sf(6, 20, lo[0]) == pytest.approx(0.05, rel=1e-8)
    assert stats.binom.cdf(7, 20, hi[0]) == pytest.approx(0.05, rel=1e-8)


def test_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown study_ci_method 'exactish'"):
        study_confint([1], [2], "exactish")
