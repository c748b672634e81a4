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

    def savefig(self, fname: Any, *args: Any, **kwargs: Any) -> None:
        if "metadata" not in kwargs:
            fmt = file_format(fname, kwargs.get("format"))
            kwargs["metadata"] = deterministic_metadata(fmt)
        with rc_context(cast(Any, self.inometa_rc)):
            super().savefig(fname, *args, **kwargs)
