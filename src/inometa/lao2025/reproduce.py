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

import datetime as dt
import hashlib
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from .._version import __version__
from ..analysis.bias import SmallKWarning, begg_test, egger_test, trim_and_fill
from ..analysis.pooling import metaprop
from ..analysis.reconstruct import ReconstructResult
from ..analysis.sensitivity import leave_one_out
from ..analysis.subgroups import SubgroupResult, subgroup_analysis
from ..core.results import MetaPropResult
from .audit import audit_table
from .config import (
    DENOMINATOR_ALTERNATIVES,
    METHODS,
    PUBLISHED_METHOD,
    PUBLISHED_TO_EXTRACTED,
    RECOMMENDED_METHOD,
    SUBGROUP_VARIABLES,
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

_GRID_TRANSFORMS = ("raw", "logit", "arcsine", "ft")
_GRID_TAU2 = ("DL", "REML", "PM")
_GRID_CI = ("z", "hk")
_MIN_K_BIAS = 10


@dataclass(frozen=True)
class OutcomeAnalysis:
    """Everything computed for one outcome.

    Attributes
    ----------
    outcome, label
        Outcome code and its label.
    studies
        The rows pooled (from :func:`inometa.data.analysis_set`).
    results
        Method name (``"published"``, ``"recommended"``) → result (absent when k = 0).
    sensitivity
        One row per method in the grid: options, k, estimate, CI, PI, τ², I².
    subgroups
        Variable → method name → :class:`~inometa.SubgroupResult`. Studies in none of
        the variable's levels form the block ``"other"``: every study is in every analysis.
    leave_one_out
        Method name → leave-one-out table.
    cumulative
        Method name → cumulative meta-analysis by publication date (see
        :func:`cumulative_by_date`).
    denominators
        The denominator sensitivity analysis (see :func:`denominator_sensitivity`), or None
        when no study of the outcome has an alternative reading.
    bias
        Small-study effects under the published method (``egger``, ``begg``,
        ``trim_and_fill``), or empty when k < 10.
    notes
        Plain-language notes.
    subgroup_notes
        Variable → the sentence naming the studies of its ``"other"`` block (for figures).
    """

    outcome: str
    label: str
    studies: pd.DataFrame
    results: Mapping[str, MetaPropResult]
    sensitivity: pd.DataFrame
    subgroups: Mapping[str, Mapping[str, SubgroupResult]]
    leave_one_out: Mapping[str, pd.DataFrame]
    bias: Mapping[str, Any]
    notes: tuple[str, ...]
    cumulative: Mapping[str, pd.DataFrame] = field(default_factory=lambda: MappingProxyType({}))
    denominators: pd.DataFrame | None = None
    subgroup_notes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def k(self) -> int:
        """Number of studies."""
        return len(self.studies)


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


def _fit(rows: pd.DataFrame, **options: Any) -> MetaPropResult:
    return metaprop("events", "total", data=rows, labels="label", **options)


def _grid(rows: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    records = []
    combos: list[dict[str, Any]] = [
        {"transform": t, "tau2_method": m, "ci_method": c, "pi_method": "t"}
        for t in _GRID_TRANSFORMS
        for m in _GRID_TAU2
        for c in _GRID_CI
    ]
    combos += [
        {"method": "glmm", "nagq": "exact", "ci_method": c, "pi_method": "t"} for c in ("z", "t")
    ]
    for opts in combos:
        res = _fit(rows, **opts)
        records.append(
            {
                "method": "glmm" if opts.get("method") == "glmm" else "inverse",
                "transform": res.options.transform,
                "tau2_method": res.options.tau2_method,
                "ci_method": res.options.ci_method,
                "k": res.k,
                "estimate": res.estimate,
                "ci_low": res.random.proportion_ci.low,
                "ci_high": res.random.proportion_ci.high,
                "pi_low": res.prediction.proportion_low,
                "pi_high": res.prediction.proportion_high,
                "tau2": res.tau2,
                "i2": res.i2,
            }
        )
    grid: pd.DataFrame = pd.DataFrame(records)
    return grid


def denominator_sensitivity(
    rows: pd.DataFrame, outcome: str, methods: Mapping[str, Mapping[str, Any]] = METHODS
) -> pd.DataFrame | None:
    """Pool an outcome again with each uncertain count replaced by its alternative reading.

    Parameters
    ----------
    rows : pandas.DataFrame
        The outcome's rows (:func:`inometa.data.analysis_set`).
    outcome : str
        The outcome code.
    methods : mapping
        Method name → :func:`inometa.metaprop` options (default: published and recommended).

    Returns
    -------
    pandas.DataFrame or None
        One row per (alternative, method): ``study_id``, ``label``, ``recorded`` and
        ``alternative`` counts (``"73/74"``), ``reading``, ``method``, the pooled
        ``estimate``, ``ci_low``, ``ci_high`` with the recorded counts and ``*_alt`` with the
        alternative, and ``change_pp`` (alternative − recorded, percentage points). None when
        no study of the set has an alternative for this outcome
        (:data:`inometa.lao2025.config.DENOMINATOR_ALTERNATIVES`).

    Examples
    --------
    >>> from inometa.data import analysis_set
    >>> from inometa.lao2025.reproduce import denominator_sensitivity
    >>> table = denominator_sensitivity(analysis_set("lao2025", "orr"), "orr")
    >>> table[["study_id", "recorded", "alternative", "method"]].iloc[0].tolist()
    ['jabbour2023', '73/74', '79/80', 'published']
    """
    import pandas as pd

    records = []
    for alt in DENOMINATOR_ALTERNATIVES:
        where = rows["study_id"] == alt.study
        if outcome not in alt.outcomes or not where.any():
            continue
        changed = rows.copy()
        changed.loc[where, "events"] = alt.events
        changed.loc[where, "total"] = alt.total
        row = rows.loc[where].iloc[0]
        for name, opts in methods.items():
            base, other = _fit(rows, **opts), _fit(changed, **opts)
            records.append(
                {
                    "study_id": alt.study,
                    "label": row["label"],
                    "recorded": f"{row['events']}/{row['total']}",
                    "alternative": f"{alt.events}/{alt.total}",
                    "reading": alt.reading,
                    "method": name,
                    "estimate": base.estimate,
                    "ci_low": base.random.proportion_ci.low,
                    "ci_high": base.random.proportion_ci.high,
                    "estimate_alt": other.estimate,
                    "ci_low_alt": other.random.proportion_ci.low,
                    "ci_high_alt": other.random.proportion_ci.high,
                    "change_pp": 100 * (other.estimate - base.estimate),
                }
            )
    return pd.DataFrame(records) if records else None


OTHER_SUBGROUP = "other"


def _subgroups(
    rows: pd.DataFrame, notes: list[str], others: dict[str, str]
) -> dict[str, dict[str, SubgroupResult]]:
    """Subgroup analyses by each variable of :data:`SUBGROUP_VARIABLES`.

    Studies in none of a variable's levels form one block, :data:`OTHER_SUBGROUP`, so that
    every study of the outcome is shown and the overall row is the outcome's; ``others``
    receives, per variable, the sentence naming them.
    """
    import pandas as pd

    out: dict[str, dict[str, SubgroupResult]] = {}
    for name, (column, levels) in SUBGROUP_VARIABLES.items():
        inside = rows[column].isin(levels)
        present = [lev for lev in levels if (rows[column] == lev).any()]
        if len(present) < 2:
            notes.append(
                f"no subgroup analysis by {name}: only {', '.join(present) or 'none'} present"
            )
            continue
        groups = rows[column].where(inside, OTHER_SUBGROUP)
        if not inside.all():
            outside = rows.loc[~inside]
            listed = ", ".join(f"{r.label} ({r[column]})" for _, r in outside.iterrows())
            n_out = len(outside)
            others[name] = (
                f"'{OTHER_SUBGROUP}': {listed} — in neither {' nor '.join(levels)}; "
                f"the tests for subgroup differences compare all {len(present) + 1} blocks."
            )
            notes.append(
                f"subgroups by {name}: {n_out} stud{'y' if n_out == 1 else 'ies'} in other "
                f"categories shown as the block {OTHER_SUBGROUP}: {listed}"
            )
        order = [*present, *([OTHER_SUBGROUP] if not inside.all() else [])]
        if len(order) >= len(rows):
            notes.append(
                f"no subgroup analysis by {name}: {len(rows)} studies in {len(order)} blocks "
                "(the test needs more studies than blocks)"
            )
            continue
        data = rows.assign(_subgroup=pd.Categorical(groups, categories=order))
        out[name] = {}
        for method, opts in METHODS.items():
            out[name][method] = subgroup_analysis(
                "events",
                "total",
                "_subgroup",
                data=data.reset_index(drop=True),
                labels="label",
                **opts,
            )
    return out


def _bias(res: MetaPropResult, notes: list[str]) -> dict[str, Any]:
    if res.k < _MIN_K_BIAS:
        notes.append(
            f"small-study effects not assessed: k = {res.k} < {_MIN_K_BIAS} studies (Egger's and "
            "Begg's tests and trim-and-fill have too little power and too many false alarms)"
        )
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallKWarning)
        return {
            "egger": egger_test(res),
            "begg": begg_test(res),
            "trim_and_fill": trim_and_fill(res),
        }


def cumulative_by_date(
    res: MetaPropResult, rows: pd.DataFrame, cutoff: dt.date | None = None
) -> pd.DataFrame:
    """Cumulative meta-analysis adding studies in order of publication date.

    Parameters
    ----------
    res
        The analysis of ``rows`` (studies in the order of ``rows``).
    rows
        The pooled rows, with ``study_id``, ``label`` and ``publication_date`` (``YYYY``,
        ``YYYY-MM`` or ``YYYY-MM-DD``; a date given as a year or month counts as its first
        day, and ties keep the order of ``rows``).
    cutoff
        A search date: steps adding a report published after it are flagged ``new``.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`inometa.cumulative` (``order`` holds the publication date as
        written in the data) plus ``step``, ``study_id``, ``events`` and ``n`` (cumulative
        totals), ``change_pp`` (how far the pooled estimate moved with this study, in
        percentage points; NaN at step 1) and ``new``.

    Examples
    --------
    >>> import pandas as pd
    >>> import inometa
    >>> from inometa.lao2025.reproduce import cumulative_by_date
    >>> rows = pd.DataFrame({"study_id": ["a", "b", "c"], "label": ["A", "B", "C"],
    ...                      "events": [10, 20, 30], "total": [50, 60, 70],
    ...                      "publication_date": ["2019-03", "2017", "2025"]})
    >>> res = inometa.metaprop("events", "total", data=rows, labels="label")
    >>> import datetime
    >>> table = cumulative_by_date(res, rows, cutoff=datetime.date(2024, 12, 2))
    >>> table[["step", "added", "order", "new"]].to_numpy().tolist()
    [[1, 'B', '2017', False], [2, 'A', '2019-03', False], [3, 'C', '2025', True]]
    """
    from ..analysis.sensitivity import cumulative
    from ..data import earliest_date

    dates = np.array([earliest_date(str(d)) for d in rows["publication_date"]], "datetime64[D]")
    table = cumulative(res, order=dates)
    by_label = rows.set_index("label")
    steps = by_label.loc[table["added"]]
    table = table.assign(
        order=list(steps["publication_date"].astype(str)),
        step=range(1, len(table) + 1),
        study_id=list(steps["study_id"]),
        events=list(steps["events"].cumsum()),
        n=list(steps["total"].cumsum()),
        change_pp=100 * table["estimate"].diff(),
        new=[
            cutoff is not None and earliest_date(str(d)) > cutoff for d in steps["publication_date"]
        ],
    )
    first = ["step", "added", "study_id", "order", "new", "events", "n"]
    out: pd.DataFrame = table[first + [c for c in table.columns if c not in first]]
    out.attrs.update(table.attrs)
    return out


def _search_date(set_name: str, path: Any) -> dt.date | None:
    """The publication cut-off of the set or of the nearest set it extends."""
    from ..data import data_dir
    from ..data.checks import collect

    _, specs, _ = collect(data_dir(path))
    name: str | None = set_name
    while name is not None and name in specs:
        if specs[name].cutoff is not None:
            return specs[name].cutoff
        name = specs[name].extends
    return None


def _analyse_outcome(set_name: str, outcome: str, path: Any) -> OutcomeAnalysis:
    from ..data import OUTCOMES, analysis_set

    notes: list[str] = []
    if outcome.startswith("os_"):
        from .survival import CONVENTION, survival_set

        rows = survival_set(set_name, outcome, path)
        if not rows.empty:
            notes.append(CONVENTION)
    else:
        rows = analysis_set(set_name, outcome, path)
    if rows.empty:
        notes.append(
            "no counts: "
            + (
                "no report of the set prints a Kaplan–Meier rate at this time point "
                "(data/extracted/survival.csv)"
                if outcome.startswith("os_")
                else "the set has no rows for this outcome"
            )
        )
        import pandas as pd

        return OutcomeAnalysis(
            outcome,
            OUTCOMES[outcome],
            rows,
            MappingProxyType({}),
            pd.DataFrame(),
            MappingProxyType({}),
            MappingProxyType({}),
            MappingProxyType({}),
            tuple(notes),
        )
    results = {name: _fit(rows, **opts) for name, opts in METHODS.items()}
    loo = {name: leave_one_out(res) for name, res in results.items()} if len(rows) > 1 else {}
    cutoff = _search_date(set_name, path)
    cumul = {name: cumulative_by_date(res, rows, cutoff) for name, res in results.items()}
    others: dict[str, str] = {}
    subgroups = _subgroups(rows, notes, others)
    return OutcomeAnalysis(
        outcome=outcome,
        label=OUTCOMES[outcome],
        studies=rows,
        results=MappingProxyType(results),
        sensitivity=_grid(rows),
        subgroups=MappingProxyType(subgroups),
        leave_one_out=MappingProxyType(loo),
        bias=MappingProxyType(_bias(results["published"], notes)),
        notes=tuple(notes),
        cumulative=MappingProxyType(cumul),
        denominators=denominator_sensitivity(rows, outcome),
        subgroup_notes=MappingProxyType(others),
    )


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
    return _fit(both, **PUBLISHED_METHOD), list(extra["label"])


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
        outcomes[outcome] = _analyse_outcome(set_name, outcome, path)
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
        before = {code: _analyse_outcome(baseline, code, path) for code in OUTCOMES}
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
