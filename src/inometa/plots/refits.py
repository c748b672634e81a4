"""Leave-one-out and cumulative forests: one row per refit of the analysis.

Each row is a pooled random-effects estimate from :func:`inometa.leave_one_out` (the
analysis without one study) or :func:`inometa.cumulative` (the analysis after each added
study): a square of fixed size — refits have no weights — with its CI, and columns for
the estimate, the prediction interval, τ² and I². The full analysis closes the plot as a
diamond, and a dashed line at its estimate runs through the rows. The tables are read
as they are (proportion scale); nothing is refitted here unless no table is given, in
which case the analysis function is called.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from ..report.format import pad_figures, pct
from ..report.text import method_line
from .axis import reference_values
from .blocks import (
    Setup,
    cell_value,
    clipped_note,
    interval_texts,
    model_tag,
    pooled_label,
    proportion_axis,
    result_notes,
    setup,
    tau2_column,
)
from .layout import ColumnSpec, ForestContent, Row
from .style import Preset

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..core.results import MetaPropResult

__all__ = [
    "cumulative_content",
    "leave_one_out_content",
    "one_precision",
    "plot_cumulative",
    "plot_leave_one_out",
]

_COLUMNS = ("k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2")
# Refits have no weights: every square has this size (a fraction of the largest square).
_MARKER = 0.5


def _check_table(
    table: pd.DataFrame, result: MetaPropResult, key: str, analysis: str
) -> pd.DataFrame:
    """The table's columns are there, it belongs to ``result`` (same options, same studies)."""
    missing = [c for c in (key, *_COLUMNS) if c not in table.columns]
    if missing:
        raise ValueError(
            f"the {analysis} table lacks columns {', '.join(missing)}; pass the table made by "
            f"inometa.{analysis.replace('-', '_').replace(' ', '_')}(result) or None"
        )
    options = table.attrs.get("options")
    if options is not None and options != asdict(result.options):
        raise ValueError(
            f"the {analysis} table was computed with other options than the result "
            "(table.attrs['options'] differs); recompute it from this result"
        )
    if sorted(map(str, table[key])) != sorted(result.data.labels):
        raise ValueError(
            f"the {analysis} table's studies ({key}) are not the result's studies; recompute "
            "it from this result"
        )
    return table


def _refit_content(
    result: MetaPropResult,
    table: pd.DataFrame,
    *,
    labels: list[str],
    label_title: str,
    order: list[str] | None,
    order_title: str,
    show_k: bool,
    s: Setup,
    prediction: bool,
    ref: float | Sequence[float] | None,
    xlim: tuple[float, float] | None,
    xticks: Sequence[float] | None,
    measure: str,
    title: str | None,
    footnotes: bool,
    explain: str,
    notes: Sequence[str],
    show_notes: bool,
    max_label_lines: int,
) -> ForestContent:
    p, lev = s.preset, s.level
    refs = reference_values(ref)
    est = np.asarray(table["estimate"], dtype=float)
    lo = np.asarray(table["ci_low"], dtype=float)
    hi = np.asarray(table["ci_high"], dtype=float)
    pi_lo = np.asarray(table["pi_low"], dtype=float)
    pi_hi = np.asarray(table["pi_high"], dtype=float)
    ks = [int(v) for v in table["k"]]
    tau2 = np.asarray(table["tau2"], dtype=float)
    i2 = np.asarray(table["i2"], dtype=float)
    r = result.random
    full_pi = (result.prediction.proportion_low, result.prediction.proportion_high)
    show_pi = prediction and bool(
        np.isfinite(pi_lo).any() or all(math.isfinite(v) for v in full_pi)
    )

    points = [(float(e), float(a), float(b)) for e, a, b in zip(est, lo, hi, strict=True)]
    points.append((r.proportion, *r.proportion_ci))
    pis = [(float(a), float(b)) for a, b in zip(pi_lo, pi_hi, strict=True)] + [full_pi]
    cis, pi_texts = interval_texts(s, points, pis)
    # One study has no τ², so no prediction interval to show.
    pi_texts = [
        t if math.isfinite(a) and math.isfinite(b) and k > 1 else "–"
        for t, (a, b), k in zip(pi_texts, pis, [*ks, result.k], strict=True)
    ]
    het = result.heterogeneity
    tau2_texts = tau2_column(
        [float(t) if k > 1 else None for t, k in zip(tau2, ks, strict=True)]
        + [het.tau2 if result.k > 1 else None]
    )
    i2_texts = pad_figures(
        [pct(v, 0) if k > 1 else "–" for v, k in zip(i2, ks, strict=True)]
        + [pct(het.i2, 0) if result.k > 1 else "–"]
    )
    k_texts = pad_figures([str(k) for k in ks] + [str(result.k)])

    rows: list[Row] = []
    for j, label in enumerate(labels):
        cells = {
            "label": label,
            "k": k_texts[j],
            "ci": cis[j],
            "pi": pi_texts[j],
            "tau2": tau2_texts[j],
            "i2": i2_texts[j],
        }
        if order is not None:
            cells["order"] = order[j]
        rows.append(
            Row(
                "study",
                cells=cells,
                estimate=points[j][0],
                low=points[j][1],
                high=points[j][2],
                marker_size=_MARKER,
            )
        )
    rows.append(Row("spacer"))
    rows.append(
        Row(
            "pooled",
            cells={
                "label": pooled_label(p, "random", False, lev),
                "k": k_texts[-1],
                "ci": cis[-1],
                "pi": pi_texts[-1],
                "tau2": tau2_texts[-1],
                "i2": i2_texts[-1],
            },
            estimate=r.proportion,
            low=r.proportion_ci.low,
            high=r.proportion_ci.high,
            model="random",
            bold=True,
        )
    )

    fmt = {"measure": s.scale.title(measure), "level": lev, "model": model_tag(result)}
    ci_side = "left" if "ci" in p.left_columns else "right"
    specs = [ColumnSpec("label", label_title, align="left", wrap=True, max_lines=max_label_lines)]
    if order is not None:
        numeric = all(_is_numeric_text(v) for v in order)
        specs.append(ColumnSpec("order", order_title, align="right" if numeric else "left"))
    if show_k:
        specs.append(ColumnSpec("k", "k"))
    specs.append(ColumnSpec("ci", p.titles["ci"].format(**fmt), side=ci_side))
    if show_pi:
        specs.append(ColumnSpec("pi", f"{lev} PI", side=ci_side))
    specs.append(ColumnSpec("tau2", "τ²", side=ci_side))
    specs.append(ColumnSpec("i2", "I²", side=ci_side))

    values = [*lo, *hi, r.proportion, *r.proportion_ci]
    axis = proportion_axis(s, values, refs, xlim, xticks, measure, pooled_line=r.proportion)
    foot: list[str] = []
    if footnotes:
        foot.append(f"{explain} Pooled: {method_line(result)}.")
        foot.append(
            f"Squares: random-effects estimates with {lev} CIs (not weighted); dashed line "
            "and diamond: the analysis of all studies."
        )
        foot.extend(clipped_note([*values, *refs], axis))
    foot.extend(result_notes(result.notes, show_notes))
    foot.extend(notes)
    return ForestContent(
        rows=tuple(rows),
        columns=tuple(specs),
        axis=axis,
        preset=p,
        title=title,
        panel_title=p.panel_title.format(**fmt) if p.panel_title else "",
        footnotes=tuple(foot),
    )


def _day(v: Any) -> str:
    return str(np.datetime64(v, "D"))


_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def one_precision(keys: Sequence[Any]) -> list[str]:
    """Order keys as text, dates at one precision: when every key is a date written as
    precisely as its source gives it (2013, 2023-05, 2019-03-28), all are cut to the
    coarsest of them, so no row reads more exactly dated than another.

    Examples
    --------
    >>> one_precision(["2013", "2019-03-28", "2023-05"])
    ['2013', '2019', '2023']
    >>> one_precision(["2019-03-28", "2023-05-02"]), one_precision([2017.0, 2019])
    (['2019-03-28', '2023-05-02'], ['2017', '2019'])
    """
    texts = [
        _day(v) if isinstance(v, datetime.date | np.datetime64) else cell_value(v) for v in keys
    ]
    if texts and all(_DATE.fullmatch(t) for t in texts):
        coarsest = min(len(t) for t in texts)
        return [t[:coarsest] for t in texts]
    return texts


def _is_numeric_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text == ""
    return True


def leave_one_out_content(
    result: MetaPropResult,
    table: pd.DataFrame | None = None,
    *,
    preset: str | Preset = "meta",
    scale: str = "percent",
    digits: int | None = None,
    sort_by: str | None = None,
    prediction: bool = True,
    ref: float | Sequence[float] | None = None,
    xlim: tuple[float, float] | None = None,
    xticks: Sequence[float] | None = None,
    measure: str = "Proportion",
    title: str | None = None,
    footnotes: bool = True,
    notes: Sequence[str] = (),
    show_notes: bool = False,
    max_label_lines: int = 2,
    fontsize: float | None = None,
) -> ForestContent:
    """Rows, columns and axis of :func:`plot_leave_one_out` (no geometry, no drawing).

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.refits import leave_one_out_content
    >>> res = inometa.metaprop([10, 20, 30, 12], [50, 60, 70, 40], labels=list("ABCD"))
    >>> c = leave_one_out_content(res)
    >>> [r.cells["label"] for r in c.rows if r.kind == "study"]
    ['A', 'B', 'C', 'D']
    """
    if table is None:
        from ..analysis.sensitivity import leave_one_out

        table = leave_one_out(result)
    _check_table(table, result, "omitted", "leave-one-out")
    if sort_by not in (None, "estimate", "i2", "tau2"):
        raise ValueError(f"unknown sort_by {sort_by!r}; valid values are: estimate, i2, tau2")
    if sort_by is not None:
        table = table.sort_values(sort_by, kind="stable")
    s = setup(preset, scale, digits, fontsize, result.options.level, max_label_lines)
    return _refit_content(
        result,
        table,
        labels=[str(v) for v in table["omitted"]],
        label_title="Omitted study",
        order=None,
        order_title="",
        show_k=False,
        s=s,
        prediction=prediction,
        ref=ref,
        xlim=xlim,
        xticks=xticks,
        measure=measure,
        title=title,
        footnotes=footnotes,
        explain=(
            "Each row: the random-effects analysis of the "
            + ("other study" if result.k == 2 else f"other {result.k - 1} studies")
            + " (leave-one-out)."
        ),
        notes=notes,
        show_notes=show_notes,
        max_label_lines=max_label_lines,
    )


def cumulative_content(
    result: MetaPropResult,
    table: pd.DataFrame | None = None,
    *,
    order: Any = None,
    decreasing: bool = False,
    order_title: str | None = None,
    preset: str | Preset = "meta",
    scale: str = "percent",
    digits: int | None = None,
    prediction: bool = True,
    ref: float | Sequence[float] | None = None,
    xlim: tuple[float, float] | None = None,
    xticks: Sequence[float] | None = None,
    measure: str = "Proportion",
    title: str | None = None,
    footnotes: bool = True,
    notes: Sequence[str] = (),
    show_notes: bool = False,
    max_label_lines: int = 2,
    fontsize: float | None = None,
) -> ForestContent:
    """Rows, columns and axis of :func:`plot_cumulative` (no geometry, no drawing).

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.refits import cumulative_content
    >>> res = inometa.metaprop([10, 20, 30], [50, 60, 70], labels=["B", "A", "C"])
    >>> c = cumulative_content(res, order=[2019, 2017, 2021], order_title="Year")
    >>> [(r.cells["label"], r.cells["order"]) for r in c.rows if r.kind == "study"]
    [('+ A', '2017'), ('+ B', '2019'), ('+ C', '2021')]
    """
    if table is None:
        from ..analysis.sensitivity import cumulative

        table = cumulative(result, order=order, decreasing=decreasing)
    elif order is not None:
        raise ValueError("give either a cumulative table or order, not both")
    _check_table(table, result, "added", "cumulative")
    s = setup(preset, scale, digits, fontsize, result.options.level, max_label_lines)
    keys = list(table["order"]) if "order" in table.columns else None
    # The order column is shown when the studies were ordered by something other than
    # their input positions.
    ordered = order is not None or order_title is not None
    if keys is not None and not ordered:
        ordered = [cell_value(v) for v in keys] != [str(i) for i in range(len(keys))]
    shown = one_precision(keys) if (keys is not None and ordered) else None
    return _refit_content(
        result,
        table,
        labels=[f"+ {v}" for v in table["added"]],
        label_title="Added study",
        order=shown,
        order_title=order_title or "Order",
        show_k=True,
        s=s,
        prediction=prediction,
        ref=ref,
        xlim=xlim,
        xticks=xticks,
        measure=measure,
        title=title,
        footnotes=footnotes,
        explain="Each row: the random-effects analysis of the studies up to and including it.",
        notes=notes,
        show_notes=show_notes,
        max_label_lines=max_label_lines,
    )


def plot_leave_one_out(
    result: MetaPropResult,
    table: pd.DataFrame | None = None,
    *,
    preset: str | Preset = "meta",
    scale: str = "percent",
    digits: int | None = None,
    sort_by: str | None = None,
    prediction: bool = True,
    ref: float | Sequence[float] | None = None,
    xlim: tuple[float, float] | None = None,
    xticks: Sequence[float] | None = None,
    measure: str = "Proportion",
    title: str | None = None,
    footnotes: bool = True,
    notes: Sequence[str] = (),
    show_notes: bool = False,
    max_label_lines: int = 2,
    fontsize: float | None = None,
    width: float | str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Leave-one-out forest: the pooled estimate with each study omitted in turn.

    One row per omitted study — a square at the random-effects estimate of the other
    studies with its CI, and columns with that estimate, its prediction interval, τ² and
    I² — then the analysis of all studies as a diamond, with a dashed line at its estimate
    through the rows.

    Parameters
    ----------
    result
        The full analysis (:class:`~inometa.core.results.MetaPropResult`).
    table
        The table of :func:`inometa.leave_one_out` for ``result`` (computed if None). It is
        checked to belong to ``result`` (same options and studies).
    sort_by
        None (the studies' order), ``"estimate"``, ``"i2"`` or ``"tau2"`` (increasing).
    prediction
        Show the prediction-interval column.
    preset, scale, digits, ref, xlim, xticks, measure, title, footnotes, notes, \
show_notes, max_label_lines, fontsize, width, ax
        As in :func:`inometa.plot_forest`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([49, 121, 43, 119, 28], [72, 164, 43, 131, 33])
    >>> fig = inometa.plot_leave_one_out(res, sort_by="estimate")
    >>> len(fig.axes) >= 1
    True
    """
    from .draw import render

    content = leave_one_out_content(
        result,
        table,
        preset=preset,
        scale=scale,
        digits=digits,
        sort_by=sort_by,
        prediction=prediction,
        ref=ref,
        xlim=xlim,
        xticks=xticks,
        measure=measure,
        title=title,
        footnotes=footnotes,
        notes=notes,
        show_notes=show_notes,
        max_label_lines=max_label_lines,
        fontsize=fontsize,
    )
    return render(content, width=width, ax=ax)


def plot_cumulative(
    result: MetaPropResult,
    table: pd.DataFrame | None = None,
    *,
    order: Any = None,
    decreasing: bool = False,
    order_title: str | None = None,
    preset: str | Preset = "meta",
    scale: str = "percent",
    digits: int | None = None,
    prediction: bool = True,
    ref: float | Sequence[float] | None = None,
    xlim: tuple[float, float] | None = None,
    xticks: Sequence[float] | None = None,
    measure: str = "Proportion",
    title: str | None = None,
    footnotes: bool = True,
    notes: Sequence[str] = (),
    show_notes: bool = False,
    max_label_lines: int = 2,
    fontsize: float | None = None,
    width: float | str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Cumulative forest: the pooled estimate after each added study.

    One row per step ("+ study"), with the number of studies so far, the random-effects
    estimate with its CI (a square and a column), the prediction interval, τ² and I²,
    then the analysis of all studies as a diamond.

    Parameters
    ----------
    result
        The full analysis (:class:`~inometa.core.results.MetaPropResult`).
    table
        The table of :func:`inometa.cumulative` for ``result`` (computed if None, with
        ``order`` and ``decreasing``). It is checked to belong to ``result``.
    order, decreasing
        Sort keys, one per study (e.g. publication years), and their direction; passed to
        :func:`inometa.cumulative` when ``table`` is None.
    order_title
        Title of the column showing the keys (default "Order"; the column is shown when
        the studies were ordered by keys).
    prediction
        Show the prediction-interval column.
    preset, scale, digits, ref, xlim, xticks, measure, title, footnotes, notes, \
show_notes, max_label_lines, fontsize, width, ax
        As in :func:`inometa.plot_forest`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([49, 121, 43, 119], [72, 164, 43, 131],
    ...                        labels=["DeAngelo", "Kantarjian", "Stelljes", "Chevallier"])
    >>> fig = inometa.plot_cumulative(res, order=[2017, 2019, 2024, 2024], order_title="Year")
    >>> len(fig.axes) >= 1
    True
    """
    from .draw import render

    content = cumulative_content(
        result,
        table,
        order=order,
        decreasing=decreasing,
        order_title=order_title,
        preset=preset,
        scale=scale,
        digits=digits,
        prediction=prediction,
        ref=ref,
        xlim=xlim,
        xticks=xticks,
        measure=measure,
        title=title,
        footnotes=footnotes,
        notes=notes,
        show_notes=show_notes,
        max_label_lines=max_label_lines,
        fontsize=fontsize,
    )
    return render(content, width=width, ax=ax)
