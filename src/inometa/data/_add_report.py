"""What adding rows did (or would do), and why it could not: frozen records, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["AddError", "AddProblem", "AddReport", "FileChange", "Membership"]


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@dataclass(frozen=True)
class AddProblem:
    """Why an input row cannot be written.

    Attributes
    ----------
    where
        The input row (``row 2``; ``row 2, new_rows.csv line 3`` for a CSV file), or the
        argument or file the problem is about.
    study
        The study's label (its id when no label is known); ``""`` when not about one study.
    column
        The input field (``""`` when not about one field).
    value
        The offending value as given.
    message
        What is wrong.
    row
        The input row number (from 1), or None.
    """

    where: str
    study: str
    column: str
    value: str
    message: str
    row: int | None = None

    def __str__(self) -> str:
        text = f"study '{self.study}' ({self.where})" if self.study else self.where
        if self.column:
            text += f", column '{self.column}', value {self.value!r}"
        return f"{text}: {self.message}"


class AddError(ValueError):
    """The rows cannot be added and nothing was written; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[AddProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            f"nothing written: {_plural(len(self.problems), 'problem', 'problems')}:\n  "
            + "\n  ".join(str(p) for p in self.problems)
        )


@dataclass(frozen=True)
class FileChange:
    """The change to one file, as a unified diff without context lines."""

    file: str
    diff: tuple[str, ...]

    @property
    def added(self) -> tuple[str, ...]:
        """The lines the change adds (without the leading ``+``)."""
        return tuple(d[1:] for d in self.diff if d.startswith("+") and not d.startswith("+++"))

    @property
    def removed(self) -> tuple[str, ...]:
        """The lines the change removes (without the leading ``-``)."""
        return tuple(d[1:] for d in self.diff if d.startswith("-") and not d.startswith("---"))


@dataclass(frozen=True)
class Membership:
    """Outcomes of a study added to an analysis set: a new ``[[set.member]]`` entry
    (``new_entry``), or the ``outcomes`` list of the study's entry in that set extended."""

    set: str
    study: str
    outcomes: tuple[str, ...]
    new_entry: bool


@dataclass(frozen=True)
class AddReport:
    """What :func:`inometa.data.add_rows` wrote (or, in a dry run, would write).

    Attributes
    ----------
    directory
        The ``data/extracted`` directory.
    written
        False for a dry run.
    new_studies
        Study ids appended to ``studies.csv``.
    added, replaced
        ``(study_id, outcome)`` rows appended to, or rewritten in, ``outcomes.csv``.
    memberships
        Set entries added or extended in ``analysis_sets.toml``.
    sets
        The sets new rows were asked to join (``("latest",)`` unless named).
    replace
        Whether replacing existing rows was allowed.
    files
        Per changed file, the diff.
    warnings
        Validation warnings the change introduces (a derived count, a denominator that is
        not the full study population, ...), and a warning when a set with a
        ``published_on_or_before`` date (``lao2025``) changes.
    """

    directory: str
    written: bool
    new_studies: tuple[str, ...]
    added: tuple[tuple[str, str], ...]
    replaced: tuple[tuple[str, str], ...]
    memberships: tuple[Membership, ...]
    sets: tuple[str, ...]
    replace: bool
    files: tuple[FileChange, ...]
    warnings: tuple[str, ...]

    def format(self, *, diff: bool = False, warnings: bool = True) -> str:
        """Readable summary: what changed per file, the warnings, and the diff if asked."""
        lines = [f"{'Wrote' if self.written else 'Would write'} {self.directory}:"]
        if self.new_studies:
            lines.append(
                f"  studies.csv: {_plural(len(self.new_studies), 'study', 'studies')} added "
                f"({', '.join(self.new_studies)})"
            )
        parts = [
            f"{_plural(len(keys), 'row', 'rows')} {verb} ("
            + ", ".join(f"{study} {outcome}" for study, outcome in keys)
            + ")"
            for verb, keys in (("added", self.added), ("replaced", self.replaced))
            if keys
        ]
        if parts:
            lines.append("  outcomes.csv: " + "; ".join(parts))
        for m in self.memberships:
            how = "new entry" if m.new_entry else "added to its entry"
            lines.append(
                f"  analysis_sets.toml: set '{m.set}' + {m.study} ({', '.join(m.outcomes)}; {how})"
            )
        if not (self.new_studies or parts or self.memberships):
            lines.append("  nothing to change")
        if warnings and self.warnings:
            lines.append(_plural(len(self.warnings), "warning", "warnings") + ":")
            lines.extend(f"  {w}" for w in self.warnings)
        if diff:
            for change in self.files:
                lines.extend(change.diff)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()
