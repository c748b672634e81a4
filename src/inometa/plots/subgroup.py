"""Subgroup forest: the studies in blocks, one per subgroup, then the overall analysis.

Each block has a header (the subgroup), its studies (sorted within the block), the
subgroup's pooled diamond(s), its prediction interval where defined and its heterogeneity
line; a one-study subgroup is marked as having no τ² (``SubgroupResult.single_study``).
After the blocks come the overall diamond, its prediction interval and heterogeneity, and
the test for subgroup differences — named, with its statistic, df (two for F) and p.

Study rows are those of the overall analysis (observed proportions, the studies' own CIs)
and their weights are the overall analysis' weights, as R meta and RevMan show them; a
subgroup's diamond row shows the sum of its studies' weights. Every number is read from
the :class:`~inometa.SubgroupResult`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ..report.format import pvalue_styled, study_ci_name, tau2_text
from ..report.text import method_line
from .axis import reference_values
from .blocks import (
    cell_value,
    clipped_note,
    column_specs,
    count_cells,
    heterogeneity_text,
    interval_texts,
    keep_together,
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
from .layout import ForestContent, Row
from .style import Preset

if TYPE_CHECKING:
    from ..analysis.subgroups import SubgroupResult
    from ..core.results import MetaPropResult
    from ..core.significance import TestResult
    from .blocks import Columns

__all__ = ["subgroup_content", "subgroup_members", "subgroup_test_text"]

_TEST_CHOICES = ("headline", "all")


def subgroup_members(sg: SubgroupResult) -> dict[str, list[int]]:
    """Indices (into ``sg.overall.data``) of each subgroup's studies (``sg.members()``).

    Examples
    --------
    >>> import inometa
    >>> sg = inometa.subgroup_analysis([10, 20, 30, 12], [50, 60, 70, 40],
    ...                                ["b", "a", "b", "a"], labels=list("PQRS"))
    >>> subgroup_members(sg)
    {'b': [0, 2], 'a': [1, 3]}
    """
    return sg.members()


def _number(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


def _df(df: float) -> str:
    return str(int(df)) if float(df).is_integer() else f"{df:.2f}"


def subgroup_test_text(test: TestResult, p: Preset) -> str:
    """The test for subgroup differences, named, in the preset's style.

    χ² tests show df; F tests show both df. An undefined test (NaN) says why.

    Examples
    --------
    >>> from inometa import TestResult
    >>> from inometa.plots.style import get_preset
    >>> t = TestResult("Q between (separate τ²)", 12.4581, 1, None, 0.00042, "")
    >>> subgroup_test_text(t, get_preset("meta")).replace("\u00a0", " ")
    'Test for subgroup differences, Q between (separate τ²): χ² = 12.46, df = 1, p < 0.001'
    >>> f = TestResult("QM (common τ²)", 3.5, 1, 14.0, 0.082, "")
    >>> subgroup_test_text(f, get_preset("jama")).replace("\u00a0", " ")
    'Test for subgroup differences, QM (common τ²): F = 3.50 (df = 1, 14); P = .08'
    """
    head = f"Test for subgroup differences, {test.name}: "
    if not (math.isfinite(test.statistic) and math.isfinite(test.pvalue)):
        reason = test.description or "undefined"
        return head + f"not available ({reason})"
    symbol = "F" if test.df2 is not None else ("Chi²" if p.pvalue_style == "capital" else "χ²")
    df = _df(test.df) if test.df2 is None else f"{_df(test.df)}, {_df(test.df2)}"
    pv = pvalue_styled(test.pvalue, p.pvalue_style)
    stat = f"{symbol} = {_number(test.statistic)}"
    if p.heterogeneity_style == "revman5":
        items = [f"{stat}, df = {df} ({pv})"]
    elif p.heterogeneity_style == "jama":
        items = [f"{stat} (df = {df})", pv]
        return head + "; ".join(keep_together(i) for i in items)
    else:
        items = [stat, f"df = {df}", pv]
    return head + ", ".join(keep_together(i) for i in items)


def _single_study_text() -> str:
    return "Heterogeneity:\u00a0not\u00a0applicable (one\u00a0study:\u00a0no\u00a0τ²)"


def subgroup_content(
    sg: SubgroupResult,
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
    tests: str = "headline",
    subgroup_title: str | None = None,
) -> ForestContent:
    """Rows, columns, axis and footnotes of a subgroup forest (no geometry, no drawing).

    Options as :func:`inometa.plot_forest`; ``columns`` give one value per study in the
    order of ``sg.overall.data.labels``, and ``sort_by`` sorts the studies within each
    subgroup.

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.subgroup import subgroup_content
    >>> sg = inometa.subgroup_analysis([10, 20, 30, 12, 25], [50, 60, 70, 40, 55],
    ...                                ["ND", "ND", "RR", "RR", "RR"], labels=list("ABCDE"))
    >>> [r.kind for r in subgroup_content(sg, prediction=False).rows][:6]
    ['header', 'study', 'study', 'pooled', 'text', 'spacer']
    """
    if tests not in _TEST_CHOICES:
        raise ValueError(f"unknown subgroup_tests {tests!r}; valid values are: all, headline")
    overall = sg.overall
    o = overall.options
    s = setup(preset, scale, digits, fontsize, o.level, max_label_lines, weights)
    p, lev = s.preset, s.level
    d = overall.data
    k = len(d.labels)
    extra = user_columns(columns, k)
    order = sort_order(overall, sort_by, extra, descending=descending, weights=weights)
    rank = {i: j for j, i in enumerate(order)}
    members = {
        level: sorted(idx, key=rank.__getitem__) for level, idx in subgroup_members(sg).items()
    }
    refs = reference_values(ref)
    models = pooled_models(show_common)

    def single(level: str) -> bool:
        return level in sg.single_study or sg.subgroups[level].k < 2

    extra_text = {name: [cell_value(v) for v in values] for name, values in extra.items()}

    # Every number of a column is formatted in one pass so that all of them line up.
    # A one-study subgroup has no τ², so no prediction interval either.
    blocks: list[tuple[str, MetaPropResult, list[int], tuple[float, float] | None]] = [
        (level, res, members[level], prediction_bounds(res, prediction and not single(level)))
        for level, res in sg.subgroups.items()
    ]
    overall_pi = prediction_bounds(overall, prediction)
    points: list[tuple[float, float, float]] = []
    intervals: list[tuple[float, float]] = []
    w_rand_values: list[float] = []
    w_comm_values: list[float] = []

    def add_pooled(res: MetaPropResult, pi: tuple[float, float] | None) -> None:
        for m in models:
            est = res.random if m == "random" else res.common
            points.append((est.proportion, *est.proportion_ci))
        if pi:
            intervals.append(pi)

    for _level, res, idx, pi in blocks:
        for i in idx:
            points.append((float(d.events[i] / d.n[i]), d.ci_low[i], d.ci_high[i]))
            w_rand_values.append(d.weights_random[i])
            w_comm_values.append(d.weights_common[i])
        add_pooled(res, pi)
        w_rand_values.append(sum(d.weights_random[i] for i in idx))
        w_comm_values.append(sum(d.weights_common[i] for i in idx))
    add_pooled(overall, overall_pi)
    w_rand_values.append(100.0)
    w_comm_values.append(100.0)
    cis, pi_texts = interval_texts(s, points, intervals)
    w_rand, w_comm = weight_texts(w_rand_values, p), weight_texts(w_comm_values, p)
    ci_iter, pi_iter = iter(cis), iter(pi_texts)
    w_iter = iter(zip(w_rand, w_comm, strict=True))

    def pooled_rows(
        res: MetaPropResult, pi: tuple[float, float] | None, labels: dict[str, str]
    ) -> list[Row]:
        w_r, w_c = next(w_iter)
        out = []
        for j, m in enumerate(models):
            est = res.random if m == "random" else res.common
            cells = {"label": labels[m], "ci": next(ci_iter)}
            if j == 0:
                cells.update(count_cells(res.data.events, res.data.n))
            cells[f"weight_{m}"] = w_r if m == "random" else w_c
            out.append(
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
            out.append(
                Row(
                    "prediction",
                    cells={"label": p.prediction_label, "ci": next(pi_iter)},
                    low=pi[0],
                    high=pi[1],
                    model="random",
                )
            )
        return out

    if show_common:
        sub_labels = {
            "random": p.subtotal_random_label.format(level=lev),
            "common": p.subtotal_common_label.format(level=lev),
        }
    else:
        sub_labels = {"random": p.subtotal_label.format(level=lev)}
    rows: list[Row] = []
    for level, res, idx, pi in blocks:
        header = f"{subgroup_title}: {level}" if subgroup_title else level
        rows.append(Row("header", text=header))
        for i in idx:
            w_r, w_c = next(w_iter)
            rows.append(study_row(overall, i, next(ci_iter), w_r, w_c, extra_text, weights))
        rows.extend(pooled_rows(res, pi, sub_labels))
        if heterogeneity:
            rows.append(
                Row(
                    "text",
                    text=_single_study_text()
                    if single(level)
                    else heterogeneity_text(res, p, i2_ci=False),
                )
            )
        rows.append(Row("spacer"))
    overall_labels = {m: pooled_label(p, m, show_common, lev) for m in models}
    overall_start = len(rows)
    rows.extend(pooled_rows(overall, overall_pi, overall_labels))

    closing: list[str] = []
    if heterogeneity and k >= 2:
        closing.append(heterogeneity_text(overall, p))
    chosen = [sg.test] if tests == "headline" else [sg.test, *(t for t in sg.tests if t != sg.test)]
    closing.extend(subgroup_test_text(t, p) for t in chosen)
    footer: list[str] = []
    if p.heterogeneity_in_rows:
        rows.extend(Row("text", text=t) for t in closing)
    else:
        footer.extend(closing)

    fmt = {"measure": s.scale.title(measure), "level": lev, "model": model_tag(overall)}
    specs = column_specs(p, extra, show_common, fmt, max_label_lines)
    values = [*d.ci_low, *d.ci_high]
    for lo, hi in intervals:
        values.extend([lo, hi])
    for e, lo, hi in points:
        values.extend([e, lo, hi])
    axis = proportion_axis(
        s,
        values,
        refs,
        xlim,
        xticks,
        measure,
        pooled_line=overall.random.proportion if p.pooled_line else None,
    )
    axis = replace(axis, pooled_line_end=overall_start)

    foot: list[str] = []
    if footnotes:
        foot.append(
            f"Study {lev} CIs: {study_ci_name(o.study_ci_method)}. Pooled: {method_line(overall)}."
        )
        if sg.tau2 == "common" and math.isfinite(sg.common_tau2):
            shared = tau2_text(sg.common_tau2)  # as the heterogeneity lines write τ²
            foot.append(
                f"Subgroups share one τ² {'' if shared[0] == '<' else '= '}{shared} "
                "(common-τ² model); "
                "the overall analysis has its own."
            )
        else:
            foot.append("Each subgroup has its own τ² (separate-τ² model).")
        w_name = "random-effects" if weights == "random" else "common-effect"
        approx = " (approximate for the GLMM)" if o.method == "glmm" else ""
        foot.append(
            f"Square areas are proportional to the overall analysis' {w_name} "
            f"weights{approx}; subgroup rows show their sum."
        )
        foot.extend(clipped_note([*values, *refs], axis))
    if show_notes:
        foot.extend(result_notes(sg.notes, True))
        foot.extend(n for n in result_notes(overall.notes, True) if n not in foot)
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
