"""Labels beside scatter points, placed after drawing so that none overlaps another label
or a marker and all stay inside the axes (funnel and Baujat plots), and legends that fit."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .text import Measurer, truncate

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["crosses", "legend_columns", "place_labels"]


Box = tuple[float, float, float, float]
Segment = tuple[float, float, float, float]


def _overlaps(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def crosses(seg: Segment, box: Box) -> bool:
    """Whether the segment (x0, y0, x1, y1) passes through the box (x0, y0, x1, y1)
    (Liang–Barsky clipping).

    Examples
    --------
    >>> crosses((0, 0, 10, 10), (4, 4, 6, 6)), crosses((0, 0, 10, 0), (4, 1, 6, 2))
    (True, False)
    """
    x0, y0, x1, y1 = seg
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            if t > t1:
                return False
            t0 = max(t0, t)
        else:
            if t < t0:
                return False
            t1 = min(t1, t)
    return t0 <= t1


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
    lines: Sequence[Sequence[tuple[float, float]]] = (),
    all_or_none: bool = False,
) -> list[str]:
    """Label points beside them without covering other labels, markers or lines.

    Placement needs the drawn positions (the layout engine moves the axes), so it happens
    after a draw: each label tries positions around its point — beside it, outward from the
    centre first, then further above, below and aside with a leader line — and takes the
    first that overlaps no marker, no placed label or leader, crosses none of ``lines``
    and stays inside the axes. A label with no free place is left out, with a warning; with
    ``all_or_none`` every label is then removed (and no warning given), for the caller to
    label the points another way.

    ``points`` are (x, y, label) in data coordinates, placed in the order given (put the
    most important first); ``obstacles`` are the markers (x, y) labels must not cover, each
    of diameter ``marker`` points; ``lines`` are polylines in data coordinates (region
    edges, reference and regression lines). Labels get gid ``{what}-label``, leaders
    ``{what}-leader``. Returns the labels left out.

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.draw import plot_axes
    >>> from inometa.plots.style import get_preset
    >>> from inometa.plots.text import font_measurer
    >>> fig, ax = plot_axes(200, 150, get_preset("meta"), None)
    >>> _ = ax.scatter([1, 2], [1, 2])
    >>> place_labels(fig, ax, [(1, 1, "A"), (2, 2, "B")], [(1, 1), (2, 2)], 8,
    ...              font_measurer, marker=4, what="demo", lines=[[(1.5, 0), (1.5, 3)]])
    []
    >>> sorted(t.get_text() for t in ax.texts)
    ['A', 'B']
    """
    from matplotlib.text import Text

    if not points or not hasattr(fig.canvas, "get_renderer"):
        return []
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
    ab = ax.get_window_extent(renderer)
    to_px = fig.dpi / 72.0
    radius = marker / 2 * to_px + 1.0
    markers = [tuple(ax.transData.transform(q)) for q in obstacles]
    marker_boxes: list[Box] = [
        (mx - radius, my - radius, mx + radius, my + radius) for mx, my in markers
    ]
    segments: list[Segment] = []
    for polyline in lines:
        xy = ax.transData.transform(list(polyline))
        segments.extend(
            (float(a[0]), float(a[1]), float(b[0]), float(b[1])) for a, b in itertools.pairwise(xy)
        )
    x_mid = (ax.get_xlim()[0] + ax.get_xlim()[1]) / 2
    gap = 0.5 * size
    line = 1.15 * size
    clear = 1.0  # pixels kept free between a label and a line

    def extent(t: Any, right: bool) -> Box:
        """The label's box relative to its point, placed right (or left) of it."""
        t.xyann = (0.0, 0.0)
        t.set_horizontalalignment("left" if right else "right")
        bb = Text.get_window_extent(t, renderer)
        px, py = ax.transData.transform(t.xy)
        return (bb.x0 - px, bb.y0 - py, bb.x1 - px, bb.y1 - py)

    # Per label: its point in pixels, its marker, its box beside the point on either side
    # and its candidate offsets (points), nearest first.
    prepared = []
    for pt, t in texts:
        px, py = (float(v) for v in ax.transData.transform((pt[0], pt[1])))
        outward = 1 if pt[0] >= x_mid else -1
        candidates = [(side * gap, 0.0, side > 0) for side in (outward, -outward)]
        around: list[tuple[float, float, float, bool]] = []
        for k in range(-16, 17):
            dy = k * 0.8 * line
            for reach in (0.6, 1.0, 2.4, 5.0, 8.0, 12.0, 18.0, 25.0):
                for side in (outward, -outward):
                    dx = side * gap * reach
                    if k == 0 and reach <= 1.0:
                        continue
                    for right in (True, False):
                        # nearest first; a label reaching back across its point's x and
                        # labels towards the centre come later
                        cost = math.hypot(dx, dy) + (0 if right == (dx > 0) else 4 * size)
                        cost += 0 if side == outward else 2 * size
                        around.append((cost, dx, dy, right))
        around.sort(key=lambda c: c[0])
        candidates.extend((dx, dy, right) for _, dx, dy, right in around)
        rel = {True: extent(t, True), False: extent(t, False)}
        prepared.append((px, py, rel, candidates))

    Spot = tuple[float, float, bool, bool]  # dx, dy, right-aligned, with a leader

    def solve(order: list[int]) -> tuple[dict[int, Spot], list[int]]:
        """Greedy placement in this order: each label takes its first free candidate."""
        label_boxes: list[Box] = []
        leaders: list[Segment] = []

        def free(box: Box) -> bool:
            inside = box[0] >= ab.x0 and box[2] <= ab.x1 and box[1] >= ab.y0 and box[3] <= ab.y1
            if not inside:
                return False
            if any(_overlaps(box, b) for b in label_boxes):
                return False
            if any(_overlaps(box, b) for b in marker_boxes):
                return False
            wide = (box[0] - clear, box[1] - clear, box[2] + clear, box[3] + clear)
            return not any(crosses(s, wide) for s in (*segments, *leaders))

        def leader_free(seg: Segment, box: Box) -> bool:
            inner = (box[0] + 1, box[1] + 1, box[2] - 1, box[3] - 1)
            if any(crosses(seg, b) for b in (*label_boxes, inner)):
                return False
            # markers at the point itself (its own, and any study with the same values)
            # are where the leader ends
            px, py = seg[2], seg[3]
            return not any(
                crosses(seg, b)
                for b in marker_boxes
                if not (b[0] <= px <= b[2] and b[1] <= py <= b[3])
            )

        spots: dict[int, Spot] = {}
        failed: list[int] = []
        for i in order:
            px, py, rel, candidates = prepared[i]
            for dx, dy, right in candidates:
                r = rel[right]
                ox, oy = px + dx * to_px, py + dy * to_px
                box = (r[0] + ox, r[1] + oy, r[2] + ox, r[3] + oy)
                if not free(box):
                    continue
                beside = dy == 0 and abs(dx) <= gap
                seg = (ox, oy, px, py)
                if not beside and not leader_free(seg, box):
                    continue
                label_boxes.append(box)
                if not beside:
                    leaders.append(seg)
                spots[i] = (dx, dy, right, not beside)
                break
            else:
                failed.append(i)
        return spots, failed

    # Greedy in the order given; a label left without a place goes first in a new try.
    order = list(range(len(texts)))
    spots, failed = solve(order)
    for _ in range(4):
        if not failed:
            break
        order = failed + [i for i in order if i not in failed]
        again, still = solve(order)
        if len(still) < len(failed):
            spots, failed = again, still
        else:
            break
    left_out = [texts[i][0][2] for i in failed]
    if left_out and all_or_none:
        for _, t in texts:
            t.remove()
        return left_out
    for i, (pt, t) in enumerate(texts):
        if i not in spots:
            t.set_visible(False)
            continue
        dx, dy, right, leader = spots[i]
        t.xyann = (dx, dy)
        t.set_horizontalalignment("left" if right else "right")
        if leader:
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
    if left_out:
        warnings.warn(
            f"{len(left_out)} {what} label(s) found no free place and were left out: "
            f"{', '.join(left_out)}; label fewer studies or enlarge the figure",
            stacklevel=4,
        )
    return left_out


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
