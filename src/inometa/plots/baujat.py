"""Baujat plot: each study's contribution to the heterogeneity against its influence on the
pooled result (Baujat et al. 2002), read from :func:`inometa.baujat`.

Studies in the upper right both drive the heterogeneity and move the result. The most
extreme studies are labelled, beside their points, without overlapping each other or a
marker (:mod:`~inometa.plots.labels`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from .style import Preset, get_preset, mm_to_pt, resolve_width

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..core.results import MetaPropResult

__all__ = ["BaujatLayout", "baujat_layout", "plot_baujat"]


@dataclass(frozen=True)
class BaujatLayout:
    """A Baujat plot as data: one point per study, which are labelled, axes and size.

    ``labelled`` lists the indices of the labelled studies, most extreme first (the order
    in which their labels are placed).
    """

    x: tuple[float, ...]
    y: tuple[float, ...]
    labels: tuple[str, ...]
    labelled: tuple[int, ...]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    xlabel: str
    ylabel: str
    title: str | None
    preset: Preset
    width: float
    height: float


def check_table(
    table: pd.DataFrame, result: MetaPropResult, columns: Sequence[str], what: str
) -> None:
    """The table has ``columns`` and was computed from ``result`` (same options).

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([10, 20, 30], [50, 60, 70])
    >>> check_table(inometa.baujat(res), res, ("label", "x", "y"), "baujat")
    """
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"the {what} table lacks columns {', '.join(missing)}; pass the table made by "
            f"inometa.{what}(result) or None"
        )
    options = table.attrs.get("options")
    if options is not None and options != asdict(result.options):
        raise ValueError(
            f"the {what} table was computed with other options than the result "
            "(table.attrs['options'] differs); recompute it from this result"
        )


def _extremes(x: np.ndarray, y: np.ndarray, count: int) -> list[int]:
    """Indices of the ``count`` points furthest out, each axis scaled to its maximum."""
    sx = x / x.max() if x.max() > 0 else x
    sy = y / y.max() if y.max() > 0 else y
    score = np.maximum(sx, sy)
    order = sorted(range(len(x)), key=lambda i: (-score[i], i))
    return order[:count]


def baujat_layout(
    result: MetaPropResult,
    table: pd.DataFrame | None = None,
    *,
    labels: str | Sequence[str] | None = "extreme",
    max_labels: int = 5,
    preset: str | Preset = "meta",
    fontsize: float | None = None,
    width: float | str | None = "single",
    height: float | None = None,
    title: str | None = None,
) -> BaujatLayout:
    """The content of :func:`plot_baujat` as data (no drawing).

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.baujat import baujat_layout
    >>> res = inometa.metaprop([10, 20, 30, 12, 40], [50, 60, 70, 40, 60], labels=list("ABCDE"))
    >>> lay = baujat_layout(res, max_labels=2)
    >>> [lay.labels[i] for i in lay.labelled]
    ['E', 'A']
    """
    if table is None:
        from ..analysis.sensitivity import baujat

        table = baujat(result)
    check_table(table, result, ("label", "x", "y"), "baujat")
    if max_labels < 0:
        raise ValueError(f"max_labels must be >= 0, got {max_labels}")
    p = get_preset(preset).with_fontsize(fontsize)
    x = np.asarray(table["x"], dtype=float)
    y = np.asarray(table["y"], dtype=float)
    names = tuple(str(v) for v in table["label"])
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        raise ValueError("the Baujat coordinates are all missing (NaN); nothing to plot")
    xf, yf = np.where(finite, x, 0.0), np.where(finite, y, 0.0)
    if labels is None or labels == "none":
        chosen: list[int] = []
    elif labels == "extreme":
        chosen = [i for i in _extremes(xf, yf, max_labels) if finite[i]]
    elif labels == "all":
        chosen = [i for i in _extremes(xf, yf, len(x)) if finite[i]]
    elif isinstance(labels, str):
        raise ValueError(
            f"unknown labels {labels!r}; valid values are: extreme, all, none, or a list of "
            "study labels"
        )
    else:
        unknown = [lab for lab in labels if lab not in names]
        if unknown:
            raise ValueError(f"labels: no study named {unknown[0]!r} in the table")
        wanted = set(labels)
        chosen = [i for i in _extremes(xf, yf, len(x)) if names[i] in wanted and finite[i]]

    def upper(v: np.ndarray) -> float:
        top = float(v[finite].max())
        return 1.1 * top if top > 0 else 1.0

    w = resolve_width(width) or mm_to_pt(89.0)
    h = height if height is not None else 0.8 * w
    return BaujatLayout(
        x=tuple(float(v) for v in x),
        y=tuple(float(v) for v in y),
        labels=names,
        labelled=tuple(chosen),
        xlim=(0.0, upper(xf)),
        ylim=(0.0, upper(yf)),
        xlabel="Contribution to overall heterogeneity",
        ylabel="Influence on overall result",
        title=title,
        preset=p,
        width=w,
        height=float(h),
    )


def plot_baujat(
    result: MetaPropResult,
    table: pd.DataFrame | None = None,
    *,
    labels: str | Sequence[str] | None = "extreme",
    max_labels: int = 5,
    preset: str | Preset = "meta",
    fontsize: float | None = None,
    width: float | str | None = "single",
    height: float | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Baujat plot: contribution to heterogeneity (x) against influence on the result (y).

    x is each study's squared Pearson residual, (yᵢ − μ̂)²/(τ² + vᵢ); y the squared change
    of the pooled estimate when the study is left out, scaled by its variance — both as
    computed by :func:`inometa.baujat` (metafor's ``baujat``), read here, not recomputed.

    Parameters
    ----------
    result
        The analysis (:class:`~inometa.core.results.MetaPropResult`).
    table
        The table of :func:`inometa.baujat` for ``result`` (computed if None).
    labels
        ``"extreme"`` (default: the ``max_labels`` studies furthest out on either axis),
        ``"all"``, ``"none"``/None, or a list of study labels. Labels are placed beside their
        points without overlapping; one that finds no free place is left out with a warning.
    max_labels
        How many studies ``"extreme"`` labels.
    preset, fontsize
        Look and font size, as in :func:`inometa.plot_forest`.
    width, height
        Width (``"single"`` by default, ``"double"``, or mm) and height in points.
    title
        Figure title.
    ax
        Draw into this Axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([10, 20, 30, 12, 40], [50, 60, 70, 40, 60], labels=list("ABCDE"))
    >>> fig = inometa.plot_baujat(res, labels="all")
    >>> len(fig.axes)
    1
    """
    layout = baujat_layout(
        result,
        table,
        labels=labels,
        max_labels=max_labels,
        preset=preset,
        fontsize=fontsize,
        width=width,
        height=height,
        title=title,
    )
    return draw_baujat(layout, ax=ax)


def draw_baujat(layout: BaujatLayout, ax: Axes | None = None) -> Figure:
    """Draw a :class:`BaujatLayout` into a new figure or into ``ax``.

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([10, 20, 30, 12], [50, 60, 70, 40])
    >>> len(draw_baujat(baujat_layout(res)).axes)
    1
    """
    from .draw import frame_axes, plot_axes, style_context
    from .labels import place_labels
    from .text import measurer_for

    p = layout.preset
    fs = p.fontsize
    with style_context(fs, p.font_family):
        fig, ax = plot_axes(layout.width, layout.height, p, ax)
        frame_axes(ax, layout.xlim, layout.ylim, layout.xlabel, layout.ylabel, layout.title)
        pts = [(x, y) for x, y in zip(layout.x, layout.y, strict=True) if math.isfinite(x + y)]
        marker = 0.55 * fs
        ax.scatter(
            [q[0] for q in pts],
            [q[1] for q in pts],
            s=marker**2,
            color=p.colours.funnel_point,
            edgecolors="white",
            linewidths=0.4,
            zorder=4,
            clip_on=False,
            gid="baujat-studies",
        )
        place_labels(
            fig,
            ax,
            [(layout.x[i], layout.y[i], layout.labels[i]) for i in layout.labelled],
            pts,
            fs,
            measurer_for(p.font_family),
            marker=marker,
            what="baujat",
        )
    return fig
