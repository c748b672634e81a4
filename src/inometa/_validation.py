"""Input checks for study counts and option names.

Every error names the study (its label), its row (counted from 1 in input order,
as in a spreadsheet or R) and the field, so that a user can find the bad value:
``study 'Jabbour 2023' (row 9): events 112 > total 110``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_COUNT",
    "check_choice",
    "check_counts",
    "check_labels",
    "check_level",
    "data_column",
    "study_label",
]

T = TypeVar("T")

# How many offending rows an error message lists before summarising the rest.
_MAX_LISTED = 5
# Counts are checked as floats, which hold whole numbers exactly only up to 2⁵³ (and int64
# ends at 2⁶³): beyond that a "count" would be silently changed.
MAX_COUNT = 2.0**53


def _as_float_array(values: Any, field: str) -> npt.NDArray[np.float64]:
    """Convert array-likes (lists, numpy, pandas, nullable pandas) to float, NaN for missing."""
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "iuf":
        return np.asarray(values, dtype=float)  # the common case, without pandas
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{field} must be an array of counts, not the string {values!r}")
    import pandas as pd

    if isinstance(values, (pd.Series, pd.Index)):
        try:
            values = values.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            values = values.tolist()
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        # Mixed types: convert element by element so that the bad element can be named.
        items = list(values) if isinstance(values, Iterable) else [values]
        out = np.empty(len(items), dtype=float)
        for i, v in enumerate(items):
            if v is None or v is pd.NA:
                out[i] = np.nan
                continue
            try:
                out[i] = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"row {i + 1}: {field} {v!r} is not a number") from None
        arr = out
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{field} must be one-dimensional, got shape {arr.shape}")
    return arr


def _is_integer_array(values: Any) -> bool:
    """Whether ``values`` is a numpy array of (signed or unsigned) integers."""
    return isinstance(values, np.ndarray) and values.dtype.kind in "iu"


def data_column(data: Any, value: Any, field: str) -> Any:
    """``data[value]`` when ``value`` names a column of the data frame ``data``, else ``value``.

    Lets ``metaprop("events", "total", data=df)`` and ``metaprop(df.events, df.total)`` mean
    the same; an unknown name is an error that lists the columns.

    Examples
    --------
    >>> import pandas as pd
    >>> data_column(pd.DataFrame({"x": [1, 2]}), "x", "events").tolist()
    [1, 2]
    >>> data_column(None, [1, 2], "events")
    [1, 2]
    >>> data_column(pd.DataFrame({"x": [1]}), "y", "events")
    Traceback (most recent call last):
    ...
    ValueError: events: no column 'y' in data; columns are: x
    """
    if data is None or value is None or not isinstance(value, str):
        return value
    if isinstance(data, Mapping):
        if value not in data:
            keys = ", ".join(map(str, data))
            raise ValueError(f"{field}: no key {value!r} in data; keys are: {keys}")
        return list(data[value])
    if not hasattr(data, "columns"):
        raise ValueError(
            f"data must be a pandas DataFrame or a mapping of columns, not {type(data).__name__}"
        )
    if value not in data.columns:
        cols = ", ".join(map(str, data.columns))
        raise ValueError(f"{field}: no column {value!r} in data; columns are: {cols}")
    return data[value]


# Control characters other than tab and newline: NUL, ANSI escapes, C1 codes.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def check_labels(labels: Sequence[Any] | None, k: int) -> tuple[str, ...]:
    """Return study labels as strings, defaulting to ``"Study 1"`` … ``"Study k"``."""
    if labels is None:
        return tuple(f"Study {i + 1}" for i in range(k))
    out = tuple("" if lab is None else str(lab) for lab in labels)
    if len(out) != k:
        raise ValueError(f"labels has {len(out)} entries but there are {k} studies")
    for i, label in enumerate(out):
        if _CONTROL.search(label):
            raise ValueError(
                f"study {i + 1}: label {label!r} contains a control character (an escape "
                "sequence would garble a terminal or a report)"
            )
    return out


def study_label(labels: Sequence[str] | None, i: int) -> str:
    """The label of study i (from 0): given, or the default ``"Study i+1"``."""
    return f"Study {i + 1}" if labels is None else labels[i]


def _describe(labels: Sequence[str] | None, rows: npt.NDArray[np.intp], what: Sequence[str]) -> str:
    parts = [
        f"study '{study_label(labels, r)}' (row {r + 1}): {w}"
        for r, w in zip(rows, what, strict=True)
    ]
    shown = parts[:_MAX_LISTED]
    if len(parts) > _MAX_LISTED:
        shown.append(f"... and {len(parts) - _MAX_LISTED} more rows")
    return "; ".join(shown)


def check_counts(
    events: Any, n: Any, labels: Sequence[Any] | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], tuple[str, ...] | None]:
    """Validate event counts and totals.

    Parameters
    ----------
    events, n
        Array-likes of event counts and totals (lists, numpy arrays, pandas Series).
    labels
        Study labels used in error messages; defaults to ``Study 1`` … ``Study k``.

    Returns
    -------
    events, n : numpy.ndarray of int64
    labels : tuple of str, or None
        The labels as strings; None when none were given (the default labels are not
        built here: a million of them take a noticeable time, see :func:`check_labels`).

    Raises
    ------
    ValueError
        On empty input, mismatched lengths, missing (NaN) values, non-integer, negative
        or zero totals, or events larger than totals; the message names each study, its
        row (from 1) and the field.

    Examples
    --------
    >>> check_counts([3, 4], [10, 12], ["A", "B"])[0]
    array([3, 4])
    >>> check_counts([12], [10], ["Jabbour 2023"])
    Traceback (most recent call last):
    ...
    ValueError: study 'Jabbour 2023' (row 1): events 12 > total 10
    """
    if (
        _is_integer_array(events)
        and _is_integer_array(n)
        and events.ndim == 1
        and events.shape == n.shape
        and events.size
    ):
        # Integer arrays (the common case in code): whole and finite by type, so three
        # reductions decide validity (uint64 beyond int64 wraps negative: checked below).
        xi, mi = events.astype(np.int64), n.astype(np.int64)
        if xi.min() >= 0 and mi.min() > 0 and (mi - xi).min() >= 0:
            return xi, mi, None if labels is None else check_labels(labels, xi.size)
    x = _as_float_array(events, "events")
    m = _as_float_array(n, "total")
    if x.size != m.size:
        raise ValueError(
            f"events and total have different lengths ({x.size} and {m.size}); "
            "each study needs one event count and one total"
        )
    if x.size == 0:
        raise ValueError("no studies: events and total are empty")
    labs = None if labels is None else check_labels(labels, x.size)
    # A few passes decide that everything is valid; only invalid input goes through the
    # checks below, which name each problem. Counts given as integer arrays are whole and
    # finite; for others x % 1 == 0 says both (it is NaN for NaN and ±inf).
    valid = (x >= 0) & (x <= m) & (m > 0) & (m <= MAX_COUNT)
    for given, arr in ((events, x), (n, m)):
        if not _is_integer_array(given):
            with np.errstate(invalid="ignore"):
                valid &= arr % 1 == 0
    if valid.all():
        return x.astype(np.int64), m.astype(np.int64), labs

    for field, arr in (("events", x), ("total", m)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ValueError(
                _describe(labs, bad, [f"{field} is missing (NaN)" for _ in bad])
                + ". Drop studies that did not report this outcome; never code them as 0."
            )
        bad = np.flatnonzero(arr != np.round(arr))
        if bad.size:
            raise ValueError(
                _describe(labs, bad, [f"{field} {arr[r]:g} is not a whole number" for r in bad])
            )
        bad = np.flatnonzero(arr < 0)
        if bad.size:
            raise ValueError(_describe(labs, bad, [f"{field} {arr[r]:g} is negative" for r in bad]))
    bad = np.flatnonzero(m > MAX_COUNT)
    if bad.size:
        raise ValueError(
            _describe(labs, bad, [f"total {m[r]:g} is beyond 2⁵³, not a count" for r in bad])
        )
    bad = np.flatnonzero(m == 0)
    if bad.size:
        raise ValueError(_describe(labs, bad, ["total is 0 (no patients)" for _ in bad]))
    bad = np.flatnonzero(x > m)
    if bad.size:
        raise ValueError(_describe(labs, bad, [f"events {x[r]:g} > total {m[r]:g}" for r in bad]))
    return x.astype(np.int64), m.astype(np.int64), labs


def check_choice(value: Any, field: str, choices: Mapping[str, T]) -> T:
    """Look up ``value`` (case-insensitive) in ``choices``; unknown names list the valid ones.

    Examples
    --------
    >>> check_choice("reml", "tau2_method", {"reml": "REML", "dl": "DL"})
    'REML'
    """
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string, got {value!r}")
    key = value.strip().lower()
    if key not in choices:
        valid = ", ".join(sorted(dict.fromkeys(_canonical_names(choices))))
        raise ValueError(f"unknown {field} {value!r}; valid values are: {valid}")
    return choices[key]


def _canonical_names(choices: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    for key, val in choices.items():
        names.append(val if isinstance(val, str) else key)
    return names


def check_level(level: Any) -> float:
    """Confidence level as a fraction in (0, 1); accepts percentages in [50, 100) such as 95.

    Examples
    --------
    >>> check_level(0.9), check_level(95)
    (0.9, 0.95)
    >>> check_level(1.96)
    Traceback (most recent call last):
    ...
    ValueError: level must lie strictly between 0 and 1, or be a percentage in [50, 100), got 1.96
    """
    try:
        lev = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"level must be a number such as 0.95, got {level!r}") from None
    # A percentage below 50 is far more likely a mistake (level=1.96, a quantile) than a
    # wish for a 2% interval; a fraction below 0.5 stays available.
    if 50 <= lev < 100:
        lev /= 100
    if not 0 < lev < 1:
        raise ValueError(
            "level must lie strictly between 0 and 1, or be a percentage in [50, 100), "
            f"got {level!r}"
        )
    return lev
