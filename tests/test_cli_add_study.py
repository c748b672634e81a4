"""The `inometa add-study` command: flags, --from-csv, prompts, confirmation, and errors
that exit 2 without writing. Every test works on a fresh copy of data/extracted."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from inometa import data
from inometa.cli import main

from .add_support import EXAMPLE_CSV, NEW_ORR, copy_data, listing, new_row, snapshot


@pytest.fixture
def extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("INOMETA_DATA", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal, nothing to read
    return copy_data(tmp_path)


def flags(row: dict[str, Any]) -> list[str]:
    """Command-line flags for the fields of a row."""
    out: list[str] = []
    for field, value in row.items():
        out += ["--" + field.replace("_", "-"), str(value)]
    return out


def add_study(directory: Path, *args: str) -> int:
    return main(["add-study", "--data-dir", str(directory), *args])


def test_flags_add_a_study_and_suggest_reproducing(
    extracted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(extracted)
    assert add_study(extracted, *flags(new_row()), "--reason", "A new trial.") == 0
    out = capsys.readouterr().out
    assert "Wrote " in out and "studies.csv: 1 study added (doe2026)" in out
    assert "outcomes.csv: 1 row added (doe2026 orr)" in out
    assert f"Next: inometa reproduce --set latest --data {extracted}" in out
    after = snapshot(extracted)
    assert all(after[name].startswith(before[name]) for name in before)
    assert main(["validate", str(extracted), "--errors-only"]) == 0
    assert "doe2026" in set(data.analysis_set("latest", "orr", path=extracted).study_id)
    assert "doe2026" not in set(data.analysis_set("lao2025", "orr", path=extracted).study_id)


def test_missing_fields_without_a_terminal_are_listed_and_nothing_is_asked(
    extracted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(extracted)
    code = add_study(extracted, "--study-id", "doe2026", "--outcome", "orr", "--events", "5")
    err = capsys.readouterr().err
    assert code == 2 and snapshot(extracted) == before
    assert err.startswith(
        "inometa add-study: error: missing required fields for a new study ('doe2026'): "
        "--total, --denominator, --denominator-definition, --definition, --source, --quote, "
        "--location, --label, --first-author, --year, --publication-date, --journal, "
        "--report-type, --design, --phase, --setting, --regimen, --population, --adults-only, "
        "--ph-status, --cohort (give them as flags"
    )


def test_missing_fields_of_an_existing_study_are_only_the_outcome_ones(
    extracted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = add_study(extracted, "--study-id", "jabbour2023", *flags(NEW_ORR | {"quote": ""}))
    err = capsys.readouterr().err
    assert code == 2 and "missing required fields for the row: --quote (give" in err


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (new_row(events=42), "column 'events', value '42': events 42 > total 40"),
        (new_row(outcome="response"), "column 'outcome', value 'response': must be one of:"),
        (
            {"study_id": "jabbour2023", **NEW_ORR, "total": 80},
            "73/74 evaluable); to replace it, pass replace=True (`inometa add-study --replace`)",
        ),
    ],
    ids=["events>total", "unknown-outcome", "duplicate"],
)
def test_invalid_input_exits_2_and_writes_nothing(
    extracted: Path, capsys: pytest.CaptureFixture[str], row: dict[str, Any], message: str
) -> None:
    before, files = snapshot(extracted), listing(extracted)
    assert add_study(extracted, *flags(row)) == 2
    err = capsys.readouterr().err
    assert err.startswith("inometa add-study: error: nothing written: 1 problem:\n")
    assert message in err
    assert snapshot(extracted) == before and listing(extracted) == files


def test_replace_keeps_history(extracted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--replace", "--study-id", "jabbour2023", "--outcome", "orr", "--events", "72"]
    args += ["--derived", "no"]
    assert add_study(extracted, *args) == 0
    assert "outcomes.csv: 1 row replaced (jabbour2023 orr)" in capsys.readouterr().out
    row = data.load_extracted(extracted).query("study_id == 'jabbour2023' and outcome == 'orr'")
    assert row.events.item() == 72 and "was 73/74 evaluable" in row.outcome_notes.item()


def test_lao2025_needs_a_report_published_by_its_cutoff(
    extracted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add_study(extracted, *flags(new_row()), "--set", "lao2025") == 2
    assert "published after the published_on_or_before date of set 'lao2025' (2024-12-02)" in (
        capsys.readouterr().err
    )
    early = new_row(publication_date="2024-06", year=2024, label="Doe 2024", study_id="doe2024")
    assert add_study(extracted, *flags(early), "--set", "lao2025") == 0
    captured = capsys.readouterr()
    assert "inometa add-study: warning: set 'lao2025' reconstructs a search" in captured.err
    assert "Next: inometa reproduce --set lao2025" in captured.out
    assert "doe2024" in set(data.analysis_set("lao2025", "orr", path=extracted).study_id)


def test_from_csv(extracted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert add_study(extracted, "--from-csv", str(EXAMPLE_CSV), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "Would write" in out and "+example2026,vod,3,40" in out and "Nothing written" in out
    assert add_study(extracted, "--from-csv", str(EXAMPLE_CSV)) == 0
    assert data.validate(extracted).ok
    assert add_study(extracted, "--from-csv", str(EXAMPLE_CSV), "--label", "x") == 2
    assert "do not also give --label" in capsys.readouterr().err


def test_set_and_no_set_exclude_each_other(
    extracted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add_study(extracted, *flags(new_row()), "--set", "latest", "--no-set") == 2
    assert "--no-set and --set exclude each other" in capsys.readouterr().err


# --- interactive ------------------------------------------------------------------------

ANSWERS = [
    "doe2026",  # study_id
    "Doe 2026",  # label
    "Doe J",  # first_author
    "2026",  # year
    "2026-13",  # publication_date: invalid, asked again
    "2026-03",
    "Example J",  # journal
    "article",  # report_type: not in the vocabulary, asked again
    "journal_article",
    "single_arm",  # design
    "2",  # phase
    "relapsed_refractory",  # setting
    "monotherapy",  # regimen
    "adults with R/R ALL",  # population
    "yes",  # adults_only
    "any",  # ph_status
    "doe_trial",  # cohort
    "",  # derived: Enter takes the default (no)
    "",  # reason: Enter records that none was given
]


def run_interactive(
    directory: Path, monkeypatch: pytest.MonkeyPatch, answers: list[str], *args: str
) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(a + "\n" for a in answers)))
    return add_study(directory, "--interactive", *args)


def test_prompts_ask_each_missing_field_again_until_valid_then_confirm(
    extracted: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = flags(NEW_ORR)
    assert run_interactive(extracted, monkeypatch, [*ANSWERS, "y"], *outcome) == 0
    captured = capsys.readouterr()
    assert "publication_date: must be an ISO date" in captured.err
    assert "report_type: must be one of: journal_article, conference_abstract" in captured.err
    assert "report_type (one of: journal_article, conference_abstract, registry_record): " in (
        captured.out
    )
    assert "+doe2026,orr,30,40" in captured.out  # the diff shown before confirming
    assert "Write these changes to" in captured.out and "Wrote " in captured.out
    added = data.load_extracted(extracted).query("study_id == 'doe2026'").iloc[0]
    assert (added.publication_date, added.report_type, added.derived) == (
        "2026-03",
        "journal_article",
        False,
    )


def test_declining_the_confirmation_writes_nothing(
    extracted: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(extracted)
    assert run_interactive(extracted, monkeypatch, [*ANSWERS, "n"], *flags(NEW_ORR)) == 1
    assert "Nothing written." in capsys.readouterr().out
    assert snapshot(extracted) == before


def test_input_ending_mid_way_writes_nothing(
    extracted: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(extracted)
    assert run_interactive(extracted, monkeypatch, ANSWERS[:5], *flags(NEW_ORR)) == 2
    assert "input ended while asking for publication_date; nothing written" in (
        capsys.readouterr().err
    )
    assert snapshot(extracted) == before


def test_yes_skips_the_confirmation_and_events_above_total_are_asked_again(
    extracted: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--study-id", "jabbour2023", "--outcome", "mrd_neg", "--events", "90", "--yes"]
    rest = flags({k: v for k, v in NEW_ORR.items() if k not in {"outcome", "events", "total"}})
    answers = ["79", "50", "79", "", ""]  # total (90 > 79), events, total, derived, reason
    assert run_interactive(extracted, monkeypatch, answers, *args, *rest) == 0
    captured = capsys.readouterr()
    assert "events 90 > total 79" in captured.err and "Write these changes" not in captured.out
    row = data.load_extracted(extracted).query("study_id == 'jabbour2023' and outcome == 'mrd_neg'")
    assert (row.events.item(), row.total.item()) == (50, 79)


def test_help_lists_every_column_flag_with_its_allowed_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["add-study", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # help wraps to the terminal width
    assert caught.value.code == 0
    for flag in ("--publication-date", "--study-notes", "--outcome-notes", "--from-csv"):
        assert flag in out
    assert "one of: orr, cr, cr_cri" in out and "75% x 40 = 30" in out


def test_verification_flag_is_written_and_checked(
    extracted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add_study(extracted, *flags(new_row(verification="verbatim"))) == 0
    row = data.load_extracted(extracted).query("study_id == 'doe2026'")
    assert row["verification"].item() == "verbatim"
    before = snapshot(extracted)
    # a derived count cannot be called verbatim, and the vocabulary is closed
    derived = new_row(outcome="vod", events=3, derivation="7.5% x 40 -> 3", verification="verbatim")
    assert add_study(extracted, *flags(derived)) == 2
    assert "a derived count is not printed verbatim" in capsys.readouterr().err
    assert add_study(extracted, *flags(new_row(outcome="cr", verification="checked"))) == 2
    err = capsys.readouterr().err
    assert "column 'verification', value 'checked': must be one of: verbatim, derived" in err
    assert snapshot(extracted) == before


def test_verification_defaults_to_unverified(extracted: Path) -> None:
    assert add_study(extracted, *flags(new_row())) == 0
    row = data.load_extracted(extracted).query("study_id == 'doe2026'")
    assert row["verification"].item() == "unverified"
