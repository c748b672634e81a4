"""Measuring, wrapping and truncating text in points, before anything is drawn.

The layout decides every column width and row height from text widths, so it needs to
measure text without a figure. A *measurer* is any callable ``(text, fontsize, bold) →
width in points``; :func:`font_measurer` measures with the pinned font through matplotlib's
font machinery (imported on first use), and tests can pass a simple fixed-pitch measurer to
check the layout logic exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .style import FONT_FAMILY

__all__ = [
    "ELLIPSIS",
    "Measurer",
    "fixed_pitch_measurer",
    "font_measurer",
    "measurer_for",
    "truncate",
    "wrap",
]

ELLIPSIS = "…"

# Widths are recomputed from the same measurements; allow for floating-point rounding.
_EPS = 1e-6

Measurer = Callable[[str, float, bool], float]


@functools.lru_cache(maxsize=16)
def _font_properties(fontsize: float, bold: bool, family: str) -> Any:
    from matplotlib.font_manager import FontProperties

    return FontProperties(family=family, size=fontsize, weight="bold" if bold else "normal")


@functools.lru_cache(maxsize=1)
def _text_to_path() -> Any:
    from matplotlib.textpath import TextToPath

    return TextToPath()


@functools.lru_cache(maxsize=65536)
def _font_width(text: str, fontsize: float, bold: bool, family: str) -> float:
    if not text:
        return 0.0
    engine = _text_to_path()
    prop = _font_properties(fontsize, bold, family)
    # Unhinted advance widths in points: with hinting off (see style.rc_params) this is what
    # the Agg, PDF and SVG backends lay out, at any dpi, to within a few hundredths of a point.
    return max(
        float(engine.get_text_width_height_descent(line, prop, ismath=False)[0])
        for line in text.split("\n")
    )


def font_measurer(text: str, fontsize: float, bold: bool = False) -> float:
    """Width in points of ``text`` (widest line) in the default font, DejaVu Sans.

    Examples
    --------
    >>> font_measurer("0", 8.0) == font_measurer("7", 8.0)  # tabular digits
    True
    >>> 20 < font_measurer("68.1 [56.1; 78.5]", 8.0) < 100
    True
    """
    return _font_width(text, float(fontsize), bool(bold), FONT_FAMILY)


def measurer_for(family: str) -> Measurer:
    """A measurer for another font family (as matplotlib resolves it, fallback included,
    so measuring and drawing always use the same font file).

    Examples
    --------
    >>> measurer_for("DejaVu Sans")("Study", 8.0, True) == font_measurer("Study", 8.0, True)
    True
    """

    def measure(text: str, fontsize: float, bold: bool = False) -> float:
        return _font_width(text, float(fontsize), bool(bold), family)

    return measure


def fixed_pitch_measurer(text: str, fontsize: float, bold: bool = False) -> float:
    """Every character half an em wide (bold: 0.6 em); for testing layout logic exactly.

    Examples
    --------
    >>> fixed_pitch_measurer("abcd", 10.0)
    20.0
    """
    per_char = (0.6 if bold else 0.5) * fontsize
    return max(len(line) for line in text.split("\n")) * per_char


def truncate(text: str, width: float, measure: Callable[[str], float]) -> str:
    """``text`` cut to fit ``width`` points, ending in an ellipsis when anything was cut.

    Examples
    --------
    >>> truncate("Kantarjian 2019", 40.0, lambda s: 5.0 * len(s))
    'Kantarj…'
    """
    if measure(text) <= width + _EPS:
        return text
    lo, hi = 0, len(text)
    # Binary search for the longest prefix that fits with the ellipsis (widths are monotone).
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(text[:mid].rstrip() + ELLIPSIS) <= width + _EPS:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + ELLIPSIS


def wrap(text: str, width: float, measure: Callable[[str], float], max_lines: int = 2) -> str:
    """``text`` broken at spaces into lines of at most ``width`` points, at most
    ``max_lines`` of them; the last line is truncated with an ellipsis if text remains.
    Existing line breaks are kept. A word wider than a line is cut with an ellipsis.

    Examples
    --------
    >>> wrap("Kantarjian 2019 (INO-VATE trial)", 80.0, lambda s: 5.0 * len(s))
    'Kantarjian 2019\\n(INO-VATE trial)'
    >>> wrap("one two three four five six", 40.0, lambda s: 5.0 * len(s), max_lines=2)
    'one two\\nthree f…'
    """
    if max_lines < 1:
        raise ValueError(f"max_lines must be at least 1, got {max_lines}")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            candidate = word if not current else f"{current} {word}"
            if measure(candidate) <= width + _EPS or not current:
                current = candidate
            else:
                lines.append(current)
                current = word
        lines.append(current)
    out: list[str] = []
    for i, line in enumerate(lines):
        if len(out) == max_lines - 1 and i < len(lines) - 1:
            # Last allowed line: keep as much of the remaining text as fits.
            rest = " ".join(lines[i:])
            out.append(truncate(rest, width, measure))
            break
        out.append(truncate(line, width, measure))
    return "\n".join(out)
