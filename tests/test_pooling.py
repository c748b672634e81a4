"""metaprop(): resolved options, profiles, degenerate cases and the result object."""

from __future__ import annotations

import json
import math
import tracemalloc

import numpy as np
import pytest
from scipy import stats

import inometa

X = [49, 121, 43, 119, 28, 19]
N = [72, 164, 43, 131, 33, 32]


def test_default_is_metafor_profile() -> None:
    o = inometa.metaprop(X, N).options
    assert (o.profile, o.method, o.transform, o.tau2_method, o.ci_method, o.pi_method) == (
        "metafor",
        "inverse",
        "logit",
        "REML",
        "z",
        "z",
    )
    assert (o.i2_definition, o.study_ci_method, o.correction, o.increment) == (
        "tau2",
        "clopper-pearson",
        "only0",
        0.5,
    )
    assert o.version == inometa.__version__


def test_meta_profile() -> None:
    o = inometa.metaprop(X, N, profile="meta").options
    assert (o.method, o.tau2_method, o.pi_method, o.i2_definition, o.nagq) == (
        "glmm",
        "ML",
        "t",
        "q",
        "exact",  # R meta uses lme4's nAGQ = 7; the exact likelihood is the default here
    )
    assert inometa.metaprop(X, N, profile="meta", nagq=7).options.nagq == 7
    o = inometa.metaprop(X, N, profile="meta", transform="ft").options
    assert (o.method, o.tau2_method, o.correction) == ("inverse", "REML", "none")


def test_stata_profile() -> None:
    o = inometa.metaprop(X, N, profile="stata_metaprop").options
    assert (o.method, o.transform, o.tau2_method, o.pi_method, o.i2_definition) == (
        "inverse",
        "ft",
        "DL",
        "hts",
        "q",
    )


def test_explicit_options_override_the_profile() -> None:
    o = inometa.metaprop(X, N, profile="meta", method="inverse", pi_method="hts").options
    assert (o.method, o.pi_method, o.i2_definition) == ("inverse", "hts", "q")


def test_metafor_aliases_are_canonicalised() -> None:
    o = inometa.metaprop(X, N, transform="PFT", tau2_method="reml", ci_method="knha").options
    assert (o.transform, o.tau2_method, o.ci_method) == ("ft", "REML", "hk")


def test_ft_backtransform_uses_the_harmonic_mean() -> None:
    res = inometa.metaprop(X, N, transform="ft")
    hm = len(N) / sum(1 / n for n in N)
    assert res.backtransform_n == pytest.approx(hm, rel=1e-15)
    assert "harmonic mean" in res.options.backtransform
    from inometa.core.transforms import ft_inverse

    assert res.estimate == float(ft_inverse(res.random.estimate, hm))


def test_q_based_i2() -> None:
    res = inometa.metaprop(X, N, i2_definition="q")
    h = res.heterogeneity
    assert h.i2 == pytest.approx((h.q - h.q_df) / h.q, rel=1e-14)
    assert h.h2 == pytest.approx(h.q / h.q_df, rel=1e-14)
    assert h.i2_ci.low < h.i2 < h.i2_ci.high


def test_continuity_correction_is_noted_and_marked() -> None:
    res = inometa.metaprop(X, N)
    assert res.data.corrected.tolist() == [False, False, True, False, False, False]
    assert any("0.5 added" in n and "1 study" in n for n in res.notes)
    assert inometa.metaprop(X, N, transform="ft").data.corrected.sum() == 0


def test_correction_all_changes_every_study() -> None:
    res = inometa.metaprop([3, 5], [10, 12], correction="all", increment=1)
    assert res.data.events_used.tolist() == [4, 6] and res.data.n_used.tolist() == [12, 14]


def test_k1_gives_a_documented_result() -> None:
    res = inometa.metaprop([7], [20], labels=["Only study"])
    assert res.k == 1 and res.tau2 == 0 and res.heterogeneity.q == 0 and res.i2 == 0
    assert math.isnan(res.heterogeneity.tau2_ci.low)
    assert res.estimate == pytest.approx(7 / 20)
    assert any("k = 1" in n for n in res.notes)
    # the PI equals the CI when tau2 = 0 and the critical values agree (metafor)
    assert res.prediction.low == pytest.approx(res.random.ci_low)
    hk = inometa.metaprop([7], [20], ci_method="hk", pi_method="t")
    assert math.isnan(hk.random.ci_low) and math.isnan(hk.prediction.low)
    assert any("needs k ≥ 2" in n for n in hk.notes)
    json.dumps(hk.to_dict(), allow_nan=False)


def test_k2_hts_prediction_interval_is_undefined_with_a_note() -> None:
    res = inometa.metaprop([12, 30], [40, 50], pi_method="hts")
    assert math.isnan(res.prediction.low) and math.isnan(res.prediction.proportion_high)
    assert any("needs k ≥ 3" in n for n in res.notes)
    assert res.to_dict()["pi_low"] is None


def test_all_zero_events_inverse_variance() -> None:
    res = inometa.metaprop([0, 0, 0], [10, 20, 30])
    assert res.data.corrected.all()
    assert 0 < res.estimate < 0.1 and res.tau2 == 0


def test_tau2_at_zero_is_noted() -> None:
    res = inometa.metaprop([10, 11, 12, 10, 11], [100] * 5, tau2_method="DL")
    assert res.tau2 == 0
    assert any("truncated at 0" in n for n in res.notes)
    assert res.heterogeneity.tau2_ci == (0.0, 0.0)


def test_hartung_knapp_zero_s2_is_noted() -> None:
    res = inometa.metaprop([10, 10, 10], [50, 50, 50], ci_method="hk")
    assert res.random.ci_low == res.random.ci_high
    assert any("zero width" in n for n in res.notes)
    adhoc = inometa.metaprop([10, 10, 10], [50, 50, 50], ci_method="hk_adhoc")
    assert adhoc.random.se == pytest.approx(adhoc.random.se_wald)


def test_raw_scale_bounds_are_truncated_with_a_note() -> None:
    res = inometa.metaprop([1, 0, 2, 30], [40, 50, 30, 40], transform="raw", pi_method="t")
    assert res.prediction.low < 0 and res.prediction.proportion_low == 0.0
    assert any("truncated to [0, 1]" in n for n in res.notes)


def test_confidence_interval_at_another_level() -> None:
    res = inometa.metaprop(X, N, ci_method="hk")
    assert res.confidence_interval() == pytest.approx(tuple(res.random.proportion_ci))
    lo90, hi90 = res.confidence_interval(0.90)
    assert res.random.proportion_ci.low < lo90 < hi90 < res.random.proportion_ci.high
    t = stats.t.isf(0.05, res.k - 1)
    _, hi = res.confidence_interval(0.90, scale="model")
    assert hi - res.random.estimate == pytest.approx(t * res.random.se, rel=1e-12)
    c_lo, c_hi = res.confidence_interval(model="common")
    assert (c_lo, c_hi) == pytest.approx(tuple(res.common.proportion_ci))
    with pytest.raises(ValueError, match="valid values are: common, random"):
        res.confidence_interval(model="fixed")


def test_prediction_interval_at_another_level() -> None:
    res = inometa.metaprop(X, N, pi_method="t")
    assert res.prediction_interval() == pytest.approx(
        (res.prediction.proportion_low, res.prediction.proportion_high)
    )
    lo, hi = res.prediction_interval(0.8)
    assert res.prediction.proportion_low < lo < hi < res.prediction.proportion_high


def test_studies_frame() -> None:
    df = inometa.metaprop(X, N, labels=list("ABCDEF")).studies
    assert list(df.columns) == [
        "label",
        "events",
        "n",
        "proportion",
        "ci_low",
        "ci_high",
        "corrected",
        "yi",
        "vi",
        "yi_proportion",
        "weight_common",
        "weight_random",
        "imputed",
    ]
    assert df["weight_random"].sum() == pytest.approx(100)
    assert df["proportion"].tolist() == pytest.approx([x / n for x, n in zip(X, N, strict=True)])
    assert (df["ci_low"] <= df["proportion"]).all() and (df["proportion"] <= df["ci_high"]).all()


def test_result_is_frozen_and_arrays_read_only() -> None:
    res = inometa.metaprop(X, N)
    with pytest.raises(AttributeError):
        res.notes = ()  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.data.yi[0] = 0.0


@pytest.mark.parametrize("method", ["inverse", "glmm"])
def test_to_dict_contract(method: str) -> None:
    d = inometa.metaprop(X, N, method=method).to_dict()
    for key in (
        "k",
        "estimate",
        "ci_low",
        "ci_high",
        "pi_low",
        "pi_high",
        "tau2",
        "i2",
        "h2",
        "q",
        "q_df",
        "q_pvalue",
        "tau2_ci",
        "i2_ci",
        "model_scale",
    ):
        assert key in d
    assert set(d["model_scale"]) == {"estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high"}
    assert 0 <= d["i2"] <= 1 and len(d["tau2_ci"]) == 2
    json.dumps(d, allow_nan=False)


def test_summary_and_html() -> None:
    res = inometa.metaprop(X, N, labels=list("ABCDEF"))
    text = res.summary()
    assert "Random effects" in text and "I² =" in text and "Profile: metafor" in text
    assert str(res) == text
    html = res._repr_html_()
    assert html.startswith("<div") and "Random effects" in html and "<table>" in html
    g = inometa.metaprop([0, 0], [10, 10], method="glmm").summary()
    assert "every study has 0 events" in g


def test_weights_for_glmm_are_flagged_approximate() -> None:
    res = inometa.metaprop(X, N, method="glmm")
    assert res.data.weights_random.sum() == pytest.approx(100)
    assert any("approximate" in n for n in res.notes)


def test_tau2_fixed_equals_weighted_least_squares() -> None:
    import statsmodels.api as sm

    res = inometa.metaprop(X, N, tau2_fixed=0.3, ci_method="hk")
    yi, vi = res.data.yi, res.data.vi
    wls = sm.WLS(np.asarray(yi), np.ones((len(yi), 1)), weights=1 / (np.asarray(vi) + 0.3)).fit()
    assert res.random.estimate == pytest.approx(wls.params[0], rel=1e-12)
    # the Hartung–Knapp SE is the WLS SE with its estimated residual scale
    assert res.random.se == pytest.approx(wls.bse[0], rel=1e-10)
    assert res.options.tau2_method == "fixed" and res.options.tau2_fixed == 0.3


@pytest.mark.parametrize("tau2_method", sorted(inometa.TAU2_ESTIMATORS))
def test_memory_is_linear_in_the_number_of_studies(tau2_method: str) -> None:
    # metafor forms k × k matrices (3.2 GB for these 20,000 studies); inometa's whole
    # analysis, Q-profile interval included, stays within a few hundred bytes per study.
    k = 20_000
    rng = np.random.default_rng(8)
    n = rng.integers(20, 300, size=k)
    x = rng.binomial(n, rng.uniform(0.05, 0.6, size=k))
    tracemalloc.start()
    try:
        res = inometa.metaprop(x, n, tau2_method=tau2_method)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 400 * k
    low, high = res.heterogeneity.tau2_ci
    assert res.k == k and res.tau2 > 0 and 0 < low < high


def test_repr_is_one_short_line_naming_the_scales() -> None:
    import inometa

    res = inometa.metaprop([9, 17, 49, 12], [49, 90, 72, 40], method="glmm")
    shown = repr(res)
    assert "\n" not in shown and len(shown) < 160
    assert f"proportion {res.estimate:.4f}" in shown and "GLMM" in shown
    assert f"τ² (logit scale) {res.tau2:.4g}" in shown
