"""Baujat, GOSH and drapery plots: content as data (read from the analysis tables and the
result, nothing recomputed) and drawings (points and curves where the data say, clean text)."""

from __future__ import annotations

import io
import math
import time

import numpy as np
import pytest
from scipy import stats

import inometa
from inometa.plots.baujat import baujat_layout
from inometa.plots.drapery import drapery_layout
from inometa.plots.gosh import gosh_layout
from tests.plots_support import (
    CR_LABELS,
    CR_N,
    assert_clean,
    by_gid,
    cr_result,
    s16_result,
    s60_result,
)


def clean(fig: object) -> None:
    assert_clean(fig)


# -- Baujat --------------------------------------------------------------------------------


def test_baujat_points_are_the_table_and_the_extremes_are_labelled() -> None:
    res = s16_result()
    table = inometa.baujat(res)
    lay = baujat_layout(res, table, max_labels=3)
    np.testing.assert_array_equal(lay.x, table["x"])
    np.testing.assert_array_equal(lay.y, table["y"])
    x, y = np.asarray(table["x"]), np.asarray(table["y"])
    score = np.maximum(x / x.max(), y / y.max())
    assert list(lay.labelled) == list(np.argsort(-score, kind="stable")[:3])
    assert lay.xlim[0] == 0 and lay.xlim[1] > x.max() and lay.ylim[1] > y.max()
    assert len(baujat_layout(res, table, labels="all").labelled) == 16
    assert baujat_layout(res, table, labels=None).labelled == ()
    assert baujat_layout(res, table, labels=[res.data.labels[2]]).labelled == (2,)
    with pytest.raises(ValueError, match="no study named"):
        baujat_layout(res, table, labels=["Nobody"])
    with pytest.raises(ValueError, match="other options"):
        baujat_layout(res, inometa.baujat(s16_result(tau2_method="DL")))


def test_baujat_drawn_with_labels_beside_their_points() -> None:
    res = s60_result(tau2_method="DL")
    fig = inometa.plot_baujat(res, max_labels=8, title="Baujat")
    (pts,) = by_gid(fig, "baujat-studies")
    table = inometa.baujat(res)
    np.testing.assert_allclose(pts.get_offsets()[:, 0], table["x"])
    labels = by_gid(fig, "baujat-label")
    assert len([t for t in labels if t.get_visible()]) == 8
    assert_clean(fig)
    assert_clean(inometa.plot_baujat(cr_result(), labels="all", preset="jama"))


# -- GOSH ----------------------------------------------------------------------------------


def test_gosh_points_are_the_subsets_of_two_or_more() -> None:
    res = cr_result()
    table = inometa.gosh(res)
    lay = gosh_layout(res, table, highlight=CR_LABELS[1], scale="proportion")
    keep = table["k"] > 1
    np.testing.assert_array_equal(lay.estimate, table["proportion"][keep])
    np.testing.assert_array_equal(lay.i2, table["i2"][keep])
    np.testing.assert_array_equal(lay.highlight, table[CR_LABELS[1]][keep])
    full = table[table["k"] == 6].iloc[0]
    assert lay.full == (full["proportion"], full["i2"])
    assert lay.xlim[0] <= lay.estimate.min() and lay.estimate.max() <= lay.xlim[1]
    assert lay.xlabel == "Proportion"
    with pytest.raises(ValueError, match="no study"):
        gosh_layout(res, table, highlight="Nobody")
    with pytest.raises(ValueError, match="kind='scatter'"):
        gosh_layout(res, table, highlight=CR_LABELS[1], kind="hexbin")


def test_gosh_of_65535_subsets_draws_fast_and_stays_small_as_vector() -> None:
    res = s16_result(tau2_method="DL")
    table = inometa.gosh(res)
    assert len(table) == 2**16 - 1
    start = time.perf_counter()
    fig = inometa.plot_gosh(res, table, highlight=res.data.labels[3])
    fig.savefig(io.BytesIO(), format="png", dpi=100)
    assert time.perf_counter() - start < 5
    (main, highlighted) = by_gid(fig, "gosh-points")
    assert len(main.get_offsets()) + len(highlighted.get_offsets()) == 2**16 - 1 - 16
    assert main.get_rasterized() and 0 < main.get_alpha() < 0.5
    pdf = io.BytesIO()
    fig.savefig(pdf, format="pdf", dpi=100)
    assert len(pdf.getvalue()) < 400_000
    assert_clean(fig)
    hexes = inometa.plot_gosh(res, table, kind="hexbin")
    assert by_gid(hexes, "gosh-hexbin")
    assert_clean(hexes)


# -- drapery -------------------------------------------------------------------------------


def crossing(x: np.ndarray, p: np.ndarray, level: float) -> tuple[float, float]:
    """Where an increasing-then-decreasing curve crosses ``level`` on either side."""
    top = int(np.argmax(p))
    left = float(np.interp(level, p[: top + 1], x[: top + 1]))
    right = float(np.interp(level, p[top:][::-1], x[top:][::-1]))
    return left, right


def test_drapery_curves_cross_the_significance_line_at_the_intervals() -> None:
    res = cr_result(ci_method="hk")  # a t-based pooled CI
    lay = drapery_layout(res, points=4001)
    *studies, pooled = lay.curves
    assert pooled.pooled and pooled.p.max() == pytest.approx(1.0)
    assert crossing(pooled.x, pooled.p, 0.05) == pytest.approx(
        tuple(res.random.proportion_ci), abs=2e-4
    )
    z = stats.norm.isf(0.025)
    for c, yi, vi in zip(studies, res.data.yi, res.data.vi, strict=True):
        wald = stats.logistic.cdf([yi - z * math.sqrt(vi), yi + z * math.sqrt(vi)])
        assert crossing(c.x, c.p, 0.05) == pytest.approx(tuple(wald), abs=2e-4)
    assert lay.prediction == (res.prediction.proportion_low, res.prediction.proportion_high)
    assert lay.alpha == pytest.approx(0.05)


def test_drapery_freeman_tukey_study_curves_use_their_own_n() -> None:
    res = cr_result(transform="ft")
    lay = drapery_layout(res)
    tr = inometa.get_transform("ft")
    for c, yi, n in zip(lay.curves[:-1], res.data.yi, CR_N, strict=True):
        top = int(np.argmax(c.p))
        assert c.x[top] == pytest.approx(float(tr.inverse(yi, n)))
    pooled = lay.curves[-1]
    top = int(np.argmax(pooled.p))
    assert pooled.x[top] == pytest.approx(res.random.proportion)


def test_drapery_drawn_clean_with_band_for_the_prediction_interval() -> None:
    res = s16_result()
    fig = inometa.plot_drapery(res, title="Drapery")
    (studies,) = by_gid(fig, "drapery-studies")
    assert len(studies.get_segments()) == 16
    (band,) = by_gid(fig, "drapery-prediction")
    assert (band.get_x(), band.get_x() + band.get_width()) == pytest.approx(
        (res.prediction.proportion_low, res.prediction.proportion_high)
    )
    assert_clean(fig)
    assert_clean(inometa.plot_drapery(cr_result(transform="ft"), preset="revman5"))


def test_drapery_of_an_all_zero_glmm_has_no_pooled_curve() -> None:
    res = inometa.metaprop([0, 0, 0], [10, 20, 30], method="glmm")
    lay = drapery_layout(res)
    assert not any(c.pooled for c in lay.curves) and lay.prediction is None
    assert any("no pooled curve" in n for n in lay.notes)
    fig = inometa.plot_drapery(res)
    assert_clean(fig)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "No pooled curve: estimate at the boundary" in legend


def test_baujat_and_drapery_draw_into_given_axes() -> None:
    import matplotlib.pyplot as plt

    res = cr_result()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.5), layout="constrained")
    try:
        assert inometa.plot_baujat(res, ax=left) is fig
        assert inometa.plot_drapery(res, ax=right) is fig
        assert by_gid(fig, "baujat-studies") and by_gid(fig, "drapery-pooled")
        assert right.get_legend() is not None
    finally:
        plt.close(fig)
