"""A user's mistakes at the command line: one line on stderr and a non-zero exit, never a
traceback, never a silent wrong answer, and never a data file overwritten.

Every case runs ``inometa`` in a real process, as a user would.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .add_support import EXAMPLE_CSV, ROOT, copy_data, new_row, snapshot

CR_CRI = ROOT / "data" / "examples" / "cr_cri.csv"


def inometa(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inometa.cli", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


def one_line_error(run: subprocess.CompletedProcess[str], *expected: str) -> None:
    """Exit 2, no traceback, and one stderr line holding every expected fragment."""
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    for fragment in expected:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def extracted(tmp_path: Path) -> Path:
    return copy_data(tmp_path)


# --- outputs that could overwrite the data ----------------------------------------------


def test_reproduce_into_the_data_folder_is_refused_and_the_data_kept(extracted: Path) -> None:
    before = snapshot(extracted)
    run = inometa("reproduce", "--data", str(extracted), "--out", str(extracted), "--no-figures")
    one_line_error(run, "is a data folder", "would replace the data")
    assert snapshot(extracted) == before
    assert "inometa reproduce: analysis set" not in run.stdout  # refused before any work


def test_reproduce_into_the_parent_of_the_data_is_refused(extracted: Path) -> None:
    run = inometa("reproduce", "--data", str(extracted), "--out", str(extracted.parent))
    one_line_error(run, "contains the data folder")


def test_reproduce_into_an_empty_name_a_file_or_a_foreign_folder_is_refused(
    tmp_path: Path,
) -> None:
    one_line_error(inometa("reproduce", "--out", ""), "the output folder name is empty")
    file = tmp_path / "notes.txt"
    file.write_text("mine\n")
    one_line_error(inometa("reproduce", "--out", str(file)), "is a file, not a folder")
    assert file.read_text() == "mine\n"
    one_line_error(inometa("reproduce", "--out", str(tmp_path)), "is not empty", "no manifest.json")


def test_diff_into_the_data_or_a_foreign_folder_is_refused(extracted: Path, tmp_path: Path) -> None:
    before = snapshot(extracted)
    run = inometa("diff", "HEAD", "HEAD", "--data", str(extracted), "--out", str(extracted))
    one_line_error(run, "is a data folder")
    assert snapshot(extracted) == before
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep\n")
    run = inometa("diff", "HEAD", "HEAD", "--out", str(tmp_path / "mine"))
    one_line_error(run, "is not empty", "no diff.md or git_*")


def test_write_reproduction_refuses_a_data_folder(extracted: Path) -> None:
    from inometa.lao2025.report import write_reproduction
    from inometa.lao2025.reproduce import reproduce

    shutil.copytree(ROOT / "data" / "published", extracted.parent / "published")
    before = snapshot(extracted)
    with pytest.raises(ValueError, match="is a data folder"):
        write_reproduction(reproduce("lao2025", path=extracted), extracted, figures=False)
    assert snapshot(extracted) == before


# --- files that cannot be read ----------------------------------------------------------


def test_pool_on_a_folder(tmp_path: Path) -> None:
    run = inometa("pool", str(tmp_path), "--events", "events", "--n", "total")
    one_line_error(run, "is a folder; give a CSV file")


def test_pool_on_text_that_is_not_utf8_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b"label,events,total\nA,1,10\nM\xfcller,2,10\n")
    run = inometa("pool", str(bad), "--events", "events", "--n", "total")
    one_line_error(run, "latin1.csv line 3: not UTF-8 text")


def test_pool_refuses_a_missing_labels_column_and_a_level_read_as_a_quantile() -> None:
    run = inometa("pool", str(CR_CRI), "--events", "events", "--n", "total", "--labels", "nope")
    one_line_error(run, "--labels: no column 'nope'")
    run = inometa("pool", str(CR_CRI), "--events", "events", "--n", "total", "--level", "1.96")
    one_line_error(run, "level must lie strictly between 0 and 1", "1.96")
    run = inometa("pool", str(CR_CRI), "--events", "events", "--n", "total", "--nagq", "7")
    one_line_error(run, "nagq=7", "does not apply to method='inverse'")


def test_an_option_given_twice_is_a_usage_error(extracted: Path) -> None:
    run = inometa("pool", str(CR_CRI), "--events", "events", "--n", "total", "--events", "total")
    assert run.returncode == 2 and "--events is given twice; give it once" in run.stderr
    before = snapshot(extracted)
    flags = ["--study-id", "jabbour2023", "--outcome", "orr", "--events", "78", "--events", "7"]
    run = inometa("add-study", "--data-dir", str(extracted), "--replace", "-y", *flags)
    assert run.returncode == 2 and "--events is given twice" in run.stderr
    assert snapshot(extracted) == before
    run = inometa("reproduce", "--data", str(extracted), "--data-dir", str(extracted))
    assert run.returncode == 2 and "--data and --data-dir name the same option" in run.stderr
    # a value that looks like an option is a value, and repeatable options stay repeatable
    run = inometa("pool", str(CR_CRI), "--events", "events", "--n", "total", "--labels", "--n")
    assert "given twice" not in run.stderr


def test_a_closed_pipe_ends_quietly() -> None:
    # The reader goes away before the command prints (what `inometa audit --all | head -0`
    # does): no traceback and no "Exception ignored" from the final flush.
    proc = subprocess.Popen(
        [sys.executable, "-m", "inometa.cli", "audit", "--all"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert proc.returncode == 141
    assert err == ""


def test_audit_with_a_table_lacking_columns(tmp_path: Path) -> None:
    table = tmp_path / "published.csv"
    table.write_text("outcome,estimate\norr,70\n")
    run = inometa("audit", "--published", str(table))
    one_line_error(run, "lacks the column(s) ci_low, ci_high")


def test_diff_refuses_a_results_table_it_did_not_write(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.csv").write_text("hello,world\n1,2\n")
        (tmp_path / name / "studies.csv").write_text("x\n1\n")
    run = inometa("diff", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "d"))
    one_line_error(run, "results.csv is not a table written by inometa reproduce")
    assert "k 0" not in run.stdout


# --- the data folder ------------------------------------------------------------------


def test_validate_refuses_an_empty_analysis_sets_file(extracted: Path) -> None:
    (extracted / "analysis_sets.toml").write_text("")
    run = inometa("validate", str(extracted))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "no analysis set is defined" in run.stdout


def test_a_field_over_the_csv_limit_is_an_error_with_its_line(extracted: Path) -> None:
    outcomes = extracted / "outcomes.csv"
    with outcomes.open(newline="") as handle:
        rows = list(csv.reader(handle))
    rows[2][rows[0].index("quote")] = "x" * 140_000
    with outcomes.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    run = inometa("validate", str(extracted))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "outcomes.csv:3" in run.stdout and "field larger than field limit" in run.stdout


def test_a_bare_carriage_return_is_named(extracted: Path) -> None:
    studies = extracted / "studies.csv"
    studies.write_bytes(studies.read_bytes().replace(b"\n", b"\r", 3))
    run = inometa("validate", str(extracted))
    assert run.returncode == 1
    assert "studies.csv:1" in run.stdout and "carriage return (CR) not followed" in run.stdout


def test_from_csv_with_a_repeated_column_writes_nothing(extracted: Path, tmp_path: Path) -> None:
    lines = EXAMPLE_CSV.read_text().splitlines()
    header, row = lines[0], lines[1]
    first_field = header.split(",")[0]
    rows = tmp_path / "rows.csv"
    rows.write_text(f"{header},{first_field}\n{row},other2026\n")
    before = snapshot(extracted)
    run = inometa("add-study", "--data-dir", str(extracted), "-y", "--from-csv", str(rows))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert first_field in run.stderr and "appears more than once" in run.stderr
    assert snapshot(extracted) == before


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("=cmd|' /C calc'!A0", "a spreadsheet would run the cell as a formula"),
        ("Doe\x1b[31m 2026", "contains a control character"),
    ],
)
def test_add_study_refuses_a_formula_or_control_characters(
    extracted: Path, value: str, problem: str
) -> None:
    before = snapshot(extracted)
    flags = [
        x for f, v in new_row(label=value).items() for x in ("--" + f.replace("_", "-"), str(v))
    ]
    run = inometa("add-study", "--data-dir", str(extracted), "-y", *flags)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert problem in run.stderr
    assert snapshot(extracted) == before


def test_outputs_neutralise_formulas_and_control_characters() -> None:
    import pandas as pd

    from inometa.report.document import Paragraph, Table, to_html, to_markdown
    from inometa.report.safe import spreadsheet_safe

    frame = pd.DataFrame(
        {"label": ["=cmd|' /C calc'!A0", "@SUM(1)", "+1+2", "Doe\x1b[2J\x00", "-0.5", "Roe"]}
    )
    cells = spreadsheet_safe(frame)["label"].tolist()
    assert cells == [
        "'=cmd|' /C calc'!A0",
        "'@SUM(1)",
        "'+1+2",
        "Doe\ufffd[2J\ufffd",
        "-0.5",
        "Roe",
    ]
    blocks = [Paragraph("a\x1b[31m red \x00"), Table(frame, "")]
    for text in (to_html(blocks, "t\x07", Path(".")), to_markdown(blocks)):
        assert "\x1b" not in text and "\x00" not in text and "\x07" not in text


def test_pool_refuses_a_label_with_an_escape_sequence(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text('label,events,total\nA,1,10\n"B\x1b[2J",2,10\n')
    run = inometa("pool", str(table), "--events", "events", "--n", "total")
    one_line_error(run, "study 2", "control character")
