"""How results are shown: the functions of :mod:`inometa.report`, registered on import.

:mod:`inometa.core.results` sits below :mod:`inometa.report` (report reads results, results
never import report), so the report layer hands its functions over with
:func:`register_views` and the result objects find them with :func:`registered_views`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .results import MetaPropResult

__all__ = ["ResultViews", "register_views", "registered_views"]


@dataclass(frozen=True)
class ResultViews:
    """The ways a :class:`MetaPropResult` is shown, each a function of the result.

    The functions live in :mod:`inometa.report`, which sits above this module: report reads
    results, results never import report. ``inometa.report`` hands its functions over with
    :func:`register_views` when it is imported, which ``import inometa`` always does; the
    result's methods (:meth:`MetaPropResult.summary`, ``_repr_html_``,
    :meth:`~MetaPropResult.methods_text`, :meth:`~MetaPropResult.to_metafor`) call them.

    Attributes
    ----------
    text : callable
        Multi-line plain-text summary (``str(res)``, ``res.summary()``).
    html : callable
        HTML for notebooks (``res._repr_html_()``).
    methods : callable
        A methods paragraph for a manuscript.
    metafor : callable
        R code that refits the analysis with metafor.
    metareg_text, subgroup_text : callable
        The text summaries of a meta-regression and of a subgroup analysis (their
        ``summary()``; typed loosely, as their result types live in :mod:`inometa.analysis`).
    """

    text: Callable[[MetaPropResult], str]
    html: Callable[[MetaPropResult], str]
    methods: Callable[[MetaPropResult], str]
    metafor: Callable[[MetaPropResult], str]
    metareg_text: Callable[[Any], str]
    subgroup_text: Callable[[Any], str]


_views: ResultViews | None = None  # set by inometa.report when it is imported


def register_views(views: ResultViews) -> None:
    """Install the functions that show results (called by :mod:`inometa.report` on import).

    Parameters
    ----------
    views : ResultViews
        Replaces any views registered before.
    """
    global _views
    _views = views


def registered_views() -> ResultViews:
    """The functions that show results, as :mod:`inometa.report` registered them.

    Raises
    ------
    RuntimeError
        If :mod:`inometa.report` was never imported (``import inometa`` always imports it).
    """
    if _views is None:  # import inometa imports report, so only reachable by bypassing it
        raise RuntimeError("no result views registered: import inometa.report first")
    return _views
