"""Forest plot of one proportion meta-analysis: content from a result, then layout, then draw.

Study rows show each study's *observed* proportion (events/n) with its own confidence
interval from ``result.data`` — never a back-transformed model-scale value, which for the
Freeman–Tukey transform would need each study's own n. Pooled rows show the pooled
estimates exactly as the result reports them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..report.format import (
    bracketed,
    pad_figures,
    pct,
    pvalue_styled,
    scaled,
    study_ci_name,
    tau2_text,
)
from ..report.text import method_line
from .axis import axis_limits, axis_ticks, reference_values, tick_labels
from .layout import AxisSpec, ColumnSpec, ForestContent, ForestLayout, Row, arrange
from .style import Preset, Scale, get_preset, get_scale, resolve_width

if TYPE_CHECKING:
    from typing import TypeAlias

    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..results import MetaPropResult
    from ..subgroups import SubgroupResult

    # Extra study columns: one value per study, in the order of result.data.labels.
    Columns: TypeAlias = pd.DataFrame | Mapping[str, Sequence[Any]]

__all__ = ["forest_content", "forest_layout", "plot_forest"]

_SORT_BUILTIN = ("estimate", "weight", "label")


# -- small formatting helpers -------------------------------------------------------------


def _level_text(level: float) -> str:
    return f"{100 * level:g}%"


def _cell_value(v: Any) -> str:
    """A user column value as text: integral floats (years read as float) without '.0'."""
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return ""
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else f"{f:g}"
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def user_columns(columns: Columns | None, k: int) -> dict[str, list[Any]]:
    """The user's extra columns as name → list of k raw values (validated)."""
    if columns is None:
        return {}
    if hasattr(columns, "columns") and hasattr(columns, "__getitem__"):  # a DataFrame
        frame: Any = columns
        mapping = {str(c): list(frame[c]) for c in frame.columns}
    elif isinstance(columns, Mapping):
        mapping = {str(c): list(v) for c, v in columns.items()}
    else:
        raise TypeError(
            "columns must be a pandas DataFrame or a mapping of column name → values "
            f"(one per study), got {type(columns).__name__}"
        )
    for name, values in mapping.items():
        if len(values) != k:
            raise ValueError(
                f"column {name!r} has {len(values)} values but the result has {k} studies; "
                "give one value per study, in the order of result.data.labels"
            )
    return mapping


def sort_order(
    result: MetaPropResult,
    sort_by: str | None,
    extra: Mapping[str, Sequence[Any]],
    *,
    descending: bool = False,
    weights: str = "random",
) -> list[int]:
    """Study order for the rows: input order, or sorted (stably; missing values last) by
    ``"estimate"`` (observed proportion), ``"weight"``, ``"label"`` or a user column such
    as ``"year"`` (matched case-insensitively)."""
    d = result.data
    k = len(d.labels)
    if sort_by is None:
        return list(range(k))
    key = sort_by.lower()
    values: list[Any]
    if key == "estimate":
        values = list(d.events / d.n)
    elif key == "weight":
        values = list(d.weights_random if weights == "random" else d.weights_common)
    elif key == "label":
        values = [s.casefold() for s in d.labels]
    else:
        match = [name for name in extra if name.lower() == key]
        if not match:
            valid = ", ".join([*_SORT_BUILTIN, *extra])
            raise ValueError(
                f"cannot sort by {sort_by!r}: it is neither a built-in key nor one of the "
                f"columns given; valid values are: {valid}"
            )
        values = list(extra[match[0]])

    def missing(v: Any) -> bool:
        return v is None or (isinstance(v, (float, np.floating)) and math.isnan(float(v)))

    present = [i for i in range(k) if not missing(values[i])]
    absent = [i for i in range(k) if missing(values[i])]
    # Python's sort is stable also with reverse=True: tied studies keep their input order.
    present.sort(key=lambda i: values[i], reverse=descending)
    return present + absent


def _keep_together(item: str) -> str:
    # No-break spaces inside an item: a wrapped heterogeneity line breaks between items only.
    return item.replace(" ", "\u00a0")


def heterogeneity_text(result: MetaPropResult, preset: Preset, *, i2_ci: bool = True) -> str:
    """The heterogeneity line in the preset's style (I² with CI, τ², Q with df, p).

    ``i2_ci=False`` leaves out the CI of I² (the shorter lines of subgroup blocks).

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.style import get_preset
    >>> res = inometa.metaprop([49, 121, 43, 19], [72, 164, 50, 32])
    >>> heterogeneity_text(res, get_preset("jama")).replace("\u00a0", " ")
    'Heterogeneity: I² = 67% (95% CI, 0%–98%); τ² = 0.1571; Q = 7.83 (df = 3); P = .05'
    """
    h = result.heterogeneity
    lev = _level_text(result.options.level)
    i2 = pct(h.i2, 0)
    has_ci = i2_ci and all(math.isfinite(v) for v in h.i2_ci)
    p = pvalue_styled(h.q_pvalue, preset.pvalue_style)
    q_name = "Q" if h.q_type == "Cochran" else "Wald-type Q"
    items: list[str]
    if preset.heterogeneity_style == "revman5":
        chi = "Chi²" if h.q_type == "Cochran" else "Wald Chi²"
        ci_text = bracketed(pct(h.i2_ci.low, 0), pct(h.i2_ci.high, 0), "comma") if has_ci else ""
        items = [
            f"Tau² = {tau2_text(h.tau2, 2 if h.tau2 >= 0.01 else 4)}",
            f"{chi} = {h.q:.2f}, df = {h.q_df} ({p})",
            f"I² = {i2} {ci_text}".rstrip(),
        ]
        sep = "; "
    elif preset.heterogeneity_style == "jama":
        ci = f" ({lev} CI, {pct(h.i2_ci.low, 0)}–{pct(h.i2_ci.high, 0)})" if has_ci else ""
        items = [
            f"I² = {i2}{ci}",
            f"τ² = {tau2_text(h.tau2)}",
            f"{q_name} = {h.q:.2f} (df = {h.q_df})",
            p,
        ]
        sep = "; "
    else:
        ci = (
            " " + bracketed(pct(h.i2_ci.low, 0), pct(h.i2_ci.high, 0), preset.interval_style)
            if has_ci
            else ""
        )
        items = [
            f"I² = {i2}{ci}",
            f"τ² = {tau2_text(h.tau2)}",
            f"{q_name} = {h.q:.2f} (df = {h.q_df})",
            p,
        ]
        sep = ", "
    # The title stays with the first item when the line wraps.
    return "Heterogeneity:\u00a0" + sep.join(_keep_together(i) for i in items)


# -- building blocks shared by every forest (also subgroup, leave-one-out, cumulative) -----


@dataclass(frozen=True)
class Setup:
    """Resolved display options: preset (at its font size), scale, decimals, level text."""

    preset: Preset
    scale: Scale
    digits: int
    level: str

    def number(self, x: float) -> str:
        """A proportion on the display scale ('68.1' for 0.681 in %)."""
        return scaled(x, self.scale.factor, self.digits)


def setup(
    preset: str | Preset,
    scale: str,
    digits: int | None,
    fontsize: float | None,
    level: float,
    max_label_lines: int = 1,
    weights: str = "random",
) -> Setup:
    """Validate the display options shared by all forests.

    Examples
    --------
    >>> s = setup("jama", "per1000", None, None, 0.95)
    >>> s.number(0.6806), s.level
    ('681', '95%')
    """
    p = get_preset(preset).with_fontsize(fontsize)
    sc = get_scale(scale)
    dg = sc.digits if digits is None else int(digits)
    if dg < 0:
        raise ValueError(f"digits must be >= 0, got {digits}")
    if weights not in ("random", "common"):
        raise ValueError(f"unknown weights {weights!r}; valid values are: common, random")
    if max_label_lines < 1:
        raise ValueError(f"max_label_lines must be at least 1, got {max_label_lines}")
    return Setup(p, sc, dg, _level_text(level))


def interval_texts(
    s: Setup,
    points: Sequence[tuple[float, float, float]],
    intervals: Sequence[tuple[float, float]] = (),
) -> tuple[list[str], list[str]]:
    """'estimate [low; high]' for each (estimate, low, high) and '[low; high]' for each
    (low, high), in the preset's interval style, padded together so that the numbers of
    one column line up on their decimal points.

    Examples
    --------
    >>> s = setup("meta", "percent", None, None, 0.95)
    >>> points, intervals = interval_texts(s, [(0.681, 0.561, 0.785)], [(0.32, 0.99)])
    >>> points[0].replace("\u2007", " "), intervals[0].replace("\u2007", " ")
    ('68.1 [56.1; 78.5]', '[32.0; 99.0]')
    """
    ests = pad_figures([s.number(e) for e, _, _ in points])
    lows = [s.number(lo) for _, lo, _ in points] + [s.number(lo) for lo, _ in intervals]
    highs = [s.number(hi) for _, _, hi in points] + [s.number(hi) for _, hi in intervals]
    style = s.preset.interval_style
    # '(4.3–9.9)' reads better than '( 4.3– 9.9)': dash-style bounds are not padded.
    if style != "dash":
        lows, highs = pad_figures(lows), pad_figures(highs)
    n = len(points)
    with_points = [
        f"{e} {bracketed(lo, hi, style)}" for e, lo, hi in zip(ests, lows, highs, strict=False)
    ]
    only = [bracketed(lo, hi, style) for lo, hi in zip(lows[n:], highs[n:], strict=True)]
    return with_points, only


def weight_texts(weights: Sequence[float], p: Preset) -> list[str]:
    """Weights in percent with one decimal, padded to line up ('' where missing).

    Examples
    --------
    >>> [w.replace("\u2007", "_") for w in weight_texts([9.5, 100.0], get_preset("meta"))]
    ['__9.5%', '100.0%']
    """
    return pad_figures([f"{w:.1f}{p.weight_suffix}" if math.isfinite(w) else "" for w in weights])


def count_cells(events: npt.ArrayLike, n: npt.ArrayLike) -> dict[str, str]:
    """Events, total and 'events/total' of one study or summed over several.

    Examples
    --------
    >>> count_cells([49, 121], [72, 164])["events_total"]
    '170/236'
    """
    x, m = int(np.sum(events)), int(np.sum(n))
    return {"events": str(x), "total": str(m), "events_total": f"{x}/{m}"}


def study_row(
    result: MetaPropResult,
    i: int,
    ci: str,
    weight_random: str,
    weight_common: str,
    extra_text: Mapping[str, Sequence[str]],
    weights: str,
) -> Row:
    """The row of study ``i``: its observed proportion events/n and its own CI.

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop([49, 121], [72, 164], labels=["A", "B"])
    >>> row = study_row(res, 1, "73.8 [66.4; 80.3]", "50.1%", "69.3%", {}, "random")
    >>> row.cells["events_total"], round(row.estimate, 4)
    ('121/164', 0.7378)
    """
    d = result.data
    cells = {
        "label": d.labels[i],
        **count_cells([d.events[i]], [d.n[i]]),
        "ci": ci,
        "weight_random": weight_random,
        "weight_common": weight_common,
    }
    cells.update({f"user:{name}": values[i] for name, values in extra_text.items()})
    size = d.weights_random if weights == "random" else d.weights_common
    return Row(
        "study",
        cells=cells,
        estimate=float(d.events[i] / d.n[i]),
        low=float(d.ci_low[i]),
        high=float(d.ci_high[i]),
        weight=float(size[i]),
    )


def pooled_models(show_common: bool) -> list[str]:
    """The pooled rows in display order.

    Examples
    --------
    >>> pooled_models(True)
    ['common', 'random']
    """
    return (["common"] if show_common else []) + ["random"]


def pooled_label(p: Preset, model: str, show_common: bool, level: str) -> str:
    """The label of an overall pooled row in the preset's words.

    Examples
    --------
    >>> pooled_label(get_preset("revman5"), "random", False, "95%")
    'Total (95% CI)'
    """
    if model == "common":
        label = p.common_label
    else:
        label = p.random_label if show_common else p.random_label_alone
    return label.format(level=level)


def model_tag(result: MetaPropResult) -> str:
    """RevMan's method tag of the column title ('IV, Random').

    Examples
    --------
    >>> import inometa
    >>> model_tag(inometa.metaprop([4, 5], [10, 12]))
    'IV, Random'
    """
    return f"{'GLMM' if result.options.method == 'glmm' else 'IV'}, Random"


def prediction_bounds(result: MetaPropResult, prediction: bool) -> tuple[float, float] | None:
    """The proportion-scale prediction interval if it is to be shown and is defined.

    Examples
    --------
    >>> import inometa
    >>> prediction_bounds(inometa.metaprop([0, 0], [10, 20], method="glmm"), True) is None
    True
    """
    lo, hi = result.prediction.proportion_low, result.prediction.proportion_high
    return (lo, hi) if prediction and math.isfinite(lo) and math.isfinite(hi) else None


def column_specs(
    p: Preset,
    extra: Mapping[str, Sequence[Any]],
    show_common: bool,
    fmt: Mapping[str, str],
    max_label_lines: int,
) -> list[ColumnSpec]:
    """The preset's columns, with the user's columns where the preset puts ``user``.

    Examples
    --------
    >>> fmt = {"measure": "Proportion, %", "level": "95%", "model": "IV, Random"}
    >>> [c.key for c in column_specs(get_preset("jama"), {"Year": [2019]}, False, fmt, 2)]
    ['label', 'user:Year', 'events_total', 'ci', 'weight_random']
    """
    specs: list[ColumnSpec] = []
    for side, keys in (("left", p.left_columns), ("right", p.right_columns)):
        for key in keys:
            if key == "user":
                for name, values in extra.items():
                    numeric = all(_is_number(v) or _cell_value(v) == "" for v in values)
                    specs.append(
                        ColumnSpec(
                            f"user:{name}",
                            name,
                            align="right" if numeric else "left",
                            side=side,
                            wrap=not numeric,
                            max_width=None if numeric else 12 * p.fontsize,
                        )
                    )
                continue
            if key == "weight_common" and not show_common:
                continue
            specs.append(
                ColumnSpec(
                    key,
                    p.titles[key].format(**fmt),
                    align="left" if key == "label" else "right",
                    side=side,
                    wrap=key == "label",
                    max_lines=max_label_lines,
                )
            )
    return specs


def proportion_axis(
    s: Setup,
    values: Sequence[float],
    refs: Sequence[float],
    xlim: tuple[float, float] | None,
    xticks: Sequence[float] | None,
    measure: str,
    pooled_line: float | None = None,
) -> AxisSpec:
    """The proportion axis holding ``values`` (and the reference lines).

    Examples
    --------
    >>> s = setup("meta", "percent", None, None, 0.95)
    >>> proportion_axis(s, [0.43, 0.91], [0.5], None, None, "Proportion").tick_labels
    ('40', '60', '80', '100')
    """
    limits = axis_limits(xlim, [*values, *refs], s.scale)
    ticks = axis_ticks(xticks, limits, s.scale)
    return AxisSpec(
        xlim=limits,
        ticks=ticks,
        tick_labels=tick_labels(ticks, s.scale),
        label=s.scale.title(measure),
        ref_lines=tuple(r for r in refs if limits[0] <= r <= limits[1]),
        pooled_line=pooled_line if pooled_line is not None and math.isfinite(pooled_line) else None,
    )


def clipped_note(values: Sequence[float], axis: AxisSpec) -> list[str]:
    """The footnote explaining arrows, when an interval reaches past the axis limits.

    Examples
    --------
    >>> clipped_note([0.2, 0.95], AxisSpec((0.4, 0.9), (0.4, 0.9), ("40", "90"), "%"))
    ['Arrows: the interval continues beyond the axis limits.']
    """
    lo, hi = axis.xlim
    if any(math.isfinite(v) and not lo <= v <= hi for v in values):
        return ["Arrows: the interval continues beyond the axis limits."]
    return []


def result_notes(notes: Sequence[str], show: bool) -> list[str]:
    """The result's own notes as footnotes ('Note: …'), when asked for.

    Examples
    --------
    >>> result_notes(["one-study subgroups: X"], True)
    ['Note: One-study subgroups: X.']
    """
    if not show:
        return []
    return [f"Note: {n[:1].upper()}{n[1:]}{'' if n.endswith('.') else '.'}" for n in notes]


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
    from ..subgroups import SubgroupResult

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
        from .subgroup import subgroup_content

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
    extra_text = {name: [_cell_value(v) for v in values] for name, values in extra.items()}

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
        A :class:`~inometa.results.MetaPropResult` from :func:`inometa.metaprop`, or a
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
