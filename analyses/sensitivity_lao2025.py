"""Sensitivity analyses of Lao, Wen & Wen 2025: how much do the pooled rates depend on the
method and on single studies?

For every outcome with counts:

* **method grid** — each transform (raw, logit, arcsine, Freeman–Tukey) × τ² estimator
  (DerSimonian–Laird, REML, Paule–Mandel) × CI (Wald, Hartung–Knapp), and the GLMM with a
  Wald and a t CI: 26 analyses, ``sensitivity.csv``;
* **leave-one-out** under the published and the recommended method,
  ``leave_one_out.csv``;

and a printed summary: the range of the estimate across the grid and the study whose
omission moves it most.

Run from the repository root::

    python analyses/sensitivity_lao2025.py --out results-sensitivity

Both files are the same, byte for byte, as those ``inometa reproduce`` writes (a test
checks it).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

import inometa
import inometa.data
from inometa.lao2025.outcomes import (
    grid_row,
)  # one analysis of the grid, as the report tabulates it
from inometa.lao2025.survival import survival_set

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

GRID: list[dict[str, Any]] = [
    {"transform": t, "tau2_method": m, "ci_method": c, "pi_method": "t"}
    for t in ("raw", "logit", "arcsine", "ft")
    for m in ("DL", "REML", "PM")
    for c in ("z", "hk")
] + [{"method": "glmm", "nagq": "exact", "ci_method": c, "pi_method": "t"} for c in ("z", "t")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="lao2025", help="analysis set: lao2025 | latest")
    parser.add_argument("--out", default="results-sensitivity", help="output directory")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    grids, loos = [], []
    for outcome in inometa.data.OUTCOMES:
        if outcome in inometa.data.SURVIVAL_OUTCOMES:  # KM rates as proportions
            studies = survival_set(args.set, outcome)
        else:
            studies = inometa.data.analysis_set(args.set, outcome)
        if studies.empty:
            continue
        fits = [
            inometa.metaprop("events", "total", data=studies, labels="label", **options)
            for options in GRID
        ]
        grid = pd.DataFrame([grid_row(res) for res in fits]).assign(outcome=outcome)
        grids.append(grid)
        low, high = grid["estimate"].min(), grid["estimate"].max()
        line = f"{outcome:8} k = {len(studies):2}  grid {100 * low:5.1f}–{100 * high:5.1f}%"
        if len(studies) > 1:
            for method, options in (("published", PUBLISHED), ("recommended", RECOMMENDED)):
                res = inometa.metaprop("events", "total", data=studies, labels="label", **options)
                loo = inometa.leave_one_out(res)
                loos.append(loo.assign(outcome=outcome, method=method))
                if method == "published":
                    shift = (loo["estimate"] - res.estimate).abs()
                    worst = loo.iloc[int(shift.to_numpy().argmax())]
                    line += (
                        f"; without {worst['omitted']}: {100 * worst['estimate']:.1f}% "
                        f"(published method, {100 * res.estimate:.1f}% with all)"
                    )
        print(line)

    pd.concat(grids, ignore_index=True).to_csv(out / "sensitivity.csv", index=False)
    pd.concat(loos, ignore_index=True).to_csv(out / "leave_one_out.csv", index=False)
    print(f"written: {out / 'sensitivity.csv'}, {out / 'leave_one_out.csv'}")


if __name__ == "__main__":
    main()
