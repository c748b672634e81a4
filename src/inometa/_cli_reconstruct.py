"""The ``inometa reconstruct`` command: can a published result be reached from the
reports at hand (:func:`inometa.reconstruct`, :mod:`inometa.lao2025.reconstruction`)?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._cli_csv import check_csv_target, read_csv

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``reconstruct`` subcommand to the ``inometa`` parser."""
    rec = sub.add_parser(
        "reconstruct",
        help="search the extracted reports (or your own) for study sets that give the "
        "published numbers",
        description="For each published outcome of Lao et al. 2025 (or, with FILE and the "
        "published values, any proportion meta-analysis), enumerate every set of "
        "extracted reports (one per cohort unless --double-count) and every method (raw, "
        "logit, arcsine, Freeman-Tukey; DL, REML, PM; I² from tau² or from Q) whose results, "
        "rounded as printed, equal the published estimate, CI and I². Prints the matches, "
        "how many matches chance alone would give (from the density of near misses), whether "
        "the published CI width can be reached at all, and what every near set shares.",
    )
    rec.add_argument(
        "file",
        nargs="?",
        default=None,
        help="your own CSV of candidate reports (label, events, total[, cohort] columns); "
        "without it, the shipped Lao et al. 2025 pools",
    )
    rec.add_argument("--estimate", type=float, help="with FILE: published estimate, in %%")
    rec.add_argument(
        "--ci", type=float, nargs=2, metavar=("LOW", "HIGH"), help="with FILE: published CI, in %%"
    )
    rec.add_argument(
        "--pi", type=float, nargs=2, metavar=("LOW", "HIGH"), help="with FILE: published PI, in %%"
    )
    rec.add_argument("--i2", type=float, help="with FILE: published I², in %%")
    rec.add_argument("--k", type=int, help="with FILE: published number of studies")
    rec.add_argument(
        "--n-total", dest="n_total", type=int, help="with FILE: published number of participants"
    )
    rec.add_argument("--label", default="label", help="with FILE: label column (default: label)")
    rec.add_argument(
        "--events", default="events", help="with FILE: events column (default: events)"
    )
    rec.add_argument("--total", default="total", help="with FILE: totals column (default: total)")
    rec.add_argument(
        "--cohort",
        default="cohort",
        help="with FILE: column naming each report's cohort (default: cohort, if present)",
    )
    rec.add_argument(
        "--outcome",
        action="append",
        default=None,
        help="an outcome of the shipped data, e.g. orr or os_1y (repeatable; default: every "
        "outcome with counts; a wrong name is answered with the list)",
    )
    rec.add_argument(
        "--decimals", type=int, default=1, help="decimals the paper printed (default: 1)"
    )
    rec.add_argument(
        "--double-count",
        action="store_true",
        help="allow several reports of one cohort in a set, as a paper that double-counted "
        "overlapping reports would (many more sets: CR takes about a minute)",
    )
    rec.add_argument(
        "--with-pi", action="store_true", help="also compare the published prediction interval"
    )
    rec.add_argument(
        "--near",
        type=int,
        default=3,
        help="near-miss window, in printed units on each side (default: 3)",
    )
    rec.add_argument(
        "--max-seconds",
        type=float,
        default=1800.0,
        help="refuse, before starting, a search estimated to take longer (default: 1800)",
    )
    rec.add_argument(
        "--max-survivors",
        type=int,
        default=2_000_000,
        help="stop a search whose target is so loose that more (set, method) pairs than this "
        "would have to be refitted (default: 2000000)",
    )
    rec.add_argument(
        "--csv", default=None, help="write the matching and near sets to this CSV file"
    )
    rec.add_argument(
        "--data",
        "--data-dir",
        dest="data",
        default=None,
        help="data/extracted directory (default: found as inometa.data describes)",
    )
    rec.set_defaults(func=_cmd_reconstruct)


def _cmd_reconstruct(args: argparse.Namespace) -> int:
    import pandas as pd

    from .analysis.reconstruct import ReconstructResult, reconstruct
    from .lao2025.reconstruction import RECONSTRUCTABLE, reconstruct_outcome
    from .report.reconstruction import reconstruction_summary, reconstruction_table
    from .report.safe import spreadsheet_safe

    target = {
        "estimate": args.estimate,
        "ci_low": args.ci[0] if args.ci else None,
        "ci_high": args.ci[1] if args.ci else None,
        "pi_low": args.pi[0] if args.pi else None,
        "pi_high": args.pi[1] if args.pi else None,
        "i2": args.i2,
        "k": args.k,
        "n": args.n_total,
    }
    given = {k: v for k, v in target.items() if v is not None}
    if args.file is None and given:
        raise ValueError(
            "--estimate, --ci, --pi, --i2, --k and --n-total describe your own published "
            "result: give the CSV of candidate reports too (inometa reconstruct FILE ...)"
        )
    if args.file is not None and args.outcome:
        raise ValueError("--outcome searches the shipped data; leave it out with a FILE")
    if args.file is not None and not given:
        raise ValueError("give the published values to search for, e.g. --estimate 89.0")
    outcomes = args.outcome or list(RECONSTRUCTABLE)
    unknown = [o for o in outcomes if o not in RECONSTRUCTABLE]
    if unknown:
        raise ValueError(
            f"--outcome {unknown[0]}: no extracted counts to search; valid: "
            + ", ".join(RECONSTRUCTABLE)
        )
    if args.max_seconds <= 0:
        raise ValueError(f"--max-seconds must be > 0, got {args.max_seconds:g}")
    if args.near < 0:
        raise ValueError(f"--near must be >= 0, got {args.near}")
    if args.csv is not None:
        check_csv_target(args.csv)
    if args.max_survivors < 1:
        raise ValueError(f"--max-survivors must be >= 1, got {args.max_survivors}")
    common = {
        "near": args.near,
        "max_seconds": args.max_seconds,
        "max_survivors": args.max_survivors,
        "progress": sys.stderr.isatty(),
    }
    results: dict[str, ReconstructResult] = {}
    if args.file is not None:
        candidates = read_csv(args.file)
        cohort = args.cohort
        if cohort != "cohort" and cohort not in candidates.columns:
            raise ValueError(f"--cohort: no column {cohort!r} in {args.file}")
        res = reconstruct(
            candidates,
            given,
            decimals=args.decimals,
            label=args.label,
            events=args.events,
            total=args.total,
            cohort=cohort,
            allow_same_cohort=args.double_count,
            **common,
        )
        results[Path(args.file).stem] = res
        print(reconstruction_summary(res, title=Path(args.file).name))
        print()
    for outcome in [] if args.file is not None else dict.fromkeys(outcomes):
        res = reconstruct_outcome(
            outcome,
            double_count=args.double_count,
            with_pi=args.with_pi,
            decimals=args.decimals,
            data=args.data,
            **common,
        )
        results[outcome] = res
        print(reconstruction_summary(res, title=outcome))
        print()
    table = reconstruction_table(results)
    cols = ["outcome", "sets_searched", "matches", "expected_by_chance", "near_misses", "feasible"]
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if args.csv is not None:
        frames = [
            frame.assign(outcome=outcome, kind=kind)
            for outcome, res in results.items()
            for kind, frame in (("match", res.matches), ("near miss", res.near_misses))
            if not frame.empty
        ]
        sets = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if not sets.empty:
            sets["studies"] = sets["studies"].map("; ".join)
            sets = sets[["outcome", "kind", *(c for c in sets if c not in ("outcome", "kind"))]]
        else:
            sets = pd.DataFrame(columns=["outcome", "kind", "studies", "distance"])
        spreadsheet_safe(sets).to_csv(args.csv, index=False)
        print(f"\n{len(sets)} matching and near sets written to {args.csv}")
    return 0
