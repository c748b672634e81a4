"""The Figure class of inometa plots (imported only when a plot is drawn).

This module imports matplotlib at import time, so nothing imports it until a figure is
made; it is a module of its own so that figures pickle like any matplotlib figure.
"""

from __future__ import annotations

from typing import Any, cast

from matplotlib import rc_context
from matplotlib.figure import Figure

from .style import deterministic_metadata, file_format

__all__ = ["InometaFigure"]


class InometaFigure(Figure):
    """A Figure that renders and saves with the pinned inometa style.

    Hinting, the SVG hash salt and PDF font embedding are read from rcParams while drawing
    and saving, not when artists are created; pinning them here keeps the output identical
    whatever the user's rcParams are. Saved files carry no dates or version strings.
    """

    def __init__(self, *args: Any, inometa_rc: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inometa_rc = inometa_rc

    def draw(self, renderer: Any) -> None:
        with rc_context(cast(Any, self.inometa_rc)):
            super().draw(renderer)

    def _ipython_display_(self) -> None:
        """Show the figure once in IPython (a notebook cell's value, ``display(fig)``, or the
        inline backend showing pyplot's figures at the end of a cell).

        The figure is shown as a PNG; if pyplot holds it under the inline backend it is then
        closed, so that the end of the cell does not show it a second time. Under a GUI
        backend its window shows it, and nothing is done here.
        """
        import io
        import sys

        import matplotlib
        from IPython.display import display

        plt = sys.modules.get("matplotlib.pyplot")
        manager = self.canvas.manager
        managed = plt is not None and manager is not None and plt.fignum_exists(manager.num)
        if managed and "inline" not in matplotlib.get_backend():
            return
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        display({"image/png": buffer.getvalue()}, raw=True)  # type: ignore[no-untyped-call]
        if managed:
            assert plt is not None
            plt.close(self)

    def savefig(self, fname: Any, *args: Any, **kwargs: Any) -> None:
        if "metadata" not in kwargs:
            fmt = file_format(fname, kwargs.get("format"))
            kwargs["metadata"] = deterministic_metadata(fmt)
        with rc_context(cast(Any, self.inometa_rc)):
            super().savefig(fname, *args, **kwargs)
