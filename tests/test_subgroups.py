"""subgroup_analysis(): both tests, one-study and one-level subgroups, bad groups."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import inometa

X = [4, 23, 10, 1, 2, 0, 6, 9, 3, 5, 2, 7]
N = [72, 164, 110, 43, 26, 18, 36, 59, 33, 80, 45, 131]
SETTING = ["RR", "RR", "RR", "ND", "MRD", "PT", "RR", "RR", "ND", "ND", "RR", "ND"]


def test_one_level_equals_the_overall_fit() -> None:
    sg = inometa.subgroup_analysis(X, N, ["all"] * 12)
    one = sg.subgroups["all"]
    assert one.to_dict()["model_scale"] == sg.overall.to_dict()["model_scale"]
    assert math.isnan(sg.q_between) and any("single subgroup" in n for n in sg.notes)


def test_subgroups_equal_separate_analyses() -> None:
    sg = inometa.subgroup_analysis(X, N, SETTING, transform="ft", tau2_method="DL")
    keep = np.array(SETTING) == "RR"
    alone = inometa.metaprop(np.array(X)[keep], np.array(N)[keep], transform="ft", tau2_method="DL")
    assert sg.subgroups["RR"].to_dict()["model_scale"] == alone.to_dict()["model_scale"]


def test_one_study_subgroups_are_flagged() -> None:
    sg = inometa.subgroup_analysis(X, N, SETTING)
    assert sg.single_study == ("MRD", "PT")
    frame = sg.to_frame()
    assert frame.loc[frame["subgroup"] == "PT", "tau2"].isna().all()
    assert frame["single_study"].tolist() == [False, False, True, True, False]


def test_both_tests_are_always_reported() -> None:
    for tau2 in ("separate", "common"):
        sg = inometa.subgroup_analysis(X, N, SETTING, tau2=tau2)
        assert [t.name for t in sg.tests] == ["Q between (separate τ²)", "QM (common τ²)"]
        assert sg.test is sg.tests[0 if tau2 == "separate" else 1]
    g = inometa.subgroup_analysis(
        X[:5] + X[6:], N[:5] + N[6:], ["a", "b"] * 5 + ["a"], method="glmm", tau2="common"
    )
    assert g.test.name == "LRT (common τ²)" and math.isfinite(g.q_between)


def test_common_tau2_subgroups_share_tau2() -> None:
    sg = inometa.subgroup_analysis(X, N, SETTING, tau2="common")
    assert {r.tau2 for r in sg.subgroups.values()} == {sg.common_tau2}


def test_level_order_follows_data_or_categorical() -> None:
    assert list(inometa.subgroup_analysis(X, N, SETTING).subgroups) == ["RR", "ND", "MRD", "PT"]
    cat = pd.Categorical(SETTING, categories=["ND", "RR", "MRD", "PT"])
    assert list(inometa.subgroup_analysis(X, N, cat).subgroups) == ["ND", "RR", "MRD", "PT"]


def test_dataframe_columns() -> None:
    df = pd.DataFrame({"x": X, "n": N, "setting": SETTING})
    a = inometa.subgroup_analysis("x", "n", "setting", data=df)
    b = inometa.subgroup_analysis(X, N, SETTING)
    assert a.q_between == b.q_between


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (SETTING[:11], "groups has 11 entries but there are 12 studies"),
        ([*SETTING[:2], None, *SETTING[3:]], "subgroup label is missing for study 'Study 3'"),
    ],
)
def test_bad_groups(groups: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        inometa.subgroup_analysis(X, N, groups)


def test_unknown_tau2_option() -> None:
    with pytest.raises(ValueError, match="valid values are: common, separate"):
        inometa.subgroup_analysis(X, N, SETTING, tau2="pooled")


def test_summary_text() -> None:
    text = inometa.subgroup_analysis(X, N, SETTING).summary()
    assert "Q between (separate τ²)" in text and "<- reported" in text
