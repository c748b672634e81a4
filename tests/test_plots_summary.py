"""plot_summary_forest: one row per outcome."""

from __future__ import annotations

import numpy as np
import pytest

import inometa
from inometa.plots.summary import summary_content
from tests.plots_support import (
    assert_clean,
    by_gid,
    cr_result,
    s16_result,
)


def outcomes() -> dict[str, inometa.MetaPropResult]:
    return {
        "Overall response": s16_result(),
        "CR/CRi": cr_result(),
        "MRD negativity among responders": inometa.metaprop([20, 30, 40, 12], [40, 50, 70, 30]),
        "Veno-occlusive disease": inometa.metaprop([3, 5, 10, 1, 2], [60, 80, 120, 30, 40]),
        "Single study": inometa.metaprop([4], [25]),
    }


def test_one_pooled_row_per_outcome_in_order() -> None:
    res = outcomes()
    c = summary_content(res)
    assert [r.kind for r in c.rows] == ["pooled"] * 5
    assert [r.cells["label"] for r in c.rows] == list(res)
    for r, result in zip(c.rows, res.values(), strict=True):
        assert (r.estimate, r.low, r.high) == (
            result.random.proportion,
            *result.random.proportion_ci,
        )
        assert r.cells["k"].strip() == str(result.k)
        assert r.cells["events_total"] == f"{result.data.events.sum()}/{result.data.n.sum()}"
        pi = result.prediction
        assert (r.pi_low, r.pi_high) == pytest.approx((pi.proportion_low, pi.proportion_high))
    assert c.rows[-1].cells["i2"] == "–"  # k = 1: no heterogeneity


def test_common_effect_summary_has_no_prediction_intervals() -> None:
    c = summary_content(outcomes(), model="common")
    assert all(np.isnan(r.pi_low) for r in c.rows)
    assert all(r.model == "common" for r in c.rows)
    assert "pi" not in [col.key for col in c.columns]


def test_footnotes_group_outcomes_by_method() -> None:
    res = {"A": cr_result(ci_method="hk"), "B": cr_result(), "C": s16_result()}
    foot = summary_content(res).footnotes
    assert any(f.startswith("B, C: inverse variance") for f in foot)
    assert any(f.startswith("A: inverse variance") for f in foot)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="non-empty mapping"):
        summary_content({})
    with pytest.raises(ValueError, match="different confidence levels"):
        summary_content({"A": cr_result(), "B": cr_result(level=0.9)})
    with pytest.raises(ValueError, match="common, random"):
        summary_content({"A": cr_result()}, model="fixed")


@pytest.mark.parametrize("preset", ["meta", "jama"])
def test_drawn_summary_is_clean_with_diamonds_at_the_estimates(preset: str) -> None:
    res = outcomes()
    fig = inometa.plot_summary_forest(res, preset=preset, ref=0.5, title="Pooled outcomes")
    assert_clean(fig)
    diamonds = by_gid(fig, "diamond-random")
    assert len(diamonds) == len(res)
    for d, result in zip(diamonds, res.values(), strict=True):
        xs = d.get_xy()[:, 0]
        assert xs.min() == pytest.approx(result.random.proportion_ci.low)
        assert xs.max() == pytest.approx(result.random.proportion_ci.high)
    lines = by_gid(fig, "prediction-interval")
    assert len(lines) == len(res)
