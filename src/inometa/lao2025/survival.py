"""Overall survival pooled as Lao et al. did: Kaplan–Meier rates treated as proportions.

The abstract pools 1-, 2-, 3- and 5-year OS "rates" with the same random-effects model as
its response rates, so each report's Kaplan–Meier percentage at the time point is turned into
a pseudo-count out of the patients the curve starts from:

    events = round(rate × n / 100)  (half up),  total = n,

and pooled like any proportion; the within-study variance is then the binomial one,
p(1 − p)/n. This ignores censoring (a KM rate's true variance, Greenwood's, is larger when
patients are censored before the time point), so the pooled CIs are too narrow; it is the
convention the published numbers imply, recorded as :data:`CONVENTION` on every analysis.
Printed CIs (only INITIAL-1 prints them) are kept in the rows for comparison, not used.

A report is in a set's survival analysis when the set uses the report for any count outcome
(:func:`inometa.data.analysis_set`) and ``survival.csv`` has its rate at the time point;
within one cohort the latest report is used.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from ..data import OUTCOMES, SURVIVAL_OUTCOMES, analysis_set, load_extracted, load_survival
from ..data.vocabulary import OUTCOMES_COLUMNS

__all__ = ["CONVENTION", "pseudo_events", "survival_set"]

#: How a Kaplan–Meier rate becomes a proportion to pool (recorded on each OS analysis).
CONVENTION = (
    "Kaplan–Meier OS rate pooled as a proportion: events = round(rate × n) (half up) of the "
    "n patients the curve starts from, binomial variance; censoring is ignored, so CIs are "
    "too narrow"
)

_COUNT_OUTCOMES = tuple(o for o in OUTCOMES if o not in SURVIVAL_OUTCOMES)


def pseudo_events(rate: float, n: int) -> int:
    """The events a Kaplan–Meier ``rate`` (percent) of ``n`` stands for: round(rate × n / 100),
    half up (:data:`CONVENTION`).

    Examples
    --------
    >>> pseudo_events(73.2, 131), pseudo_events(50, 41)
    (96, 21)
    """
    return int((Decimal(repr(rate)) * n / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def survival_set(set_name: str, outcome: str, path: Any = None) -> pd.DataFrame:
    """The survival rows of an analysis set at one time point, as pseudo-counts.

    Parameters
    ----------
    set_name
        An analysis set (``"lao2025"``, ``"latest"``).
    outcome
        ``"os_1y"``, ``"os_2y"``, ``"os_3y"`` or ``"os_5y"``.
    path
        A ``data/extracted`` directory (default: see :mod:`inometa.data`).

    Returns
    -------
    pandas.DataFrame
        The study columns of :func:`inometa.data.analysis_set` (``label``, ``cohort``,
        ``setting_group``, ``regimen_group``, ``year``, ``publication_date``, ...) with
        ``events`` and ``total`` formed as described in the module docstring, plus
        ``km_rate``, ``km_ci_low``, ``km_ci_high`` (percent as printed), ``quote``,
        ``source``, ``verification`` and ``convention``. Empty when no report of the set
        prints a rate at the time point.

    Examples
    --------
    >>> rows = survival_set("lao2025", "os_3y")
    >>> rows[["label", "km_rate", "events", "total"]].to_numpy().tolist()
    [['Kantarjian 2023', 40.0, 44, 110], ['Stelljes 2024', 73.0, 31, 43]]
    """
    if outcome not in SURVIVAL_OUTCOMES:
        raise ValueError(
            f"unknown survival outcome {outcome!r}; valid: {', '.join(SURVIVAL_OUTCOMES)}"
        )
    members: dict[str, str] = {}
    for count_outcome in _COUNT_OUTCOMES:
        chosen = analysis_set(set_name, count_outcome, path)
        for study, reason in zip(chosen["study_id"], chosen["reason"], strict=True):
            members.setdefault(study, reason)
    km = load_survival(path)
    km = km[(km["outcome"] == outcome) & km["study_id"].isin(list(members))]
    studies = load_extracted(path).drop_duplicates("study_id").set_index("study_id")
    # What load_extracted adds to each outcome row (its columns, a label, its line); the rest
    # describes the study.
    per_outcome = {c.name for c in OUTCOMES_COLUMNS} | {
        "outcome_label",
        "outcome_notes",
        "outcomes_line",
    }
    study_columns = [c for c in studies.columns if c not in per_outcome]
    rows = []
    for r in km.itertuples():
        row = {"study_id": r.study_id, **studies.loc[r.study_id, study_columns].to_dict()}
        row.update(
            outcome=outcome,
            outcome_label=OUTCOMES[outcome],
            events=pseudo_events(float(r.rate), int(r.n)),
            derivation=(
                f"KM rate {r.rate:g}% x {r.n} = {float(r.rate) * int(r.n) / 100:.2f} "
                f"-> {pseudo_events(float(r.rate), int(r.n))} (pooling convention, not a count)"
            ),
            total=int(r.n),
            denominator=r.denominator,
            denominator_definition=r.n_definition,
            km_rate=float(r.rate),
            km_ci_low=float(r.ci_low),
            km_ci_high=float(r.ci_high),
            verification=r.verification,
            source=r.source,
            quote=r.quote,
            location=r.location,
            derived=True,
            reason=members[r.study_id],
            convention=CONVENTION,
        )
        rows.append(row)
    frame: pd.DataFrame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame = frame.sort_values(["cohort", "publication_date"], kind="stable")
    frame = frame.drop_duplicates("cohort", keep="last")
    out: pd.DataFrame = frame.sort_values(
        ["year", "publication_date", "label"], kind="stable"
    ).reset_index(drop=True)
    out["events"] = out["events"].astype("int64")
    out["total"] = out["total"].astype("int64")
    out["year"] = out["year"].astype("int64")
    return out
