"""Reproduce Lao, Wen & Wen (2025) from the extracted data: the computation behind
``inometa reproduce`` (writing files is :mod:`inometa.lao2025.report`).

For every outcome of an analysis set with counts it pools

* under the **published method**, as far as the audit of the abstract lets us infer it:
  untransformed proportions, DerSimonian–Laird, Wald CI (every published CI is symmetric on
  the raw scale) and the Higgins–Thompson–Spiegelhalter t(k−2) prediction interval;
* under the **recommended method**: the binomial–normal GLMM on the logit scale (exact
  binomial likelihood, no continuity correction, estimates inside [0, 1]) with a t(k−1)
  prediction interval;

and adds a sensitivity grid (transforms × τ² estimators × CI methods), subgroup analyses by
setting (newly diagnosed vs relapsed/refractory) and regimen (monotherapy vs combination)
with both tests for subgroup differences, leave-one-out, and the small-study-effect tests
where k ≥ 10. It then puts the published numbers beside the reproduced ones and derives the
explanations it can for each difference: method, study set (including a what-if with the
overlapping reports a review could have double-counted), denominators, outcome definition,
and the audit of the published numbers.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..analysis.reconstruct import ReconstructResult
from ..core.results import MetaPropResult
from .audit import audit_table
from .config import (
    METHODS,
    PUBLISHED_METHOD,
    PUBLISHED_TO_EXTRACTED,
    RECOMMENDED_METHOD,
)
from .outcomes import (
    OutcomeAnalysis,
    analyse_outcome,
    cumulative_by_date,
    denominator_sensitivity,
    fit_rows,
)
from .reconstruction import reconstruct_published

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PUBLISHED_METHOD",
    "RECOMMENDED_METHOD",
    "OutcomeAnalysis",
    "Reproduction",
    "cumulative_by_date",
    "denominator_sensitivity",
    "reproduce",
]


@dataclass(frozen=True)
class Reproduction:
    """The reproduction of a published analysis from an analysis set.

    Attributes
    ----------
    set_name, set_description
        The analysis set used.
    outcomes
        Outcome code → :class:`OutcomeAnalysis` (outcomes without counts included, k = 0).
    published
        The published pooled numbers (:func:`inometa.data.load_published`).
    comparison
        One row per (published outcome, extracted outcome): published and reproduced
        estimate, CI, PI, I², k, N, the difference in percentage points and explanations.
    audit
        The audit of the published numbers (:func:`inometa.audit_table`).
    exclusions
        Reports the set leaves out on purpose, with the reason.
    data_files
        Path → SHA-256 of every data file read.
    timings
        Step → seconds.
    baseline
        The set this one is compared with (``"lao2025"`` for any other set), or None.
    changes
        Per outcome, what changed from the baseline: studies added and dropped, k, and the
        pooled estimates before and after under both methods (None without a baseline).
    methods
        The method options used (name → options).
    version
        inometa version.
    reconstruction
        Per searchable outcome, whether any set of the extracted reports gives the published
        numbers (:func:`inometa.lao2025.reconstruction.reconstruct_published`; a sentence
        instead of a result for an outcome not searched).
    """

    set_name: str
    set_description: str
    outcomes: Mapping[str, OutcomeAnalysis]
    published: pd.DataFrame
    comparison: pd.DataFrame
    audit: pd.DataFrame
    exclusions: pd.DataFrame
    data_files: Mapping[str, str]
    timings: Mapping[str, float]
    baseline: str | None = None
    changes: pd.DataFrame | None = None
    methods: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: METHODS)
    version: str = __version__
    reconstruction: Mapping[str, ReconstructResult | str] | None = None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pct(v: float | None) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


def _what_if_overlaps(
    set_name: str, outcome: str, path: Any, studies: pd.DataFrame
) -> tuple[MetaPropResult | None, list[str]]:
    """The published-method result if the set's excluded overlapping reports were added."""
    from ..data import load_extracted, set_exclusions

    excluded = set(set_exclusions(set_name, path)["study_id"])
    allrows = load_extracted(path)
    extra = allrows[(allrows["outcome"] == outcome) & allrows["study_id"].isin(excluded)]
    if extra.empty:
        return None, []
    import pandas as pd

    both = pd.concat(
        [studies[["label", "events", "total"]], extra[["label", "events", "total"]]],
        ignore_index=True,
    )
    return fit_rows(both, **PUBLISHED_METHOD), list(extra["label"])


def _explain(
    published: Mapping[Any, Any],
    oa: OutcomeAnalysis,
    audit_rows: pd.DataFrame,
    set_name: str,
    path: Any,
    siblings: Mapping[str, OutcomeAnalysis],
) -> list[str]:
    pub_est = published["estimate"] / 100
    out: list[str] = []
    if oa.k == 0:
        out.append(
            "Not reproducible: no report of the set prints a Kaplan–Meier rate at this time point."
            if oa.outcome.startswith("os_")
            else "Not reproducible: the analysis set has no counts for this outcome."
        )
    else:
        if oa.outcome.startswith("os_"):
            from .survival import CONVENTION

            out.append(f"Survival: {CONVENTION}.")
        res = oa.results["published"]
        diff = 100 * (res.estimate - pub_est)
        lo, hi = published["ci_low"] / 100, published["ci_high"] / 100
        inside = lo <= res.estimate <= hi
        out.append(
            f"Published method on the reconstructed set: {_pct(res.estimate)} "
            f"({diff:+.1f} percentage points; {'inside' if inside else 'outside'} the published "
            f"CI) from k = {res.k} studies, N = {res.data.n_total}."
        )
        grid = oa.sensitivity
        g_lo, g_hi = float(grid["estimate"].min()), float(grid["estimate"].max())
        covered = g_lo - 0.0005 <= pub_est <= g_hi + 0.0005
        out.append(
            f"Method: across {len(grid)} transform × τ² estimator × CI combinations and the "
            f"GLMM the estimate ranges {_pct(g_lo)}–{_pct(g_hi)}; the published value lies "
            + (
                "inside this range, so a method choice could explain part of the difference."
                if covered
                else "outside it, so no method choice alone explains the difference: the study "
                "set, the counts or the outcome definition must differ."
            )
        )
        what_if, added = _what_if_overlaps(set_name, oa.outcome, path, oa.studies)
        if what_if is not None:
            out.append(
                f"Study set: adding the {len(added)} report{'' if len(added) == 1 else 's'} "
                f"the reconstruction leaves out on purpose ({', '.join(added)}; mostly earlier "
                "or partial reports of cohorts already included, whose double counting the "
                "abstract's 16 studies / 1,068 patients may imply) gives "
                f"{_pct(what_if.estimate)} (k = {what_if.k})."
            )
        else:
            out.append(
                "Study set: the per-outcome study lists of the paper are not available; the "
                "reconstruction is documented in data/extracted (analysis set "
                f"'{set_name}')."
            )
        rows = oa.studies
        derived = rows.loc[rows["derived"].astype(bool), "label"].tolist()
        other_den = rows.loc[
            ~rows["denominator"].isin(["itt", "treated"]), ["label", "denominator"]
        ]
        if derived or not other_den.empty:
            bits = []
            if derived:
                verb = "is" if len(derived) == 1 else "are"
                bits.append(
                    f"{len(derived)} of {len(rows)} counts {verb} derived from "
                    f"percentages ({', '.join(derived)})"
                )
            if not other_den.empty:
                bits.append(
                    "denominators other than all treated: "
                    + ", ".join(f"{r.label} ({r.denominator})" for r in other_den.itertuples())
                )
            out.append("Counts and denominators: " + "; ".join(bits) + ".")
    if oa.outcome in ("cr", "cr_cri") and "cr" in siblings and "cr_cri" in siblings:
        strict, cri = siblings["cr"], siblings["cr_cri"]
        if strict.k and cri.k:
            e1 = strict.results["published"].estimate
            e2 = cri.results["published"].estimate
            if min(e1, e2) < pub_est < max(e1, e2):
                out.append(
                    f"Definition: the published 'CR' ({published['estimate']:.1f}%) lies between "
                    f"strict CR ({_pct(e1)}) and CR/CRi ({_pct(e2)}), consistent with pooling "
                    "different response definitions across studies."
                )
    bad = audit_rows[audit_rows["status"] == "impossible"]
    if not bad.empty:
        out.append(
            "Published numbers: "
            + " ".join(m[0].upper() + m[1:] + "." for m in bad["message"])
            + " No analysis can reproduce "
            "such a prediction interval."
        )
    return out


def _comparison(
    rep_outcomes: Mapping[str, OutcomeAnalysis],
    published: pd.DataFrame,
    audit: pd.DataFrame,
    set_name: str,
    path: Any,
) -> pd.DataFrame:
    import pandas as pd

    records = []
    for pub in published.to_dict("records"):
        for outcome in PUBLISHED_TO_EXTRACTED.get(pub["outcome"], ()):
            oa = rep_outcomes.get(outcome)
            if oa is None:
                continue
            rec: dict[str, Any] = {
                "published_outcome": pub["outcome"],
                "outcome": outcome,
                "outcome_label": oa.label,
                "published_estimate": pub["estimate"],
                "published_ci_low": pub["ci_low"],
                "published_ci_high": pub["ci_high"],
                "published_pi_low": pub.get("pi_low"),
                "published_pi_high": pub.get("pi_high"),
                "published_i2": pub.get("i2"),
                "k": oa.k,
                "n": int(oa.studies["total"].sum()) if oa.k else 0,
            }
            for name in METHODS:
                res = oa.results.get(name)
                for key, value in (
                    ("estimate", None if res is None else res.estimate),
                    ("ci_low", None if res is None else res.random.proportion_ci.low),
                    ("ci_high", None if res is None else res.random.proportion_ci.high),
                    ("pi_low", None if res is None else res.prediction.proportion_low),
                    ("pi_high", None if res is None else res.prediction.proportion_high),
                    ("i2", None if res is None else res.i2),
                ):
                    rec[f"{name}_method_{key}"] = None if value is None else 100 * value
            # reproduced under the published method minus published, in percentage points
            rec["difference_pp"] = (
                None if oa.k == 0 else rec["published_method_estimate"] - rec["published_estimate"]
            )
            rows = audit[audit["label"] == pub["outcome"]]
            rec["explanations"] = _explain(pub, oa, rows, set_name, path, rep_outcomes)
            records.append(rec)
    table: pd.DataFrame = pd.DataFrame(records)
    return table


def _changes(
    before: Mapping[str, OutcomeAnalysis], after: Mapping[str, OutcomeAnalysis]
) -> pd.DataFrame:
    """Per outcome: studies added and dropped, and how the pooled estimates moved."""
    import pandas as pd

    rows = []
    for code, new in after.items():
        old = before[code]
        old_ids = set(old.studies["study_id"]) if old.k else set()
        new_ids = set(new.studies["study_id"]) if new.k else set()
        if not old_ids and not new_ids:
            continue
        labels = {
            **(
                dict(zip(old.studies["study_id"], old.studies["label"], strict=True))
                if old.k
                else {}
            ),
            **(
                dict(zip(new.studies["study_id"], new.studies["label"], strict=True))
                if new.k
                else {}
            ),
        }
        row: dict[str, Any] = {
            "outcome": code,
            "k_before": old.k,
            "k_after": new.k,
            "added": ", ".join(sorted(labels[s] for s in new_ids - old_ids)),
            "dropped": ", ".join(sorted(labels[s] for s in old_ids - new_ids)),
        }
        for method in METHODS:
            b = old.results[method].estimate if method in old.results else math.nan
            a = new.results[method].estimate if method in new.results else math.nan
            row[f"{method}_before"] = 100 * b
            row[f"{method}_after"] = 100 * a
            row[f"{method}_change_pp"] = 100 * (a - b)
        rows.append(row)
    table: pd.DataFrame = pd.DataFrame(rows)
    return table


def reproduce(
    set_name: str = "lao2025", *, path: Any = None, baseline: str | None = "auto"
) -> Reproduction:
    """Rerun the published analysis from an analysis set of the extracted data.

    Parameters
    ----------
    set_name
        ``"lao2025"`` (the reconstruction of the published study set) or ``"latest"``.
    path
        A ``data/extracted`` directory (default: see :mod:`inometa.data`).
    baseline
        A set to report changes against: ``"auto"`` (``"lao2025"`` for any other set,
        nothing for ``"lao2025"`` itself), a set name, or None.

    Returns
    -------
    Reproduction

    Examples
    --------
    >>> import inometa
    >>> rep = reproduce("lao2025")  # doctest: +SKIP
    >>> rep.comparison[["outcome", "published_estimate", "published_method_estimate"]]
    ...                                     # doctest: +SKIP
    """
    from ..data import (
        OUTCOMES,
        analysis_sets,
        data_dir,
        load_published,
        published_file,
        set_exclusions,
    )

    timings: dict[str, float] = {}
    start = time.perf_counter()
    sets = analysis_sets(path)
    if set_name not in sets:
        raise ValueError(f"unknown analysis set {set_name!r}; valid sets are: {', '.join(sets)}")
    if baseline == "auto":
        baseline = None if set_name == "lao2025" else "lao2025"
    if baseline is not None and baseline not in sets:
        raise ValueError(f"unknown baseline set {baseline!r}; valid sets are: {', '.join(sets)}")
    outcomes = {}
    for outcome in OUTCOMES:
        t0 = time.perf_counter()
        outcomes[outcome] = analyse_outcome(set_name, outcome, path)
        timings[f"outcome {outcome}"] = time.perf_counter() - t0
    published = load_published(path)
    audit = audit_table(published)
    t0 = time.perf_counter()
    comparison = _comparison(outcomes, published, audit, set_name, path)
    timings["comparison"] = time.perf_counter() - t0
    directory = data_dir(path)
    files = sorted(directory.glob("*.csv")) + sorted(directory.glob("*.toml"))
    files.append(published_file(path))
    changes = None
    if baseline is not None:
        t0 = time.perf_counter()
        before = {code: analyse_outcome(baseline, code, path) for code in OUTCOMES}
        changes = _changes(before, outcomes)
        timings["baseline"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    reconstruction = reconstruct_published(data=path)
    timings["reconstruction"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - start
    return Reproduction(
        set_name=set_name,
        set_description=sets[set_name],
        outcomes=MappingProxyType(outcomes),
        published=published,
        comparison=comparison,
        audit=audit,
        exclusions=set_exclusions(set_name, path),
        data_files=MappingProxyType({str(f): _sha256(f) for f in files}),
        timings=MappingProxyType(timings),
        baseline=baseline,
        changes=changes,
        reconstruction=MappingProxyType(reconstruction),
    )
