"""Drawing a :class:`~inometa.plots.layout.ForestLayout` with matplotlib.

Drawing decides nothing: every position, size and text comes from the layout. Text and
table lines live in a *container* axes whose data coordinates are points from the figure's
top-left corner; the plot panel is an inset axes with proportions on x and the same points
on y, so rows line up exactly. Artists carry ``gid``\\s (``study-squares``, ``study-ci``,
``diamond-random``, ``prediction-interval``, ``clip-arrow``, …) so tests and users can find
them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from .layout import ForestContent, ForestLayout, PlacedRow, arrange
from .style import (
    FONT_FAMILY,
    Preset,
    deterministic_metadata,
    file_format,
    rc_params,
    resolve_width,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "axes_size_pt",
    "displays_figures",
    "draw_forest",
    "new_figure",
    "plot_axes",
    "render",
    "savefig",
    "style_context",
]


@contextmanager
def style_context(fontsize: float, family: str = FONT_FAMILY) -> Iterator[None]:
    """A context in which matplotlib's defaults plus the pinned style apply (the user's
    rcParams and style sheets do not leak into inometa figures)."""
    import matplotlib
    import matplotlib.style

    with matplotlib.style.context(["default", rc_params(fontsize, family)]):
        yield
        interactive = matplotlib.is_interactive()
    # The style context restores every rcParam on exit, interactive mode included; but
    # IPython switches interactive mode on when the first figure loads its inline backend,
    # and undoing that would leave the notebook's later figures unshown.
    matplotlib.interactive(interactive)


def savefig(fig: Figure, fname: Any, *, dpi: float = 300, **kwargs: Any) -> None:
    """Save any figure reproducibly: no dates or version strings in the file, a fixed SVG
    id salt, TrueType fonts in PDF/PS, and the given ``dpi`` for raster formats.

    Figures made by inometa already save this way with ``fig.savefig``; this helper does
    the same for figures you made (e.g. with ``ax=``).

    Examples
    --------
    >>> import io, inometa
    >>> from inometa.plots import savefig
    >>> fig = inometa.plot_funnel(inometa.metaprop([5, 20, 30], [50, 60, 70]))
    >>> a, b = io.BytesIO(), io.BytesIO()
    >>> savefig(fig, a, format="svg"); savefig(fig, b, format="svg")
    >>> a.getvalue() == b.getvalue()
    True
    """
    from matplotlib import rc_context

    kwargs.setdefault("metadata", deterministic_metadata(file_format(fname, kwargs.get("format"))))
    pinned = {"svg.hashsalt": "inometa", "pdf.fonttype": 42, "ps.fonttype": 42}
    with rc_context(cast(Any, pinned)):
        fig.savefig(fname, dpi=dpi, **kwargs)


# Backends that only write files: figures made under them stay outside pyplot (nothing to
# display, nothing to close). matplotlib.backends.backend_registry lists the same names from
# matplotlib 3.9 on; they are spelled here for the older versions inometa supports.
_FILE_BACKENDS = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})


def displays_figures() -> bool:
    """Whether the current matplotlib backend displays figures (a notebook's inline backend,
    a GUI window) rather than only writing files (Agg, PDF, SVG...)."""
    import matplotlib

    return matplotlib.get_backend().lower() not in _FILE_BACKENDS


def new_figure(
    width_pt: float, height_pt: float, fontsize: float, family: str = FONT_FAMILY, **kwargs: Any
) -> Figure:
    """A new figure of the given size (points) with the pinned style.

    Under a backend that displays figures (a notebook, a GUI window) the figure is made
    through pyplot, as ``plt.figure`` makes one: a notebook cell that makes it shows it, and
    ``plt.show()`` shows it in a script; close it with ``plt.close(fig)`` when making many.
    Under a file-only backend (Agg, the default without a display) it is not registered
    with pyplot, so figures made in a loop are freed with their last reference.
    """
    from ._figure import InometaFigure

    rc = rc_params(fontsize, family)
    size = (width_pt / 72.0, height_pt / 72.0)
    if displays_figures():
        import matplotlib.pyplot as plt

        made = plt.figure(figsize=size, FigureClass=InometaFigure, inometa_rc=rc, **kwargs)
        return made
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig: Figure = InometaFigure(figsize=size, inometa_rc=rc, **kwargs)
    FigureCanvasAgg(fig)
    return fig


def plot_axes(
    width_pt: float, height_pt: float, preset: Preset, ax: Axes | None
) -> tuple[Figure, Axes]:
    """A new figure with one axes (constrained layout), or ``ax`` and its figure; for the
    plots that are one axes (funnel, Baujat, drapery).

    Examples
    --------
    >>> from inometa.plots.style import get_preset
    >>> fig, ax = plot_axes(252, 200, get_preset("meta"), None)
    >>> [round(v) for v in fig.get_size_inches() * 72]
    [252, 200]
    """
    if ax is None:
        fig = new_figure(
            width_pt, height_pt, preset.fontsize, preset.font_family, layout="constrained"
        )
        return fig, fig.add_subplot()
    maybe = ax.get_figure()
    assert maybe is not None
    return maybe, ax  # type: ignore[return-value]


def frame_axes(
    ax: Axes,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    xlabel: str,
    ylabel: str,
    title: str | None,
) -> None:
    """Limits, axis titles, open top and right sides and a bold title on the left: the
    frame of the one-axes plots (funnel, Baujat, drapery).

    Examples
    --------
    >>> from inometa.plots.style import get_preset
    >>> fig, ax = plot_axes(252, 200, get_preset("meta"), None)
    >>> frame_axes(ax, (0, 1), (1, 0), "Estimate", "SE", "Funnel")
    >>> bool(ax.yaxis_inverted()), ax.spines["top"].get_visible(), ax.get_title(loc="left")
    (True, False, 'Funnel')
    """
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontweight="bold", loc="left")


def axes_size_pt(ax: Axes) -> tuple[float, float]:
    """Width and height of an axes in points (from its current position)."""
    bbox = ax.get_window_extent()
    dpi = float(ax.figure.dpi)
    return float(bbox.width) / dpi * 72.0, float(bbox.height) / dpi * 72.0


def draw_forest(layout: ForestLayout, ax: Axes | None = None) -> Figure:
    """Draw a forest layout into a new figure, or into the area of ``ax``."""
    p = layout.preset
    col = p.colours
    fs = layout.fontsize
    W, H = layout.width, layout.height
    with style_context(fs, p.font_family):
        if ax is None:
            fig = new_figure(W, H, fs, p.font_family)
            box = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        else:
            maybe = ax.get_figure()
            assert maybe is not None
            fig = maybe  # type: ignore[assignment]
            box = ax
            _, h_pt = axes_size_pt(ax)
            # A taller axes keeps the natural spacing, content at the top; a shorter one
            # can only squeeze the rows.
            H = max(H, h_pt)
            if h_pt < layout.height * 0.98:
                warnings.warn(
                    f"the axes is {h_pt / 72:.2f} in high but the forest plot needs "
                    f"{layout.height / 72:.2f} in for {len(layout.rows)} rows; text will be "
                    "squeezed — enlarge the figure or let plot_forest create it",
                    stacklevel=4,
                )
        box.set_axis_off()
        box.set_xlim(0, W)
        box.set_ylim(H, 0)

        def text(x: float, y: float, s: str, **kw: Any) -> None:
            if s:
                kw.setdefault("fontsize", fs)
                kw.setdefault("color", col.text)
                kw.setdefault("va", "center")
                box.text(x, y, s, parse_math=False, linespacing=1.2, **kw)

        # Title and column titles (bottom-aligned so multi-line titles grow upwards).
        if layout.title:
            text(
                layout.columns[0].x0 if layout.columns else layout.panel_x0,
                layout.title_top,
                layout.title,
                ha="left",
                va="top",
                fontweight="bold",
                fontsize=fs + 1,
            )
        title_y = layout.header_bottom - 0.35 * fs
        for c in layout.columns:
            text(c.anchor, title_y, c.title, ha=c.spec.align, va="bottom", fontweight="bold")
        if layout.panel_title:
            text(
                (layout.panel_x0 + layout.panel_x1) / 2,
                title_y,
                layout.panel_title,
                ha="center",
                va="bottom",
                fontweight="bold",
            )
        if p.header_rules:
            x0 = min([c.x0 for c in layout.columns] + [layout.panel_x0])
            x1 = max([c.x1 for c in layout.columns] + [layout.panel_x1])
            box.hlines(
                [layout.header_top - 0.2 * fs, layout.header_bottom],
                x0,
                x1,
                colors=col.rule,
                linewidth=0.6,
                gid="header-rule",
            )

        # Cells and left-spanning texts.
        left_x0 = min((c.x0 for c in layout.columns if c.spec.side == "left"), default=0.0)
        for r in layout.rows:
            kind = r.row.kind
            if kind in ("header", "text"):
                text(
                    left_x0,
                    r.y,
                    r.text,
                    ha="left",
                    fontweight="bold" if kind == "header" else "normal",
                )
                continue
            for c in layout.columns:
                text(
                    c.anchor,
                    r.y,
                    r.cells.get(c.spec.key, ""),
                    ha=c.spec.align,
                    fontweight="bold" if r.row.bold else "normal",
                )

        # The panel: same y (points from the top) as the container, proportions on x.
        # The panel's axes reach half a square past the axis ends (the axis line stops at
        # them), so a square at 0% or 100% lies inside its axes.
        pad = layout.panel_pad
        panel = box.inset_axes(
            (
                (layout.panel_x0 - pad) / W,
                1 - layout.panel_bottom / H,
                (layout.panel_x1 - layout.panel_x0 + 2 * pad) / W,
                (layout.panel_bottom - layout.panel_top) / H,
            )
        )
        panel.set_gid("forest-panel")
        _draw_panel(panel, layout)

        # Footer (heterogeneity in some presets) and footnotes, full width.
        x_text = layout.columns[0].x0 if layout.columns else layout.panel_x0
        y = layout.footer_top
        for line in layout.footer:
            text(x_text, y, line, ha="left", va="top")
            y += (line.count("\n") + 1) * layout.line_height
        y = layout.footnotes_top
        for note in layout.footnotes:
            text(
                x_text,
                y,
                note,
                ha="left",
                va="top",
                fontsize=layout.footnote_size,
                color="#333333",
            )
            y += (note.count("\n") + 1) * 1.2 * layout.footnote_size
    return fig


def _draw_panel(panel: Axes, layout: ForestLayout) -> None:
    from matplotlib.collections import LineCollection
    from matplotlib.patches import FancyArrowPatch, Polygon, Rectangle

    p = layout.preset
    col = p.colours
    fs = layout.fontsize
    axis = layout.axis
    xmin, xmax = axis.xlim
    pad = layout.panel_pad * (xmax - xmin) / (layout.panel_x1 - layout.panel_x0)
    panel.set_xlim(xmin - pad, xmax + pad)
    panel.spines["bottom"].set_bounds(xmin, xmax)
    panel.set_ylim(layout.panel_bottom, layout.panel_top)
    panel.patch.set_visible(False)
    for side in ("top", "left", "right"):
        panel.spines[side].set_visible(False)
    panel.set_yticks([])
    panel.set_xticks(list(layout.ticks), labels=list(layout.tick_labels))
    panel.tick_params(axis="x", labelsize=fs, length=3.0, width=0.6, pad=2.0)
    panel.set_xlabel(axis.label, fontsize=fs, labelpad=layout.axis_label_pad)

    study_rows = layout.rows_of("study")
    pooled_rows = layout.rows_of("pooled")
    for x in axis.ref_lines:
        panel.vlines(
            x,
            layout.panel_top,
            layout.graphics_bottom,
            colors=col.reference,
            linewidth=0.6,
            linestyles=":",
            zorder=1,
            gid="ref-line",
        )
    if axis.pooled_line is not None and study_rows:
        below = [r for r in pooled_rows if r.top >= study_rows[-1].bottom]
        if axis.pooled_line_end is not None:
            y_end = layout.rows[axis.pooled_line_end].top
        else:
            y_end = below[0].top if below else layout.panel_bottom
        panel.vlines(
            axis.pooled_line,
            layout.panel_top,
            y_end,
            colors=col.pooled_line,
            linewidth=0.6,
            linestyles="--",
            zorder=1,
            gid="pooled-line",
        )

    arrow_len = layout.arrow_length

    def arrows(r: PlacedRow, color: str) -> None:
        for clipped, edge, sign in ((r.arrow_low, xmin, -1), (r.arrow_high, xmax, 1)):
            if clipped:
                panel.add_patch(
                    FancyArrowPatch(
                        (edge - sign * arrow_len, r.y),
                        (edge, r.y),
                        arrowstyle="-|>",
                        mutation_scale=0.9 * fs,
                        color=color,
                        linewidth=0.8,
                        shrinkA=0,
                        shrinkB=0,
                        zorder=4,
                        clip_on=False,
                        gid="clip-arrow",
                    )
                )

    # Studies: CI lines over squares (a large square must not hide its interval).
    segments = [[(r.segment[0], r.y), (r.segment[1], r.y)] for r in study_rows if r.segment]
    if segments:
        panel.add_collection(
            LineCollection(
                segments, colors=col.study_line, linewidths=0.8, zorder=4, gid="study-ci"
            )
        )
    shown = [r for r in study_rows if r.marker_visible]
    if shown:
        panel.scatter(
            [r.row.estimate for r in shown],
            [r.y for r in shown],
            s=[r.marker_side**2 for r in shown],
            marker="s",
            color=col.square,
            edgecolors=col.square_edge,
            linewidths=0.0,
            zorder=3,
            clip_on=False,
            gid="study-squares",
        )
    for r in study_rows:
        arrows(r, col.study_line)

    row_h = layout.row_height
    for r in pooled_rows:
        colour = col.diamond_random if r.row.model == "random" else col.diamond_common
        if r.segment:  # a prediction interval on the diamond's row (summary forests)
            panel.plot(
                list(r.segment),
                [r.y, r.y],
                color=col.prediction,
                linewidth=1.0,
                zorder=4,
                solid_capstyle="butt",
                gid="prediction-interval",
            )
            arrows(r, col.prediction)
        elif r.arrow_low or r.arrow_high:
            arrows(r, col.diamond_edge)
        if r.diamond:
            panel.add_patch(
                Polygon(
                    list(r.diamond),
                    closed=True,
                    facecolor=colour,
                    edgecolor=col.diamond_edge,
                    linewidth=0.6,
                    zorder=5,
                    clip_on=False,
                    gid=f"diamond-{r.row.model}",
                )
            )
    for r in layout.rows_of("prediction"):
        if not r.segment:
            arrows(r, col.prediction)
            continue
        lo, hi = r.segment
        if p.pi_style == "bar":
            h = 0.35 * row_h
            panel.add_patch(
                Rectangle(
                    (lo, r.y - h / 2),
                    hi - lo,
                    h,
                    facecolor=col.prediction,
                    edgecolor="none",
                    zorder=4,
                    gid="prediction-interval",
                )
            )
        else:
            cap = 0.25 * row_h
            panel.plot(
                [lo, hi],
                [r.y, r.y],
                color=col.prediction,
                linewidth=1.0,
                zorder=4,
                gid="prediction-interval",
            )
            panel.vlines(
                [v for v, clipped in ((lo, r.arrow_low), (hi, r.arrow_high)) if not clipped],
                r.y - cap,
                r.y + cap,
                colors=col.prediction,
                linewidth=1.0,
                zorder=4,
                gid="prediction-caps",
            )
        arrows(r, col.prediction)


def render(content: ForestContent, *, width: float | str | None, ax: Axes | None) -> Figure:
    """Arrange ``content`` (at the width of ``ax`` when given) and draw it."""
    if ax is not None:
        w_pt, _ = axes_size_pt(ax)
        layout = arrange(content, width=w_pt)
    else:
        layout = arrange(content, width=resolve_width(width))
    for message in layout.warnings:
        warnings.warn(message, stacklevel=3)
    return draw_forest(layout, ax=ax)
