"""Input of :func:`inometa.metaprop_batch`: (R, K) count matrices, their checks, and the options.

Counts are checked as :func:`inometa._validation.check_counts` checks one analysis, with
messages that name the analysis (row) and study (column), both from 1:
``analysis 12, study 3: events 7 > total 5``. Options are resolved and checked exactly as
:func:`inometa.metaprop` does (the tests compare every message).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from .._validation import MAX_COUNT
from ..core.results import MetaPropOptions
from ..core.transforms import Transform, get_transform

__all__ = ["Names", "check_counts", "check_finite", "with_batch_backtransform"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# How many offending entries an error message lists before summarising the rest.
_MAX_LISTED = 5


def _matrix(values: Any, field: str) -> FloatArray:
    """Counts as an (R, K) float array, NaN for missing; ragged rows padded with NaN."""
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{field} must be an array of counts, not the string {values!r}")
    import pandas as pd

    if isinstance(values, (pd.DataFrame, pd.Series)):
        values = values.to_numpy(dtype=float, na_value=np.nan)
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        rows = [
            np.atleast_1d(np.asarray(_row(r, i, field), dtype=float)) for i, r in enumerate(values)
        ]
        width = max((r.size for r in rows), default=0)
        arr = np.full((len(rows), width), np.nan)
        for i, r in enumerate(rows):
            arr[i, : r.size] = r
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{field} must be a 2-D array (analyses × studies), got shape {arr.shape}")
    return arr


def _row(values: Any, i: int, field: str) -> list[float]:
    import pandas as pd

    items: list[Any] = [values] if np.isscalar(values) else list(values)
    out = []
    for j, v in enumerate(items):
        if v is None or v is pd.NA:
            out.append(math.nan)
            continue
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            raise ValueError(
                f"analysis {i + 1}, study {j + 1}: {field} {v!r} is not a number"
            ) from None
    return out


@dataclass(frozen=True)
class Names:
    """Optional labels of the analyses (rows) and studies (columns), for messages and notes."""

    analyses: tuple[str, ...] | None = None
    studies: tuple[str, ...] | None = None

    def analysis(self, r: int) -> str:
        if self.analyses is None:
            return f"analysis {r + 1}"
        return f"analysis '{self.analyses[r]}' (row {r + 1})"

    def study(self, j: int) -> str:
        """The study's label as metaprop would show it (default ``Study j``)."""
        return f"Study {j + 1}" if self.studies is None else self.studies[j]

    def locate(self, r: int, j: int | None = None) -> str:
        if j is None:
            return self.analysis(r)
        where = (
            f"study {j + 1}"
            if self.studies is None
            else f"study '{self.studies[j]}' (column {j + 1})"
        )
        return f"{self.analysis(r)}, {where}"


def _describe(names: Names, cells: npt.NDArray[np.intp], what: Sequence[str]) -> str:
    parts = [f"{names.locate(int(r), int(j))}: {w}" for (r, j), w in zip(cells, what, strict=True)]
    shown = parts[:_MAX_LISTED]
    if len(parts) > _MAX_LISTED:
        shown.append(f"... and {len(parts) - _MAX_LISTED} more")
    return "; ".join(shown)


def check_counts(
    events: Any, n: Any, mask: Any, names: Names
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Validate (R, K) counts; return events, totals (absent entries 0) and presence."""
    x = _matrix(events, "events")
    m = _matrix(n, "total")
    if x.shape != m.shape:
        raise ValueError(
            f"events and total have different shapes ({x.shape} and {m.shape}); each "
            "analysis needs one event count and one total per study"
        )
    if x.size == 0:
        raise ValueError("no analyses: events and total are empty")
    if names.analyses is not None and len(names.analyses) != x.shape[0]:
        raise ValueError(
            f"analyses has {len(names.analyses)} entries but there are {x.shape[0]} analyses"
        )
    if names.studies is not None and len(names.studies) != x.shape[1]:
        raise ValueError(
            f"labels has {len(names.studies)} entries but there are {x.shape[1]} study columns"
        )
    if mask is None:
        fx, fm = np.isfinite(x), np.isfinite(m)
        half = np.argwhere(fx != fm)
        if half.size:
            what = [
                f"{'events' if not fx[r, j] else 'total'} is missing (NaN) but "
                f"{'total' if not fx[r, j] else 'events'} is given"
                for r, j in half
            ]
            raise ValueError(
                _describe(names, half, what)
                + ". Mark a study absent with NaN in both, or pass mask="
            )
        present = fx & fm
    else:
        present = np.asarray(mask)
        if present.shape != x.shape:
            raise ValueError(f"mask has shape {present.shape} but the counts have {x.shape}")
        if present.dtype != bool:
            if not np.isin(present, (0, 1)).all():
                raise ValueError("mask must hold booleans (True where a study is present)")
            present = present.astype(bool)
    empty = np.flatnonzero(~present.any(axis=1))
    if empty.size:
        raise ValueError(
            "; ".join(f"{names.locate(int(r))}: no studies" for r in empty[:_MAX_LISTED])
            + (f"; ... and {empty.size - _MAX_LISTED} more" if empty.size > _MAX_LISTED else "")
            + " (every entry is missing or masked out)"
        )
    for field, arr in (("events", x), ("total", m)):
        with np.errstate(invalid="ignore"):
            checks = (
                (~np.isfinite(arr), "{field} is missing (NaN) but the study is present"),
                (arr != np.round(arr), "{field} {value:g} is not a whole number"),
                (arr < 0, "{field} {value:g} is negative"),
            )
        for bad, template in checks:
            if not (present & bad).any():
                continue
            cells = np.argwhere(present & bad)
            if cells.size:
                what = [template.format(field=field, value=arr[r, j]) for r, j in cells]
                raise ValueError(_describe(names, cells, what))
    if (present & (m > MAX_COUNT)).any():
        cells = np.argwhere(present & (m > MAX_COUNT))
        what = [f"total {m[r, j]:g} is beyond 2⁵³, not a count" for r, j in cells]
        raise ValueError(_describe(names, cells, what))
    if (present & (m == 0)).any():
        cells = np.argwhere(present & (m == 0))
        raise ValueError(_describe(names, cells, ["total is 0 (no patients)" for _ in cells]))
    if (present & (x > m)).any():
        cells = np.argwhere(present & (x > m))
        raise ValueError(
            _describe(names, cells, [f"events {x[r, j]:g} > total {m[r, j]:g}" for r, j in cells])
        )
    return np.where(present, x, 0.0), np.where(present, m, 0.0), present


def with_batch_backtransform(options: MetaPropOptions) -> MetaPropOptions:
    """The options from :func:`~inometa.analysis.escalc.resolve_options` (which
    :func:`inometa.metaprop_batch` shares with :func:`inometa.metaprop`, so both accept and
    refuse the same options with the same messages), with the batch's back-transform."""
    backtransform = (
        "Miller (1978) inverse with the harmonic mean of each analysis's n (column backtransform_n)"
        if get_transform(options.transform).needs_n
        else f"inverse of the {options.transform} transform"
    )
    return replace(options, backtransform=backtransform)


def check_finite(
    Y: FloatArray,
    V: FloatArray,
    x: FloatArray,
    m: FloatArray,
    present: BoolArray,
    tr: Transform,
    corr: str,
    names: Names,
) -> None:
    with np.errstate(invalid="ignore"):
        bad = np.argwhere(present & (~np.isfinite(Y) | ~np.isfinite(V) | (V <= 0)))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        problem = "is infinite" if not np.isfinite(Y[i, j]) else "has zero sampling variance"
        raise ValueError(
            f"{names.locate(i, j)}: {x[i, j]:g} events of {m[i, j]:g} {problem} on the "
            f"{tr.name} scale with correction '{corr}'; use correction='only0' (metafor's "
            "default) or the 'arcsine' or 'ft' transform"
        )
