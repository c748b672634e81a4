"""What changed between two runs of ``inometa reproduce`` (the computation behind
``inometa diff``; rendering and writing are in :mod:`inometa.lao2025.rundiff_report`).

A *run* is an output folder of ``inometa reproduce`` (``results.csv``, ``studies.csv``,
``manifest.json``). One side may instead be a git revision of the data: the data files are
taken from that revision into a scratch folder and the same analysis set is rerun on them
(:func:`run_from_git`), so "the data as of last month's commit" can be compared with
today's run without keeping old output folders.

Per outcome and pooling method the comparison gives the pooled estimate, CI, PI, I², τ²,
k and N before and after, the change in percentage points, the studies added, removed and
changed, and whether a conclusion flipped: for each threshold given, whether the CI lies
above it, below it or includes it, before and after.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .._version import __version__

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RunDiff", "diff_runs", "parse_threshold", "read_run", "run_from_git"]

#: Columns of a run's ``studies.csv`` whose change makes a study "changed".
STUDY_FIELDS = ("events", "total", "denominator", "source")

#: Pooled quantities compared (``results.csv`` columns); proportions are reported in percent.
_PERCENT = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2")


@dataclass(frozen=True)
class Run:
    """One side of a comparison: what a run folder holds.

    Attributes
    ----------
    name
        How the run was named (its folder, or ``git:<revision>``).
    path
        The run folder.
    results
        ``results.csv``: one row per outcome × method.
    studies
        ``studies.csv``: one row per outcome × study pooled.
    manifest
        ``manifest.json`` (empty when the folder has none).
    """

    name: str
    path: Path
    results: pd.DataFrame
    studies: pd.DataFrame
    manifest: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def analysis_set(self) -> str | None:
        """The analysis set the run used, from its manifest."""
        value = self.manifest.get("analysis_set")
        return None if value is None else str(value)


@dataclass(frozen=True)
class RunDiff:
    """The differences between two runs.

    Attributes
    ----------
    before, after
        The runs' names.
    thresholds
        The thresholds checked for flipped conclusions (proportions).
    summary
        One row per outcome × method: ``k``, ``n``, ``estimate``, ``ci_low``, ``ci_high``,
        ``pi_low``, ``pi_high``, ``i2`` (percent) and ``tau2``, each ``_before`` and
        ``_after``; ``change_pp`` (estimate, percentage points), ``i2_change_pp``;
        ``added``, ``removed``, ``changed`` (study labels); ``flipped`` and ``conclusion``
        (for each threshold, the CI's position before → after when it moved).
    studies
        One row per study added, removed or changed, with its counts before and after and
        the fields that changed.
    data_files
        One row per data file named in either manifest: its SHA-256 before and after and
        whether it changed.
    notes
        Plain-language notes (e.g. different analysis sets, a missing manifest).
    version
        The inometa version that made the comparison.
    """

    before: str
    after: str
    thresholds: tuple[float, ...]
    summary: pd.DataFrame
    studies: pd.DataFrame
    data_files: pd.DataFrame
    notes: tuple[str, ...] = ()
    version: str = ""

    @property
    def flipped(self) -> pd.DataFrame:
        """The rows of :attr:`summary` whose conclusion flipped."""
        out: pd.DataFrame = self.summary[self.summary["flipped"]]
        return out


def parse_threshold(value: str | float) -> float:
    """A threshold as a proportion: ``0.5``, ``"0.5"`` or ``"50%"``.

    Examples
    --------
    >>> parse_threshold("50%"), parse_threshold("0.2"), parse_threshold(0.75)
    (0.5, 0.2, 0.75)
    """
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(
            f"threshold {value!r} is not a number: give a proportion (0.5) or a percentage (50%)"
        ) from None
    if not 0 < number < 1:
        raise ValueError(f"threshold {value!r} must lie strictly between 0 and 1 (or 0% and 100%)")
    return number


def read_run(path: str | Path, name: str | None = None) -> Run:
    """Read an output folder of ``inometa reproduce``.

    Parameters
    ----------
    path
        The folder (it must hold ``results.csv`` and ``studies.csv``).
    name
        How to name the run in reports (default: the folder path).

    Returns
    -------
    Run

    Raises
    ------
    ValueError
        If the folder or one of the two tables is missing.
    """
    import pandas as pd

    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"no run folder at {folder}")
    frames = {}
    for table in ("results", "studies"):
        file = folder / f"{table}.csv"
        if not file.is_file():
            raise ValueError(
                f"{folder} is not an 'inometa reproduce' output folder: {file.name} is missing"
            )
        try:
            frames[table] = pd.read_csv(file, keep_default_na=False, na_values=[""])
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise ValueError(f"{file} is not a results table of inometa reproduce: {err}") from None
    _check_run_table(folder / "results.csv", frames["results"], _RESULT_COLUMNS, _RESULT_NUMBERS)
    _check_run_table(folder / "studies.csv", frames["studies"], _STUDY_COLUMNS, ())
    manifest_file = folder / "manifest.json"
    manifest = {}
    if manifest_file.is_file():
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{manifest_file} is not valid JSON: {err}") from None
        if not isinstance(manifest, dict):
            raise ValueError(f"{manifest_file} is not an inometa manifest (not a JSON object)")
    return Run(
        name=name or str(folder),
        path=folder,
        results=frames["results"],
        studies=frames["studies"],
        manifest=MappingProxyType(manifest),
    )


_RESULT_NUMBERS = ("k", "n", *_PERCENT, "tau2")
_RESULT_COLUMNS = ("outcome", "method", *_RESULT_NUMBERS)
_STUDY_COLUMNS = ("outcome", "study_id", "label", *STUDY_FIELDS)


def _check_run_table(
    file: Path, frame: pd.DataFrame, columns: Sequence[str], numbers: Sequence[str]
) -> None:
    """Refuse a table that ``inometa reproduce`` cannot have written, naming what is wrong."""
    import pandas as pd

    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{file} is not a table written by inometa reproduce: it lacks the column(s) "
            + ", ".join(missing)
        )
    if frame.empty and file.name == "results.csv":
        raise ValueError(f"{file} has no rows")
    for column in numbers:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise ValueError(
                f"{file} line {row + 2}, column '{column}': "
                f"{frame[column].iloc[row]!r} is not a number"
            )


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)


def run_from_git(
    revision: str,
    set_name: str,
    out: str | Path,
    *,
    data: str | Path | None = None,
) -> Run:
    """Rerun an analysis set on the data as of a git revision, without figures.

    The files of ``data/extracted`` and ``data/published`` are read from ``revision`` (with
    ``git show``, leaving the working tree alone) into ``out/data``, and ``inometa
    reproduce`` is run on them into ``out``.

    Parameters
    ----------
    revision
        Anything git accepts: ``HEAD~3``, a branch, a tag, a commit hash.
    set_name
        The analysis set to run (it must exist at that revision).
    out
        Folder for the data copy and the run (created).
    data
        A ``data/extracted`` directory inside the git repository (default: see
        :mod:`inometa.data`).

    Returns
    -------
    Run
        Named ``git:<revision>``.

    Raises
    ------
    ValueError
        If the data are not in a git repository, the revision is unknown, or the data at
        that revision do not hold the set.
    """
    from ..data import data_dir
    from .report import write_reproduction
    from .reproduce import reproduce

    extracted = data_dir(data).resolve()
    top = _git(extracted, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise ValueError(
            f"{revision!r} is neither a run folder nor usable as a git revision: the data "
            f"directory {extracted} is not in a git repository"
        )
    repo = Path(top.stdout.decode().strip())
    if _git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").returncode != 0:
        raise ValueError(f"{revision!r} is neither a run folder nor a git revision of {repo}")
    target = Path(out)
    copied = 0
    for folder in (extracted, extracted.parent / "published"):
        rel = folder.relative_to(repo).as_posix()
        listing = _git(repo, "ls-tree", "--name-only", f"{revision}:{rel}")
        if listing.returncode != 0:
            continue
        dest = target / "data" / folder.name
        dest.mkdir(parents=True, exist_ok=True)
        for name in listing.stdout.decode().split():
            blob = _git(repo, "show", f"{revision}:{rel}/{name}")
            if blob.returncode == 0:
                (dest / name).write_bytes(blob.stdout)
                copied += 1
    if not copied or not (target / "data" / "extracted").is_dir():
        raise ValueError(f"revision {revision!r} has no {extracted.relative_to(repo)} directory")
    try:
        rep = reproduce(set_name, path=target / "data" / "extracted", baseline=None)
    except ValueError as exc:
        raise ValueError(f"the data at revision {revision!r}: {exc}") from None
    write_reproduction(rep, target, figures=False)
    return read_run(target, name=f"git:{revision}")


def _position(low: float, high: float, threshold: float) -> str:
    if math.isnan(low) or math.isnan(high):
        return "no estimate"
    if low > threshold:
        return "above"
    if high < threshold:
        return "below"
    return "includes"


def _describe(position: str, threshold: float) -> str:
    pct = f"{100 * threshold:g}%"
    return {
        "above": f"CI above {pct}",
        "below": f"CI below {pct}",
        "includes": f"CI includes {pct}",
        "no estimate": "no estimate",
    }[position]


def _same(a: Any, b: Any) -> bool:
    """Equal as numbers when both are (an outer merge turns counts into floats), else as text."""
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _studies(before: Run, after: Run) -> pd.DataFrame:
    import pandas as pd

    key = ["outcome", "study_id"]
    cols = [*key, "label", *STUDY_FIELDS]
    merged = before.studies[cols].merge(
        after.studies[cols], on=key, how="outer", suffixes=("_before", "_after"), indicator=True
    )
    rows = []
    for rec in merged.to_dict("records"):
        if rec["_merge"] == "left_only":
            status, fields = "removed", list[str]()
        elif rec["_merge"] == "right_only":
            status, fields = "added", []
        else:
            fields = [f for f in STUDY_FIELDS if not _same(rec[f"{f}_before"], rec[f"{f}_after"])]
            if not fields:
                continue
            status = "changed"
        label = rec["label_after"] if isinstance(rec["label_after"], str) else rec["label_before"]
        rows.append(
            {
                "outcome": rec["outcome"],
                "study_id": rec["study_id"],
                "label": label,
                "status": status,
                "fields_changed": ", ".join(fields),
                **{f"{f}_before": rec[f"{f}_before"] for f in STUDY_FIELDS},
                **{f"{f}_after": rec[f"{f}_after"] for f in STUDY_FIELDS},
            }
        )
    columns = ["outcome", "study_id", "label", "status", "fields_changed"] + [
        f"{f}_{side}" for f in STUDY_FIELDS for side in ("before", "after")
    ]
    table: pd.DataFrame = pd.DataFrame(rows, columns=columns)
    for count in ("events", "total"):  # counts stay integers where one side is missing
        for side in ("before", "after"):
            table[f"{count}_{side}"] = table[f"{count}_{side}"].astype("Int64")
    order = {"added": 0, "removed": 1, "changed": 2}
    table = table.sort_values(
        ["outcome", "status", "label"], key=lambda s: s.map(order) if s.name == "status" else s
    ).reset_index(drop=True)
    return table


def _value(row: Mapping[Any, Any] | None, column: str) -> float:
    if row is None:
        return math.nan
    value = row.get(column)
    return math.nan if value is None or value == "" else float(value)


def _summary(
    before: Run, after: Run, studies: pd.DataFrame, thresholds: Sequence[float]
) -> pd.DataFrame:
    import pandas as pd

    def index(run: Run) -> dict[tuple[str, str], dict[Any, Any]]:
        return {(r["outcome"], r["method"]): r for r in run.results.to_dict("records")}

    old, new = index(before), index(after)
    keys = list(dict.fromkeys([*old, *new]))
    rows = []
    for outcome, method in keys:
        b, a = old.get((outcome, method)), new.get((outcome, method))
        row: dict[str, Any] = {"outcome": outcome, "method": method}
        for column in ("k", "n"):
            row[f"{column}_before"] = int(_value(b, column)) if b is not None else 0
            row[f"{column}_after"] = int(_value(a, column)) if a is not None else 0
        for column in (*_PERCENT, "tau2"):
            scale = 100.0 if column in _PERCENT else 1.0
            row[f"{column}_before"] = scale * _value(b, column)
            row[f"{column}_after"] = scale * _value(a, column)
        row["change_pp"] = row["estimate_after"] - row["estimate_before"]
        row["i2_change_pp"] = row["i2_after"] - row["i2_before"]
        mine = studies[studies["outcome"] == outcome]
        for status in ("added", "removed", "changed"):
            row[status] = ", ".join(mine.loc[mine["status"] == status, "label"])
        moves = []
        for t in thresholds:
            was = _position(_value(b, "ci_low"), _value(b, "ci_high"), t)
            now = _position(_value(a, "ci_low"), _value(a, "ci_high"), t)
            if was != now:
                moves.append(f"{_describe(was, t)} → {_describe(now, t)}")
        row["flipped"] = bool(moves)
        row["conclusion"] = "; ".join(moves)
        rows.append(row)
    table: pd.DataFrame = pd.DataFrame(rows)
    return table


def _data_files(before: Run, after: Run) -> pd.DataFrame:
    import pandas as pd

    def by_name(run: Run) -> dict[str, str]:
        files = run.manifest.get("data_files", {})
        return {Path(p).name: digest for p, digest in files.items()}

    old, new = by_name(before), by_name(after)
    rows = [
        {
            "file": name,
            "sha256_before": old.get(name, ""),
            "sha256_after": new.get(name, ""),
            "changed": old.get(name) != new.get(name),
        }
        for name in dict.fromkeys([*old, *new])
    ]
    table: pd.DataFrame = pd.DataFrame(
        rows, columns=["file", "sha256_before", "sha256_after", "changed"]
    )
    return table


def diff_runs(
    before: Run | str | Path,
    after: Run | str | Path,
    *,
    thresholds: Iterable[float | str] = (),
    methods: Sequence[str] | None = None,
) -> RunDiff:
    """Compare two runs of ``inometa reproduce``.

    Parameters
    ----------
    before, after
        Run folders (or :class:`Run` objects from :func:`read_run` / :func:`run_from_git`).
    thresholds
        Values (proportions, or strings such as ``"50%"``) a conclusion may hinge on: a
        conclusion *flips* when the CI moves between lying above, below or across one (a
        CI bound equal to the threshold counts as including it).
    methods
        Pooling methods to compare (``"published"``, ``"recommended"``); default all.

    Returns
    -------
    RunDiff

    Examples
    --------
    >>> import tempfile, inometa
    >>> from inometa.lao2025.report import write_reproduction
    >>> from inometa.lao2025.reproduce import reproduce
    >>> from inometa.lao2025.rundiff import diff_runs
    >>> with tempfile.TemporaryDirectory() as tmp:  # doctest: +SKIP
    ...     for name in ("lao2025", "latest"):
    ...         write_reproduction(reproduce(name), f"{tmp}/{name}", figures=False)
    ...     d = diff_runs(f"{tmp}/lao2025", f"{tmp}/latest", thresholds=["80%"])
    ...     d.summary[["outcome", "method", "estimate_before", "estimate_after", "conclusion"]]
    """
    old = before if isinstance(before, Run) else read_run(before)
    new = after if isinstance(after, Run) else read_run(after)
    levels = tuple(parse_threshold(t) for t in thresholds)
    studies = _studies(old, new)
    summary = _summary(old, new, studies, levels)
    if methods is not None:
        known = sorted(set(summary["method"]))
        bad = [m for m in methods if m not in known]
        if bad:
            raise ValueError(
                f"unknown method(s) {', '.join(bad)}; valid methods are: {', '.join(known)}"
            )
        summary = summary[summary["method"].isin(methods)].reset_index(drop=True)
    notes = []
    if old.analysis_set and new.analysis_set and old.analysis_set != new.analysis_set:
        notes.append(
            f"the runs use different analysis sets: '{old.analysis_set}' before, "
            f"'{new.analysis_set}' after"
        )
    for run in (old, new):
        if not run.manifest:
            notes.append(f"{run.name} has no manifest.json: its data files cannot be compared")
    return RunDiff(
        before=old.name,
        after=new.name,
        thresholds=levels,
        summary=summary,
        studies=studies,
        data_files=_data_files(old, new),
        notes=tuple(notes),
        version=__version__,
    )


def resolve_run(spec: str, *, set_name: str | None, scratch: Path, data: Any = None) -> Run:
    """A run folder as is, or anything else as a git revision of the data, rerun."""
    if Path(spec).is_dir():
        return read_run(spec)
    if set_name is None:
        raise ValueError(
            f"{spec!r} is not a run folder; to use it as a git revision, the analysis set to "
            "rerun must be known (give --set, or compare it with a run folder)"
        )
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in spec)
    return run_from_git(spec, set_name, scratch / f"git_{safe}", data=data)
