"""Input rows for adding data: one (study, outcome) per row, with the fields of both files.

The fields are the columns of ``studies.csv`` and ``outcomes.csv`` side by side, with
``study_notes`` and ``outcome_notes`` for their two ``notes`` columns (the names
:func:`inometa.data.load_extracted` uses), plus ``reason`` and ``replaces`` for the
analysis-set entry.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._csv import check_value
from .vocabulary import OUTCOMES_COLUMNS, STUDIES_COLUMNS, Column

__all__ = [
    "OUTCOME_FIELDS",
    "ROW_FIELDS",
    "SET_FIELDS",
    "STUDY_FIELDS",
    "Row",
    "check_field",
    "column_of",
    "required_fields",
    "rows_from_items",
    "unknown_field",
]

_STUDY = {("study_notes" if c.name == "notes" else c.name): c for c in STUDIES_COLUMNS}
_OUTCOME = {("outcome_notes" if c.name == "notes" else c.name): c for c in OUTCOMES_COLUMNS}
_SET = {
    "reason": Column("reason", required=False),
    "replaces": Column("replaces", "id", required=False),
}
_COLUMN: dict[str, Column] = {**_STUDY, **_OUTCOME, **_SET}

STUDY_FIELDS: tuple[str, ...] = tuple(f for f in _STUDY if f != "study_id")
"""Input fields that fill ``studies.csv`` (besides ``study_id``)."""
OUTCOME_FIELDS: tuple[str, ...] = tuple(f for f in _OUTCOME if f != "study_id")
"""Input fields that fill ``outcomes.csv`` (besides ``study_id``)."""
SET_FIELDS: tuple[str, ...] = tuple(_SET)
"""Input fields of the analysis-set entry: ``reason`` and ``replaces``."""
ROW_FIELDS: tuple[str, ...] = ("study_id", *STUDY_FIELDS, *OUTCOME_FIELDS, *SET_FIELDS)
"""Every field an input row may have, in the documented order."""


def column_of(field: str) -> str:
    """The file column an input field fills (``study_notes`` and ``outcome_notes`` → ``notes``)."""
    return _COLUMN[field].name


def required_fields(*, new_study: bool) -> tuple[str, ...]:
    """The input fields that must be filled: the outcome's, and the study's for a new study.

    ``derived`` and ``verification`` are not among them: ``derived`` defaults to ``yes``
    when ``derivation`` is given, else ``no``; ``verification`` to ``unverified``.

    Examples
    --------
    >>> from inometa.data.adding import required_fields
    >>> required_fields(new_study=False)[:4]
    ('study_id', 'outcome', 'events', 'total')
    >>> "cohort" in required_fields(new_study=True)
    True
    """
    outcome = [
        f for f in OUTCOME_FIELDS if _COLUMN[f].required and f not in ("derived", "verification")
    ]
    study = [f for f in STUDY_FIELDS if _COLUMN[f].required] if new_study else []
    return ("study_id", *outcome, *study)


def check_field(name: str, value: str) -> str | None:
    """The problem with one value of an input field, or None.

    The value is checked as ``inometa validate`` checks a cell: required and empty, a whole
    number, a year, an ISO date, a code of the vocabulary.

    Raises
    ------
    ValueError
        For an unknown field name (listing the valid ones).

    Examples
    --------
    >>> from inometa.data.adding import check_field
    >>> check_field("publication_date", "2025-13")
    'must be an ISO date: YYYY, YYYY-MM or YYYY-MM-DD'
    >>> check_field("outcome", "orr") is None
    True
    """
    if name not in _COLUMN:
        raise ValueError(f"unknown field {name!r}; valid fields are: {', '.join(ROW_FIELDS)}")
    return check_value(_COLUMN[name], value)


def unknown_field(name: str) -> str:
    """Why ``name`` is not an input field."""
    if name == "notes":
        return "ambiguous: write study_notes (studies.csv) or outcome_notes (outcomes.csv)"
    return "unknown column; valid columns are: " + ", ".join(ROW_FIELDS)


@dataclass(frozen=True)
class Row:
    """One input row: its number (from 1), where it came from, its values as text."""

    number: int
    where: str
    values: Mapping[str, str]

    def get(self, name: str) -> str:
        """The value of a field, ``""`` when not given."""
        return self.values.get(name, "")

    @property
    def study(self) -> str:
        return self.get("study_id")

    @property
    def outcome(self) -> str:
        return self.get("outcome")


def _text(value: Any) -> str:
    """An input value as the text a CSV cell would hold (``""`` when missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def rows_from_items(
    items: Iterable[tuple[int, str, Mapping[Any, Any]]],
) -> tuple[list[Row], list[tuple[Row, str, str]]]:
    """Rows from (number, where, mapping) items; and each unknown field with its first row
    and value."""
    rows: list[Row] = []
    unknown: list[tuple[Row, str, str]] = []
    reported: set[str] = set()
    for number, where, item in items:
        values = {str(k).strip(): _text(v) for k, v in item.items()}
        row = Row(number, where, {k: v for k, v in values.items() if k in _COLUMN})
        for name, value in values.items():
            if name not in _COLUMN and name not in reported:
                reported.add(name)
                unknown.append((row, name, value))
        rows.append(row)
    return rows, unknown
