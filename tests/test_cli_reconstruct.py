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
    one_line_error(inometa("reconstruct", "--outcome", "os_4y"), "--outcome os_4y", "valid: orr")


def test_a_search_that_would_take_too_long_is_refused_before_it_starts() -> None:
    run = inometa("reconstruct", "--outcome", "cr", "--double-count", "--max-seconds", "0.5")
    one_line_error(run, "would take about", "max_seconds=0.5")
    assert "cr: target" not in run.stdout


def test_too_loose_a_target_is_stopped_with_one_line(tmp_path: Path) -> None:
    csv = tmp_path / "cand.csv"
    rows = [f"S{i},{10 + 3 * i},{40 + 2 * i}" for i in range(10)]
    csv.write_text("label,events,total\n" + "\n".join(rows) + "\n", encoding="utf-8")
    run = inometa(
        "reconstruct", str(csv), "--estimate", "40", "--near", "30", "--max-survivors", "50"
    )
    one_line_error(run, "too loose", "max_survivors=50")


def test_bad_options_and_unwritable_csv_are_refused_before_searching(tmp_path: Path) -> None:
    one_line_error(inometa("reconstruct", "--max-seconds", "0"), "--max-seconds must be > 0")
    one_line_error(inometa("reconstruct", "--max-survivors", "0"), "--max-survivors must be >= 1")
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
    options = (
        "--outcome",
        "--decimals",
        "--double-count",
        "--max-seconds",
        "--max-survivors",
        "--csv",
        "--estimate",
    )
    for option in options:
        assert option in run.stdout


# --- a user's own candidates and published result ---------------------------------------


def _own(tmp_path: Path) -> Path:
    table = tmp_path / "cand.csv"
    table.write_text("label,events,total\nA,10,40\nB,30,50\nC,18,30\nD,40,60\n")
    return table


def test_own_candidates_find_the_planted_set(tmp_path: Path) -> None:
    import inometa

    d = inometa.metaprop([10, 30, 40], [40, 50, 60], tau2_method="DL", transform="raw").to_dict()
    pub = {k: f"{100 * d[k]:.1f}" for k in ("estimate", "ci_low", "ci_high", "i2")}
    out = tmp_path / "sets.csv"
    run = inometa_cli(
        str(_own(tmp_path)),
        "--estimate", pub["estimate"],
        "--ci", pub["ci_low"], pub["ci_high"],
        "--i2", pub["i2"],
        "--csv", str(out),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "cand.csv: target estimate" in run.stdout
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    found = [(r["studies"], r["transform"], r["tau2_method"]) for r in rows if r["kind"] == "match"]
    assert ("A; B; D", "raw", "DL") in found


def test_own_candidates_mistakes_are_one_line(tmp_path: Path) -> None:
    own = str(_own(tmp_path))
    one_line_error(inometa_cli("--estimate", "50"), "give the CSV of candidate reports too")
    one_line_error(inometa_cli(own), "give the published values")
    one_line_error(inometa_cli(own, "--estimate", "50", "--outcome", "orr"), "leave it out")
    one_line_error(inometa_cli(own, "--estimate", "150"), "'estimate': 150.0 is not a percent")
    one_line_error(inometa_cli(own, "--estimate", "50", "--events", "ev"), "no column 'ev'")
    one_line_error(inometa_cli(own, "--estimate", "50", "--cohort", "grp"), "no column 'grp'")
    one_line_error(inometa_cli(str(tmp_path / "no.csv"), "--estimate", "50"), "no such file")
    bad = tmp_path / "bad.csv"
    bad.write_text("label,events,total\nA,10,40\nB,60,50\n")
    one_line_error(inometa_cli(str(bad), "--estimate", "50"), "candidate 'B' (row 2)")


def inometa_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return inometa("reconstruct", *args)
