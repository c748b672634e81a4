"""Reading and checking ``studies.csv`` and ``outcomes.csv`` (one file, then both together)."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._csv import LINE, Findings, Table, check_columns, check_header, issues_where, read_table
from ._issues import Issue
from ._memo import fingerprint, memoised
from .rounding import check_derivation
from .vocabulary import FULL_POPULATION_DENOMINATORS, OUTCOMES_COLUMNS, STUDIES_COLUMNS

__all__ = ["OUTCOMES_FILE", "STUDIES_FILE", "Tables", "copy_tables", "read_tables"]

STUDIES_FILE = "studies.csv"
OUTCOMES_FILE = "outcomes.csv"

# A source must be something a reader can follow: a web address, a DOI, or one of the
# project's seed documents (../shared/seeds/<id>.txt, cited as seed:<id>).
_TRACEABLE_SOURCE = re.compile(r"(https?://|doi:|10\.\d{4,}/|seed:)\S+")


@dataclass(frozen=True)
class Tables:
    """Both CSV files, read and checked (values still strings)."""

    studies: Table
    outcomes: Table


_READ: OrderedDict[bytes, tuple[Tables | None, tuple[Issue, ...], tuple[Issue, ...]]] = (
    OrderedDict()
)


def copy_tables(tables: Tables) -> Tables:
    """Both tables with copies of their frames (the memo's own are never handed out)."""
    return Tables(
        Table(tables.studies.file, tables.studies.header, tables.studies.frame.copy()),
        Table(tables.outcomes.file, tables.outcomes.header, tables.outcomes.frame.copy()),
    )


def read_tables(directory: Path, findings: Findings) -> Tables | None:
    """Read and check both files; None when a file or its header is unusable.

    Read once per content of the two files (:mod:`inometa.data._memo`): the findings are
    added to ``findings`` on every call, the frames are fresh copies.
    """

    def compute() -> tuple[Tables | None, tuple[Issue, ...], tuple[Issue, ...]]:
        own = Findings()
        tables = _read_tables(directory, own)
        return tables, tuple(own.errors), tuple(own.warnings)

    files = (STUDIES_FILE, OUTCOMES_FILE)
    tables, errors, warnings = memoised(_READ, lambda: fingerprint(directory, files), compute)
    findings.errors.extend(errors)
    findings.warnings.extend(warnings)
    return None if tables is None else copy_tables(tables)


def _read_tables(directory: Path, findings: Findings) -> Tables | None:
    studies = read_table(directory / STUDIES_FILE, findings)
    outcomes = read_table(directory / OUTCOMES_FILE, findings)
    if studies is None or outcomes is None:
        return None
    headers_ok = check_header(studies, STUDIES_COLUMNS, findings)
    headers_ok &= check_header(outcomes, OUTCOMES_COLUMNS, findings)
    if not headers_ok:
        return None
    check_columns(studies, STUDIES_COLUMNS, findings)
    check_columns(outcomes, OUTCOMES_COLUMNS, findings)
    _check_studies(studies, findings)
    _check_outcomes(outcomes, studies, findings)
    return Tables(studies, outcomes)


def _first_line_note(frame: pd.DataFrame, keys: list[str], what: str) -> pd.Series:
    first = frame.groupby(keys)[LINE].transform("min")
    return "duplicate " + what + " (first on line " + first.astype(str) + ")"


def _number(values: pd.Series) -> pd.Series:
    numbers: pd.Series = pd.to_numeric(values.where(values != ""), errors="coerce")
    return numbers


def _check_studies(studies: Table, findings: Findings) -> None:
    f = studies.frame
    for column in ("study_id", "label"):
        dup = f.duplicated(column, keep="first") & (f[column] != "")
        findings.errors += issues_where(studies, dup, column, _first_line_note(f, [column], column))
    year = _number(f["year"])
    pub_year = _number(f["publication_date"].str.slice(0, 4))
    far = (year - pub_year).abs() > 1
    findings.warnings += issues_where(
        studies, far, "year", "year differs by more than one from publication_date"
    )


def _check_rounding(
    outcomes: Table, derived: pd.Series, events: pd.Series, total: pd.Series, findings: Findings
) -> None:
    """Rule 8: a derived count reproduces every percentage its derivation cites."""
    usable = derived & events.notna() & total.notna() & (total > 0) & (events <= total)
    f = outcomes.frame
    messages = pd.Series("", index=f.index)
    for i in f.index[usable]:
        problems = check_derivation(str(f.at[i, "derivation"]), int(events[i]), int(total[i]))
        messages[i] = "; ".join(problems)
    findings.errors += issues_where(
        outcomes,
        messages != "",
        "derivation",
        "derivation check (README rule 8): " + messages,
    )


def _check_verification(outcomes: Table, findings: Findings) -> None:
    """``verification`` agrees with ``derived`` and with the kind of source."""
    f = outcomes.frame
    derived, how = f["derived"], f["verification"]
    findings.errors += issues_where(
        outcomes,
        (derived == "yes") & (how == "verbatim"),
        "verification",
        "a derived count is not printed verbatim: write 'derived' (or 'secondary', 'unverified')",
    )
    findings.errors += issues_where(
        outcomes,
        (derived == "no") & (how == "derived"),
        "verification",
        "'derived' needs derived = yes and the arithmetic in derivation",
    )
    findings.errors += issues_where(
        outcomes,
        f["source"].str.startswith("seed:") & how.isin(["verbatim", "derived"]),
        "verification",
        "a seed document is a secondary source: write 'secondary'",
    )


def _check_outcomes(outcomes: Table, studies: Table, findings: Findings) -> None:
    f = outcomes.frame
    known = f["study_id"].isin(studies.frame["study_id"])
    findings.errors += issues_where(
        outcomes, ~known & (f["study_id"] != ""), "study_id", "no such study_id in studies.csv"
    )
    keys = ["study_id", "outcome"]
    dup = f.duplicated(keys, keep="first")
    findings.errors += issues_where(
        outcomes, dup, "outcome", _first_line_note(f, keys, "(study_id, outcome) row")
    )

    events, total = _number(f["events"]), _number(f["total"])
    findings.errors += issues_where(outcomes, total == 0, "total", "total must be at least 1")
    over = events > total
    findings.errors += issues_where(
        outcomes,
        over,
        "events",
        "events " + f["events"] + " > total " + f["total"] + " (events cannot exceed total)",
    )

    derived = f["derived"] == "yes"
    how = f["derivation"]
    findings.errors += issues_where(
        outcomes,
        derived & (how == ""),
        "derivation",
        "a derived count must say how it was derived (derivation is empty)",
    )
    findings.warnings += issues_where(
        outcomes, ~derived & (how != ""), "derivation", "derivation given but derived is 'no'"
    )
    findings.warnings += issues_where(
        outcomes, derived & (how != ""), "events", "count derived: " + how
    )
    _check_rounding(outcomes, derived & (how != ""), events, total, findings)
    _check_verification(outcomes, findings)

    partial = ~f["denominator"].isin(FULL_POPULATION_DENOMINATORS) & (f["denominator"] != "")
    findings.warnings += issues_where(
        outcomes,
        partial,
        "denominator",
        "denominator is not the full study population: " + f["denominator_definition"],
    )

    untraceable = ~f["source"].str.fullmatch(_TRACEABLE_SOURCE.pattern) & (f["source"] != "")
    findings.warnings += issues_where(
        outcomes, untraceable, "source", "source is not a URL, DOI or seed: reference"
    )

    n = studies.frame.assign(
        n=pd.concat(
            [_number(studies.frame["n_enrolled"]), _number(studies.frame["n_treated"])], axis=1
        ).max(axis=1)
    ).drop_duplicates("study_id")
    study_n = f["study_id"].map(n.set_index("study_id")["n"])
    findings.warnings += issues_where(
        outcomes,
        total > study_n,
        "total",
        "total exceeds the study's n_enrolled/n_treated (" + study_n.astype(str) + ")",
    )

    unused = ~studies.frame["study_id"].isin(f["study_id"])
    findings.warnings += issues_where(
        studies, unused, "study_id", "study has no rows in outcomes.csv"
    )
