"""The pooled numbers printed in the abstract of Lao et al. 2025 (``data/published``)."""

from __future__ import annotations

import pandas as pd

from ._csv import LINE, Findings, check_columns, check_header, read_table
from ._issues import ValidationReport
from ._paths import PathLike, published_file
from .vocabulary import OUTCOMES, PUBLISHED_COLUMNS

__all__ = ["load_published"]

_NUMERIC = ["estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2"]


def load_published(path: PathLike | None = None) -> pd.DataFrame:
    """The published pooled estimates, one row per outcome, as printed (percentages).

    Parameters
    ----------
    path
        The CSV file, or a directory holding ``lao2025.csv``. When None:
        ``data/published/lao2025.csv`` beside the ``data/extracted`` directory found as
        described in :mod:`inometa.data`.

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome``, ``outcome_label``, ``outcome_as_published``, ``estimate``,
        ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high``, ``i2`` (float, percent, e.g. 89.0),
        ``heterogeneity_p`` (text as printed, e.g. ``"<0.001"``), ``source``, ``location``,
        ``note``. Values the abstract does not give are NaN, never 0 (e.g. the prediction
        intervals of survival, whose 3- and 5-year values are cut off in the abstract).

    Raises
    ------
    ValueError
        If the file is missing or malformed (naming line, column and value).

    Examples
    --------
    >>> from inometa.data import load_published
    >>> pub = load_published().set_index("outcome")
    >>> pub.loc["orr", ["estimate", "ci_low", "ci_high"]].tolist()
    [89.0, 85.8, 92.2]
    >>> bool(pub.loc["os_3y", "pi_low"] != pub.loc["os_3y", "pi_low"])  # NaN: cut off
    True
    """
    file = published_file(path)
    findings = Findings()
    table = read_table(file, findings)
    if table is not None and check_header(table, PUBLISHED_COLUMNS, findings):
        check_columns(table, PUBLISHED_COLUMNS, findings)
    ValidationReport(str(file), tuple(findings.errors), ()).raise_if_errors()
    assert table is not None  # no errors implies the table was read
    df = table.frame.drop(columns=LINE).replace("", None)
    df[_NUMERIC] = df[_NUMERIC].apply(pd.to_numeric).astype("float64")
    df.insert(1, "outcome_label", df["outcome"].map(OUTCOMES))
    result: pd.DataFrame = df.reset_index(drop=True)
    return result
