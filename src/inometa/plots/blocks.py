"""Blocks shared by the forest-style plots: study rows, columns, axes, notes.

The single-analysis forest (:mod:`~inometa.plots.forest`), the subgroup forest
(:mod:`~inometa.plots.subgroup`) and the leave-one-out and cumulative forests
(:mod:`~inometa.plots.refits`) all build their rows from these, so a study row or a
heterogeneity line reads the same in every plot. Each function turns part of a result into
text or layout data; nothing here draws.
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
    tau2_text,
)
from .axis import axis_limits, axis_ticks, tick_labels
from .layout import AxisSpec, ColumnSpec, Row
from .style import Preset, Scale, get_preset, get_scale

if TYPE_CHECKING:
    from typing import TypeAlias

    import pandas as pd

    from ..core.results import MetaPropResult

    # Extra study columns: one value per study, in the order of result.data.labels.
    Columns: TypeAlias = pd.DataFrame | Mapping[str, Sequence[Any]]

__all__ = [
    "Setup",
    "cell_value",
    "clipped_note",
    "column_specs",
    "count_cells",
    "heterogeneity_text",
    "interval_texts",
    "keep_together",
    "model_tag",
    "pooled_label",
    "pooled_models",
    "prediction_bounds",
    "proportion_axis",
    "result_notes",
    "setup",
    "sort_order",
    "study_row",
    "tau2_column",
    "user_columns",
    "weight_texts",
]

_SORT_BUILTIN = ("estimate", "weight", "label")


# -- small formatting helpers -------------------------------------------------------------


def _level_text(level: float) -> str:
    return f"{100 * level:g}%"


def cell_value(v: Any) -> str:
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


def tau2_column(values: Sequence[float | None]) -> list[str]:
    """τ² texts for one table column, all at four decimals and lined up.

    An exact zero is written "0.0000" beside "0.0142" (alone, as in a heterogeneity line,
    :func:`~inometa.report.format.tau2_text` writes "0"); a positive value below the last
    digit stays "< 0.0001"; None (no τ², one study) is "–".

    Examples
    --------
    >>> [t.replace("\u2007", "_") for t in tau2_column([0.0, 0.0142, None, 1.5, 2e-6])]
    ['__0.0000', '__0.0142', '–', '__1.5000', '< 0.0001']
    """
    texts = [
        "–" if t is None else f"{0.0:.4f}" if t == 0 else tau2_text(float(t), 4) for t in values
    ]
    return pad_figures(texts)


def keep_together(item: str) -> str:
    # No-break spaces inside an item: a wrapped heterogeneity line breaks between items only.
    return item.replace(" ", "\u00a0")


def _equals(name: str, value: str) -> str:
    """'τ² = 0.01', but 'τ² < 0.0001' when the value is a bound."""
    return f"{name} {value}" if value.startswith(("<", ">")) else f"{name} = {value}"


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
            _equals("Tau²", tau2_text(h.tau2, 2 if h.tau2 >= 0.01 else 4)),
            f"{chi} = {h.q:.2f}, df = {h.q_df} ({p})",
            f"I² = {i2} {ci_text}".rstrip(),
        ]
        sep = "; "
    elif preset.heterogeneity_style == "jama":
        ci = f" ({lev} CI, {pct(h.i2_ci.low, 0)}–{pct(h.i2_ci.high, 0)})" if has_ci else ""
        items = [
            f"I² = {i2}{ci}",
            _equals("τ²", tau2_text(h.tau2)),
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
            _equals("τ²", tau2_text(h.tau2)),
            f"{q_name} = {h.q:.2f} (df = {h.q_df})",
            p,
        ]
        sep = ", "
    # The title stays with the first item when the line wraps.
    return "Heterogeneity:\u00a0" + sep.join(keep_together(i) for i in items)


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
                    numeric = all(_is_number(v) or cell_value(v) == "" for v in values)
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
