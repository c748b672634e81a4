"""Moderators → design matrix, as R's ``model.matrix`` for metafor's ``mods``.

Categorical moderators get treatment (dummy) coding with the first level as reference:
the order of a pandas ``Categorical``, else sorted order (R's ``factor`` default).
Numeric moderators enter as they are. A missing value, a moderator without variance or a
design without full column rank is an error that names the moderator (and the studies).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._validation import data_column

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["design_matrix"]

FloatArray = npt.NDArray[np.float64]


def _moderator_frame(moderators: Any, data: Any, k: int) -> pd.DataFrame:
    import pandas as pd

    if isinstance(moderators, str):
        names = [t.strip() for t in moderators.replace("~", " ").split("+") if t.strip()]
        moderators = names
    if isinstance(moderators, (list, tuple)) and all(isinstance(c, str) for c in moderators):
        if data is None:
            raise ValueError("moderators given as column names need data=")
        frame = pd.DataFrame({c: data_column(data, c, "moderators") for c in moderators})
    elif isinstance(moderators, pd.DataFrame):
        frame = moderators
    elif isinstance(moderators, pd.Series):
        frame = moderators.to_frame(name=moderators.name or "moderator")
    elif isinstance(moderators, dict):
        frame = pd.DataFrame(moderators)
    else:
        arr = np.asarray(moderators)
        if arr.ndim == 1:
            frame = pd.DataFrame({"moderator": arr})
        elif arr.ndim == 2:
            frame = pd.DataFrame(arr, columns=[f"x{j + 1}" for j in range(arr.shape[1])])
        else:
            raise ValueError(f"moderators must be 1- or 2-dimensional, got shape {arr.shape}")
    if frame.shape[1] == 0:
        raise ValueError("no moderators given")
    if len(frame) != k:
        raise ValueError(f"moderators have {len(frame)} rows but there are {k} studies")
    out: pd.DataFrame = frame.reset_index(drop=True)
    return out


def design_matrix(
    moderators: Any, labels: tuple[str, ...], data: Any = None
) -> tuple[FloatArray, tuple[str, ...], tuple[str, ...]]:
    """Build the design matrix: an intercept, numeric moderators as they are, categorical
    moderators dummy-coded against their first level.

    Parameters
    ----------
    moderators
        A DataFrame, dict, Series, array, a list of column names of ``data``, or a
        formula-like string of column names (``"year + setting"``).
    labels
        Study labels (for error messages).
    data
        DataFrame holding named columns.

    Returns
    -------
    X : numpy.ndarray
    terms : tuple of str
        Column names of X (``"intercept"``, ``"year"``, ``"setting: relapsed/refractory"``…).
    moderators : tuple of str
        The moderator names.

    Examples
    --------
    >>> X, terms, _ = design_matrix({"dose": [1.0, 2.0, 4.0, 3.0], "arm": ["a", "b", "a", "b"]},
    ...                             ("s1", "s2", "s3", "s4"))
    >>> terms
    ('intercept', 'dose', 'arm: b')
    """
    import pandas as pd

    k = len(labels)
    frame = _moderator_frame(moderators, data, k)
    columns: list[FloatArray] = [np.ones(k)]
    terms: list[str] = ["intercept"]
    for name in frame.columns:
        col = frame[name]
        missing = np.flatnonzero(pd.isna(col).to_numpy())
        if missing.size:
            where = "; ".join(f"study '{labels[i]}' (row {i + 1})" for i in missing[:5])
            raise ValueError(f"moderator '{name}' is missing for {where}")
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if numeric:
            values = col.to_numpy(dtype=float)
            if np.ptp(values) == 0:
                raise ValueError(
                    f"moderator '{name}' has no variance (every study has {values[0]:g})"
                )
            columns.append(values)
            terms.append(str(name))
            continue
        if isinstance(col.dtype, pd.CategoricalDtype):
            levels = [lev for lev in col.cat.categories if (col == lev).any()]
        else:
            levels = sorted(col.astype(str).unique())
            col = col.astype(str)
        if len(levels) < 2:
            raise ValueError(f"moderator '{name}' has no variance (every study is '{levels[0]}')")
        for level in levels[1:]:
            columns.append((col == level).to_numpy(dtype=float))
            terms.append(f"{name}: {level}")
    X = np.column_stack(columns)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError(
            "the moderators are collinear (the design matrix is not of full rank): "
            + ", ".join(terms[1:])
        )
    if X.shape[1] >= k:
        raise ValueError(
            f"{X.shape[1]} coefficients cannot be estimated from {k} studies "
            "(k must exceed the number of coefficients)"
        )
    return X, tuple(terms), tuple(str(c) for c in frame.columns)
