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


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def plain(x: float | None, digits: int = 1, scale: float = 1.0) -> str:
    """``x · scale`` with ``digits`` decimals and no unit (table cells); '–' for missing.

    Examples
    --------
    >>> plain(0.7054, scale=100), plain(None)
    ('70.5', '–')
    """
    return "–" if _missing(x) else f"{scale * x:.{digits}f}"  # type: ignore[operator]


def span(lo: float | None, hi: float | None, digits: int = 1, scale: float = 1.0) -> str:
    """'lo–hi' as :func:`plain` formats each end; '–' if either is missing.

    Examples
    --------
    >>> span(0.61, 0.775, scale=100)
    '61.0–77.5'
    """
    if _missing(lo) or _missing(hi):
        return "–"
    return f"{plain(lo, digits, scale)}–{plain(hi, digits, scale)}"


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


def pvalue_styled(p: float | None, style: str = "default") -> str:
    """A p-value in a journal's house style.

    ``"default"``: 'p = 0.042', 'p < 0.001' (as :func:`pvalue`); ``"capital"``: 'P = 0.042';
    ``"jama"``: no leading zero, two decimals from 0.01 up and three below ('P = .04',
    'P = .004', 'P < .001').

    Examples
    --------
    >>> pvalue_styled(0.0312, "jama"), pvalue_styled(0.0043, "jama")
    ('P = .03', 'P = .004')
    >>> pvalue_styled(0.0312, "capital")
    'P = 0.031'
    """
    if style == "default":
        return pvalue(p)
    if style == "capital":
        return "P" + pvalue(p)[1:]
    if style == "jama":
        if p is None or math.isnan(p):
            return "P = –"
        if p < 0.001:
            return "P < .001"
        # JAMA: 2 decimals, 3 below 0.01; ≥ .99 is written 'P > .99'.
        if p > 0.99:
            return "P > .99"
        text = f"{p:.2f}" if p >= 0.01 else f"{p:.3f}"
        return f"P = {text[1:]}"
    raise ValueError(f"unknown p-value style {style!r}; valid values are: capital, default, jama")


def scaled(x: float | None, factor: float = 1.0, digits: int = 1) -> str:
    """``x × factor`` with ``digits`` decimals; '–' when missing or infinite.

    Used for proportions shown as % (factor 100) or per 1000 (factor 1000).

    Examples
    --------
    >>> scaled(0.6806, 100, 1), scaled(0.6806, 1000, 0), scaled(float("nan"))
    ('68.1', '681', '–')
    """
    if x is None or not math.isfinite(x):
        return "–"
    return f"{factor * x:.{digits}f}"


def bracketed(low: str, high: str, style: str = "semicolon") -> str:
    """Two formatted bounds as an interval: ``"semicolon"`` '[a; b]' (R meta), ``"comma"``
    '[a, b]' (RevMan), ``"dash"`` '(a–b)' (JAMA, AMA Manual of Style).

    Examples
    --------
    >>> bracketed("56.1", "78.5"), bracketed("56.1", "78.5", "dash")
    ('[56.1; 78.5]', '(56.1–78.5)')
    """
    if style == "semicolon":
        return f"[{low}; {high}]"
    if style == "comma":
        return f"[{low}, {high}]"
    if style == "dash":
        return f"({low}–{high})"
    raise ValueError(f"unknown interval style {style!r}; valid values are: comma, dash, semicolon")


FIGURE_SPACE = "\u2007"


def pad_figures(texts: list[str]) -> list[str]:
    """Left-pad numbers with figure spaces (U+2007, as wide as a digit) to equal length.

    Right-aligned in a font with tabular digits (DejaVu Sans, Arial, Helvetica), the padded
    numbers line up on their decimal points, also in SVG/PDF where no tab stops exist.

    Examples
    --------
    >>> [t.replace(FIGURE_SPACE, "_") for t in pad_figures(["8.1", "100.0", "–"])]
    ['__8.1', '100.0', '–']
    """
    width = max((len(t) for t in texts if t != "–"), default=0)
    return [t if t == "–" else t.rjust(width, FIGURE_SPACE) for t in texts]


def tau2_text(tau2: float | None, digits: int = 4) -> str:
    """τ² for display: '0' when exactly zero, '< 0.0001' when positive but below the last
    printed digit (so that a positive estimate is never shown as 0), else ``digits`` decimals.

    Examples
    --------
    >>> tau2_text(0.0), tau2_text(2e-6), tau2_text(0.21304)
    ('0', '< 0.0001', '0.2130')
    """
    if tau2 is None or not math.isfinite(tau2):
        return num(tau2, digits)
    if tau2 == 0:
        return "0"
    if tau2 < 10**-digits:
        return f"< {10**-digits:.{digits}f}"
    return f"{tau2:.{digits}f}"


STUDY_CI_NAMES = {
    "clopper-pearson": "Clopper–Pearson (exact)",
    "wilson": "Wilson score",
    "wilson-cc": "Wilson score with continuity correction",
    "agresti-coull": "Agresti–Coull",
    "jeffreys": "Jeffreys",
    "wald": "Wald",
}


def study_ci_name(method: str) -> str:
    """The readable name of a ``study_ci_method`` (for footnotes and methods text).

    Examples
    --------
    >>> study_ci_name("clopper-pearson")
    'Clopper–Pearson (exact)'
    """
    return STUDY_CI_NAMES.get(method, method)
