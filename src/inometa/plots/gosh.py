"""GOSH plot: the pooled estimate against I² for every subset of the studies (Olkin,
Dahabreh & Trikalinos 2012), read from :func:`inometa.gosh`.

Up to 2¹⁶ − 1 = 65,535 points: they are drawn small and translucent (or binned in
hexagons, ``kind="hexbin"``) and rasterised inside vector files, so the plot renders in a
fraction of a second and PDFs stay small. Marginal histograms show the distributions of
the estimate and of I². Subsets that contain a chosen study can be highlighted: a cluster
made of them points to that study as a source of heterogeneity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .axis import auto_limits, nice_ticks, tick_labels
from .baujat import check_table
from .style import Preset, get_preset, get_scale, mm_to_pt, resolve_width

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ..core.results import MetaPropResult

__all__ = ["GoshLayout", "gosh_layout", "plot_gosh"]

_KINDS = ("scatter", "hexbin")
_HIGHLIGHT = "#c0392b"


@dataclass(frozen=True)
class GoshLayout:
    """A GOSH plot as data: per subset, the proportion-scale estimate and I² (fraction);
    which subsets contain the highlighted study; the full analysis' point (estimate, I²);
    axes (``ylim`` in percent); size."""

    estimate: npt.NDArray[np.float64]
    i2: npt.NDArray[np.float64]
    highlight: npt.NDArray[np.bool_] | None
    highlight_label: str
    full: tuple[float, float] | None
    kind: str
    alpha: float
    marker: float
    bins: int
    xlim: tuple[float, float]
    xticks: tuple[float, ...]
    xtick_labels: tuple[str, ...]
    ylim: tuple[float, float]
    xlabel: str
    ylabel: str
    exact: bool
    title: str | None
    preset: Preset
    width: float
    height: float
    scale_factor: float


def gosh_layout(
    result: MetaPropResult,
    table: pd.DataFrame | None = None,
    *,
    highlight: str | None = None,
    kind: str = "scatter",
    alpha: float | None = None,
    bins: int = 40,
    scale: str = "percent",
    measure: str = "Proportion",
    preset: str | Preset = "meta",
    fontsize: float | None = None,
    width: float | str | None = "single",
    height: float | None = None,
    title: str | None = None,
) -> GoshLayout:
    """The content of :func:`plot_gosh` as data (no drawing).

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.gosh import gosh_layout
    >>> res = inometa.metaprop([10, 20, 30, 12], [50, 60, 70, 40], labels=list("ABCD"))
    >>> lay = gosh_layout(res, highlight="C")
    >>> len(lay.estimate), int(lay.highlight.sum())
    (11, 7)
    """
    if table is None:
        from ..analysis.sensitivity import gosh

        table = gosh(result)
    check_table(table, result, ("k", "proportion", "i2"), "gosh")
    if kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}; valid values are: hexbin, scatter")
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    p = get_preset(preset).with_fontsize(fontsize)
    sc = get_scale(scale)
    est = np.asarray(table["proportion"], dtype=float)
    i2 = np.asarray(table["i2"], dtype=float)
    # One-study subsets have no heterogeneity to show (I² is 0 by definition).
    keep = (np.asarray(table["k"]) > 1) & np.isfinite(est) & np.isfinite(i2)
    if not keep.any():
        raise ValueError("no subset with two or more studies and finite values to plot")
    mask: npt.NDArray[np.bool_] | None = None
    if highlight is not None:
        if kind == "hexbin":
            raise ValueError("highlight needs kind='scatter'")
        if highlight not in table.columns or highlight in ("k", "proportion", "i2"):
            known = [str(c) for c in table.columns[7:]]
            raise ValueError(
                f"highlight: no study {highlight!r} in the GOSH table; studies: " + ", ".join(known)
            )
        mask = np.asarray(table[highlight], dtype=bool)[keep]
    n = int(keep.sum())
    a = float(alpha) if alpha is not None else float(np.clip(30 / math.sqrt(n), 0.05, 0.8))
    if not 0 < a <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    full_rows = np.flatnonzero(np.asarray(table["k"]) == result.k)
    full = (
        (float(est[full_rows[0]]), float(i2[full_rows[0]]))
        if full_rows.size
        else (result.random.proportion, result.heterogeneity.i2)
    )
    full_ok = all(math.isfinite(v) for v in full)
    xs = est[keep]
    lo, hi = auto_limits([float(xs.min()), float(xs.max())], sc.factor)
    ticks = nice_ticks(lo, hi, sc.factor)
    y_top = min(1.0, max(0.1, float(i2[keep].max()) * 1.05))
    y_bottom = max(0.0, float(i2[keep].min()) - 0.05 * y_top)
    w = resolve_width(width) or mm_to_pt(89.0)
    return GoshLayout(
        estimate=xs,
        i2=i2[keep],
        highlight=mask,
        highlight_label=f"Subsets with {highlight}" if highlight is not None else "",
        full=full if full_ok else None,
        kind=kind,
        alpha=a,
        marker=0.3 * p.fontsize if n > 2000 else 0.45 * p.fontsize,
        bins=int(bins),
        xlim=(lo, hi),
        xticks=ticks,
        xtick_labels=tick_labels(ticks, sc),
        ylim=(100 * y_bottom, 100 * y_top),
        xlabel=sc.title(measure),
        ylabel="I², %",
        exact=bool(table.attrs.get("exact", True)),
        title=title,
        preset=p,
        width=w,
        height=float(height if height is not None else w),
        scale_factor=sc.factor,
    )


def plot_gosh(
    result: MetaPropResult,
    table: pd.DataFrame | None = None,
    *,
    highlight: str | None = None,
    kind: str = "scatter",
    alpha: float | None = None,
    bins: int = 40,
    scale: str = "percent",
    measure: str = "Proportion",
    preset: str | Preset = "meta",
    fontsize: float | None = None,
    width: float | str | None = "single",
    height: float | None = None,
    title: str | None = None,
) -> Figure:
    """GOSH plot: pooled estimate (x, proportion scale) against I² (y) for every subset.

    Each point is the random-effects analysis of one subset of the studies (of two or
    more), from :func:`inometa.gosh`; histograms at the top and right show the marginal
    distributions. The analysis of all studies is marked with a cross.

    Parameters
    ----------
    result
        The analysis (:class:`~inometa.core.results.MetaPropResult`).
    table
        The table of :func:`inometa.gosh` for ``result`` (computed if None: all 2ᵏ − 1
        subsets up to a million, else a random sample).
    highlight
        A study label: subsets containing it are drawn in a second colour (and have their
        own histograms).
    kind
        ``"scatter"`` (default: small translucent points, rasterised in vector files) or
        ``"hexbin"`` (counts in hexagons, logarithmic shading).
    alpha
        Opacity of the points (default: from the number of subsets, 0.05–0.8).
    bins
        Number of bins of the marginal histograms (and hexagons across).
    scale, measure
        Display scale of the estimate (``"percent"``, ``"proportion"``, ``"per1000"``) and
        the measure's name in the axis title.
    preset, fontsize
        Look and font size, as in :func:`inometa.plot_forest`.
    width, height
        Width (``"single"`` by default, ``"double"``, or mm) and height in points (default:
        square).
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([10, 20, 30, 12, 40, 25], [50, 60, 70, 40, 60, 45],
    ...                        labels=list("ABCDEF"))
    >>> fig = inometa.plot_gosh(res, highlight="E")
    >>> len(fig.axes)
    3
    """
    layout = gosh_layout(
        result,
        table,
        highlight=highlight,
        kind=kind,
        alpha=alpha,
        bins=bins,
        scale=scale,
        measure=measure,
        preset=preset,
        fontsize=fontsize,
        width=width,
        height=height,
        title=title,
    )
    return draw_gosh(layout)


def draw_gosh(layout: GoshLayout) -> Figure:
    """Draw a :class:`GoshLayout` into a new figure (main panel and two marginal panels).

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([10, 20, 30, 12], [50, 60, 70, 40])
    >>> len(draw_gosh(gosh_layout(res, kind="hexbin")).axes)
    3
    """
    from matplotlib.lines import Line2D

    from .draw import new_figure, style_context
    from .labels import legend_columns
    from .text import measurer_for

    p = layout.preset
    col = p.colours
    fs = p.fontsize
    base = col.funnel_point
    with style_context(fs, p.font_family):
        fig = new_figure(layout.width, layout.height, fs, p.font_family, layout="constrained")
        grid = fig.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4))
        ax = fig.add_subplot(grid[1, 0])
        top = fig.add_subplot(grid[0, 0], sharex=ax)
        right = fig.add_subplot(grid[1, 1], sharey=ax)
        ax.set_gid("gosh-panel")
        x = layout.estimate
        y = layout.i2 * 100
        groups: list[tuple[npt.NDArray[np.bool_], str, str]]
        if layout.highlight is None:
            groups = [(np.ones(len(x), dtype=bool), base, "Subsets")]
        else:
            groups = [
                (~layout.highlight, base, "Other subsets"),
                (layout.highlight, _HIGHLIGHT, layout.highlight_label),
            ]
        if layout.kind == "hexbin":
            ax.hexbin(
                x,
                y,
                gridsize=layout.bins,
                bins="log",
                cmap="Greys",
                mincnt=1,
                linewidths=0.0,
                extent=(*layout.xlim, *layout.ylim),
                gid="gosh-hexbin",
                rasterized=True,
            )
        else:
            for sel, colour, _label in groups:
                ax.scatter(
                    x[sel],
                    y[sel],
                    s=layout.marker**2,
                    color=colour,
                    alpha=layout.alpha,
                    linewidths=0.0,
                    rasterized=True,
                    gid="gosh-points",
                )
        ax.set_xlim(*layout.xlim)
        ax.set_ylim(*layout.ylim)
        ax.set_xticks(list(layout.xticks), labels=list(layout.xtick_labels))
        ax.set_xlabel(layout.xlabel)
        ax.set_ylabel(layout.ylabel)
        handles: list[Any] = []
        if layout.full is not None:
            ax.plot(
                [layout.full[0]],
                [layout.full[1] * 100],
                marker="x",
                markersize=0.9 * fs,
                markeredgewidth=1.4,
                color="black",
                linestyle="none",
                zorder=5,
                gid="gosh-full",
            )
            handles.append(
                Line2D([], [], marker="x", color="black", linestyle="none", label="All studies")
            )
        if layout.highlight is not None:
            for _sel, colour, label in groups:
                handles.append(
                    Line2D([], [], marker="o", color=colour, linestyle="none", label=label)
                )
        x_edges = np.linspace(*layout.xlim, layout.bins + 1).tolist()
        y_edges = np.linspace(*layout.ylim, layout.bins + 1).tolist()
        for sel, colour, _label in groups:
            top.hist(x[sel], bins=x_edges, color=colour, alpha=0.6, gid="gosh-hist-estimate")
            right.hist(
                y[sel],
                bins=y_edges,
                orientation="horizontal",
                color=colour,
                alpha=0.6,
                gid="gosh-hist-i2",
            )
        for marginal in (top, right):
            for side in ("top", "right"):
                marginal.spines[side].set_visible(False)
        top.tick_params(axis="x", labelbottom=False)
        right.tick_params(axis="y", labelleft=False)
        top.set_ylabel("Subsets")
        right.set_xlabel("Subsets")
        for marginal, axis in ((top, top.yaxis), (right, right.xaxis)):
            axis.set_major_locator(_count_locator())
            marginal.set_gid("gosh-marginal")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if layout.title:
            fig.suptitle(layout.title, fontweight="bold", x=0.02, ha="left", fontsize=fs + 1)
        if handles:
            fig.legend(
                handles=handles,
                loc="outside lower center",
                ncols=legend_columns(
                    [str(h.get_label()) for h in handles],
                    layout.width,
                    fs,
                    measurer_for(p.font_family),
                    most=3,
                ),
                frameon=False,
                fontsize=fs,
            )
    return fig


def _count_locator() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=2, integer=True, min_n_ticks=1)
