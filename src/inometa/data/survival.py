"""Kaplan–Meier overall-survival rates (``data/extracted/survival.csv``).

Survival is not a count: a report prints a Kaplan–Meier percentage at a time point, with the
number of patients the curve starts from and sometimes a CI. These rates live in their own
file, one row per (report, time point), each with its quote, so that ``outcomes.csv`` keeps
only genuine counts. :func:`load_survival` reads and checks the file;
:func:`check_survival` is the part of ``inometa validate`` that checks it.

Columns: ``study_id`` (a report of ``studies.csv``), ``outcome`` (``os_1y``, ``os_2y``,
``os_3y``, ``os_5y``), ``rate`` (the printed percentage, as printed), ``n`` (patients the curve
starts from), ``ci_low`` / ``ci_high`` (the printed 95% CI in percent, or empty),
``denominator`` (as in ``outcomes.csv``), ``n_definition``, ``verification`` (as in
``outcomes.csv``), ``source``, ``quote``, ``location``, ``notes``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from ._csv import LINE, Findings, Table, check_columns, check_header, read_table
from ._issues import Issue, ValidationReport
from ._paths import PathLike, data_dir
from .vocabulary import DENOMINATORS, OUTCOMES, VERIFICATION, Column

__all__ = [
    "SURVIVAL_COLUMNS",
    "SURVIVAL_FILE",
    "SURVIVAL_OUTCOMES",
    "check_survival",
    "load_survival",
]

SURVIVAL_FILE = "survival.csv"
SURVIVAL_OUTCOMES = ("os_1y", "os_2y", "os_3y", "os_5y")

# The file's columns for the checks every data file gets (inometa.data._csv: encoding,
# control characters, formula starts, emptiness, kinds and vocabularies); the checks that
# belong to survival rates alone are in _check_rows. A printed rate is never "derived".
_SCHEMA: tuple[Column, ...] = (
    Column("study_id", "id"),
    Column(
        "outcome",
        "choice",
        choices=MappingProxyType({o: OUTCOMES[o] for o in SURVIVAL_OUTCOMES}),
    ),
    Column("rate", "number"),
    Column("n", "int"),
    Column("ci_low", "number", required=False),
    Column("ci_high", "number", required=False),
    Column("denominator", "choice", choices=DENOMINATORS),
    Column("n_definition"),
    Column(
        "verification",
        "choice",
        choices=MappingProxyType({k: v for k, v in VERIFICATION.items() if k != "derived"}),
    ),
    Column("source"),
    Column("quote"),
    Column("location"),
    Column("notes", required=False),
)
SURVIVAL_COLUMNS = tuple(c.name for c in _SCHEMA)


def _percent(text: str) -> float | None:
    """The cell as a percentage in [0, 100]; None when empty or not one."""
    value = pd.to_numeric(text, errors="coerce") if text else None
    return float(value) if value is not None and 0 <= value <= 100 else None


def _row_problems(row: dict[str, str]) -> list[tuple[str, str]]:
    """(column, message) for what is wrong with one row on its own."""
    problems = []
    rate = _percent(row["rate"])
    if row["rate"] and rate is None:
        problems.append(("rate", "must be a percentage between 0 and 100"))
    if row["n"] and row["n"].isdigit() and int(row["n"]) < 1:
        problems.append(("n", "must be a whole number ≥ 1"))
    low, high = _percent(row["ci_low"]), _percent(row["ci_high"])
    for column, value in (("ci_low", low), ("ci_high", high)):
        if row[column] and value is None:
            problems.append((column, "must be empty or a percentage between 0 and 100"))
    if bool(row["ci_low"]) != bool(row["ci_high"]):
        problems.append(("ci_low", "give both CI bounds or neither"))
    elif rate is not None and low is not None and high is not None and not low <= rate <= high:
        problems.append(("rate", f"outside its CI {row['ci_low']}–{row['ci_high']}"))
    if row["source"].startswith("seed:") and row["verification"] == "verbatim":
        problems.append(("verification", "a seed review is a secondary source: use 'secondary'"))
    return problems


def _check_rows(table: Table, studies: set[str], findings: Findings) -> None:
    seen: dict[tuple[str, str], int] = {}
    for record in table.frame.to_dict("records"):
        row = {str(k): str(v) for k, v in record.items()}
        line = int(row[LINE])
        problems = _row_problems(row)
        if row["study_id"] and studies and row["study_id"] not in studies:
            problems.insert(0, ("study_id", "no such study in studies.csv"))
        key = (row["study_id"], row["outcome"])
        if key in seen:
            problems.append(
                ("outcome", f"duplicate of line {seen[key]} (one row per study and time point)")
            )
        seen.setdefault(key, line)
        findings.errors += [Issue(SURVIVAL_FILE, line, c, row[c], m) for c, m in problems]


def check_survival(directory: Path, studies: set[str], findings: Findings) -> None:
    """Check ``survival.csv`` (if present) into ``findings``: columns, vocabulary, numbers,
    known studies, one row per (study, outcome)."""
    path = directory / SURVIVAL_FILE
    if not path.exists():
        return
    table = read_table(path, findings)
    if table is None or not check_header(table, _SCHEMA, findings):
        return
    check_columns(table, _SCHEMA, findings)
    _check_rows(table, studies, findings)


def load_survival(path: PathLike | None = None) -> pd.DataFrame:
    """The Kaplan–Meier overall-survival rates, one row per (report, time point).

    Parameters
    ----------
    path
        A ``data/extracted`` directory (default: see :mod:`inometa.data`).

    Returns
    -------
    pandas.DataFrame
        The columns of ``survival.csv`` (``rate``, ``ci_low``, ``ci_high`` as floats in
        percent, ``n`` as int) plus ``line`` (the row's line in the file). Empty, with these
        columns, when the file does not exist.

    Raises
    ------
    ValueError
        When the file has errors; the message names the line, column and value.

    Examples
    --------
    >>> from inometa.data import load_survival
    >>> os3 = load_survival().query("outcome == 'os_3y'")
    >>> row = os3.set_index("study_id").loc["kantarjian2023"]
    >>> float(row["rate"]), int(row["n"])
    (40.0, 110)
    """
    directory = data_dir(path)
    file = directory / SURVIVAL_FILE
    if not file.exists():
        empty: pd.DataFrame = pd.DataFrame(columns=[*SURVIVAL_COLUMNS, "line"])
        return empty
    studies_file = directory / "studies.csv"
    studies: set[str] = set()
    if studies_file.exists():
        with studies_file.open(newline="", encoding="utf-8") as handle:
            studies = {r["study_id"] for r in csv.DictReader(handle)}
    findings = Findings()
    check_survival(directory, studies, findings)
    ValidationReport(str(directory), tuple(findings.errors), ()).raise_if_errors()
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    frame["line"] = range(2, len(frame) + 2)
    for column in ("rate", "ci_low", "ci_high"):
        frame[column] = pd.to_numeric(frame[column].replace("", None)).astype(float)
    frame["n"] = frame["n"].astype("int64")
    return frame
