"""Subgroup forests: blocks as data (headers, studies, diamonds, PIs, heterogeneity, the
named test for subgroup differences) and drawn (clean text, diamonds where the result says)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import inometa
from inometa import SubgroupTest
from inometa.plots.blocks import heterogeneity_text
from inometa.plots.forest import forest_content, forest_layout
from inometa.plots.style import get_preset
from inometa.plots.subgroup import subgroup_members, subgroup_test_text
from tests.plots_support import (
    CR_LABELS,
    S16_LABELS,
    S16_SETTING,
    S16_YEARS,
    assert_clean,
    by_gid,
    cr_subgroups_with_one_study,
    s16_subgroups,
)


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u2007", " ")


def texts(content: inometa.plots.layout.ForestContent) -> list[str]:
    return [plain(r.text) for r in content.rows if r.kind in ("header", "text")]


def test_blocks_in_order_with_header_studies_diamond_pi_and_heterogeneity() -> None:
    sg = s16_subgroups()
    c = forest_content(sg)
    kinds = [r.kind for r in c.rows]
    n_front = S16_SETTING.count("Frontline")
    block = ["header"] + ["study"] * n_front + ["pooled", "prediction", "text", "spacer"]
    assert kinds[: len(block)] == block
    assert kinds[-4:] == ["pooled", "prediction", "text", "text"]
    assert [r.text for r in c.rows if r.kind == "header"] == list(sg.subgroups)
    pooled = [r for r in c.rows if r.kind == "pooled"]
    expected = [*sg.subgroups.values(), sg.overall]
    for row, res in zip(pooled, expected, strict=True):
        assert (row.estimate, row.low, row.high) == (
            res.random.proportion,
            *res.random.proportion_ci,
        )
    pis = [r for r in c.rows if r.kind == "prediction"]
    for row, res in zip(pis, expected, strict=True):
        assert (row.low, row.high) == (
            res.prediction.proportion_low,
            res.prediction.proportion_high,
        )


def test_studies_are_the_overall_rows_with_overall_weights_and_subtotals() -> None:
    sg = s16_subgroups()
    c = forest_content(sg)
    d = sg.overall.data
    studies = [r for r in c.rows if r.kind == "study"]
    by_label = {r.cells["label"]: r for r in studies}
    assert sorted(by_label) == sorted(S16_LABELS)
    for i, label in enumerate(d.labels):
        r = by_label[label]
        assert r.estimate == d.events[i] / d.n[i]
        assert (r.low, r.high) == (d.ci_low[i], d.ci_high[i])
        assert r.weight == d.weights_random[i]
    members = subgroup_members(sg)
    pooled = [r for r in c.rows if r.kind == "pooled"][:-1]
    for row, idx in zip(pooled, members.values(), strict=True):
        subtotal = float(row.cells["weight_random"].strip().rstrip("%"))
        assert subtotal == pytest.approx(sum(d.weights_random[i] for i in idx), abs=0.051)


def test_the_test_for_subgroup_differences_is_named() -> None:
    sg = s16_subgroups()
    lines = texts(forest_content(sg))
    t = sg.test
    assert lines[-1] == plain(subgroup_test_text(t, get_preset("meta")))
    assert t.name in lines[-1] and f"χ² = {t.statistic:.2f}, df = {t.df}" in lines[-1]
    every = texts(forest_content(sg, subgroup_tests="all"))
    for other in sg.tests:
        assert any(other.name in line for line in every)
    common = texts(forest_content(s16_subgroups(tau2="common", ci_method="hk")))
    assert any("QM (common τ²): F = " in line and "df = 1, 14" in line for line in common)
    # the shared τ² at the four decimals of every other τ² in the figures
    shared = s16_subgroups(tau2="common", ci_method="hk")
    foot = " ".join(forest_content(shared).footnotes)
    assert f"share one τ² = {shared.common_tau2:.4f} (common-τ² model)" in foot
    with pytest.raises(ValueError, match="headline"):
        forest_content(sg, subgroup_tests="some")


def test_test_text_by_preset_and_when_undefined() -> None:
    t = SubgroupTest("Q between (separate τ²)", 3.2, 2, None, 0.2019, "")
    assert plain(subgroup_test_text(t, get_preset("revman5"))).endswith(
        "Chi² = 3.20, df = 2 (P = 0.202)"
    )
    nan = SubgroupTest("QM (common τ²)", math.nan, 0, None, math.nan, "undefined with one group")
    assert "not available (undefined with one group)" in subgroup_test_text(nan, get_preset("meta"))


def test_one_study_subgroup_is_marked_without_tau2() -> None:
    sg = cr_subgroups_with_one_study()
    assert sg.single_study == ("Older adults",)
    c = forest_content(sg)
    rows = list(c.rows)
    start = next(i for i, r in enumerate(rows) if r.kind == "header" and r.text == "Older adults")
    block = rows[start : start + 5]
    assert [r.kind for r in block] == ["header", "study", "pooled", "text", "spacer"]
    assert "one study: no τ²" in plain(block[3].text)
    het = [r.text for r in rows if r.kind == "text" and r.text.startswith("Heterogeneity")]
    assert het[:2] == [
        heterogeneity_text(sg.subgroups[level], get_preset("meta"), i2_ci=False)
        for level in ("R/R", "Frontline")
    ]
    assert het[-1] == heterogeneity_text(sg.overall, get_preset("meta"))
    assert_clean(inometa.plot_forest(sg, preset="revman5"))


def test_sorting_is_within_subgroups_and_columns_follow_the_studies() -> None:
    sg = s16_subgroups()
    c = forest_content(sg, sort_by="year", descending=True, columns={"Year": S16_YEARS})
    blocks: list[list[int]] = []
    for r in c.rows:
        if r.kind == "header":
            blocks.append([])
        elif r.kind == "study":
            blocks[-1].append(int(r.cells["user:Year"]))
    assert [len(b) for b in blocks] == [len(v) for v in subgroup_members(sg).values()]
    assert all(b == sorted(b, reverse=True) for b in blocks)


def test_members_match_repeated_labels_in_order() -> None:
    sg = inometa.subgroup_analysis(
        [10, 20, 10, 12], [50, 60, 50, 40], ["x", "y", "y", "x"], labels=["A", "B", "A", "C"]
    )
    assert subgroup_members(sg) == {"x": [0, 3], "y": [1, 2]}


@pytest.mark.parametrize("preset", ["meta", "jama"])
def test_drawn_clean_with_diamonds_at_the_subgroup_estimates(preset: str) -> None:
    sg = s16_subgroups()
    fig = inometa.plot_forest(
        sg,
        preset=preset,
        columns={"Year": S16_YEARS},
        show_common=preset == "meta",
        subgroup_tests="all",
        subgroup_title="Setting",
    )
    assert_clean(fig)
    diamonds = by_gid(fig, "diamond-random")
    expected = [*sg.subgroups.values(), sg.overall]
    assert len(diamonds) == len(expected)
    for diamond, res in zip(diamonds, expected, strict=True):
        xy = diamond.get_xy()
        assert xy[:, 0].min() == pytest.approx(res.random.proportion_ci.low)
        assert xy[:, 0].max() == pytest.approx(res.random.proportion_ci.high)
        assert xy[np.argmin(xy[:, 1]), 0] == pytest.approx(res.random.proportion)


def test_pooled_line_runs_to_the_overall_diamond() -> None:
    sg = s16_subgroups()
    fig = inometa.plot_forest(sg)
    lay = forest_layout(sg)
    (line,) = by_gid(fig, "pooled-line")
    (x0, _), (_, y1) = line.get_segments()[0]
    assert x0 == pytest.approx(sg.overall.random.proportion)
    overall = lay.rows_of("pooled")[-1]
    assert y1 == pytest.approx(overall.top)


def test_glmm_subgroups_and_an_all_zero_subgroup() -> None:
    events = [0, 0, 5, 9]
    n = [20, 35, 40, 52]
    sg = inometa.subgroup_analysis(
        events, n, ["none"] * 2 + ["some"] * 2, labels=CR_LABELS[:4], method="glmm"
    )
    fig = inometa.plot_forest(sg, show_notes=True)
    assert_clean(fig)
    assert len(by_gid(fig, "diamond-random")) == 3
    joined = "\n".join(t.get_text() for t in fig.texts + fig.axes[0].texts)
    assert "approximate for the GLMM" in joined


def test_single_result_rejects_subgroup_options() -> None:
    with pytest.raises(ValueError, match="SubgroupResult only"):
        forest_content(s16_subgroups().overall, subgroup_tests="all")
