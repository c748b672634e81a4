"""inometa.data.add_rows: appends only, validates before writing, refuses duplicates,
replaces with history, joins the right sets, and never leaves the files half-written.

Every test works on a fresh copy of data/extracted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from inometa import data
from inometa.data import AddError, add_rows, add_rows_from_csv
from inometa.data import _atomic as atomic

from .add_support import EXAMPLE_CSV, FILES, NEW_ORR, copy_data, listing, new_row, snapshot


@pytest.fixture
def extracted(tmp_path: Path) -> Path:
    return copy_data(tmp_path)


def _appended(before: dict[str, bytes], after: dict[str, bytes]) -> dict[str, bytes]:
    """What each file gained at its end; fails if any old byte changed."""
    for name in FILES:
        assert after[name].startswith(before[name]), f"{name}: an existing line changed"
    return {name: after[name][len(before[name]) :] for name in FILES}


# --- a valid new study ------------------------------------------------------------------


def test_a_new_study_only_appends_lines(extracted: Path) -> None:
    before = snapshot(extracted)
    report = add_rows([new_row(reason="A new trial.")], path=extracted)
    gained = _appended(before, snapshot(extracted))
    assert gained["studies.csv"].decode().startswith("doe2026,Doe 2026,Doe J,2026,2026-03,")
    assert gained["studies.csv"].count(b"\n") == 1
    assert gained["outcomes.csv"] == (
        b"doe2026,orr,30,40,treated,all 40 treated,CR + CRi,no,,unverified,https://example.org/doe2026,"
        b"Thirty of 40 patients (75%) achieved CR or CRi.,abstract,\n"
    )
    assert gained["analysis_sets.toml"] == (
        b'\n[[latest.member]]\nstudy = "doe2026"\noutcomes = ["orr"]\nreason = "A new trial."\n'
    )
    assert report.written and report.new_studies == ("doe2026",)
    assert report.added == (("doe2026", "orr"),) and report.replaced == ()
    assert [f.removed for f in report.files] == [(), (), ()]
    assert [len(f.added) for f in report.files] == [1, 1, 5]


def test_after_an_add_the_data_validate_and_the_study_is_in_latest_not_lao2025(
    extracted: Path,
) -> None:
    add_rows([new_row(), new_row(outcome="vod", events=2, quote="Two had VOD.")], path=extracted)
    assert data.validate(extracted).ok
    for outcome in ("orr", "vod"):
        latest = data.analysis_set("latest", outcome, path=extracted)
        row = latest[latest.study_id == "doe2026"]
        assert len(row) == 1 and row.iloc[0].chosen_in == "latest"
        assert "doe2026" not in set(data.analysis_set("lao2025", outcome, path=extracted).study_id)
    assert "Added with inometa add-study on" in latest[latest.study_id == "doe2026"].iloc[0].reason


def test_rows_as_a_dataframe_and_numbers_as_floats(extracted: Path) -> None:
    frame = pd.DataFrame([new_row(events=30.0, total=40.0, n_treated=float("nan"))])
    add_rows(frame, path=extracted)
    added = data.load_extracted(extracted).query("study_id == 'doe2026'").iloc[0]
    assert (added.events, added.total) == (30, 40) and pd.isna(added.n_treated)


def test_a_new_outcome_of_an_existing_study_adds_one_row_and_a_latest_entry(
    extracted: Path,
) -> None:
    before = snapshot(extracted)
    row = {"study_id": "jabbour2023", **NEW_ORR, "outcome": "mrd_neg", "total": 79}
    report = add_rows([row], path=extracted, reason="MRD now reported.")
    gained = _appended(before, snapshot(extracted))
    assert gained["studies.csv"] == b"" and gained["outcomes.csv"].startswith(b"jabbour2023,mrd")
    assert report.memberships == (
        data.adding.Membership("latest", "jabbour2023", ("mrd_neg",), True),
    )
    mrd = data.analysis_set("latest", "mrd_neg", path=extracted)
    assert "jabbour2023" in set(mrd.study_id)
    assert "jabbour2023" not in set(
        data.analysis_set("lao2025", "mrd_neg", path=extracted).study_id
    )


def test_a_study_already_in_the_set_gains_the_outcome_in_its_entry(extracted: Path) -> None:
    row = {"study_id": "wieduwilt2025", **NEW_ORR, "outcome": "vod", "events": 1, "total": 33}
    report = add_rows([row], path=extracted)
    (toml,) = [f for f in report.files if f.file == "analysis_sets.toml"]
    assert toml.removed == ('outcomes = ["orr", "cr_cri"]',)
    assert toml.added == ('outcomes = ["orr", "cr_cri", "vod"]',)
    vod = data.analysis_set("latest", "vod", path=extracted)
    # The newer report now replaces the older one for VOD too (its entry has `replaces`).
    assert "wieduwilt2025" in set(vod.study_id) and "wieduwilt2023" not in set(vod.study_id)
    assert any("wieduwilt2023" in w and "neither a member" in w for w in report.warnings)


def test_an_outcomes_list_written_one_per_line_gains_a_line(extracted: Path) -> None:
    sets = extracted / "analysis_sets.toml"
    one_line = 'outcomes = ["orr", "cr_cri"]'
    text = sets.read_text(encoding="utf-8")
    assert text.count(one_line) == 1
    sets.write_text(
        text.replace(one_line, 'outcomes = [\n  "orr",\n  "cr_cri"  # both\n]'), encoding="utf-8"
    )
    row = {"study_id": "wieduwilt2025", **NEW_ORR, "outcome": "vod", "events": 1, "total": 33}
    report = add_rows([row], path=extracted)
    (toml,) = [f for f in report.files if f.file == "analysis_sets.toml"]
    assert toml.removed == ('  "cr_cri"  # both',)
    assert toml.added == ('  "cr_cri",  # both', '  "vod",')
    assert "wieduwilt2025" in set(data.analysis_set("latest", "vod", path=extracted).study_id)
    assert data.validate(extracted).ok


def test_two_lists_written_one_per_line_are_both_extended(extracted: Path) -> None:
    # each extension adds a line; the lines named for the others must stay right
    sets = extracted / "analysis_sets.toml"
    text = sets.read_text(encoding="utf-8")
    for old, new in (
        ('outcomes = ["vod", "relapse"]', 'outcomes = [\n  "vod",\n  "relapse",\n]'),
        ('outcomes = ["cr_cri", "mrd_neg"]', 'outcomes = [\n  "cr_cri",\n  "mrd_neg",\n]'),
    ):
        assert text.count(old) == 1
        text = text.replace(old, new)
    sets.write_text(text, encoding="utf-8")
    rows = [
        {"study_id": "metheny2024", **NEW_ORR, "outcome": "sct", "events": 9, "total": 18},
        {"study_id": "jain2021", **NEW_ORR, "outcome": "vod", "events": 1, "total": 18},
    ]
    add_rows(rows, path=extracted, sets=["lao2025"])
    assert data.validate(extracted).ok
    for study, outcome in (("metheny2024", "sct"), ("jain2021", "vod")):
        assert study in set(data.analysis_set("lao2025", outcome, path=extracted).study_id)
    assert '  "relapse",\n  "sct",\n]' in sets.read_text(encoding="utf-8")
    assert '  "mrd_neg",\n  "vod",\n]' in sets.read_text(encoding="utf-8")


def test_joining_lao2025_needs_naming_it_warns_and_is_inherited_once(extracted: Path) -> None:
    row = new_row(study_id="late2024", label="Late 2024", publication_date="2024-11-30")
    report = add_rows([row], path=extracted, sets=["lao2025", "latest"])
    assert [m.set for m in report.memberships] == ["lao2025"]  # latest inherits it
    assert any("changes that reconstruction" in w for w in report.warnings)
    for name in ("lao2025", "latest"):
        orr = data.analysis_set(name, "orr", path=extracted)
        assert (orr.study_id == "late2024").sum() == 1
    assert data.validate(extracted).ok


def test_extending_an_existing_lao2025_entry_changes_one_line(extracted: Path) -> None:
    row = {"study_id": "jabbour2023", **NEW_ORR, "outcome": "mrd_neg", "total": 79}
    report = add_rows([row], path=extracted, sets=["lao2025"])
    (toml,) = [f for f in report.files if f.file == "analysis_sets.toml"]
    assert len(toml.removed) == len(toml.added) == 1
    assert toml.added[0].endswith('"relapse", "mrd_neg"]')
    assert "jabbour2023" in set(data.analysis_set("lao2025", "mrd_neg", path=extracted).study_id)


def test_no_set(extracted: Path) -> None:
    before = snapshot(extracted)
    report = add_rows([new_row()], path=extracted, sets=())
    assert report.memberships == ()
    assert snapshot(extracted)["analysis_sets.toml"] == before["analysis_sets.toml"]
    assert any("neither a member of set 'latest'" in w for w in report.warnings)


def test_dry_run_writes_nothing_but_reports_the_diff(extracted: Path) -> None:
    before = snapshot(extracted)
    report = add_rows([new_row()], path=extracted, dry_run=True)
    assert not report.written and snapshot(extracted) == before
    assert "Would write" in report.format() and "+doe2026,orr,30,40" in report.format(diff=True)


def test_from_csv_example(extracted: Path) -> None:
    before = snapshot(extracted)
    report = add_rows_from_csv(EXAMPLE_CSV, path=extracted)
    _appended(before, snapshot(extracted))
    assert report.added == (("example2026", "orr"), ("example2026", "vod"))
    assert data.validate(extracted).ok


def test_crlf_files_keep_their_bytes_and_get_crlf_lines(extracted: Path) -> None:
    for name in FILES:
        path = extracted / name
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    before = snapshot(extracted)
    add_rows([new_row()], path=extracted)
    gained = _appended(before, snapshot(extracted))
    for name in FILES:
        assert gained[name].count(b"\r\n") == gained[name].count(b"\n") > 0
    assert data.validate(extracted).ok


def test_a_file_without_final_newline_gains_one_before_the_new_row(extracted: Path) -> None:
    path = extracted / "outcomes.csv"
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    old = path.read_bytes()
    add_rows([new_row()], path=extracted)
    assert path.read_bytes().startswith(old + b"\ndoe2026,orr,")


# --- invalid input: nothing written, and the message says where -----------------------

INVALID = [
    pytest.param(
        new_row(events=42),
        r"study 'Doe 2026' \(row 1\), column 'events', value '42': events 42 > total 40",
        id="events>total",
    ),
    pytest.param(
        new_row(outcome="response"),
        r"study 'Doe 2026' \(row 1\), column 'outcome', value 'response': must be one of: orr",
        id="unknown-outcome",
    ),
    pytest.param(
        new_row(source=None),
        r"study 'Doe 2026' \(row 1\), column 'source', value '': required value is empty",
        id="missing-source",
    ),
    pytest.param(
        new_row(publication_date="2026-13"),
        r"column 'publication_date', value '2026-13': must be an ISO date",
        id="bad-date",
    ),
    pytest.param(
        new_row(total="forty"),
        r"column 'total', value 'forty': must be a whole number",
        id="not-a-number",
    ),
    pytest.param(
        new_row(derived="yes"),
        r"column 'derivation', value '': a derived count must say how",
        id="derived-without-derivation",
    ),
    pytest.param(
        new_row(label="Jabbour 2023"),
        r"column 'label', value 'Jabbour 2023': duplicate label \(first on line \d+\)",
        id="duplicate-label",
    ),
    pytest.param(
        new_row(cohort="inovate"),
        r"column 'study', value 'doe2026': analysis_sets.toml: cohort 'inovate' would be "
        r"counted twice in set 'latest'",
        id="cohort-twice",
    ),
    pytest.param(
        new_row(colour="blue"),
        r"row 1, column 'colour', value 'blue': unknown column; valid columns are: study_id",
        id="unknown-column",
    ),
    pytest.param(
        new_row(notes="x"),
        r"column 'notes', value 'x': ambiguous: write study_notes .* or outcome_notes",
        id="ambiguous-notes",
    ),
    pytest.param(
        {"study_id": "jabbour2023", "label": "Jabbour 2024", **NEW_ORR, "outcome": "mrd_neg"},
        r"study 'Jabbour 2024' \(row 1\), column 'label', value 'Jabbour 2024': the study is "
        r"already in studies.csv \(line \d+\) with label 'Jabbour 2023'",
        id="study-fields-disagree",
    ),
    pytest.param(
        {"study_id": "kantarjian2012", **NEW_ORR, "outcome": "vod", "total": 49},
        r"set 'latest' excludes this study .*join no set",
        id="excluded-study",
    ),
    pytest.param(
        {"study_id": "", **NEW_ORR},
        r"row 1, column 'study_id', value '': required value is empty",
        id="no-study-id",
    ),
]


@pytest.mark.parametrize(("row", "message"), INVALID)
def test_invalid_input_writes_nothing_and_says_where(
    extracted: Path, row: dict[str, Any], message: str
) -> None:
    before, files = snapshot(extracted), listing(extracted)
    with pytest.raises(AddError, match=message) as caught:
        add_rows([row], path=extracted)
    assert str(caught.value).startswith("nothing written: ")
    assert snapshot(extracted) == before and listing(extracted) == files


def test_every_problem_is_listed(extracted: Path) -> None:
    with pytest.raises(AddError) as caught:
        add_rows([new_row(events=42, source=None, outcome="orr", design="rct")], path=extracted)
    assert {(p.column, p.row) for p in caught.value.problems} == {
        ("events", 1),
        ("source", 1),
        ("design", 1),
    }


def test_a_report_after_the_cutoff_cannot_join_lao2025(extracted: Path) -> None:
    before = snapshot(extracted)
    with pytest.raises(
        AddError,
        match=r"study 'Doe 2026' \(row 1\), column 'publication_date', value '2026-03': "
        r"published after the published_on_or_before date of set 'lao2025' \(2024-12-02\)",
    ):
        add_rows([new_row()], path=extracted, sets=["lao2025"])
    assert snapshot(extracted) == before


def test_an_unknown_set_lists_the_valid_ones(extracted: Path) -> None:
    with pytest.raises(AddError, match=r"value 'newest': no such analysis set; valid sets are: "):
        add_rows([new_row()], path=extracted, sets=["newest"])
    with pytest.raises(ValueError, match="not a string"):
        add_rows([new_row()], path=extracted, sets="latest")


def test_data_that_already_fail_validation_are_not_touched(extracted: Path) -> None:
    path = extracted / "outcomes.csv"
    path.write_text(
        path.read_text().replace("kantarjian2013,sct,36,90", "kantarjian2013,sct,96,90")
    )
    before = snapshot(extracted)
    with pytest.raises(ValueError, match="already have 1 errors; run `inometa validate"):
        add_rows([new_row()], path=extracted)
    assert snapshot(extracted) == before


# --- duplicates and --replace -------------------------------------------------------------


def test_a_duplicate_is_refused_with_how_to_replace(extracted: Path) -> None:
    before = snapshot(extracted)
    row = {"study_id": "jabbour2023", **NEW_ORR, "events": 78, "total": 80}
    with pytest.raises(
        AddError,
        match=r"study 'Jabbour 2023' \(row 1\), column 'outcome', value 'orr': this study "
        r"already has a row for outcome 'orr' \(outcomes.csv line \d+: 73/74 evaluable\); "
        r"to "
        r"replace it, pass replace=True \(`inometa add-study --replace`\)",
    ):
        add_rows([row], path=extracted)
    assert snapshot(extracted) == before


def test_the_same_row_twice_in_the_input_is_refused(extracted: Path) -> None:
    with pytest.raises(AddError, match=r"\(row 2\), column 'outcome', value 'orr': the same "):
        add_rows([new_row(), new_row(events=31)], path=extracted)


def test_replace_changes_one_row_and_keeps_the_old_values_in_its_notes(extracted: Path) -> None:
    before = snapshot(extracted)
    old = data.load_extracted(extracted).query("study_id == 'kantarjian2013' and outcome == 'sct'")
    row = {
        "study_id": "kantarjian2013",
        "outcome": "sct",
        "events": 37,
        "quote": "In total, 37 of 90 patients underwent allogeneic SCT.",
        "source": "https://example.org/erratum",
    }
    report = add_rows([row], path=extracted, replace=True)
    after = snapshot(extracted)
    assert after["studies.csv"] == before["studies.csv"]
    assert after["analysis_sets.toml"] == before["analysis_sets.toml"]
    old_lines = before["outcomes.csv"].decode().splitlines()
    new_lines = after["outcomes.csv"].decode().splitlines()
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    assert len(changed) == 1 and report.replaced == (("kantarjian2013", "sct"),)
    new = data.load_extracted(extracted).query("study_id == 'kantarjian2013' and outcome == 'sct'")
    assert (new.events.item(), new.total.item(), new.denominator.item()) == (37, 90, "treated")
    assert new.definition.item() == old.definition.item()  # not given: kept
    assert re.fullmatch(
        r"Replaced \d{4}-\d{2}-\d{2}: was 36/90 treated, source https://pubmed.ncbi.nlm.nih.gov/"
        r'23633004/, quote "In total, 36 of 90 patients \(40%\) underwent allogeneic stem cell '
        r'transplantation."\.',
        new.outcome_notes.item(),
    )
    assert data.validate(extracted).ok
    sct = data.analysis_set("lao2025", "sct", path=extracted)
    assert sct.loc[sct.study_id == "kantarjian2013", "events"].item() == 37


def test_replace_appends_history_to_existing_notes(extracted: Path) -> None:
    row = {"study_id": "jabbour2023", "outcome": "orr", "events": 72, "derived": "no"}
    add_rows([row], path=extracted, replace=True)
    new = data.load_extracted(extracted).query("study_id == 'jabbour2023' and outcome == 'orr'")
    notes = new.outcome_notes.item()
    assert notes.startswith("Same count as cr_cri. Denominator uncertain")
    assert "shows the effect of 79/80. Replaced " in notes
    assert 'was 73/74 evaluable, derived "yes", derivation "99% x 74 = 73.26 -> 73;' in notes
    assert not new.derived.item() and pd.isna(new.derivation.item())


def test_replacing_with_the_same_values_is_refused(extracted: Path) -> None:
    with pytest.raises(AddError, match="nothing to replace"):
        add_rows([{"study_id": "jabbour2023", "outcome": "orr"}], path=extracted, replace=True)


# --- from CSV -------------------------------------------------------------------------------


def test_from_csv_with_an_invalid_row_writes_nothing_and_lists_rows_and_lines(
    extracted: Path, tmp_path: Path
) -> None:
    text = EXAMPLE_CSV.read_text()
    lines = text.splitlines()
    bad = lines[2].replace(",vod,3,40,", ",vod,41,40,")
    unknown = lines[2].replace(",vod,3,40,", ",survival,3,40,")
    (tmp_path / "new.csv").write_text("\n".join([*lines, bad, unknown]) + "\n")
    before = snapshot(extracted)
    with pytest.raises(AddError) as caught:
        add_rows_from_csv(tmp_path / "new.csv", path=extracted)
    messages = [str(p) for p in caught.value.problems]
    assert snapshot(extracted) == before
    assert any(
        m.startswith(
            "study 'Example 2026 (format only)' (row 3, new.csv line 4), column "
            "'outcome', value 'vod': the same study and outcome is in row 2"
        )
        for m in messages
    ), messages
    assert any("(row 4, new.csv line 5), column 'outcome', value 'survival'" in m for m in messages)


def test_from_csv_unknown_header_and_ragged_record(extracted: Path, tmp_path: Path) -> None:
    lines = EXAMPLE_CSV.read_text().splitlines()
    (tmp_path / "new.csv").write_text(lines[0] + ",colour\n" + lines[1] + ",blue\n" + "a,b\n")
    with pytest.raises(AddError) as caught:
        add_rows_from_csv(tmp_path / "new.csv", path=extracted)
    text = str(caught.value)
    assert "new.csv line 1, column 'colour', value 'colour': unknown column" in text
    assert "new.csv line 3: the record has 2 fields but the header has" in text


# --- an interrupted write leaves every file intact ------------------------------------------


@pytest.mark.parametrize("failing_rename", [1, 2, 3])
def test_an_exception_mid_write_leaves_every_file_intact(
    extracted: Path, monkeypatch: pytest.MonkeyPatch, failing_rename: int
) -> None:
    before, files = snapshot(extracted), listing(extracted)
    real = atomic.os.replace
    calls: list[str] = []

    def replace(src: Any, dst: Any) -> None:
        calls.append(Path(dst).name)
        if len(calls) == failing_rename:
            raise OSError("simulated crash")
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError, match="simulated crash"):
        add_rows([new_row()], path=extracted)
    assert calls[:failing_rename] == list(FILES[:failing_rename])
    assert snapshot(extracted) == before
    assert listing(extracted) == files
    monkeypatch.undo()
    add_rows([new_row()], path=extracted)  # and the same addition then succeeds
    assert data.validate(extracted).ok


def test_a_newer_report_of_a_cohort_replaces_the_older_one_in_latest(extracted: Path) -> None:
    update = new_row(
        study_id="inovate2026", label="INO-VATE 2026 update", cohort="inovate", total=164
    )
    with pytest.raises(AddError, match="cohort 'inovate' would be counted twice"):
        add_rows([update], path=extracted)
    report = add_rows([dict(update, replaces="kantarjian2019")], path=extracted)
    assert 'replaces = "kantarjian2019"' in report.files[2].added
    latest = data.analysis_set("latest", "orr", path=extracted)
    assert "inovate2026" in set(latest.study_id) and "kantarjian2019" not in set(latest.study_id)
    lao = data.analysis_set("lao2025", "orr", path=extracted)
    assert "kantarjian2019" in set(lao.study_id)
    # Other outcomes keep the older report.
    vod = data.analysis_set("latest", "vod", path=extracted)
    assert "kantarjian2019" in set(vod.study_id)


def test_replaces_cannot_change_an_existing_entry(extracted: Path) -> None:
    row = {"study_id": "wieduwilt2025", **NEW_ORR, "outcome": "vod", "total": 33}
    with pytest.raises(AddError, match=r"has replaces 'wieduwilt2023'; change it by hand"):
        add_rows([dict(row, replaces="kantarjian2019")], path=extracted)
