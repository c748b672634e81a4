"""The ``inometa`` command line.

Each subcommand is a small function taking parsed arguments and returning an exit code;
``main`` only dispatches, and is the one boundary where every expected error (bad input, a
file that cannot be read or written, text that is not UTF-8, a malformed CSV or JSON file)
becomes one line on stderr and exit status 2. A reader that closes the pipe early
(``inometa audit | head``) ends the command quietly with status 141, as shell tools do.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ._cli_csv import read_csv
from ._cli_reconstruct import register as register_reconstruct
from ._version import __version__

if TYPE_CHECKING:
    from .lao2025.figures import FigureJob

__all__ = ["main"]


def _cmd_pool(args: argparse.Namespace) -> int:
    from .analysis.pooling import metaprop

    df = read_csv(args.file)
    labels = args.labels
    if labels is not None and labels not in df.columns:
        raise ValueError(
            f"--labels: no column {labels!r} in {args.file}; columns are: "
            + ", ".join(map(str, df.columns))
        )
    if labels is None and "label" in df.columns:
        labels = "label"
    res = metaprop(
        args.events,
        args.n,
        data=df,
        labels=labels,
        method=args.method,
        transform=args.transform,
        tau2_method=args.tau2,
        ci_method=args.ci,
        pi_method=args.pi,
        i2_definition=args.i2,
        study_ci_method=args.study_ci,
        correction=args.correction,
        increment=args.increment,
        level=args.level,
        nagq=args.nagq,
        profile=args.profile,
    )
    if args.json:
        print(json.dumps(res.to_dict(), indent=2, allow_nan=False))
    else:
        print(res.summary())
        if args.studies:
            print()
            print(res.studies.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .data import recover_update, validate

    if args.recover:
        done = recover_update(args.dir)
        for sentence in done or ["nothing to recover"]:
            print(f"inometa validate --recover: {sentence}")
    report = validate(args.dir)
    print(report.format(warnings=not args.errors_only))
    return 0 if report.ok else 1


def _cmd_audit(args: argparse.Namespace) -> int:
    import pandas as pd

    from .data import published_file
    from .lao2025.audit import audit_table

    source = published_file(args.published)  # None: the numbers shipped with the package
    table = audit_table(read_csv(str(source)))
    if not args.all:
        table = table[table["status"] != "ok"]
    with pd.option_context("display.max_colwidth", None, "display.width", 250):
        print(table.to_string(index=False))
    print()
    n_warnings = int((table["status"] == "warning").sum())
    print(
        f"{(table['status'] == 'impossible').sum()} impossible, "
        f"{n_warnings} warning{'' if n_warnings == 1 else 's'}"
        + ("" if args.all else " (use --all to list the checks that passed)")
    )
    return 0


def _clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


class _Progress:
    """Figure progress: a bar redrawn in place on a terminal, else one line per outcome."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.current: str | None = None
        self.count = 0

    def __call__(self, job: FigureJob, done: int, total: int) -> None:
        group = job.outcome or "summary"
        if self.tty:
            filled = round(30 * done / total)
            self.stream.write(
                f"\r  figures [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {group:<10}"
            )
            if done == total:
                self.stream.write("\n")
        else:
            if group != self.current:
                self.flush()
                self.current, self.count = group, 0
            self.count += 1
            if done == total:
                self.flush()
        self.stream.flush()

    def flush(self) -> None:
        if self.current is not None and self.count:
            s = "" if self.count == 1 else "s"
            self.stream.write(f"  figures: {self.current} ({self.count} figure{s})\n")
            self.current, self.count = None, 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    import time

    from .data import data_dir
    from .lao2025.report import check_output_folder, write_reproduction
    from .lao2025.reproduce import reproduce

    start = time.perf_counter()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    check_output_folder(args.out, [data_dir(args.data)])

    def say(text: str) -> None:
        if not args.quiet:
            print(text, flush=True)

    say(f"inometa reproduce: analysis set '{args.set}' ...")
    rep = reproduce(args.set, path=args.data)
    say(f"  statistics: {len(rep.outcomes)} outcomes in {time.perf_counter() - start:.1f} s")
    files = write_reproduction(
        rep,
        args.out,
        formats=formats,
        figures=not args.no_figures,
        workers=args.workers,
        progress=None if args.quiet else _Progress(sys.stdout),
    )
    if args.quiet:
        return 0
    comparison = rep.comparison
    print()
    print(
        f"{'outcome':10}{'reproduced as':44}{'published':>10}{'reproduced':>12}{'Δ pp':>8}{'k':>4}"
    )
    for row in comparison.to_dict("records"):
        diff = row["difference_pp"]
        reproduced = row["published_method_estimate"]
        print(
            f"{row['published_outcome']:10}{_clip(row['outcome_label'], 43):44}"
            f"{row['published_estimate']:>10.1f}"
            + (f"{reproduced:>12.1f}{diff:>+8.1f}" if row["k"] else f"{'no counts':>12}{'':>8}")
            + f"{row['k']:>4}"
        )
    if comparison["published_outcome"].duplicated().any():
        print(
            "(an outcome listed twice is compared with two extracted definitions, e.g. the "
            "published 'CR' with strict CR and with CR/CRi)"
        )
    print()
    print(
        f"{len(files)} files written to {args.out}/ in {time.perf_counter() - start:.1f} s"
        f" — open {args.out}/report.html"
    )
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from .data import data_dir
    from .lao2025.report import check_output_folder
    from .lao2025.rundiff import diff_runs, parse_threshold, read_run, resolve_run
    from .lao2025.rundiff_report import diff_text, write_diff

    thresholds = [parse_threshold(t) for t in args.threshold]
    out = check_output_folder(args.out, [data_dir(args.data)], markers=("diff.md", "git_*"))
    # A folder names the set to rerun a git revision with, unless --set says otherwise.
    folders = {s: read_run(s) for s in (args.before, args.after) if Path(s).is_dir()}
    set_name = args.set or next((r.analysis_set for r in folders.values() if r.analysis_set), None)
    runs = []
    for spec in (args.before, args.after):
        if spec in folders:
            runs.append(folders[spec])
            continue
        print(f"inometa diff: rerunning '{set_name}' on the data at {spec} ...", flush=True)
        runs.append(resolve_run(spec, set_name=set_name, scratch=out, data=args.data))
    d = diff_runs(runs[0], runs[1], thresholds=thresholds, methods=args.method or None)
    print(diff_text(d))
    files = write_diff(d, out)
    print()
    print(f"{len(files)} files written to {out}/ — {out}/diff.md")
    return 0


def _cmd_data_path(args: argparse.Namespace) -> int:
    from .data import data_dir

    print(data_dir())
    return 0


def _cmd_data_copy(args: argparse.Namespace) -> int:
    from .data import copy_data

    extracted = copy_data(args.dest)
    print(f"Copied the data to {extracted.parent}/ (extracted, published, examples).")
    print(
        f"Add studies with: inometa add-study --data-dir {extracted} ...; "
        f"rerun with: inometa reproduce --data {extracted}"
    )
    return 0


def _nagq(text: str) -> int | str:
    """``--nagq``: "exact" or a whole number (checked by the pooling like any option)."""
    if text.strip().lower() == "exact":
        return "exact"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'exact' or a whole number of nodes, got {text!r}"
        ) from None


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inometa",
        description="Reproduce, audit and update proportion meta-analyses.",
    )
    parser.add_argument("--version", action="version", version=f"inometa {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pool = sub.add_parser(
        "pool",
        help="pool proportions from a CSV file",
        description="Pool single-arm proportions from a CSV file (one row per study). "
        "Options left out take the --profile's default, shown in brackets for the default "
        "profile (metafor).",
    )
    pool.add_argument("file", help="CSV file with one row per study")
    pool.add_argument("--events", required=True, help="column with event counts")
    pool.add_argument("--n", required=True, help="column with totals")
    pool.add_argument(
        "--labels", default=None, help="column with study labels (default: label, if present)"
    )
    pool.add_argument("--method", help="inverse | glmm [inverse]")
    pool.add_argument("--transform", help="raw | log | logit | arcsine | ft [logit]")
    pool.add_argument("--tau2", help="DL | REML | ML | PM | HS | SJ | HE | EB [REML]")
    pool.add_argument("--ci", help="z | t | hk | hk_adhoc [z]")
    pool.add_argument("--pi", help="z | t | hts [z]")
    pool.add_argument("--i2", help="tau2 | q [tau2]")
    pool.add_argument(
        "--study-ci",
        dest="study_ci",
        help="clopper-pearson | wilson | wilson-cc | agresti-coull | jeffreys | wald "
        "[clopper-pearson]",
    )
    pool.add_argument("--correction", help="only0 | all | if0all | none [only0]")
    pool.add_argument("--increment", type=float, help="continuity correction amount [0.5]")
    pool.add_argument("--level", type=float, default=0.95, help="confidence level [0.95]")
    pool.add_argument(
        "--nagq",
        type=_nagq,
        help="GLMM integration: exact or a node count for lme4's approximation [exact]",
    )
    pool.add_argument(
        "--profile", default="metafor", help="metafor | meta | stata_metaprop [metafor]"
    )
    pool.add_argument("--json", action="store_true", help="print the result as JSON")
    pool.add_argument("--studies", action="store_true", help="also print the study table")
    pool.set_defaults(func=_cmd_pool)

    aud = sub.add_parser(
        "audit",
        help="check published pooled proportions for internal consistency",
        description="Audit published pooled results (estimate, CI, PI, I²) for consistency.",
    )
    aud.add_argument(
        "--published",
        default=None,
        help="CSV with outcome, estimate, ci_low, ci_high[, pi_low, pi_high, i2, k] "
        "(default: the published numbers of Lao et al. 2025 shipped with inometa)",
    )
    aud.add_argument("--all", action="store_true", help="also list the checks that passed")
    aud.set_defaults(func=_cmd_audit)

    rep = sub.add_parser(
        "reproduce",
        help="rerun Lao et al. 2025 from the extracted data and write the report",
        description="Pool every outcome of an analysis set under the published and the "
        "recommended method; write tables, figures, manifest and a report.",
    )
    rep.add_argument("--set", default="lao2025", help="analysis set: lao2025 | latest")
    rep.add_argument("--out", default="results", help="output directory (default: results)")
    rep.add_argument(
        "--formats",
        default="png",
        help="figure formats, comma-separated: png,svg,pdf (default: png)",
    )
    rep.add_argument(
        "--data",
        "--data-dir",
        dest="data",
        default=None,
        help="data/extracted directory (default: found as inometa.data describes)",
    )
    rep.add_argument("--no-figures", action="store_true", help="tables and report only")
    rep.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes drawing the figures (default: every available core)",
    )
    rep.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    rep.set_defaults(func=_cmd_reproduce)

    dif = sub.add_parser(
        "diff",
        help="what changed between two runs of 'inometa reproduce'",
        description="Compare two output folders of 'inometa reproduce' (or a folder and a git "
        "revision of the data, which is rerun): per outcome and method the pooled estimate, "
        "CI, PI, I², τ², k and N before → after, the studies added, removed and changed, and "
        "whether a conclusion flipped at the --threshold values.",
    )
    dif.add_argument("before", help="run folder, or a git revision of the data (e.g. HEAD~1)")
    dif.add_argument("after", help="run folder, or a git revision of the data")
    dif.add_argument(
        "--threshold",
        action="append",
        default=[],
        help="a proportion the conclusion may hinge on, e.g. 0.5 or 50%% (repeatable)",
    )
    dif.add_argument(
        "--method",
        action="append",
        choices=["published", "recommended"],
        help="compare only this pooling method (repeatable; default both)",
    )
    dif.add_argument(
        "--set",
        default=None,
        help="analysis set to rerun for a git revision (default: the other run's set)",
    )
    dif.add_argument("--out", default="diff", help="output directory (default: diff)")
    dif.add_argument(
        "--data",
        "--data-dir",
        dest="data",
        default=None,
        help="data/extracted directory inside the git repository (for revisions)",
    )
    dif.set_defaults(func=_cmd_diff)

    register_reconstruct(sub)

    check = sub.add_parser(
        "validate",
        help="check the extracted dataset",
        description=(
            "Check data/extracted (studies.csv, outcomes.csv, analysis_sets.toml): print the "
            "errors, then the warnings; exit 1 if there are errors."
        ),
    )
    check.add_argument(
        "dir",
        nargs="?",
        default=None,
        help="a data/extracted directory (default: $INOMETA_DATA, else the data shipped "
        "with inometa)",
    )
    check.add_argument("--errors-only", action="store_true", help="do not print warnings")
    check.add_argument(
        "--recover",
        action="store_true",
        help="first complete or undo an update that was interrupted (a crash of add-study)",
    )
    check.set_defaults(func=_cmd_validate)

    from ._cli_add_study import register as register_add_study

    register_add_study(sub)

    dat = sub.add_parser(
        "data",
        help="where the shipped data are; a writable copy of them",
        description=(
            "The extracted data, the published numbers and the examples are installed with "
            "inometa and read from there. `inometa data path` prints where; `inometa data "
            "copy DIR` copies them to DIR, the folder to add studies to (add-study "
            "--data-dir DIR/extracted) and to rerun from (reproduce --data DIR/extracted)."
        ),
    )
    dat_sub = dat.add_subparsers(dest="data_command", metavar="{path,copy}", required=True)
    dat_path = dat_sub.add_parser("path", help="print the data/extracted directory in use")
    dat_path.set_defaults(func=_cmd_data_path)
    dat_copy = dat_sub.add_parser("copy", help="copy the shipped data to a new folder")
    dat_copy.add_argument("dest", help="a folder that does not exist yet, or is empty")
    dat_copy.set_defaults(func=_cmd_data_copy)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``inometa`` command; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    _refuse_repeated_options(parser, sys.argv[1:] if argv is None else list(argv), args.command)
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a tool stopped by `| head`
    except KeyboardInterrupt:
        print(f"inometa {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, csv.Error, RuntimeError) as exc:
        print(f"inometa {args.command}: error: {_message(exc)}", file=sys.stderr)
        return 2
    return code


def _refuse_repeated_options(
    parser: argparse.ArgumentParser, argv: list[str], command: str
) -> None:
    """A single-valued option given twice is a usage error: argparse keeps the last value
    silently, which may not be the one the user meant (``--events 3 ... --events 30``)."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    sub = subparsers[0].choices[command]
    single = {
        option: action.dest
        for action in sub._actions
        if type(action) is argparse._StoreAction
        for option in action.option_strings
    }
    seen: dict[str, str] = {}
    expects_value = False
    for token in argv[argv.index(command) + 1 :] if command in argv else []:
        if expects_value:  # the value of the previous option, even if it starts with "--"
            expects_value = False
            continue
        if token == "--":
            break
        name = token.split("=", 1)[0]
        if name not in single:
            continue
        expects_value = "=" not in token
        dest = single[name]
        if dest in seen:
            twice = (
                f"{name} is given twice"
                if seen[dest] == name
                else f"{seen[dest]} and {name} name the same option"
            )
            sub.error(f"{twice}; give it once")
        seen[dest] = name


def _message(exc: BaseException) -> str:
    """The error as a user reads it: an OSError names its file, a decoding error says so."""
    if isinstance(exc, OSError) and exc.strerror:
        names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
        return exc.strerror + (": " + " -> ".join(names) if names else "")
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not UTF-8 text ({exc})"
    return str(exc)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced (e.g. under pytest)
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
