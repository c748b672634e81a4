"""Leave-one-out, influence, Baujat, cumulative and GOSH: properties, GLMM, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import inometa
from tests.batch_support import TOL as BATCH_TOL

X = [4, 23, 10, 1, 2, 0, 6, 9, 3, 5, 2, 7]
N = [72, 164, 110, 43, 26, 18, 36, 59, 33, 80, 45, 131]


def test_leave_one_out_of_a_duplicated_study() -> None:
    # Dropping either copy of a duplicated study leaves the same data.
    res = inometa.metaprop([*X, X[0]], [*N, N[0]])
    loo = inometa.leave_one_out(res)
    cols = ["model_estimate", "model_se", "tau2", "i2", "q"]
    pd.testing.assert_series_equal(loo.iloc[0][cols], loo.iloc[-1][cols], check_names=False)


def test_leave_one_out_equals_refitting_without_the_study() -> None:
    # Inverse variance: the batch engine's sums run in another order than metaprop's.
    res = inometa.metaprop(X, N, transform="ft", tau2_method="PM")
    loo = inometa.leave_one_out(res)
    alone = inometa.metaprop(X[1:], N[1:], transform="ft", tau2_method="PM")
    rtol, atol = BATCH_TOL["inverse"]
    assert loo["model_estimate"].iloc[0] == pytest.approx(alone.random.estimate, rel=rtol)
    assert loo["tau2"].iloc[0] == pytest.approx(alone.tau2, rel=rtol, abs=atol)
    # GLMM: each refit is the GLMM fit itself, so the values are identical.
    res = inometa.metaprop(X, N, method="glmm")
    loo = inometa.leave_one_out(res)
    alone = inometa.metaprop(X[1:], N[1:], method="glmm")
    assert loo["model_estimate"].iloc[0] == alone.random.estimate
    assert loo["tau2"].iloc[0] == alone.tau2


def test_cumulative_last_row_is_the_full_analysis() -> None:
    res = inometa.metaprop(X, N, ci_method="hk")
    cu = inometa.cumulative(res, order=np.arange(12)[::-1])
    assert cu["added"].iloc[0] == "Study 12"
    rtol = BATCH_TOL["inverse"][0]  # the batch engine sums in another order
    assert cu["model_estimate"].iloc[-1] == pytest.approx(res.random.estimate, rel=rtol)
    assert cu["k"].tolist() == list(range(1, 13))
    dec = inometa.cumulative(res, order=np.arange(12), decreasing=True)
    assert list(dec["added"]) == list(cu["added"])
    with pytest.raises(ValueError, match="one entry per study"):
        inometa.cumulative(res, order=[1, 2])


def test_glmm_influence_equals_explicit_refits() -> None:
    # metafor has no influence() for rma.glmm; the documented formulas (Viechtbauer & Cheung
    # 2010, as metafor's influence.rma.uni) are applied to explicit GLMM refits without each
    # study, on the logit scale, with the weights 1/(vᵢ + τ²) of the full fit.
    res = inometa.metaprop(X, N, method="glmm")
    inf = inometa.influence(res)
    yi, vi = np.asarray(res.data.yi), np.asarray(res.data.vi)
    mu, vb, tau2 = res.random.estimate, res.random.se**2, res.tau2
    hat = (1 / (vi + tau2)) / np.sum(1 / (vi + tau2))
    rows = []
    for i in range(len(X)):
        fit = inometa.metaprop(X[:i] + X[i + 1 :], N[:i] + N[i + 1 :], method="glmm")
        t2, b, vb_i = fit.tau2, fit.random.estimate, fit.random.se**2
        rows.append(
            {
                "rstudent": (yi[i] - b) / np.sqrt(vi[i] + vb_i + t2),
                "dffits": (mu - b) / np.sqrt(hat[i] * (t2 + vi[i])),
                "cook_d": (mu - b) ** 2 / vb,
                "cov_r": vb_i / vb,
                "tau2_del": t2,
                "q_del": fit.heterogeneity.q,
                "dfbetas": (mu - b) / np.sqrt(1 / np.sum(1 / (vi + t2))),
            }
        )
    expected = pd.DataFrame(rows)
    rtol, atol = BATCH_TOL["glmm"]  # the refits are identical; the formulas vectorised
    for column in expected:
        np.testing.assert_allclose(inf[column], expected[column], rtol=rtol, atol=atol)
    np.testing.assert_allclose(inf["hat"], hat, rtol=rtol)
    assert inf["weight"].sum() == pytest.approx(100, rel=1e-14)
    b = inometa.baujat(res)
    assert (b[["x", "y"]] >= 0).all().all()


def test_too_few_studies() -> None:
    res = inometa.metaprop([3, 5], [10, 12])
    with pytest.raises(ValueError, match="influence diagnostics needs at least 3 studies"):
        inometa.influence(res)
    with pytest.raises(ValueError, match="leave-one-out needs at least 2 studies"):
        inometa.leave_one_out(inometa.metaprop([3], [10]))


@pytest.mark.parametrize("method", ["DL", "REML", "ML", "PM", "EB", "HE", "HS", "SJ"])
def test_gosh_full_set_row_equals_the_analysis(method: str) -> None:
    res = inometa.metaprop(X[:8], N[:8], tau2_method=method)
    g = inometa.gosh(res)
    full = g[g["k"] == 8].iloc[0]
    rtol, atol = BATCH_TOL["inverse"]  # the batch engine sums in another order
    assert full["tau2"] == pytest.approx(res.tau2, rel=rtol, abs=atol)
    assert full["estimate"] == pytest.approx(res.random.estimate, rel=rtol)
    assert full["proportion"] == pytest.approx(res.estimate, rel=rtol)
    singles = g[g["k"] == 1]
    assert (singles["tau2"] == 0).all() and (singles["q"] == 0).all()


def test_gosh_random_sample_is_seeded() -> None:
    res = inometa.metaprop(X, N)
    a = inometa.gosh(res, subsets=500, seed=7)
    b = inometa.gosh(res, subsets=500, seed=7)
    c = inometa.gosh(res, subsets=500, seed=8)
    assert not a.attrs["exact"] and len(a) == 500
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert (a["k"] >= 1).all()


def test_gosh_ft_back_transforms_with_each_subsets_harmonic_mean() -> None:
    res = inometa.metaprop(X[:5], N[:5], transform="ft", tau2_method="DL")
    g = inometa.gosh(res)
    row = g[(g["k"] == 2) & g["Study 1"] & g["Study 2"]].iloc[0]
    sub = inometa.metaprop(X[:2], N[:2], transform="ft", tau2_method="DL")
    assert row["proportion"] == pytest.approx(sub.estimate, rel=BATCH_TOL["inverse"][0])


def test_gosh_glmm_rows_are_glmm_fits_of_their_subsets() -> None:
    res = inometa.metaprop(X[:4], N[:4], method="glmm")
    g = inometa.gosh(res)
    labels = [f"Study {i + 1}" for i in range(4)]
    assert len(g) == 15 and len({tuple(r) for r in g[labels].to_numpy()}) == 15
    for _, row in g.iterrows():
        keep = [i for i, lab in enumerate(labels) if row[lab]]
        fit = inometa.metaprop([X[i] for i in keep], [N[i] for i in keep], method="glmm")
        assert row["k"] == len(keep)
        # each row is the GLMM fit itself: identical values
        assert (row["estimate"], row["tau2"]) == (fit.random.estimate, fit.tau2)
        rtol, atol = BATCH_TOL["glmm"]  # derived by the batch's vectorised formulas
        assert row["proportion"] == pytest.approx(fit.estimate, rel=rtol, abs=atol)
        assert row["q"] == pytest.approx(fit.heterogeneity.q, rel=rtol, abs=atol)


def test_tables_record_the_options() -> None:
    res = inometa.metaprop(X, N, transform="ft", tau2_method="DL")
    for fn in (
        inometa.leave_one_out,
        inometa.influence,
        inometa.baujat,
        inometa.cumulative,
        inometa.gosh,
    ):
        table = fn(res)
        assert table.attrs["options"]["transform"] == "ft"
        assert table.attrs["options"]["tau2_method"] == "DL"


def test_baujat_of_an_all_zero_glmm_is_refused_with_the_reason() -> None:
    res = inometa.metaprop([0, 0, 0], [10, 12, 15], method="glmm")
    with pytest.raises(ValueError, match="every study at the boundary"):
        inometa.baujat(res)
