"""Drapery plot (Rücker & Schwarzer 2021): p-value functions on the proportion axis.

For a value θ₀, the two-sided p-value of H₀: θ = θ₀ is drawn against θ₀ — one curve per
study and one for the pooled random-effects estimate; where a curve crosses p = 1 − level
are the bounds of the corresponding confidence interval, so the plot shows every
confidence level at once. The prediction interval is a horizontal band at that line.

Each curve is the p-value function of an estimate and its standard error on the model
scale (logit, arcsine …), mapped to proportions point by point with the transform's
inverse: a study's curve uses yᵢ and √vᵢ (and, for Freeman–Tukey, the study's own n), the
pooled curve the random-effects estimate, its SE and the result's back-transformation n.
The pooled curve uses the reference distribution of the result's CI (normal, or t with the
CI's df for Hartung–Knapp and t intervals), so it crosses p = 1 − level exactly at the
reported CI. Nothing is estimated here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from ..core.transforms import get_transform
from .axis import axis_limits, axis_ticks, tick_labels
from .style import Preset, get_preset, get_scale, mm_to_pt, resolve_width

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..core.results import MetaPropResult

__all__ = ["Curve", "DraperyLayout", "drapery_layout", "plot_drapery"]

FloatArray = npt.NDArray[np.float64]
_SCALE_NAMES = {
    "raw": "proportion",
    "log": "log",
    "logit": "logit",
    "arcsine": "arcsine",
    "ft": "Freeman–Tukey",
}


@dataclass(frozen=True)
class Curve:
    """One p-value function: proportions ``x`` (increasing) and p-values ``p``."""

    label: str
    x: FloatArray
    p: FloatArray
    pooled: bool = False


@dataclass(frozen=True)
class DraperyLayout:
    """A drapery plot as data: the curves, the prediction band, the significance line."""

    curves: tuple[Curve, ...]
    prediction: tuple[float, float] | None
    alpha: float
    level_text: str
    xlim: tuple[float, float]
    xticks: tuple[float, ...]
    xtick_labels: tuple[str, ...]
    xlabel: str
    ylabel: str
    study_label: str
    pooled_label: str
    title: str | None
    notes: tuple[str, ...]
    preset: Preset
    width: float
    height: float


def _curve(
    centre: float, se: float, inverse: Any, n: Any, points: int, df: float | None
) -> tuple[FloatArray, FloatArray]:
    """p(θ₀) = 2·P(|Z| ≥ |θ₀ − centre|/se) on a grid of model-scale θ₀, mapped to
    proportions; the grid reaches p ≈ 10⁻⁴ on both sides."""
    dist = stats.norm if df is None else stats.t(df)
    reach = float(dist.isf(5e-5))
    # Denser near the centre, where the curve turns.
    u = np.linspace(-1.0, 1.0, points)
    z = reach * np.sign(u) * np.abs(u) ** 1.5
    theta = centre + se * z
    p = 2 * dist.sf(np.abs(z))
    x = np.asarray(inverse(theta, n), dtype=float)
    return x, np.asarray(p, dtype=float)


def drapery_layout(
    result: MetaPropResult,
    *,
    prediction: bool = True,
    points: int = 201,
    scale: str = "percent",
    measure: str = "Proportion",
    xlim: tuple[float, float] | None = None,
    xticks: Sequence[float] | None = None,
    preset: str | Preset = "meta",
    fontsize: float | None = None,
    width: float | str | None = "single",
    height: float | None = None,
    title: str | None = None,
) -> DraperyLayout:
    """The content of :func:`plot_drapery` as data (no drawing).

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.drapery import drapery_layout
    >>> res = inometa.metaprop([10, 20, 30, 12], [50, 60, 70, 40])
    >>> lay = drapery_layout(res)
    >>> len(lay.curves), lay.curves[-1].pooled, float(lay.curves[-1].p.max())
    (5, True, 1.0)
    """
    if points < 11 or points % 2 == 0:
        raise ValueError(f"points must be an odd number >= 11, got {points}")
    p = get_preset(preset).with_fontsize(fontsize)
    sc = get_scale(scale)
    o = result.options
    tr = get_transform(o.transform)
    d = result.data
    yi, vi = np.asarray(d.yi, dtype=float), np.asarray(d.vi, dtype=float)
    n_study = np.asarray(d.n_used, dtype=float) if tr.needs_n else None
    curves: list[Curve] = []
    notes: list[str] = []
    for i, label in enumerate(d.labels):
        if not (math.isfinite(yi[i]) and math.isfinite(vi[i]) and vi[i] > 0):
            notes.append(f"no curve for '{label}' (no model-scale value)")
            continue
        n_i = None if n_study is None else n_study[i]
        x, pv = _curve(yi[i], math.sqrt(vi[i]), tr.inverse, n_i, points, None)
        curves.append(Curve(label, x, pv))
    r = result.random
    if math.isfinite(r.estimate) and math.isfinite(r.se) and r.se > 0:
        x, pv = _curve(r.estimate, r.se, tr.inverse, result.backtransform_n, points, r.df)
        curves.append(Curve("Random effects model", x, pv, pooled=True))
    else:
        notes.append("no pooled curve: estimate at the boundary")
    pi = (result.prediction.proportion_low, result.prediction.proportion_high)
    show_pi = prediction and all(math.isfinite(v) for v in pi)

    # The axis holds every curve down to p = 0.001, the pooled CI and the PI.
    values: list[float] = []
    for c in curves:
        inside = c.x[c.p >= 1e-3]
        values.extend([float(inside.min()), float(inside.max())])
    values.extend(v for v in (r.proportion, *r.proportion_ci) if math.isfinite(v))
    if show_pi:
        values.extend(pi)
    limits = axis_limits(xlim, values or [0.0, 1.0], sc)
    ticks = axis_ticks(xticks, limits, sc)
    lev = f"{100 * o.level:g}%"
    scale_name = _SCALE_NAMES.get(o.transform, o.transform)
    w = resolve_width(width) or mm_to_pt(89.0)
    return DraperyLayout(
        curves=tuple(curves),
        prediction=pi if show_pi else None,
        alpha=1 - o.level,
        level_text=lev,
        xlim=limits,
        xticks=ticks,
        xtick_labels=tick_labels(ticks, sc),
        xlabel=sc.title(measure),
        ylabel="p-value",
        study_label=f"Studies (Wald, {scale_name} scale)",
        pooled_label="Random effects model",
        title=title,
        notes=tuple(notes),
        preset=p,
        width=w,
        height=float(height if height is not None else 0.8 * w),
    )


def plot_drapery(
    result: MetaPropResult,
    *,
    prediction: bool = True,
    points: int = 201,
    scale: str = "percent",
    measure: str = "Proportion",
    xlim: tuple[float, float] | None = None,
    xticks: Sequence[float] | None = None,
    preset: str | Preset = "meta",
    fontsize: float | None = None,
    width: float | str | None = "single",
    height: float | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Drapery plot: p-value functions of the studies and of the pooled estimate.

    Each curve gives, for every proportion θ₀ on the x-axis, the two-sided p-value of
    H₀: θ = θ₀; the horizontal line at p = 1 − level cuts each curve at its confidence
    bounds, and the prediction interval is drawn as a band on that line
    (Rücker & Schwarzer 2021). Study curves are Wald functions on the model scale of the
    analysis (so they cut the line at the Wald CIs on that scale, which may differ from the
    exact study CIs of a forest plot); the pooled curve crosses it at the reported CI.

    Parameters
    ----------
    result
        The analysis (:class:`~inometa.core.results.MetaPropResult`).
    prediction
        Show the prediction interval (when defined).
    points
        Points per curve (odd).
    scale, measure, xlim, xticks
        The proportion axis, as in :func:`inometa.plot_forest`.
    preset, fontsize
        Look and font size.
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
    >>> res = inometa.metaprop([10, 20, 30, 12, 25], [50, 60, 70, 40, 55])
    >>> fig = inometa.plot_drapery(res)
    >>> len(fig.axes)
    1
    """
    layout = drapery_layout(
        result,
        prediction=prediction,
        points=points,
        scale=scale,
        measure=measure,
        xlim=xlim,
        xticks=xticks,
        preset=preset,
        fontsize=fontsize,
        width=width,
        height=height,
        title=title,
    )
    return draw_drapery(layout, ax=ax)


def draw_drapery(layout: DraperyLayout, ax: Axes | None = None) -> Figure:
    """Draw a :class:`DraperyLayout` into a new figure or into ``ax``.

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([10, 20, 30, 12], [50, 60, 70, 40])
    >>> len(draw_drapery(drapery_layout(res, prediction=False)).axes)
    1
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    from .draw import frame_axes, plot_axes, style_context
    from .labels import legend_columns
    from .text import measurer_for

    p = layout.preset
    col = p.colours
    fs = p.fontsize
    with style_context(fs, p.font_family):
        own = ax is None
        fig, ax = plot_axes(layout.width, layout.height, p, ax)
        # y to 1.02: room for the peaks' line width
        frame_axes(ax, layout.xlim, (0.0, 1.02), layout.xlabel, layout.ylabel, layout.title)
        ax.set_xticks(list(layout.xticks), labels=list(layout.xtick_labels))
        ax.set_yticks([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
        studies = [c for c in layout.curves if not c.pooled]
        pooled = [c for c in layout.curves if c.pooled]
        handles: list[Any] = []
        if studies:
            ax.add_collection(
                LineCollection(
                    [np.column_stack([c.x, c.p]) for c in studies],
                    colors="#8c8c8c",
                    linewidths=0.6,
                    zorder=2,
                    gid="drapery-studies",
                )
            )
            handles.append(Line2D([], [], color="#8c8c8c", linewidth=0.6, label=layout.study_label))
        for c in pooled:
            ax.plot(c.x, c.p, color=col.funnel_line, linewidth=1.6, zorder=4, gid="drapery-pooled")
            handles.append(
                Line2D([], [], color=col.funnel_line, linewidth=1.6, label=layout.pooled_label)
            )
        ax.axhline(
            layout.alpha,
            color=col.reference,
            linewidth=0.6,
            linestyle=":",
            zorder=1,
            gid="drapery-alpha",
        )
        handles.append(
            Line2D(
                [],
                [],
                color=col.reference,
                linewidth=0.6,
                linestyle=":",
                label=f"p = {layout.alpha:g} ({layout.level_text} CI bounds)",
            )
        )
        if layout.prediction is not None:
            lo, hi = layout.prediction
            band = 0.025
            ax.add_patch(
                Rectangle(
                    (lo, layout.alpha - band / 2),
                    hi - lo,
                    band,
                    facecolor=col.prediction,
                    edgecolor="none",
                    alpha=0.55,
                    zorder=3,
                    gid="drapery-prediction",
                )
            )
            handles.append(
                Patch(
                    facecolor=col.prediction,
                    alpha=0.55,
                    label=f"{layout.level_text} prediction interval",
                )
            )
        for note in layout.notes:
            handles.append(Line2D([], [], linestyle="none", label=note[:1].upper() + note[1:]))
        if own:
            fig.legend(
                handles=handles,
                loc="outside lower center",
                ncols=legend_columns(
                    [str(h.get_label()) for h in handles],
                    layout.width,
                    fs,
                    measurer_for(p.font_family),
                ),
                frameon=False,
                fontsize=fs,
                handlelength=1.6,
                columnspacing=1.2,
            )
        else:
            ax.legend(handles=handles, loc="upper right", frameon=False, fontsize=fs)
    return fig
