"""plot_funnel: layout data (points, regions, contours, extra points, line) and drawing."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import inometa
from inometa.plots import FunnelLine
from inometa.plots.funnel import funnel_layout
from tests.conftest import TOL
from tests.plots_support import (
    CR_EVENTS,
    CR_N,
    S16_EVENTS,
    S16_N,
    assert_clean,
    by_gid,
    cr_result,
    label_collisions,
    s16_result,
    s60_result,
)

_ANALYSIS = json.loads(
    (Path(__file__).parent / "reference" / "metafor_analysis_reference.json").read_text()
)
TRIMFILL_RIGHT = _ANALYSIS["trimfill_right"]
assert _ANALYSIS["datasets"]["s16"] == {"events": S16_EVENTS, "n": S16_N}
assert (_ANALYSIS["datasets"]["cr"]["events"], _ANALYSIS["datasets"]["cr"]["n"]) == (
    CR_EVENTS,
    CR_N,
)


def named_or_numbered(fig: Any) -> list[str]:
    """The drawn point labels: study names, or numbers keyed in the legend."""
    return [
        t.get_text()
        for t in [*by_gid(fig, "funnel-label"), *by_gid(fig, "funnel-number-label")]
        if t.get_visible()
    ]


def test_points_are_model_scale_estimates_and_standard_errors() -> None:
    res = s16_result()
    lay = funnel_layout(res)
    np.testing.assert_allclose([p.x for p in lay.points], res.data.yi)
    np.testing.assert_allclose([p.se for p in lay.points], np.sqrt(res.data.vi))
    assert lay.ylim[1] == 0.0 and lay.ylim[0] > max(p.se for p in lay.points)  # inverted
    assert lay.centre == res.random.estimate
    assert funnel_layout(res, model="common").centre == res.common.estimate
    assert lay.xlabel == "Logit proportion"
    assert funnel_layout(cr_result(transform="ft")).xlabel.startswith("Freeman–Tukey")


def test_pseudo_confidence_region_is_centre_plus_minus_z_se() -> None:
    res = s16_result()
    lay = funnel_layout(res)
    (left, apex, right) = lay.pseudo_ci
    c, bottom = res.random.estimate, lay.ylim[0]
    assert apex == (c, 0.0)
    assert left == pytest.approx((c - 1.959963984540054 * bottom, bottom))
    assert right == pytest.approx((c + 1.959963984540054 * bottom, bottom))
    lay90 = funnel_layout(res, level=0.9)
    assert lay90.pseudo_ci[2][0] == pytest.approx(c + 1.6448536269514722 * bottom)
    assert funnel_layout(res, pseudo_ci=False).pseudo_ci == ()


def test_contours_at_the_usual_p_levels() -> None:
    res = s16_result()
    lay = funnel_layout(res, contours=True, contour_ref=0.0)
    zs = [r.z for r in lay.contours]
    assert zs == pytest.approx([2.5758293035489, 1.959963984540054, 1.6448536269514722])
    assert [r.vertices[1] for r in lay.contours] == [(0.0, 0.0)] * 3
    assert lay.background_label == "p < 0.01"
    assert [r.label for r in lay.contours] == [
        "0.01 ≤ p < 0.05",
        "0.05 ≤ p < 0.10",
        "p ≥ 0.10",
    ]
    assert funnel_layout(res, contours=True).contours[0].vertices[1][0] == res.random.estimate
    with pytest.raises(ValueError, match="between 0 and 1"):
        funnel_layout(res, contours=[0.05, 5])


def test_outliers_are_the_studies_outside_the_region() -> None:
    res = s16_result()
    lay = funnel_layout(res)
    z = 1.959963984540054
    c = res.random.estimate
    expected = [abs(p.x - c) > z * p.se for p in lay.points]
    assert [p.labelled for p in lay.points] == expected
    assert any(expected)
    assert all(p.labelled for p in funnel_layout(res, labels="all").points)
    assert not any(p.labelled for p in funnel_layout(res, labels=None).points)
    some = funnel_layout(res, labels=[res.data.labels[0]])
    assert [p.labelled for p in some.points] == [True] + [False] * 15
    with pytest.raises(ValueError, match="no study named"):
        funnel_layout(res, labels=["Nobody 1999"])
    with pytest.raises(ValueError, match="outside, all, none"):
        funnel_layout(res, labels="few")


def test_extra_points_and_line_are_passed_in_ready_made() -> None:
    res = s16_result()
    extra = pd.DataFrame({"yi": [0.1, -0.2], "vi": [0.05, 0.09], "label": ["i1", "i2"]})
    line = FunnelLine(intercept=0.9, slope=-1.0, label="Egger's regression")
    lay = funnel_layout(res, extra_points=extra, line=line)
    added = [p for p in lay.points if p.extra]
    assert [p.x for p in added] == [0.1, -0.2]
    assert [p.se for p in added] == pytest.approx([math.sqrt(0.05), 0.3])
    (x0, y0), (x1, y1) = lay.line
    assert (x0, y0) == (0.9, 0.0)
    assert x1 == pytest.approx(0.9 - y1)
    curved = funnel_layout(res, line={"intercept": 0.5, "slope": 2.0, "predictor": "vi"}).line
    assert all(x == pytest.approx(0.5 + 2.0 * y**2) for x, y in curved)
    with pytest.raises(ValueError, match="missing: vi"):
        funnel_layout(res, extra_points={"yi": [0.1]})
    with pytest.raises(ValueError, match="row 1"):
        funnel_layout(res, extra_points={"yi": [0.1], "vi": [0.0]})
    with pytest.raises(ValueError, match="se, vi"):
        FunnelLine(0.0, 1.0, predictor="n")


def test_drawing_has_the_elements_and_clean_labels() -> None:
    res = s16_result()
    extra = pd.DataFrame({"yi": [0.1, -0.2], "vi": [0.05, 0.09], "label": ["i1", "i2"]})
    fig = inometa.plot_funnel(
        res,
        contours=True,
        extra_points=extra,
        line=FunnelLine(0.9, -1.0),
        labels="all",
        title="Funnel",
        width="double",
    )
    (ax,) = fig.axes
    assert ax.yaxis_inverted()
    (studies,) = by_gid(fig, "funnel-studies")
    np.testing.assert_allclose(studies.get_offsets()[:, 0], res.data.yi)
    (added,) = by_gid(fig, "funnel-extra")
    assert np.all(added.get_facecolors()[:, :3] == 1.0)  # open (white) markers
    assert len(by_gid(fig, "contour")) == 3
    assert by_gid(fig, "funnel-line") and by_gid(fig, "pseudo-ci")
    assert sorted(named_or_numbered(fig)) in (
        sorted(res.data.labels),
        sorted(str(i) for i in range(1, 17)),
    )
    assert_clean(fig)
    assert label_collisions(fig) == []


def test_plain_funnel_is_clean() -> None:
    fig = inometa.plot_funnel(cr_result(), preset="jama")
    assert_clean(fig)


def test_glmm_all_zero_draws_without_a_centre() -> None:
    res = inometa.metaprop([0, 0, 0], [10, 20, 30], method="glmm")
    lay = funnel_layout(res)
    assert lay.centre is None and lay.pseudo_ci == ()
    fig = inometa.plot_funnel(res)
    assert by_gid(fig, "funnel-centre") == []
    with pytest.raises(ValueError, match="contour_ref"):
        funnel_layout(res, contours=True)
    assert funnel_layout(res, contours=True, contour_ref=-3.0).contours


def test_trimfill_and_egger_are_read_from_their_results() -> None:
    import warnings

    res = s16_result()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", inometa.SmallKWarning)
        tf = inometa.trim_and_fill(res, side="right")
        eg = inometa.egger_test(res)
    ref = TRIMFILL_RIGHT["s16"]  # metafor's trimfill(side = "right") of the same data
    assert tf.k0 == ref["k0"] > 0
    np.testing.assert_allclose(tf.filled["yi"], ref["filled_yi"], rtol=TOL["metafor"])
    lay = funnel_layout(res, trimfill=tf, egger=eg)
    added = [p for p in lay.points if p.extra]
    np.testing.assert_allclose([p.x for p in added], tf.filled["yi"])
    np.testing.assert_allclose([p.se for p in added], np.sqrt(tf.filled["vi"]))
    assert lay.centre == res.random.estimate
    assert lay.filled_centre == tf.result.random.estimate
    assert f"k0 = {tf.k0}" in lay.filled_label and "trim-and-fill" in lay.extra_label
    (x0, y0), (x1, y1) = lay.line
    assert (x0, y0) == (eg.limit_estimate, 0.0)
    assert x1 == pytest.approx(eg.limit_estimate + eg.slope * y1)
    assert lay.line_label == f"Egger's test: z = {eg.statistic:.2f}, p = {eg.pvalue:.3f}"
    fig = inometa.plot_funnel(res, trimfill=tf, egger=eg)
    (filled,) = by_gid(fig, "funnel-filled-centre")
    assert filled.get_segments()[0][0][0] == pytest.approx(tf.result.random.estimate)
    (extra,) = by_gid(fig, "funnel-extra")
    np.testing.assert_allclose(extra.get_offsets()[:, 0], tf.filled["yi"])
    legend = "\n".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "Egger's test: z = " in legend and "Trim-and-fill estimate" in legend
    assert_clean(fig)


def test_trimfill_without_imputed_studies_and_misuse() -> None:
    import warnings

    res = cr_result()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", inometa.SmallKWarning)
        tf = inometa.trim_and_fill(res, side="right")
        eg = inometa.egger_test(res, model="lm")
        peters = inometa.peters_test(res)
    lay = funnel_layout(res, trimfill=tf, egger=eg)
    assert tf.k0 == TRIMFILL_RIGHT["cr"]["k0"] == 0  # metafor's trimfill(side = "right")
    assert lay.filled_centre is None and not any(p.extra for p in lay.points)
    assert lay.legend_notes[0] == "Trim-and-fill (L0): no study imputed"
    assert lay.line_label.startswith(f"Egger's test: t({eg.df:g}) = ")
    with pytest.raises(ValueError, match="not both"):
        funnel_layout(res, trimfill=tf, extra_points={"yi": [0.1], "vi": [0.1]})
    with pytest.raises(ValueError, match="not both"):
        funnel_layout(res, egger=eg, line=FunnelLine(0.0, 1.0))
    with pytest.raises(ValueError, match="only Egger's test"):
        funnel_layout(res, egger=peters)
    with pytest.raises(ValueError, match="not computed from this analysis"):
        funnel_layout(s16_result(), trimfill=tf)


def test_untransformed_funnel_reads_in_percent_as_the_forests() -> None:
    res = inometa.metaprop([5, 20, 30, 9], [50, 60, 70, 40], transform="raw")
    ax = inometa.plot_funnel(res).axes[0]
    assert ax.get_xlabel() == "Proportion, %"
    assert ax.get_ylabel() == "Standard error, percentage points"
    formatter = ax.xaxis.get_major_formatter()
    assert formatter(0.3, 0) == "30" and formatter(0.05, 0) == "5"
    # a transformed scale keeps its own axis
    logit = inometa.plot_funnel(inometa.metaprop([5, 20, 30, 9], [50, 60, 70, 40])).axes[0]
    assert logit.get_xlabel() == "Logit proportion"


def test_legend_drawn_into_a_given_axes_lies_outside_the_data() -> None:
    import matplotlib.pyplot as plt

    res = inometa.metaprop([5, 20, 30, 9, 14], [50, 60, 70, 40, 45])
    fig, ax = plt.subplots()
    try:
        inometa.plot_funnel(res, contours=True, ax=ax)
        fig.canvas.draw()
        legend = ax.get_legend()
        assert legend is not None
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        box = legend.get_window_extent(renderer)
        assert box.x0 >= ax.get_window_extent(renderer).x1
    finally:
        plt.close(fig)


def _s16_bias() -> tuple[Any, Any, Any]:
    res = s16_result()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", inometa.SmallKWarning)
        return res, inometa.trim_and_fill(res, side="right"), inometa.egger_test(res)


FUNNELS = {
    "contours, line, imputed": lambda: inometa.plot_funnel(
        s16_result(),
        contours=True,
        extra_points=pd.DataFrame({"yi": [0.1, -0.2], "vi": [0.05, 0.09]}),
        line=FunnelLine(0.9, -1.0),
    ),
    "trim-and-fill and Egger, all labels": lambda: inometa.plot_funnel(
        *_s16_bias()[:1],
        trimfill=_s16_bias()[1],
        egger=_s16_bias()[2],
        contours=True,
        labels="all",
        width="double",
    ),
    "few studies, all labels": lambda: inometa.plot_funnel(
        cr_result(), labels="all", contours=True
    ),
    "jama": lambda: inometa.plot_funnel(cr_result(), preset="jama"),
    "untransformed": lambda: inometa.plot_funnel(
        cr_result(transform="raw"), labels="all", width="one-and-a-half"
    ),
}


@pytest.mark.parametrize("name", sorted(FUNNELS))
def test_labels_are_clear_of_lines_markers_and_one_another(name: str) -> None:
    # Labels (names, or numbers keyed in the legend) keep off the pseudo-CI and contour
    # lines, the centre and regression lines, the markers and each other; a leader runs
    # through no label. Every labelled point has its label.
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no label left out
        fig = FUNNELS[name]()
    assert label_collisions(fig) == []
    assert_clean(fig)
    shown = named_or_numbered(fig)
    assert shown
    assert shown == [t.get_text() for t in by_gid(fig, "funnel-label") if t.get_visible()] or (
        sorted(shown, key=int) == [str(i) for i in range(1, len(shown) + 1)]
    )


def test_labels_in_a_given_axes_are_clear_and_the_legend_outside() -> None:
    import matplotlib.pyplot as plt

    res, tf, eg = _s16_bias()
    fig, ax = plt.subplots(figsize=(6, 4))
    try:
        inometa.plot_funnel(res, trimfill=tf, egger=eg, contours=True, labels="all", ax=ax)
        assert label_collisions(fig) == []
        assert len(named_or_numbered(fig)) == 16
        legend = ax.get_legend()
        box = legend.get_window_extent(fig.canvas.get_renderer())  # type: ignore[attr-defined]
        assert box.x0 >= ax.get_window_extent().x1
        # the swatch of the grey background is edged, as the other regions' swatches
        (swatch,) = [
            h
            for h, t in zip(legend.legend_handles, legend.get_texts(), strict=True)
            if t.get_text() == "p < 0.01"
        ]
        assert swatch.get_edgecolor()[:3] != swatch.get_facecolor()[:3]
    finally:
        plt.close(fig)


def test_no_room_for_names_numbers_the_points_with_a_key() -> None:
    # Long names in a single-column funnel: no place clear of the lines for some, so every
    # point gets a number and the legend lists the names (no point left unnamed).
    fig = inometa.plot_funnel(cr_result(), preset="jama")
    res = cr_result()
    lay = funnel_layout(res, preset="jama")
    labelled = [pt.label for pt in sorted(lay.points, key=lambda q: q.se) if pt.labelled]
    assert by_gid(fig, "funnel-label") == []
    numbers = named_or_numbered(fig)
    assert sorted(numbers, key=int) == [str(i) for i in range(1, len(labelled) + 1)]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [f"{i}\u2002{name}" for i, name in enumerate(labelled, 1)] == [
        t for t in legend if "\u2002" in t
    ]
    assert label_collisions(fig) == []


def test_no_room_even_for_numbers_labels_none_and_says_so() -> None:
    with pytest.warns(UserWarning, match="not even as numbers"):
        fig = inometa.plot_funnel(s60_result(), labels="all")
    assert named_or_numbered(fig) == []
    assert not any("\u2002" in t.get_text() for t in fig.legends[0].get_texts())


def test_the_legend_says_which_studies_are_labelled() -> None:
    res = s16_result()
    lay = funnel_layout(res)
    assert 0 < sum(p.labelled for p in lay.points) < len(lay.points)
    assert "Labelled: studies outside the pseudo 95% CI" in lay.legend_notes
    assert funnel_layout(res, labels="all").legend_notes == ()
