"""``analysis_sets.toml``: reading set specifications and resolving inheritance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._csv import Findings
from ._issues import Issue
from ._toml import DECODE_POSITION, Locator, toml_loads

__all__ = ["SETS_FILE", "Entry", "Exclusion", "Member", "SetSpec", "read_sets", "resolve"]

SETS_FILE = "analysis_sets.toml"

_SET_KEYS = frozenset({"description", "extends", "published_on_or_before", "member", "exclude"})
_MEMBER_KEYS = frozenset({"study", "outcomes", "reason", "replaces"})
_EXCLUDE_KEYS = frozenset({"study", "reason"})


@dataclass(frozen=True)
class Member:
    """A ``[[set.member]]`` entry; ``line`` is the line of its ``study`` key."""

    study: str
    outcomes: tuple[str, ...]
    reason: str
    replaces: str | None
    line: int | None
    outcomes_line: int | None
    replaces_line: int | None


@dataclass(frozen=True)
class Exclusion:
    """A ``[[set.exclude]]`` entry; ``line`` is the line of its ``study`` key."""

    study: str
    reason: str
    line: int | None


@dataclass(frozen=True)
class SetSpec:
    """One analysis set as written in the file."""

    name: str
    description: str
    extends: str | None
    cutoff: dt.date | None
    members: tuple[Member, ...]
    exclusions: tuple[Exclusion, ...]
    line: int | None
    extends_line: int | None


@dataclass(frozen=True)
class Entry:
    """One resolved (study, outcome) row of a set, with the reason and where it was chosen."""

    study: str
    outcome: str
    reason: str
    chosen_in: str
    line: int | None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _check_keys(table: Mapping[str, Any], allowed: frozenset[str], line: int | None) -> list[Issue]:
    return [
        Issue(SETS_FILE, line, key, key, f"unknown key; allowed: {', '.join(sorted(allowed))}")
        for key in table
        if key not in allowed
    ]


def _entries(
    raw: Any, name: str, kind: str, locate: Locator, findings: Findings
) -> list[tuple[int, dict[str, Any]]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        findings.errors.append(
            Issue(
                SETS_FILE,
                locate.line(name, "set", 0, kind),
                kind,
                "",
                f"write [[{name}.{kind}]] tables",
            )
        )
        return []
    return list(enumerate(raw))


def read_sets(path: Path, findings: Findings) -> dict[str, SetSpec]:
    """Parse the file into set specifications, reporting structural problems."""
    if not path.is_file():
        findings.errors.append(Issue(SETS_FILE, None, "", "", f"file not found: {path}"))
        return {}
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        findings.errors.append(
            Issue(
                SETS_FILE,
                raw.count(b"\n", 0, err.start) + 1,
                "",
                "",
                f"not UTF-8 text (byte {err.start}): save as UTF-8",
            )
        )
        return {}
    try:
        data = toml_loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError subclasses ValueError
        where = DECODE_POSITION.search(str(exc))
        line = int(where.group(1)) if where else None
        column = f"character {where.group(2)}" if where else ""
        findings.errors.append(Issue(SETS_FILE, line, column, "", f"not valid TOML: {exc}"))
        return {}
    if not data:
        findings.errors.append(
            Issue(SETS_FILE, None, "", "", "no analysis set is defined: add at least one [set]")
        )
        return {}
    locate = Locator(text)
    specs: dict[str, SetSpec] = {}
    for name, table in data.items():
        header = locate.line(name)
        if not isinstance(table, dict):
            findings.errors.append(
                Issue(SETS_FILE, header, name, str(table), "a set must be a [table]")
            )
            continue
        findings.errors += _check_keys(table, _SET_KEYS, header)
        description = _text(table.get("description"))
        if not description:
            findings.errors.append(
                Issue(SETS_FILE, header, "description", "", f"set '{name}' needs a description")
            )
        cutoff = table.get("published_on_or_before")
        # A TOML datetime is a date subclass but cannot be compared with dates.
        if cutoff is not None and (
            not isinstance(cutoff, dt.date) or isinstance(cutoff, dt.datetime)
        ):
            findings.errors.append(
                Issue(
                    SETS_FILE,
                    locate.line(name, key="published_on_or_before"),
                    "published_on_or_before",
                    str(cutoff),
                    "must be a TOML date such as 2024-12-02 (no quotes)",
                )
            )
            cutoff = None
        extends = table.get("extends")
        if extends is not None and not isinstance(extends, str):
            findings.errors.append(
                Issue(
                    SETS_FILE,
                    locate.line(name, key="extends"),
                    "extends",
                    str(extends),
                    "must be the name of another set, in quotes",
                )
            )
        members = tuple(
            _member(name, index, item, locate, findings)
            for index, item in _entries(table.get("member"), name, "member", locate, findings)
        )
        exclusions = tuple(
            _exclusion(name, index, item, locate, findings)
            for index, item in _entries(table.get("exclude"), name, "exclude", locate, findings)
        )
        specs[name] = SetSpec(
            name,
            description,
            extends if isinstance(extends, str) else None,
            cutoff,
            members,
            exclusions,
            header,
            locate.line(name, key="extends"),
        )
    return specs


def _member(
    name: str, index: int, item: dict[str, Any], locate: Locator, findings: Findings
) -> Member:
    where = locate.line(name, "member", index)
    findings.errors += _check_keys(item, _MEMBER_KEYS, where)
    study = _text(item.get("study"))
    outcomes = item.get("outcomes")
    if (
        not isinstance(outcomes, list)
        or not outcomes
        or not all(isinstance(o, str) for o in outcomes)
    ):
        findings.errors.append(
            Issue(
                SETS_FILE,
                locate.line(name, "member", index, "outcomes"),
                "outcomes",
                "" if outcomes is None else str(outcomes),
                'must be a non-empty list of outcome codes, e.g. ["orr", "cr"]',
            )
        )
        outcomes = []
    if not study:
        findings.errors.append(
            Issue(SETS_FILE, where, "study", "", f"a member of '{name}' needs a study id")
        )
    reason = _text(item.get("reason"))
    if not reason:
        findings.errors.append(
            Issue(
                SETS_FILE,
                locate.line(name, "member", index, "reason"),
                "reason",
                study,
                "every member needs a reason (why this report and these outcomes)",
            )
        )
    replaces = item.get("replaces")
    return Member(
        study,
        tuple(outcomes),
        reason,
        replaces if isinstance(replaces, str) else None,
        locate.line(name, "member", index, "study"),
        locate.line(name, "member", index, "outcomes"),
        locate.line(name, "member", index, "replaces"),
    )


def _exclusion(
    name: str, index: int, item: dict[str, Any], locate: Locator, findings: Findings
) -> Exclusion:
    where = locate.line(name, "exclude", index)
    findings.errors += _check_keys(item, _EXCLUDE_KEYS, where)
    study, reason = _text(item.get("study")), _text(item.get("reason"))
    if not reason:
        findings.errors.append(
            Issue(SETS_FILE, where, "reason", study, "every exclusion needs a reason")
        )
    return Exclusion(study, reason, locate.line(name, "exclude", index, "study"))


def _lineage(specs: Mapping[str, SetSpec], name: str) -> list[str]:
    """The set and its ancestors, root first; ValueError on an unknown parent or a cycle."""
    chain: list[str] = []
    current: str | None = name
    while current is not None:
        if current in chain:
            raise ValueError(f"'extends' forms a cycle: {' -> '.join([*chain, current])}")
        if current not in specs:
            raise ValueError(f"set '{chain[-1]}' extends unknown set '{current}'")
        chain.append(current)
        current = specs[current].extends
    return chain[::-1]


def resolve(specs: Mapping[str, SetSpec], name: str) -> tuple[list[Entry], dict[str, str]]:
    """The (study, outcome) entries of a set after inheritance, and its excluded studies.

    A member with ``replaces`` removes the named study's entries for the outcomes the member
    provides; the other outcomes of the replaced study are kept.
    """
    entries: list[Entry] = []
    excluded: dict[str, str] = {}
    for set_name in _lineage(specs, name):
        spec = specs[set_name]
        for member in spec.members:
            if member.replaces:
                entries = [
                    e
                    for e in entries
                    if not (e.study == member.replaces and e.outcome in member.outcomes)
                ]
            entries += [
                Entry(member.study, outcome, member.reason, set_name, member.line)
                for outcome in member.outcomes
            ]
        excluded.update({x.study: x.reason for x in spec.exclusions})
    return entries, excluded
