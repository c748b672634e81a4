"""Q, I², H² and their intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from inometa.core.heterogeneity import (
    cochran_q,
    i2_h2_ci_test_based,
    i2_h2_from_q,
    i2_h2_from_tau2,
    q_profile_tau2_ci,
    q_test,
    typical_variance,
)
from inometa.core.tau2 import generalized_q


def test_cochran_q_two_studies() -> None:
    q = cochran_q([0.1, 0.3], [0.01, 0.01])
    assert (q.statistic, q.df) == (pytest.approx(2.0, rel=1e-14), 1)
    assert q.pvalue == pytest.approx(stats.chi2.sf(2.0, 1), rel=1e-14)


def test_typical_variance_equals_v_when_variances_are_equal() -> None:
    assert typical_variance([0.04] * 5) == pytest.approx(0.04, rel=1e-14)


def test_i2_definitions() -> None:
    assert i2_h2_from_tau2(0.01, 0.01) == (0.5, 2.0)
    assert i2_h2_from_q(20.0, 10) == (0.5, 2.0)
    assert i2_h2_from_q(5.0, 10) == (0.0, 1.0)  # truncated, as R meta and Stata


def test_test_based_interval_hand_computed() -> None:
    # Higgins & Thompson (2002): Q = 30, k = 10 > Q? no: Q > k, so
    # SE(ln H) = ½(ln 30 − ln 9)/(√60 − √17) = 0.166157...; H = √(30/9).
    h = math.sqrt(30 / 9)
    se = 0.5 * (math.log(30) - math.log(9)) / (math.sqrt(60) - math.sqrt(17))
    z = stats.norm.isf(0.025)
    h_lo, h_hi = math.exp(math.log(h) - z * se), math.exp(math.log(h) + z * se)
    (i_lo, i_hi), (hh_lo, hh_hi) = i2_h2_ci_test_based(30.0, 9, 0.95)
    assert (i_lo, i_hi) == pytest.approx((1 - 1 / h_lo**2, 1 - 1 / h_hi**2), rel=1e-12)
    assert (hh_lo, hh_hi) == pytest.approx((h_lo**2, h_hi**2), rel=1e-12)
    assert (round(i_lo, 4), round(i_hi, 4)) == (0.4246, 0.8436)


def test_test_based_interval_small_q_uses_the_k_formula() -> None:
    (i_lo, i_hi), _ = i2_h2_ci_test_based(5.0, 9, 0.95)
    assert i_lo == 0.0 and 0 < i_hi < 1
    # k = 2: R meta's SE(ln H) exists only for Q > k (the k formula needs k > 2).
    assert i2_h2_ci_test_based(2.0, 1, 0.95)[0] == pytest.approx((math.nan, math.nan), nan_ok=True)
    se = 0.5 * math.log(3.0) / (math.sqrt(6.0) - 1.0)
    h_hi = math.exp(math.log(math.sqrt(3.0)) + stats.norm.isf(0.025) * se)
    assert i2_h2_ci_test_based(3.0, 1, 0.95)[0] == pytest.approx((0.0, 1 - 1 / h_hi**2), rel=1e-12)


def test_test_based_interval_is_centred_at_h_at_least_1() -> None:
    # Q < k − 1 (H < 1): R meta's calcH centres the interval at ln max(H, 1) = 0, so the
    # upper bound of H is exp(z·SE) whatever Q is (meta 8.0-2, tests/reference/meta_reference).
    se = math.sqrt(1 / (2 * 8) * (1 - 1 / (3 * 8**2)))
    h_hi = math.exp(stats.norm.isf(0.025) * se)
    for q in (0.0, 2.0, 4.0, 8.9):
        (i_lo, _), (hh_lo, hh_hi) = i2_h2_ci_test_based(q, 9, 0.95)
        assert (i_lo, hh_lo) == (0.0, 1.0)
        assert hh_hi == pytest.approx(h_hi**2, rel=1e-12)


def test_q_profile_bounds_are_roots() -> None:
    y = np.array([0.1, 0.5, 0.2, 0.9, -0.3])
    v = np.array([0.01, 0.02, 0.015, 0.01, 0.03])
    ci = q_profile_tau2_ci(y, v)
    assert generalized_q(ci.low, y, v) == pytest.approx(stats.chi2.isf(0.025, 4), rel=1e-10)
    assert generalized_q(ci.high, y, v) == pytest.approx(stats.chi2.ppf(0.025, 4), rel=1e-10)


def test_q_profile_null_set_and_zero_lower_bound() -> None:
    v = np.full(5, 0.01)
    ci = q_profile_tau2_ci(np.zeros(5), v)
    assert (ci.low, ci.high) == (0.0, 0.0) and "null set" in ci.notes[0]
    y = np.array([0.0, 0.1, 0.05, -0.05, 0.12])
    ci = q_profile_tau2_ci(y, v)
    assert ci.low == 0.0 < ci.high


def test_q_profile_k1() -> None:
    ci = q_profile_tau2_ci([0.2], [0.01])
    assert math.isnan(ci.low) and "k = 1" in ci.notes[0]


@pytest.mark.parametrize(
    ("yi", "vi"),
    [
        ([0.1, 0.5, 0.2, 0.9], [0.01, 0.02, 0.015, 0.01]),  # both bounds are roots
        ([0.1, 0.11, 0.12], [0.5, 0.4, 0.6]),  # Q(0) below the lower quantile: {0}
        ([0.1, 0.9, 0.3], [1e-6, 0.02, 0.03]),  # one study carries nearly all the weight
    ],
)
def test_q_profile_started_from_metaprops_values_at_zero(yi: list, vi: list) -> None:
    # metaprop hands the search Q(0) and its slope, computed as solve_q computes them
    y, v = np.array(yi), np.array(vi)
    w = 1 / v
    r = y - w.dot(y) / w.sum()
    started = q_profile_tau2_ci(
        y, v, 0.95, at_zero=(float((w * r).dot(r)), float((w * r).dot(w * r)))
    )
    plain = q_profile_tau2_ci(y, v, 0.95)
    assert started.low == pytest.approx(plain.low, rel=1e-12, abs=1e-15)
    assert started.high == pytest.approx(plain.high, rel=1e-12, abs=1e-15)
    assert started.notes == plain.notes


def test_q_test_without_degrees_of_freedom() -> None:
    t = q_test(5.0, 0)
    assert (t.statistic, t.df, t.df2, t.pvalue) == (0.0, 0, None, 1.0)
    assert q_test(-1e-17, 3).statistic == 0.0  # rounding below 0
