"""Presets, scales, fonts and journal widths shared by every plot.

Nothing here imports matplotlib: a preset is plain data that the layout reads, and
:func:`rc_params` is the pinned matplotlib style (a dict) that drawing applies. Pinning the
whole style — font, sizes, hinting, SVG hash salt — is what makes a figure look the same on
every machine and lets the image tests compare against committed baselines; likewise
:func:`deterministic_metadata` keeps dates and version strings out of saved files, for both
inometa's figure class and :func:`~inometa.plots.savefig` on any figure.

=========  ===========================================================================
preset     looks like
=========  ===========================================================================
``meta``   R meta's ``forest()`` default: counts left, estimate and both weights right,
           grey squares, red prediction bar, heterogeneity under the pooled rows
``revman5``  Cochrane RevMan 5: every number left of the plot, blue squares, black
           diamonds, the method ("IV, Random, 95% CI") in the column title
``jama``   JAMA Network: "No. of events/total", estimate "(95% CI)" with an en dash,
           ruled header, heterogeneity as a footer line, P values without a leading zero
=========  ===========================================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from .._validation import check_choice

__all__ = [
    "FONT_FAMILY",
    "JOURNAL_WIDTHS_MM",
    "PRESETS",
    "SCALES",
    "Preset",
    "Scale",
    "deterministic_metadata",
    "file_format",
    "get_preset",
    "get_scale",
    "mm_to_pt",
    "rc_params",
    "resolve_width",
]

POINTS_PER_INCH = 72.0
MM_PER_INCH = 25.4

# DejaVu Sans ships with matplotlib, so it exists on every machine that can draw at all; a
# font that may be missing would silently fall back and change every text width.
FONT_FAMILY = "DejaVu Sans"

# Printed figure widths in mm. Nature/Springer, NEJM and Lancet columns are 85–90 mm and
# full pages 174–183 mm; these values fit all of them.
JOURNAL_WIDTHS_MM: Mapping[str, float] = MappingProxyType(
    {"single": 89.0, "one-and-a-half": 120.0, "double": 183.0}
)


def mm_to_pt(mm: float) -> float:
    """Millimetres to typographic points (1/72 inch).

    Examples
    --------
    >>> round(mm_to_pt(25.4), 6)
    72.0
    """
    return mm / MM_PER_INCH * POINTS_PER_INCH


def resolve_width(width: float | str | None) -> float | None:
    """A figure width in points from a journal width name (``"single"``, ``"double"``,
    ``"one-and-a-half"``) or a number of millimetres; None stays None (automatic width).

    Examples
    --------
    >>> round(resolve_width("single"), 2), round(resolve_width(100), 2)
    (252.28, 283.46)
    """
    if width is None:
        return None
    if isinstance(width, str):
        key = check_choice(width, "width", {k: k for k in JOURNAL_WIDTHS_MM})
        return mm_to_pt(JOURNAL_WIDTHS_MM[key])
    mm = float(width)
    if not (math.isfinite(mm) and mm > 0):
        raise ValueError(f"width must be a positive number of millimetres, got {width!r}")
    return mm_to_pt(mm)


@dataclass(frozen=True)
class Scale:
    """How proportions are shown: multiplied by ``factor`` with ``digits`` decimals.

    ``unit`` turns a measure name into the axis/column title ("Proportion" →
    "Proportion, %"); ``weight_digits`` is fixed at 1 because weights are always percent.
    """

    name: str
    factor: float
    digits: int
    unit: str

    def title(self, measure: str) -> str:
        """The measure with its unit, e.g. 'Proportion, %'."""
        return self.unit.format(measure=measure)


SCALES: Mapping[str, Scale] = MappingProxyType(
    {
        "percent": Scale("percent", 100.0, 1, "{measure}, %"),
        "proportion": Scale("proportion", 1.0, 2, "{measure}"),
        "per1000": Scale("per1000", 1000.0, 0, "{measure} per 1000"),
    }
)

_SCALE_ALIASES = {
    "percent": "percent",
    "%": "percent",
    "pct": "percent",
    "proportion": "proportion",
    "fraction": "proportion",
    "per1000": "per1000",
    "per 1000": "per1000",
    "per_1000": "per1000",
    "permille": "per1000",
}


def get_scale(name: str) -> Scale:
    """Look up a scale: ``"percent"``, ``"proportion"`` or ``"per1000"``.

    Examples
    --------
    >>> get_scale("per 1000").factor
    1000.0
    """
    return SCALES[check_choice(name, "scale", _SCALE_ALIASES)]


@dataclass(frozen=True)
class Colours:
    """Colours of the plot elements (any matplotlib colour)."""

    text: str = "black"
    square: str = "#808080"
    square_edge: str = "#808080"
    study_line: str = "black"
    diamond_random: str = "#808080"
    diamond_common: str = "#d9d9d9"
    diamond_edge: str = "black"
    prediction: str = "#c0392b"
    reference: str = "#555555"
    pooled_line: str = "#555555"
    rule: str = "black"
    extra_marker: str = "#c0392b"
    funnel_line: str = "#1f4e9c"
    funnel_point: str = "#333333"


@dataclass(frozen=True)
class Preset:
    """A forest/funnel plot look: columns, titles, labels, number style and colours.

    Another font: ``dataclasses.replace(PRESETS["jama"], font_family="Arial")`` — text is
    measured in the same font it is drawn in. DejaVu Sans, the default, ships with
    matplotlib; other fonts must be installed, or matplotlib falls back to DejaVu Sans.

    Subgroup forests label each block's diamond with ``subtotal_label`` (or, with the
    common-effect model shown too, ``subtotal_random_label``/``subtotal_common_label``).

    Column keys: ``label``, ``user`` (the user's columns, in their order), ``events``,
    ``total``, ``events_total`` ("49/72"), ``ci`` (estimate with CI), ``weight_random``,
    ``weight_common`` (shown only with ``show_common=True``). Titles are templates with
    ``{measure}`` ("Proportion, %"), ``{level}`` ("95%") and ``{model}`` ("IV, Random").
    """

    name: str
    fontsize: float
    left_columns: tuple[str, ...]
    right_columns: tuple[str, ...]
    titles: Mapping[str, str]
    panel_title: str
    random_label: str
    random_label_alone: str
    common_label: str
    prediction_label: str
    interval_style: str
    pvalue_style: str
    heterogeneity_style: str
    heterogeneity_in_rows: bool
    weight_suffix: str
    pi_style: str
    pooled_line: bool
    header_rules: bool
    colours: Colours = field(default_factory=Colours)
    font_family: str = FONT_FAMILY
    subtotal_label: str = "Random effects model"
    subtotal_random_label: str = "Random effects model"
    subtotal_common_label: str = "Common effect model"

    def with_fontsize(self, fontsize: float | None) -> Preset:
        """The same preset at another font size (None keeps it)."""
        if fontsize is None:
            return self
        if not (math.isfinite(fontsize) and 4 <= fontsize <= 24):
            raise ValueError(f"fontsize must be between 4 and 24 points, got {fontsize!r}")
        return replace(self, fontsize=float(fontsize))


_META = Preset(
    name="meta",
    fontsize=8.0,
    left_columns=("label", "user", "events", "total"),
    right_columns=("ci", "weight_common", "weight_random"),
    titles=MappingProxyType(
        {
            "label": "Study",
            "events": "Events",
            "total": "Total",
            "events_total": "Events/Total",
            "ci": "{measure}\n[{level} CI]",
            "weight_random": "Weight\n(random)",
            "weight_common": "Weight\n(common)",
        }
    ),
    panel_title="",
    random_label="Random effects model",
    random_label_alone="Random effects model",
    common_label="Common effect model",
    prediction_label="Prediction interval",
    interval_style="semicolon",
    pvalue_style="default",
    heterogeneity_style="meta",
    heterogeneity_in_rows=True,
    weight_suffix="%",
    pi_style="bar",
    pooled_line=True,
    header_rules=False,
)

_REVMAN5 = Preset(
    name="revman5",
    fontsize=8.0,
    left_columns=("label", "user", "events", "total", "weight_common", "weight_random", "ci"),
    right_columns=(),
    titles=MappingProxyType(
        {
            "label": "Study or Subgroup",
            "events": "Events",
            "total": "Total",
            "events_total": "Events/Total",
            "ci": "{measure}\n{model}, {level} CI",
            "weight_random": "Weight\n(random)",
            "weight_common": "Weight\n(common)",
        }
    ),
    panel_title="{measure}\n{model}, {level} CI",
    random_label="Total (random effects, {level} CI)",
    random_label_alone="Total ({level} CI)",
    common_label="Total (common effect, {level} CI)",
    prediction_label="Prediction interval",
    interval_style="comma",
    pvalue_style="capital",
    heterogeneity_style="revman5",
    heterogeneity_in_rows=True,
    weight_suffix="%",
    pi_style="line",
    pooled_line=False,
    header_rules=True,
    colours=Colours(
        square="#1f3fbf",
        square_edge="#1f3fbf",
        diamond_random="black",
        diamond_common="white",
        prediction="black",
        funnel_point="#1f3fbf",
    ),
    subtotal_label="Subtotal ({level} CI)",
    subtotal_random_label="Subtotal, random effects",
    subtotal_common_label="Subtotal, common effect",
)

_JAMA = Preset(
    name="jama",
    fontsize=8.0,
    left_columns=("label", "user", "events_total"),
    right_columns=("ci", "weight_common", "weight_random"),
    titles=MappingProxyType(
        {
            "label": "Source",
            "events": "No. of events",
            "total": "No. of patients",
            "events_total": "No. of events/\ntotal No.",
            "ci": "{measure}\n({level} CI)",
            "weight_random": "Weight, %\n(random)",
            "weight_common": "Weight, %\n(common)",
        }
    ),
    panel_title="",
    random_label="Overall (random effects)",
    random_label_alone="Overall",
    common_label="Overall (common effect)",
    prediction_label="Prediction interval",
    interval_style="dash",
    pvalue_style="jama",
    heterogeneity_style="jama",
    heterogeneity_in_rows=False,
    weight_suffix="",
    pi_style="line",
    pooled_line=False,
    header_rules=True,
    colours=Colours(
        square="#1b4f8a",
        square_edge="#1b4f8a",
        diamond_random="#1b4f8a",
        diamond_common="white",
        diamond_edge="#1b4f8a",
        prediction="#1b4f8a",
        funnel_line="#c45b28",
        funnel_point="#1b4f8a",
    ),
    subtotal_label="Subtotal",
    subtotal_random_label="Subtotal (random effects)",
    subtotal_common_label="Subtotal (common effect)",
)

PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in (_META, _REVMAN5, _JAMA)})


def get_preset(preset: str | Preset) -> Preset:
    """A preset by name (``"meta"``, ``"revman5"``, ``"jama"``), or a :class:`Preset` as is.

    Examples
    --------
    >>> get_preset("JAMA").interval_style
    'dash'
    """
    if isinstance(preset, Preset):
        return preset
    return PRESETS[check_choice(preset, "preset", {k: k for k in PRESETS})]


def rc_params(fontsize: float, family: str = FONT_FAMILY) -> dict[str, Any]:
    """The pinned matplotlib style of every inometa figure.

    Applied on top of matplotlib's defaults (never the user's rcParams), so the same call
    gives the same picture everywhere. Hinting is off so text widths do not depend on the
    dpi (the layout measures text once, in points). Fonts are embedded as TrueType (Type 42)
    in PDF/PS, which journals accept and editors can edit; SVG text is stored as paths so it
    looks the same without the font installed.
    """
    return {
        "font.family": family,
        "font.size": fontsize,
        "text.hinting": "no_hinting",
        "text.antialiased": True,
        "axes.linewidth": 0.6,
        "axes.labelsize": fontsize,
        "axes.titlesize": fontsize,
        "axes.unicode_minus": True,
        "xtick.labelsize": fontsize,
        "ytick.labelsize": fontsize,
        "xtick.major.size": 3.0,
        "xtick.major.width": 0.6,
        "xtick.major.pad": 2.0,
        "ytick.major.size": 3.0,
        "ytick.major.width": 0.6,
        "ytick.major.pad": 2.0,
        "xtick.direction": "out",
        "ytick.direction": "out",
        "lines.linewidth": 0.8,
        "patch.linewidth": 0.6,
        "legend.fontsize": fontsize,
        "legend.frameon": False,
        "figure.dpi": 100.0,
        "savefig.dpi": 300.0,
        "savefig.bbox": "standard",
        "savefig.pad_inches": 0.0,
        "savefig.facecolor": "white",
        "savefig.transparent": False,
        "figure.facecolor": "white",
        "axes.facecolor": "none",
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "path",
        "svg.hashsalt": "inometa",
        "path.simplify": False,
    }


def deterministic_metadata(fmt: str) -> dict[str, Any] | None:
    """File metadata without dates or version strings, so saving is byte-reproducible."""
    fmt = fmt.lower()
    if fmt == "png":
        return {"Software": None}
    if fmt == "pdf":
        return {"Creator": None, "Producer": None, "CreationDate": None}
    if fmt == "svg":
        return {"Creator": None, "Date": None}
    if fmt in ("ps", "eps"):
        return {"Creator": None}
    return None


def file_format(fname: Any, fmt: str | None) -> str:
    """The output format: given, or from the file name's suffix (default PNG)."""
    if fmt is not None:
        return str(fmt)
    name = str(getattr(fname, "name", fname))
    return name.rsplit(".", 1)[-1] if "." in name else "png"
