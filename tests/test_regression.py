"""metareg(): moderators in every form, bad moderators, GLMM, permutation tests."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest

import inometa
from inometa.analysis.permutation import distinct_orderings, unique_orders
from inometa.analysis.regression import design_matrix

X = [4, 23, 10, 1, 2, 0, 6, 9, 3, 5, 2, 7]
N = [72, 164, 110, 43, 26, 18, 36, 59, 33, 80, 45, 131]
YEAR = [2017, 2019, 2023, 2024, 2024, 2024, 2013, 2018, 2023, 2023, 2021, 2024]
REGIMEN = [
    "mono",
    "mono",
    "combo",
    "combo",
    "mono",
    "mono",
    "mono",
    "combo",
    "combo",
    "combo",
    "mono",
    "combo",
]
LABELS = [f"S{i}" for i in range(1, 13)]


def test_moderator_forms_agree() -> None:
    df = pd.DataFrame({"x": X, "n": N, "year": YEAR, "regimen": REGIMEN})
    a = inometa.metareg("x", "n", "year + regimen", data=df)
    b = inometa.metareg("x", "n", ["year", "regimen"], data=df)
    c = inometa.metareg(X, N, {"year": YEAR, "regimen": REGIMEN})
    d = inometa.metareg(X, N, df[["year", "regimen"]])
    for other in (b, c, d):
        np.testing.assert_array_equal(a.estimate, other.estimate)
    assert a.terms == ("intercept", "year", "regimen: mono")


def test_categorical_order_from_pandas_categorical() -> None:
    cat = pd.Categorical(REGIMEN, categories=["mono", "combo"])
    res = inometa.metareg(X, N, {"regimen": cat})
    assert res.terms == ("intercept", "regimen: combo")
    ref = inometa.metareg(X, N, {"regimen": REGIMEN})
    assert res.estimate[1] == pytest.approx(-ref.estimate[1], rel=1e-10)


def test_single_moderator_array_and_series() -> None:
    a = inometa.metareg(X, N, YEAR)
    b = inometa.metareg(X, N, pd.Series(YEAR, name="year"))
    assert a.terms == ("intercept", "moderator") and b.terms == ("intercept", "year")
    np.testing.assert_allclose(a.estimate, b.estimate)


@pytest.mark.parametrize(
    ("moderators", "message"),
    [
        ({"year": [2020] * 12}, "moderator 'year' has no variance \\(every study has 2020\\)"),
        ({"arm": ["a"] * 12}, "moderator 'arm' has no variance \\(every study is 'a'\\)"),
        ({"year": YEAR[:11]}, "moderators have 11 rows but there are 12 studies"),
        (
            {"year": [*YEAR[:3], None, *YEAR[4:]]},
            "moderator 'year' is missing for study 'S4' \\(row 4\\)",
        ),
        ({"a": YEAR, "b": [2 * y for y in YEAR]}, "collinear"),
        ("year", "moderators given as column names need data="),
    ],
)
def test_bad_moderators(moderators: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        inometa.metareg(X, N, moderators, labels=LABELS)


def test_too_many_coefficients() -> None:
    with pytest.raises(ValueError, match="3 coefficients cannot be estimated from 3 studies"):
        design_matrix({"a": [1.0, 2.0, 4.0], "b": [3.0, 1.0, 2.0]}, ("s1", "s2", "s3"))


def test_knapp_hartung_uses_f_and_t() -> None:
    res = inometa.metareg(X, N, {"year": YEAR, "regimen": REGIMEN}, ci_method="hk")
    assert res.df == 9 and res.qm_df2 == 9 and res.qm_test == "F"
    z = inometa.metareg(X, N, {"year": YEAR, "regimen": REGIMEN})
    assert z.df is None and z.qm_df2 is None


def test_fixed_tau2_is_weighted_least_squares() -> None:
    res = inometa.metareg(X, N, {"year": YEAR}, tau2_fixed=0.2)
    yi, vi = np.asarray(res.data.yi), np.asarray(res.data.vi)
    Xd = np.column_stack([np.ones(12), YEAR])
    w = 1 / (vi + 0.2)
    beta = np.linalg.solve(Xd.T @ (Xd * w[:, None]), Xd.T @ (w * yi))
    np.testing.assert_allclose(res.estimate, beta, rtol=1e-9)
    assert res.tau2 == 0.2 and math.isnan(res.r2)


def test_glmm_with_moderators_and_summary() -> None:
    res = inometa.metareg(X, N, {"regimen": REGIMEN}, method="glmm", nagq=7)
    assert res.qm_test == "Wald χ²" and math.isfinite(res.qm_lrt)
    text = res.summary()
    assert "Likelihood-ratio test of moderators" in text and "regimen: mono" in text
    d = res.to_dict()
    assert d["terms"] == ["intercept", "regimen: mono"] and d["k"] == 12


def test_glmm_separation_is_reported_not_raised() -> None:
    level = ["zero" if x == 0 else "other" for x in X]
    res = inometa.metareg(X, N, {"level": level}, method="glmm")
    assert any("separation" in n for n in res.notes)
    assert all(math.isnan(v) for v in res.estimate)


def testdistinct_orderings() -> None:
    Xd = np.column_stack([np.ones(5), [1, 1, 2, 3, 3]])
    assert distinct_orderings(Xd) == 30  # 5!/(2!·2!)
    orders = unique_orders(Xd)
    assert len(orders) == 30
    assert len({tuple(Xd[o, 1]) for o in orders}) == 30


def test_many_identical_rows_are_cheap() -> None:
    Xd = np.column_stack([np.ones(30), [0.0] * 29 + [1.0]])
    assert distinct_orderings(Xd) == 30 and len(unique_orders(Xd)) == 30


def test_random_permutations_are_seeded() -> None:
    a = inometa.metareg(X, N, {"year": YEAR}, tau2_method="DL", permutations=50, seed=3)
    b = inometa.metareg(X, N, {"year": YEAR}, tau2_method="DL", permutations=50, seed=3)
    c = inometa.metareg(X, N, {"year": YEAR}, tau2_method="DL", permutations=50, seed=4)
    assert a.permutation == b.permutation and a.permutation is not None
    assert not a.permutation.exact and a.permutation.seed == 3
    assert a.permutation.n_permutations == 50
    assert c.permutation is not None and c.permutation.seed == 4
    assert "pvalue_permutation" in a.coefficients().columns


# Six studies with distinct years (720 orderings) and a clear trend: the observed ordering is
# among the most extreme, so its own count matters.
TREND_X = [3, 8, 12, 20, 27, 35]
TREND_N = [60, 60, 60, 60, 60, 60]
TREND_YEAR = [2013, 2015, 2017, 2019, 2021, 2023]
# metafor permutest's comparison: a reordering counts when its statistic ≥ observed − √eps.
COMPTOL = math.sqrt(np.finfo(float).eps)


@functools.cache
def _enumerated_pvalues() -> tuple[list[float], float]:
    """Permutation p-values by brute force: metareg on every one of the 6! orderings of the
    moderator (the public API, no permutation code involved)."""
    from itertools import permutations

    def stats(years: list[int]) -> tuple[np.ndarray, float]:
        res = inometa.metareg(TREND_X, TREND_N, {"year": years}, tau2_method="DL")
        return np.abs(np.asarray(res.statistic)), res.qm

    z_obs, qm_obs = stats(TREND_YEAR)
    exceed, exceed_qm, total = np.zeros(2), 0, 0
    for order in permutations(range(6)):
        z, qm = stats([TREND_YEAR[i] for i in order])
        exceed += z >= z_obs - COMPTOL
        exceed_qm += qm >= qm_obs - COMPTOL
        total += 1
    assert total == 720
    return list(exceed / total), exceed_qm / total


def test_exact_permutation_pvalues_are_the_enumeration() -> None:
    res = inometa.metareg(
        TREND_X, TREND_N, {"year": TREND_YEAR}, tau2_method="DL", permutations=720
    )
    perm = res.permutation
    assert perm is not None and perm.exact and perm.n_permutations == 720
    pvalues, qm_pvalue = _enumerated_pvalues()
    assert 0 < qm_pvalue < 0.05  # the trend is real: a test that could be fooled by p = 0 or 1
    # counts over the same 720 orderings: equal, not merely close
    assert list(perm.pvalues) == pvalues and perm.qm_pvalue == qm_pvalue


def test_random_permutations_count_the_observed_ordering() -> None:
    # metafor's permutest counts the observed ordering among the iterations, so each p-value
    # is a whole number of iterations, at least one.
    for seed in range(5):
        res = inometa.metareg(
            TREND_X, TREND_N, {"year": TREND_YEAR}, tau2_method="DL", permutations=40, seed=seed
        )
        perm = res.permutation
        assert perm is not None and not perm.exact
        for p in (*perm.pvalues, perm.qm_pvalue):
            count = p * 40
            assert count == round(count) and count >= 1


def test_random_permutations_converge_to_the_exact_pvalues() -> None:
    iterations = 600  # fewer than the 720 distinct orderings: sampled at random
    res = inometa.metareg(
        TREND_X, TREND_N, {"year": TREND_YEAR}, tau2_method="DL", permutations=iterations, seed=1
    )
    perm = res.permutation
    assert perm is not None and not perm.exact
    pvalues, qm_pvalue = _enumerated_pvalues()
    for sampled, exact in zip((*perm.pvalues, perm.qm_pvalue), (*pvalues, qm_pvalue), strict=True):
        # 4 binomial standard errors, plus the observed ordering counted once (seeded: the
        # draw is fixed, the margin says how far a correct sampler can stray)
        margin = 4 * math.sqrt(exact * (1 - exact) / iterations) + 1 / iterations
        assert abs(sampled - exact) <= margin


@pytest.mark.parametrize(
    ("tau2_method", "ci_method", "tau2_fixed"),
    [("REML", "z", None), ("DL", "hk", None), ("PM", "hk_adhoc", None), ("ML", "t", 0.05)],
)
def test_permuted_designs_in_one_batch_equal_each_fit(
    tau2_method: str, ci_method: str, tau2_fixed: float | None
) -> None:
    # The permutation test fits all reordered designs as one batch; each row must be the
    # metareg fit of that design alone (coefficient statistics and QM).
    from inometa.analysis.escalc import prepare, resolve_options
    from inometa.analysis.regression import _statistics

    opts = resolve_options(
        method=None, transform=None, tau2_method=tau2_method, tau2_fixed=tau2_fixed,
        ci_method=ci_method, pi_method=None, i2_definition=None, study_ci_method=None,
        correction=None, increment=None, level=0.95, nagq=None, profile="metafor",
    )  # fmt: skip
    prep = prepare(X, N, data=None, labels=None, options=opts)
    mods = {"year": np.array(YEAR, dtype=float), "combo": np.array(REGIMEN) == "combo"}
    design, _, _ = design_matrix(mods, prep.labels, None)
    rng = np.random.default_rng(5)
    orders = [np.arange(12)] + [rng.permutation(12) for _ in range(7)]
    stat, qm = _statistics(prep, design[np.stack(orders)])
    for i, order in enumerate(orders):
        one = inometa.metareg(
            X, N, {k: v[order] for k, v in mods.items()}, tau2_method=tau2_method,
            ci_method=ci_method, tau2_fixed=tau2_fixed,
        )  # fmt: skip
        # The uncentred year makes XᵀWX ill-conditioned (condition number ~1e12): the k × k
        # projector, and with it τ², carries ~1e-10 relative rounding that depends on how
        # many designs a matrix product stacks. Far below permutest's comparison
        # tolerance (√eps ≈ 1.5e-8 on the statistics).
        np.testing.assert_allclose(stat[i], one.statistic, rtol=1e-8)
        assert qm[i] == pytest.approx(one.qm, rel=1e-8)
