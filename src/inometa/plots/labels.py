"""Labels beside scatter points, placed after drawing so that none overlaps another label
or a marker and all stay inside the axes (funnel and Baujat plots), and legends that fit."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .text import Measurer, truncate

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["legend_columns", "place_labels"]


def place_labels(
    fig: Any,
    ax: Axes,
    points: Sequence[tuple[float, float, str]],
    obstacles: Sequence[tuple[float, float]],
    fs: float,
    measurer: Measurer,
    *,
    marker: float,
    what: str,
) -> None:
    """Label points beside them without covering other labels or markers.

    Placement needs the drawn positions (the layout engine moves the axes), so it happens
    after a draw: each label tries positions around its point — beside it, outward from the
    centre first, then further above and below with a leader line — and takes the first that
    overlaps no marker and no placed label and stays inside the axes. A label with no free
    place is left out, with a warning.

    ``points`` are (x, y, label) in data coordinates, placed in the order given (put the
    most important first); ``obstacles`` are the markers (x, y) labels must not cover, each
    of diameter ``marker`` points. Labels get gid ``{what}-label``, leaders
    ``{what}-leader``.

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.draw import plot_axes
    >>> from inometa.plots.style import get_preset
    >>> from inometa.plots.text import font_measurer
    >>> fig, ax = plot_axes(200, 150, get_preset("meta"), None)
    >>> _ = ax.scatter([1, 2], [1, 2])
    >>> place_labels(fig, ax, [(1, 1, "A"), (2, 2, "B")], [(1, 1), (2, 2)], 8,
    ...              font_measurer, marker=4, what="demo")
    >>> sorted(t.get_text() for t in ax.texts)
    ['A', 'B']
    """
    from matplotlib.text import Text

    if not points or not hasattr(fig.canvas, "get_renderer"):
        return
    size = 0.9 * fs
    max_w = 0.4 * (fig.get_figwidth() * 72)
    texts = []
    for pt in points:
        label = truncate(pt[2], max_w, lambda s: measurer(s, size, False))
        t = ax.annotate(
            label,
            (pt[0], pt[1]),
            xytext=(0, 0),
            textcoords="offset points",
            fontsize=size,
            va="center",
            annotation_clip=False,
            parse_math=False,
            gid=f"{what}-label",
            zorder=6,
        )
        t.set_in_layout(False)
        texts.append((pt, t))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax_box = ax.get_window_extent(renderer)
    radius = marker / 2 * fig.dpi / 72.0 + 1.0
    markers = [ax.transData.transform(q) for q in obstacles]
    Box = tuple[float, float, float, float]
    taken: list[Box] = [(mx - radius, my - radius, mx + radius, my + radius) for mx, my in markers]
    x_mid = (ax.get_xlim()[0] + ax.get_xlim()[1]) / 2
    gap = 0.5 * size
    line = 1.15 * size

    def overlaps(a: Box, b: Box) -> bool:
        return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])

    def put(t: Any, dx: float, dy: float, right: bool) -> Box:
        t.xyann = (dx, dy)
        t.set_horizontalalignment("left" if right else "right")
        bb = Text.get_window_extent(t, renderer)
        return (bb.x0, bb.y0, bb.x1, bb.y1)

    left_out: list[str] = []
    for pt, t in texts:
        outward = 1 if pt[0] >= x_mid else -1
        candidates: list[tuple[float, float, bool]] = [
            (side * gap, 0.0, side > 0) for side in (outward, -outward)
        ]
        for k in range(1, 12):
            for side in (outward, -outward):
                for reach in (0.6, 2.4):
                    for dy in (k * 0.8 * line, -k * 0.8 * line):
                        candidates.append((side * gap * reach, dy, side > 0))
        for dx, dy, right in candidates:
            box = put(t, dx, dy, right)
            inside = (
                box[0] >= ax_box.x0
                and box[2] <= ax_box.x1
                and box[1] >= ax_box.y0
                and box[3] <= ax_box.y1
            )
            if inside and not any(overlaps(box, b) for b in taken):
                taken.append(box)
                if dy != 0:
                    # A leader from the label's near end to its point.
                    ax.annotate(
                        "",
                        (pt[0], pt[1]),
                        xytext=(dx, dy),
                        textcoords="offset points",
                        annotation_clip=False,
                        gid=f"{what}-leader",
                        arrowprops={
                            "arrowstyle": "-",
                            "color": "#555555",
                            "linewidth": 0.4,
                            "shrinkA": 0.0,
                            "shrinkB": marker / 2 + 1.0,
                        },
                    ).set_in_layout(False)
                break
        else:
            t.set_visible(False)
            left_out.append(pt[2])
    if left_out:
        warnings.warn(
            f"{len(left_out)} {what} label(s) found no free place and were left out: "
            f"{', '.join(left_out)}; label fewer studies or enlarge the figure",
            stacklevel=4,
        )


def legend_columns(
    texts: Sequence[str], width: float, fs: float, measure: Measurer, most: int = 2
) -> int:
    """The most legend columns (up to ``most``) that fit a figure ``width`` points wide
    for entries with these ``texts``.

    Examples
    --------
    >>> from inometa.plots.text import font_measurer
    >>> legend_columns(["Pseudo 95% CI", "Imputed"], 250, 8, font_measurer)
    2
    >>> legend_columns(["A rather long legend entry"] * 2, 150, 8, font_measurer)
    1
    """
    entry = (1.6 + 0.8) * fs  # handle length and the pad to the text
    for ncols in range(min(most, len(texts)), 1, -1):
        per = -(-len(texts) // ncols)  # matplotlib fills the first column first
        cols = [texts[c * per : (c + 1) * per] for c in range(ncols)]
        needed = sum(entry + max((measure(t, fs, False) for t in c), default=0.0) for c in cols)
        needed += (ncols - 1) * 1.2 * fs + 0.8 * fs + 0.1 * width  # gaps, borders, margin
        if needed <= width:
            return ncols
    return 1
