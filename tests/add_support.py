"""Shared helpers for the tests of adding data: a fresh copy of data/extracted, a byte
snapshot of its files, and a valid new study (fictitious, used only on copies)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXTRACTED = ROOT / "data" / "extracted"
EXAMPLE_CSV = ROOT / "data" / "examples" / "new_rows.csv"
FILES = ("studies.csv", "outcomes.csv", "analysis_sets.toml")

# A report published after the lao2025 search date, of a new cohort: valid as it stands.
NEW_STUDY: dict[str, Any] = {
    "study_id": "doe2026",
    "label": "Doe 2026",
    "first_author": "Doe J",
    "year": 2026,
    "publication_date": "2026-03",
    "journal": "Example J",
    "url": "https://example.org/doe2026",
    "report_type": "journal_article",
    "design": "single_arm",
    "phase": "2",
    "setting": "relapsed_refractory",
    "regimen": "monotherapy",
    "population": "adults with R/R ALL",
    "adults_only": "yes",
    "ph_status": "any",
    "n_enrolled": 40,
    "n_treated": 40,
    "cohort": "doe_trial",
}
NEW_ORR: dict[str, Any] = {
    "outcome": "orr",
    "events": 30,
    "total": 40,
    "denominator": "treated",
    "denominator_definition": "all 40 treated",
    "definition": "CR + CRi",
    "source": "https://example.org/doe2026",
    "quote": "Thirty of 40 patients (75%) achieved CR or CRi.",
    "location": "abstract",
}


def new_row(**changes: Any) -> dict[str, Any]:
    """The new study's overall-response row, with ``changes`` (None removes a field)."""
    row = {**NEW_STUDY, **NEW_ORR, **changes}
    return {k: v for k, v in row.items() if v is not None}


def copy_data(tmp_path: Path) -> Path:
    """A fresh copy of the shipped data/extracted."""
    return Path(shutil.copytree(EXTRACTED, tmp_path / "extracted"))


def snapshot(directory: Path) -> dict[str, bytes]:
    """The bytes of the three data files."""
    return {name: (directory / name).read_bytes() for name in FILES}


def listing(directory: Path) -> list[str]:
    """Every file name in the directory (temporary or backup files would show here)."""
    return sorted(p.name for p in directory.iterdir())
