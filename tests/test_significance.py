"""One test type for Q, QM, QE, the LRTs and the subgroup tests (inometa.core.significance)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import inometa
from inometa.core.significance import TestResult, chi2_test, f_test, undefined_test

X = [4, 9, 15, 20, 2, 11, 30, 7]
N = [20, 25, 30, 40, 22, 35, 50, 15]
YEAR = {"year": [2010, 2011, 2013, 2014, 2016, 2018, 2020, 2022]}
GROUP = ["a", "a", "b", "b", "a", "b", "b", "a"]


def test_chi2_and_f_p_values_are_scipys() -> None:
    assert chi2_test("Q", 7.3, 3).pvalue == pytest.approx(stats.chi2.sf(7.3, 3), rel=1e-14)
    f = f_test("QM", 2.9, 2, 11.5)
    assert f.pvalue == pytest.approx(stats.f.sf(2.9, 2, 11.5), rel=1e-14)
    assert (f.distribution, f.df, f.df2) == ("F", 2, 11.5)


def test_degenerate_tests_are_documented_values_not_nan_surprises() -> None:
    assert chi2_test("Q", 5.0, 0).pvalue == 1.0  # nothing to test
    assert chi2_test("Q", -1e-15, 2).statistic == 0.0  # rounding below 0
    nan = chi2_test("Q", math.nan, 2)
    assert math.isnan(nan.pvalue) and not nan.defined
    u = undefined_test("QM", 0, "undefined with a single subgroup")
    assert not u.defined and u.description == "undefined with a single subgroup"


def test_every_test_in_the_package_is_one_type() -> None:
    res = inometa.metaprop(X, N)
    reg = inometa.metareg(X, N, YEAR)
    sub = inometa.subgroup_analysis(X, N, GROUP)
    found = [res.heterogeneity.q_result, reg.qm_result, reg.qe_result, *sub.tests]
    assert all(type(t) is TestResult for t in found)
    assert inometa.SubgroupTest is TestResult  # the former name still works
    assert TestResult.__test__ is False  # pytest does not try to collect it


def test_the_views_repackage_the_flat_fields_exactly() -> None:
    res = inometa.metaprop(X, N)
    het = res.heterogeneity
    q = het.q_result
    assert (q.statistic, q.df, q.pvalue) == (het.q, het.q_df, het.q_pvalue)
    assert het.q_lrt_result is None  # inverse variance has no LRT
    reg = inometa.metareg(X, N, YEAR, ci_method="hk")
    qm = reg.qm_result
    assert (qm.statistic, qm.df, qm.df2, qm.pvalue) == (
        reg.qm,
        reg.qm_df,
        reg.qm_df2,
        reg.qm_pvalue,
    )
    assert qm.distribution == "F"
    qe = reg.qe_result
    assert (qe.statistic, qe.df, qe.pvalue) == (reg.qe, reg.qe_df, reg.qe_pvalue)
    assert reg.qm_lrt_result is None


def test_glmm_likelihood_ratio_tests() -> None:
    res = inometa.metaprop(X, N, method="glmm")
    lrt = res.heterogeneity.q_lrt_result
    assert lrt is not None and lrt.statistic == res.heterogeneity.q_lrt
    reg = inometa.metareg(X, N, YEAR, method="glmm")
    mlrt = reg.qm_lrt_result
    assert mlrt is not None and mlrt.pvalue == pytest.approx(stats.chi2.sf(reg.qm_lrt, 1))


def test_to_dict_names_the_distribution() -> None:
    d = f_test("QM", 1.5, 1, 6.0, "omnibus").to_dict()
    assert d == {
        "name": "QM",
        "statistic": 1.5,
        "df": 1,
        "df2": 6.0,
        "pvalue": pytest.approx(float(stats.f.sf(1.5, 1, 6.0)), rel=1e-14),
        "distribution": "F",
        "description": "omnibus",
    }
    assert np.isfinite(d["pvalue"])
