"""Typing a result in a REPL shows a few readable lines, never a dump of arrays, and the
model-scale and proportion-scale values are named so that one cannot be taken for the other."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import inometa

EVENTS = [4, 9, 17, 49, 12, 30]
TOTALS = [30, 49, 90, 72, 40, 61]


def _short(shown: str, name: str, max_lines: int) -> None:
    assert shown.startswith(f"<{name} ") and shown.endswith(">"), shown
    lines = shown.splitlines()
    assert len(lines) <= max_lines and all(len(line) <= 120 for line in lines), shown
    for dump in ("array(", "StudyData(", "MetaPropOptions(", "DataFrame", "_labels"):
        assert dump not in shown, shown


@pytest.fixture(scope="module")
def res() -> inometa.MetaPropResult:
    return inometa.metaprop(EVENTS, TOTALS, labels=list("ABCDEF"))


def test_subgroup_repr_lists_each_subgroup_and_the_test(res: inometa.MetaPropResult) -> None:
    sg = inometa.subgroup_analysis(EVENTS, TOTALS, ["x", "y", "x", "y", "x", "y"])
    shown = repr(sg)
    _short(shown, "SubgroupResult", 6)
    for name, sub in [*sg.subgroups.items(), ("overall", sg.overall)]:
        low, high = sub.random.proportion_ci
        assert f"{name}: {sub.estimate:.4f} [{low:.4f}, {high:.4f}], k={sub.k}" in shown
    assert str(sg.test) in shown and str(sg) == sg.summary()


def test_subgroup_repr_stays_short_with_many_subgroups() -> None:
    k = 24
    events, totals = [3 + i % 7 for i in range(k)], [40 + i for i in range(k)]
    sg = inometa.subgroup_analysis(events, totals, [f"g{i // 2:02d}" for i in range(k)])
    shown = repr(sg)
    _short(shown, "SubgroupResult", 11)
    assert "… 5 more subgroups" in shown and "overall:" in shown


def test_metareg_repr_names_the_scale_of_tau2_and_coefficients() -> None:
    mr = inometa.metareg(EVENTS, TOTALS, {"year": [2010, 2012, 2015, 2018, 2020, 2021]})
    shown = repr(mr)
    _short(shown, "MetaRegResult", 3)
    assert str(mr.qm_result) in shown and f"R² {100 * mr.r2:.1f}%" in shown
    assert f"τ² (logit scale) {mr.tau2:.4g}" in shown
    assert f"coefficients (logit scale): intercept {mr.estimate[0]:.4g}" in shown
    assert str(mr) == mr.summary()


def test_batch_repr_summarises_without_arrays() -> None:
    rng = np.random.default_rng(1)
    totals = rng.integers(20, 200, size=(500, 6)).astype(float)
    events = rng.binomial(totals.astype(int), 0.3).astype(float)
    out = inometa.metaprop_batch(events, totals, as_frame=False)
    assert isinstance(out, inometa.MetaPropBatchResult)
    shown = repr(out)
    _short(shown, "MetaPropBatchResult", 4)
    est = out["estimate"]
    assert "500 analyses of 6–6 studies, logit REML" in shown
    assert f"median {np.median(est):.4g}, range {est.min():.4g} to {est.max():.4g}" in shown
    assert str(out) in shown.replace("\n  ", "\n")


def test_bias_reprs(res: inometa.MetaPropResult) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", inometa.SmallKWarning)
        egger = inometa.egger_test(res)
        peters = inometa.peters_test(res)
        begg = inometa.begg_test(res)
        tf = inometa.trim_and_fill(res)
    _short(repr(egger), "RegTestResult", 2)
    assert f"z = {egger.statistic:.4g}, p = {egger.pvalue:.3g}" in repr(egger)
    assert f"limit estimate (proportion) {egger.limit_proportion:.4f}" in repr(egger)
    _short(repr(peters), "RegTestResult", 2)
    assert peters.df is not None and f"t = {peters.statistic:.4g} (df {peters.df:g})" in repr(
        peters
    )
    _short(repr(begg), "RankTestResult", 1)
    assert f"Kendall's τ = {begg.statistic:.4g}" in repr(begg)
    _short(repr(tf), "TrimFillResult", 2)
    assert f"k0 = {tf.k0}" in repr(tf) and f"imputed on the {tf.side}" in repr(tf)
    assert f"proportion {tf.result.estimate:.4f}" in repr(tf)


def test_audit_repr_counts_and_names_the_failed_checks() -> None:
    found = inometa.audit(89.0, (85.8, 92.2), (70.1, 97.9), i2=90.1, k=8, label="ORR")
    shown = repr(found)
    bad = [f for f in found.findings if f.status != "ok"]
    assert bad, "the example should fail a check"
    _short(shown, "AuditResult", 1 + len(bad))
    assert f"{len(found.findings)} checks" in shown
    assert all(f"{f.status}: {f.check}" in shown for f in bad)
    assert all(f.message in str(found) for f in found.findings)


def test_reconstruct_repr_counts_without_tables() -> None:
    cand = pd.DataFrame(
        {"label": list("ABCDE"), "events": [9, 17, 49, 12, 30], "total": [49, 90, 72, 40, 61]}
    )
    found = inometa.reconstruct(cand, {"estimate": 30.0, "ci_low": 20.0, "ci_high": 42.0})
    shown = repr(found)
    _short(shown, "ReconstructResult", 3)
    assert f"searched {found.n_searched} study sets × {found.n_methods} methods" in shown
    assert f"{len(found.matches)} matches" in shown and "target: estimate 30" in shown


def test_test_result_str_and_repr(res: inometa.MetaPropResult) -> None:
    q = res.heterogeneity.q_result
    assert str(q) == f"Q = {q.statistic:.4g} (df {q.df}), p = {q.pvalue:.3g}"
    assert repr(q) == f"<TestResult {q}>"
    undefined = inometa.subgroup_analysis([3, 4], [10, 12], ["a", "a"]).test
    assert not undefined.defined and "undefined" in str(undefined)


def test_nested_values_name_their_scale(res: inometa.MetaPropResult) -> None:
    r, pred = res.random, res.prediction
    # the new names are the old model-scale fields, and differ from the proportions
    assert (r.model_estimate, r.model_se, tuple(r.model_ci)) == (
        r.estimate,
        r.se,
        (r.ci_low, r.ci_high),
    )
    assert (pred.model_low, pred.model_high) == (pred.low, pred.high)
    assert tuple(pred.model_interval) == (pred.low, pred.high)
    assert tuple(pred.proportion_interval) == (pred.proportion_low, pred.proportion_high)
    assert r.model_estimate == pytest.approx(math.log(res.estimate / (1 - res.estimate)))
    assert res.estimate == r.proportion and not math.isclose(r.model_estimate, r.proportion)
    assert tuple(r.model_ci) == tuple(res.confidence_interval(scale="model"))
    assert tuple(pred.model_interval) == pytest.approx(res.prediction_interval(scale="model"))
    # the reprs say which number is on which scale
    low, high = r.proportion_ci
    assert f"proportion {r.proportion:.4f} [{low:.4f}, {high:.4f}];\n  model scale" in repr(r)
    assert f"model scale [{pred.low:.4f}, {pred.high:.4f}]" in repr(pred)
    # to_dict keeps its documented keys
    d = res.to_dict()
    assert d["model_scale"]["estimate"] == r.model_estimate and d["estimate"] == res.estimate
    assert d["model_scale"]["pi_low"] == pred.model_low and d["pi_low"] == pred.proportion_low


def test_study_data_repr_is_a_summary_not_arrays(res: inometa.MetaPropResult) -> None:
    shown = repr(res.data)
    _short(shown, "StudyData", 1)
    assert f"k={res.k}, {res.data.events_total} events of {res.data.n_total}" in shown
