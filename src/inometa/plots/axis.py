"""The proportion axis of forest plots: limits, round ticks and their labels.

Axis values are proportions (0–1) whatever the display scale; the labels carry the scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .style import Scale

__all__ = [
    "auto_limits",
    "axis_limits",
    "axis_ticks",
    "nice_ticks",
    "reference_values",
    "tick_labels",
]


def nice_ticks(low: float, high: float, factor: float, target: int = 5) -> tuple[float, ...]:
    """Evenly spaced ticks within [low, high] (proportions) at round values of the
    displayed scale (``factor`` 100 for %): steps of 1, 2, 2.5 or 5 × 10ⁿ, preferring a
    step that puts ticks on both limits, then one without 2.5, then about ``target`` ticks.

    Examples
    --------
    >>> [round(100 * t) for t in nice_ticks(0.0, 1.0, 100)]
    [0, 20, 40, 60, 80, 100]
    >>> [round(1000 * t) for t in nice_ticks(0.4, 0.9, 1000)]
    [400, 500, 600, 700, 800, 900]
    """
    lo, hi = low * factor, high * factor
    span = hi - lo
    if not span > 0:
        raise ValueError(f"axis limits must satisfy low < high, got ({low}, {high})")
    magnitude = math.floor(math.log10(span))
    best: tuple[tuple[int, bool, float], float, float, int] | None = None
    for exponent in (magnitude - 2, magnitude - 1, magnitude):
        for mult in (1.0, 2.0, 2.5, 5.0):
            step = mult * 10.0**exponent
            first = math.ceil(lo / step - 1e-9) * step
            last = math.floor(hi / step + 1e-9) * step
            n = round((last - first) / step) + 1
            if not 3 <= n <= 6:
                continue
            ends = int(abs(first - lo) < 1e-9 * step) + int(abs(last - hi) < 1e-9 * step)
            score = (ends, mult != 2.5, -abs(n - target))
            if best is None or score > best[0]:
                best = (score, first, step, n)
    if best is None:  # a span too narrow for round steps: just the two limits
        return (round(low, 12), round(high, 12))
    _, first, step, n = best
    return tuple(round((first + i * step) / factor, 12) for i in range(n))


def auto_limits(values: Sequence[float], factor: float) -> tuple[float, float]:
    """Axis limits (proportions) that contain ``values``, rounded out to nice ticks and
    kept within [0, 1].

    Examples
    --------
    >>> auto_limits([0.32, 0.55, 0.91], 100)
    (0.2, 1.0)
    >>> auto_limits([0.043, 0.099], 100)
    (0.04, 0.1)
    """
    finite = [v for v in values if math.isfinite(v)]
    lo = max(0.0, min(finite, default=0.0)) * factor
    hi = min(1.0, max(finite, default=1.0)) * factor
    if hi - lo < 0.02 * factor:
        lo, hi = max(0.0, lo - 0.05 * factor), min(factor, hi + 0.05 * factor)
    # The smallest round step whose outward-rounded limits hold at most six ticks: the limits
    # are then ticks themselves (see nice_ticks, which prefers ticks on both limits).
    magnitude = math.floor(math.log10(hi - lo))
    for exponent in (magnitude - 1, magnitude, magnitude + 1):
        for mult in (1.0, 2.0, 2.5, 5.0):
            step = mult * 10.0**exponent
            low = max(0.0, math.floor(lo / step + 1e-9) * step)
            high = min(factor, math.ceil(hi / step - 1e-9) * step)
            if round((high - low) / step) + 1 <= 6:
                return round(low / factor, 12), round(high / factor, 12)
    return 0.0, 1.0


def tick_labels(ticks: Sequence[float], scale: Scale) -> tuple[str, ...]:
    """Tick labels on the chosen scale with the fewest decimals that tell them apart."""
    for decimals in range(0, 4):
        texts = [f"{t * scale.factor:.{decimals}f}" for t in ticks]
        if all(abs(float(s) - t * scale.factor) < 1e-9 for s, t in zip(texts, ticks, strict=True)):
            return tuple(texts)
    return tuple(f"{t * scale.factor:g}" for t in ticks)


def reference_values(ref: float | Sequence[float] | None) -> list[float]:
    if ref is None:
        return []
    values = [float(ref)] if isinstance(ref, (int, float)) else [float(r) for r in ref]
    for v in values:
        if not (math.isfinite(v) and 0 <= v <= 1):
            raise ValueError(
                f"reference line at {v!r}: give proportions between 0 and 1 (0.5, not 50)"
            )
    return values


def axis_limits(
    xlim: tuple[float, float] | None, values: Sequence[float], sc: Scale
) -> tuple[float, float]:
    if xlim is None:
        return auto_limits(values, sc.factor)
    lo, hi = (float(v) for v in xlim)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"xlim must be two finite proportions with low < high, got {xlim!r}")
    if lo < 0 or hi > 1:
        raise ValueError(
            f"xlim is on the proportion scale (0 to 1, whatever the display scale), got {xlim!r}"
        )
    return lo, hi


def axis_ticks(
    xticks: Sequence[float] | None, limits: tuple[float, float], sc: Scale
) -> tuple[float, ...]:
    if xticks is None:
        return nice_ticks(limits[0], limits[1], sc.factor)
    ticks = tuple(float(t) for t in xticks)
    outside = [t for t in ticks if not limits[0] - 1e-12 <= t <= limits[1] + 1e-12]
    if outside:
        raise ValueError(
            f"xticks {outside} lie outside the axis limits {limits} (proportion scale)"
        )
    return ticks
