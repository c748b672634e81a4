"""Summary forest: one row per outcome (ORR, CR, MRD negativity, VOD …) on one figure.

Each row is a pooled estimate — a diamond with its CI and, for random effects, the
prediction interval as a line through it — with the number of studies, pooled counts and I².
It reuses the forest layout: every row is a ``pooled`` :class:`~inometa.plots.layout.Row`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..report.format import bracketed, pad_figures, pct, scaled
from ..report.text import method_line
from .axis import axis_limits, axis_ticks, reference_values, tick_labels
from .layout import AxisSpec, ColumnSpec, ForestContent, Row
from .style import Preset, get_preset, get_scale

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..core.results import MetaPropResult

__all__ = ["plot_summary_forest", "summary_content"]


def summary_content(
    results: Mapping[str, MetaPropResult],
    *,
    model: str = "random",
    prediction: bool = True,
    preset: str | Preset = "meta",
    scale: str = "percent",
    digits: int | None = None,
    ref: float | Sequence[float] | None = None,
    xlim: tuple[float, float] | None = None,
    xticks: Sequence[float] | None = None,
    measure: str = "Proportion",
    label_title: str = "Outcome",
    title: str | None = None,
    footnotes: bool = True,
    notes: Sequence[str] = (),
    max_label_lines: int = 2,
    fontsize: float | None = None,
) -> ForestContent:
    """Rows, columns and axis of a summary forest (no geometry, no drawing).

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.summary import summary_content
    >>> res = {"ORR": inometa.metaprop([30, 40], [50, 60]),
    ...        "CR": inometa.metaprop([20, 25, 9], [50, 60, 20])}
    >>> [r.cells["label"] for r in summary_content(res).rows]
    ['ORR', 'CR']
    """
    if not isinstance(results, Mapping) or not results:
        raise ValueError("results must be a non-empty mapping of outcome label → MetaPropResult")
    if model not in ("random", "common"):
        raise ValueError(f"unknown model {model!r}; valid values are: common, random")
    p = get_preset(preset).with_fontsize(fontsize)
    sc = get_scale(scale)
    dg = sc.digits if digits is None else int(digits)
    if dg < 0:
        raise ValueError(f"digits must be >= 0, got {digits}")
    levels = {r.options.level for r in results.values()}
    if len(levels) > 1:
        raise ValueError(
            f"the results use different confidence levels ({sorted(levels)}); a summary forest "
            "shows one level — refit them at the same level"
        )
    lev = f"{100 * levels.pop():g}%"
    labels = list(results)
    res = list(results.values())
    est = [r.random if model == "random" else r.common for r in res]
    show_pi = prediction and model == "random"
    pis = [
        (r.prediction.proportion_low, r.prediction.proportion_high)
        if show_pi
        else (math.nan, math.nan)
        for r in res
    ]
    ests = pad_figures([scaled(e.proportion, sc.factor, dg) for e in est])
    lows = [scaled(e.proportion_ci.low, sc.factor, dg) for e in est]
    highs = [scaled(e.proportion_ci.high, sc.factor, dg) for e in est]
    pi_lows = [scaled(lo, sc.factor, dg) for lo, _ in pis]
    pi_highs = [scaled(hi, sc.factor, dg) for _, hi in pis]
    # Bracketed bounds are padded to line up; '(4.3–9.9)' reads better unpadded.
    if p.interval_style != "dash":
        lows, highs = pad_figures(lows), pad_figures(highs)
        pi_lows, pi_highs = pad_figures(pi_lows), pad_figures(pi_highs)
    i2s = pad_figures([pct(r.heterogeneity.i2, 0) if r.k >= 2 else "–" for r in res])
    ks = pad_figures([str(r.k) for r in res])
    counts = [f"{int(r.data.events.sum())}/{int(r.data.n.sum())}" for r in res]

    rows = []
    for j, _r in enumerate(res):
        pi_ok = all(math.isfinite(v) for v in pis[j])
        cells = {
            "label": labels[j],
            "k": ks[j],
            "events_total": counts[j],
            "ci": f"{ests[j]} {bracketed(lows[j], highs[j], p.interval_style)}",
            "i2": i2s[j],
            "pi": bracketed(pi_lows[j], pi_highs[j], p.interval_style) if pi_ok else "–",
        }
        rows.append(
            Row(
                "pooled",
                cells=cells,
                estimate=est[j].proportion,
                low=est[j].proportion_ci.low,
                high=est[j].proportion_ci.high,
                model=model,
                pi_low=pis[j][0] if pi_ok else math.nan,
                pi_high=pis[j][1] if pi_ok else math.nan,
            )
        )

    measure_title = sc.title(measure)
    ci_title = p.titles["ci"].format(measure=measure_title, level=lev, model="Random")
    specs = [
        ColumnSpec("label", label_title, align="left", wrap=True, max_lines=max_label_lines),
        ColumnSpec("k", "Studies"),
        ColumnSpec("events_total", "Events/\nTotal"),
        ColumnSpec("ci", ci_title, side="right"),
        ColumnSpec("i2", "I²", side="right"),
    ]
    if show_pi:
        specs.append(ColumnSpec("pi", f"{lev} PI", side="right"))

    refs = reference_values(ref)
    values = [*refs]
    for e in est:
        values.extend([e.proportion, *e.proportion_ci])
    for lo, hi in pis:
        values.extend([lo, hi])
    limits = axis_limits(xlim, values, sc)
    ticks = axis_ticks(xticks, limits, sc)
    axis = AxisSpec(
        xlim=limits,
        ticks=ticks,
        tick_labels=tick_labels(ticks, sc),
        label=measure_title,
        ref_lines=tuple(v for v in refs if limits[0] <= v <= limits[1]),
    )

    foot: list[str] = []
    if footnotes:
        kind = "random-effects" if model == "random" else "common-effect"
        line = f"Diamonds: {kind} estimates with {lev} CIs"
        foot.append(line + (f"; lines: {lev} prediction intervals." if show_pi else "."))
        by_method: dict[str, list[str]] = {}
        for label, r in zip(labels, res, strict=True):
            by_method.setdefault(method_line(r), []).append(label)
        if len(by_method) == 1:
            foot.append(f"Pooled: {next(iter(by_method))}.")
        else:
            foot.extend(f"{', '.join(outcomes)}: {m}." for m, outcomes in by_method.items())
        clipped = [v for v in values if math.isfinite(v) and not limits[0] <= v <= limits[1]]
        if clipped:
            foot.append("Arrows: the interval continues beyond the axis limits.")
    foot.extend(notes)
    return ForestContent(
        rows=tuple(rows),
        columns=tuple(specs),
        axis=axis,
        preset=p,
        title=title,
        footnotes=tuple(foot),
    )


def plot_summary_forest(
    results: Mapping[str, MetaPropResult],
    *,
    model: str = "random",
    prediction: bool = True,
    preset: str | Preset = "meta",
    scale: str = "percent",
    digits: int | None = None,
    ref: float | Sequence[float] | None = None,
    xlim: tuple[float, float] | None = None,
    xticks: Sequence[float] | None = None,
    measure: str = "Proportion",
    label_title: str = "Outcome",
    title: str | None = None,
    footnotes: bool = True,
    notes: Sequence[str] = (),
    max_label_lines: int = 2,
    fontsize: float | None = None,
    width: float | str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Summary forest: one pooled estimate per outcome on one figure.

    Each row shows the outcome, the number of studies, pooled events/total, the pooled
    estimate with its CI (diamond), I² and — for random effects — the prediction interval
    (a line through the diamond and a column).

    Parameters
    ----------
    results
        Outcome label → :class:`~inometa.core.results.MetaPropResult`, in display order
        (e.g. ``{"ORR": orr, "CR/CRi": cr, "MRD negativity": mrd, "VOD": vod}``).
    model
        ``"random"`` (default) or ``"common"``.
    prediction
        Show prediction intervals (random effects only; omitted where not finite).
    label_title
        Title of the outcome column.
    preset, scale, digits, ref, xlim, xticks, measure, title, footnotes, notes, \
max_label_lines, fontsize, width, ax
        As in :func:`inometa.plot_forest`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import inometa
    >>> res = {"ORR": inometa.metaprop([30, 40, 22], [50, 60, 30]),
    ...        "VOD": inometa.metaprop([3, 5, 1], [50, 60, 30])}
    >>> fig = inometa.plot_summary_forest(res)
    >>> len(fig.axes) >= 1
    True
    """
    content = summary_content(
        results,
        model=model,
        prediction=prediction,
        preset=preset,
        scale=scale,
        digits=digits,
        ref=ref,
        xlim=xlim,
        xticks=xticks,
        measure=measure,
        label_title=label_title,
        title=title,
        footnotes=footnotes,
        notes=notes,
        max_label_lines=max_label_lines,
        fontsize=fontsize,
    )
    from .draw import render

    return render(content, width=width, ax=ax)
