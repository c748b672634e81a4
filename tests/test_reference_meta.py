"""``profile="meta"`` against R meta's own ``metaprop()`` (tests/reference/meta_reference.R).

Every fit in ``meta_reference.json`` records the ``metaprop()`` arguments that produced it and
how meta resolved them; :func:`meta_options` maps those to inometa's options (the mapping
documented in :mod:`inometa.core.profiles`) and each field meta reported is compared.
Inverse-variance fits agree to ``TOL["metafor_small_tau2"]`` (1e-6: metafor's Fisher scoring
under meta stops at an absolute step of 1e-12 in τ²); GLMM fits run with meta's own lme4
settings and are compared at ``TOL["glmm"]``, meta's own optimiser tolerance.

Where ``profile="meta"`` differs from meta by design, the field is left out of the main
comparison only for the difference named in :data:`inometa.core.profiles.META_DIFFERENCES`,
and a ``test_difference_*`` test shows what the difference is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import inometa
import inometa.data
from inometa import MetaPropResult
from inometa.core.profiles import META_DIFFERENCES, PROFILES, resolve_profile

from .conftest import TOL

REF = json.loads((Path(__file__).parent / "reference" / "meta_reference.json").read_text())
FITS: list[dict[str, Any]] = REF["fits"]
SUBGROUPS: list[dict[str, Any]] = REF["subgroups"]

SM = {"PRAW": "raw", "PLN": "log", "PLOGIT": "logit", "PAS": "arcsine", "PFT": "ft"}
METHOD_CI = {
    "CP": "clopper-pearson",
    "WS": "wilson",
    "WSCC": "wilson-cc",
    "AC": "agresti-coull",
    "SA": "wald",
}
#: meta's method.predict → inometa's pi_method (meta's "HK": t(k−1) around the
#: Hartung–Knapp SE, inometa's "t" with pi_se="ci" after a Hartung–Knapp CI).
METHOD_PREDICT = {"V": "t", "S": "z", "HTS": "hts", "HK": "t"}

#: metafor's confint(), which meta calls without a control list, stops uniroot at its
#: default tolerance .Machine$double.eps^0.25 (absolute, in τ²): meta's Q-profile bounds
#: are that far from the roots at most (observed ≤ 2.9e-5).
META_QPROFILE_ATOL = 2.0**-13


def meta_options(fit: dict[str, Any]) -> dict[str, Any]:
    """inometa options for the metaprop() call recorded in ``fit`` (as meta resolved it).

    metaprop()'s defaults are compared with the profile's own defaults: nothing but the
    GLMM's integration (a named difference) is given explicitly for them.
    """
    glmm = fit["method"] == "GLMM"
    if fit["group"] == "defaults":
        return {"profile": "meta", "nagq": 7}
    rci = fit["method_random_ci"]
    opts: dict[str, Any] = {
        "profile": "meta",
        "transform": SM[fit["sm"]],
        "method": "glmm" if glmm else "inverse",
        "study_ci_method": METHOD_CI[fit["method_ci"]],
        "pi_method": METHOD_PREDICT.get(fit["method_predict"], "t"),
        "pi_se": "ci" if fit["method_predict"] == "HK" else "wald",
    }
    # meta corrects only where the transform is undefined: never on PAS or PFT (where an
    # increment given with correction="none" is refused, as it would do nothing).
    if fit["sm"] in ("PAS", "PFT"):
        opts["correction"] = "none"
    else:
        opts["correction"], opts["increment"] = fit["method_incr"], fit["incr"]
    if glmm:
        opts["nagq"] = 7
        opts["ci_method"] = "t" if rci == "HK" else "z"
    else:
        opts["tau2_method"] = fit["method_tau"]
        opts["ci_method"] = "hk" if rci == "HK" else "z"
    return opts


def run_fit(fit: dict[str, Any]) -> MetaPropResult:
    data = REF["datasets"][fit["dataset"]]
    return inometa.metaprop(data["events"], data["n"], **meta_options(fit))


def _ours(res: MetaPropResult) -> dict[str, Any]:
    het, pred = res.heterogeneity, res.prediction
    return {
        "TE": res.data.yi,
        "seTE": np.sqrt(res.data.vi),
        "TE_common": res.common.estimate,
        "seTE_common": res.common.se,
        "lower_common": res.common.ci_low,
        "upper_common": res.common.ci_high,
        "TE_random": res.random.estimate,
        "seTE_random": res.random.se,
        "lower_random": res.random.ci_low,
        "upper_random": res.random.ci_high,
        "tau2": het.tau2,
        "lower_tau2": het.tau2_ci.low,
        "upper_tau2": het.tau2_ci.high,
        "Q": het.q,
        "df_Q": het.q_df,
        "pval_Q": het.q_pvalue,
        "Q_LRT": het.q_lrt,
        "I2": het.i2,
        "lower_I2": het.i2_ci.low,
        "upper_I2": het.i2_ci.high,
        "H": math.sqrt(het.h2),
        "lower_H": math.sqrt(het.h2_ci.low) if het.h2_ci.low >= 0 else math.nan,
        "upper_H": math.sqrt(het.h2_ci.high) if het.h2_ci.high >= 0 else math.nan,
        "lower_predict": pred.low,
        "upper_predict": pred.high,
        "df_predict": pred.df,
        "prop_random": res.random.proportion,
        "prop_lower_random": res.random.proportion_ci.low,
        "prop_upper_random": res.random.proportion_ci.high,
        "prop_lower_predict": pred.proportion_low,
        "prop_upper_predict": pred.proportion_high,
        "study_lower": res.data.ci_low,
        "study_upper": res.data.ci_high,
    }


def _excluded(fit: dict[str, Any]) -> dict[str, str]:
    """Fields of ``fit`` left out of the main comparison → the named difference why."""
    out: dict[str, str] = {}
    if fit["method_tau_ci"] == "J":
        out |= dict.fromkeys(("lower_tau2", "upper_tau2"), "tau2_ci_dl")
    if fit["method_predict"] == "HK" and fit["method_random_ci"] != "HK":
        pi = ("lower_predict", "upper_predict", "prop_lower_predict", "prop_upper_predict")
        out |= dict.fromkeys(pi, "hk_pi_with_z_ci")
    if fit["method_ci"] == "WSCC":
        data = REF["datasets"][fit["dataset"]]
        for i, (x, n) in enumerate(zip(data["events"], data["n"], strict=True)):
            if x == 0:
                out[f"study_lower[{i}]"] = "wilson_cc_at_0_or_n"
            if x == n:
                out[f"study_upper[{i}]"] = "wilson_cc_at_0_or_n"
    assert set(out.values()) <= set(META_DIFFERENCES)
    return out


# Fields meta leaves empty for the model it fitted (no test against a null effect in
# metaprop 8; no τ² interval for a GLMM or k = 2) are skipped; nothing else is.
def _pairs(ref: dict[str, Any], ours: dict[str, Any]) -> Iterable[tuple[str, Any, Any]]:
    for key, value in ref.items():
        if value is None or key not in ours:
            continue
        if isinstance(value, list):
            for i, v in enumerate(value):
                yield f"{key}[{i}]", v, np.asarray(ours[key], dtype=float)[i]
        else:
            yield key, value, ours[key]


def _close(mine: Any, theirs: Any, rtol: float, atol: float) -> bool:
    if mine is None or theirs is None:
        return mine is theirs
    a, b = float(mine), float(theirs)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)


def compare_fit(fit: dict[str, Any], rtol: float) -> list[str]:
    """Every field of ``fit`` that inometa does not reproduce within ``rtol``."""
    res = run_fit(fit)
    ours = _ours(res)
    excluded = _excluded(fit)
    # Bounds near 0 (an I² of 0, a τ² of 0, a model-scale bound that crosses 0): agreement
    # is relative to the size of the terms that cancel (see conftest.bound_atol).
    scale = max(1.0, abs(res.random.estimate) + abs(res.random.ci_high - res.random.ci_low))
    problems = []
    for key, theirs, mine in _pairs(fit["result"], ours):
        if key in excluded:
            continue
        atol = rtol * scale
        if key in ("lower_tau2", "upper_tau2"):
            atol = max(atol, META_QPROFILE_ATOL)
        if not _close(mine, theirs, rtol, atol):
            problems.append(f"{key}: inometa {mine!r} vs meta {theirs!r}")
    return problems


def _id(fit: dict[str, Any]) -> str:
    args = fit["args"] or {}
    tail = ",".join(f"{k}={v}" for k, v in args.items()) if args else "defaults"
    return f"{fit['dataset']}:{tail}"


@pytest.mark.parametrize("fit", FITS, ids=[_id(f) for f in FITS])
def test_metaprop_matches_r_meta(fit: dict[str, Any]) -> None:
    rtol = TOL["glmm"] if fit["method"] == "GLMM" else TOL["metafor_small_tau2"]
    problems = compare_fit(fit, rtol)
    assert not problems, "\n".join(problems)


def test_reference_was_written_by_r_meta() -> None:
    assert REF["generated_by"] == "tests/reference/meta_reference.R"
    assert REF["meta_version"] == "8.0.2"
    assert len(FITS) > 300 and all(f["result"]["TE_random"] is not None for f in FITS)


def test_every_option_of_the_meta_profile_is_covered() -> None:
    """Each option of PROFILES["meta"] is compared with meta at the profile's default and at
    the values meta offers for it; the GLMM's integration is a named difference."""
    covered: dict[str, set[Any]] = {}
    for fit in FITS:
        options = run_fit(fit).options
        for key, value in vars(options).items():
            covered.setdefault(key, set()).add(value)
    _, defaults = resolve_profile("meta", {})
    missing = {
        key: defaults[key]
        for key in PROFILES["meta"]
        if key not in ("nagq", "glmm_tau2_method") and defaults[key] not in covered[key]
    }
    assert not missing, missing
    assert "glmm_integration" in META_DIFFERENCES and defaults["nagq"] == "exact"
    assert covered["nagq"] == {7, None}
    wanted: dict[str, set[Any]] = {
        "transform": {"raw", "log", "logit", "arcsine", "ft"},
        "method": {"inverse", "glmm"},
        "tau2_method": {"DL", "REML", "PM", "ML"},
        "ci_method": {"z", "hk", "t"},
        "pi_method": {"z", "t", "hts"},
        "pi_se": {"ci", "wald"},
        "study_ci_method": {"clopper-pearson", "wilson", "wilson-cc", "agresti-coull", "wald"},
        "correction": {"only0", "if0all", "all", "none"},
        "increment": {0.5, 0.1},
    }
    for key, values in wanted.items():
        assert values <= covered[key], (key, values - covered[key])


@pytest.mark.parametrize(
    "fit",
    SUBGROUPS,
    ids=lambda f: f"{f['dataset']}:{f['sm']}:{f['method_tau']}:common={f['tau_common']}",
)
def test_subgroups_match_r_meta(fit: dict[str, Any]) -> None:
    data = REF["datasets"][fit["dataset"]]
    sg = inometa.subgroup_analysis(
        data["events"],
        data["n"],
        REF["groups"][fit["dataset"]],
        tau2="common" if fit["tau_common"] else "separate",
        profile="meta",
        method="inverse",
        transform=SM[fit["sm"]],
        tau2_method=fit["method_tau"],
    )
    levels = fit["levels"]
    assert list(sg.subgroups) == levels
    rtol = TOL["metafor_small_tau2"]

    def each(f: Any) -> list[float]:
        return [f(sg.subgroups[level]) for level in levels]

    def ref(key: str) -> list[float]:
        return [math.nan if v is None else v for v in fit[key]]

    for key, mine in (
        ("TE_random_w", each(lambda r: r.random.estimate)),
        ("seTE_random_w", each(lambda r: r.random.se)),
        ("lower_random_w", each(lambda r: r.random.ci_low)),
        ("upper_random_w", each(lambda r: r.random.ci_high)),
        ("tau2_w", each(lambda r: r.heterogeneity.tau2)),
        ("Q_w", each(lambda r: r.heterogeneity.q)),
        ("I2_w", each(lambda r: r.heterogeneity.i2)),
    ):
        np.testing.assert_allclose(mine, ref(key), rtol=rtol, atol=rtol, err_msg=key)
    assert sg.test.df == fit["df_Q_b_random"]
    assert sg.test.statistic == pytest.approx(fit["Q_b_random"], rel=rtol, abs=rtol)
    assert sg.test.pvalue == pytest.approx(fit["pval_Q_b_random"], rel=rtol, abs=rtol)
    if fit["tau_common"]:
        assert sg.common_tau2 == pytest.approx(fit["tau2_resid"], rel=rtol, abs=1e-12)


def test_lao2025_counts_are_the_extracted_analysis_sets() -> None:
    for outcome in ("orr", "cr", "cr_cri", "mrd_neg", "sct", "relapse", "vod"):
        rows = inometa.data.analysis_set("lao2025", outcome)
        ref = REF["datasets"][outcome]
        assert rows["events"].astype(int).tolist() == ref["events"], outcome
        assert rows["total"].astype(int).tolist() == ref["n"], outcome


def test_lao2025_vod_under_r_meta_correction_is_the_published_point_estimate() -> None:
    # Lao 2025, abstract (Results): VOD 6.2% (95% CI 3.8–8.6). Pooled as meta pools it with
    # the paper's stated method (raw proportions, DerSimonian–Laird), the point estimate is
    # 6.20% (CI 3.0–9.4): meta's rule leaves the 0/18 study at 0% and corrects only its
    # variance. metafor's rule (0.5/19) gives 6.48%. The published CI is not reproduced.
    (fit,) = [f for f in FITS if f["group"] == "lao2025_published" and f["dataset"] == "vod"]
    res = run_fit(fit)
    assert res.random.proportion == pytest.approx(fit["result"]["prop_random"], rel=1e-9)
    published = inometa.data.load_published()
    row = published[published["outcome"] == "vod"].iloc[0]
    assert round(100 * res.random.proportion, 1) == row["estimate"] == 6.2
    low, high = res.random.proportion_ci
    assert (round(100 * low, 1), round(100 * high, 1)) == (3.0, 9.4)
    metafor_rule = run_fit_with(fit, correction_style="metafor")
    assert round(100 * metafor_rule.random.proportion, 2) == 6.48


def run_fit_with(fit: dict[str, Any], **changes: Any) -> MetaPropResult:
    data = REF["datasets"][fit["dataset"]]
    return inometa.metaprop(data["events"], data["n"], **(meta_options(fit) | changes))


def _fits(**where: Any) -> list[dict[str, Any]]:
    return [f for f in FITS if all(f[k] == v for k, v in where.items())]


def test_difference_tau2_ci_dl() -> None:
    # meta: Jackson's generalised-Q interval for DL; inometa: Q-profile, which is meta's
    # interval for the other estimators (the same data, REML: compared in the main test).
    dl = _fits(group="inverse", dataset="mixed", sm="PLOGIT", method_tau="DL")[0]
    reml = _fits(group="inverse", dataset="mixed", sm="PLOGIT", method_tau="REML")[0]
    assert (dl["method_tau_ci"], reml["method_tau_ci"]) == ("J", "QP")
    res = run_fit(dl)
    assert res.heterogeneity.tau2_ci.low == pytest.approx(
        reml["result"]["lower_tau2"], abs=META_QPROFILE_ATOL
    )
    assert res.heterogeneity.tau2_ci.high != pytest.approx(dl["result"]["upper_tau2"], rel=0.1)


def test_difference_wilson_cc_at_0_or_n() -> None:
    fit = _fits(group="study_ci", dataset="mixed", method_ci="WSCC")[0]
    res = run_fit(fit)
    x = REF["datasets"]["mixed"]["events"]
    n = REF["datasets"]["mixed"]["n"]
    zero, full = x.index(0), next(i for i, (a, b) in enumerate(zip(x, n, strict=True)) if a == b)
    assert fit["result"]["study_lower"][zero] > 0 and res.data.ci_low[zero] == 0
    assert fit["result"]["study_upper"][full] < 1 and res.data.ci_high[full] == 1


def test_difference_hk_pi_with_z_ci() -> None:
    # meta's "HK" prediction interval around a classic CI is inometa's pi_se="ci" PI of
    # the Hartung–Knapp fit, centred on the same estimate.
    apart = []
    for fit in _fits(group="predict", method_predict="HK", method_random_ci="classic"):
        hk = run_fit_with(fit, ci_method="hk")
        ref = fit["result"]
        rtol = TOL["metafor_small_tau2"]
        assert hk.prediction.low == pytest.approx(ref["lower_predict"], rel=rtol, abs=rtol)
        assert hk.prediction.high == pytest.approx(ref["upper_predict"], rel=rtol, abs=rtol)
        z_ci = run_fit(fit).prediction.low
        apart.append(abs(z_ci - ref["lower_predict"]) > 1e-3 * abs(ref["lower_predict"]))
    assert len(apart) >= 5 and sum(apart) >= 3


def test_difference_glmm_integration() -> None:
    # The profile's default integrates exactly; meta's numbers are lme4's nAGQ = 7.
    fit = _fits(group="defaults", dataset="mixed")[0]
    exact = run_fit_with(fit, nagq="exact")
    assert exact.options.nagq == "exact" == PROFILES["meta"]["nagq"]
    assert exact.heterogeneity.tau2 != pytest.approx(fit["result"]["tau2"], rel=TOL["glmm"])


def test_pi_se_matters_only_after_hartung_knapp() -> None:
    fit = _fits(
        group="inverse", dataset="mixed", sm="PLOGIT", method_tau="REML", method_random_ci="HK"
    )[0]
    meta_pi = run_fit(fit).prediction
    metafor_pi = run_fit_with(fit, pi_se="ci").prediction
    assert meta_pi.low == pytest.approx(fit["result"]["lower_predict"], rel=1e-9)
    assert metafor_pi.low != pytest.approx(meta_pi.low, rel=1e-3)
    z = _fits(
        group="inverse", dataset="mixed", sm="PLOGIT", method_tau="REML", method_random_ci="classic"
    )[0]
    assert run_fit_with(z, pi_se="ci").prediction == run_fit(z).prediction
