"""Number formatting shared by the text, HTML and Markdown views."""

from __future__ import annotations

import math


def num(x: float | None, digits: int = 4) -> str:
    """A number with ``digits`` decimals; '–' for missing, '±∞' for infinite."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.{digits}f}"


def pct(x: float | None, digits: int = 1) -> str:
    """A fraction as a percentage (0.705 → '70.5%')."""
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "–"
    return f"{100 * x:.{digits}f}%"


def pvalue(p: float | None) -> str:
    """A p-value as journals print it: 'p < 0.001' or 'p = 0.042'."""
    if p is None or math.isnan(p):
        return "p = –"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


def interval(lo: float | None, hi: float | None, fmt: str = "num", digits: int = 4) -> str:
    """'[lo, hi]' with the chosen formatter ('num' or 'pct')."""
    f = pct if fmt == "pct" else num
    d = digits if fmt == "num" else 1
    return f"[{f(lo, d)}, {f(hi, d)}]"
