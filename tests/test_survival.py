"""Kaplan–Meier survival rates: data/extracted/survival.csv, its checks, and the OS sets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from inometa import data
from inometa.lao2025.survival import CONVENTION, survival_set

ROOT = Path(__file__).resolve().parents[1]
EXTRACTED = ROOT / "data" / "extracted"


def test_rates_are_as_printed_with_their_n() -> None:
    km = data.load_survival(EXTRACTED).set_index(["study_id", "outcome"])
    # INO-VATE final report abstract: "2-year OS rates of 22.8% and 10.0%" (InO n = 164)
    assert km.loc[("kantarjian2019", "os_2y"), ["rate", "n"]].tolist() == [22.8, 164]
    # INITIAL-1 (ASCO Post): "73% (95% CI = 59%–87%) at 3 [years]" of 43 evaluable
    assert km.loc[("stelljes2024", "os_3y"), ["rate", "ci_low", "ci_high"]].tolist() == [73, 59, 87]
    assert (km["quote"].str.len() > 20).all() and km["source"].str.len().gt(0).all()
    for (_, _), row in km.iterrows():
        assert f"{row['rate']:g}%" in row["quote"] or f"{row['rate']:g} (" in row["quote"]


def test_validate_reads_survival_and_names_line_and_column(tmp_path: Path) -> None:
    copy = tmp_path / "extracted"
    shutil.copytree(EXTRACTED, copy)
    file = copy / "survival.csv"
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    frame.loc[0, "rate"] = "122.8"
    frame.loc[1, "study_id"] = "nobody2020"
    frame.loc[2, "ci_high"] = ""
    frame.loc[3, "source"] = "seed:001_8b20908ac8dc8083"
    frame.to_csv(file, index=False)
    report = data.validate(copy)
    found = {(i.file, i.line, i.column) for i in report.errors}
    assert ("survival.csv", 2, "rate") in found
    assert ("survival.csv", 3, "study_id") in found
    assert ("survival.csv", 4, "ci_low") in found
    assert ("survival.csv", 5, "verification") in found
    with pytest.raises(ValueError, match=r"survival.csv:2: column 'rate', value '122.8'"):
        data.load_survival(copy)


def test_duplicate_time_point_is_an_error(tmp_path: Path) -> None:
    copy = tmp_path / "extracted"
    shutil.copytree(EXTRACTED, copy)
    file = copy / "survival.csv"
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    pd.concat([frame, frame.iloc[[0]]]).to_csv(file, index=False)
    errors = data.validate(copy).errors
    assert any("duplicate of line 2" in i.message for i in errors)


def test_shipped_data_validate() -> None:
    assert data.validate(EXTRACTED).ok


def test_survival_set_takes_set_members_one_report_per_cohort() -> None:
    os1 = survival_set("lao2025", "os_1y", EXTRACTED)
    # Jabbour 2018 (JAMA Oncol) prints a 1-year rate but the set uses Kantarjian 2023 for
    # that cohort, which prints none at 1 year: it stays out.
    assert "jabbour2018_jamaoncol" not in set(os1["study_id"])
    assert set(os1["study_id"]) == {
        "wieduwilt2023",
        "stelljes2024",
        "metheny2024",
        "chevallier2024",
    }
    assert os1["cohort"].is_unique
    # 73.2% of 131 = 95.89 -> 96; 94% of 18 = 16.92 -> 17
    by = os1.set_index("study_id")
    assert by.loc["chevallier2024", ["events", "total"]].tolist() == [96, 131]
    assert by.loc["metheny2024", ["events", "total"]].tolist() == [17, 18]
    assert (os1["convention"] == CONVENTION).all()


def test_events_round_half_up(tmp_path: Path) -> None:
    os5 = survival_set("lao2025", "os_5y", EXTRACTED)
    assert os5[["events", "total"]].to_numpy().tolist() == [[37, 80]]  # 46% of 80 = 36.8
    copy = tmp_path / "extracted"
    shutil.copytree(EXTRACTED, copy)
    file = copy / "survival.csv"
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    row = frame.index[frame["study_id"] == "jabbour2023"][0]
    frame.loc[row, ["rate", "n"]] = ["50", "41"]  # 20.5: half up gives 21, half to even 20
    frame.loc[row, "quote"] = "the 5-year OS rate was 50%"
    frame.to_csv(file, index=False)
    assert survival_set("lao2025", "os_5y", copy)["events"].tolist() == [21]


def test_unknown_time_point_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown survival outcome 'os_4y'.*os_1y"):
        survival_set("lao2025", "os_4y", EXTRACTED)


def test_survival_gets_the_checks_every_data_file_gets(tmp_path: Path) -> None:
    # Formula starts and vocabularies are checked as in outcomes.csv (one schema machinery).
    copy = tmp_path / "extracted"
    shutil.copytree(EXTRACTED, copy)
    file = copy / "survival.csv"
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    frame.loc[0, "quote"] = "=HYPERLINK(1)"
    frame.loc[1, "verification"] = "derived"  # a printed rate is never derived
    frame.to_csv(file, index=False)
    found = {(i.file, i.line, i.column) for i in data.validate(copy).errors}
    assert ("survival.csv", 2, "quote") in found
    assert ("survival.csv", 3, "verification") in found
