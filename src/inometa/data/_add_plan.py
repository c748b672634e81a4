"""Planning an addition: which studies, outcome rows and set entries the input rows become.

Everything here works on the data as read (string frames and set specifications) and
collects every problem instead of stopping at the first; the files are built and validated
afterwards (:mod:`inometa.data.adding`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from ._add_report import AddProblem
from ._csv import LINE, earliest_date, is_date
from ._rows import SET_FIELDS, STUDY_FIELDS, Row, check_field, column_of, unknown_field
from ._sets import SetSpec, resolve

__all__ = ["DEFAULT_SETS", "NewOutcome", "Plan", "SetEntry", "plan", "text_records"]

DEFAULT_SETS: tuple[str, ...] = ("latest",)
"""The sets a new row joins when no set is named."""

# Changes to these columns of a replaced row are kept in its notes (the counts always are).
_HISTORY = (
    "denominator_definition",
    "definition",
    "derived",
    "derivation",
    "verification",
    "source",
    "quote",
    "location",
)


@dataclass(frozen=True)
class NewOutcome:
    """An ``outcomes.csv`` record to write: appended, or replacing the record on ``line``."""

    row: Row
    values: Mapping[str, str]
    line: int | None


@dataclass(frozen=True)
class SetEntry:
    """Outcomes of a study joining a set: a new ``[[set.member]]`` entry, or the existing
    entry whose ``outcomes`` list is on ``outcomes_line``."""

    set: str
    study: str
    outcomes: tuple[str, ...]
    reason: str
    replaces: str
    outcomes_line: int | None


@dataclass
class Plan:
    """The planned change and the problems found while planning it."""

    problems: list[AddProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    first_row: dict[str, Row] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    new_studies: dict[str, dict[str, str]] = field(default_factory=dict)
    outcomes: list[NewOutcome] = field(default_factory=list)
    entries: list[SetEntry] = field(default_factory=list)

    def problem(self, row: Row, column: str, value: str, message: str) -> None:
        label = self.labels.get(row.study, row.study)
        self.problems.append(AddProblem(row.where, label, column, value, message, row.number))


def text_records(frame: pd.DataFrame) -> list[dict[str, str]]:
    """The rows of a string frame as dicts of text (the line number too)."""
    return [{str(k): str(v) for k, v in r.items()} for r in frame.to_dict("records")]


def _merge(
    rows: Sequence[Row], fields: Iterable[str], plan: Plan, existing: Mapping[str, str] | None
) -> dict[str, str]:
    """A study's values over its rows. Values that differ between rows, or from the study's
    record in studies.csv (``existing``), are problems."""
    merged: dict[str, str] = {}
    first: dict[str, Row] = {}
    for row in rows:
        for name in fields:
            value = row.get(name)
            if not value:
                continue
            if existing is not None:
                old = existing.get(column_of(name), "")
                if value != old:
                    plan.problem(
                        row,
                        name,
                        value,
                        f"the study is already in studies.csv (line {existing[LINE]}) with "
                        f"{column_of(name)} {old!r}; leave the study columns empty (or equal) "
                        "to add an outcome to it",
                    )
            elif name in merged and merged[name] != value:
                plan.problem(
                    row,
                    name,
                    value,
                    f"differs from {first[name].where} ({merged[name]!r}) for the same study",
                )
            else:
                merged[name] = value
                first[name] = row
    return merged


def _history(old: Mapping[str, str], new: Mapping[str, str], today: dt.date) -> str:
    """``Replaced <date>: was 54/73 itt, source ..., quote "..."``: the old counts and every
    other old value that the new row changes (its notes, when new notes are given)."""
    parts = [f"was {old['events']}/{old['total']} {old['denominator']}"]
    names = (*_HISTORY, "notes") if new.get("notes") else _HISTORY
    for name in names:
        value = old.get(name, "")
        if value != new.get(name, ""):
            parts.append(f"source {value}" if name == "source" else f'{name} "{value}"')
    return f"Replaced {today.isoformat()}: " + ", ".join(parts) + "."


def _plan_outcomes(
    rows: Sequence[Row], outcomes: pd.DataFrame, replace: bool, plan: Plan, today: dt.date
) -> None:
    existing = {(r["study_id"], r["outcome"]): r for r in text_records(outcomes)}
    columns = [c for c in outcomes.columns if c != LINE]
    seen: dict[tuple[str, str], Row] = {}
    for row in rows:
        key = (row.study, row.outcome)
        if key in seen:
            plan.problem(
                row, "outcome", row.outcome, f"the same study and outcome is in {seen[key].where}"
            )
            continue
        seen[key] = row
        given = {c: row.get("outcome_notes" if c == "notes" else c) for c in columns}
        given["derived"] = given["derived"] or ("yes" if given["derivation"] else "no")
        old = existing.get(key)
        if old is None:
            # Nobody has said how the count was checked: say so rather than guess.
            given["verification"] = given["verification"] or "unverified"
            plan.outcomes.append(NewOutcome(row, given, None))
            continue
        where = (
            f"outcomes.csv line {old[LINE]}: {old['events']}/{old['total']} {old['denominator']}"
        )
        if not replace:
            plan.problem(
                row,
                "outcome",
                row.outcome,
                f"this study already has a row for outcome '{row.outcome}' ({where}); to "
                "replace it, pass replace=True (`inometa add-study --replace`): the old values "
                "are then kept in the row's notes",
            )
            continue
        # Fields left empty keep the old values; derived follows a new derivation.
        given = {c: given[c] or (old[c] if c != "notes" else "") for c in columns}
        if not row.get("derived"):
            given["derived"] = "yes" if row.get("derivation") else old["derived"]
        elif row.get("derived") == "no" and not row.get("derivation"):
            given["derivation"] = ""
        if all(given[c] == old[c] for c in columns if c != "notes" or given[c]):
            plan.problem(row, "outcome", row.outcome, f"the same as {where}; nothing to replace")
            continue
        history = _history(old, given, today)
        notes = (given["notes"] or old["notes"]).rstrip()
        given["notes"] = (
            f"{notes}{' ' if notes.endswith('.') else '. '}{history}" if notes else history
        )
        plan.outcomes.append(NewOutcome(row, given, int(old[LINE])))


def _ancestors(specs: Mapping[str, SetSpec], name: str) -> list[str]:
    """The sets ``name`` extends, nearest first (a broken chain stops the list)."""
    found: list[str] = []
    parent = specs[name].extends
    while parent is not None and parent in specs and parent not in found and parent != name:
        found.append(parent)
        parent = specs[parent].extends
    return found


def _plan_sets(
    by_study: Mapping[str, list[Row]],
    joining: Mapping[str, list[str]],
    targets: Sequence[str],
    reason: str,
    specs: Mapping[str, SetSpec],
    publication_dates: Mapping[str, str],
    plan: Plan,
) -> None:
    """Plan the set entries of each study's joining outcomes, ancestors' sets first, so
    that a set inheriting an entry planned for its parent does not repeat it."""
    ordered = sorted(targets, key=lambda s: len(_ancestors(specs, s)))
    planned: dict[tuple[str, str], set[str]] = {}
    for study, outcomes in joining.items():
        rows = by_study[study]
        first = plan.first_row[study]
        entry = _merge(rows, SET_FIELDS, plan, None)
        replaces = entry.get("replaces", "")
        date = publication_dates.get(study, "")
        for name in ordered:
            spec = specs[name]
            if spec.cutoff is not None and is_date(date) and earliest_date(date) > spec.cutoff:
                plan.problem(
                    first,
                    "publication_date",
                    date,
                    f"published after the published_on_or_before date of set '{name}' "
                    f"({spec.cutoff.isoformat()}), so the report cannot join it",
                )
                continue
            resolved, excluded = resolve(specs, name)
            if study in excluded:
                plan.problem(
                    first,
                    "study_id",
                    study,
                    f"set '{name}' excludes this study ({excluded[study]!r}); to record the row "
                    "without pooling it, join no set (sets=(), `--no-set`)",
                )
                continue
            present = {e.outcome for e in resolved if e.study == study}
            for parent in _ancestors(specs, name):
                present |= planned.get((parent, study), set())
            new = tuple(o for o in outcomes if o not in present)
            if not new:
                continue
            planned[(name, study)] = set(new)
            own = next((m for m in spec.members if m.study == study), None)
            if own is not None and replaces and replaces != (own.replaces or ""):
                plan.problem(
                    first,
                    "replaces",
                    replaces,
                    f"the study's entry in set '{name}' (analysis_sets.toml line {own.line}) "
                    f"has replaces {own.replaces!r}; change it by hand",
                )
                continue
            line = None if own is None else own.outcomes_line
            why = entry.get("reason") or reason
            plan.entries.append(SetEntry(name, study, new, why, replaces, line))
            if spec.cutoff is not None:
                plan.warnings.append(
                    f"set '{name}' reconstructs a search of reports published on or before "
                    f"{spec.cutoff.isoformat()}: adding {study} changes that reconstruction "
                    "and every number reproduced from it"
                )


def plan(
    rows: Sequence[Row],
    unknown: Sequence[tuple[Row, str, str]],
    *,
    studies: pd.DataFrame,
    outcomes: pd.DataFrame,
    specs: Mapping[str, SetSpec],
    sets: Sequence[str] | None,
    reason: str | None,
    replace: bool,
    today: dt.date,
) -> Plan:
    """Plan the addition of ``rows`` to the data read as ``studies``, ``outcomes`` (string
    frames with the ``_line`` column) and ``specs``."""
    result = Plan()
    for row, name, value in unknown:
        result.problems.append(
            AddProblem(row.where, "", name, value, unknown_field(name), row.number)
        )
    by_study: dict[str, list[Row]] = {}
    for row in rows:
        for name in ("study_id", "outcome"):
            if not row.get(name):
                result.problem(row, name, "", "required value is empty")
        if row.study and row.outcome:
            by_study.setdefault(row.study, []).append(row)
    known = {r["study_id"]: r for r in text_records(studies)}
    dates: dict[str, str] = {}
    for study, study_rows in by_study.items():
        result.first_row[study] = study_rows[0]
        label = next((r.get("label") for r in study_rows if r.get("label")), "")
        result.labels[study] = label or str(known.get(study, {}).get("label", "")) or study
        if study in known:
            _merge(study_rows, STUDY_FIELDS, result, known[study])
            dates[study] = str(known[study]["publication_date"])
        else:
            merged = _merge(study_rows, STUDY_FIELDS, result, None)
            result.new_studies[study] = {column_of(f): v for f, v in merged.items()}
            dates[study] = merged.get("publication_date", "")

    usable = [row for study_rows in by_study.values() for row in study_rows]
    _plan_outcomes(sorted(usable, key=lambda r: r.number), outcomes, replace, result, today)

    # New rows join the default sets; replaced rows keep their membership unless sets are named.
    joining: dict[str, list[str]] = {}
    for new in result.outcomes:
        # An unknown outcome code is reported once, for outcomes.csv, not again for the set.
        if (new.line is None or sets is not None) and check_field(
            "outcome", new.row.outcome
        ) is None:
            joining.setdefault(new.row.study, []).append(new.row.outcome)
    targets = DEFAULT_SETS if sets is None else tuple(dict.fromkeys(sets))
    missing = [name for name in targets if name not in specs]
    if joining:
        for name in missing:
            hint = "; name the sets to join" if sets is None else ""
            result.problems.append(
                AddProblem(
                    "argument 'sets'",
                    "",
                    "set",
                    name,
                    f"no such analysis set{hint}; valid sets are: {', '.join(specs)}",
                )
            )
    default = f"Added with inometa add-study on {today.isoformat()}; no reason given."
    valid = [name for name in targets if name in specs]
    _plan_sets(by_study, joining, valid, reason or default, specs, dates, result)
    return result
