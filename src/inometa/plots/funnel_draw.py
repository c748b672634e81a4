"""Drawing a funnel plot from its layout (:func:`~inometa.plots.funnel.funnel_layout`):
regions, lines, points, the legend outside the data, and labels clear of all of them — the
studies' names, or numbers keyed in the legend where the names find no room."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .labels import legend_columns, place_labels
from .text import measurer_for, truncate

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .funnel import FunnelLayout

__all__ = ["draw_funnel"]


def _legend_columns(handles: Sequence[Any], layout: FunnelLayout, most: int) -> int:
    p = layout.preset
    texts = [str(h.get_label()) for h in handles]
    return legend_columns(texts, layout.width, p.fontsize, measurer_for(p.font_family), most)


def _legend_rows(handles: Sequence[Any], layout: FunnelLayout, most: int) -> int:
    return -(-len(handles) // _legend_columns(handles, layout, most))


def _legend(
    fig: Any, ax: Axes, handles: Sequence[Any], layout: FunnelLayout, own: bool, most: int = 2
) -> None:
    """The legend, outside the data: below the panel in an own figure, right of a given
    axes (inside, it would cover points, labels and the grey of the contours)."""
    if not handles:
        return
    p = layout.preset
    fs = p.fontsize
    for old in [*fig.legends, *([ax.get_legend()] if ax.get_legend() else [])]:
        old.remove()
    if own:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=_legend_columns(handles, layout, most),
            frameon=False,
            fontsize=fs,
            handlelength=1.6,
            columnspacing=1.2,
        )
    else:
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            frameon=False,
            fontsize=fs,
        )


def draw_funnel(layout: FunnelLayout, ax: Axes | None = None) -> Figure:
    """Draw a :class:`FunnelLayout` into a new figure or into ``ax``.

    Examples
    --------
    >>> import inometa
    >>> from inometa.plots.funnel import funnel_layout
    >>> res = inometa.metaprop([5, 20, 30, 9], [50, 60, 70, 40])
    >>> len(draw_funnel(funnel_layout(res)).axes)
    1
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Polygon

    from .draw import frame_axes, plot_axes, style_context

    p = layout.preset
    col = p.colours
    fs = p.fontsize
    with style_context(fs, p.font_family):
        own = ax is None
        fig, ax = plot_axes(layout.width, layout.height, p, ax)
        frame_axes(ax, layout.xlim, layout.ylim, layout.xlabel, layout.ylabel, layout.title)
        ax.set_yticks(list(layout.yticks))
        if layout.percent:
            from matplotlib.ticker import FuncFormatter

            hundred = FuncFormatter(lambda v, _: f"{round(100 * v, 6):g}")
            ax.xaxis.set_major_formatter(hundred)
            ax.yaxis.set_major_formatter(hundred)

        handles: list[Any] = []
        if layout.background is not None:
            ax.set_facecolor(layout.background)
            ax.patch.set_gid("contour-background")
            # edged as the region swatches, so it shows against any background
            handles.append(
                Patch(
                    facecolor=layout.background,
                    edgecolor="#999999",
                    linewidth=0.4,
                    label=layout.background_label,
                )
            )
            for region in layout.contours:
                ax.add_patch(
                    Polygon(
                        list(region.vertices),
                        closed=True,
                        facecolor=region.colour,
                        edgecolor="none",
                        zorder=0.5,
                        gid="contour",
                    )
                )
                handles.append(
                    Patch(
                        facecolor=region.colour,
                        edgecolor="#999999",
                        linewidth=0.4,
                        label=region.label,
                    )
                )
        if layout.centre is not None:
            ax.vlines(
                layout.centre,
                layout.ylim[1],
                layout.ylim[0],
                colors="black",
                linewidth=0.7,
                zorder=2,
                gid="funnel-centre",
            )
        if layout.filled_centre is not None:
            ax.vlines(
                layout.filled_centre,
                layout.ylim[1],
                layout.ylim[0],
                colors=col.extra_marker,
                linestyles="--",
                linewidth=0.8,
                zorder=2,
                gid="funnel-filled-centre",
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    color=col.extra_marker,
                    linestyle="--",
                    linewidth=0.8,
                    label=layout.filled_label,
                )
            )
        if layout.pseudo_ci:
            xs, ys = zip(*layout.pseudo_ci, strict=True)
            ax.plot(xs, ys, color="black", linestyle="--", linewidth=0.7, zorder=2, gid="pseudo-ci")
            handles.append(
                Line2D(
                    [], [], color="black", linestyle="--", linewidth=0.7, label=layout.pseudo_label
                )
            )
        if layout.line:
            xs, ys = zip(*layout.line, strict=True)
            ax.plot(xs, ys, color=col.funnel_line, linewidth=1.0, zorder=3, gid="funnel-line")
            handles.append(
                Line2D([], [], color=col.funnel_line, linewidth=1.0, label=layout.line_label)
            )

        # studies as filled markers, studies added by another analysis as open ones
        looks: tuple[tuple[bool, str, dict[str, Any], float], ...] = (
            (False, "funnel-studies", {"color": col.funnel_point, "edgecolors": "white"}, 0.4),
            (True, "funnel-extra", {"facecolors": "white", "edgecolors": col.extra_marker}, 0.8),
        )
        for added, gid, colours, edge in looks:
            shown = [pt for pt in layout.points if pt.extra is added]
            if shown:
                ax.scatter(
                    [pt.x for pt in shown],
                    [pt.se for pt in shown],
                    s=(0.55 * fs) ** 2,
                    linewidths=edge,
                    zorder=4,
                    gid=gid,
                    clip_on=False,
                    **colours,
                )
        if any(pt.extra for pt in layout.points):
            handles.append(
                Line2D(
                    [],
                    [],
                    linestyle="none",
                    marker="o",
                    markersize=0.55 * fs,
                    markerfacecolor="white",
                    markeredgecolor=col.extra_marker,
                    label=layout.extra_label,
                )
            )
        for note in layout.legend_notes:
            handles.append(Line2D([], [], linestyle="none", label=note))
        _legend(fig, ax, handles, layout, own)
        lines = [list(layout.pseudo_ci), *(list(r.vertices) for r in layout.contours)]
        lines.extend(
            [(x, layout.ylim[1]), (x, layout.ylim[0])]
            for x in (layout.centre, layout.filled_centre)
            if x is not None
        )
        if layout.line:
            lines.append(list(layout.line))
        chosen = [
            pt for pt in sorted(layout.points, key=lambda q: q.se) if pt.labelled and pt.label
        ]
        markers = [(pt.x, pt.se) for pt in layout.points]

        def place(texts: list[str], what: str) -> list[str]:
            return place_labels(
                fig,
                ax,
                [(pt.x, pt.se, t) for pt, t in zip(chosen, texts, strict=True)],
                markers,
                fs,
                measurer_for(p.font_family),
                marker=0.55 * fs,
                what=what,
                lines=[v for v in lines if v],
                all_or_none=True,
            )

        if chosen and place([pt.label for pt in chosen], "funnel"):
            # No room for every name: number the points and list the names in the legend,
            # rather than leave some points unnamed.
            room = 0.9 * layout.width - 3.2 * fs  # the legend's handle, pad and margin

            def fit(text: str) -> str:
                return truncate(text, room, lambda t: measurer_for(p.font_family)(t, fs, False))

            key = [
                Line2D([], [], linestyle="none", label=fit(f"{i}\u2002{pt.label}"))
                for i, pt in enumerate(chosen, 1)
            ]
            height = fig.get_figheight()
            if own:
                # a long key may take a third column
                before = _legend_rows(handles, layout, 2)
                after = _legend_rows([*handles, *key], layout, 3)
                fig.set_figheight(height + (after - before) * 1.25 * fs / 72)
            _legend(fig, ax, [*handles, *key], layout, own, most=3)
            if place([str(i) for i in range(1, len(chosen) + 1)], "funnel-number"):
                # no labels at all then: the legend without the key
                fig.set_figheight(height)
                _legend(fig, ax, handles, layout, own)
                warnings.warn(
                    f"{len(chosen)} funnel labels found no free place, not even as numbers; "
                    "the points are not labelled: label fewer studies or enlarge the figure",
                    stacklevel=3,
                )
    return fig
