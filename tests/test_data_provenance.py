"""Counts traced back to the quotes of the shared first extraction.

Reads ``../shared/reference/primary_study_extraction.csv`` (beside the repository checkout, as
in CI). It skips when that file is absent, except where INOMETA_REQUIRE_SHARED=1 (CI), where
it fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from inometa.data import load_extracted

from .conftest import skip_unless_required

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "reference" / "primary_study_extraction.csv"
README = ROOT / "data" / "extracted" / "README.md"

# The shared extraction's study ids, mapped to ours (S06 was split by parent cohort).
STUDY_MAP = {
    "S01": ["kantarjian2012"],
    "S02": ["kantarjian2013"],
    "S03": ["deangelo2017"],
    "S04": ["kantarjian2016"],
    "S05": ["kantarjian2019"],
    "S06": ["stock2021_inovate", "stock2021_1010"],
    "S07": ["jabbour2018_jamaoncol"],
    "S08": ["jabbour2018_cancer"],
    "S09": ["kantarjian2023"],
    "S10": ["kantarjian2016_ash"],
    "S10b": ["kantarjian2017_ash"],
    "S11": ["stelljes2024"],
    "S12": ["chevallier2024"],
    "S13": ["jabbour2024"],
    "S14": ["metheny2024"],
    "S15": ["wieduwilt2023"],
    "S16": ["mdacc2025_ash"],
    "S17": ["ino_cd22_2025"],
    "S18": ["agrawal2025"],
    "S19": ["ash2022_8906"],
}

# (our study, our outcome, shared id, start of the shared outcome label)
SPOT_CHECKS = [
    ("kantarjian2013", "cr", "S02", "CR (strict)"),
    ("kantarjian2013", "sct", "S02", "SCT"),
    ("kantarjian2013", "vod", "S02", "VOD/SOS (post-SCT only)"),
    ("deangelo2017", "cr_cri", "S03", "CR/CRi"),
    ("deangelo2017", "mrd_neg", "S03", "MRD_negativity"),
    ("deangelo2017", "vod", "S03", "VOD/SOS"),
    ("deangelo2017", "sct", "S03", "SCT"),
    ("kantarjian2019", "vod", "S05", "VOD/SOS"),
    ("kantarjian2019", "mrd_neg", "S05", "MRD_negativity"),
    ("jabbour2018_cancer", "orr", "S08", "overall_response"),
    ("jabbour2018_cancer", "cr", "S08", "CR (strict)"),
    ("kantarjian2023", "orr", "S09", "overall_response"),
    ("kantarjian2023", "cr", "S09", "CR (strict)"),
    ("kantarjian2023", "mrd_neg", "S09", "MRD_negativity"),
    ("kantarjian2023", "sct", "S09", "SCT"),
    ("kantarjian2016_ash", "mrd_neg", "S10", "MRD_negativity"),
    ("stelljes2024", "cr_cri", "S11", "CR/CRi"),
    ("chevallier2024", "relapse", "S12", "relapse"),
    ("jabbour2024", "mrd_neg", "S13", "MRD_negativity"),
    ("jabbour2024", "vod", "S13", "VOD/SOS"),
    ("ino_cd22_2025", "vod", "S17", "VOD/SOS"),
    ("agrawal2025", "cr_cri", "S18", "CR/CRi"),
    ("agrawal2025", "mrd_neg", "S18", "MRD_negativity"),
    ("ash2022_8906", "cr", "S19", "CR (after first InO cycle)"),
]

_UNITS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]  # fmt: skip
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def spelled(n: int) -> str:
    """English words for 0-99 as used in abstracts ('fifty-three')."""
    if n < 20:
        return _UNITS[n]
    tens, unit = divmod(n, 10)
    return _TENS[tens - 2] + ("" if unit == 0 else "-" + _UNITS[unit])


def mentions(quote: str, n: int) -> bool:
    text = quote.lower()
    return bool(re.search(rf"(?<![\d.]){n}(?![\d.])", text)) or spelled(n) in text


@pytest.fixture(scope="module")
def shared() -> pd.DataFrame:
    if not SHARED.is_file():
        skip_unless_required("INOMETA_REQUIRE_SHARED", f"shared reference not found at {SHARED}")
    return pd.read_csv(SHARED, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def ours() -> pd.DataFrame:
    return load_extracted(ROOT / "data" / "extracted").set_index(["study_id", "outcome"])


def test_at_least_ten_spot_checks() -> None:
    assert len(SPOT_CHECKS) >= 10


@pytest.mark.parametrize(("study", "outcome", "sid", "label"), SPOT_CHECKS)
def test_count_matches_the_shared_quote(
    shared: pd.DataFrame, ours: pd.DataFrame, study: str, outcome: str, sid: str, label: str
) -> None:
    rows = shared[(shared["study_id"] == sid) & shared["outcome"].str.startswith(label)]
    assert len(rows) >= 1, f"{sid} {label!r} not in the shared extraction"
    theirs = rows.iloc[0]
    mine = ours.loc[(study, outcome)]
    assert (int(theirs["events"]), int(theirs["total"])) == (mine["events"], mine["total"])
    assert mentions(theirs["source_quote"], mine["events"]), theirs["source_quote"]
    assert mentions(mine["quote"], mine["events"]), mine["quote"]


def test_every_shared_count_is_carried_over_or_its_change_documented(
    shared: pd.DataFrame, ours: pd.DataFrame
) -> None:
    changes = README.read_text().split("## Changes from the shared first extraction")[1]
    counts = ours.reset_index()
    missing = []
    for row in shared.itertuples(index=False):
        studies = STUDY_MAP[row.study_id]
        mine = counts[counts["study_id"].isin(studies)]
        if row.events and row.total:
            same = (mine["events"] == int(row.events)) & (mine["total"] == int(row.total))
            if same.any():
                continue
        if f"{row.study_id} " not in changes and f"{row.study_id}," not in changes:
            missing.append(f"{row.study_id} {row.outcome} {row.events}/{row.total}")
    assert not missing, "undocumented differences from the shared extraction: " + "; ".join(missing)
