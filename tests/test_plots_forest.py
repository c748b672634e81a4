"""plot_forest drawn: no overlapping text, everything inside the figure, arrows, diamond and
square positions in data coordinates, ``ax=``, and the import boundary."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

import inometa
from inometa.plots.forest import forest_layout
from inometa.plots.style import PRESETS
from tests.plots_support import (
    CR_EVENTS,
    CR_N,
    S16_SETTING,
    S16_YEARS,
    assert_clean,
    by_gid,
    cr_result,
    s16_result,
    s60_result,
    squares_outside_panel,
    texts_outside_figure,
)


def check_clean(fig: Figure) -> None:
    assert_clean(fig)


def test_import_inometa_does_not_import_matplotlib() -> None:
    code = "import sys, inometa; assert 'matplotlib' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_returns_a_figure_sized_by_the_layout() -> None:
    res = cr_result()
    fig = inometa.plot_forest(res)
    lay = forest_layout(res)
    assert isinstance(fig, Figure)
    w, h = fig.get_size_inches()
    assert (w * 72, h * 72) == pytest.approx((lay.width, lay.height))


@pytest.mark.parametrize("preset", ["meta", "revman5", "jama"])
def test_sixteen_studies_with_columns_have_no_overlapping_text(preset: str) -> None:
    fig = inometa.plot_forest(
        s16_result(ci_method="hk", pi_method="t"),
        preset=preset,
        columns={"Year": S16_YEARS, "Setting": S16_SETTING},
        sort_by="year",
        show_common=True,
        ref=0.5,
        title="Overall response: sixteen studies with long and short labels",
    )
    check_clean(fig)


@pytest.mark.parametrize("width", [None, "single", "double", 120])
def test_two_studies_at_any_width(width: object) -> None:
    res = inometa.metaprop([49, 121], [72, 164], labels=["DeAngelo 2017", "Kantarjian 2019"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'single' is too narrow and widens with a warning
        fig = inometa.plot_forest(res, width=width)  # type: ignore[arg-type]
    check_clean(fig)


def test_sixty_studies_grow_tall_and_stay_clean() -> None:
    small = inometa.plot_forest(s16_result(), width="double")
    big = inometa.plot_forest(s60_result(), width="double", sort_by="estimate")
    assert big.get_size_inches()[1] > 2.5 * small.get_size_inches()[1]
    check_clean(big)


def test_scales_and_clipped_axis_are_clean() -> None:
    for scale in ("proportion", "per1000"):
        fig = inometa.plot_forest(s16_result(), scale=scale, xlim=(0.4, 0.9), preset="jama")
        check_clean(fig)


def test_squares_sit_at_the_observed_proportions_with_area_by_weight() -> None:
    res = cr_result()
    fig = inometa.plot_forest(res)
    (squares,) = by_gid(fig, "study-squares")
    xy = squares.get_offsets()
    np.testing.assert_allclose(xy[:, 0], np.array(CR_EVENTS) / np.array(CR_N))
    sizes = squares.get_sizes()
    w = res.data.weights_random
    np.testing.assert_allclose(sizes / sizes.max(), w / w.max(), rtol=1e-12)
    (ci,) = by_gid(fig, "study-ci")
    segs = ci.get_segments()
    np.testing.assert_allclose([s[0][0] for s in segs], res.data.ci_low)
    np.testing.assert_allclose([s[1][0] for s in segs], res.data.ci_high)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_squares_at_0_and_100_percent_stay_inside_the_panel(preset: str) -> None:
    # A square is centred on its estimate: at an axis end half of it lies past the axis,
    # which must still be inside the panel's axes (not over a column or the figure edge).
    labels = ["None 2001", "Some 2002", "All 2003", "Big 2004"]
    for transform in ("raw", "logit"):
        res = inometa.metaprop([0, 12, 30, 25], [20, 40, 30, 200], labels=labels,
                               transform=transform)  # fmt: skip
        fig = inometa.plot_forest(res, preset=preset)
        (squares,) = by_gid(fig, "study-squares")
        assert {0.0, 1.0} <= set(squares.get_offsets()[:, 0])
        assert squares_outside_panel(fig) == []
        assert_clean(fig)
        groups = ["A", "A", "B", "B"]
        sg = inometa.subgroup_analysis([0, 12, 30, 25], [20, 40, 30, 200], groups,
                                       labels=labels, transform=transform)  # fmt: skip
        fig = inometa.plot_forest(sg, preset=preset)
        assert by_gid(fig, "study-squares") and squares_outside_panel(fig) == []
        # with the axis cut short, squares past it are not drawn: the arrow marks them
        fig = inometa.plot_forest(res, preset=preset, xlim=(0.2, 0.8))
        assert squares_outside_panel(fig) == []


def test_diamonds_are_at_the_pooled_estimates_in_data_coordinates() -> None:
    res = cr_result(ci_method="hk", pi_method="t")
    fig = inometa.plot_forest(res, show_common=True)
    for model, est in (("random", res.random), ("common", res.common)):
        (diamond,) = by_gid(fig, f"diamond-{model}")
        xy = diamond.get_xy()
        xs = xy[:, 0]
        lo, hi = est.proportion_ci
        assert xs.min() == pytest.approx(lo) and xs.max() == pytest.approx(hi)
        # The top and bottom vertices are at the estimate.
        top = xy[np.argmin(xy[:, 1])]
        bottom = xy[np.argmax(xy[:, 1])]
        assert top[0] == pytest.approx(est.proportion) == bottom[0]
        # Data coordinates are the panel's: display position matches the axis limits.
        ax = diamond.axes
        x0, x1 = ax.get_xlim()
        assert x0 <= lo < hi <= x1
    (pi,) = by_gid(fig, "prediction-interval")
    x, w = pi.get_x(), pi.get_width()
    assert (x, x + w) == pytest.approx(
        (res.prediction.proportion_low, res.prediction.proportion_high)
    )


def test_arrows_mark_clipped_intervals() -> None:
    res = s16_result()
    xlim = (0.5, 0.8)
    fig = inometa.plot_forest(res, xlim=xlim, prediction=False)
    lay = forest_layout(res, xlim=xlim, prediction=False)
    expected = sum(r.arrow_low + r.arrow_high for r in lay.rows)
    arrows = by_gid(fig, "clip-arrow")
    assert expected > 0 and len(arrows) == expected
    low = int(np.sum(np.asarray(res.data.ci_low) < xlim[0]))
    high = int(np.sum(np.asarray(res.data.ci_high) > xlim[1]))
    assert sum(r.arrow_low for r in lay.rows_of("study")) == low
    assert sum(r.arrow_high for r in lay.rows_of("study")) == high
    # Each arrow ends on the axis limit.
    ends = sorted(round(a._posA_posB[1][0], 12) for a in arrows)
    assert set(ends) <= {xlim[0], xlim[1]}
    assert by_gid(inometa.plot_forest(res), "clip-arrow") == []
    check_clean(fig)


def test_reference_and_pooled_lines() -> None:
    res = cr_result()
    fig = inometa.plot_forest(res, ref=[0.5, 0.9])
    refs = by_gid(fig, "ref-line")
    assert len(refs) == 2
    assert [float(r.get_segments()[0][0][0]) for r in refs] == [0.5, 0.9]
    (pooled,) = by_gid(fig, "pooled-line")
    assert pooled.get_segments()[0][0][0] == pytest.approx(res.random.proportion)
    assert by_gid(inometa.plot_forest(res, preset="jama"), "pooled-line") == []


def test_texts_shown() -> None:
    res = cr_result(study_ci_method="wilson")
    fig = inometa.plot_forest(res, preset="jama", measure="CR/CRi rate")
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    joined = "\n".join(texts)
    assert "Kantarjian 2019" in joined
    assert "Overall" in joined
    assert "CR/CRi rate, %" in joined
    assert "Study 95% CIs: Wilson score" in joined


def test_labels_with_dollar_signs_are_not_mathtext() -> None:
    from matplotlib.text import Text

    res = inometa.metaprop([3, 4], [10, 12], labels=["$5 trial $x$", "B"])
    fig = inometa.plot_forest(res)
    check_clean(fig)
    (label,) = [t for t in fig.findobj(Text) if t.get_text() == "$5 trial $x$"]
    assert label.get_parse_math() is False


def test_glmm_with_every_study_at_zero_still_draws() -> None:
    res = inometa.metaprop([0, 0, 0], [10, 20, 30], method="glmm", labels=["A", "B", "C"])
    fig = inometa.plot_forest(res)
    (diamond,) = by_gid(fig, "diamond-random")
    assert diamond.get_xy()[:, 0].min() == pytest.approx(0.0)
    assert by_gid(fig, "prediction-interval") == []
    check_clean(fig)


def test_draws_into_a_given_axes() -> None:
    import matplotlib.pyplot as plt

    res = cr_result()
    lay = forest_layout(res)
    fig = plt.figure(figsize=(lay.width / 72 / 0.9, lay.height / 72 / 0.9))
    ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
    try:
        out = inometa.plot_forest(res, ax=ax)
        assert out is fig
        assert by_gid(fig, "diamond-random")
        assert texts_outside_figure(fig) == []
    finally:
        plt.close(fig)


def test_too_short_axes_warns() -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 1.5))
    try:
        with pytest.warns(UserWarning, match="needs"):
            inometa.plot_forest(s16_result(), ax=ax)
    finally:
        plt.close(fig)


def test_too_narrow_width_warns() -> None:
    with pytest.warns(UserWarning, match="widened"):
        inometa.plot_forest(s16_result(), width=60, show_common=True)


def test_user_rcparams_do_not_change_the_picture() -> None:
    import io

    import matplotlib

    res = cr_result()

    def png() -> bytes:
        buf = io.BytesIO()
        inometa.plot_forest(res).savefig(buf, format="png", dpi=72)
        return buf.getvalue()

    plain = png()
    with matplotlib.rc_context(
        {
            "font.size": 20,
            "font.family": "serif",
            "lines.linewidth": 5,
            "text.hinting": "force_autohint",
            "axes.facecolor": "yellow",
            "savefig.bbox": "tight",
        }
    ):
        styled = png()
    assert styled == plain


def test_another_font_is_measured_as_drawn() -> None:
    from dataclasses import replace

    from matplotlib.text import Text

    from inometa.plots import PRESETS

    serif = replace(PRESETS["jama"], font_family="DejaVu Serif")
    fig = inometa.plot_forest(s16_result(), preset=serif, columns={"Setting": S16_SETTING})
    check_clean(fig)
    label = next(t for t in fig.findobj(Text) if t.get_text() == "Abe 2008")
    assert label.get_fontfamily() == ["DejaVu Serif"]
