"""Reproduce Lao, Wen & Wen 2025 (Front Oncol, doi:10.3389/fonc.2025.1613777) step by step.

The same analysis as ``inometa reproduce``, written out on inometa's public API so that a
reader can follow each step and adapt it (another transform, another study set, another
outcome). Every outcome with counts is pooled twice:

* the **published method**, as far as the audit of the abstract lets us infer it: raw
  proportions, DerSimonian–Laird τ², Wald CI, Higgins–Thompson–Spiegelhalter t(k−2) PI;
* the **recommended method**: the binomial–normal GLMM (logit scale, exact likelihood),
  Wald CI, t(k−1) PI;

then by subgroup (setting, regimen; studies in neither level form the block "other", so
every study is in every analysis).

Run from the repository root::

    python analyses/reproduce_lao2025.py --out results-script
    python analyses/reproduce_lao2025.py --set latest --out results-latest --figures

``results.csv`` is the same file, byte for byte, as ``inometa reproduce`` writes (a test
checks it).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

import inometa
import inometa.data
from inometa.lao2025.report import result_row  # one row of results.csv, as the CLI writes it
from inometa.lao2025.survival import survival_set

# The two methods, spelled out (inometa.lao2025.config holds the same choices).
PUBLISHED: dict[str, Any] = {
    "transform": "raw",
    "tau2_method": "DL",
    "ci_method": "z",
    "pi_method": "hts",
}
RECOMMENDED: dict[str, Any] = {
    "method": "glmm",
    "nagq": "exact",
    "ci_method": "z",
    "pi_method": "t",
}
METHODS: dict[str, dict[str, Any]] = {"published": PUBLISHED, "recommended": RECOMMENDED}

# Subgroup variables: column of the analysis set and the two levels compared.
SUBGROUPS = {
    "setting": ("setting_group", ["newly diagnosed", "relapsed/refractory"]),
    "regimen": ("regimen_group", ["monotherapy", "combination"]),
}


def by_subgroup(
    studies: pd.DataFrame, column: str, levels: list[str], **options: Any
) -> inometa.SubgroupResult | None:
    """Subgroup analysis by ``column``; None unless both levels are present and there are
    more studies than blocks."""
    if sum((studies[column] == level).any() for level in levels) < 2:
        return None
    present = [level for level in levels if (studies[column] == level).any()]
    inside = studies[column].isin(levels)
    order = present + (["other"] if not inside.all() else [])
    if len(order) >= len(studies):  # the test needs more studies than blocks
        return None
    groups = pd.Categorical(studies[column].where(inside, "other"), categories=order)
    return inometa.subgroup_analysis(
        "events", "total", groups, data=studies, labels="label", **options
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="lao2025", help="analysis set: lao2025 | latest")
    parser.add_argument("--out", default="results-script", help="output directory")
    parser.add_argument("--figures", action="store_true", help="also draw forest plots (PNG)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    results, subgroups = [], []
    for outcome, label in inometa.data.OUTCOMES.items():
        if outcome in inometa.data.SURVIVAL_OUTCOMES:
            # Kaplan–Meier rates pooled as proportions: events = round(rate × n)
            studies = survival_set(args.set, outcome)
        else:
            studies = inometa.data.analysis_set(args.set, outcome)
        if studies.empty:
            print(f"{outcome:8} no rows")
            continue
        for method, options in METHODS.items():
            res = inometa.metaprop("events", "total", data=studies, labels="label", **options)
            results.append(result_row(outcome, method, res))
            print(
                f"{outcome:8} {method:12} k = {res.k:2}  {100 * res.estimate:5.1f}% "
                f"(95% CI {100 * res.random.proportion_ci.low:.1f}–"
                f"{100 * res.random.proportion_ci.high:.1f})"
            )
            if args.figures:
                fig = inometa.plot_forest(res, title=f"{label} — {method} method")
                fig.savefig(out / f"forest_{outcome}_{method}.png", dpi=300)
            for variable, (column, levels) in SUBGROUPS.items():
                sg = by_subgroup(studies, column, levels, **options)
                if sg is not None:
                    subgroups.append(
                        sg.to_frame().assign(outcome=outcome, variable=variable, method=method)
                    )

    pd.DataFrame(results).to_csv(out / "results.csv", index=False)
    pd.concat(subgroups, ignore_index=True).to_csv(out / "subgroups_by_level.csv", index=False)
    print(f"written: {out / 'results.csv'}, {out / 'subgroups_by_level.csv'}")


if __name__ == "__main__":
    main()
