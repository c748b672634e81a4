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

import pandas as pd

from ._csv import Findings
from ._issues import Issue, ValidationReport
from ._paths import PathLike, data_dir
from .vocabulary import DENOMINATORS

__all__ = [
    "SURVIVAL_COLUMNS",
    "SURVIVAL_FILE",
    "SURVIVAL_OUTCOMES",
    "check_survival",
    "load_survival",
]

SURVIVAL_FILE = "survival.csv"
SURVIVAL_OUTCOMES = ("os_1y", "os_2y", "os_3y", "os_5y")
SURVIVAL_COLUMNS = (
    "study_id",
    "outcome",
    "rate",
    "n",
    "ci_low",
    "ci_high",
    "denominator",
    "n_definition",
    "verification",
    "source",
    "quote",
    "location",
    "notes",
)
_REQUIRED = (
    "study_id",
    "outcome",
    "rate",
    "n",
    "denominator",
    "n_definition",
    "verification",
    "source",
    "quote",
    "location",
)
_VERIFICATION = ("verbatim", "secondary", "unverified")


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value else None


def _check_row(row: dict[str, str], line: int, studies: set[str], findings: Findings) -> None:
    def error(column: str, message: str) -> None:
        findings.errors.append(Issue(SURVIVAL_FILE, line, column, row.get(column, ""), message))

    for column in _REQUIRED:
        if not row.get(column, "").strip():
            error(column, "required value is empty")
    if row["study_id"] and studies and row["study_id"] not in studies:
        error("study_id", "no such study in studies.csv")
    if row["outcome"] and row["outcome"] not in SURVIVAL_OUTCOMES:
        error("outcome", f"not a survival outcome; valid: {', '.join(SURVIVAL_OUTCOMES)}")
    if row["denominator"] and row["denominator"] not in DENOMINATORS:
        error("denominator", f"valid values: {', '.join(DENOMINATORS)}")
    if row["verification"] and row["verification"] not in _VERIFICATION:
        error("verification", f"valid values: {', '.join(_VERIFICATION)}")
    rate = _number(row["rate"]) if row["rate"] else None
    if row["rate"] and (rate is None or not 0 <= rate <= 100):
        error("rate", "must be a percentage between 0 and 100")
    if row["n"] and (not row["n"].isdigit() or int(row["n"]) < 1):
        error("n", "must be a whole number ≥ 1")
    bounds = []
    for column in ("ci_low", "ci_high"):
        value = _number(row[column]) if row[column] else None
        if row[column] and (value is None or not 0 <= value <= 100):
            error(column, "must be empty or a percentage between 0 and 100")
        bounds.append(value)
    if (bounds[0] is None) != (bounds[1] is None):
        error("ci_low", "give both CI bounds or neither")
    elif (
        rate is not None
        and bounds[0] is not None
        and bounds[1] is not None
        and not bounds[0] <= rate <= bounds[1]
    ):
        error("rate", f"outside its CI {row['ci_low']}–{row['ci_high']}")
    if row["source"].startswith("seed:") and row["verification"] == "verbatim":
        error("verification", "a seed review is a secondary source: use 'secondary'")


def check_survival(directory: Path, studies: set[str], findings: Findings) -> None:
    """Check ``survival.csv`` (if present) into ``findings``: columns, vocabulary, numbers,
    known studies, one row per (study, outcome)."""
    path = directory / SURVIVAL_FILE
    if not path.exists():
        return
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in SURVIVAL_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            findings.errors.append(
                Issue(SURVIVAL_FILE, 1, ", ".join(missing), "", "missing columns")
            )
            return
        seen: dict[tuple[str, str], int] = {}
        for line, row in enumerate(reader, start=2):
            row = {k: (v or "").strip() for k, v in row.items() if k is not None}
            _check_row(row, line, studies, findings)
            key = (row["study_id"], row["outcome"])
            if key in seen:
                findings.errors.append(
                    Issue(
                        SURVIVAL_FILE,
                        line,
                        "outcome",
                        row["outcome"],
                        f"duplicate of line {seen[key]} (one row per study and time point)",
                    )
                )
            seen.setdefault(key, line)


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
