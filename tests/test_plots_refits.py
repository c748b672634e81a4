"""Leave-one-out and cumulative forests: rows read from the analysis tables, the full
analysis as reference, fixed-size squares, and clean drawings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import inometa
from inometa.plots.layout import arrange
from inometa.plots.refits import cumulative_content, leave_one_out_content
from tests.plots_support import (
    CR_LABELS,
    S16_YEARS,
    assert_clean,
    by_gid,
    cr_result,
    s16_result,
)


def plain(text: str) -> str:
    return text.replace("\u2007", "").replace("\u00a0", " ")


def test_leave_one_out_rows_are_the_table_rows() -> None:
    res = cr_result()
    table = inometa.leave_one_out(res)
    c = leave_one_out_content(res, table, scale="proportion", digits=4)
    studies = [r for r in c.rows if r.kind == "study"]
    assert [r.cells["label"] for r in studies] == CR_LABELS
    for r, (_, row) in zip(studies, table.iterrows(), strict=True):
        assert (r.estimate, r.low, r.high) == (row["estimate"], row["ci_low"], row["ci_high"])
        assert plain(r.cells["ci"]).startswith(f"{row['estimate']:.4f}")
        assert plain(r.cells["tau2"]) == f"{row['tau2']:.4f}"
        assert plain(r.cells["i2"]) == f"{100 * row['i2']:.0f}%"
        assert f"{row['pi_low']:.4f}" in r.cells["pi"]
        assert r.marker_size == 0.5 and math.isnan(r.weight)
    (full,) = [r for r in c.rows if r.kind == "pooled"]
    assert (full.estimate, full.low, full.high) == (
        res.random.proportion,
        *res.random.proportion_ci,
    )
    assert c.axis.pooled_line == res.random.proportion
    assert [col.key for col in c.columns] == ["label", "ci", "pi", "tau2", "i2"]


def test_leave_one_out_sorting_and_computed_table() -> None:
    res = cr_result()
    c = leave_one_out_content(res, sort_by="estimate")
    est = [r.estimate for r in c.rows if r.kind == "study"]
    assert est == sorted(est)
    with pytest.raises(ValueError, match="estimate, i2, tau2"):
        leave_one_out_content(res, sort_by="weight")


def test_tables_must_belong_to_the_result() -> None:
    res = cr_result()
    other = inometa.leave_one_out(cr_result(tau2_method="DL"))
    with pytest.raises(ValueError, match="other options"):
        leave_one_out_content(res, other)
    with pytest.raises(ValueError, match="lacks columns"):
        leave_one_out_content(res, inometa.leave_one_out(res).drop(columns="tau2"))
    with pytest.raises(ValueError, match="not the result's studies"):
        leave_one_out_content(res, inometa.leave_one_out(res).iloc[:3])
    with pytest.raises(ValueError, match="not both"):
        cumulative_content(res, inometa.cumulative(res), order=list(range(6)))


def test_cumulative_rows_in_the_order_with_the_order_column() -> None:
    res = s16_result()
    years = list(reversed(S16_YEARS))
    c = cumulative_content(res, order=years, order_title="Year")
    studies = [r for r in c.rows if r.kind == "study"]
    assert [r.cells["order"] for r in studies] == [str(y) for y in sorted(years)]
    assert all(r.cells["label"].startswith("+ ") for r in studies)
    assert [plain(r.cells["k"]) for r in studies] == [str(k) for k in range(1, 17)]
    # k = 1: no τ², I² or prediction interval to show.
    assert [studies[0].cells[key] for key in ("tau2", "i2", "pi")] == ["–", "–", "–"]
    assert [col.key for col in c.columns][:3] == ["label", "order", "k"]
    plain_order = cumulative_content(res)
    assert "order" not in [col.key for col in plain_order.columns]
    table = inometa.cumulative(res, order=years)
    assert "order" in [col.key for col in cumulative_content(res, table).columns]


def test_cumulative_dates_at_one_precision() -> None:
    # Reports dated as precisely as their sources give them; the column shows the coarsest.
    res = cr_result()
    mixed = ["2017", "2019-03-28", "2024-05", "2024-06-01", "2023-05", "2025"]
    c = cumulative_content(res, order=mixed, order_title="Year")
    shown = [r.cells["order"] for r in c.rows if r.kind == "study"]
    assert shown == ["2017", "2019", "2023", "2024", "2024", "2025"]
    months = ["2017-01", "2019-03-28", "2024-05", "2024-06-01", "2023-05", "2025-02-03"]
    c = cumulative_content(res, order=months, order_title="Date")
    shown = [r.cells["order"] for r in c.rows if r.kind == "study"]
    assert shown == ["2017-01", "2019-03", "2023-05", "2024-05", "2024-06", "2025-02"]
    stamps = pd.to_datetime(["2017-01-05", "2019-03-28", "2024-05-01"] * 2)
    c = cumulative_content(res, order=list(stamps), order_title="Date")
    assert [r.cells["order"] for r in c.rows if r.kind == "study"][:2] == [
        "2017-01-05",
        "2017-01-05",
    ]


def test_tau2_column_writes_zero_at_the_decimals_of_the_others() -> None:
    # The first two studies agree exactly (τ² = 0 after two), the third does not.
    res = inometa.metaprop([10, 20, 45, 12], [100, 200, 90, 60], labels=list("ABCD"))
    table = inometa.cumulative(res)
    assert table["tau2"].iloc[1] == 0.0 and table["tau2"].iloc[2] > 0
    for content in (cumulative_content(res, table), leave_one_out_content(res)):
        cells = [plain(r.cells["tau2"]) for r in content.rows if r.kind in ("study", "pooled")]
        shown = [t for t in cells if t != "–"]
        assert all(len(t.split(".")[1]) == 4 for t in shown), cells
    c = cumulative_content(res, table)
    assert plain(c.rows[1].cells["tau2"]) == "0.0000"
    # Padded with figure spaces to one width: the column lines up on the decimal point.
    assert len({len(r.cells["tau2"]) for r in c.rows[1:] if r.kind == "study"}) == 1


@pytest.fixture(scope="module")
def s16_tables() -> tuple[inometa.MetaPropResult, pd.DataFrame, pd.DataFrame]:
    res = s16_result()
    return res, inometa.leave_one_out(res), inometa.cumulative(res, order=S16_YEARS)


@pytest.mark.parametrize("preset", ["meta", "revman5", "jama"])
def test_drawn_clean_with_squares_at_the_estimates(
    preset: str, s16_tables: tuple[inometa.MetaPropResult, pd.DataFrame, pd.DataFrame]
) -> None:
    res, table, cumul = s16_tables
    fig = inometa.plot_leave_one_out(res, table, preset=preset, title="Leave-one-out")
    assert_clean(fig)
    (squares,) = by_gid(fig, "study-squares")
    np.testing.assert_allclose(squares.get_offsets()[:, 0], table["estimate"])
    assert len(set(squares.get_sizes())) == 1
    (diamond,) = by_gid(fig, "diamond-random")
    assert diamond.get_xy()[:, 0].min() == pytest.approx(res.random.proportion_ci.low)
    (line,) = by_gid(fig, "pooled-line")
    assert line.get_segments()[0][0][0] == pytest.approx(res.random.proportion)
    if preset == "jama":  # the other presets: image baselines
        assert_clean(inometa.plot_cumulative(res, cumul, order_title="Year", preset=preset))


def test_clipped_refits_get_arrows() -> None:
    res = cr_result()
    content = cumulative_content(res, xlim=(0.7, 0.9))
    lay = arrange(content)
    assert any(r.arrow_low or r.arrow_high for r in lay.rows_of("study"))
    fig = inometa.plot_cumulative(res, xlim=(0.7, 0.9))
    assert len(by_gid(fig, "clip-arrow")) == sum(r.arrow_low + r.arrow_high for r in lay.rows)
    assert any("Arrows" in note for note in content.footnotes)


def test_glmm_refits_draw() -> None:
    res = inometa.metaprop([0, 2, 5], [20, 35, 40], method="glmm", labels=list("ABC"))
    assert_clean(inometa.plot_leave_one_out(res))
