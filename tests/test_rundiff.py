"""inometa diff: comparing two runs (hand-made run folders with known values), and a git
revision of the data rerun against the working data."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from inometa.cli import main
from inometa.lao2025.rundiff import diff_runs, parse_threshold, read_run, run_from_git
from inometa.lao2025.rundiff_report import diff_text, write_diff

ROOT = Path(__file__).resolve().parents[1]

_RESULT_COLUMNS = [
    "outcome", "method", "k", "events", "n", "estimate", "ci_low", "ci_high",
    "pi_low", "pi_high", "tau2", "i2",
]  # fmt: skip


def _run(folder: Path, results: list[tuple], studies: list[tuple], files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    pd.DataFrame(results, columns=_RESULT_COLUMNS).to_csv(folder / "results.csv", index=False)
    pd.DataFrame(
        studies,
        columns=["outcome", "study_id", "label", "events", "total", "denominator", "source"],
    ).to_csv(folder / "studies.csv", index=False)
    manifest = {"analysis_set": "lao2025", "data_files": files}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    before = _run(
        tmp_path / "before",
        [
            ("orr", "published", 2, 90, 120, 0.75, 0.71, 0.80, 0.60, 0.90, 0.01, 0.5),
            ("vod", "published", 2, 10, 120, 0.08, 0.04, 0.12, 0.0, 0.2, 0.0, 0.0),
            ("cr", "published", 1, 30, 50, 0.60, 0.46, 0.73, math.nan, math.nan, 0.0, 0.0),
        ],
        [
            ("orr", "a", "A 2019", 40, 50, "treated", "doi:a"),
            ("orr", "b", "B 2020", 50, 70, "treated", "doi:b"),
            ("vod", "a", "A 2019", 4, 50, "treated", "doi:a"),
            ("vod", "b", "B 2020", 6, 70, "treated", "doi:b"),
            ("cr", "a", "A 2019", 30, 50, "treated", "doi:a"),
        ],
        {"/x/data/extracted/outcomes.csv": "aa", "/x/data/extracted/studies.csv": "bb"},
    )
    after = _run(
        tmp_path / "after",
        [
            ("orr", "published", 3, 130, 180, 0.72, 0.66, 0.78, 0.55, 0.89, 0.02, 0.6),
            ("vod", "published", 2, 11, 120, 0.09, 0.04, 0.14, 0.0, 0.2, 0.0, 0.0),
            ("cr", "published", 1, 30, 50, 0.60, 0.46, 0.73, math.nan, math.nan, 0.0, 0.0),
            ("mrd_neg", "published", 1, 9, 10, 0.9, 0.55, 0.99, math.nan, math.nan, 0.0, 0.0),
        ],
        [
            ("orr", "a", "A 2019", 40, 50, "treated", "doi:a"),
            ("orr", "b", "B 2020", 50, 70, "treated", "doi:b"),
            ("orr", "c", "C 2025", 40, 60, "itt", "doi:c"),
            ("vod", "a", "A 2019", 5, 50, "treated", "doi:a"),
            ("vod", "b", "B 2020", 6, 70, "treated", "doi:b"),
            ("cr", "a", "A 2019", 30, 50, "treated", "doi:a"),
            ("mrd_neg", "c", "C 2025", 9, 10, "responders", "doi:c"),
        ],
        {"/y/data/extracted/outcomes.csv": "cc", "/y/data/extracted/studies.csv": "bb"},
    )
    return before, after


def test_summary_changes(runs: tuple[Path, Path]) -> None:
    d = diff_runs(*runs, thresholds=["70%", 0.1])
    s = d.summary.set_index("outcome")
    orr = s.loc["orr"]
    assert (orr["k_before"], orr["k_after"], orr["n_before"], orr["n_after"]) == (2, 3, 120, 180)
    assert orr["estimate_before"] == pytest.approx(75.0)
    assert orr["change_pp"] == pytest.approx(-3.0)
    assert orr["i2_change_pp"] == pytest.approx(10.0)
    assert orr["tau2_after"] == pytest.approx(0.02)  # τ² stays on the model scale
    assert orr["added"] == "C 2025" and orr["removed"] == "" and orr["changed"] == ""
    # 70%: CI 71–80 → 66–78, above → includes; 10%: above both times
    assert orr["flipped"] and orr["conclusion"] == "CI above 70% → CI includes 70%"
    vod = s.loc["vod"]
    assert vod["changed"] == "A 2019" and vod["change_pp"] == pytest.approx(1.0)
    assert not vod["flipped"]  # 4–12 → 4–14 includes 10% both times
    cr = s.loc["cr"]
    assert cr["change_pp"] == 0 and not cr["flipped"] and cr["added"] == ""
    mrd = s.loc["mrd_neg"]  # a new outcome: nothing before
    assert mrd["k_before"] == 0 and math.isnan(mrd["estimate_before"])
    assert mrd["conclusion"] == "no estimate → CI includes 70%; no estimate → CI above 10%"
    assert list(d.flipped["outcome"]) == ["orr", "mrd_neg"]


def test_studies_added_removed_changed(runs: tuple[Path, Path]) -> None:
    d = diff_runs(*runs)
    st = d.studies.set_index(["outcome", "study_id"])
    assert set(st.index) == {("orr", "c"), ("vod", "a"), ("mrd_neg", "c")}
    assert st.loc[("vod", "a"), "status"] == "changed"
    assert st.loc[("vod", "a"), "fields_changed"] == "events"
    assert (st.loc[("vod", "a"), "events_before"], st.loc[("vod", "a"), "events_after"]) == (4, 5)
    assert st.loc[("orr", "c"), "status"] == "added"
    assert (
        pd.isna(st.loc[("orr", "c"), "events_before"]) and st.loc[("orr", "c"), "total_after"] == 60
    )
    files = d.data_files.set_index("file")
    assert bool(files.loc["outcomes.csv", "changed"]) and not files.loc["studies.csv", "changed"]


def test_removed_study_and_reverse_direction(runs: tuple[Path, Path]) -> None:
    before, after = runs
    d = diff_runs(after, before)
    st = d.studies.set_index(["outcome", "study_id"])
    assert st.loc[("orr", "c"), "status"] == "removed"
    assert d.summary.set_index("outcome").loc["orr", "removed"] == "C 2025"
    assert d.summary.set_index("outcome").loc["orr", "change_pp"] == pytest.approx(3.0)


def test_methods_filter_and_errors(runs: tuple[Path, Path], tmp_path: Path) -> None:
    assert set(diff_runs(*runs, methods=["published"]).summary["method"]) == {"published"}
    with pytest.raises(ValueError, match="valid methods are: published"):
        diff_runs(*runs, methods=["glmm"])
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        diff_runs(*runs, thresholds=["150%"])
    with pytest.raises(ValueError, match="is not a number"):
        parse_threshold("half")
    with pytest.raises(ValueError, match="no run folder"):
        read_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"results\.csv is missing"):
        read_run(tmp_path / "empty")


def test_text_and_files(runs: tuple[Path, Path], tmp_path: Path) -> None:
    d = diff_runs(*runs, thresholds=[0.7])
    text = diff_text(d)
    assert "orr — k 2 → 3; N 120 → 180; added: C 2025" in text
    assert "75.0 → 72.0 (-3.0)" in text
    assert "conclusion flipped (published): CI above 70% → CI includes 70%" in text
    assert "cr — k 1; N 50" in text  # unchanged outcomes show single values
    paths = write_diff(d, tmp_path / "out")
    assert {p.name for p in paths} == {"diff.csv", "diff_studies.csv", "diff_files.csv", "diff.md"}
    md = (tmp_path / "out" / "diff.md").read_text()
    assert "## orr" in md and "orr (published method): CI above 70% → CI includes 70%" in md
    back = pd.read_csv(tmp_path / "out" / "diff.csv")
    assert back.loc[back["outcome"] == "orr", "change_pp"].iloc[0] == pytest.approx(-3.0)


def test_cli_diff_folders(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "d"
    args = ["diff", *map(str, runs), "--threshold", "70%", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "CI above 70% → CI includes 70%" in printed and (out / "diff.md").is_file()
    assert main(["diff", *map(str, runs), "--threshold", "2"]) == 2
    assert "strictly between 0 and 1" in capsys.readouterr().err


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def test_git_revision_rerun(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A repository whose last commit changes one count: DeAngelo 2017's VOD 4 → 5 of 72.
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "data" / "extracted", repo / "data" / "extracted")
    shutil.copytree(ROOT / "data" / "published", repo / "data" / "published")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "data")
    outcomes = repo / "data" / "extracted" / "outcomes.csv"
    lines = outcomes.read_text().splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if line.startswith("deangelo2017,vod,4,72,"))
    lines[row] = lines[row].replace("deangelo2017,vod,4,72,", "deangelo2017,vod,5,72,", 1)
    outcomes.write_text("".join(lines))
    _git(repo, "commit", "-q", "-am", "VOD 5/72")
    extracted = repo / "data" / "extracted"

    out = tmp_path / "d"
    args = ["diff", "HEAD~1", "HEAD", "--set", "lao2025", "--data", str(extracted)]
    assert main([*args, "--method", "published", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "rerunning 'lao2025' on the data at HEAD~1" in printed
    summary = pd.read_csv(out / "diff.csv").set_index("outcome")
    assert summary.loc["vod", "change_pp"] > 0
    unchanged = summary.drop(index="vod")
    assert (unchanged["change_pp"].fillna(0) == 0).all()
    studies = pd.read_csv(out / "diff_studies.csv")
    assert studies[["outcome", "study_id", "status", "fields_changed"]].values.tolist() == [
        ["vod", "deangelo2017", "changed", "events"]
    ]
    files = pd.read_csv(out / "diff_files.csv").set_index("file")["changed"]
    assert files["outcomes.csv"] and not files["studies.csv"]
    assert (out / "git_HEAD_1" / "results.csv").is_file()  # the rerun is kept for inspection

    with pytest.raises(ValueError, match="neither a run folder nor a git revision"):
        run_from_git("no-such-rev", "lao2025", tmp_path / "x", data=extracted)
    assert main(["diff", "HEAD", "also-not-a-rev", "--data", str(extracted)]) == 2
    assert "analysis set to rerun must be known" in capsys.readouterr().err
