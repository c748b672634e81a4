"""The analyses of one outcome of the Lao 2025 reproduction: both methods, the sensitivity
grid, subgroups, leave-one-out, cumulative by date, small-study effects and the denominator
sensitivity analysis (:func:`inometa.lao2025.reproduce.reproduce` runs them per outcome).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis.bias import SmallKWarning, begg_test, egger_test, trim_and_fill
from ..analysis.pooling import metaprop
from ..analysis.sensitivity import leave_one_out
from ..analysis.subgroups import SubgroupResult, subgroup_analysis
from ..core.results import MetaPropResult
from .config import (
    DENOMINATOR_ALTERNATIVES,
    METHODS,
    SUBGROUP_VARIABLES,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "OTHER_SUBGROUP",
    "OutcomeAnalysis",
    "analyse_outcome",
    "cumulative_by_date",
    "denominator_sensitivity",
    "fit_rows",
    "grid_row",
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


def grid_row(res: MetaPropResult) -> dict[str, Any]:
    """One analysis of the sensitivity grid: its options and the pooled numbers."""
    return {
        "method": res.options.method,
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


def fit_rows(rows: pd.DataFrame, **options: Any) -> MetaPropResult:
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
        res = fit_rows(rows, **opts)
        records.append(grid_row(res))
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
            base, other = fit_rows(rows, **opts), fit_rows(changed, **opts)
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


def analyse_outcome(set_name: str, outcome: str, path: Any) -> OutcomeAnalysis:
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
    results = {name: fit_rows(rows, **opts) for name, opts in METHODS.items()}
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
