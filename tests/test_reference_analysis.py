"""The analysis layer against metafor 3.8-1: meta-regression (incl. GLMM and permutation
tests), subgroups, leave-one-out, influence, Baujat, cumulative, GOSH, Egger, Peters, Begg,
trim-and-fill.

Reference values: tests/reference/metafor_analysis_reference.json, written by the committed
tests/reference/metafor_analysis_reference.R. Tolerances are named in conftest.TOL.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import inometa

from .conftest import TOL

REF = json.loads(
    (Path(__file__).parent / "reference" / "metafor_analysis_reference.json").read_text()
)
VOD = REF["datasets"]["vod"]
CR = REF["datasets"]["cr"]
# metafor reaches τ² = 0 by step halving and stops within its threshold (e.g. 1e-13);
# there τ² is compared with this absolute tolerance and I², H², R² accordingly.
BOUNDARY_ATOL = 1e-10


def _check(pairs: dict[str, tuple[Any, Any]], rtol: float, atol: dict[str, float]) -> None:
    bad = []
    for name, (ours, ref) in pairs.items():
        o = np.atleast_1d(np.asarray(ours, dtype=float))
        r = np.atleast_1d(
            np.asarray([np.nan if v is None else v for v in np.atleast_1d(ref)], dtype=float)
        )
        if o.shape != r.shape or not np.allclose(
            o, r, rtol=rtol, atol=atol.get(name, 0.0), equal_nan=True
        ):
            bad.append(f"{name}: inometa {o.tolist()} vs metafor {r.tolist()}")
    assert not bad, "\n".join(bad)


def _quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", inometa.SmallKWarning)
        return fn(*args, **kwargs)


def _mods(spec: str) -> dict[str, list[Any]]:
    return {name: VOD[name] for name in spec.split("+")}


@pytest.mark.parametrize(
    "case",
    REF["metareg"],
    ids=lambda c: f"{c['transform']}-{c['method']}-{c['ci_method']}-{c['mods']}",
)
def test_metareg(case: dict[str, Any]) -> None:
    res = inometa.metareg(
        VOD["events"],
        VOD["n"],
        _mods(case["mods"]),
        transform=case["transform"],
        tau2_method=case["method"],
        ci_method=case["ci_method"],
    )
    atol = {"b": 1e-14}
    if case["tau2"] < BOUNDARY_ATOL:
        atol.update(tau2=BOUNDARY_ATOL, I2=1e-6, H2=1e-8, R2=1e-6)
    _check(
        {
            "b": (res.estimate, case["b"]),
            "se": (res.se, case["se"]),
            "zval": (res.statistic, case["zval"]),
            "pval": (res.pvalue, case["pval"]),
            "ci_lb": (res.ci_low, case["ci_lb"]),
            "ci_ub": (res.ci_high, case["ci_ub"]),
            "QM": (res.qm, case["QM"]),
            "QMp": (res.qm_pvalue, case["QMp"]),
            "QE": (res.qe, case["QE"]),
            "QEp": (res.qe_pvalue, case["QEp"]),
            "tau2": (res.tau2, case["tau2"]),
            "I2": (100 * res.i2, case["I2"]),
            "H2": (res.h2, case["H2"]),
            "R2": (100 * res.r2, case["R2"]),
        },
        TOL["metareg"],
        atol,
    )


def test_permutation_test_exact() -> None:
    case = REF["permutation"]
    res = inometa.metareg(CR["events"], CR["n"], {"year": CR["year"]}, permutations=1000)
    perm = res.permutation
    assert perm is not None and perm.exact and perm.n_permutations == case["iterations"]
    # Counts of reorderings over the same 360: equal, not merely close.
    assert list(perm.pvalues) == case["pval"] and perm.qm_pvalue == case["QMp"]


@pytest.mark.parametrize("case", REF["glmm_reg"], ids=lambda c: f"nAGQ{c['nagq']}-{c['mods']}")
def test_glmm_metareg(case: dict[str, Any]) -> None:
    res = inometa.metareg(
        VOD["events"], VOD["n"], _mods(case["mods"]), method="glmm", nagq=case["nagq"]
    )
    _check(
        {
            "b": (res.estimate, case["b"]),
            "se": (res.se, case["se"]),
            "ci_lb": (res.ci_low, case["ci_lb"]),
            "ci_ub": (res.ci_high, case["ci_ub"]),
            "tau2": (res.tau2, case["tau2"]),
            "QM": (res.qm, case["QM"]),
            "QMp": (res.qm_pvalue, case["QMp"]),
            "I2": (100 * res.i2, case["I2"]),
            "LRT": (res.qm_lrt, case["LRT"]),
        },
        TOL["glmm"],
        {},
    )
    # The residual test does not involve the random-effects optimum, but metafor fits its
    # saturated model with glm(), which stops at its own tolerance.
    _check({"QE_Wld": (res.qe, case["QE_Wld"])}, TOL["glm"], {})
    lrt = next(n for n in res.notes if n.startswith("likelihood-ratio test of residual"))
    assert f"Q = {case['QE_LRT']:.4g}" in lrt


@pytest.mark.parametrize(
    "case",
    REF["subgroups"],
    ids=lambda c: f"{c['transform']}-{c['groups']}-{c['method']}",
)
def test_subgroups(case: dict[str, Any]) -> None:
    kw = {"transform": case["transform"], "tau2_method": case["method"]}
    sep = inometa.subgroup_analysis(VOD["events"], VOD["n"], VOD[case["groups"]], **kw)
    com = inometa.subgroup_analysis(
        VOD["events"], VOD["n"], VOD[case["groups"]], tau2="common", **kw
    )
    assert list(sep.subgroups) == case["levels"] == list(com.subgroups)
    sep_tau2 = [r.tau2 for r in sep.subgroups.values()]
    _check(
        {
            "separate_b": ([r.random.estimate for r in sep.subgroups.values()], case["separate_b"]),
            "separate_se": ([r.random.se for r in sep.subgroups.values()], case["separate_se"]),
            "separate_tau2": (sep_tau2, case["separate_tau2"]),
            "Q_between": (sep.q_between, case["Q_between"]),
            "Q_between_p": (sep.q_between_pvalue, case["Q_between_p"]),
            "QM": (com.q_between, case["QM"]),
            "QMp": (com.q_between_pvalue, case["QMp"]),
            "common_tau2": (com.common_tau2, case["common_tau2"]),
            "common_b": ([r.random.estimate for r in com.subgroups.values()], case["common_b"]),
            "common_se": ([r.random.se for r in com.subgroups.values()], case["common_se"]),
        },
        TOL["metafor"],
        {"separate_tau2": BOUNDARY_ATOL, "common_tau2": BOUNDARY_ATOL},
    )
    # both tests are always reported
    assert [t.name for t in sep.tests] == [t.name for t in com.tests]


SENS_IDS = [f"{c['transform']}-{c['method']}-{c['ci_method']}" for c in REF["sensitivity"]]


def _fit(case: dict[str, Any]) -> inometa.MetaPropResult:
    return inometa.metaprop(
        VOD["events"],
        VOD["n"],
        transform=case["transform"],
        tau2_method=case["method"],
        ci_method=case["ci_method"],
    )


@pytest.mark.parametrize("case", REF["sensitivity"], ids=SENS_IDS)
def test_leave_one_out(case: dict[str, Any]) -> None:
    loo = inometa.leave_one_out(_fit(case))
    ref = case["loo"]
    _check(
        {
            "estimate": (loo["model_estimate"], ref["estimate"]),
            "se": (loo["model_se"], ref["se"]),
            "ci_lb": (loo["model_ci_low"], ref["ci_lb"]),
            "ci_ub": (loo["model_ci_high"], ref["ci_ub"]),
            "tau2": (loo["tau2"], ref["tau2"]),
            "I2": (100 * loo["i2"], ref["I2"]),
            "H2": (loo["h2"], ref["H2"]),
            "Q": (loo["q"], ref["Q"]),
            "Qp": (loo["q_pvalue"], ref["Qp"]),
        },
        TOL["metafor"],
        {"tau2": BOUNDARY_ATOL, "I2": 1e-6, "H2": 1e-8},
    )


@pytest.mark.parametrize("case", REF["sensitivity"], ids=SENS_IDS)
def test_influence(case: dict[str, Any]) -> None:
    inf = inometa.influence(_fit(case))
    ref = case["influence"]
    _check(
        {
            name: (inf[col], ref[name])
            for name, col in [
                ("rstudent", "rstudent"),
                ("dffits", "dffits"),
                ("cook_d", "cook_d"),
                ("cov_r", "cov_r"),
                ("tau2_del", "tau2_del"),
                ("QE_del", "q_del"),
                ("hat", "hat"),
                ("weight", "weight"),
                ("dfbetas", "dfbetas"),
            ]
        },
        TOL["metafor"],
        {"tau2_del": BOUNDARY_ATOL},
    )
    assert inf["influential"].astype(int).tolist() == [int(v) for v in ref["influential"]]


@pytest.mark.parametrize("case", REF["sensitivity"], ids=SENS_IDS)
def test_baujat(case: dict[str, Any]) -> None:
    b = inometa.baujat(_fit(case))
    _check(
        {"x": (b["x"], case["baujat"]["x"]), "y": (b["y"], case["baujat"]["y"])}, TOL["metafor"], {}
    )


@pytest.mark.parametrize("case", REF["sensitivity"], ids=SENS_IDS)
def test_cumulative(case: dict[str, Any]) -> None:
    cu = inometa.cumulative(_fit(case), order=VOD["year"])
    ref = case["cumul"]
    first = 0
    if case["ci_method"] == "hk":
        # With one study a t-based interval has 0 df: metafor silently switches to z,
        # inometa reports it as undefined (NaN, with a note on the result).
        assert math.isnan(cu["model_se"].iloc[0]) and math.isnan(cu["model_ci_low"].iloc[0])
        first = 1
    _check(
        {
            "estimate": (cu["model_estimate"], ref["estimate"]),
            "se": (cu["model_se"][first:], ref["se"][first:]),
            "ci_lb": (cu["model_ci_low"][first:], ref["ci_lb"][first:]),
            "ci_ub": (cu["model_ci_high"][first:], ref["ci_ub"][first:]),
            "tau2": (cu["tau2"], ref["tau2"]),
            "I2": (100 * cu["i2"], ref["I2"]),
        },
        TOL["metafor"],
        {"tau2": BOUNDARY_ATOL, "I2": 1e-6},
    )


@pytest.mark.parametrize("case", REF["gosh"], ids=lambda c: c["method"])
def test_gosh_all_subsets(case: dict[str, Any]) -> None:
    res = inometa.metaprop(CR["events"], CR["n"], transform="logit", tau2_method=case["method"])
    g = inometa.gosh(res)
    assert g.attrs["exact"] and len(g) == len(case["k"]) == 63
    labels = list(res.data.labels)
    ours = {tuple(row): i for i, row in enumerate(g[labels].to_numpy().astype(int).tolist())}
    order = [ours[tuple(int(v) for v in inc)] for inc in case["incl"]]
    sub = g.iloc[order]
    h2 = np.asarray(sub["h2"])
    h2_ref = np.asarray(case["H2"], dtype=float)
    if case["method"] == "DL":
        # metafor's fast DL path of gosh() reports H² = Q/(k − 1), below 1 where τ² is
        # truncated at 0; rma.uni (and inometa) report H² = τ²/ṽ + 1 = 1 there.
        positive = np.asarray(case["tau2"]) > 0
        assert (h2[~positive] == 1.0).all()
        h2, h2_ref = h2[positive], h2_ref[positive]
    _check(
        {
            "k": (sub["k"], case["k"]),
            "QE": (sub["q"], case["QE"]),
            "tau2": (sub["tau2"], case["tau2"]),
            "I2": (100 * sub["i2"], case["I2"]),
            "H2": (h2, h2_ref),
            "estimate": (sub["estimate"], case["estimate"]),
        },
        TOL["metafor"],
        {"tau2": BOUNDARY_ATOL, "I2": 1e-6, "H2": 1e-8, "QE": 1e-12},
    )


BIAS_IDS = [f"{c['transform']}-{c['method']}-{c['ci_method']}" for c in REF["bias"]]


@pytest.mark.parametrize("case", REF["bias"], ids=BIAS_IDS)
def test_egger_peters_begg(case: dict[str, Any]) -> None:
    res = _fit(case)
    eg = _quiet(inometa.egger_test, res)
    eg_lm = _quiet(inometa.egger_test, res, model="lm")
    pe = _quiet(inometa.peters_test, res)
    bt = _quiet(inometa.begg_test, res)
    e, el, p, rk = case["egger"], case["egger_lm"], case["peters"], case["ranktest"]
    _check(
        {
            "egger_z": (eg.statistic, e["zval"]),
            "egger_p": (eg.pvalue, e["pval"]),
            "egger_est": (eg.limit_estimate, e["est"]),
            "egger_ci": ([eg.limit_ci.low, eg.limit_ci.high], [e["ci_lb"], e["ci_ub"]]),
            "lm_t": (eg_lm.statistic, el["zval"]),
            "lm_p": (eg_lm.pvalue, el["pval"]),
            "lm_df": (eg_lm.df, el["df"]),
            "lm_est": (eg_lm.limit_estimate, el["est"]),
            "lm_ci": ([eg_lm.limit_ci.low, eg_lm.limit_ci.high], [el["ci_lb"], el["ci_ub"]]),
            "peters_t": (pe.statistic, p["zval"]),
            "peters_p": (pe.pvalue, p["pval"]),
            "peters_est": (pe.limit_estimate, p["est"]),
            "begg_tau": (bt.statistic, rk["tau"]),
            "begg_p": (bt.pvalue, rk["pval"]),
        },
        TOL["metafor"],
        {},
    )
    assert bt.exact


def test_begg_with_ties_uses_the_normal_approximation() -> None:
    d = REF["datasets"]["ties"]
    bt = _quiet(inometa.begg_test, inometa.metaprop(d["events"], d["n"]))
    assert not bt.exact
    _check(
        {
            "tau": (bt.statistic, REF["ranktest_ties"]["tau"]),
            "p": (bt.pvalue, REF["ranktest_ties"]["pval"]),
        },
        TOL["metafor"],
        {},
    )


@pytest.mark.parametrize("case", REF["bias"], ids=BIAS_IDS)
@pytest.mark.parametrize(
    ("key", "kwargs"),
    [("trimfill", {}), ("trimfill_r0", {"estimator": "R0"}), ("trimfill_left", {"side": "left"})],
)
def test_trim_and_fill(case: dict[str, Any], key: str, kwargs: dict[str, str]) -> None:
    res = _fit(case)
    tf = _quiet(inometa.trim_and_fill, res, **kwargs)
    ref = case[key]
    assert (tf.k0, tf.side) == (ref["k0"], ref["side"])
    filled = tf.result
    pairs: dict[str, tuple[Any, Any]] = {
        "se_k0": (tf.se_k0, ref["se_k0"]),
        "b": (filled.random.estimate, ref["b"]),
        "tau2": (filled.tau2, ref["tau2"]),
        "filled_yi": (list(tf.filled["yi"]), ref["filled_yi"]),
        # metafor's filled analysis always uses z; inometa keeps the analysis' own CI method,
        # whose Wald SE is the comparable quantity. With k0 = 0 both return the original fit.
        "se": (filled.random.se_wald if tf.k0 else filled.random.se, ref["se"]),
    }
    if ref["p_k0"] is not None:
        pairs["p_k0"] = (tf.p_k0, ref["p_k0"])
    _check(pairs, TOL["metafor"], {"tau2": BOUNDARY_ATOL})
    if tf.k0:
        assert filled.k == res.k + tf.k0
        assert filled.data.imputed.sum() == tf.k0
        assert math.isnan(filled.studies["events"].iloc[-1])
