"""Text and tables of :func:`inometa.reconstruct` results (reads results, computes nothing)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from ..analysis.reconstruct import ReconstructResult

__all__ = ["reconstruction_summary", "reconstruction_table", "verdict"]


def _method(row: pd.Series) -> str:
    i2 = {"tau2": "I² from τ²", "q": "I² from Q", "tau2=q": "I²"}[str(row["i2_definition"])]
    parts = [str(row["transform"]), str(row["tau2_method"]), i2, f"{row['ci_method']} CI"]
    if row.get("pi_method"):
        parts.append(f"{row['pi_method']} PI")
    return ", ".join(parts)


def _best_method(res: ReconstructResult) -> str:
    if res.by_method.empty:
        return "none within the near window"
    top = res.by_method.iloc[0]
    return f"{_method(top)} ({int(top['n_matches'])} matches, {int(top['n_near'])} near)"


def _too_few(res: ReconstructResult) -> bool:
    return res.n_searched == 0 and res.options.get("n_cohorts", 0) < res.options.get("min_k", 2)


def _lacks(res: ReconstructResult) -> str:
    if _too_few(res):
        n = res.options.get("n_candidates", 0)
        return f"more studies: the pool holds {n} report{'' if n == 1 else 's'}, no set to pool"
    if res.feasible is None:
        return "(no CI printed)"
    feas = res.feasibility
    if not res.matches.empty:
        return "nothing: some candidate sets reach the printed values"
    if (feas["n_at_estimate_and_i2"] == 0).all():
        return "studies that move the estimate and I² together: no set reaches both"
    if res.feasible is False:
        widths = feas["min_ci_width"].dropna()
        return (
            f"more or larger studies: the narrowest CI at the printed estimate and I² is "
            f"{widths.min():.1f} points wide, the printed one "
            f"{feas['published_ci_width'].iloc[0]:.1f}"
        )
    return "no set matches every printed value, although the CI width can be reached"


def verdict(res: ReconstructResult) -> str:
    """One phrase: are the printed numbers reached, and do the matches mean anything?

    Examples
    --------
    >>> import pandas as pd, inometa
    >>> cand = pd.DataFrame({"label": list("ABC"), "events": [10, 30, 40],
    ...                      "total": [40, 50, 60]})
    >>> verdict(inometa.reconstruct(cand, {"estimate": 50.7}, transforms=["raw"],
    ...                             tau2_methods=["DL"]))
    'reached (1 match, 0.00 expected by chance)'
    >>> verdict(inometa.reconstruct(cand, {"estimate": 90.0}, transforms=["raw"],
    ...                             tau2_methods=["DL"]))
    'not reached'
    """
    n = len(res.matches)
    if n:
        chance = res.expected_by_chance
        text = f"reached ({n} match{'' if n == 1 else 'es'}, {chance:.2f} expected by chance)"
        if n <= 3 * chance:
            text += ": no more than chance gives, so the matches do not identify the studies"
        return text
    if _too_few(res):
        return "not searched: fewer candidate cohorts than the smallest set"
    feas = res.feasibility
    if res.feasible is None:
        return "not reached"
    if (feas["n_at_estimate_and_i2"] == 0).all():
        return "not reached: no set gives the printed estimate and I² together"
    if res.feasible is False:
        return "not reached: the printed CI is narrower than any set gives at its estimate and I²"
    return "not reached, although the printed CI width can be reached"


def reconstruction_table(results: Mapping[str, ReconstructResult]) -> pd.DataFrame:
    """One row per outcome: what the search found.

    Examples
    --------
    >>> import pandas as pd, inometa
    >>> cand = pd.DataFrame({"label": list("ABC"), "events": [10, 30, 40],
    ...                      "total": [40, 50, 60]})
    >>> res = inometa.reconstruct(cand, {"estimate": 50.7}, transforms=["raw"],
    ...                           tau2_methods=["DL"])
    >>> int(reconstruction_table({"x": res}).loc[0, "matches"])
    1
    """
    rows = []
    for outcome, res in results.items():
        rows.append(
            {
                "outcome": outcome,
                "sets_searched": res.n_searched,
                "methods": res.n_methods,
                "matches": len(res.matches),
                "expected_by_chance": res.expected_by_chance,
                "near_misses": len(res.near_misses),
                "closest_distance": (
                    float(pd.concat([res.matches, res.near_misses])["distance"].min())
                    if len(res.matches) + len(res.near_misses)
                    else float("nan")
                ),
                "feasible": res.feasible,
                "verdict": verdict(res),
                "method": _best_method(res),
                "in_every_match": "; ".join(res.always_included),
                "in_every_near_set": "; ".join(res.near_shared),
                "pool_lacks": _lacks(res),
            }
        )
    table: pd.DataFrame = pd.DataFrame(rows)
    return table


def reconstruction_summary(res: ReconstructResult, title: str = "") -> str:
    """A readable account of one search.

    Examples
    --------
    >>> import pandas as pd, inometa
    >>> cand = pd.DataFrame({"label": list("ABC"), "events": [10, 30, 40],
    ...                      "total": [40, 50, 60]})
    >>> res = inometa.reconstruct(cand, {"estimate": 50.7}, transforms=["raw"],
    ...                           tau2_methods=["DL"])
    >>> print(reconstruction_summary(res).splitlines()[1])
    searched 4 study sets x 1 methods: 1 match(es), 0.00 expected by chance, 0 near misses
    """
    tgt = {k: v for k, v in res.target.items() if k not in ("decimals", "near")}
    lines = [
        (title + ": " if title else "")
        + "target "
        + ", ".join(f"{k} {v:g}" for k, v in tgt.items())
        + f" (printed to {res.target['decimals']} decimal(s))",
        f"searched {res.n_searched:,} study sets x {res.n_methods} methods: "
        f"{len(res.matches)} match(es), {res.expected_by_chance:.2f} expected by chance, "
        f"{len(res.near_misses)} near misses",
        f"method the numbers point to: {_best_method(res)}",
    ]
    if res.feasible is not None:
        lines.append(f"CI reachable at the printed estimate and I²: {res.feasible}")
        lines.append(res.feasibility.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if res.always_included:
        lines.append("in every match: " + "; ".join(res.always_included))
    if res.near_shared:
        lines.append("in every near set: " + "; ".join(res.near_shared))
    lines.append("the pool lacks: " + _lacks(res))
    show = pd.concat([res.matches, res.near_misses.head(max(0, 10 - len(res.matches)))])
    if not show.empty:
        show = show.assign(studies=show["studies"].map("; ".join))
        lines.append(show.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    lines.extend(f"note: {n}" for n in res.notes)
    return "\n".join(lines)
