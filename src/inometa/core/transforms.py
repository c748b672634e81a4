"""Transformations of single proportions: forward, sampling variance, inverse.

Each transformation is the single-proportion outcome of metafor's ``escalc``:

============  ===========  ==========  ==========================================
inometa       metafor      R meta      model-scale value y and its variance v
============  ===========  ==========  ==========================================
``raw``       ``"PR"``     ``PRAW``    y = x/n, v = y(1-y)/n
``log``       ``"PLN"``    ``PLN``     y = log(x/n), v = 1/x - 1/n
``logit``     ``"PLO"``    ``PLOGIT``  y = log(x/(n-x)), v = 1/x + 1/(n-x)
``arcsine``   ``"PAS"``    ``PAS``     y = asin(sqrt(x/n)), v = 1/(4n)
``ft``        ``"PFT"``    ``PFT``     y = (asin sqrt(x/(n+1)) + asin sqrt((x+1)/(n+1)))/2,
                                       v = 1/(4n+2)
============  ===========  ==========  ==========================================

Continuity correction follows ``escalc(add=1/2, to="only0")``: for ``raw``, ``log`` and
``logit`` the increment is added to the events *and* the non-events of studies with 0 or n
events (so n grows by twice the increment); ``arcsine`` and ``ft`` are defined at 0 and n
and get no correction unless one is asked for explicitly (metafor's ``add=0`` default for
PAS/PFT). The Freeman–Tukey value is metafor's, i.e. half of Freeman & Tukey's (1950) sum;
its inverse is Miller's (1978) formula, applied with each study's own n for study rows and
with the harmonic mean of the n for pooled values (metafor's ``transf.ipft.hm``, R meta).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from .._validation import check_choice

__all__ = [
    "CORRECTIONS",
    "CORRECTION_STYLES",
    "TRANSFORMS",
    "Transform",
    "apply_correction",
    "corrected_yi_vi",
    "ft_inverse",
    "get_transform",
]

FloatArray = npt.NDArray[np.float64]

#: Continuity-correction rules (metafor's ``to=``).
CORRECTIONS: dict[str, str] = {
    "only0": "only0",
    "all": "all",
    "if0all": "if0all",
    "none": "none",
}
#: What a continuity correction changes on the raw and log scales: metafor corrects the
#: counts before transforming; R meta corrects as its metaprop() does (see corrected_yi_vi).
CORRECTION_STYLES: dict[str, str] = {"metafor": "metafor", "meta": "meta", "r-meta": "meta"}


def apply_correction(
    events: npt.ArrayLike,
    n: npt.ArrayLike,
    to: str,
    increment: float,
    present: npt.NDArray[np.bool_] | None = None,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Add ``increment`` to events and non-events as metafor's ``escalc(add=, to=)``.

    Parameters
    ----------
    events, n
        Event counts and totals: one analysis (length k) or many (R × K, one row each).
    to
        ``"only0"``: studies with 0 or n events; ``"all"``: every study; ``"if0all"``: every
        study of an analysis if any of its studies has 0 or n events; ``"none"``: no study.
    increment
        The amount added to events and to non-events (metafor ``add``), e.g. 0.5.
    present
        For many analyses: which cells hold a study (absent cells are never corrected and
        do not count for ``"if0all"``). None: every cell.

    Returns
    -------
    events, n : numpy.ndarray
        Adjusted counts (n grows by ``2 * increment`` where corrected).
    corrected : numpy.ndarray of bool
        Which studies were adjusted.

    Examples
    --------
    >>> x, n, c = apply_correction([0, 3, 5], [10, 10, 5], "only0", 0.5)
    >>> x.tolist(), n.tolist(), c.tolist()
    ([0.5, 3.0, 5.5], [11.0, 10.0, 6.0], [True, False, True])
    >>> _, _, c = apply_correction([[0, 3], [1, 3]], [[10, 10], [10, 10]], "if0all", 0.5)
    >>> c.tolist()
    [[True, True], [False, False]]
    """
    x = np.asarray(events, dtype=float)
    m = np.asarray(n, dtype=float)
    rule = check_choice(to, "correction", CORRECTIONS)
    if not increment >= 0 or not math.isfinite(increment):
        raise ValueError(f"increment must be a finite number >= 0, got {increment!r}")
    zero_cell = (x == 0) | (x == m)
    every = np.ones_like(zero_cell) if present is None else np.asarray(present, dtype=bool)
    zero_cell &= every
    if rule == "only0":
        corrected = zero_cell
    elif rule == "all":
        corrected = every.copy()
    elif rule == "if0all":
        corrected = every & zero_cell.any(axis=-1, keepdims=True)
    else:
        corrected = np.zeros_like(zero_cell)
    if increment == 0:
        corrected = np.zeros_like(zero_cell)
    if not corrected.any():
        return x + 0.0, m + 0.0, corrected  # copies, as in the corrected case
    add = np.where(corrected, increment, 0.0)
    return x + add, m + 2 * add, corrected


def corrected_yi_vi(
    tr: Transform,
    events: npt.ArrayLike,
    n: npt.ArrayLike,
    events_used: npt.ArrayLike,
    n_used: npt.ArrayLike,
    style: str,
) -> tuple[FloatArray, FloatArray]:
    """yᵢ and vᵢ of studies after the continuity correction, in metafor's or R meta's style.

    ``events_used``, ``n_used`` are :func:`apply_correction`'s counts (c added to events and
    non-events, so n + 2c). ``"metafor"`` (``escalc``) transforms those counts. ``"meta"``
    reproduces R meta's ``metaprop()`` (8.0), which differs on two scales only:

    * raw: the proportion itself is not corrected, yᵢ = x/n; only vᵢ uses the corrected
      counts, (x+c)(n−x+c)/(n+2c)³;
    * log: c is added to the events and once to n, yᵢ = ln((x+c)/(n+c)),
      vᵢ = 1/(x+c) − 1/(n+c), and a 100% study keeps its uncorrected 1/x in vᵢ.

    Logit is corrected alike in both; arcsine and Freeman–Tukey follow ``"metafor"``
    (R meta never corrects them, and neither profile asks for it).

    Examples
    --------
    >>> raw = get_transform("raw")
    >>> x, m, _ = apply_correction([0, 3], [10, 10], "only0", 0.5)
    >>> yi, vi = corrected_yi_vi(raw, [0, 3], [10, 10], x, m, "meta")
    >>> yi.tolist(), round(float(vi[0]), 6)
    ([0.0, 0.3], 0.003944)
    >>> yi, _ = corrected_yi_vi(raw, [0, 3], [10, 10], x, m, "metafor")
    >>> round(float(yi[0]), 6)
    0.045455
    """
    rule = check_choice(style, "correction_style", CORRECTION_STYLES)
    if rule == "metafor" or tr.name not in ("raw", "log"):
        return tr.yi_vi(events_used, n_used)
    x = np.asarray(events, dtype=float)
    m = np.asarray(n, dtype=float)
    xu = np.asarray(events_used, dtype=float)
    if tr.name == "raw":
        _, vi = tr.yi_vi(xu, n_used)
        return x / m, vi
    c = xu - x
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = np.log(xu / (m + c))
        vi = np.where(x == m, 1 / x, 1 / xu) - 1 / (m + c)
    return yi, vi


def _raw(x: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    p = x / n
    return p, p * (1 - p) / n


def _log(x: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    with np.errstate(divide="ignore"):
        return np.log(x / n), 1 / x - 1 / n


def _logit(x: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    with np.errstate(divide="ignore"):
        return np.log(x / (n - x)), 1 / x + 1 / (n - x)


def _arcsine(x: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    return np.arcsin(np.sqrt(x / n)), 1 / (4 * n)


def _ft(x: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    y = 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
    return y, 1 / (4 * n + 2)


def _inv_raw(y: FloatArray, n: FloatArray | None) -> FloatArray:
    return np.clip(y, 0.0, 1.0)


def _inv_log(y: FloatArray, n: FloatArray | None) -> FloatArray:
    return np.clip(np.exp(y), 0.0, 1.0)


def _inv_logit(y: FloatArray, n: FloatArray | None) -> FloatArray:
    return np.asarray(expit(y), dtype=float)


def _inv_arcsine(y: FloatArray, n: FloatArray | None) -> FloatArray:
    return np.asarray(np.sin(np.clip(y, 0.0, np.pi / 2)) ** 2, dtype=float)


def ft_forward(p: npt.ArrayLike, n: npt.ArrayLike) -> FloatArray:
    """Freeman–Tukey value (metafor's ``transf.pft``) of proportion ``p`` at sample size ``n``."""
    pp = np.asarray(p, dtype=float)
    nn = np.asarray(n, dtype=float)
    return _ft(pp * nn, nn)[0]


def ft_inverse(y: npt.ArrayLike, n: npt.ArrayLike) -> FloatArray:
    """Miller's (1978) inverse of the Freeman–Tukey double arcsine transformation.

    ``y`` is on metafor's scale (half the Freeman–Tukey sum), so Miller's t is ``2y``:
    p = ½ [1 − sgn(cos t) √(1 − (sin t + (sin t − 1/sin t)/n)²)].
    Values below the transform of p = 0 (at this n) map to 0 and values above the
    transform of p = 1 map to 1, as metafor's ``transf.ipft``. Between those bounds
    the square root can become negative for very small n and values very near the
    bounds; there the nearer bound (0 or 1) is returned rather than a missing value.
    NaN stays NaN.

    Examples
    --------
    >>> p = 7 / 20
    >>> float(np.round(ft_inverse(ft_forward(p, 20), 20), 12))
    0.35
    """
    yy = np.asarray(y, dtype=float)
    nn = np.broadcast_to(np.asarray(n, dtype=float), yy.shape)
    t = 2 * yy
    s = np.sin(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = 1 - (s + (s - 1 / s) / nn) ** 2
        p = 0.5 * (1 - np.sign(np.cos(t)) * np.sqrt(inner))
    lo = ft_forward(0.0, nn)
    hi = ft_forward(1.0, nn)
    # Where Miller's formula has no real solution, the value lies within rounding of a
    # bound: the nearer bound is the honest answer (metafor returns NA there).
    nearer = np.where(np.abs(yy - lo) <= np.abs(yy - hi), 0.0, 1.0)
    p = np.where(np.isfinite(p), p, nearer)
    p = np.where(yy < lo, 0.0, p)
    p = np.where(yy > hi, 1.0, p)
    # An undefined value (e.g. a t interval with k = 1) stays undefined, not a bound.
    p = np.where(np.isnan(yy), np.nan, p)
    return np.asarray(np.clip(p, 0.0, 1.0), dtype=float)


def _inv_ft(y: FloatArray, n: FloatArray | None) -> FloatArray:
    if n is None:
        raise ValueError("the Freeman–Tukey inverse needs a sample size n")
    return ft_inverse(y, n)


@dataclass(frozen=True)
class Transform:
    """A transformation of single proportions (see the module table).

    Attributes
    ----------
    name
        inometa's name: ``raw``, ``log``, ``logit``, ``arcsine`` or ``ft``.
    metafor
        metafor's ``measure`` (``PR``, ``PLN``, ``PLO``, ``PAS``, ``PFT``).
    meta
        R meta's ``sm`` (``PRAW``, ``PLN``, ``PLOGIT``, ``PAS``, ``PFT``).
    label
        A description for tables and methods text.
    default_correction
        ``"only0"`` where the transform is undefined at 0 or n events, else ``"none"``.
    needs_n
        Whether the inverse needs a sample size (Freeman–Tukey).
    """

    name: str
    metafor: str
    meta: str
    label: str
    default_correction: str
    needs_n: bool
    _forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]
    _inverse: Callable[[FloatArray, FloatArray | None], FloatArray]

    def yi_vi(self, events: npt.ArrayLike, n: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Model-scale values and sampling variances (counts already corrected).

        Examples
        --------
        >>> yi, vi = get_transform("logit").yi_vi([5.0], [20.0])
        >>> round(float(yi[0]), 6), round(float(vi[0]), 6)
        (-1.098612, 0.266667)
        """
        x = np.asarray(events, dtype=float)
        m = np.asarray(n, dtype=float)
        return self._forward(x, m)

    def inverse(self, y: npt.ArrayLike, n: npt.ArrayLike | None = None) -> FloatArray:
        """Back-transform model-scale values to proportions in [0, 1].

        ``n`` is required for ``ft`` (each study's own n, or the harmonic mean of the
        n for a pooled value) and ignored otherwise. ``raw`` and ``log`` values outside
        [0, 1] are clipped to the nearest bound.

        Examples
        --------
        >>> float(get_transform("logit").inverse(0.0))
        0.5
        """
        yy = np.asarray(y, dtype=float)
        nn = None if n is None else np.asarray(n, dtype=float)
        return self._inverse(yy, nn)


TRANSFORMS: dict[str, Transform] = {
    t.name: t
    for t in (
        Transform("raw", "PR", "PRAW", "untransformed proportion", "only0", False, _raw, _inv_raw),
        Transform("log", "PLN", "PLN", "log proportion", "only0", False, _log, _inv_log),
        Transform("logit", "PLO", "PLOGIT", "logit proportion", "only0", False, _logit, _inv_logit),
        Transform(
            "arcsine",
            "PAS",
            "PAS",
            "arcsine square-root proportion",
            "none",
            False,
            _arcsine,
            _inv_arcsine,
        ),
        Transform(
            "ft",
            "PFT",
            "PFT",
            "Freeman–Tukey double arcsine proportion",
            "none",
            True,
            _ft,
            _inv_ft,
        ),
    )
}

_ALIASES: dict[str, str] = {
    **{name: name for name in TRANSFORMS},
    "pr": "raw",
    "praw": "raw",
    "pln": "log",
    "plo": "logit",
    "plogit": "logit",
    "pas": "arcsine",
    "asin": "arcsine",
    "pft": "ft",
    "freeman-tukey": "ft",
}


def get_transform(name: str) -> Transform:
    """Look up a transform by inometa, metafor or R meta name (case-insensitive).

    Examples
    --------
    >>> get_transform("PLO").name
    'logit'
    """
    return TRANSFORMS[check_choice(name, "transform", _ALIASES)]
