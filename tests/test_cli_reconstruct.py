"""``inometa reconstruct`` in a real process: the shipped pool searched against the published
numbers, the CSV of matching and near sets, and a user's mistakes as one line on stderr."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from .test_cli_errors import inometa, one_line_error


def test_one_outcome_is_searched_and_summarised(tmp_path: Path) -> None:
    out = tmp_path / "sets.csv"
    run = inometa("reconstruct", "--outcome", "orr", "--outcome", "sct", "--csv", str(out))
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # no progress bar when stderr is not a terminal
    assert "orr: target estimate 89, ci_low 85.8, ci_high 92.2, i2 90.1" in run.stdout
    assert "sct: target estimate 27.5" in run.stdout
    assert "mrd_neg" not in run.stdout
    # ORR: the narrowest CI reachable at the printed estimate and I² is wider than printed
    assert "CI reachable at the printed estimate and I²: False" in run.stdout
    with out.open(newline="") as f:
        header = next(csv.reader(f))
    assert header[:3] == ["outcome", "kind", "studies"]


def test_every_outcome_by_default_in_the_summary_table() -> None:
    run = inometa("reconstruct", "--near", "0")
    assert run.returncode == 0, run.stderr
    table = run.stdout.split("outcome  sets_searched")[-1]
    for outcome in ("orr", "cr", "mrd_neg", "sct", "relapse", "vod"):
        assert f"\n{outcome:>7} " in table or f"\n{outcome} " in table, table


def test_a_csv_of_near_sets_holds_the_studies_and_the_method(tmp_path: Path) -> None:
    out = tmp_path / "cr.csv"
    run = inometa("reconstruct", "--outcome", "cr", "--near", "15", "--csv", str(out))
    assert run.returncode == 0, run.stderr
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows, "a 15-unit window around the published CR holds some sets"
    assert {r["outcome"] for r in rows} == {"cr"}
    assert {r["kind"] for r in rows} <= {"match", "near miss"}
    assert all(r["studies"] and r["transform"] and r["tau2_method"] for r in rows)


def test_unknown_outcome_is_one_line() -> None:
    one_line_error(inometa("reconstruct", "--outcome", "os_1y"), "--outcome os_1y", "valid: orr")


def test_a_search_that_would_take_too_long_is_refused_before_it_starts() -> None:
    run = inometa("reconstruct", "--outcome", "cr", "--double-count", "--max-seconds", "0.5")
    one_line_error(run, "would take about", "max_seconds=0.5")
    assert "cr: target" not in run.stdout


def test_bad_options_and_unwritable_csv_are_refused_before_searching(tmp_path: Path) -> None:
    one_line_error(inometa("reconstruct", "--max-seconds", "0"), "--max-seconds must be > 0")
    one_line_error(inometa("reconstruct", "--near", "-1"), "--near must be >= 0")
    one_line_error(inometa("reconstruct", "--decimals", "9"), "decimals must be a whole number")
    missing = tmp_path / "no" / "sets.csv"
    run = inometa("reconstruct", "--outcome", "orr", "--csv", str(missing))
    one_line_error(run, "no such folder")
    assert run.stdout == ""
    one_line_error(inometa("reconstruct", "--csv", str(tmp_path)), "not a folder")


def test_a_closed_pipe_ends_quietly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "inometa.cli", "reconstruct", "--outcome", "orr"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert proc.returncode == 141
    assert err == ""


def test_help_names_the_options() -> None:
    run = inometa("reconstruct", "--help")
    assert run.returncode == 0
    for option in ("--outcome", "--decimals", "--double-count", "--max-seconds", "--csv"):
        assert option in run.stdout
