"""Forest plot of one proportion meta-analysis: content from a result, then layout, then draw.

Study rows show each study's *observed* proportion (events/n) with its own confidence
interval from ``result.data`` — never a back-transformed model-scale value, which for the
Freeman–Tukey transform would need each study's own n. Pooled rows show the pooled
estimates exactly as the result reports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..report.format import study_ci_name
from ..report.text import method_line
from .axis import reference_values
from .blocks import (
    cell_value,
    clipped_note,
    column_specs,
    count_cells,
    heterogeneity_text,
    interval_texts,
    model_tag,
    pooled_label,
    pooled_models,
    prediction_bounds,
    proportion_axis,
    result_notes,
    setup,
    sort_order,
    study_row,
    user_columns,
    weight_texts,
)
from .layout import ForestContent, ForestLayout, Row, arrange
from .style import Preset, resolve_width
from .subgroup import subgroup_content

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..analysis.subgroups import SubgroupResult
    from ..core.results import MetaPropResult
    from .blocks import Columns

__all__ = ["forest_content", "forest_layout", "plot_forest"]

# -- content ------------------------------------------------------------------------------


def forest_content(
    result: MetaPropResult | SubgroupResult,
    *,
    preset: str | Preset = "meta",
    scale: str = "percent",
    digits: int | None = None,
    columns: Columns | None = None,
    sort_by: str | None = None,
    descending: bool = False,
    show_common: bool = False,
    weights: str = "random",
    prediction: bool = True,
    heterogeneity: bool = True,
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
    subgroup_tests: str = "headline",
    subgroup_title: str | None = None,
) -> ForestContent:
    """The rows, columns, axis and footnotes of a forest plot (no geometry, no drawing).

    Takes the same options as :func:`plot_forest` except ``width`` and ``ax``; a
    :class:`~inometa.SubgroupResult` gives the blocks of a subgroup forest
    (:func:`~inometa.plots.subgroup.subgroup_content`).

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.forest import forest_content
    >>> res = inometa.metaprop([49, 121], [72, 164], labels=["A", "B"])
    >>> [r.kind for r in forest_content(res).rows]
    ['study', 'study', 'spacer', 'pooled', 'prediction', 'text']
    """
    from ..analysis.subgroups import SubgroupResult

    options: dict[str, Any] = {
        "preset": preset,
        "scale": scale,
        "digits": digits,
        "columns": columns,
        "sort_by": sort_by,
        "descending": descending,
        "show_common": show_common,
        "weights": weights,
        "prediction": prediction,
        "heterogeneity": heterogeneity,
        "ref": ref,
        "xlim": xlim,
        "xticks": xticks,
        "measure": measure,
        "title": title,
        "footnotes": footnotes,
        "notes": notes,
        "show_notes": show_notes,
        "max_label_lines": max_label_lines,
        "fontsize": fontsize,
    }
    if isinstance(result, SubgroupResult):
        return subgroup_content(
            result, tests=subgroup_tests, subgroup_title=subgroup_title, **options
        )
    if subgroup_tests != "headline" or subgroup_title is not None:
        raise ValueError("subgroup_tests and subgroup_title apply to a SubgroupResult only")
    return _single_content(result, **options)


def _single_content(
    result: MetaPropResult,
    *,
    preset: str | Preset,
    scale: str,
    digits: int | None,
    columns: Columns | None,
    sort_by: str | None,
    descending: bool,
    show_common: bool,
    weights: str,
    prediction: bool,
    heterogeneity: bool,
    ref: float | Sequence[float] | None,
    xlim: tuple[float, float] | None,
    xticks: Sequence[float] | None,
    measure: str,
    title: str | None,
    footnotes: bool,
    notes: Sequence[str],
    show_notes: bool,
    max_label_lines: int,
    fontsize: float | None,
) -> ForestContent:
    o = result.options
    s = setup(preset, scale, digits, fontsize, o.level, max_label_lines, weights)
    p, lev = s.preset, s.level
    d = result.data
    k = len(d.labels)
    extra = user_columns(columns, k)
    order = sort_order(result, sort_by, extra, descending=descending, weights=weights)
    refs = reference_values(ref)

    pi = prediction_bounds(result, prediction)
    models = pooled_models(show_common)
    pooled = {"random": result.random, "common": result.common}

    points = [(float(d.events[i] / d.n[i]), d.ci_low[i], d.ci_high[i]) for i in order]
    points += [(pooled[m].proportion, *pooled[m].proportion_ci) for m in models]
    cis, pi_texts = interval_texts(s, points, [pi] if pi else [])
    w_rand = weight_texts([d.weights_random[i] for i in order] + [100.0], p)
    w_comm = weight_texts([d.weights_common[i] for i in order] + [100.0], p)
    extra_text = {name: [cell_value(v) for v in values] for name, values in extra.items()}

    rows: list[Row] = [
        study_row(result, i, cis[j], w_rand[j], w_comm[j], extra_text, weights)
        for j, i in enumerate(order)
    ]
    rows.append(Row("spacer"))
    for j, m in enumerate(models):
        est = pooled[m]
        cells = {"label": pooled_label(p, m, show_common, lev), "ci": cis[k + j]}
        if j == 0:
            cells.update(count_cells(d.events, d.n))
        cells[f"weight_{m}"] = w_rand[-1] if m == "random" else w_comm[-1]
        rows.append(
            Row(
                "pooled",
                cells=cells,
                estimate=est.proportion,
                low=est.proportion_ci.low,
                high=est.proportion_ci.high,
                model=m,
                bold=True,
            )
        )
    if pi:
        rows.append(
            Row(
                "prediction",
                cells={"label": p.prediction_label, "ci": pi_texts[0]},
                low=pi[0],
                high=pi[1],
                model="random",
            )
        )
    footer: list[str] = []
    if heterogeneity and k >= 2:
        het = heterogeneity_text(result, p)
        if p.heterogeneity_in_rows:
            rows.append(Row("text", text=het))
        else:
            footer.append(het)

    fmt = {"measure": s.scale.title(measure), "level": lev, "model": model_tag(result)}
    specs = column_specs(p, extra, show_common, fmt, max_label_lines)
    values = [*d.ci_low, *d.ci_high]
    for m in models:
        values.extend([pooled[m].proportion, *pooled[m].proportion_ci])
    if pi:
        values.extend(pi)
    axis = proportion_axis(
        s,
        values,
        refs,
        xlim,
        xticks,
        measure,
        pooled_line=result.random.proportion if p.pooled_line else None,
    )

    foot: list[str] = []
    if footnotes:
        foot.append(
            f"Study {lev} CIs: {study_ci_name(o.study_ci_method)}. Pooled: {method_line(result)}."
        )
        w_name = "random-effects" if weights == "random" else "common-effect"
        approx = " (approximate for the GLMM)" if o.method == "glmm" else ""
        foot.append(f"Square areas are proportional to {w_name} weights{approx}.")
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
        footer=tuple(footer),
        footnotes=tuple(foot),
    )


# -- public -------------------------------------------------------------------------------


def forest_layout(
    result: MetaPropResult | SubgroupResult, *, width: float | str | None = None, **options: Any
) -> ForestLayout:
    """The complete geometry of :func:`plot_forest` as data, without drawing.

    ``width`` as in :func:`plot_forest`; other options as :func:`forest_content`.

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.forest import forest_layout
    >>> res = inometa.metaprop([49, 121, 43], [72, 164, 50], labels=["A", "B", "C"])
    >>> lay = forest_layout(res, width="double")
    >>> round(lay.width / 72 * 25.4)
    183
    >>> [round(r.marker_side, 1) > 0 for r in lay.rows_of("study")]
    [True, True, True]
    """
    return arrange(forest_content(result, **options), width=resolve_width(width))


def plot_forest(
    result: MetaPropResult | SubgroupResult,
    *,
    preset: str | Preset = "meta",
    scale: str = "percent",
    digits: int | None = None,
    columns: Columns | None = None,
    sort_by: str | None = None,
    descending: bool = False,
    show_common: bool = False,
    weights: str = "random",
    prediction: bool = True,
    heterogeneity: bool = True,
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
    subgroup_tests: str = "headline",
    subgroup_title: str | None = None,
    width: float | str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Forest plot of a proportion meta-analysis.

    One row per study (label, events, total, proportion with CI, weight, square sized by
    weight, CI line), the pooled random-effects (and optionally common-effect) diamond, the
    prediction interval under the random-effects diamond, and a heterogeneity line; the
    figure's height grows with the number of rows.

    Given a :class:`~inometa.SubgroupResult`, the studies are shown in blocks, one per
    subgroup: a header, the studies (sorted within the block), the subgroup's diamond, its
    prediction interval (where defined) and heterogeneity line — one-study subgroups are
    marked as having no τ² — then the overall diamond, its prediction interval and
    heterogeneity, and the test for subgroup differences, named.

    Parameters
    ----------
    result
        A :class:`~inometa.core.results.MetaPropResult` from :func:`inometa.metaprop`, or a
        :class:`~inometa.SubgroupResult` from :func:`inometa.subgroup_analysis`.
    preset
        ``"meta"`` (R meta look), ``"revman5"`` (RevMan 5) or ``"jama"``, or a
        :class:`~inometa.plots.style.Preset`.
    scale
        ``"percent"`` (default), ``"proportion"`` or ``"per1000"``; applies to the axis,
        the column titles and every number shown.
    digits
        Decimals of proportions (default: 1 for %, 2 for proportions, 0 per 1000).
    columns
        Extra study columns (e.g. setting, regimen, year): a DataFrame or a mapping of
        column name → values, one value per study in the order of ``result.data.labels``.
    sort_by
        ``"estimate"`` (observed proportion), ``"weight"``, ``"label"``, or the name of
        one of ``columns`` (e.g. ``"year"``); None keeps the input order. Ties keep the
        input order, missing values go last.
    descending
        Sort in decreasing order.
    show_common
        Also show the common-effect diamond and weights.
    weights
        Which weights size the squares: ``"random"`` (default) or ``"common"``.
    prediction
        Show the prediction interval (when the result has a finite one).
    heterogeneity
        Show the heterogeneity line (I² with CI, τ², Q with df, p; needs k ≥ 2).
    ref
        Reference line(s) at these proportions (0–1).
    xlim, xticks
        Axis limits and ticks as proportions (0–1); default: the range of all intervals,
        rounded to round values. Intervals cut by the limits end in an arrow.
    measure
        Name of the measure in titles ("Proportion", "Response rate", …).
    title
        Figure title.
    footnotes
        Footnotes naming the study-CI method, the pooling method and the square weights.
    notes
        Further footnotes.
    show_notes
        Also show the result's own notes (``result.notes``, e.g. continuity corrections or
        boundary estimates) as footnotes.
    max_label_lines
        Long study labels are wrapped to at most this many lines, the last truncated with an
        ellipsis (1: truncate only). Labels never run into the number columns.
    fontsize
        Font size in points (default: the preset's, 8 pt).
    subgroup_tests
        Subgroup forests: ``"headline"`` (default) shows the result's test for subgroup
        differences (``result.test``), ``"all"`` every test in ``result.tests``.
    subgroup_title
        Subgroup forests: a prefix of the block headers, e.g. ``"Setting"`` gives
        "Setting: newly diagnosed".
    width
        Figure width: ``"single"`` (89 mm), ``"one-and-a-half"`` (120 mm), ``"double"``
        (183 mm), a number of mm, or None for the natural width (at most 183 mm). Ignored
        when ``ax`` is given (the axes' width is used).
    ax
        Draw into this matplotlib Axes (its area holds the whole table) instead of a new
        figure.

    Returns
    -------
    matplotlib.figure.Figure
        Save with ``fig.savefig("forest.pdf")`` (or :func:`inometa.plots.savefig`): PDF and
        SVG are vector output, PNG at ``dpi=``; files carry no timestamps, so the same plot
        gives the same bytes.

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([49, 121, 43, 119], [72, 164, 50, 131],
    ...                        labels=["DeAngelo 2017", "Kantarjian 2019", "C 2020", "D 2024"])
    >>> fig = inometa.plot_forest(res, ref=0.5, sort_by="estimate")
    >>> len(fig.axes) >= 1
    True
    >>> sg = inometa.subgroup_analysis([49, 121, 43, 119], [72, 164, 50, 131],
    ...                                ["ND", "R/R", "ND", "R/R"], labels=list("ABCD"))
    >>> fig = inometa.plot_forest(sg, subgroup_title="Setting")
    """
    from .draw import render

    content = forest_content(
        result,
        preset=preset,
        scale=scale,
        digits=digits,
        columns=columns,
        sort_by=sort_by,
        descending=descending,
        show_common=show_common,
        weights=weights,
        prediction=prediction,
        heterogeneity=heterogeneity,
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
        subgroup_tests=subgroup_tests,
        subgroup_title=subgroup_title,
    )
    return render(content, width=width, ax=ax)
