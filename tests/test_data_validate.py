"""Validation of data/extracted: the shipped data pass; each class of error is caught and
located (file, line as in the file with the header as line 1, column, value); the CLI exits
non-zero on errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from inometa.cli import main
from inometa.data import Issue, validate

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"
TARGET = {"studies": "studies.csv", "outcomes": "outcomes.csv", "sets": "analysis_sets.toml"}


def make_dataset(tmp_path: Path, broken: str | None = None) -> Path:
    """A copy of the valid fixture dataset, with one file replaced by a broken fixture."""
    directory = tmp_path / "extracted"
    shutil.copytree(FIXTURES / "valid", directory)
    if broken is not None:
        shutil.copy(FIXTURES / "broken" / broken, directory / TARGET[broken.split("_")[0]])
    return directory


def find(issues: tuple[Issue, ...], file: str, line: int | None, column: str) -> Issue:
    matches = [i for i in issues if (i.file, i.line, i.column) == (file, line, column)]
    assert matches, f"no issue at {file}:{line} column {column!r} in:\n" + "\n".join(
        map(str, issues)
    )
    return matches[0]


def test_shipped_data_validates_without_errors() -> None:
    report = validate(ROOT / "data" / "extracted")
    assert report.errors == (), report.format()
    assert report.ok


def test_shipped_data_warns_about_derived_counts_and_partial_denominators() -> None:
    report = validate(ROOT / "data" / "extracted")
    messages = [w.message for w in report.warnings]
    assert any(m.startswith("count derived: 80.7% x 109") for m in messages)
    assert any("not the full study population" in m for m in messages)


def test_valid_fixture_passes(tmp_path: Path) -> None:
    report = validate(make_dataset(tmp_path))
    assert report.ok, report.format()
    assert [w.line for w in report.warnings] == [7, 8]


# (broken fixture, file, line, column, value, part of the message)
CASES = [
    ("studies_missing_column.csv", "studies.csv", 1, "cohort", "", "required column is missing"),
    ("studies_duplicate_id.csv", "studies.csv", 5, "study_id", "beta2021", "first on line 3"),
    ("studies_duplicate_label.csv", "studies.csv", 5, "label", "Gamma 2023", "duplicate label"),
    ("studies_bad_date.csv", "studies.csv", 4, "publication_date", "2023-13", "ISO date"),
    ("studies_bad_choice.csv", "studies.csv", 2, "setting", "relapsed", "must be one of"),
    ("outcomes_events_over_total.csv", "outcomes.csv", 6, "events", "60", "events 60 > total 50"),
    ("outcomes_not_integer.csv", "outcomes.csv", 2, "events", "10.5", "whole number"),
    ("outcomes_total_zero.csv", "outcomes.csv", 8, "total", "0", "at least 1"),
    ("outcomes_unknown_outcome.csv", "outcomes.csv", 8, "outcome", "orrr", "must be one of"),
    ("outcomes_unknown_study.csv", "outcomes.csv", 8, "study_id", "epsilon2025", "no such"),
    ("outcomes_duplicate_row.csv", "outcomes.csv", 6, "outcome", "vod", "first on line 5"),
    ("outcomes_missing_source.csv", "outcomes.csv", 5, "source", "", "required value is empty"),
    ("outcomes_missing_quote.csv", "outcomes.csv", 2, "quote", "", "required value is empty"),
    ("outcomes_derived_without_how.csv", "outcomes.csv", 7, "derivation", "", "must say how"),
    # README rule 8, one fixture per way a derivation can fail
    (
        "outcomes_rounding_not_reproduced.csv",
        "outcomes.csv",
        7,
        "derivation",
        "82% x 46 = 37.7 -> 38",
        "38/46 = 82.61%, which prints as 83% rounding half up and 83% rounding half to even, "
        "not 82%; no whole number of 46 gives 82%",
    ),
    (
        "outcomes_rounding_not_unique.csv",
        "outcomes.csv",
        7,
        "derivation",
        "10% x 250 = 25",
        "24, 25, 26 of 250 all give 10%, so the count cannot be derived",
    ),
    (
        "outcomes_rounding_bad_product.csv",
        "outcomes.csv",
        7,
        "derivation",
        "2% x 50 = 1.5 -> 1",
        "2% x 50 = 1, not 1.5",
    ),
    (
        "outcomes_rounding_bad_ratio.csv",
        "outcomes.csv",
        7,
        "derivation",
        "1/50 = 2.5%",
        "the arithmetic is wrong: 1/50 = 2%, which prints as 2.0% rounding half up",
    ),
    (
        "outcomes_rounding_reported.csv",
        "outcomes.csv",
        7,
        "derivation",
        "1 of 50 = 1 (reported 3%)",
        "the row's count does not reproduce the cited percentage: 1/50 = 2%",
    ),
    (
        "outcomes_rounding_count_changed.csv",
        "outcomes.csv",
        7,
        "derivation",
        "2% x 50 = 1",
        "does not arrive at the row's count 2",
    ),
    (
        "outcomes_rounding_no_denominator.csv",
        "outcomes.csv",
        7,
        "derivation",
        "1 VOD in the review table = 1",
        "does not show the denominator 50",
    ),
    (
        "outcomes_verification_derived_verbatim.csv",
        "outcomes.csv",
        7,
        "verification",
        "verbatim",
        "a derived count is not printed verbatim",
    ),
    (
        "outcomes_verification_seed_verbatim.csv",
        "outcomes.csv",
        7,
        "verification",
        "derived",
        "a seed document is a secondary source",
    ),
    ("outcomes_verification_unknown.csv", "outcomes.csv", 7, "verification", "checked", "one of"),
    (
        "outcomes_verification_not_derived.csv",
        "outcomes.csv",
        2,
        "verification",
        "derived",
        "needs derived = yes",
    ),
    ("sets_unknown_member.toml", "analysis_sets.toml", 13, "study", "zeta2022", "no such"),
    ("sets_unknown_outcome.toml", "analysis_sets.toml", 14, "outcomes", "response", "unknown"),
    ("sets_missing_outcome_row.toml", "analysis_sets.toml", 14, "outcomes", "sct", "no 'sct' row"),
    ("sets_cohort_twice.toml", "analysis_sets.toml", 19, "study", "alpha2020", "counted twice"),
    ("sets_after_cutoff.toml", "analysis_sets.toml", 13, "study", "delta2025", "after the set"),
    ("sets_missing_reason.toml", "analysis_sets.toml", 10, "reason", "beta2021", "needs a reason"),
    ("sets_unknown_parent.toml", "analysis_sets.toml", 24, "extends", "basis", "unknown set"),
    ("sets_replaces_non_member.toml", "analysis_sets.toml", 28, "replaces", "alpha2020", "not a"),
    (
        "sets_replaces_other_cohort.toml",
        "analysis_sets.toml",
        28,
        "replaces",
        "gamma2023",
        "cohort",
    ),
    ("sets_cycle.toml", "analysis_sets.toml", 5, "extends", "newer", "forms a cycle"),
    ("sets_unknown_key.toml", "analysis_sets.toml", 26, "outcome", "outcome", "unknown key"),
    ("sets_member_and_excluded.toml", "analysis_sets.toml", 19, "study", "beta2021", "both a"),
]


@pytest.mark.parametrize(
    ("broken", "file", "line", "column", "value", "text"), CASES, ids=[c[0] for c in CASES]
)
def test_each_error_class_is_located(
    tmp_path: Path, broken: str, file: str, line: int, column: str, value: str, text: str
) -> None:
    report = validate(make_dataset(tmp_path, broken))
    assert not report.ok
    issue = find(report.errors, file, line, column)
    assert issue.value == value
    assert text in issue.message
    shown = str(issue)
    assert f"{file}:{line}" in shown and f"'{column}'" in shown and repr(value) in shown


def test_a_shipped_derived_count_changed_by_one_fails_naming_its_line(tmp_path: Path) -> None:
    directory = tmp_path / "extracted"
    shutil.copytree(ROOT / "data" / "extracted", directory)
    outcomes = directory / "outcomes.csv"
    lines = outcomes.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if line.startswith("jabbour2023,orr,73,74,"))
    lines[number] = lines[number].replace("jabbour2023,orr,73,74,", "jabbour2023,orr,72,74,")
    outcomes.write_text("".join(lines), encoding="utf-8")
    report = validate(directory)
    assert [(e.line, e.column) for e in report.errors] == [(number + 1, "derivation")]
    assert "does not arrive at the row's count 72" in report.errors[0].message


def test_study_neither_included_nor_excluded_is_a_warning(tmp_path: Path) -> None:
    directory = make_dataset(tmp_path)
    sets = directory / "analysis_sets.toml"
    text = sets.read_text()
    sets.write_text(
        text.replace('[[base.exclude]]\nstudy = "alpha2020"', '[[base.exclude]]\nstudy = ""')
    )
    report = validate(directory)
    assert any(
        w.value == "alpha2020" and "neither a member of set 'base'" in w.message
        for w in report.warnings
    )


def test_ragged_record_is_located(tmp_path: Path) -> None:
    report = validate(make_dataset(tmp_path, "outcomes_ragged.csv"))
    issue = find(report.errors, "outcomes.csv", 5, "")
    assert issue.value.startswith("beta2021,vod,2,30")
    assert "13 fields but the header has 14" in issue.message


def test_toml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    report = validate(make_dataset(tmp_path, "sets_bad_toml.toml"))
    (issue,) = report.errors
    assert (issue.file, issue.line) == ("analysis_sets.toml", 29)
    assert "not valid TOML" in issue.message


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    directory = make_dataset(tmp_path)
    (directory / "outcomes.csv").unlink()
    report = validate(directory)
    issue = find(report.errors, "outcomes.csv", None, "")
    assert "file not found" in issue.message


def test_line_numbers_count_multiline_quotes(tmp_path: Path) -> None:
    # The beta2021 orr quote spans lines 3-4, so beta2021's vod row is on line 5.
    report = validate(make_dataset(tmp_path, "outcomes_missing_source.csv"))
    assert find(report.errors, "outcomes.csv", 5, "source").value == ""


def test_report_raises_value_error_listing_errors(tmp_path: Path) -> None:
    report = validate(make_dataset(tmp_path, "outcomes_events_over_total.csv"))
    with pytest.raises(ValueError, match=r"outcomes\.csv:6: column 'events', value '60'"):
        report.raise_if_errors()


def test_cli_validate_exits_zero_on_shipped_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ROOT / "data" / "extracted")]) == 0
    out = capsys.readouterr().out
    assert "0 errors" in out and "warnings:" in out and out.rstrip().endswith("warnings")


def test_cli_validate_exits_nonzero_on_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = make_dataset(tmp_path, "outcomes_events_over_total.csv")
    assert main(["validate", str(directory)]) == 1
    out = capsys.readouterr().out
    errors, warnings = out.split("\n2 warnings")
    assert "1 errors:" in errors and "outcomes.csv:6: column 'events', value '60'" in errors
    assert "count derived" in warnings
    assert "FAILED" in out


def test_cli_validate_errors_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--errors-only", str(make_dataset(tmp_path))]) == 0
    assert "count derived" not in capsys.readouterr().out


def test_cli_validate_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nowhere")]) == 2
    assert "no data directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("events", "total", "error"),
    [
        ("50", "50", None),  # events = total: a 100% study is valid
        ("51", "50", "events 51 > total 50"),  # one more than the total is not
        ("1", "1", None),  # a one-patient study is valid
        ("2", "1", "events 2 > total 1"),
    ],
)
def test_count_boundaries(tmp_path: Path, events: str, total: str, error: str | None) -> None:
    directory = make_dataset(tmp_path)
    outcomes = directory / "outcomes.csv"
    line = "gamma2023,orr,40,50,"
    text = outcomes.read_text()
    assert line in text
    outcomes.write_text(text.replace(line, f"gamma2023,orr,{events},{total},"))
    report = validate(directory)
    over = [i for i in report.errors if "events" in i.message and "> total" in i.message]
    if error is None:
        assert report.errors == (), report.format()
    else:
        assert [(i.line, i.column) for i in over] == [(6, "events")]
        assert error in over[0].message
