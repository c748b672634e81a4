"""Forest layout as data, tested without drawing: rows, cells, columns, geometry, markers.

Most checks use the real font measurer (what the figure will use); exact arithmetic checks
use the fixed-pitch measurer.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import inometa
from inometa.plots.axis import auto_limits, nice_ticks, tick_labels
from inometa.plots.blocks import sort_order
from inometa.plots.forest import forest_content, forest_layout
from inometa.plots.layout import (
    AxisSpec,
    ColumnSpec,
    ForestContent,
    ForestLayout,
    Geometry,
    Row,
    arrange,
    clip_polygon,
)
from inometa.plots.style import get_preset, get_scale, mm_to_pt
from inometa.plots.text import fixed_pitch_measurer, font_measurer
from tests.plots_support import (
    CR_EVENTS,
    CR_LABELS,
    CR_N,
    S16_LABELS,
    S16_SETTING,
    S16_YEARS,
    cr_result,
    s16_result,
    s60_result,
)

FS = 8.0


def kinds(content: ForestContent) -> list[str]:
    return [r.kind for r in content.rows]


def fits(layout: ForestLayout) -> None:
    """Every cell line fits its column, columns do not overlap each other or the panel."""
    slack = 1e-6
    cols = sorted(layout.columns, key=lambda c: c.x0)
    for a, b in itertools.pairwise(cols):
        assert a.x1 < b.x0, (a.spec.key, b.spec.key)
    for c in layout.columns:
        assert not (c.x0 < layout.panel_x1 and c.x1 > layout.panel_x0), c.spec.key
        width = c.x1 - c.x0
        for line in c.title.split("\n"):
            assert font_measurer(line, layout.fontsize, True) <= width + slack
        for r in layout.rows:
            text = r.cells.get(c.spec.key, "")
            for line in text.split("\n"):
                assert font_measurer(line, layout.fontsize, r.row.bold) <= width + slack, line
    assert min(c.x0 for c in layout.columns) >= 0
    assert max([c.x1 for c in layout.columns] + [layout.panel_x1]) <= layout.width


# -- content -------------------------------------------------------------------------------


def test_rows_of_a_standard_forest() -> None:
    res = cr_result()
    c = forest_content(res)
    assert kinds(c) == ["study"] * 6 + ["spacer", "pooled", "prediction", "text"]
    c = forest_content(res, show_common=True, prediction=False, heterogeneity=False)
    assert kinds(c) == ["study"] * 6 + ["spacer", "pooled", "pooled"]
    assert [r.model for r in c.rows if r.kind == "pooled"] == ["common", "random"]


def test_study_rows_show_observed_proportions_not_back_transformed_values() -> None:
    # Freeman–Tukey: back-transforming a study's yi needs its own n; the forest must show
    # events/n and the study's own CI.
    res = cr_result(transform="ft")
    rows = [r for r in forest_content(res, scale="proportion", digits=4).rows if r.kind == "study"]
    for r, x, n, lo, hi in zip(
        rows, CR_EVENTS, CR_N, res.data.ci_low, res.data.ci_high, strict=True
    ):
        assert r.estimate == pytest.approx(x / n)
        assert (r.low, r.high) == (lo, hi)
        assert r.cells["ci"].split()[0].replace("\u2007", "") == f"{x / n:.4f}"
        assert r.cells["events"] == str(x) and r.cells["total"] == str(n)


def test_pooled_rows_show_the_results_estimates() -> None:
    res = cr_result()
    c = forest_content(res, show_common=True)
    common, random = [r for r in c.rows if r.kind == "pooled"]
    assert (random.estimate, random.low, random.high) == (
        res.random.proportion,
        *res.random.proportion_ci,
    )
    assert (common.estimate, common.low, common.high) == (
        res.common.proportion,
        *res.common.proportion_ci,
    )
    pred = next(r for r in c.rows if r.kind == "prediction")
    assert (pred.low, pred.high) == (
        res.prediction.proportion_low,
        res.prediction.proportion_high,
    )
    # Totals once, on the first pooled row; each model's own weight column says 100%.
    assert common.cells["events"] == str(sum(CR_EVENTS))
    assert "events" not in random.cells
    assert common.cells["weight_common"].strip() == "100.0%"
    assert random.cells["weight_random"].strip() == "100.0%"


def test_scale_changes_every_number_and_title() -> None:
    res = cr_result()
    for scale, first in (("percent", "68.1"), ("proportion", "0.68"), ("per1000", "681")):
        c = forest_content(res, scale=scale)
        study = c.rows[0]
        assert study.cells["ci"].split()[0].replace("\u2007", "") == first
        ci_col = next(col for col in c.columns if col.key == "ci")
        assert get_scale(scale).title("Proportion") in ci_col.title
        assert c.axis.label == get_scale(scale).title("Proportion")
    c = forest_content(res, scale="per1000", xlim=(0.4, 0.9))
    assert c.axis.tick_labels == ("400", "500", "600", "700", "800", "900")


def test_numbers_line_up_on_the_decimal_point() -> None:
    c = forest_content(cr_result(), show_common=True)
    cis = [r.cells["ci"] for r in c.rows if r.kind in ("study", "pooled")]
    # Tabular digits and figure-space padding: equal lengths mean aligned right edges of
    # every part.
    assert len({len(s) for s in cis}) == 1
    assert len({font_measurer(s, FS) for s in cis}) == 1


def test_heterogeneity_line_by_preset() -> None:
    res = cr_result()
    h = res.heterogeneity
    text = {
        p: next(r.text for r in forest_content(res, preset=p).rows if r.kind == "text")
        for p in ("meta", "revman5")
    }
    assert f"Q = {h.q:.2f} (df = 5)" in text["meta"].replace("\u00a0", " ")
    assert "I²" in text["meta"] and "τ²" in text["meta"]
    assert f"{100 * h.i2_ci.low:.0f}%" in text["meta"]
    assert f"Chi² = {h.q:.2f}, df = 5" in text["revman5"].replace("\u00a0", " ")
    jama = forest_content(res, preset="jama")
    assert "text" not in kinds(jama)
    assert jama.footer[0].replace("\u00a0", " ").startswith("Heterogeneity: I²")
    assert "P < .001" in jama.footer[0].replace("\u00a0", " ")


def test_no_heterogeneity_or_prediction_rows_when_undefined() -> None:
    one = inometa.metaprop([5], [20], labels=["Solo"])
    assert "text" not in kinds(forest_content(one))
    # GLMM with every study at 0 events: finite proportions, no prediction interval.
    zero = inometa.metaprop([0, 0, 0], [10, 20, 30], method="glmm")
    c = forest_content(zero)
    assert "prediction" not in kinds(c)
    pooled = next(r for r in c.rows if r.kind == "pooled")
    assert pooled.estimate == 0.0 and math.isfinite(pooled.high)


def test_footnotes_name_the_methods() -> None:
    res = cr_result(study_ci_method="wilson")
    foot = " ".join(forest_content(res).footnotes)
    assert "Study 95% CIs: Wilson score" in foot
    assert "random-effects weights" in foot
    glmm = " ".join(forest_content(cr_result(method="glmm")).footnotes)
    assert "approximate" in glmm and "GLMM" in glmm
    assert forest_content(res, footnotes=False, notes=["Source: Lao 2025"]).footnotes == (
        "Source: Lao 2025",
    )


def test_user_columns_from_a_dataframe_or_mapping() -> None:
    import pandas as pd

    res = s16_result()
    df = pd.DataFrame({"Year": [float(y) for y in S16_YEARS], "Setting": S16_SETTING})
    c = forest_content(res, columns=df)
    keys = [col.key for col in c.columns]
    assert keys[:3] == ["label", "user:Year", "user:Setting"]
    year = next(col for col in c.columns if col.key == "user:Year")
    setting = next(col for col in c.columns if col.key == "user:Setting")
    assert (year.align, year.wrap) == ("right", False)
    assert (setting.align, setting.wrap) == ("left", True)
    assert c.rows[0].cells["user:Year"] == "2008"  # no '2008.0'
    c2 = forest_content(res, columns={"Year": S16_YEARS, "Setting": S16_SETTING})
    assert c2.rows == c.rows
    with pytest.raises(ValueError, match="'Year' has 3 values but the result has 16"):
        forest_content(res, columns={"Year": [1, 2, 3]})
    with pytest.raises(TypeError, match="DataFrame or a mapping"):
        forest_content(res, columns=[1, 2])


def test_sorting() -> None:
    res = s16_result()
    p = np.array(res.data.events) / np.array(res.data.n)
    assert sort_order(res, "estimate", {}) == list(np.argsort(p, kind="stable"))
    assert sort_order(res, "estimate", {}, descending=True) == list(np.argsort(-p, kind="stable"))
    w = res.data.weights_random
    assert sort_order(res, "weight", {}) == list(np.argsort(w, kind="stable"))
    assert sort_order(res, "label", {}) == sorted(range(16), key=lambda i: S16_LABELS[i].casefold())
    years = list(reversed(S16_YEARS))
    assert sort_order(res, "YEAR", {"year": years}) == list(range(15, -1, -1))
    assert sort_order(res, None, {}) == list(range(16))


def test_sorting_is_stable_and_puts_missing_values_last() -> None:
    res = cr_result()
    year = [2020, None, 2019, 2020, float("nan"), 2019]
    assert sort_order(res, "year", {"year": year}) == [2, 5, 0, 3, 1, 4]
    assert sort_order(res, "year", {"year": year}, descending=True) == [0, 3, 2, 5, 1, 4]
    c = forest_content(res, columns={"year": year}, sort_by="year")
    assert [r.cells["label"] for r in c.rows[:2]] == [CR_LABELS[2], CR_LABELS[5]]


def test_unknown_sort_key_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="estimate, weight, label, Setting"):
        forest_content(s16_result(), columns={"Setting": S16_SETTING}, sort_by="year")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"ref": 50}, "0.5, not 50"),
        ({"xlim": (0, 100)}, "proportion scale"),
        ({"xlim": (0.5, 0.4)}, "low < high"),
        ({"xticks": [0.1], "xlim": (0.4, 0.9)}, "outside the axis limits"),
        ({"weights": "fixed"}, "common, random"),
        ({"digits": -1}, "digits"),
        ({"max_label_lines": 0}, "max_label_lines"),
        ({"scale": "permyriad"}, "per1000"),
        ({"preset": "lancet"}, "revman5"),
    ],
)
def test_bad_options_say_what_is_wrong(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        forest_content(cr_result(), **kw)  # type: ignore[arg-type]


# -- axis ----------------------------------------------------------------------------------


def test_axis_covers_every_interval_and_reference_line() -> None:
    res = cr_result()
    c = forest_content(res, ref=0.1)
    lo, hi = c.axis.xlim
    assert lo <= 0.1 and lo <= min(res.data.ci_low) and hi >= max(res.data.ci_high)
    assert c.axis.ref_lines == (0.1,)
    assert c.axis.ticks[0] == pytest.approx(lo) and c.axis.ticks[-1] == pytest.approx(hi)


def test_nice_ticks_and_labels() -> None:
    assert [round(100 * t) for t in nice_ticks(0.2, 1.0, 100)] == [20, 40, 60, 80, 100]
    assert tick_labels((0.0, 0.25, 0.5), get_scale("proportion")) == ("0.00", "0.25", "0.50")
    assert tick_labels((0.0, 0.5, 1.0), get_scale("percent")) == ("0", "50", "100")
    assert auto_limits([0.97, 0.99], 100) == (0.97, 0.99)
    assert auto_limits([0.0, 1.0], 100) == (0.0, 1.0)
    lo, hi = auto_limits([0.5, 0.5], 100)
    assert lo < 0.5 < hi


# -- geometry ------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["meta", "revman5", "jama"])
def test_columns_and_cells_fit_without_overlap(preset: str) -> None:
    res = s16_result()
    cols = {"Year": S16_YEARS, "Setting": S16_SETTING}
    for width in (None, "double"):
        fits(forest_layout(res, preset=preset, columns=cols, show_common=True, width=width))


def test_rows_stack_without_overlap_and_height_grows_with_rows() -> None:
    heights = []
    for res in (inometa.metaprop([49, 121], [72, 164]), s16_result(), s60_result()):
        lay = forest_layout(res, width="double")
        assert lay.width == pytest.approx(mm_to_pt(183))
        tops = [r.top for r in lay.rows]
        assert tops == sorted(tops)
        for a, b in zip(lay.rows, lay.rows[1:], strict=False):
            assert a.bottom == pytest.approx(b.top)
        assert lay.header_bottom <= lay.panel_top == lay.rows[0].top
        assert lay.rows[-1].bottom == pytest.approx(lay.panel_bottom)
        assert lay.panel_bottom < lay.footer_top <= lay.footnotes_top < lay.height
        heights.append(lay.height)
    assert heights[0] < heights[1] < heights[2]


def test_long_labels_wrap_or_truncate_within_the_label_column() -> None:
    res = s16_result()
    lay = forest_layout(res, width="double")
    label = next(c for c in lay.columns if c.spec.key == "label")
    cells = [r.cells["label"] for r in lay.rows_of("study")]
    width = label.x1 - label.x0
    long_cells = [c for c in cells if "multicentre" in c]
    assert long_cells and all(c.count("\n") == 1 for c in long_cells)
    assert all(font_measurer(line, FS) <= width + 1e-6 for c in cells for line in c.split("\n"))
    narrow = forest_layout(res, width=140, columns={"Setting": S16_SETTING})
    assert any(r.cells["label"].endswith("…") for r in narrow.rows_of("study"))
    one_line = forest_layout(res, width="double", max_label_lines=1)
    cells1 = [r.cells["label"] for r in one_line.rows_of("study")]
    assert all("\n" not in c for c in cells1)
    assert all(
        font_measurer(c, FS) <= (label.x1 - label.x0) + 1e-6 for c in cells1 if c.endswith("…")
    )


def test_explicit_narrow_width_widens_with_a_warning() -> None:
    lay = forest_layout(s16_result(), width="single", show_common=True)
    assert lay.width > mm_to_pt(89)
    assert lay.warnings and "widened" in lay.warnings[0]
    assert lay.panel_x1 - lay.panel_x0 >= Geometry().panel_min * FS - 1e-6
    fits(lay)


def test_automatic_width_stays_within_a_double_column_when_it_can() -> None:
    lay = forest_layout(cr_result())
    assert lay.width <= mm_to_pt(183) + 1e-6
    assert not lay.warnings


def test_square_area_is_proportional_to_weight() -> None:
    res = s16_result()
    lay = forest_layout(res)
    g = Geometry()
    rows = lay.rows_of("study")
    w = np.array([r.row.weight for r in rows])
    side = np.array([r.marker_side for r in rows])
    assert side.max() == pytest.approx(g.marker_max * lay.row_height)
    np.testing.assert_allclose(side**2 / side.max() ** 2, w / w.max(), rtol=1e-12)
    common = forest_layout(res, weights="common")
    wc = np.array([r.row.weight for r in common.rows_of("study")])
    np.testing.assert_allclose(wc, res.data.weights_common)


def test_tiny_weights_keep_a_visible_square() -> None:
    res = inometa.metaprop([5, 500], [10, 1000], tau2_method="DL")
    lay = forest_layout(res, weights="common")
    small = min(r.marker_side for r in lay.rows_of("study"))
    assert small == pytest.approx(Geometry().marker_min * lay.row_height)


def test_clipped_intervals_get_arrows_and_hidden_squares() -> None:
    res = s16_result()
    lay = forest_layout(res, xlim=(0.5, 0.8))
    for r in lay.rows_of("study"):
        lo, hi, est = r.row.low, r.row.high, r.row.estimate
        assert r.arrow_low == (lo < 0.5)
        assert r.arrow_high == (hi > 0.8)
        assert r.marker_visible == (0.5 <= est <= 0.8)
        if r.segment:
            assert r.segment == (max(lo, 0.5), min(hi, 0.8))
    assert any(r.arrow_low for r in lay.rows_of("study"))
    assert any(not r.marker_visible for r in lay.rows_of("study"))
    pred = lay.rows_of("prediction")[0]
    assert pred.arrow_low and pred.arrow_high
    assert "Arrows" in " ".join(lay.footnotes)
    assert lay.arrow_length == pytest.approx(
        Geometry().arrow * FS * 0.3 / (lay.panel_x1 - lay.panel_x0)
    )


def test_no_arrows_when_everything_is_in_range() -> None:
    lay = forest_layout(cr_result())
    assert not any(r.arrow_low or r.arrow_high for r in lay.rows)
    assert "Arrows" not in " ".join(lay.footnotes)


def test_diamond_vertices_are_the_pooled_estimate_and_ci() -> None:
    res = cr_result()
    lay = forest_layout(res, show_common=True)
    for r in lay.rows_of("pooled"):
        est = res.random if r.row.model == "random" else res.common
        xs = sorted({round(x, 12) for x, _ in r.diamond})
        assert xs == sorted(
            round(v, 12) for v in (est.proportion_ci.low, est.proportion, est.proportion_ci.high)
        )
        half = Geometry().diamond * lay.row_height / 2
        ys = sorted(y for _, y in r.diamond)
        assert ys[0] == pytest.approx(r.y - half) and ys[-1] == pytest.approx(r.y + half)


def test_clipped_diamond_is_cut_at_the_axis_limit() -> None:
    res = cr_result()
    lo = res.random.proportion_ci.low
    lay = forest_layout(res, xlim=(lo + 0.05, 1.0))
    r = lay.rows_of("pooled")[0]
    assert min(x for x, _ in r.diamond) == pytest.approx(lo + 0.05)
    assert len(r.diamond) == 5 and r.arrow_low and not r.arrow_high


def test_clip_polygon() -> None:
    square = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]
    assert clip_polygon(square, -1, 3) == tuple(square)
    assert clip_polygon(square, 1, 3) == ((1.0, 0.0), (2.0, 0.0), (2.0, 2.0), (1.0, 2.0))
    assert clip_polygon(square, 5, 6) == ()


def test_layout_with_a_fixed_pitch_measurer_is_exact() -> None:
    # A hand-built row list — the shape subgroup plots will use — with headers and text rows.
    preset = get_preset("meta")
    rows = (
        Row("header", text="Frontline"),
        Row(
            "study",
            cells={"label": "A", "ci": "50 [40; 60]"},
            estimate=0.5,
            low=0.4,
            high=0.6,
            weight=60.0,
        ),
        Row(
            "study",
            cells={"label": "B", "ci": "55 [45; 65]"},
            estimate=0.55,
            low=0.45,
            high=0.65,
            weight=40.0,
        ),
        Row(
            "pooled",
            cells={"label": "Subgroup", "ci": "52 [45; 59]"},
            estimate=0.52,
            low=0.45,
            high=0.59,
            model="random",
            bold=True,
        ),
        Row("text", text="Heterogeneity within the subgroup: a long line to be wrapped"),
        Row("spacer"),
        Row(
            "pooled",
            cells={"label": "Overall", "ci": "52 [45; 59]"},
            estimate=0.52,
            low=0.45,
            high=0.59,
            model="random",
            bold=True,
        ),
        Row("text", text="Test for subgroup differences: Q = 1.00 (df = 1), p = 0.32"),
    )
    content = ForestContent(
        rows=rows,
        columns=(
            ColumnSpec("label", "Study", align="left", wrap=True),
            ColumnSpec("ci", "Proportion", side="right"),
        ),
        axis=AxisSpec(
            xlim=(0.0, 1.0),
            ticks=(0.0, 0.5, 1.0),
            tick_labels=("0", "50", "100"),
            label="Proportion, %",
        ),
        preset=preset,
    )
    g = Geometry()
    lay = arrange(content, width=400.0, measurer=fixed_pitch_measurer, geometry=g)
    label, ci = lay.columns
    gap = max(g.column_gap * FS, g.marker_max * g.row * FS / 2 + 0.6 * FS)
    assert label.x0 == g.margin * FS
    # The header 'Frontline' (9 bold characters at 0.6 em) is the widest label-column text.
    assert label.x1 - label.x0 == pytest.approx(9 * 0.6 * FS * g.measure_slack)
    assert lay.panel_x0 == pytest.approx(label.x1 + gap)
    assert ci.x0 == pytest.approx(lay.panel_x1 + gap)
    assert lay.width == 400.0
    # Text between graphics rows keeps to the left columns; trailing text may run across.
    inner, trailing = [r for r in lay.rows if r.row.kind == "text"]
    left_width = lay.panel_x0 - gap - label.x0
    assert all(
        fixed_pitch_measurer(line, FS) * g.measure_slack <= left_width + 1e-6
        for line in inner.text.split("\n")
    )
    assert inner.lines > 1 and trailing.lines == 1
    assert lay.graphics_bottom == pytest.approx(lay.rows_of("pooled")[-1].bottom)
    header = lay.rows[0]
    assert header.text == "Frontline" and header.lines == 1
