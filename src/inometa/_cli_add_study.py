"""The ``inometa add-study`` command: a thin layer over :func:`inometa.data.add_rows`.

Fields come from flags (one per column of ``studies.csv`` and ``outcomes.csv``) or from a
CSV file. Missing required fields are asked for when stdin is a terminal (or with
``--interactive``), re-asking on an invalid answer; otherwise they are an error listing
them all, so that a script never waits for input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .data import data_dir, writable_data_dir
from .data import vocabulary as vocab
from .data.adding import (
    OUTCOME_FIELDS,
    ROW_FIELDS,
    STUDY_FIELDS,
    AddReport,
    add_rows,
    add_rows_from_csv,
    check_field,
    existing_rows,
    required_fields,
)

__all__ = ["register"]

Ask = Callable[[str], str]

# What each field holds, for --help and for the prompts (data/extracted/README.md has more).
_HELP: dict[str, str] = {
    "study_id": "id of the report: lower-case author + year, e.g. jabbour2023",
    "label": "unique label for plots and tables, e.g. 'Kantarjian 2019 (INO-VATE)'",
    "first_author": "first author, e.g. 'Jabbour E'",
    "year": "citation year",
    "publication_date": "first public appearance: YYYY, YYYY-MM or YYYY-MM-DD",
    "journal": "journal or meeting",
    "doi": "DOI, only where a stored source shows it",
    "url": "the page used",
    "registry_id": "trial registration, e.g. NCT01564784",
    "phase": "trial phase as reported, e.g. 2, 1/2, retrospective",
    "partner_drugs": "drugs given with InO",
    "population": "who was treated",
    "n_enrolled": "patients enrolled",
    "n_treated": "patients treated",
    "cohort": "cohort id; reuse the cohort of reports of the same patients",
    "study_notes": "notes on the report (studies.csv notes)",
    "events": "number of patients with the event",
    "total": "the denominator's number of patients",
    "denominator_definition": "the denominator in words, e.g. 'all 80 treated'",
    "definition": "what counts as an event, e.g. 'CR + CRi'",
    "derivation": "the arithmetic, when the count is derived, e.g. '75% x 40 = 30'",
    "source": "where the quote was read: URL, DOI or seed:<id>",
    "quote": "the sentence the count comes from, verbatim",
    "location": "where in the report: abstract, table, section",
    "outcome_notes": "notes on the outcome row (outcomes.csv notes)",
    "replaces": "study_id of an older report of the same cohort that this one replaces",
    "reason": "why the report joins the set(s); Enter to record that none was given",
}

_CHOICES: dict[str, Sequence[str]] = {
    "report_type": tuple(vocab.REPORT_TYPES),
    "design": tuple(vocab.DESIGNS),
    "setting": tuple(vocab.SETTINGS),
    "regimen": tuple(vocab.REGIMENS),
    "adults_only": tuple(vocab.ADULTS_ONLY),
    "ph_status": tuple(vocab.PH_STATUS),
    "outcome": tuple(vocab.OUTCOMES),
    "denominator": tuple(vocab.DENOMINATORS),
    "derived": tuple(vocab.YES_NO),
    "verification": tuple(vocab.VERIFICATION),
}


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def _describe(field: str) -> str:
    if field in _CHOICES:
        return "one of: " + ", ".join(_CHOICES[field])
    return _HELP.get(field, "")


def _help(field: str) -> str:
    """Help text for argparse, which expands ``%`` (the derivation example has one)."""
    return _describe(field).replace("%", "%%")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``add-study`` subcommand to the ``inometa`` parser."""
    add = sub.add_parser(
        "add-study",
        help="add a report or outcome rows to the extracted data, validated first",
        description=(
            "Append a study report and its outcome rows to data/extracted (studies.csv, "
            "outcomes.csv) and add them to analysis sets (analysis_sets.toml: 'latest' "
            "unless --set is given). Everything is validated as `inometa validate` does "
            "before any file is written; existing lines are kept byte for byte. Missing "
            "required fields are prompted for in a terminal (or with --interactive)."
        ),
    )
    study = add.add_argument_group("study (studies.csv; only for a study not yet in the file)")
    study.add_argument("--study-id", dest="study_id", help=_help("study_id"))
    for field in STUDY_FIELDS:
        study.add_argument(_flag(field), dest=field, metavar="VALUE", help=_help(field))
    outcome = add.add_argument_group("outcome (outcomes.csv)")
    for field in OUTCOME_FIELDS:
        outcome.add_argument(_flag(field), dest=field, metavar="VALUE", help=_help(field))
    sets = add.add_argument_group("analysis sets (analysis_sets.toml)")
    sets.add_argument(
        "--set",
        dest="sets",
        action="append",
        metavar="NAME",
        help="set to join (repeatable; default: latest). Naming lao2025 changes the "
        "reconstruction of the published set",
    )
    sets.add_argument("--no-set", action="store_true", help="join no set (record the row only)")
    sets.add_argument("--reason", help="why the report joins the set(s) (recorded with it)")
    sets.add_argument("--replaces", dest="replaces", metavar="STUDY_ID", help=_help("replaces"))
    add.add_argument(
        "--from-csv",
        metavar="FILE",
        help="add the rows of a CSV file (one row per study x outcome; format in "
        "data/extracted/README.md)",
    )
    add.add_argument(
        "--replace",
        action="store_true",
        help="replace an existing (study, outcome) row; its old values go into its notes",
    )
    add.add_argument(
        "--data-dir",
        default=None,
        help="the data/extracted directory to write to (default: $INOMETA_DATA); never the "
        "copy installed with the package: `inometa data copy DIR` makes a writable one",
    )
    add.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    add.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    add.add_argument(
        "--interactive",
        action="store_true",
        help="prompt for missing fields even when stdin is not a terminal",
    )
    add.set_defaults(func=_cmd_add_study)


def _ask(prompt: str) -> str:
    return input(prompt)


def _ask_field(field: str, ask: Ask, default: str | None = None) -> str:
    """Ask for one field until the answer is valid; Enter takes ``default`` when given."""
    hint = _describe(field)
    prompt = f"{field}" + (f" ({hint})" if hint else "")
    if default:
        prompt += f" [{default}]"
    while True:
        try:
            answer = ask(prompt + ": ").strip()
        except EOFError:
            raise ValueError(f"input ended while asking for {field}; nothing written") from None
        if not answer and default is not None:
            answer = default
        problem = check_field(field, answer)
        if problem is None:
            return answer
        print(f"  {field}: {problem}", file=sys.stderr)


def _required(row: dict[str, str], args: argparse.Namespace, directory: Path) -> tuple[str, ...]:
    """The fields this row needs: none beyond its key when it replaces an existing row."""
    studies, keys = existing_rows(directory)
    if args.replace and (row.get("study_id"), row.get("outcome")) in keys:
        return ("study_id", "outcome")
    return required_fields(new_study=row.get("study_id", "") not in studies)


def _prompt(row: dict[str, str], args: argparse.Namespace, directory: Path, ask: Ask) -> None:
    """Fill the missing (or invalid) required fields of ``row`` by asking."""
    for field in ("study_id", "outcome"):
        if check_field(field, row.get(field, "")) is not None:
            row[field] = _ask_field(field, ask)
    required = _required(row, args, directory)
    new = "label" in required
    print(
        f"{'New' if new else 'Existing'} study '{row['study_id']}', outcome '{row['outcome']}' "
        "(Ctrl-D stops; nothing is written before you confirm)",
        file=sys.stderr,
    )
    for field in required:
        problem = check_field(field, row.get(field, ""))
        if problem is not None:
            if row.get(field):
                print(f"  {field} {row[field]!r}: {problem}", file=sys.stderr)
            row[field] = _ask_field(field, ask)
        if field == "total":
            while int(row["events"]) > int(row["total"]):
                print(f"  events {row['events']} > total {row['total']}", file=sys.stderr)
                row["events"] = _ask_field("events", ask)
                row["total"] = _ask_field("total", ask)
    if len(required) == 2:  # a replacement: the other fields keep their old values
        return
    if not row.get("derived"):
        row["derived"] = _ask_field("derived", ask, "yes" if row.get("derivation") else "no")
    if row["derived"] == "yes" and not row.get("derivation"):
        while not (answer := _ask_field("derivation", ask)):
            print("  derivation: a derived count must say how it was derived", file=sys.stderr)
        row["derivation"] = answer
    if not args.no_set and not args.reason and not row.get("reason"):
        row["reason"] = _ask_field("reason", ask, "")


def _missing_message(row: dict[str, str], required: Sequence[str]) -> str:
    missing = [_flag(f) for f in required if not row.get(f)]
    what = (
        f"a new study ('{row['study_id']}')"
        if "label" in required and row.get("study_id")
        else "the row"
    )
    return (
        f"missing required fields for {what}: {', '.join(missing)} (give them as flags, "
        "use --from-csv, or run in a terminal or with --interactive to be prompted)"
    )


def _sets(args: argparse.Namespace) -> tuple[str, ...] | None:
    if args.no_set and args.sets:
        raise ValueError("--no-set and --set exclude each other")
    return () if args.no_set else (tuple(args.sets) if args.sets else None)


def _warn(report: AddReport) -> None:
    for warning in report.warnings:
        print(f"inometa add-study: warning: {warning}", file=sys.stderr)


def _print_done(report: AddReport, args: argparse.Namespace) -> None:
    print(report.format(diff=args.dry_run, warnings=False))
    if not report.written:
        print("Nothing written (--dry-run).")
        return
    data = f" --data {args.data_dir}" if args.data_dir else ""
    names = dict.fromkeys(m.set for m in report.memberships) or {"latest": None}
    print("Next: " + "; ".join(f"inometa reproduce --set {n}{data}" for n in names))


def _run(
    args: argparse.Namespace, row: dict[str, str], sets: tuple[str, ...] | None, dry_run: bool
) -> AddReport:
    if args.from_csv:
        return add_rows_from_csv(
            args.from_csv,
            sets=sets,
            reason=args.reason,
            replace=args.replace,
            path=args.data_dir,
            dry_run=dry_run,
        )
    return add_rows(
        [row],
        sets=sets,
        reason=args.reason,
        replace=args.replace,
        path=args.data_dir,
        dry_run=dry_run,
    )


def _cmd_add_study(args: argparse.Namespace, ask: Ask = _ask) -> int:
    sets = _sets(args)
    interactive = args.interactive or sys.stdin.isatty()
    directory = data_dir(args.data_dir) if args.dry_run else writable_data_dir(args.data_dir)
    row = {f: getattr(args, f) for f in ROW_FIELDS if f != "reason" and getattr(args, f)}
    if args.from_csv and row:
        flags = ", ".join(_flag(f) for f in row)
        raise ValueError(f"--from-csv reads the rows from the file; do not also give {flags}")
    if not args.from_csv:
        required = _required(row, args, directory)
        if any(not row.get(f) for f in required):
            if not interactive:
                raise ValueError(_missing_message(row, required))
            _prompt(row, args, directory, ask)
    confirm = interactive and not args.yes and not args.dry_run
    if confirm:
        plan = _run(args, row, sets, dry_run=True)
        _warn(plan)
        print(plan.format(diff=True, warnings=False))
        try:
            answer = ask(f"Write these changes to {directory}? [y/N] ").strip().lower()
        except EOFError:
            answer = ""
        if answer not in {"y", "yes"}:
            print("Nothing written.")
            return 1
    try:
        report = _run(args, row, sets, dry_run=args.dry_run)
    except OSError as exc:
        raise ValueError(f"could not write to {directory} ({exc}); no file was changed") from exc
    if not confirm:
        _warn(report)
    _print_done(report, args)
    return 0
