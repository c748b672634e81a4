"""inometa against metafor 3.8-1: every transform × τ² estimator × CI method × PI method.

Reference values: tests/reference/metafor_reference.json, written by the committed script
tests/reference/metafor_reference.R (see test_reference_script.py for the check that the
script still produces them). Tolerances are named in conftest.TOL.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import inometa
from inometa.core.tau2 import estimate_tau2
from inometa.core.transforms import apply_correction, get_transform

from .conftest import TOL, bound_atol, metafor_rtol, pvalue_rtol

REF = json.loads((Path(__file__).parent / "reference" / "metafor_reference.json").read_text())
DATASETS = REF["datasets"]
CORRECTION = {"raw": "only0", "log": "only0", "logit": "only0", "arcsine": "none", "ft": "none"}
# metafor reaches τ² = 0 by step halving and stops once a step is below its threshold, so at
# the boundary it reports values below 1e-10 (e.g. 4.9e-13) where the maximum is exactly 0;
# there τ², I² and H² are compared with this absolute tolerance instead.
BOUNDARY_ATOL = 1e-10


def _close(ours: float | None, ref: float | None, rtol: float, atol: float = 0.0) -> bool:
    if ref is None:
        return ours is None or (isinstance(ours, float) and math.isnan(ours))
    if ours is None:
        return False
    return bool(np.isclose(ours, ref, rtol=rtol, atol=atol))


def _mismatches(
    pairs: dict[str, tuple[Any, Any]],
    rtol: float,
    atol: dict[str, float],
    rtols: dict[str, float] | None = None,
) -> list[str]:
    """Names whose values differ; ``rtols`` overrides ``rtol`` per name."""
    rtols = rtols or {}
    return [
        f"{name}: inometa {a!r} vs metafor {b!r}"
        for name, (a, b) in pairs.items()
        if not _close(a, b, rtols.get(name, rtol), atol.get(name, 0.0))
    ]


def _uni_id(u: dict[str, Any]) -> str:
    return f"{u['dataset']}-{u['transform']}-{u['method']}-{u['ci_method']}"


@pytest.mark.parametrize("case", REF["escalc"], ids=lambda e: f"{e['dataset']}-{e['transform']}")
def test_escalc_values(case: dict[str, Any]) -> None:
    ds = DATASETS[case["dataset"]]
    x, n, _ = apply_correction(ds["events"], ds["n"], CORRECTION[case["transform"]], 0.5)
    yi, vi = get_transform(case["transform"]).yi_vi(x, n)
    np.testing.assert_allclose(yi, case["yi"], rtol=TOL["closed_form"], atol=1e-15)
    np.testing.assert_allclose(vi, case["vi"], rtol=TOL["closed_form"])


@pytest.mark.parametrize("case", REF["fe"], ids=lambda e: f"{e['dataset']}-{e['transform']}")
def test_common_effect(case: dict[str, Any]) -> None:
    ds = DATASETS[case["dataset"]]
    res = inometa.metaprop(ds["events"], ds["n"], transform=case["transform"])
    c = res.common
    bad = _mismatches(
        {
            "b": (c.estimate, case["b"]),
            "se": (c.se, case["se"]),
            "ci_lb": (c.ci_low, case["ci_lb"]),
            "ci_ub": (c.ci_high, case["ci_ub"]),
        },
        TOL["closed_form"],
        {"b": 1e-15},
    )
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("case", REF["uni"], ids=_uni_id)
def test_random_effects(case: dict[str, Any]) -> None:
    ds = DATASETS[case["dataset"]]
    k = len(ds["n"])
    at_boundary = case["tau2"] < BOUNDARY_ATOL
    # At the boundary, I² = 100 τ²/(ṽ + τ²) and H² = τ²/ṽ + 1 inherit metafor's leftover τ².
    vt = case["vt"]
    atol = (
        {"tau2": BOUNDARY_ATOL, "I2": 100 * BOUNDARY_ATOL / vt, "H2": BOUNDARY_ATOL / vt}
        if at_boundary
        else {}
    )
    atol["b"] = 1e-15  # a pooled logit or raw value can be 0 to machine precision
    rtol = metafor_rtol(case["tau2"])
    atol["ci_lb"] = atol["ci_ub"] = bound_atol(rtol, case["b"], case["ci_lb"], case["ci_ub"])
    rtols = {"pval": pvalue_rtol(rtol, case["zval"])}
    for pi_method in ("z", "t", "hts"):
        res = inometa.metaprop(
            ds["events"],
            ds["n"],
            transform=case["transform"],
            tau2_method=case["method"],
            ci_method=case["ci_method"],
            pi_method=pi_method,
        )
        d = res.to_dict()
        ms = d["model_scale"]
        pairs: dict[str, tuple[Any, Any]] = {
            "b": (ms["estimate"], case["b"]),
            "se": (ms["se"], case["se"]),
            "ci_lb": (ms["ci_low"], case["ci_lb"]),
            "ci_ub": (ms["ci_high"], case["ci_ub"]),
            "zval": (d["random"]["statistic"], case["zval"]),
            "pval": (d["random"]["pvalue"], case["pval"]),
            "tau2": (d["tau2"], case["tau2"]),
            "se_tau2": (d["tau2_se"], case["se_tau2"]),
            "QE": (d["q"], case["QE"]),
            "QEp": (d["q_pvalue"], case["QEp"]),
            "I2": (d["i2"] * 100, case["I2"]),
            "H2": (d["h2"], case["H2"]),
            "vt": (d["typical_variance"], case["vt"]),
        }
        ref_pi = case["pi"].get(pi_method)
        if ref_pi is None:  # HTS with k = 2: metafor uses df = 1, inometa leaves it undefined
            assert k <= 2
            assert ms["pi_low"] is None and ms["pi_high"] is None
            assert any("needs k ≥ 3" in note for note in res.notes)
        else:
            pairs["pi_lb"] = (ms["pi_low"], ref_pi[0])
            pairs["pi_ub"] = (ms["pi_high"], ref_pi[1])
            atol["pi_lb"] = atol["pi_ub"] = bound_atol(rtol, case["b"], *ref_pi)
        # metafor's default predict() uses the CI's quantile for the PI: z, or t(k-1) for HK.
        if pi_method == ("z" if case["ci_method"] == "z" else "t"):
            pairs.update(_proportion_pairs(case, d))
        bad = _mismatches(pairs, rtol, atol, rtols)
        assert not bad, f"pi_method={pi_method}\n" + "\n".join(bad)


def _clip01(v: float) -> float:
    return min(1.0, max(0.0, v))


def _proportion_pairs(case: dict[str, Any], d: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Proportion-scale values; metafor does not truncate raw/log values to [0, 1], inometa does."""
    p = case["prop"]
    return {
        "prop_pred": (d["estimate"], _clip01(p["pred"])),
        "prop_ci_lb": (d["ci_low"], _clip01(p["ci_lb"])),
        "prop_ci_ub": (d["ci_high"], _clip01(p["ci_ub"])),
        "prop_pi_lb": (d["pi_low"], _clip01(p["pi_lb"])),
        "prop_pi_ub": (d["pi_high"], _clip01(p["pi_ub"])),
    }


_CONFINT_CASES = [u for u in REF["uni"] if u["ci_method"] == "z" and u["confint"] is not None]


@pytest.mark.parametrize("case", _CONFINT_CASES, ids=_uni_id)
def test_q_profile_intervals(case: dict[str, Any]) -> None:
    ds = DATASETS[case["dataset"]]
    res = inometa.metaprop(
        ds["events"], ds["n"], transform=case["transform"], tau2_method=case["method"]
    )
    h = res.heterogeneity
    ref = case["confint"]
    tau2_max = 100.0  # metafor's default search limit for the Q-profile bounds
    pairs: dict[str, tuple[Any, Any]] = {
        "tau2_lb": (h.tau2_ci.low, ref["tau2"][0]),
        "I2_lb": (100 * h.i2_ci.low, ref["I2"][0]),
        "H2_lb": (h.h2_ci.low, ref["H2"][0]),
    }
    if ref["tau2"][1] < tau2_max:
        pairs.update(
            {
                "tau2_ub": (h.tau2_ci.high, ref["tau2"][1]),
                "I2_ub": (100 * h.i2_ci.high, ref["I2"][1]),
                "H2_ub": (h.h2_ci.high, ref["H2"][1]),
            }
        )
    else:
        # metafor stops at its search limit and reports "> 100"; inometa extends the search
        # and returns the root itself: check that it is beyond the limit and is a root.
        from scipy import stats

        from inometa.core.tau2 import generalized_q

        d = res.studies
        k = res.k
        assert h.tau2_ci.high > tau2_max
        target = stats.chi2.ppf(0.025, k - 1)
        q_at_bound = generalized_q(h.tau2_ci.high, d["yi"].to_numpy(), d["vi"].to_numpy())
        assert q_at_bound == pytest.approx(target, rel=1e-9)
    bad = _mismatches(
        pairs, metafor_rtol(case["tau2"]), {"tau2_lb": 1e-14, "I2_lb": 1e-12, "H2_lb": 0}
    )
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("case", REF["glmm"], ids=lambda g: f"{g['dataset']}-nAGQ{g['nagq']}")
def test_glmm(case: dict[str, Any]) -> None:
    ds = DATASETS[case["dataset"]]
    res = inometa.metaprop(ds["events"], ds["n"], method="glmm", nagq=case["nagq"])
    d = res.to_dict()
    ms = d["model_scale"]
    bad = _mismatches(
        {
            "b": (ms["estimate"], case["b"]),
            "se": (ms["se"], case["se"]),
            "tau2": (d["tau2"], case["tau2"]),
            "ci_lb": (ms["ci_low"], case["ci_lb"]),
            "ci_ub": (ms["ci_high"], case["ci_ub"]),
            "pi_lb": (ms["pi_low"], case["pi_lb"]),
            "pi_ub": (ms["pi_high"], case["pi_ub"]),
            "I2": (100 * d["i2"], case["I2"]),
            "H2": (d["h2"], case["H2"]),
        },
        TOL["glmm"],
        {},
    )
    # The heterogeneity tests do not depend on lme4's optimiser, but metafor fits the
    # saturated model of the Wald-type test with glm(), which stops at its own tolerance.
    bad += _mismatches(
        {
            "QE_Wld": (d["q"], case["QE_Wld"]),
            "QEp_Wld": (d["q_pvalue"], case["QEp_Wld"]),
        },
        TOL["glm"],
        {},
    )
    bad += _mismatches(
        {
            "QE_LRT": (d["q_lrt"], case["QE_LRT"]),
            "QEp_LRT": (d["q_lrt_pvalue"], case["QEp_LRT"]),
            "vt": (d["typical_variance"], case["vt"]),
        },
        TOL["metafor"],
        {},
    )
    assert not bad, "\n".join(bad)


BOUNDARY = json.loads(
    (Path(__file__).parent / "reference" / "metafor_reml_boundary_reference.json").read_text()
)


def test_reml_on_a_nearly_flat_likelihood() -> None:
    # metafor's Fisher scoring fails here with its default control and needs thousands of
    # iterations to reach threshold 1e-12; the Newton steps reach the same maximum.
    case = BOUNDARY
    assert "did not converge" in case["default_control"]
    res = inometa.metaprop(case["xi"], case["ni"], transform="raw", tau2_method="REML")
    h = res.heterogeneity
    assert h.tau2_converged and h.tau2_iterations < 20
    assert h.tau2 == pytest.approx(case["tau2"], rel=TOL["metafor"])
    assert res.random.estimate == pytest.approx(case["estimate"], rel=TOL["metafor"])
    assert res.random.se == pytest.approx(case["se"], rel=TOL["metafor"])


@pytest.mark.parametrize("case", BOUNDARY["ll0check"], ids=["k3", "k2"])
def test_ml_likelihood_check_at_zero(case: dict) -> None:
    # Fisher scoring converges to a local maximum below the likelihood at τ² = 0: metafor's
    # ll0check reports τ² = 0 (with a warning), and so must we (with a note).
    assert "local maximum" in case["warning"]
    fit = estimate_tau2(case["yi"], case["vi"], case["method"])
    assert fit.tau2 == case["tau2"] == 0
    assert fit.note is not None and "higher at τ² = 0" in fit.note
    assert fit.se == pytest.approx(case["se_tau2"], rel=TOL["metafor"])


def test_sj_on_equal_values_is_exactly_zero() -> None:
    # metafor's SJ starts from var(yi), exactly 0 here; a start of ~1e-34 from rounding
    # would give τ² ≈ 1e-66 and no note.
    case = BOUNDARY["sj_equal"]
    assert case["tau2"] == case["se_tau2"] == 0
    fit = estimate_tau2(case["yi"], case["vi"], "SJ")
    assert fit.tau2 == 0 and fit.se == 0
    assert fit.note == "all model-scale values are equal: τ² = 0"
