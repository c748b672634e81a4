"""inometa.data.snapshot: the data as they stood on a date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from inometa.data import OUTCOMES, analysis_set, data_dir, earliest_date, snapshot, validate

SEARCH_DATE = dt.date(2024, 12, 2)  # Lao et al. 2025's search date


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(line in it for line in short)


def test_as_of_the_search_date_latest_is_lao2025(tmp_path: Path) -> None:
    old = snapshot(tmp_path / "data", SEARCH_DATE)
    assert validate(old).ok
    for outcome in OUTCOMES:
        # every report in 'latest' but not in 'lao2025' was published in 2025
        then = analysis_set("latest", outcome, old)
        assert list(then["study_id"]) == list(analysis_set("lao2025", outcome)["study_id"])
        assert all(earliest_date(d) <= SEARCH_DATE for d in then["publication_date"])
    assert len(analysis_set("latest", "orr", old)) < len(analysis_set("latest", "orr"))


def test_only_lines_are_removed(tmp_path: Path) -> None:
    old = snapshot(tmp_path / "data", SEARCH_DATE)
    for name in ("studies.csv", "outcomes.csv", "analysis_sets.toml", "README.md"):
        original = (data_dir() / name).read_text().splitlines()
        copy = (old / name).read_text().splitlines()
        assert _is_subsequence(copy, original), name
    studies = (old / "studies.csv").read_text()
    assert "agrawal2025" not in studies and "kantarjian2013" in studies
    assert 'study = "agrawal2025"' not in (old / "analysis_sets.toml").read_text()
    assert (tmp_path / "data" / "published" / "lao2025.csv").is_file()


def test_an_early_date(tmp_path: Path) -> None:
    old = snapshot(tmp_path / "data", "2017-12-31")
    ids = set(analysis_set("lao2025", "orr", old)["study_id"])
    assert ids == {"kantarjian2013", "deangelo2017"}


def test_errors(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ValueError, match="exists and is not empty"):
        snapshot(tmp_path / "full", SEARCH_DATE)
    with pytest.raises(ValueError, match="is not a date: use YYYY-MM-DD"):
        snapshot(tmp_path / "new", "2 Dec 2024")
