"""Can any set of the extracted reports give the numbers Lao et al. printed?

The candidate pool of an outcome is every extracted row of that outcome (for CR: strict CR
and CR/CRi, as alternatives for each report) from a report published on or before the
paper's search date, with its cohort, so that a set takes one report per cohort — or, with
``double_count=True``, overlapping reports as the paper may have counted them.
:func:`reconstruct_outcome` searches it against the published values
(``data/published/lao2025.csv``) with :func:`inometa.reconstruct`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..analysis.reconstruct import ReconstructResult, reconstruct
from ..data import SURVIVAL_OUTCOMES, earliest_date, load_extracted, load_published, load_survival
from .config import PUBLISHED_TO_EXTRACTED
from .survival import pseudo_events

__all__ = [
    "RECONSTRUCTABLE",
    "SEARCH_DATE",
    "candidate_pool",
    "published_target",
    "reconstruct_outcome",
    "reconstruct_published",
]

#: The paper's search date (abstract: "up to 2 December 2024").
SEARCH_DATE = dt.date(2024, 12, 2)
#: Published outcomes with extracted counts to search (survival: Kaplan–Meier rates as
#: pseudo-counts, see :mod:`inometa.lao2025.survival`).
RECONSTRUCTABLE = (
    "orr",
    "cr",
    "mrd_neg",
    "sct",
    "relapse",
    "vod",
    "os_1y",
    "os_2y",
    "os_3y",
    "os_5y",
)


def candidate_pool(
    outcome: str, *, data: Any = None, on_or_before: dt.date = SEARCH_DATE
) -> pd.DataFrame:
    """The extracted rows that may stand behind a published outcome.

    Returns
    -------
    pandas.DataFrame
        ``label`` (report, outcome and count, unique), ``events``, ``total``, ``cohort``,
        ``study_id``, ``outcome``, ``denominator``, ``derived``, ``source``.

    Examples
    --------
    >>> pool = candidate_pool("orr")
    >>> bool(pool["study_id"].eq("kantarjian2012").any())
    True
    """
    if outcome not in PUBLISHED_TO_EXTRACTED:
        raise ValueError(f"unknown outcome '{outcome}'; valid: {', '.join(PUBLISHED_TO_EXTRACTED)}")
    if outcome in SURVIVAL_OUTCOMES:
        rows = _survival_rows(outcome, data)
    else:
        rows = load_extracted(data)
        rows = rows[rows["outcome"].isin(PUBLISHED_TO_EXTRACTED[outcome])]
    dates = rows["publication_date"].astype(str).map(earliest_date)
    rows = rows[dates <= on_or_before]
    out = pd.DataFrame(
        {
            "label": [f"{r.label} [{r.outcome} {r.events}/{r.total}]" for r in rows.itertuples()],
            "events": rows["events"].astype(int).to_numpy(),
            "total": rows["total"].astype(int).to_numpy(),
            "cohort": rows["cohort"].to_numpy(),
            "study_id": rows["study_id"].to_numpy(),
            "outcome": rows["outcome"].to_numpy(),
            "denominator": rows["denominator"].to_numpy(),
            "derived": rows["derived"].to_numpy(),
            "source": rows["source"].to_numpy(),
        }
    )
    sorted_pool: pd.DataFrame = out.sort_values(["cohort", "label"]).reset_index(drop=True)
    return sorted_pool


def _survival_rows(outcome: str, data: Any) -> pd.DataFrame:
    """Every printed Kaplan–Meier rate at the time point, as a pseudo-count
    (:data:`inometa.lao2025.survival.CONVENTION`), with its study's attributes."""
    km = load_survival(data)
    km = km[km["outcome"] == outcome]
    studies = load_extracted(data).drop_duplicates("study_id").set_index("study_id")
    picked = studies.loc[km["study_id"], ["label", "cohort", "publication_date", "source"]]
    out: pd.DataFrame = picked.reset_index().assign(
        outcome=outcome,
        events=[pseudo_events(float(r), int(n)) for r, n in zip(km["rate"], km["n"], strict=True)],
        total=km["n"].to_numpy(),
        denominator=km["denominator"].to_numpy(),
        derived=True,
        source=km["source"].to_numpy(),
    )
    return out


def published_target(outcome: str, *, with_pi: bool = False, path: Any = None) -> dict[str, float]:
    """The published values of an outcome, in percent as printed.

    Examples
    --------
    >>> published_target("orr")
    {'estimate': 89.0, 'ci_low': 85.8, 'ci_high': 92.2, 'i2': 90.1}
    """
    pub = load_published(path).set_index("outcome")
    if outcome not in pub.index:
        raise ValueError(f"no published values for '{outcome}'; have: {', '.join(pub.index)}")
    keys: Sequence[str] = ("estimate", "ci_low", "ci_high", "i2")
    if with_pi:
        keys = (*keys, "pi_low", "pi_high")
    out: dict[str, float] = {}
    for key in keys:
        value = pd.to_numeric(pub.loc[outcome, key], errors="coerce")
        if not math.isnan(float(value)):
            out[key] = float(value)
    return out


def reconstruct_outcome(
    outcome: str,
    *,
    double_count: bool = False,
    with_pi: bool = False,
    decimals: int = 1,
    data: Any = None,
    **options: Any,
) -> ReconstructResult:
    """Search the candidate pool of one published outcome (see the module docstring).

    ``decimals`` is the number of decimals the paper printed (1 in Lao et al.); ``options``
    go to :func:`inometa.reconstruct` (``transforms``, ``near``, ``max_seconds``,
    ``progress``, ...).

    Examples
    --------
    >>> res = reconstruct_outcome("relapse", transforms=["raw"], tau2_methods=["DL"])
    >>> len(res.matches), res.feasible
    (0, False)
    """
    if outcome not in RECONSTRUCTABLE:
        raise ValueError(
            f"no extracted counts to search for '{outcome}'; searchable: "
            + ", ".join(RECONSTRUCTABLE)
        )
    pool = candidate_pool(outcome, data=data)
    target = published_target(outcome, with_pi=with_pi, path=data)
    return reconstruct(pool, target, decimals=decimals, allow_same_cohort=double_count, **options)


def reconstruct_published(
    *, data: Any = None, max_seconds: float = 20.0
) -> dict[str, ReconstructResult | str]:
    """The bounded search the reproduction report shows: every searchable outcome, one
    report per cohort, the default method grid, the printed estimate, CI and I².

    An outcome whose search is estimated (from a timed pilot) to take longer than
    ``max_seconds`` is not searched: its value is the reason, a sentence, instead of a result.

    Examples
    --------
    >>> found = reconstruct_published()
    >>> sorted(found) == sorted(RECONSTRUCTABLE)
    True
    >>> found["orr"].feasible
    False
    """
    out: dict[str, ReconstructResult | str] = {}
    for outcome in RECONSTRUCTABLE:
        try:
            out[outcome] = reconstruct_outcome(outcome, data=data, max_seconds=max_seconds)
        except ValueError as err:
            if "would take about" not in str(err):
                raise
            out[outcome] = f"not searched: {err}"
    return out
