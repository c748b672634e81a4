"""The fixed vocabularies and column schemas of ``data/extracted``.

Every coded column of ``studies.csv`` and ``outcomes.csv`` takes its values from one of the
tables below; each maps a code (what is written in the CSV) to a human label (what a forest
plot or report prints). The schemas list, per file, each column with its kind and whether it
may be empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "ADULTS_ONLY",
    "DENOMINATORS",
    "DESIGNS",
    "FULL_POPULATION_DENOMINATORS",
    "OUTCOMES",
    "OUTCOMES_COLUMNS",
    "PH_STATUS",
    "PUBLISHED_COLUMNS",
    "REGIMENS",
    "REPORT_TYPES",
    "SETTINGS",
    "STUDIES_COLUMNS",
    "VERIFICATION",
    "YES_NO",
    "Column",
]

OUTCOMES: MappingProxyType[str, str] = MappingProxyType(
    {
        "orr": "overall response",
        "cr": "complete remission",
        "cr_cri": "complete remission with or without incomplete count recovery (CR/CRi)",
        "mrd_neg": "MRD negativity",
        "sct": "allogeneic stem-cell transplantation",
        "relapse": "relapse",
        "vod": "veno-occlusive disease / sinusoidal obstruction syndrome",
        "os_1y": "1-year overall survival",
        "os_2y": "2-year overall survival",
        "os_3y": "3-year overall survival",
        "os_5y": "5-year overall survival",
    }
)
"""Outcome codes and their labels. ``os_*`` rows exist only where a genuine count was
reported (Kaplan–Meier percentages are not counts)."""

DENOMINATORS: MappingProxyType[str, str] = MappingProxyType(
    {
        "itt": "all enrolled or randomised patients (intention to treat)",
        "treated": "all patients who received at least one dose",
        "safety": "the safety population",
        "evaluable": "patients evaluable for the outcome",
        "responders": "patients who responded (CR/CRi or any response)",
        "mrd_assessed": "patients with an MRD assessment",
        "transplanted": "patients who underwent allogeneic stem-cell transplantation",
    }
)

FULL_POPULATION_DENOMINATORS = frozenset({"itt", "treated", "safety"})
"""Denominators that cover the whole study population; any other raises a warning."""

SETTINGS: MappingProxyType[str, str] = MappingProxyType(
    {
        "newly_diagnosed": "newly diagnosed",
        "relapsed_refractory": "relapsed/refractory",
        "mrd_positive": "MRD-positive in remission",
        "post_transplant": "post-transplant maintenance",
    }
)

REGIMENS: MappingProxyType[str, str] = MappingProxyType(
    {"monotherapy": "monotherapy", "combination": "combination"}
)

DESIGNS: MappingProxyType[str, str] = MappingProxyType(
    {
        "rct_arm": "arm of a randomised controlled trial",
        "single_arm": "single-arm prospective trial",
        "post_hoc_subgroup": "post hoc subgroup of a trial",
        "retrospective": "retrospective series",
    }
)

REPORT_TYPES: MappingProxyType[str, str] = MappingProxyType(
    {
        "journal_article": "journal article",
        "conference_abstract": "conference abstract",
        "registry_record": "trial registry record",
    }
)

PH_STATUS: MappingProxyType[str, str] = MappingProxyType(
    {"negative": "Ph-negative", "positive": "Ph-positive", "any": "Ph-negative and Ph-positive"}
)

ADULTS_ONLY: MappingProxyType[str, str] = MappingProxyType(
    {"yes": "adults only", "no": "includes patients under 18", "unknown": "not reported"}
)

YES_NO: MappingProxyType[str, str] = MappingProxyType({"yes": "yes", "no": "no"})

VERIFICATION: MappingProxyType[str, str] = MappingProxyType(
    {
        "verbatim": "printed as such in the quoted sentence, checked in the stored source",
        "derived": "derived from figures checked in the stored source; the derivation "
        "reproduces every percentage it cites",
        "secondary": "supported only by a secondary source (a seed review or a third-party page)",
        "unverified": "no stored copy of the source was found",
    }
)
"""How firm a count is: how it was checked against its source (``outcomes.csv``
``verification``, shown in the report's studies table)."""

Kind = Literal["text", "id", "int", "year", "date", "choice", "number"]


@dataclass(frozen=True)
class Column:
    """One column of a data file: its name, kind, whether it may be empty, its vocabulary."""

    name: str
    kind: Kind = "text"
    required: bool = True
    choices: MappingProxyType[str, str] | None = None


STUDIES_COLUMNS: tuple[Column, ...] = (
    Column("study_id", "id"),
    Column("label"),
    Column("first_author"),
    Column("year", "year"),
    Column("publication_date", "date"),
    Column("journal"),
    Column("doi", required=False),
    Column("url", required=False),
    Column("registry_id", required=False),
    Column("report_type", "choice", choices=REPORT_TYPES),
    Column("design", "choice", choices=DESIGNS),
    Column("phase"),
    Column("setting", "choice", choices=SETTINGS),
    Column("regimen", "choice", choices=REGIMENS),
    Column("partner_drugs", required=False),
    Column("population"),
    Column("adults_only", "choice", choices=ADULTS_ONLY),
    Column("ph_status", "choice", choices=PH_STATUS),
    Column("n_enrolled", "int", required=False),
    Column("n_treated", "int", required=False),
    Column("cohort", "id"),
    Column("notes", required=False),
)

OUTCOMES_COLUMNS: tuple[Column, ...] = (
    Column("study_id", "id"),
    Column("outcome", "choice", choices=OUTCOMES),
    Column("events", "int"),
    Column("total", "int"),
    Column("denominator", "choice", choices=DENOMINATORS),
    Column("denominator_definition"),
    Column("definition"),
    Column("derived", "choice", choices=YES_NO),
    Column("derivation", required=False),
    Column("verification", "choice", choices=VERIFICATION),
    Column("source"),
    Column("quote"),
    Column("location"),
    Column("notes", required=False),
)

PUBLISHED_COLUMNS: tuple[Column, ...] = (
    Column("outcome", "choice", choices=OUTCOMES),
    Column("outcome_as_published"),
    Column("estimate", "number"),
    Column("ci_low", "number"),
    Column("ci_high", "number"),
    Column("pi_low", "number", required=False),
    Column("pi_high", "number", required=False),
    Column("i2", "number"),
    Column("heterogeneity_p"),
    Column("source"),
    Column("location"),
    Column("note", required=False),
)
