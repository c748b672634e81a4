"""Adding reports and outcome rows to ``data/extracted``: validated first, written all at once.

One input row is one (study, outcome): the columns of ``studies.csv`` and ``outcomes.csv``
side by side (:data:`ROW_FIELDS`), with ``study_notes`` and ``outcome_notes`` for the two
``notes`` columns, plus ``reason`` and ``replaces`` for the analysis-set entry. The study
columns may be left empty when the study is already in ``studies.csv`` (or given in another
row); when given, they must agree.

How a change is made:

1. the candidate files are built as text: new records are appended after the last line, a
   replaced record is rewritten in place, a set entry is inserted after the set's last entry
   (or the study's ``outcomes`` list in that set extended); every other line keeps its bytes;
2. the candidate directory is checked with :func:`inometa.data.validate`, so every rule of
   ``inometa validate`` holds; its problems are reported against the input rows;
3. the files are replaced together (temporary files renamed over the originals, restored if
   a rename fails), or nothing is written.
"""

from __future__ import annotations

import datetime as dt
import difflib
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ._add_plan import DEFAULT_SETS, Plan, SetEntry, plan, text_records
from ._add_report import AddError, AddProblem, AddReport, FileChange, Membership
from ._atomic import locked, recover, replace_files
from ._csv import LINE, Findings, read_table
from ._issues import Issue
from ._paths import PathLike, data_dir, writable_data_dir
from ._rows import (
    OUTCOME_FIELDS,
    ROW_FIELDS,
    SET_FIELDS,
    STUDY_FIELDS,
    Row,
    check_field,
    required_fields,
    rows_from_items,
    unknown_field,
)
from ._sets import SETS_FILE, SetSpec, resolve
from ._tables import OUTCOMES_FILE, STUDIES_FILE
from ._textedit import (
    append_records,
    extend_outcomes,
    insert_member,
    records,
    replace_record,
    split_lines,
    toml_string,
)
from ._toml import Locator
from .checks import collect

__all__ = [
    "DEFAULT_SETS",
    "OUTCOME_FIELDS",
    "ROW_FIELDS",
    "SET_FIELDS",
    "STUDY_FIELDS",
    "AddError",
    "AddProblem",
    "AddReport",
    "FileChange",
    "Membership",
    "add_rows",
    "add_rows_from_csv",
    "check_field",
    "existing_rows",
    "recover_update",
    "required_fields",
]

_FILES = (STUDIES_FILE, OUTCOMES_FILE, SETS_FILE)


# --- building the candidate files -----------------------------------------------------


def _entry_lines(entry: SetEntry) -> list[str]:
    lines = [
        f"[[{entry.set}.member]]",
        f"study = {toml_string(entry.study)}",
        "outcomes = [" + ", ".join(toml_string(o) for o in entry.outcomes) + "]",
    ]
    if entry.replaces:
        lines.append(f"replaces = {toml_string(entry.replaces)}")
    lines.append(f"reason = {toml_string(entry.reason)}")
    return lines


def _build(
    texts: Mapping[str, str], change: Plan, headers: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    """The candidate text of each file."""
    studies = [
        [study if c == "study_id" else values.get(c, "") for c in headers[STUDIES_FILE]]
        for study, values in change.new_studies.items()
    ]
    built = {STUDIES_FILE: append_records(texts[STUDIES_FILE], studies)[0]}

    text = texts[OUTCOMES_FILE]
    by_line = {r.line: r for r in records(split_lines(text))}
    # Bottom-up, so that a record spanning a different number of lines moves none above it.
    for new in sorted((o for o in change.outcomes if o.line), key=lambda o: -(o.line or 0)):
        assert new.line is not None
        text = replace_record(
            text, by_line[new.line], [new.values[c] for c in headers[OUTCOMES_FILE]]
        )
    appended = [
        [o.values[c] for c in headers[OUTCOMES_FILE]] for o in change.outcomes if not o.line
    ]
    built[OUTCOMES_FILE] = append_records(text, appended)[0]

    text = texts[SETS_FILE]

    # Extensions first, bottom-up: one that adds lines (a list written one item per line)
    # moves none of the lines named above it; the new entries are placed after them.
    def order(entry: SetEntry) -> tuple[bool, int]:
        return entry.outcomes_line is None, -(entry.outcomes_line or 0)

    for entry in sorted(change.entries, key=order):
        try:
            if entry.outcomes_line is not None:
                text = extend_outcomes(text, entry.outcomes_line, entry.outcomes)
            else:
                text = insert_member(text, entry.set, _entry_lines(entry))[0]
        except ValueError as exc:
            row = change.first_row[entry.study]
            change.problem(row, "set", entry.set, f"{SETS_FILE}: {exc}")
    built[SETS_FILE] = text
    return built


# --- checking the candidate files -------------------------------------------------------


def _rows_by_line(
    texts: Mapping[str, str], change: Plan, specs: Mapping[str, SetSpec]
) -> dict[tuple[str, int], Row]:
    """The input row behind each new or rewritten line of the candidate files."""
    found: dict[tuple[str, int], Row] = {}
    for record in records(split_lines(texts[STUDIES_FILE]))[1:]:
        if record.fields and record.fields[0] in change.new_studies:
            found[(STUDIES_FILE, record.line)] = change.first_row[record.fields[0]]
    rows = {(o.row.study, o.row.outcome): o.row for o in change.outcomes}
    for record in records(split_lines(texts[OUTCOMES_FILE]))[1:]:
        row = rows.get((record.fields[0], record.fields[1])) if len(record.fields) > 1 else None
        if row is not None:
            found[(OUTCOMES_FILE, record.line)] = row
    locate = Locator(texts[SETS_FILE])
    for entry in change.entries:
        members = specs[entry.set].members if entry.set in specs else ()
        for index, member in enumerate(members):
            if member.study == entry.study:
                for key in ("", "study", "outcomes", "replaces", "reason"):
                    line = locate.line(entry.set, "member", index, key)
                    if line is not None:
                        found[(SETS_FILE, line)] = change.first_row[entry.study]
    return found


def _on_row(issue: Issue, at: Mapping[tuple[str, int], Row], change: Plan) -> AddProblem:
    """An issue of the candidate files, told against the input row it comes from."""
    row = at.get((issue.file, issue.line or 0))
    if row is None and issue.file == SETS_FILE:
        row = change.first_row.get(issue.value)
    if row is None:
        where = f"{issue.file}:{issue.line} (after the change)" if issue.line else issue.file
        return AddProblem(where, "", issue.column, issue.value, issue.message)
    column = issue.column
    if column == "notes":
        column = "study_notes" if issue.file == STUDIES_FILE else "outcome_notes"
    message = f"{SETS_FILE}: {issue.message}" if issue.file == SETS_FILE else issue.message
    label = change.labels.get(row.study, row.study)
    return AddProblem(row.where, label, column, issue.value, message, row.number)


def _check(
    texts: Mapping[str, str], change: Plan, before: Sequence[Issue]
) -> tuple[list[AddProblem], list[str]]:
    """Validate the candidate files: their errors, and the warnings they add to ``before``."""
    with tempfile.TemporaryDirectory(prefix="inometa-add-") as tmp:
        for name, text in texts.items():
            (Path(tmp) / name).write_bytes(text.encode("utf-8"))
        _, specs, report = collect(Path(tmp))
    at = _rows_by_line(texts, change, specs)
    if report.ok:
        for entry in change.entries:
            got = {e.outcome for e in resolve(specs, entry.set)[0] if e.study == entry.study}
            if not set(entry.outcomes) <= got:  # pragma: no cover - a defect in _textedit
                raise RuntimeError(f"set {entry.set!r} did not gain {entry} after the edit")
    known = {(i.file, i.column, i.value, i.message) for i in before}
    added = [w for w in report.warnings if (w.file, w.column, w.value, w.message) not in known]
    return [_on_row(e, at, change) for e in report.errors], [
        str(_on_row(w, at, change)) for w in added
    ]


# --- the public entry points ------------------------------------------------------------


def _diff(name: str, old: str, new: str) -> FileChange:
    lines = difflib.unified_diff(
        split_lines(old), split_lines(new), f"a/{name}", f"b/{name}", n=0, lineterm=""
    )
    return FileChange(name, tuple(line.rstrip("\r\n") for line in lines))


def _add(
    rows: list[Row],
    unknown: list[tuple[Row, str, str]],
    problems: list[AddProblem],
    *,
    sets: Sequence[str] | None,
    reason: str | None,
    replace: bool,
    path: PathLike | None,
    dry_run: bool,
) -> AddReport:
    if isinstance(sets, str):
        raise ValueError(f"sets must be a sequence of set names, e.g. [{sets!r}], not a string")
    directory = data_dir(path) if dry_run else writable_data_dir(path)
    if dry_run:
        return _add_locked(
            rows, unknown, problems, sets, reason, replace, directory, dry_run=True, recovered=[]
        )
    # One writer at a time: read, validate and rename under the lock, so that a concurrent
    # addition is re-read and re-validated rather than overwritten.
    with locked(directory):
        recovered = recover(directory)
        return _add_locked(
            rows, unknown, problems, sets, reason, replace, directory, dry_run=False,
            recovered=recovered,
        )  # fmt: skip


def _add_locked(
    rows: list[Row],
    unknown: list[tuple[Row, str, str]],
    problems: list[AddProblem],
    sets: Sequence[str] | None,
    reason: str | None,
    replace: bool,
    directory: Path,
    *,
    dry_run: bool,
    recovered: list[str],
) -> AddReport:
    # Read before validating: a file edited after this is caught when writing (replace_files).
    originals = {
        name: (directory / name).read_bytes() if (directory / name).is_file() else b""
        for name in _FILES
    }
    tables, specs, report = collect(directory)
    if tables is None or not report.ok:
        raise ValueError(
            f"the data in {directory} already have {len(report.errors)} errors; run "
            f"`inometa validate {directory}` and fix them before adding rows"
        )
    if not rows and not problems and not unknown:
        raise ValueError("no rows to add")
    texts = {name: data.decode("utf-8") for name, data in originals.items()}
    change = plan(
        rows,
        unknown,
        studies=tables.studies.frame,
        outcomes=tables.outcomes.frame,
        specs=specs,
        sets=sets,
        reason=reason,
        replace=replace,
        today=dt.date.today(),
    )
    headers = {STUDIES_FILE: tables.studies.header, OUTCOMES_FILE: tables.outcomes.header}
    built = _build(texts, change, headers)
    errors, warnings = _check(built, change, report.warnings)
    every = [*problems, *change.problems]
    every += [e for e in errors if str(e) not in {str(p) for p in every}]
    if every:
        raise AddError(sorted(every, key=lambda p: (p.row is None, p.row or 0)))

    changed = [name for name in _FILES if built[name] != texts[name]]
    if not dry_run:
        replace_files(
            {directory / name: built[name].encode("utf-8") for name in changed},
            {directory / name: originals[name] for name in changed},
        )
    return AddReport(
        directory=str(directory),
        written=not dry_run,
        new_studies=tuple(change.new_studies),
        added=tuple((o.row.study, o.row.outcome) for o in change.outcomes if not o.line),
        replaced=tuple((o.row.study, o.row.outcome) for o in change.outcomes if o.line),
        memberships=tuple(
            Membership(e.set, e.study, e.outcomes, e.outcomes_line is None) for e in change.entries
        ),
        sets=DEFAULT_SETS if sets is None else tuple(dict.fromkeys(sets)),
        replace=replace,
        files=tuple(_diff(name, texts[name], built[name]) for name in changed),
        warnings=tuple(dict.fromkeys([*recovered, *change.warnings, *warnings])),
    )


def add_rows(
    rows: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    sets: Sequence[str] | None = None,
    reason: str | None = None,
    replace: bool = False,
    path: PathLike | None = None,
    dry_run: bool = False,
) -> AddReport:
    """Add study reports and outcome rows to ``data/extracted``, validated before writing.

    Parameters
    ----------
    rows
        One row per (study, outcome), as dicts or a DataFrame, with the fields of
        :data:`ROW_FIELDS`: ``study_id``; the columns of ``studies.csv`` (``study_notes``
        for its ``notes``), needed only for a study not yet in the file; the columns of
        ``outcomes.csv`` (``outcome_notes`` for its ``notes``); optionally ``reason`` and
        ``replaces`` for the set entry. ``derived`` defaults to ``yes`` when ``derivation``
        is given, else ``no``. Numbers may be given as numbers.
    sets
        The analysis sets the new rows join. None (default): ``latest`` for new rows, no
        change for replaced rows. ``()``: none (``validate`` then warns that the study is
        neither a member of nor excluded from the sets). A set with a
        ``published_on_or_before`` date (``lao2025``) is joined only when named, only by a
        report published by then, and with a warning.
    reason
        Why the rows join the sets, for new ``[[set.member]]`` entries (a row's own
        ``reason`` takes precedence). Default: a dated note that no reason was given.
    replace
        Allow rows whose (study, outcome) is already in ``outcomes.csv``: that record is
        rewritten (fields left empty keep their old values) and its notes gain
        ``Replaced <date>: was <events>/<total> <denominator>, ...`` with every other value
        that changed. Without it such a row is an error.
    path
        The ``data/extracted`` directory to write to; None: ``$INOMETA_DATA``. Rows are
        never written to the data installed with the package: :func:`copy_data` makes a
        writable copy (a dry run may read any data, the installed copy included).
    dry_run
        Check and plan, write nothing.

    Returns
    -------
    AddReport
        What was (or would be) written: studies, rows, set entries, per-file diffs, and the
        validation warnings the change introduces.

    Raises
    ------
    AddError
        A ValueError listing every problem, each with its row, study, field and value;
        nothing is written.
    ValueError
        If the data already fail validation, or there are no rows.

    Notes
    -----
    Existing lines are kept byte for byte, except a record replaced with ``replace=True``:
    studies and outcome rows are appended; a new set entry is inserted after the set's last
    entry; a study already in a set gains outcomes in its ``outcomes = [...]`` line. The
    candidate files pass :func:`inometa.data.validate` before the real files are replaced,
    all together: temporary files are renamed over the originals, and the files already
    renamed are restored if a later step fails.

    Examples
    --------
    On a copy of the data:

    >>> import shutil, tempfile
    >>> from inometa.data import add_rows, analysis_set, data_dir
    >>> tmp = tempfile.mkdtemp()
    >>> copy = shutil.copytree(data_dir(), tmp + "/extracted")
    >>> row = dict(
    ...     study_id="doe2026", label="Doe 2026", first_author="Doe J", year=2026,
    ...     publication_date="2026-03", journal="Example J", report_type="journal_article",
    ...     design="single_arm", phase="2", setting="relapsed_refractory",
    ...     regimen="monotherapy", population="adults with R/R ALL", adults_only="yes",
    ...     ph_status="any", n_enrolled=40, n_treated=40, cohort="doe_trial",
    ...     outcome="orr", events=30, total=40, denominator="treated",
    ...     denominator_definition="all 40 treated", definition="CR/CRi",
    ...     source="https://example.org/doe2026", quote="30 of 40 patients responded.",
    ...     location="abstract", reason="Example of a new report.",
    ... )
    >>> report = add_rows([row], path=copy)
    >>> report.added, [m.set for m in report.memberships]
    ((('doe2026', 'orr'),), ['latest'])
    >>> [len(f.removed) for f in report.files]  # lines added, none changed
    [0, 0, 0]
    >>> orr = analysis_set("latest", "orr", path=copy)
    >>> orr.loc[orr.study_id == "doe2026", ["events", "total"]].to_numpy().tolist()
    [[30, 40]]
    >>> "doe2026" in set(analysis_set("lao2025", "orr", path=copy).study_id)
    False
    >>> add_rows([dict(row, events=50)], path=copy)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    inometa.data._add_report.AddError: nothing written: 1 problem:
      study 'Doe 2026' (row 1), column 'outcome', value 'orr': this study already has a row ...
    >>> shutil.rmtree(tmp)
    """
    items: list[Mapping[Any, Any]] = []
    items += rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
    parsed, unknown = rows_from_items((i, f"row {i}", item) for i, item in enumerate(items, 1))
    return _add(
        parsed,
        unknown,
        [],
        sets=sets,
        reason=reason,
        replace=replace,
        path=path,
        dry_run=dry_run,
    )


def recover_update(path: PathLike | None = None) -> list[str]:
    """Complete or undo an addition that was interrupted (a kill or a crash mid-write).

    An addition writes a journal before it renames the new files over the old ones; if it
    stopped half-way, the journal and the backups are still there. With every file already
    new the addition is kept; otherwise every replaced file gets its original back. The
    next :func:`add_rows` does this by itself; ``inometa validate`` reports the leftovers
    and ``inometa validate --recover`` calls this.

    Parameters
    ----------
    path
        A ``data/extracted`` directory (default: see :mod:`inometa.data`).

    Returns
    -------
    list of str
        What was done, one sentence each; empty when nothing was left over.

    Raises
    ------
    RuntimeError
        When a file was edited after the interruption or a backup is missing (nothing is
        changed; the message names the files).

    Examples
    --------
    >>> import shutil, tempfile
    >>> from inometa.data import data_dir, recover_update
    >>> copy = shutil.copytree(data_dir(), tempfile.mkdtemp() + "/extracted")
    >>> recover_update(copy)
    []
    """
    directory = data_dir(path)
    with locked(directory):
        return recover(directory)


def existing_rows(directory: Path) -> tuple[set[str], set[tuple[str, str]]]:
    """The study ids of ``studies.csv`` and the (study, outcome) keys of ``outcomes.csv``.

    Read leniently, for deciding what a new row must contain: a missing or unreadable file
    contributes no keys (the files are validated when rows are added).

    Parameters
    ----------
    directory : Path
        A ``data/extracted`` directory.

    Returns
    -------
    tuple of (set of str, set of (str, str))
        The study ids, and the (study id, outcome) pairs.
    """
    studies = read_table(directory / STUDIES_FILE, Findings())
    outcomes = read_table(directory / OUTCOMES_FILE, Findings())
    ids = set() if studies is None else set(studies.frame.get("study_id", ()))
    keys: set[tuple[str, str]] = set()
    if outcomes is not None and {"study_id", "outcome"} <= set(outcomes.header):
        keys = set(zip(outcomes.frame["study_id"], outcomes.frame["outcome"], strict=True))
    return ids, keys


def add_rows_from_csv(
    file: PathLike,
    *,
    sets: Sequence[str] | None = None,
    reason: str | None = None,
    replace: bool = False,
    path: PathLike | None = None,
    dry_run: bool = False,
) -> AddReport:
    """Add the rows of a CSV file (one row per study × outcome), as :func:`add_rows` does.

    The header names fields of :data:`ROW_FIELDS` (any subset, in any order; see
    ``data/extracted/README.md`` and ``data/examples/new_rows.csv``). Problems name the row
    (from 1, the first row under the header) and its line in the file. All rows are checked
    together: with any problem, nothing is written.

    Examples
    --------
    >>> import shutil, tempfile
    >>> from inometa.data import add_rows_from_csv, data_dir
    >>> tmp = tempfile.mkdtemp()
    >>> copy = shutil.copytree(data_dir(), tmp + "/extracted")
    >>> example = data_dir().parent / "examples" / "new_rows.csv"
    >>> report = add_rows_from_csv(example, path=copy)
    >>> report.new_studies, report.added
    (('example2026',), (('example2026', 'orr'), ('example2026', 'vod')))
    >>> shutil.rmtree(tmp)
    """
    file = Path(file)
    findings = Findings()
    table = read_table(file, findings)
    problems = [
        AddProblem(
            f"{file.name} line {i.line}" if i.line else file.name, "", "", i.value, i.message
        )
        for i in findings.errors
    ]
    if table is None:
        raise AddError(problems)
    header_issues = [c for c in table.header if c not in ROW_FIELDS]
    problems += [
        AddProblem(f"{file.name} line 1", "", c, c, unknown_field(c)) for c in header_issues
    ]
    frame = table.frame.drop(columns=header_issues)
    items: list[tuple[int, str, Mapping[str, str]]] = [
        (number, f"row {number}, {file.name} line {record.pop(LINE)}", record)
        for number, record in enumerate(text_records(frame), 1)
    ]
    parsed, _ = rows_from_items(items)
    return _add(
        parsed,
        [],
        problems,
        sets=sets,
        reason=reason,
        replace=replace,
        path=path,
        dry_run=dry_run,
    )
