"""Funnel plot: model-scale estimates against their standard errors.

The plot reads the result and draws; it estimates nothing. Its regions are geometry around a
centre: the pseudo-confidence region is ``centre ± z·SE`` for every SE, and the contours of a
contour-enhanced funnel (Peters et al. 2008) are the same triangles at z for p = 0.10, 0.05,
0.01 around a reference value. Studies added by another analysis (trim-and-fill imputations)
and a regression line (Egger's test) are passed in ready-made: ``extra_points`` and ``line``,
or read from the analyses' results: ``trimfill=`` (a :class:`~inometa.TrimFillResult`:
imputed studies and the filled estimate) and ``egger=`` (a :class:`~inometa.RegTestResult`:
the regression line, labelled with its test).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.transforms import get_transform
from ..report.format import pvalue_styled
from .axis import nice_ticks
from .funnel_draw import draw_funnel
from .labels import legend_columns
from .style import Preset, get_preset, mm_to_pt, resolve_width
from .text import measurer_for

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..analysis.bias import RegTestResult, TrimFillResult
    from ..core.results import MetaPropResult

__all__ = [
    "FunnelLayout",
    "FunnelLine",
    "FunnelPoint",
    "Region",
    "draw_funnel",
    "funnel_layout",
    "plot_funnel",
]

# Shades of the contour-enhanced funnel, from the least to the most significant region.
_CONTOUR_SHADES = ("white", "#eeeeee", "#d9d9d9", "#c2c2c2")


@dataclass(frozen=True)
class FunnelLine:
    """A straight line in the funnel, ``estimate = intercept + slope × predictor``, where
    the predictor is the standard error (``"se"``, Egger's regression) or the sampling
    variance (``"vi"``, Peters' regression; drawn as a curve against SE)."""

    intercept: float
    slope: float
    predictor: str = "se"
    label: str = "Regression line"

    def __post_init__(self) -> None:
        if self.predictor not in ("se", "vi"):
            raise ValueError(f"unknown predictor {self.predictor!r}; valid values are: se, vi")
        if not (math.isfinite(self.intercept) and math.isfinite(self.slope)):
            raise ValueError("the funnel line needs a finite intercept and slope")


@dataclass(frozen=True)
class FunnelPoint:
    """One study in the funnel: model-scale estimate ``x``, standard error ``se``."""

    x: float
    se: float
    label: str
    extra: bool = False
    labelled: bool = False


@dataclass(frozen=True)
class Region:
    """A triangle ``centre ± z·SE`` (vertices in (estimate, SE)); ``label`` for the legend."""

    z: float
    vertices: tuple[tuple[float, float], ...]
    colour: str
    label: str


@dataclass(frozen=True)
class FunnelLayout:
    """Everything a funnel plot shows, as data (model scale on x, SE on y)."""

    points: tuple[FunnelPoint, ...]
    centre: float | None
    pseudo_ci: tuple[tuple[float, float], ...]
    pseudo_label: str
    contours: tuple[Region, ...]
    background: str | None
    background_label: str
    line: tuple[tuple[float, float], ...]
    line_label: str
    extra_label: str
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    yticks: tuple[float, ...]
    xlabel: str
    ylabel: str
    title: str | None
    preset: Preset
    width: float
    height: float
    filled_centre: float | None = None
    filled_label: str = ""
    legend_notes: tuple[str, ...] = ()
    percent: bool = False


def _se_ticks(bottom: float) -> tuple[float, ...]:
    """Round SE ticks from 0, without one so close to the bottom edge that its label would
    meet the first x tick label in the corner."""
    ticks = nice_ticks(0.0, bottom, 1.0)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else bottom
    if len(ticks) > 2 and bottom - ticks[-1] < 0.4 * step:
        ticks = ticks[:-1]
    return ticks


def _extra_points(extra: Any) -> list[FunnelPoint]:
    if extra is None:
        return []
    cols = set(
        map(str, getattr(extra, "columns", extra.keys() if isinstance(extra, Mapping) else []))
    )
    missing = {"yi", "vi"} - cols
    if missing:
        raise ValueError(
            f"extra_points needs columns yi and vi (model scale) and optionally label; "
            f"missing: {', '.join(sorted(missing))}"
        )
    yi = np.asarray(extra["yi"], dtype=float)
    vi = np.asarray(extra["vi"], dtype=float)
    labels = list(extra["label"]) if "label" in cols else [""] * len(yi)
    if yi.shape != vi.shape or len(labels) != len(yi):
        raise ValueError("extra_points: yi, vi and label must have the same length")
    bad = np.flatnonzero(~np.isfinite(yi) | ~np.isfinite(vi) | (vi <= 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"extra_points row {i + 1}: yi must be finite and vi finite and > 0 "
            f"(got yi={yi[i]!r}, vi={vi[i]!r})"
        )
    return [
        FunnelPoint(float(x), math.sqrt(float(v)), str(lab), extra=True)
        for x, v, lab in zip(yi, vi, labels, strict=True)
    ]


_EXTRA_LABEL = "Imputed studies"


def _check_trimfill(tf: TrimFillResult, result: MetaPropResult) -> None:
    """The trim-and-fill result belongs to ``result``: same studies, same model scale."""
    k = result.k
    same = (
        tuple(tf.result.data.labels[:k]) == result.data.labels
        and tf.result.options.transform == result.options.transform
        and np.allclose(np.asarray(tf.result.data.yi[:k]), np.asarray(result.data.yi))
    )
    if not same:
        raise ValueError(
            "the trim-and-fill result was not computed from this analysis (other studies or "
            "another transform); pass inometa.trim_and_fill(result)"
        )


def egger_line(egger: RegTestResult, preset: Preset) -> FunnelLine:
    """Egger's regression as a funnel line, labelled with its test (statistic and p).

    Only the regression on the standard error (``predictor == "sei"``) is a line against
    the SE; Peters' regression on 1/n is not drawn.

    Examples
    --------
    >>> import inometa, warnings
    >>> from inometa.plots.style import get_preset
    >>> res = inometa.metaprop([4, 23, 10, 1, 2, 0, 6, 9, 3, 5, 2, 7],
    ...                        [72, 164, 110, 43, 26, 18, 36, 59, 33, 80, 45, 131])
    >>> line = egger_line(inometa.egger_test(res), get_preset("meta"))
    >>> line.label.startswith("Egger's test: z = ")
    True
    """
    if egger.predictor != "sei":
        raise ValueError(
            f"the regression on {egger.predictor!r} is not a line against the standard error; "
            "only Egger's test (predictor 'sei') can be drawn in the funnel"
        )
    if egger.df is None:
        stat = f"z = {egger.statistic:.2f}"
    else:
        df = f"{egger.df:g}" if float(egger.df).is_integer() else f"{egger.df:.1f}"
        stat = f"t({df}) = {egger.statistic:.2f}"
    p = pvalue_styled(egger.pvalue, preset.pvalue_style)
    return FunnelLine(egger.limit_estimate, egger.slope, "se", label=f"Egger's test: {stat}, {p}")


def _as_line(line: FunnelLine | Mapping[str, Any] | None) -> FunnelLine | None:
    if line is None or isinstance(line, FunnelLine):
        return line
    return FunnelLine(**dict(line))


def funnel_layout(
    result: MetaPropResult,
    *,
    model: str = "random",
    centre: float | None = None,
    level: float | None = None,
    pseudo_ci: bool = True,
    contours: bool | Sequence[float] = False,
    contour_ref: float | None = None,
    extra_points: Any = None,
    extra_label: str = _EXTRA_LABEL,
    line: FunnelLine | Mapping[str, Any] | None = None,
    trimfill: TrimFillResult | None = None,
    egger: RegTestResult | None = None,
    labels: str | Sequence[str] | None = "outside",
    preset: str | Preset = "meta",
    fontsize: float | None = None,
    width: float | str | None = "single",
    height: float | None = None,
    title: str | None = None,
    xlabel: str | None = None,
) -> FunnelLayout:
    """The content of :func:`plot_funnel` as data (no drawing).

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.funnel import funnel_layout
    >>> res = inometa.metaprop([5, 20, 30, 9, 40], [50, 60, 70, 40, 200])
    >>> lay = funnel_layout(res)
    >>> lay.ylim[1], len(lay.points)
    (0.0, 5)
    """
    p = get_preset(preset).with_fontsize(fontsize)
    if model not in ("random", "common"):
        raise ValueError(f"unknown model {model!r}; valid values are: common, random")
    lev = result.options.level if level is None else float(level)
    if not 0 < lev < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    d = result.data
    se = np.sqrt(np.asarray(d.vi, dtype=float))
    yi = np.asarray(d.yi, dtype=float)
    pooled = result.random if model == "random" else result.common
    c = float(centre) if centre is not None else pooled.estimate
    c_ok = math.isfinite(c)
    z = NormalDist().inv_cdf(0.5 + lev / 2)

    outside = np.zeros(len(yi), dtype=bool)
    if c_ok:
        outside = np.abs(yi - c) > z * se
    if labels is None or labels == "none":
        chosen = np.zeros(len(yi), dtype=bool)
    elif labels == "outside":
        chosen = outside
    elif labels == "all":
        chosen = np.ones(len(yi), dtype=bool)
    elif isinstance(labels, str):
        raise ValueError(
            f"unknown labels {labels!r}; valid values are: outside, all, none, or a list of "
            "study labels"
        )
    else:
        wanted = list(labels)
        unknown = [w for w in wanted if w not in d.labels]
        if unknown:
            raise ValueError(f"labels: no study named {unknown[0]!r} in the result")
        chosen = np.array([lab in wanted for lab in d.labels])

    points = [
        FunnelPoint(float(yi[i]), float(se[i]), d.labels[i], labelled=bool(chosen[i]))
        for i in range(len(yi))
        if math.isfinite(yi[i]) and math.isfinite(se[i])
    ]
    filled: float | None = None
    filled_label = ""
    legend_notes: list[str] = []
    if trimfill is not None:
        if extra_points is not None:
            raise ValueError("give trimfill or extra_points, not both")
        _check_trimfill(trimfill, result)
        if trimfill.k0 > 0:
            extra_points = trimfill.filled
            if extra_label == _EXTRA_LABEL:
                extra_label = f"Imputed (trim-and-fill, {trimfill.estimator})"
            estimate = trimfill.result.random.estimate
            if math.isfinite(estimate):
                filled = float(estimate)
                filled_label = f"Trim-and-fill estimate (k0 = {trimfill.k0})"
        else:
            legend_notes.append(f"Trim-and-fill ({trimfill.estimator}): no study imputed")
    if labels == "outside" and 0 < chosen.sum() < len(chosen):
        # say why some points have no label
        legend_notes.append(f"Labelled: studies outside the pseudo {100 * lev:g}% CI")
    points.extend(_extra_points(extra_points))
    if egger is not None:
        if line is not None:
            raise ValueError("give egger or line, not both")
        line = egger_line(egger, p)
    fl = _as_line(line)

    se_top = max((pt.se for pt in points), default=1.0)
    y_bottom = se_top * 1.08 if se_top > 0 else 1.0

    def triangle(ref: float, zz: float) -> tuple[tuple[float, float], ...]:
        return ((ref - zz * y_bottom, y_bottom), (ref, 0.0), (ref + zz * y_bottom, y_bottom))

    regions: list[Region] = []
    background: str | None = None
    background_label = ""
    if contours is not False:
        p_levels = (0.10, 0.05, 0.01) if contours is True else tuple(float(a) for a in contours)
        if not p_levels or any(not 0 < a < 1 for a in p_levels):
            raise ValueError(f"contour p levels must be between 0 and 1, got {contours!r}")
        ref = contour_ref if contour_ref is not None else (c if c_ok else None)
        if ref is None:
            raise ValueError(
                "contours need a reference value: the pooled estimate is not finite, so give "
                "contour_ref (model scale)"
            )
        alphas = sorted(p_levels)  # most significant (smallest p) first: widest triangle
        shades = _CONTOUR_SHADES[: len(alphas) + 1][::-1]
        background = shades[0]
        background_label = f"p < {alphas[0]:.2f}"
        for j, a in enumerate(alphas):
            zz = NormalDist().inv_cdf(1 - a / 2)
            upper = alphas[j + 1] if j + 1 < len(alphas) else None
            text = f"{a:.2f} ≤ p < {upper:.2f}" if upper is not None else f"p ≥ {a:.2f}"
            regions.append(Region(zz, triangle(float(ref), zz), shades[j + 1], text))

    pseudo = triangle(c, z) if (pseudo_ci and c_ok) else ()
    line_pts: tuple[tuple[float, float], ...] = ()
    if fl is not None:
        s = np.linspace(0.0, y_bottom, 2 if fl.predictor == "se" else 60)
        pred = s if fl.predictor == "se" else s**2
        line_pts = tuple(
            (float(fl.intercept + fl.slope * v), float(u)) for u, v in zip(s, pred, strict=True)
        )

    xs = [pt.x for pt in points]
    if c_ok:
        xs.append(c)
    if filled is not None:
        xs.append(filled)
    if fl is not None:
        xs.append(fl.intercept)  # the line's value at SE = 0 (Egger's limit estimate)
    for verts in [pseudo, *(r.vertices for r in regions)]:
        xs.extend(v[0] for v in verts)
    lo, hi = min(xs, default=-1.0), max(xs, default=1.0)
    pad = 0.04 * (hi - lo) if hi > lo else 0.5
    tr = get_transform(result.options.transform)

    w = resolve_width(width) or mm_to_pt(89.0)
    if height is None:
        # The legend sits below the panel: each further row of it adds to the height, so
        # the panel keeps its size.
        entries = [
            *([background_label] if background is not None else []),
            *(r.label for r in regions),
            *([filled_label] if filled is not None else []),
            *([f"Pseudo {100 * lev:g}% CI"] if pseudo else []),
            *([fl.label] if fl is not None else []),
            *([extra_label] if any(pt.extra for pt in points) else []),
            *legend_notes,
        ]
        ncols = legend_columns(entries, w, p.fontsize, measurer_for(p.font_family))
        rows = -(-len(entries) // ncols)
        h = 0.8 * w + 2.4 * p.fontsize + max(0, rows - 2) * 1.25 * p.fontsize
    else:
        h = height
    # Untransformed proportions read in percent, as the forests show them.
    percent = result.options.transform == "raw"
    return FunnelLayout(
        points=tuple(points),
        centre=c if c_ok else None,
        pseudo_ci=pseudo,
        pseudo_label=f"Pseudo {100 * lev:g}% CI",
        contours=tuple(regions),
        background=background,
        background_label=background_label,
        line=line_pts,
        line_label=fl.label if fl else "",
        extra_label=extra_label,
        xlim=(lo - pad, hi + pad),
        ylim=(y_bottom, 0.0),
        yticks=_se_ticks(y_bottom),
        xlabel=xlabel or ("Proportion, %" if percent else tr.label[:1].upper() + tr.label[1:]),
        ylabel="Standard error" + (", percentage points" if percent else ""),
        title=title,
        preset=p,
        width=w,
        height=float(h),
        filled_centre=filled,
        filled_label=filled_label,
        legend_notes=tuple(legend_notes),
        percent=percent,
    )


def plot_funnel(
    result: MetaPropResult,
    *,
    model: str = "random",
    centre: float | None = None,
    level: float | None = None,
    pseudo_ci: bool = True,
    contours: bool | Sequence[float] = False,
    contour_ref: float | None = None,
    extra_points: Any = None,
    extra_label: str = _EXTRA_LABEL,
    line: FunnelLine | Mapping[str, Any] | None = None,
    trimfill: TrimFillResult | None = None,
    egger: RegTestResult | None = None,
    labels: str | Sequence[str] | None = "outside",
    preset: str | Preset = "meta",
    fontsize: float | None = None,
    width: float | str | None = "single",
    height: float | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Funnel plot: each study's model-scale estimate against its standard error.

    The SE axis is inverted (precise studies at the top). Around the pooled estimate a
    pseudo-confidence region ``estimate ± z·SE`` is drawn; the contour-enhanced variant
    shades where a study's own test against ``contour_ref`` has p < 0.01, 0.05, 0.10.

    Parameters
    ----------
    result
        A :class:`~inometa.core.results.MetaPropResult`.
    model
        Whose pooled estimate is the centre: ``"random"`` (default) or ``"common"``.
    centre
        Another centre on the model scale (e.g. a trim-and-fill adjusted estimate).
    level
        Level of the pseudo-confidence region (default: the result's level).
    pseudo_ci
        Draw the pseudo-confidence region.
    contours
        True for contours at p = 0.10, 0.05, 0.01, or a sequence of p levels.
    contour_ref
        Model-scale value the contours test against (default: the centre). For a logit
        transform, 0 tests against a proportion of 50%.
    extra_points
        Further studies drawn as open markers — a DataFrame or mapping with columns ``yi``,
        ``vi`` (model scale) and optionally ``label`` (e.g. trim-and-fill imputations).
    extra_label
        Legend text of ``extra_points``.
    line
        A :class:`FunnelLine` (or mapping with ``intercept``, ``slope``, ``predictor``,
        ``label``), e.g. Egger's regression line.
    trimfill
        A :class:`~inometa.TrimFillResult` of this analysis: its imputed studies
        (``trimfill.filled``) are drawn as open markers and the filled analysis' estimate
        as a second, dashed vertical line; the funnel stays centred on ``result``. Instead
        of ``extra_points``.
    egger
        A :class:`~inometa.RegTestResult` of :func:`inometa.egger_test` on this analysis:
        its regression line (intercept ``limit_estimate``, slope on the SE), labelled with
        the test's statistic and p-value. Instead of ``line``.
    labels
        Which studies get their label: ``"outside"`` (outside the pseudo-confidence
        region, default), ``"all"``, ``"none"``/None, or a list of study labels.
    preset, fontsize
        Look and font size, as in :func:`inometa.plot_forest`.
    width, height
        Width (``"single"`` by default, ``"double"``, or mm) and height in points
        (default: from the width).
    title, xlabel
        Figure title; x-axis title (default: the transform, e.g. "Logit proportion"; for
        untransformed proportions "Proportion, %": both axes then read in percent, as the
        forests do).
    ax
        Draw into this Axes instead of a new figure (the legend is placed to the right of
        it, outside the data).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([5, 20, 30, 9, 40, 12], [50, 60, 70, 40, 200, 30])
    >>> fig = inometa.plot_funnel(res, contours=True)
    >>> len(fig.axes)
    1
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # fewer than 10 studies
    ...     tf, eg = inometa.trim_and_fill(res), inometa.egger_test(res)
    >>> fig = inometa.plot_funnel(res, trimfill=tf, egger=eg)
    """
    layout = funnel_layout(
        result,
        model=model,
        centre=centre,
        level=level,
        pseudo_ci=pseudo_ci,
        contours=contours,
        contour_ref=contour_ref,
        extra_points=extra_points,
        extra_label=extra_label,
        line=line,
        trimfill=trimfill,
        egger=egger,
        labels=labels,
        preset=preset,
        fontsize=fontsize,
        width=width,
        height=height,
        title=title,
        xlabel=xlabel,
    )
    return draw_funnel(layout, ax=ax)
