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
    """Evenly spaced ticks covering [low, high] (proportions) at round values of the
    displayed scale (``factor`` 100 for %): steps of 1, 2, 2.5 or 5 × 10ⁿ.

    Examples
    --------
    >>> [round(100 * t) for t in nice_ticks(0.0, 1.0, 100)]
    [0, 20, 40, 60, 80, 100]
    """
    lo, hi = low * factor, high * factor
    span = hi - lo
    if not span > 0:
        raise ValueError(f"axis limits must satisfy low < high, got ({low}, {high})")
    raw = span / max(target - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = first
    while t <= hi + 1e-9 * step:
        ticks.append(round(t / factor, 12))
        t += step
    return tuple(ticks)


def auto_limits(values: Sequence[float], factor: float) -> tuple[float, float]:
    """Axis limits (proportions) that contain ``values``, rounded out to nice ticks and
    kept within [0, 1].

    Examples
    --------
    >>> auto_limits([0.32, 0.55, 0.91], 100)
    (0.3, 1.0)
    """
    finite = [v for v in values if math.isfinite(v)]
    lo = min(finite, default=0.0)
    hi = max(finite, default=1.0)
    lo, hi = max(0.0, lo), min(1.0, hi)
    if hi - lo < 0.02:
        lo, hi = max(0.0, lo - 0.05), min(1.0, hi + 0.05)
    ticks = nice_ticks(lo, hi, factor)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 0.1
    low = ticks[0] if ticks[0] <= lo + 1e-12 else ticks[0] - step
    high = ticks[-1] if ticks[-1] >= hi - 1e-12 else ticks[-1] + step
    return max(0.0, round(low, 12)), min(1.0, round(high, 12))


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
