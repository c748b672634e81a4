"""Reading CSV files so that every value keeps the line it came from, and checking columns.

A record's line is the physical line where it starts in the file, counting the header as
line 1, so a message such as ``outcomes.csv:12`` points at what a text editor shows even
when an earlier quote spans several lines.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ._issues import Issue
from .vocabulary import Column

__all__ = [
    "CONTROL",
    "LINE",
    "Findings",
    "Table",
    "check_columns",
    "check_header",
    "check_value",
    "earliest_date",
    "is_date",
    "issues_where",
    "read_table",
]

LINE = "_line"
"""Name of the column holding each record's line number."""

_ID = re.compile(r"[a-z][a-z0-9_]*")
_INT = re.compile(r"\d+")
_YEAR = re.compile(r"\d{4}")
_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


@dataclass
class Findings:
    """Errors and warnings collected while checking."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def extend(self, other: Findings) -> None:
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)


@dataclass(frozen=True)
class Table:
    """A CSV file read as text: its header and one row per record plus the ``_line`` column."""

    file: str
    header: tuple[str, ...]
    frame: pd.DataFrame


# C0 control characters other than tab, line feed and carriage return, DEL and the C1 range
# (ANSI escapes, NUL): never part of a quote or a label, and harmful in a terminal or a report.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _decode(path: Path, findings: Findings) -> str | None:
    """The file's text (UTF-8, an optional BOM); None with an error naming the line if not."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        value = data[err.start : err.start + 4].hex(" ")
        findings.errors.append(
            Issue(path.name, line, "", value, f"not UTF-8 text (byte {err.start}): save as UTF-8")
        )
        return None


def read_table(path: Path, findings: Findings) -> Table | None:
    """Read ``path`` as strings (stripped; empty cells stay ``""``); None if it is unusable.

    Records whose field count differs from the header's are reported and left out; so are
    records with control characters. Text that is not UTF-8, a carriage return not followed by
    a line feed, a field the CSV parser refuses and a repeated column name make the file
    unusable, each reported with its line.
    """
    name = path.name
    if not path.is_file():
        findings.errors.append(Issue(name, None, "", "", f"file not found: {path}"))
        return None
    text = _decode(path, findings)
    if text is None:
        return None
    bare_cr = re.search(r"\r(?!\n)", text)
    if bare_cr:
        findings.errors.append(
            Issue(
                name,
                _line_of(text, bare_cr.start()),
                "",
                "\\r",
                "a carriage return (CR) not followed by a line feed: end lines with LF or CRLF",
            )
        )
        return None
    return _parse(name, text, findings)


def _parse(name: str, text: str, findings: Findings) -> Table | None:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as err:
        findings.errors.append(Issue(name, reader.line_num, "", "", f"unreadable as CSV: {err}"))
        return None
    except StopIteration:
        findings.errors.append(Issue(name, 1, "", "", "the file is empty (no header line)"))
        return None
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        for column in repeated:
            findings.errors.append(
                Issue(name, 1, column, column, f"column {column!r} appears more than once")
            )
        return None
    records: list[list[str]] = []
    lines: list[int] = []
    last = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            findings.errors.append(
                Issue(name, last + 1, "", "", f"unreadable as CSV from this line on: {err}")
            )
            return None
        start, last = last + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            findings.errors.append(
                Issue(
                    name,
                    start,
                    "",
                    ",".join(record)[:60],
                    f"the record has {len(record)} fields but the header has {len(header)}",
                )
            )
            continue
        bad = [(h, c) for h, c in zip(header, record, strict=True) if CONTROL.search(c)]
        if bad:
            for column, cell in bad:
                findings.errors.append(
                    Issue(name, start, column, cell[:60], "contains a control character")
                )
            continue
        records.append([cell.strip() for cell in record])
        lines.append(start)
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame[LINE] = lines
    return Table(name, tuple(header), frame)


def issues_where(
    table: Table, mask: pd.Series, column: str, message: str | pd.Series
) -> list[Issue]:
    """One Issue per row of ``table`` where ``mask`` holds, naming the value of ``column``.

    ``message`` is one text for all rows, or a Series aligned with the table (one per row).
    """
    if not mask.any():
        return []
    frame = table.frame
    messages = message if isinstance(message, pd.Series) else pd.Series(message, frame.index)
    bad = pd.DataFrame({"line": frame[LINE], "value": frame[column], "message": messages}).loc[mask]
    return [
        Issue(table.file, int(line), column, str(value), str(text))
        for line, value, text in bad.itertuples(index=False)
    ]


def check_header(table: Table, schema: tuple[Column, ...], findings: Findings) -> bool:
    """Report missing, duplicate and unknown columns; True if the header is usable."""
    expected = [c.name for c in schema]
    ok = True
    for name in expected:
        if name not in table.header:
            findings.errors.append(Issue(table.file, 1, name, "", "required column is missing"))
            ok = False
    seen: set[str] = set()
    for name in table.header:
        if name in seen:
            findings.errors.append(Issue(table.file, 1, name, name, "column appears twice"))
            ok = False
        seen.add(name)
        if name not in expected:
            findings.warnings.append(
                Issue(table.file, 1, name, name, "unknown column (ignored by inometa)")
            )
    return ok


def is_date(value: str) -> bool:
    """True for ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` naming a real calendar date."""
    if not _DATE.fullmatch(value):
        return False
    parts = [int(p) for p in value.split("-")] + [1, 1]
    try:
        dt.date(parts[0], parts[1], parts[2])
    except ValueError:
        return False
    return True


def earliest_date(value: str) -> dt.date:
    """The first day a reduced-precision ISO date can mean (``2024-12`` → 1 December 2024).

    Publication dates in ``studies.csv`` are ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; ordering
    studies by this day puts a study dated only by its year before those dated within it.

    Parameters
    ----------
    value : str
        An ISO date of any of the three precisions.

    Returns
    -------
    datetime.date

    Examples
    --------
    >>> earliest_date("2024-12"), earliest_date("2017")
    (datetime.date(2024, 12, 1), datetime.date(2017, 1, 1))
    """
    parts = [int(p) for p in value.split("-")] + [1, 1]
    return dt.date(parts[0], parts[1], parts[2])


# Rules for a filled cell, by column kind: a test and the message when the test fails.
_RULES: dict[str, tuple[Callable[[str], bool], str]] = {
    "id": (
        lambda v: _ID.fullmatch(v) is not None,
        "must be lower-case letters, digits and '_', starting with a letter",
    ),
    "int": (
        lambda v: _INT.fullmatch(v) is not None,
        "must be a whole number ≥ 0 (no decimals, signs or text)",
    ),
    "year": (lambda v: _YEAR.fullmatch(v) is not None, "must be a four-digit year"),
    "date": (is_date, "must be an ISO date: YYYY, YYYY-MM or YYYY-MM-DD"),
    "number": (lambda v: not pd.isna(pd.to_numeric(v, errors="coerce")), "must be a number"),
}


def _rule(col: Column) -> tuple[Callable[[str], bool], str] | None:
    if col.kind == "choice" and col.choices is not None:
        allowed = col.choices
        return (lambda v: v in allowed), "must be one of: " + ", ".join(allowed)
    return _RULES.get(col.kind)


# A cell starting with one of these is run as a formula by spreadsheets (OWASP, "CSV
# injection"); no value of the extracted data needs to start with one.
FORMULA_START = ("=", "+", "-", "@")
FORMULA_MESSAGE = "starts with {!r}: a spreadsheet would run the cell as a formula; reword it"


def check_value(col: Column, value: str) -> str | None:
    """The problem with one cell of column ``col`` (as :func:`check_columns` words it), or None."""
    if CONTROL.search(value) or "\r" in value:
        return "contains a control character"
    if value.startswith(FORMULA_START):
        return FORMULA_MESSAGE.format(value[0])
    if value == "":
        return "required value is empty" if col.required else None
    rule = _rule(col)
    if rule is None or rule[0](value):
        return None
    return rule[1]


def check_columns(table: Table, schema: tuple[Column, ...], findings: Findings) -> None:
    """Check every column of ``schema``: emptiness, then type or vocabulary of the filled cells."""
    frame = table.frame
    for col in schema:
        values = frame[col.name].astype(str)
        empty = values == ""
        if col.required:
            findings.errors += issues_where(table, empty, col.name, "required value is empty")
        for start in FORMULA_START:
            formula = values.str.startswith(start)
            findings.errors += issues_where(table, formula, col.name, FORMULA_MESSAGE.format(start))
        rule = _rule(col)
        if rule is None:
            continue
        test, msg = rule
        filled = values[~empty]
        bad = ~filled.map(test).astype(bool)
        mask = bad.reindex(frame.index, fill_value=False).astype(bool)
        findings.errors += issues_where(table, mask, col.name, msg)
