"""The choices of the Lao 2025 reproduction, in one place: the published and the
recommended method, which extracted outcomes each published outcome is compared with, the
short labels of figures and tables, and the subgroup variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "DENOMINATOR_ALTERNATIVES",
    "METHODS",
    "METHOD_LABELS",
    "PUBLISHED_METHOD",
    "PUBLISHED_TO_EXTRACTED",
    "RECOMMENDED_METHOD",
    "SHORT_LABELS",
    "SUBGROUP_VARIABLES",
    "DenominatorAlternative",
]

#: The method of the published analysis as inferred from the abstract (see the audit).
PUBLISHED_METHOD: Mapping[str, Any] = MappingProxyType(
    {"transform": "raw", "tau2_method": "DL", "ci_method": "z", "pi_method": "hts"}
)
#: The method we recommend for single-arm proportions.
RECOMMENDED_METHOD: Mapping[str, Any] = MappingProxyType(
    {"method": "glmm", "nagq": "exact", "ci_method": "z", "pi_method": "t"}
)
METHODS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {"published": PUBLISHED_METHOD, "recommended": RECOMMENDED_METHOD}
)
METHOD_LABELS = MappingProxyType(
    {
        "published": "published method (raw proportions, DerSimonian–Laird, Wald CI, "
        "HTS t(k−2) PI)",
        "recommended": "recommended method (binomial–normal GLMM, logit, ML; Wald CI; t(k−1) PI)",
    }
)

#: Published outcome → extracted outcomes it is compared with (CR: both definitions).
PUBLISHED_TO_EXTRACTED: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "orr": ("orr",),
        "cr": ("cr", "cr_cri"),
        "mrd_neg": ("mrd_neg",),
        "sct": ("sct",),
        "relapse": ("relapse",),
        "vod": ("vod",),
        "os_1y": ("os_1y",),
        "os_2y": ("os_2y",),
        "os_3y": ("os_3y",),
        "os_5y": ("os_5y",),
    }
)

#: Short outcome names for figures and tables (the data vocabulary's labels are long).
SHORT_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "orr": "Overall response",
        "cr": "Complete remission",
        "cr_cri": "CR/CRi",
        "mrd_neg": "MRD negativity",
        "sct": "Allogeneic SCT",
        "relapse": "Relapse",
        "vod": "VOD/SOS",
        "os_1y": "1-year OS",
        "os_2y": "2-year OS",
        "os_3y": "3-year OS",
        "os_5y": "5-year OS",
    }
)

SUBGROUP_VARIABLES: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType(
    {
        "setting": ("setting_group", ("newly diagnosed", "relapsed/refractory")),
        "regimen": ("regimen_group", ("monotherapy", "combination")),
    }
)


@dataclass(frozen=True)
class DenominatorAlternative:
    """Another defensible reading of a study's count, for the denominator sensitivity analysis.

    Attributes
    ----------
    study
        ``study_id`` of the report.
    outcomes
        The outcomes whose rows the reading replaces.
    events, total
        The count under this reading.
    reading
        What the reading assumes, in words.
    """

    study: str
    outcomes: tuple[str, ...]
    events: int
    total: int
    reading: str


#: Counts whose denominator is uncertain (data/extracted/outcomes.csv notes give the reasons):
#: the report pools each outcome again with the alternative in place of the recorded count.
DENOMINATOR_ALTERNATIVES: tuple[DenominatorAlternative, ...] = (
    DenominatorAlternative(
        "jabbour2023",
        ("orr", "cr_cri"),
        79,
        80,
        "the review's 99% of all 80 treated (recorded: 73/74, the 99% of about 74 evaluable "
        "once the 6 patients in CR at enrolment are left out)",
    ),
    DenominatorAlternative(
        "chevallier2024",
        ("orr", "cr_cri"),
        119,
        131,
        "the 119 responders at any time (recorded: 118/131, the 90% after induction 2)",
    ),
)
