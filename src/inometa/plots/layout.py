"""Forest-plot layout as data: rows and columns first, geometry second, drawing last.

A forest plot is a table with a plot panel in it. Building it in three steps keeps each
testable on its own:

1. *content* (:class:`ForestContent`): a list of :class:`Row` objects — kinds ``study``,
   ``pooled``, ``prediction``, ``header``, ``text`` and ``spacer`` — with their cell texts
   and proportion-scale values, the columns, the axis, the footer. Built from results by
   :mod:`~inometa.plots.forest` and :mod:`~inometa.plots.summary`; subgroup blocks,
   leave-one-out and cumulative plots only need other row lists.
2. *geometry* (:func:`arrange` → :class:`ForestLayout`): column widths from measured text,
   wrapped labels, row positions, the panel box, marker sizes, clipped intervals and
   arrows, diamond vertices — all in points from the top-left corner of the figure.
3. *drawing* (:mod:`~inometa.plots.draw`): places exactly what the layout says.

Nothing in this module imports matplotlib; text is measured by a :data:`Measurer`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from .style import Preset, mm_to_pt
from .text import Measurer, measurer_for, wrap

__all__ = [
    "AxisSpec",
    "ColumnSpec",
    "ForestContent",
    "ForestLayout",
    "Geometry",
    "PlacedColumn",
    "PlacedRow",
    "Row",
    "arrange",
    "clip_polygon",
]

ROW_KINDS = ("study", "pooled", "prediction", "header", "text", "spacer")

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Row:
    """One row of a forest plot before geometry.

    Attributes
    ----------
    kind
        ``study`` (square and CI), ``pooled`` (diamond), ``prediction`` (PI bar or line),
        ``header`` (bold text across the left columns, e.g. a subgroup name), ``text``
        (text across the left columns, e.g. a heterogeneity line) or ``spacer``.
    cells
        Column key → text, for ``study``, ``pooled`` and ``prediction`` rows.
    text
        The text of a ``header`` or ``text`` row.
    estimate, low, high
        Proportion-scale point and interval (study: the observed proportion and its CI;
        pooled: estimate and CI; prediction: the PI in ``low``/``high``).
    weight
        Study weight in percent; squares are sized by it.
    model
        ``"random"`` or ``"common"`` for pooled and prediction rows (chooses the colour).
    bold
        Bold cell texts (pooled rows).
    pi_low, pi_high
        A prediction interval drawn on the same row as the diamond (summary forests).
    marker_size
        A fixed square size, as a fraction of the largest square, for study rows without
        weights (the refits of leave-one-out and cumulative forests).
    """

    kind: str
    cells: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    text: str = ""
    estimate: float = math.nan
    low: float = math.nan
    high: float = math.nan
    weight: float = math.nan
    model: str = ""
    bold: bool = False
    pi_low: float = math.nan
    pi_high: float = math.nan
    marker_size: float = math.nan

    def __post_init__(self) -> None:
        if self.kind not in ROW_KINDS:
            raise ValueError(f"unknown row kind {self.kind!r}; valid kinds are: {ROW_KINDS}")


@dataclass(frozen=True)
class ColumnSpec:
    """A text column: ``key`` into :attr:`Row.cells`, title, alignment, side of the panel.

    ``wrap`` columns (study labels, the user's text columns) are wrapped to at most
    ``max_lines`` lines when the figure is too narrow; ``max_width`` (points) caps them.
    """

    key: str
    title: str
    align: str = "right"
    side: str = "left"
    wrap: bool = False
    max_lines: int = 2
    max_width: float | None = None


@dataclass(frozen=True)
class AxisSpec:
    """The proportion axis: limits, ticks and their labels, title, vertical lines.

    Values are proportions (0–1); the labels carry the scale (%, per 1000).
    ``pooled_line`` is a dashed line at the pooled estimate, drawn over the study rows down
    to the first diamond after them, or down to row ``pooled_line_end`` (an index into the
    content's rows; subgroup forests end it at the overall diamond).
    """

    xlim: tuple[float, float]
    ticks: tuple[float, ...]
    tick_labels: tuple[str, ...]
    label: str
    ref_lines: tuple[float, ...] = ()
    pooled_line: float | None = None
    pooled_line_end: int | None = None


@dataclass(frozen=True)
class ForestContent:
    """Everything a forest plot shows, before any geometry."""

    rows: tuple[Row, ...]
    columns: tuple[ColumnSpec, ...]
    axis: AxisSpec
    preset: Preset
    title: str | None = None
    panel_title: str = ""
    footer: tuple[str, ...] = ()
    footnotes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Geometry:
    """Spacing rules in multiples of the font size (so layouts scale with the font)."""

    margin: float = 0.75
    column_gap: float = 1.0
    line: float = 1.2
    row: float = 1.6
    spacer: float = 0.6
    header_pad: float = 0.7
    title_gap: float = 0.6
    panel_default: float = 20.0
    panel_preferred: float = 14.0
    panel_min: float = 10.0
    label_min: float = 9.0
    label_legible: float = 16.0
    marker_max: float = 0.8
    marker_min: float = 0.3
    diamond: float = 0.8
    prediction_bar: float = 0.35
    arrow: float = 0.7
    footnote_scale: float = 0.85
    auto_max_width_mm: float = 183.0
    # Width slack for text measured here but drawn by a backend with other hinting.
    measure_slack: float = 1.03


@dataclass(frozen=True)
class PlacedColumn:
    """A column with its horizontal extent (points from the left edge) and wrapped title."""

    spec: ColumnSpec
    x0: float
    x1: float
    title: str

    @property
    def anchor(self) -> float:
        """The x where the column's text is anchored for its alignment."""
        if self.spec.align == "left":
            return self.x0
        if self.spec.align == "center":
            return (self.x0 + self.x1) / 2
        return self.x1


@dataclass(frozen=True)
class PlacedRow:
    """A row with its vertical extent and everything to draw on it.

    ``top``/``bottom`` are points from the top edge. ``segment`` is the interval line
    (study CI, prediction interval) already clipped to the axis, ``arrow_low``/
    ``arrow_high`` say whether it was clipped; ``marker_side`` is the square's side in
    points; ``diamond`` the diamond's vertices (x in proportion, y in points), clipped.
    """

    row: Row
    top: float
    bottom: float
    cells: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    text: str = ""
    lines: int = 1
    marker_side: float = 0.0
    marker_visible: bool = False
    segment: tuple[float, float] | None = None
    arrow_low: bool = False
    arrow_high: bool = False
    diamond: tuple[tuple[float, float], ...] = ()

    @property
    def y(self) -> float:
        """Vertical centre in points from the top."""
        return (self.top + self.bottom) / 2


@dataclass(frozen=True)
class ForestLayout:
    """The complete geometry of a forest plot, in points from the top-left corner."""

    content: ForestContent
    width: float
    height: float
    fontsize: float
    line_height: float
    row_height: float
    title: str
    title_top: float
    header_top: float
    header_bottom: float
    columns: tuple[PlacedColumn, ...]
    rows: tuple[PlacedRow, ...]
    panel_x0: float
    panel_x1: float
    panel_top: float
    panel_bottom: float
    graphics_bottom: float
    panel_title: str
    ticks: tuple[float, ...]
    tick_labels: tuple[str, ...]
    axis_label_pad: float
    arrow_length: float
    footer: tuple[str, ...]
    footer_top: float
    footnotes: tuple[str, ...]
    footnotes_top: float
    footnote_size: float
    warnings: tuple[str, ...] = field(default=())
    #: Points the drawn panel reaches past ``panel_x0`` and ``panel_x1`` on each side: half
    #: the largest square, so a square at 0% or 100% stays inside the panel's axes.
    panel_pad: float = 0.0

    @property
    def axis(self) -> AxisSpec:
        """The proportion axis."""
        return self.content.axis

    @property
    def preset(self) -> Preset:
        """The preset the content was built with."""
        return self.content.preset

    def rows_of(self, kind: str) -> tuple[PlacedRow, ...]:
        """The placed rows of one kind, in order."""
        return tuple(r for r in self.rows if r.row.kind == kind)


def clip_polygon(
    vertices: Sequence[tuple[float, float]], xmin: float, xmax: float
) -> tuple[tuple[float, float], ...]:
    """A convex polygon cut to the vertical band ``xmin ≤ x ≤ xmax`` (Sutherland–Hodgman).

    Used for diamonds that reach past the axis limits: the cut edge shows where the
    interval continues, and an arrow is drawn there.

    Examples
    --------
    >>> clip_polygon([(-1, 0), (0, 1), (1, 0), (0, -1)], 0.0, 2.0)
    ((0.0, -1.0), (0.0, 1.0), (1.0, 0.0))
    """

    def cut(
        points: list[tuple[float, float]], bound: float, keep_above: bool
    ) -> list[tuple[float, float]]:
        def inside(p: tuple[float, float]) -> bool:
            return p[0] >= bound if keep_above else p[0] <= bound

        out: list[tuple[float, float]] = []
        for i, cur in enumerate(points):
            prev = points[i - 1]
            if inside(cur) != inside(prev):
                t = (bound - prev[0]) / (cur[0] - prev[0])
                out.append((bound, prev[1] + t * (cur[1] - prev[1])))
            if inside(cur):
                out.append(cur)
        return out

    pts = [(float(x), float(y)) for x, y in vertices]
    pts = cut(pts, float(xmin), True)
    if pts:
        pts = cut(pts, float(xmax), False)
    unique: list[tuple[float, float]] = []
    for p in pts:
        if not unique or p != unique[-1]:
            unique.append(p)
    while len(unique) > 1 and unique[0] == unique[-1]:
        unique.pop()
    return tuple(unique)


# -- geometry ---------------------------------------------------------------------------


def _clip_segment(
    low: float, high: float, xmin: float, xmax: float
) -> tuple[tuple[float, float] | None, bool, bool]:
    if not (math.isfinite(low) and math.isfinite(high)):
        return None, False, False
    tol = 1e-12 * (xmax - xmin)
    arrow_low = low < xmin - tol
    arrow_high = high > xmax + tol
    if high < xmin or low > xmax:
        return None, arrow_low and high < xmin, arrow_high and low > xmax
    return (max(low, xmin), min(high, xmax)), arrow_low, arrow_high


def _place_graphics(
    pr: PlacedRow,
    xlim: tuple[float, float],
    side_max: float,
    w_max: float,
    g: Geometry,
    row_h: float,
) -> PlacedRow:
    """The row's square, interval, arrows or diamond, clipped to the axis limits."""
    r = pr.row
    xmin, xmax = xlim
    if r.kind == "study":
        seg, a_lo, a_hi = _clip_segment(r.low, r.high, xmin, xmax)
        side = g.marker_min * row_h
        if math.isfinite(r.marker_size):
            side = max(side_max * r.marker_size, side)
        elif math.isfinite(r.weight) and w_max > 0:
            # Area ∝ weight; the smallest squares are kept visible.
            side = max(side_max * math.sqrt(max(r.weight, 0.0) / w_max), side)
        visible = math.isfinite(r.estimate) and xmin <= r.estimate <= xmax
        return replace(
            pr, segment=seg, arrow_low=a_lo, arrow_high=a_hi, marker_side=side,
            marker_visible=visible,
        )  # fmt: skip
    if r.kind == "pooled":
        est = r.estimate
        lo = r.low if math.isfinite(r.low) else est
        hi = r.high if math.isfinite(r.high) else est
        half = g.diamond * row_h / 2
        y = pr.y
        diamond = clip_polygon([(lo, y), (est, y - half), (hi, y), (est, y + half)], xmin, xmax)
        # An inline prediction interval (summary forests) carries the arrows; otherwise the
        # diamond does where it is cut.
        seg, a_lo, a_hi = _clip_segment(r.pi_low, r.pi_high, xmin, xmax)
        if seg is None:
            a_lo, a_hi = lo < xmin, hi > xmax
        return replace(pr, diamond=diamond, segment=seg, arrow_low=a_lo, arrow_high=a_hi)
    seg, a_lo, a_hi = _clip_segment(r.low, r.high, xmin, xmax)
    return replace(pr, segment=seg, arrow_low=a_lo, arrow_high=a_hi)


def _thin_ticks(
    axis: AxisSpec, panel_w: float, measure: Callable[[str], float], fs: float
) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """Drop every other tick until neighbouring tick labels are at least half an em apart
    on a panel of ``panel_w`` points."""
    ticks, labels = axis.ticks, axis.tick_labels
    xmin, xmax = axis.xlim
    while len(ticks) > 2:
        pos = [(t - xmin) / (xmax - xmin) * panel_w for t in ticks]
        half = [measure(lab) / 2 for lab in labels]
        crowded = any(
            pos[i + 1] - half[i + 1] - (pos[i] + half[i]) < 0.5 * fs for i in range(len(ticks) - 1)
        )
        if not crowded:
            break
        ticks, labels = ticks[::2], labels[::2]
    return ticks, labels


def arrange(
    content: ForestContent,
    *,
    width: float | None = None,
    measurer: Measurer | None = None,
    geometry: Geometry | None = None,
) -> ForestLayout:
    """Compute the geometry of a forest plot.

    Parameters
    ----------
    content
        Rows, columns, axis and footer (:class:`ForestContent`).
    width
        Figure width in points; None chooses the natural width, at most a double
        journal column (183 mm), wrapping labels if needed.
    measurer
        Text measurer (default: the preset's font, :func:`~inometa.plots.text.measurer_for`).
    geometry
        Spacing rules (:class:`Geometry`).

    Returns
    -------
    ForestLayout
        Positions in points from the top-left corner; the figure height follows the rows.
        If the requested width cannot hold the columns with a minimal panel, the figure is
        made wider and a warning is recorded in ``warnings``.
    """
    g = geometry or Geometry()
    measure_raw = measurer or measurer_for(content.preset.font_family)
    preset = content.preset
    fs = preset.fontsize
    warnings: list[str] = []

    def measure(text: str, bold: bool = False, size: float = fs) -> float:
        return measure_raw(text, size, bold) * g.measure_slack

    def measure_with(bold: bool = False, size: float = fs) -> Callable[[str], float]:
        return lambda text: measure(text, bold, size)

    margin = g.margin * fs
    gap = g.column_gap * fs
    row_h = g.row * fs
    # Squares are centred on their estimate and may reach past the panel's ends.
    panel_gap = max(gap, g.marker_max * row_h / 2 + 0.6 * fs)
    line_h = g.line * fs

    # -- horizontal: natural column widths ------------------------------------------------
    data_rows = [r for r in content.rows if r.kind in ("study", "pooled", "prediction")]

    def natural(spec: ColumnSpec) -> float:
        widths = [measure(spec.title, True)]
        if spec.key == "label":
            # Headers (subgroup names) span the left columns but must at least fit here.
            widths.extend(measure(r.text, True) for r in content.rows if r.kind == "header")
        for r in data_rows:
            text = r.cells.get(spec.key, "")
            if text:
                widths.append(measure(text, r.bold))
        return max(widths)

    specs = content.columns
    label_key = next((c.key for c in specs if c.key == "label"), None)
    widths: dict[str, float] = {}
    for spec in specs:
        w = natural(spec)
        if spec.max_width is not None and spec.key != label_key:
            w = min(w, max(spec.max_width, measure(spec.title, True) if "\n" in spec.title else 0))
        widths[spec.key] = w
    left = [c for c in specs if c.side == "left"]
    right = [c for c in specs if c.side == "right"]
    n_gaps = max(len(left) - 1, 0) + max(len(right) - 1, 0)
    n_panel_gaps = (1 if left else 0) + (1 if right else 0)

    # Tick labels and squares hang past the panel ends; on a side without columns the outer
    # margin must hold them, a square (at 0% or 100%) still a margin from the figure edge.
    tick_w = [measure(t) for t in content.axis.tick_labels] or [0.0]
    edge = g.marker_max * row_h / 2 + margin
    margin_left = margin if left else max(margin, edge, tick_w[0] / 2 + 0.25 * fs)
    margin_right = margin if right else max(margin, edge, tick_w[-1] / 2 + 0.25 * fs)

    natural_label = widths.get(label_key, 0.0) if label_key else 0.0
    fixed = (
        margin_left
        + margin_right
        + gap * n_gaps
        + panel_gap * n_panel_gaps
        + sum(w for k, w in widths.items() if k != label_key)
    )
    label_min = min(natural_label, g.label_min * fs)
    if width is None:
        # Natural width up to a double journal column; past that, labels wrap and the panel
        # narrows — but only down to sizes that stay legible, then the figure grows instead.
        cap = mm_to_pt(g.auto_max_width_mm)
        total = fixed + natural_label + g.panel_default * fs
        if total > cap:
            legible = fixed + min(natural_label, g.label_legible * fs) + g.panel_preferred * fs
            total = max(cap, legible)
    else:
        total = float(width)
    avail = total - fixed
    label_w = min(natural_label, max(label_min, avail - g.panel_preferred * fs))
    panel_w = avail - label_w
    if panel_w < g.panel_min * fs:
        needed = fixed + label_w + g.panel_min * fs
        if width is not None:
            warnings.append(
                f"the columns need a figure at least {needed / 72 * 25.4:.0f} mm wide; "
                f"widened from {total / 72 * 25.4:.0f} mm"
            )
        total = needed
        panel_w = g.panel_min * fs
    if label_key:
        widths[label_key] = label_w

    # -- horizontal: positions ------------------------------------------------------------
    placed: list[PlacedColumn] = []
    x = margin_left
    for spec in left:
        placed.append(PlacedColumn(spec, x, x + widths[spec.key], ""))
        x += widths[spec.key] + gap
    panel_x0 = x - gap + panel_gap if left else x
    panel_x1 = panel_x0 + panel_w
    x = panel_x1 + panel_gap
    for spec in right:
        placed.append(PlacedColumn(spec, x, x + widths[spec.key], ""))
        x += widths[spec.key] + gap
    col_width = {c.spec.key: c.x1 - c.x0 for c in placed}
    placed = [
        PlacedColumn(
            c.spec,
            c.x0,
            c.x1,
            wrap(c.spec.title, col_width[c.spec.key], measure_with(True), 3),
        )
        for c in placed
    ]
    left_x0 = placed[0].x0 if left else margin_left
    left_x1 = panel_x0 - panel_gap if left else panel_x0

    # -- vertical ---------------------------------------------------------------------------
    y = margin
    title = ""
    title_top = y
    if content.title:
        title_size = fs + 1
        title = wrap(content.title, total - 2 * margin, measure_with(True, title_size), 3)
        y += (title.count("\n") + 1) * g.line * title_size + g.title_gap * fs
    panel_title = (
        wrap(content.panel_title, panel_w, measure_with(True), 3) if content.panel_title else ""
    )
    header_lines = max(
        [c.title.count("\n") + 1 for c in placed if c.title]
        + [panel_title.count("\n") + 1 if panel_title else 0]
    )
    header_top = y
    y += header_lines * line_h + g.header_pad * fs
    header_bottom = y

    xmin, xmax = content.axis.xlim
    if not xmin < xmax:
        raise ValueError(f"axis limits must satisfy low < high, got {content.axis.xlim}")
    to_data = (xmax - xmin) / panel_w
    weights = [r.weight for r in content.rows if r.kind == "study" and math.isfinite(r.weight)]
    w_max = max(weights, default=math.nan)
    side_max = g.marker_max * row_h

    rows: list[PlacedRow] = []
    first_row_top = y
    graphical = [
        i for i, r in enumerate(content.rows) if r.kind in ("study", "pooled", "prediction")
    ]
    last_graphical = max(graphical, default=-1)
    graphics_bottom = y
    for index, r in enumerate(content.rows):
        top = y
        if r.kind == "spacer":
            y += g.spacer * row_h
            rows.append(PlacedRow(r, top, y))
            continue
        if r.kind in ("header", "text"):
            bold = r.kind == "header"
            # Text between rows with graphics keeps to the left columns; text after the last
            # of them (an overall heterogeneity line) may run the full width, since the
            # panel's vertical lines end above it.
            x_end = left_x1 if index < last_graphical else total - margin
            text = wrap(r.text, x_end - left_x0, measure_with(bold), 4)
            lines = text.count("\n") + 1
            y += row_h + (lines - 1) * line_h
            rows.append(PlacedRow(r, top, y, text=text, lines=lines))
            continue
        cells: dict[str, str] = {}
        lines = 1
        for c in placed:
            text = r.cells.get(c.spec.key, "")
            if text and c.spec.wrap:
                text = wrap(text, col_width[c.spec.key], measure_with(r.bold), c.spec.max_lines)
            cells[c.spec.key] = text
            lines = max(lines, text.count("\n") + 1)
        y += row_h + (lines - 1) * line_h
        graphics_bottom = y
        placed_row = PlacedRow(r, top, y, cells=cells, lines=lines)
        rows.append(_place_graphics(placed_row, (xmin, xmax), side_max, w_max, g, row_h))
    panel_top = first_row_top
    panel_bottom = y
    panel_pad = max((r.marker_side for r in rows if r.marker_visible), default=0.0) / 2

    ticks, tick_texts = _thin_ticks(content.axis, panel_w, measure, fs)

    # Axis band: tick, pad, tick label, label pad, axis label (one line).
    axis_label_pad = 0.4 * fs
    y += 3.0 + 2.0 + 1.0 * fs + axis_label_pad + line_h + 0.5 * fs
    footer_top = y
    footer = tuple(wrap(t, total - 2 * margin, measure, 4) for t in content.footer)
    y += sum((t.count("\n") + 1) * line_h for t in footer)
    if footer:
        y += 0.3 * fs
    note_size = max(6.0, round(g.footnote_scale * fs * 2) / 2) if fs >= 6 else fs
    footnotes_top = y
    footnotes = tuple(
        wrap(t, total - 2 * margin, measure_with(False, note_size), 6) for t in content.footnotes
    )
    y += sum((t.count("\n") + 1) * g.line * note_size for t in footnotes)
    y += margin

    return ForestLayout(
        content=content,
        width=total,
        height=y,
        fontsize=fs,
        line_height=line_h,
        row_height=row_h,
        title=title,
        title_top=title_top,
        header_top=header_top,
        header_bottom=header_bottom,
        columns=tuple(placed),
        rows=tuple(rows),
        panel_x0=panel_x0,
        panel_x1=panel_x1,
        panel_top=panel_top,
        panel_bottom=panel_bottom,
        graphics_bottom=graphics_bottom,
        panel_title=panel_title,
        ticks=ticks,
        tick_labels=tick_texts,
        axis_label_pad=axis_label_pad,
        arrow_length=g.arrow * fs * to_data,
        footer=footer,
        footer_top=footer_top,
        footnotes=footnotes,
        footnotes_top=footnotes_top,
        footnote_size=note_size,
        warnings=tuple(warnings),
        panel_pad=panel_pad,
    )
