"""Publication-quality plots: forest (also by subgroup), summary forest, leave-one-out and
cumulative forests, funnel, Baujat, GOSH and drapery plots.

Each plot is built in three steps — content from a result, geometry as data
(:mod:`~inometa.plots.layout`), then drawing — and matplotlib is imported only when a plot
is drawn, so ``import inometa`` stays light.
"""

from __future__ import annotations

from .baujat import baujat_layout, plot_baujat
from .drapery import drapery_layout, plot_drapery
from .draw import savefig
from .forest import forest_content, forest_layout, plot_forest
from .funnel import FunnelLine, funnel_layout, plot_funnel
from .gosh import gosh_layout, plot_gosh
from .refits import (
    cumulative_content,
    leave_one_out_content,
    plot_cumulative,
    plot_leave_one_out,
)
from .style import JOURNAL_WIDTHS_MM, PRESETS, SCALES, Preset, get_preset, get_scale
from .subgroup import subgroup_content
from .summary import plot_summary_forest, summary_content

__all__ = [
    "JOURNAL_WIDTHS_MM",
    "PRESETS",
    "SCALES",
    "FunnelLine",
    "Preset",
    "baujat_layout",
    "cumulative_content",
    "drapery_layout",
    "forest_content",
    "forest_layout",
    "funnel_layout",
    "get_preset",
    "get_scale",
    "gosh_layout",
    "leave_one_out_content",
    "plot_baujat",
    "plot_cumulative",
    "plot_drapery",
    "plot_forest",
    "plot_funnel",
    "plot_gosh",
    "plot_leave_one_out",
    "plot_summary_forest",
    "savefig",
    "subgroup_content",
    "summary_content",
]
