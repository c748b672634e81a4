"""Checks of the analysis sets against the CSV files: references, reasons, cut-off dates,
and no cohort counted twice within one set and outcome."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import pandas as pd

from ._csv import Findings, earliest_date, is_date
from ._issues import Issue
from ._sets import SETS_FILE, Entry, SetSpec, resolve
from .vocabulary import OUTCOMES

__all__ = ["check_sets"]


def check_sets(
    specs: Mapping[str, SetSpec],
    studies: pd.DataFrame,
    outcomes: pd.DataFrame,
    findings: Findings,
) -> None:
    """Check references, reasons, cut-off dates and cohort duplication in every set.

    ``studies`` and ``outcomes`` are the string frames of the two CSV files.
    """
    study_info = studies.drop_duplicates("study_id").set_index("study_id")
    rows = set(zip(outcomes["study_id"], outcomes["outcome"], strict=True))
    for spec in specs.values():
        _check_references(spec, specs, study_info, rows, findings)
        try:
            entries, excluded = resolve(specs, spec.name)
        except ValueError as exc:
            findings.errors.append(
                Issue(SETS_FILE, spec.extends_line, "extends", str(spec.extends), str(exc))
            )
            continue
        _check_resolved(spec, entries, excluded, study_info, findings)


def _check_references(
    spec: SetSpec,
    specs: Mapping[str, SetSpec],
    study_info: pd.DataFrame,
    rows: set[tuple[str, str]],
    findings: Findings,
) -> None:
    err = findings.errors
    seen: set[str] = set()
    parent_studies: set[str] = set()
    if spec.extends is not None and spec.extends in specs:
        # A broken 'extends' chain is reported once, by check_sets.
        with contextlib.suppress(ValueError):
            parent_studies = {e.study for e in resolve(specs, spec.extends)[0]}
    for m in spec.members:
        if m.study and m.study not in study_info.index:
            err.append(
                Issue(SETS_FILE, m.line, "study", m.study, "no such study_id in studies.csv")
            )
        if m.study in seen:
            err.append(
                Issue(SETS_FILE, m.line, "study", m.study, f"listed twice in set '{spec.name}'")
            )
        seen.add(m.study)
        for outcome in m.outcomes:
            if outcome not in OUTCOMES:
                err.append(
                    Issue(
                        SETS_FILE,
                        m.outcomes_line,
                        "outcomes",
                        outcome,
                        "unknown outcome; valid: " + ", ".join(OUTCOMES),
                    )
                )
            elif m.study in study_info.index and (m.study, outcome) not in rows:
                err.append(
                    Issue(
                        SETS_FILE,
                        m.outcomes_line,
                        "outcomes",
                        outcome,
                        f"study '{m.study}' has no '{outcome}' row in outcomes.csv",
                    )
                )
        if len(set(m.outcomes)) != len(m.outcomes):
            err.append(
                Issue(
                    SETS_FILE,
                    m.outcomes_line,
                    "outcomes",
                    ", ".join(m.outcomes),
                    "an outcome is listed twice",
                )
            )
        if m.replaces is not None:
            if m.replaces not in parent_studies:
                err.append(
                    Issue(
                        SETS_FILE,
                        m.replaces_line,
                        "replaces",
                        m.replaces,
                        "not a member of the set this one extends",
                    )
                )
            elif {m.study, m.replaces} <= set(study_info.index) and (
                str(study_info.at[m.replaces, "cohort"]) != str(study_info.at[m.study, "cohort"])
            ):
                err.append(
                    Issue(
                        SETS_FILE,
                        m.replaces_line,
                        "replaces",
                        m.replaces,
                        "replaces a report of a different cohort",
                    )
                )
    for x in spec.exclusions:
        if x.study not in study_info.index:
            err.append(
                Issue(SETS_FILE, x.line, "study", x.study, "no such study_id in studies.csv")
            )
        if x.study in seen:
            err.append(
                Issue(
                    SETS_FILE,
                    x.line,
                    "study",
                    x.study,
                    f"both a member and excluded in '{spec.name}'",
                )
            )


def _check_resolved(
    spec: SetSpec,
    entries: list[Entry],
    excluded: Mapping[str, str],
    study_info: pd.DataFrame,
    findings: Findings,
) -> None:
    known = [e for e in entries if e.study in study_info.index]
    if not known:
        return
    frame = pd.DataFrame(
        {
            "study": [e.study for e in known],
            "outcome": [e.outcome for e in known],
            "line": [e.line for e in known],
            "chosen_in": [e.chosen_in for e in known],
        }
    )
    frame["cohort"] = frame["study"].map(study_info["cohort"])
    # Report a duplicate where its later entry was chosen: duplicates among inherited
    # entries belong to the parent set and are reported there.
    twice = frame.duplicated(["outcome", "cohort"], keep="first")
    for row in frame[twice & (frame["chosen_in"] == spec.name)].itertuples(index=False):
        same = frame[(frame["outcome"] == row.outcome) & (frame["cohort"] == row.cohort)]
        pairs = zip(same["study"], same["chosen_in"], strict=True)
        listed = ", ".join(f"{study} (in '{chosen}')" for study, chosen in pairs)
        findings.errors.append(
            Issue(
                SETS_FILE,
                row.line,
                "study",
                row.study,
                f"cohort '{row.cohort}' would be counted twice in set '{spec.name}' for "
                f"outcome '{row.outcome}': {listed}",
            )
        )
    reports = frame.groupby("cohort")["study"].unique()
    for cohort, studies in reports[reports.map(len) > 1].items():
        findings.warnings.append(
            Issue(
                SETS_FILE,
                spec.line,
                "study",
                ", ".join(studies),
                f"set '{spec.name}' uses more than one report of cohort '{cohort}' "
                "(for different outcomes)",
            )
        )
    if spec.cutoff is not None:
        own = frame[frame["chosen_in"] == spec.name].drop_duplicates("study")
        dates = own["study"].map(study_info["publication_date"])
        valid = dates.map(is_date).astype(bool)
        late = valid & (dates.where(valid, "1900").map(earliest_date) > spec.cutoff)
        for row, date in zip(own[late].itertuples(index=False), dates[late], strict=True):
            findings.errors.append(
                Issue(
                    SETS_FILE,
                    row.line,
                    "study",
                    row.study,
                    f"published {date}, after the set's published_on_or_before {spec.cutoff}",
                )
            )
    covered = set(frame["study"]) | set(excluded)
    candidates = study_info
    if spec.cutoff is not None:
        dates = study_info["publication_date"]
        valid = dates.map(is_date).astype(bool)
        candidates = study_info[
            valid & (dates.where(valid, "1900").map(earliest_date) <= spec.cutoff)
        ]
    for study in candidates.index.difference(sorted(covered)):
        findings.warnings.append(
            Issue(
                SETS_FILE,
                spec.line,
                "study",
                study,
                f"neither a member of set '{spec.name}' nor excluded from it with a reason",
            )
        )
