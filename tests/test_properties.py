"""Property tests: the mathematics every result must satisfy (seeded, never retried)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import inometa

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


@st.composite
def studies(draw: st.DrawFn, min_k: int = 2, max_k: int = 12) -> tuple[list[int], list[int]]:
    k = draw(st.integers(min_k, max_k))
    n = draw(st.lists(st.integers(1, 400), min_size=k, max_size=k))
    x = [draw(st.integers(0, ni)) for ni in n]
    return x, n


TRANSFORMS = st.sampled_from(["raw", "log", "logit", "arcsine", "ft"])
TAU2 = st.sampled_from(["DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB"])
CI = st.sampled_from(["z", "t", "hk", "hk_adhoc"])


@SETTINGS
@given(studies(), TRANSFORMS, TAU2, CI, st.randoms(use_true_random=False))
def test_study_order_does_not_matter(data, transform, tau2_method, ci_method, rnd) -> None:
    x, n = data
    order = list(range(len(x)))
    rnd.shuffle(order)
    kw = {
        "transform": transform,
        "tau2_method": tau2_method,
        "ci_method": ci_method,
        "pi_method": "t",
    }
    a = inometa.metaprop(x, n, **kw)
    b = inometa.metaprop([x[i] for i in order], [n[i] for i in order], **kw)
    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q"):
        va, vb = a.to_dict()[key], b.to_dict()[key]
        assert (va is None and vb is None) or math.isclose(va, vb, rel_tol=1e-7, abs_tol=1e-12)


@SETTINGS
@given(studies(), TRANSFORMS, TAU2)
def test_tau2_nonnegative_and_i2_in_unit_interval(data, transform, tau2_method) -> None:
    res = inometa.metaprop(*data, transform=transform, tau2_method=tau2_method)
    h = res.heterogeneity
    assert h.tau2 >= 0 and 0 <= h.i2 <= 1 and h.h2 >= 1 and h.q >= 0
    assert 0 <= h.q_pvalue <= 1
    assert h.tau2_ci.low <= h.tau2_ci.high


@SETTINGS
@given(
    studies(min_k=3),
    TRANSFORMS,
    TAU2,
    st.sampled_from(
        [("z", "z"), ("z", "t"), ("t", "t"), ("hk", "t"), ("hk", "hts"), ("hk_adhoc", "t")]
    ),
)
def test_ci_lies_inside_pi(data, transform, tau2_method, methods) -> None:
    # The PI uses the CI's SE plus τ², with a critical value at least as large.
    ci_method, pi_method = methods
    res = inometa.metaprop(
        *data,
        transform=transform,
        tau2_method=tau2_method,
        ci_method=ci_method,
        pi_method=pi_method,
    )
    assert res.prediction.low <= res.random.ci_low + 1e-12
    assert res.random.ci_high <= res.prediction.high + 1e-12


@SETTINGS
@given(studies(), st.sampled_from(["logit", "arcsine", "ft"]), TAU2)
def test_bounded_transforms_stay_in_unit_interval(data, transform, tau2_method) -> None:
    d = inometa.metaprop(
        *data, transform=transform, tau2_method=tau2_method, pi_method="t"
    ).to_dict()
    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        assert d[key] is None or 0 <= d[key] <= 1
    assert d["ci_low"] <= d["estimate"] <= d["ci_high"]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(studies(max_k=8))
def test_glmm_estimates_in_unit_interval_and_order_free(data) -> None:
    x, n = data
    a = inometa.metaprop(x, n, method="glmm")
    b = inometa.metaprop(x[::-1], n[::-1], method="glmm")
    assert 0 <= a.estimate <= 1
    assert a.random.proportion_ci.low <= a.estimate <= a.random.proportion_ci.high
    assert math.isclose(a.estimate, b.estimate, rel_tol=1e-6, abs_tol=1e-12)
    assert math.isclose(a.tau2, b.tau2, rel_tol=1e-5, abs_tol=1e-10)


@SETTINGS
@given(studies(), TRANSFORMS, st.floats(0, 2))
def test_fixed_tau2_equals_weighted_least_squares(data, transform, tau2) -> None:
    res = inometa.metaprop(*data, transform=transform, tau2_fixed=tau2)
    yi, vi = np.asarray(res.data.yi), np.asarray(res.data.vi)
    w = 1 / (vi + tau2)
    assert math.isclose(
        res.random.estimate, float(np.sum(w * yi) / np.sum(w)), rel_tol=1e-12, abs_tol=1e-15
    )
    assert math.isclose(res.random.se, float(np.sqrt(1 / np.sum(w))), rel_tol=1e-12)
