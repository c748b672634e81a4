"""``validate()``: every check of ``data/extracted`` in one report."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from ._atomic import leftovers
from ._csv import Findings
from ._issues import Issue, ValidationReport
from ._memo import fingerprint, memoised
from ._paths import PathLike, data_dir
from ._set_checks import check_sets
from ._sets import SETS_FILE, SetSpec, read_sets
from ._tables import Tables, copy_tables, read_tables
from .survival import check_survival

__all__ = ["collect", "validate"]


def validate(path: PathLike | None = None) -> ValidationReport:
    """Check the extracted dataset and return errors and warnings separately.

    Parameters
    ----------
    path
        A ``data/extracted`` directory holding ``studies.csv``, ``outcomes.csv`` and
        ``analysis_sets.toml``. When None: ``$INOMETA_DATA``, else ``./data/extracted``,
        else the repository's ``data/extracted`` (see :mod:`inometa.data`).

    Returns
    -------
    ValidationReport
        ``.errors`` and ``.warnings`` (each an :class:`~inometa.data.Issue` with file, line,
        column, value and message; lines count the header as line 1) and ``.ok``.

    Notes
    -----
    Errors: missing files or columns; empty required values; wrong types (whole numbers,
    years, ISO dates) or values outside the vocabularies; duplicate ``study_id``, labels or
    (study, outcome) rows; outcome rows naming unknown studies; events > total or total 0;
    derived counts that do not say how, or whose derivation does not reproduce every
    percentage it cites at the printed precision (rule 8 of ``data/extracted/README.md``;
    see :mod:`inometa.data.rounding`), does not arrive at the row's count or does not show
    its denominator; a ``verification`` that contradicts ``derived`` or a seed source;
    analysis-set members or exclusions that do not
    exist, lack a reason or an outcome row; a cohort counted twice within one set and
    outcome; members published after their set's ``published_on_or_before`` date.

    Warnings: derived counts; denominators that are not the full study population;
    sources that are not a URL, DOI or ``seed:`` reference; totals above the study's N;
    studies without outcome rows; a set using several reports of one cohort (for different
    outcomes); studies a set neither includes nor excludes with a reason.

    Examples
    --------
    >>> from inometa.data import validate
    >>> report = validate()
    >>> report.ok
    True
    >>> report.warnings[0].file in {"studies.csv", "outcomes.csv", "analysis_sets.toml"}
    True
    """
    return collect(data_dir(path))[2]


_COLLECTED: OrderedDict[bytes, tuple[Tables | None, dict[str, SetSpec], ValidationReport]] = (
    OrderedDict()
)


def collect(directory: Path) -> tuple[Tables | None, dict[str, SetSpec], ValidationReport]:
    """Read and check everything once: the tables, the set specifications and the report.

    Once per content of the folder (every file in it, leftovers of an interrupted update
    included: :mod:`inometa.data._memo`); the tables' frames and the dict are fresh copies.
    """
    tables, specs, report = memoised(
        _COLLECTED, lambda: fingerprint(directory), lambda: _collect(directory)
    )
    return (None if tables is None else copy_tables(tables)), dict(specs), report


def _collect(directory: Path) -> tuple[Tables | None, dict[str, SetSpec], ValidationReport]:
    findings = Findings()
    for name in leftovers(directory):
        findings.errors.append(
            Issue(
                name,
                None,
                "",
                "",
                "left by an interrupted update: run `inometa validate --recover` to complete "
                "or undo it",
            )
        )
    tables = read_tables(directory, findings)
    specs = read_sets(directory / SETS_FILE, findings)
    if tables is not None:
        check_sets(specs, tables.studies.frame, tables.outcomes.frame, findings)
        check_survival(directory, set(tables.studies.frame["study_id"]), findings)
    report = ValidationReport(
        str(directory), _in_file_order(findings.errors), _in_file_order(findings.warnings)
    )
    return tables, specs, report


def _in_file_order(issues: list[Issue]) -> tuple[Issue, ...]:
    """Sort by file, then line (unlocated issues first), keeping the order of ties."""
    return tuple(sorted(issues, key=lambda i: (i.file, i.line or 0)))
