"""Loading the extracted dataset, analysis sets, published numbers, and where data are found."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import inometa
from inometa import data

ROOT = Path(__file__).resolve().parents[1]
EXTRACTED = ROOT / "data" / "extracted"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"

REQUIRED = [
    "study_id",
    "label",
    "events",
    "total",
    "denominator",
    "derived",
    "source",
    "quote",
    "location",
    "year",
    "publication_date",
    "cohort",
    "setting",
    "regimen",
    "setting_group",
    "regimen_group",
]


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INOMETA_DATA", raising=False)


# --- load_extracted -------------------------------------------------------------------


def test_load_extracted_one_row_per_study_and_outcome() -> None:
    df = data.load_extracted(EXTRACTED)
    assert not df.duplicated(["study_id", "outcome"]).any()
    assert len(df) == len(pd.read_csv(EXTRACTED / "outcomes.csv"))
    assert set(REQUIRED) <= set(df.columns)


def test_load_extracted_types_and_missing_values() -> None:
    df = data.load_extracted(EXTRACTED)
    assert df["events"].dtype == "int64" and df["total"].dtype == "int64"
    assert df["year"].dtype == "int64" and df["derived"].dtype == bool
    assert str(df["n_enrolled"].dtype) == "Int64"
    assert (df["events"] <= df["total"]).all() and (df["total"] > 0).all()
    # Empty cells are missing values, never "" (nor 0 for counts).
    assert not (df.select_dtypes(exclude="number") == "").any().any()
    assert df.loc[df.study_id == "kantarjian2013", "doi"].notna().all()
    assert df.loc[df.study_id == "deangelo2017", "doi"].isna().all()


def test_load_extracted_joins_study_attributes() -> None:
    df = data.load_extracted(EXTRACTED).set_index(["study_id", "outcome"])
    row = df.loc[("chevallier2024", "relapse")]
    assert (row.events, row.total, row.denominator) == (47, 119, "responders")
    assert row.setting_group == "newly diagnosed" and row.regimen_group == "combination"
    assert row.cohort == "ewall_ino" and row.publication_date == "2024-10-17"


def test_survival_has_no_rows_because_no_counts_exist() -> None:
    df = data.load_extracted(EXTRACTED)
    assert not df["outcome"].str.startswith("os_").any()


def test_load_extracted_rejects_invalid_data(tmp_path: Path) -> None:
    directory = tmp_path / "extracted"
    shutil.copytree(FIXTURES / "valid", directory)
    shutil.copy(FIXTURES / "broken" / "outcomes_events_over_total.csv", directory / "outcomes.csv")
    with pytest.raises(ValueError, match=r"outcomes\.csv:6: column 'events', value '60'"):
        data.load_extracted(directory)


# --- analysis sets --------------------------------------------------------------------


def test_analysis_sets_names_and_descriptions() -> None:
    sets = data.analysis_sets(EXTRACTED)
    assert list(sets) == ["lao2025", "latest"]
    assert "2 December 2024" in sets["lao2025"]


@pytest.mark.parametrize("name", ["lao2025", "latest"])
@pytest.mark.parametrize("outcome", list(data.OUTCOMES))
def test_analysis_set_never_counts_a_cohort_twice(name: str, outcome: str) -> None:
    df = data.analysis_set(name, outcome, EXTRACTED)
    assert set(REQUIRED) <= set(df.columns)
    assert df["cohort"].is_unique
    assert (df["outcome"] == outcome).all()
    assert df["reason"].str.len().gt(0).all()


def test_analysis_set_columns_and_order() -> None:
    df = data.analysis_set("lao2025", "orr", EXTRACTED)
    keys = list(zip(df["year"], df["publication_date"], df["label"], strict=True))
    assert keys == sorted(keys)
    assert set(df["setting_group"]) <= set(data.SETTINGS.values())
    assert set(df["regimen_group"]) == {"monotherapy", "combination"}
    assert set(df["setting_group"]) == {"newly diagnosed", "relapsed/refractory"}
    assert df["derived"].dtype == bool
    ino_vate = df[df["cohort"] == "inovate"].iloc[0]
    assert (ino_vate.label, ino_vate.events, ino_vate.total) == (
        "Kantarjian 2019 (INO-VATE)",
        121,
        164,
    )


def test_lao2025_is_before_the_search_date_and_adult_oriented() -> None:
    studies = pd.concat(data.analysis_set("lao2025", o, EXTRACTED) for o in data.OUTCOMES)
    assert (studies["publication_date"].str.slice(0, 7) <= "2024-12").all()
    assert "kantarjian2012" not in set(studies["study_id"])  # subset of Kantarjian 2013
    assert "kantarjian2016" not in set(studies["study_id"])  # ITT218 subset of INO-VATE final


def test_latest_adds_later_reports_and_replaces_superseded_ones() -> None:
    lao = data.analysis_set("lao2025", "orr", EXTRACTED)
    latest = data.analysis_set("latest", "orr", EXTRACTED)
    assert set(lao["cohort"]) <= set(latest["cohort"])
    assert {"agrawal2025", "ino_cd22_2025", "wieduwilt2025"} <= set(latest["study_id"])
    assert "wieduwilt2023" not in set(latest["study_id"])
    inherited = latest[latest["study_id"] == "deangelo2017"].iloc[0]
    assert inherited.chosen_in == "lao2025"
    # VOD is not in the newer report, so the older report of the cohort still supplies it.
    assert "wieduwilt2023" in set(data.analysis_set("latest", "vod", EXTRACTED)["study_id"])


def test_analysis_set_for_outcome_without_counts_is_empty() -> None:
    df = data.analysis_set("lao2025", "os_1y", EXTRACTED)
    assert df.empty and set(REQUIRED) <= set(df.columns)


def test_analysis_set_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown analysis set 'lao'.*lao2025, latest"):
        data.analysis_set("lao", "orr", EXTRACTED)
    with pytest.raises(ValueError, match=r"unknown outcome 'response'.*orr, cr, cr_cri"):
        data.analysis_set("lao2025", "response", EXTRACTED)


def test_analysis_set_on_fixture_inherits_and_extends(tmp_path: Path) -> None:
    directory = tmp_path / "extracted"
    shutil.copytree(FIXTURES / "valid", directory)
    base = data.analysis_set("base", "orr", directory)
    newer = data.analysis_set("newer", "orr", directory)
    assert base["study_id"].tolist() == ["beta2021", "gamma2023"]
    assert newer["study_id"].tolist() == ["beta2021", "gamma2023", "delta2025"]
    assert newer["chosen_in"].tolist() == ["base", "base", "newer"]


# --- published numbers ----------------------------------------------------------------


def test_load_published_as_printed() -> None:
    pub = data.load_published(ROOT / "data" / "published" / "lao2025.csv")
    cols = ["outcome", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2"]
    assert set(cols) | {"heterogeneity_p", "source", "location"} <= set(pub.columns)
    assert pub["outcome"].tolist() == [
        "orr", "cr", "mrd_neg", "os_1y", "os_2y", "os_3y", "os_5y", "sct", "relapse", "vod"
    ]  # fmt: skip
    by = pub.set_index("outcome")
    assert by.loc["orr", ["estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2"]].tolist() == [
        89.0, 85.8, 92.2, 1.2, 99.9, 90.1
    ]  # fmt: skip
    assert by.loc["vod", ["pi_low", "pi_high"]].tolist() == [6.6, 54.5]
    assert by.loc["os_5y", "heterogeneity_p"] == "0.482"
    assert by.loc["orr", "heterogeneity_p"] == "<0.001"
    # Missing stays missing: survival PIs are not given (3- and 5-year ones are cut off).
    assert by.loc[["os_1y", "os_2y", "os_3y", "os_5y"], ["pi_low", "pi_high"]].isna().all().all()
    assert "cut off" in by.loc["os_3y", "note"]
    assert (pub[["estimate", "ci_low", "ci_high", "i2"]].dtypes == "float64").all()


def test_load_published_rejects_malformed_file(tmp_path: Path) -> None:
    text = (ROOT / "data" / "published" / "lao2025.csv").read_text()
    bad = tmp_path / "lao2025.csv"
    bad.write_text(text.replace("orr,OR rate,89.0", "orr,OR rate,eighty-nine"))
    with pytest.raises(ValueError, match=r"lao2025\.csv:2: column 'estimate', value 'eighty-nine'"):
        data.load_published(bad)
    assert data.load_published(ROOT / "data" / "published").shape[0] == 10


# --- where the data are found ---------------------------------------------------------


def test_path_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "mine" / "extracted"
    shutil.copytree(FIXTURES / "valid", directory)
    monkeypatch.setenv("INOMETA_DATA", str(directory))
    assert data.data_dir() == directory
    assert sorted(data.analysis_sets()) == ["base", "newer"]


def test_working_directory_plays_no_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(FIXTURES / "valid", tmp_path / "data" / "extracted")
    monkeypatch.chdir(tmp_path)
    assert data.data_dir() == data.data_root() / "extracted"
    assert len(data.load_extracted()) == len(pd.read_csv(EXTRACTED / "outcomes.csv"))


def test_shipped_data_are_the_checkouts_in_an_editable_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if ROOT not in Path(inometa.__file__).resolve().parents:
        pytest.skip("inometa is not imported from this checkout (not an editable install)")
    monkeypatch.chdir(tmp_path)
    assert data.data_dir() == EXTRACTED
    assert data.load_published()["outcome"].iloc[0] == "orr"


def test_copy_data_gives_a_writable_copy_of_every_folder(tmp_path: Path) -> None:
    extracted = data.copy_data(tmp_path / "mine")
    assert extracted == tmp_path / "mine" / "extracted"
    for folder in ("extracted", "published", "examples"):
        shipped = sorted(p.name for p in (data.data_root() / folder).iterdir() if p.is_file())
        copied = sorted(p.name for p in (tmp_path / "mine" / folder).iterdir())
        assert copied == shipped, folder
    assert data.writable_data_dir(extracted) == extracted
    assert data.validate(extracted).ok
    with pytest.raises(ValueError, match="exists and is not empty"):
        data.copy_data(tmp_path / "mine")


def test_adding_rows_needs_a_named_folder() -> None:
    with pytest.raises(ValueError, match=r"no data folder named.*inometa data copy DIR"):
        data.writable_data_dir()


def test_adding_rows_to_a_read_only_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extracted = data.copy_data(tmp_path / "mine")
    # the tests run as root in CI, who may write anywhere: the permission check is stubbed
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != extracted)
    with pytest.raises(ValueError, match=r"is not writable: make a writable copy"):
        data.writable_data_dir(extracted)
    monkeypatch.setenv("INOMETA_DATA", str(extracted))
    with pytest.raises(ValueError, match=r"is not writable"):
        data.add_rows([{"study_id": "x"}])


def test_published_is_the_sibling_of_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(FIXTURES / "valid", tmp_path / "extracted")
    (tmp_path / "published").mkdir()
    text = (ROOT / "data" / "published" / "lao2025.csv").read_text()
    (tmp_path / "published" / "lao2025.csv").write_text("\n".join(text.splitlines()[:2]) + "\n")
    monkeypatch.setenv("INOMETA_DATA", str(tmp_path / "extracted"))
    assert data.load_published()["outcome"].tolist() == ["orr"]


def test_missing_directory_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no data directory"):
        data.load_extracted(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="no published-numbers file"):
        data.load_published(tmp_path)
