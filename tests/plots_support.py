"""Shared data and checks for the plot tests (imported by tests/test_plots_*.py).

Importing this module selects the non-interactive Agg backend, so plot tests never need a
display. Study counts are written out (not drawn from a random generator) so the baseline
images do not depend on a NumPy version's random streams.
"""

from __future__ import annotations

import itertools
from typing import Any

import matplotlib

matplotlib.use("Agg")

import inometa

# The example CR/CRi data shipped in data/examples/cr_cri.csv.
CR_LABELS = [
    "DeAngelo 2017",
    "Kantarjian 2019 (INO-VATE)",
    "Stelljes 2024 (INITIAL-1)",
    "Chevallier 2024 (EWALL-INO)",
    "Wieduwilt 2023 (A041703)",
    "Agrawal 2025",
]
CR_EVENTS = [49, 121, 43, 119, 28, 19]
CR_N = [72, 164, 43, 131, 33, 32]

# Sixteen synthetic studies with short, medium and very long labels.
S16_EVENTS = [92, 35, 106, 97, 178, 46, 114, 99, 115, 75, 12, 47, 63, 135, 180, 46]
S16_N = [126, 48, 219, 111, 238, 73, 209, 135, 208, 114, 23, 88, 75, 192, 237, 79]
S16_YEARS = [*range(2008, 2018), *range(2019, 2025)]
_NAMES = ["Abe", "Fischer", "Kowalski", "Petrov", "Dubois", "Ito", "Nakamura", "Baptiste"]
_NAMES += ["García", "Larsen", "Esposito", "Jensen", "Olsen", "Chen", "Horvath", "Müller"]


def _label(i: int, name: str, year: int) -> str:
    if i >= 13:
        return f"{name} {year} (multicentre cooperative-group phase 2 expansion cohort, salvage)"
    if i % 3 == 1:
        return f"{name} {year} (INO-{name[0]})"
    return f"{name} {year}"


S16_LABELS = [
    _label(i, name, year) for i, (name, year) in enumerate(zip(_NAMES, S16_YEARS, strict=True))
]
S16_SETTING = ["Frontline" if i % 3 == 0 else "R/R" for i in range(16)]


def cr_result(**kw: Any) -> inometa.MetaPropResult:
    return inometa.metaprop(CR_EVENTS, CR_N, labels=CR_LABELS, **kw)


def s16_result(**kw: Any) -> inometa.MetaPropResult:
    return inometa.metaprop(S16_EVENTS, S16_N, labels=S16_LABELS, **kw)


def s60_result(**kw: Any) -> inometa.MetaPropResult:
    """Sixty studies: the sixteen above, recycled with other counts and suffixes."""
    events, n, labels = [], [], []
    for j in range(60):
        i = j % 16
        extra = (j * 7) % 23
        n.append(S16_N[i] + extra)
        events.append(min(S16_EVENTS[i] + extra // 2, S16_N[i] + extra))
        labels.append(S16_LABELS[i] + ("" if j < 16 else f" {'abcd'[j // 16 - 1]}"))
    return inometa.metaprop(events, n, labels=labels, **kw)


def text_boxes(fig: Any) -> list[tuple[str, Any]]:
    """(text, window extent) of every visible, non-empty Text artist, after a draw."""
    from matplotlib.text import Text

    # Layout engines and text positions run without rasterising anything.
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    # Tick labels of ticks outside the view exist but are not drawn.
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            tol = 1e-9 * (hi - lo)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - tol <= tick.get_loc() <= hi + tol:
                    hidden.update({id(tick.label1), id(tick.label2)})
    out = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and id(t) not in hidden:
            # Text.get_window_extent: the text itself (an Annotation's would add its leader).
            out.append((t.get_text(), Text.get_window_extent(t, renderer)))
    return out


def _overlaps(boxes: list[tuple[str, Any]], tolerance: float) -> list[tuple[str, str]]:
    bad = []
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        if w > tolerance and h > tolerance:
            bad.append((a, b))
    return bad


def _outside(fig: Any, boxes: list[tuple[str, Any]], tolerance: float) -> list[str]:
    fb = fig.bbox
    return [
        s
        for s, b in boxes
        if b.x0 < fb.x0 - tolerance
        or b.y0 < fb.y0 - tolerance
        or b.x1 > fb.x1 + tolerance
        or b.y1 > fb.y1 + tolerance
    ]


def overlapping_texts(fig: Any, tolerance: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of texts whose bounding boxes overlap by more than ``tolerance`` pixels."""
    return _overlaps(text_boxes(fig), tolerance)


def texts_outside_figure(fig: Any, tolerance: float = 0.5) -> list[str]:
    """Texts whose bounding box leaves the figure."""
    return _outside(fig, text_boxes(fig), tolerance)


def assert_clean(fig: Any, tolerance: float = 0.5) -> None:
    """No overlapping texts and none outside the figure (one draw for both checks)."""
    boxes = text_boxes(fig)
    assert _overlaps(boxes, tolerance) == []
    assert _outside(fig, boxes, tolerance) == []


def squares_outside_panel(fig: Any, tolerance: float = 0.5) -> list[str]:
    """Study squares and CI lines of a forest whose drawn extent leaves their panel's axes,
    and panels that leave the figure (pixels, after a draw)."""
    import numpy as np

    fig.canvas.draw()
    fb = fig.bbox
    bad = []

    def leaves(box: Any, x0: float, y0: float, x1: float, y1: float) -> bool:
        return bool(
            x0 < box.x0 - tolerance
            or y0 < box.y0 - tolerance
            or x1 > box.x1 + tolerance
            or y1 > box.y1 + tolerance
        )

    for squares in by_gid(fig, "study-squares"):
        ax = squares.axes
        ab = ax.get_window_extent()
        if leaves(fb, ab.x0, ab.y0, ab.x1, ab.y1):
            bad.append("panel")
        centres = ax.transData.transform(squares.get_offsets())
        half = np.sqrt(squares.get_sizes()) / 2 * fig.dpi / 72
        half = np.broadcast_to(half, (len(centres),))
        for (x, y), h in zip(centres, half, strict=True):
            if leaves(ab, x - h, y - h, x + h, y + h):
                bad.append(f"square at x = {ax.transData.inverted().transform((x, y))[0]:g}")
    for lines in by_gid(fig, "study-ci"):
        ax = lines.axes
        ab = ax.get_window_extent()
        for seg in lines.get_segments():
            (x0, y0), (x1, y1) = ax.transData.transform(seg)
            if leaves(ab, min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)):
                bad.append(f"CI line {seg[0][0]:g}–{seg[1][0]:g}")
    return bad


def _segment_meets_box(seg: tuple[float, float, float, float], box: Any) -> bool:
    """Whether a segment touches a box: an end inside it, or a crossing with one of its
    edges (orientation tests)."""
    x0, y0, x1, y1 = seg

    def inside(x: float, y: float) -> bool:
        return bool(box.x0 <= x <= box.x1 and box.y0 <= y <= box.y1)

    if inside(x0, y0) or inside(x1, y1):
        return True

    def orient(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> float:
        return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)

    corners = [(box.x0, box.y0), (box.x1, box.y0), (box.x1, box.y1), (box.x0, box.y1)]
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1], strict=True):
        d1, d2 = orient(ax, ay, bx, by, x0, y0), orient(ax, ay, bx, by, x1, y1)
        d3, d4 = orient(x0, y0, x1, y1, ax, ay), orient(x0, y0, x1, y1, bx, by)
        if d1 * d2 < 0 and d3 * d4 < 0:
            return True
    return False


def label_collisions(fig: Any, what: str = "funnel", tolerance: float = 0.5) -> list[str]:
    """Point labels (texts with gid ``{what}…-label``: names or numbers) that overlap one
    another, cover a scatter marker, or meet a line of the plot (Line2D, line collections,
    edges of polygons), and leaders (gid ``{what}…-leader``) that run through a label; in
    pixels after a draw.
    """
    import numpy as np
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.patches import Polygon
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bad: list[str] = []
    for ax in fig.axes:
        labels = [
            t
            for t in ax.texts
            if t.get_visible()
            and t.get_text()
            and str(t.get_gid()).startswith(what)
            and str(t.get_gid()).endswith("-label")
        ]
        boxes = []
        for t in labels:
            b = Text.get_window_extent(t, renderer)
            boxes.append((t.get_text(), Bbox.from_extents(
                b.x0 + tolerance, b.y0 + tolerance, b.x1 - tolerance, b.y1 - tolerance
            )))  # fmt: skip
        for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
            if ba.overlaps(bb):
                bad.append(f"{a} overlaps {b}")
        segments: list[tuple[str, tuple[float, float, float, float]]] = []

        def add(name: str, xy: Any, ax: Any = ax, segments: list[Any] = segments) -> None:
            pts = ax.transData.transform(np.asarray(xy, dtype=float))
            for p, q in itertools.pairwise(pts):
                segments.append((name, (p[0], p[1], q[0], q[1])))

        bottom = max(ax.get_ylim()) if ax.yaxis_inverted() else min(ax.get_ylim())
        for line in ax.lines:
            add(str(line.get_gid()), line.get_xydata())
        for coll in ax.collections:
            if isinstance(coll, LineCollection):
                for seg in coll.get_segments():
                    add(str(coll.get_gid()), seg)
            elif isinstance(coll, PathCollection):
                centres = ax.transData.transform(coll.get_offsets())
                r = np.broadcast_to(np.sqrt(coll.get_sizes()) / 2 * fig.dpi / 72, len(centres))
                for (cx, cy), rad in zip(centres, r, strict=True):
                    for text, box in boxes:
                        nx = min(max(cx, box.x0), box.x1)
                        ny = min(max(cy, box.y0), box.y1)
                        if (nx - cx) ** 2 + (ny - cy) ** 2 < rad**2:
                            bad.append(f"{text} covers a marker of {coll.get_gid()}")
        for patch in ax.patches:
            if isinstance(patch, Polygon):
                xy = patch.get_xy()
                for p, q in itertools.pairwise(xy):
                    if not (p[1] == q[1] == bottom):  # the edge along the axis
                        add(str(patch.get_gid()), [p, q])
        for name, seg in segments:
            for text, box in boxes:
                if _segment_meets_box(seg, box):
                    bad.append(f"{text} meets {name}")
        for a in ax.texts:
            if not (str(a.get_gid()).startswith(what) and str(a.get_gid()).endswith("-leader")):
                continue
            px, py = ax.transData.transform(a.xy)
            dx, dy = a.xyann
            seg = (px + dx * fig.dpi / 72, py + dy * fig.dpi / 72, px, py)
            for text, box in boxes:
                inner = Bbox.from_extents(box.x0 + 1, box.y0 + 1, box.x1 - 1, box.y1 - 1)
                if _segment_meets_box(seg, inner):
                    bad.append(f"a leader runs through {text}")
    return bad


def by_gid(fig: Any, gid: str) -> list[Any]:
    """All artists of a figure with this gid."""
    return [a for a in fig.findobj() if a.get_gid() == gid]


def s16_subgroups(**kw: Any) -> inometa.SubgroupResult:
    """The sixteen studies by setting (frontline / relapsed-refractory)."""
    return inometa.subgroup_analysis(S16_EVENTS, S16_N, S16_SETTING, labels=S16_LABELS, **kw)


def cr_subgroups_with_one_study(**kw: Any) -> inometa.SubgroupResult:
    """The CR/CRi studies in three subgroups, one of them with a single study."""
    groups = ["R/R", "R/R", "Frontline", "Frontline", "Frontline", "Older adults"]
    return inometa.subgroup_analysis(CR_EVENTS, CR_N, groups, labels=CR_LABELS, **kw)
