"""Validation findings: where each problem is, and the report that collects them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Issue", "ValidationReport"]

# How many errors a ValueError message lists before summarising the rest.
_MAX_IN_MESSAGE = 10


@dataclass(frozen=True)
class Issue:
    """One finding, located as a person would look for it in a text editor.

    Attributes
    ----------
    file
        File name (``studies.csv``, ``outcomes.csv``, ``analysis_sets.toml``).
    line
        Line in the file, counting the header as line 1 (None when it cannot be located).
    column
        CSV column or TOML key.
    value
        The offending value as written (``""`` when empty or not applicable).
    message
        What is wrong, or (for a warning) what to keep in mind.
    """

    file: str
    line: int | None
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: column '{self.column}', value {self.value!r}: {self.message}"


@dataclass(frozen=True)
class ValidationReport:
    """The result of :func:`inometa.data.validate`: errors and warnings, kept separate.

    Errors make the data unusable (a wrong type, events above total, a broken reference,
    a cohort counted twice). Warnings are facts a reviewer should see but that are allowed,
    such as a count derived from a percentage or a denominator that is not the full study
    population.
    """

    directory: str
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return not self.errors

    def format(self, *, warnings: bool = True) -> str:
        """Readable text: the errors, then the warnings, then a one-line verdict."""
        lines = [f"Validating {self.directory}"]
        sections = [("errors", self.errors)]
        if warnings:
            sections.append(("warnings", self.warnings))
        for name, items in sections:
            lines.append(f"{len(items)} {name}" + (":" if items else ""))
            lines.extend(f"  {item}" for item in items)
        verdict = "OK" if self.ok else "FAILED"
        lines.append(f"{verdict}: {len(self.errors)} errors, {len(self.warnings)} warnings")
        return "\n".join(lines)

    def raise_if_errors(self) -> None:
        """Raise ValueError listing the errors (the first few), if there are any."""
        if self.ok:
            return
        shown = [str(e) for e in self.errors[:_MAX_IN_MESSAGE]]
        if len(self.errors) > _MAX_IN_MESSAGE:
            shown.append(f"... and {len(self.errors) - _MAX_IN_MESSAGE} more")
        raise ValueError(
            f"the data in {self.directory} has {len(self.errors)} errors "
            "(run `inometa validate` for the full list):\n  " + "\n  ".join(shown)
        )

    def __str__(self) -> str:
        return self.format()
