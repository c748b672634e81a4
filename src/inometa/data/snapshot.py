"""The extracted data as they stood on a date: a copy without the later reports.

A living review asks "what did the evidence look like when the paper searched?" and, to
replay an update, needs the data before the new trials were added. :func:`snapshot` writes
such a copy: study reports published after the date are dropped from ``studies.csv``,
``outcomes.csv`` and ``survival.csv``, and the set entries naming them (``[[set.member]]``,
``[[set.exclude]]``) from ``analysis_sets.toml``, each file otherwise unchanged line for
line. The copy is validated before it is returned.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import shutil
from pathlib import Path

from ._csv import earliest_date
from ._paths import PathLike, data_dir, published_file
from .checks import collect

__all__ = ["snapshot"]

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$")
_STUDY = re.compile(r"""^\s*study\s*=\s*["']([^"']+)["']""")


def _kept_rows(path: Path, drop: set[str]) -> str:
    """The CSV without rows whose first column (study_id) is in ``drop``; the other rows
    keep their exact text."""
    out = io.StringIO()
    buffer: list[str] = []
    header = True
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        buffer.append(line)
        record = "".join(buffer)
        # Quotes inside a field are doubled, so a record is complete when its quotes pair
        # up; until then a quoted field runs over a line break.
        if record.count('"') % 2:
            continue
        fields = next(csv.reader(io.StringIO(record)), [])
        if header or not fields or fields[0] not in drop:
            out.write(record)
        header = False
        buffer = []
    out.write("".join(buffer))
    return out.getvalue()


def _kept_sets(path: Path, drop: set[str]) -> str:
    """analysis_sets.toml without the ``[[…member]]`` / ``[[…exclude]]`` blocks naming a
    dropped study. A block runs from its header to the next header; comments just above
    a header stay with the block they describe."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _HEADER.match(line)]
    bounds = [*starts, len(lines)]
    keep = [True] * len(lines)
    for start, end in itertools.pairwise(bounds):
        if not lines[start].lstrip().startswith("[["):
            continue
        study = next((m.group(1) for m in map(_STUDY.match, lines[start:end]) if m), None)
        if study in drop:
            # leave the comment lines that introduce the next block in place
            stop = end
            while stop > start + 1 and lines[stop - 1].lstrip().startswith("#"):
                stop -= 1
            for i in range(start, stop):
                keep[i] = False
    return "".join(line for line, k in zip(lines, keep, strict=True) if k)


def snapshot(dest: PathLike, as_of: dt.date | str, *, path: PathLike | None = None) -> Path:
    """Copy the data, leaving out every report published after ``as_of``.

    Parameters
    ----------
    dest
        A new folder; the copy is written to ``dest/extracted`` and ``dest/published`` (the
        layout of ``data/``), so ``inometa reproduce --data dest/extracted`` runs on it.
    as_of
        The date (``datetime.date`` or ``"YYYY-MM-DD"``). A publication date given as a
        year or a month counts as its first day, as everywhere in :mod:`inometa.data`.
    path
        The ``data/extracted`` directory to copy (default: see :mod:`inometa.data`).

    Returns
    -------
    pathlib.Path
        ``dest/extracted``.

    Raises
    ------
    ValueError
        If ``dest`` exists and is not empty, the date is malformed, or the copy does not
        validate (e.g. a remaining set entry needs a dropped report).

    Examples
    --------
    >>> import tempfile, datetime
    >>> from inometa.data import analysis_set, snapshot
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     old = snapshot(f"{tmp}/data", datetime.date(2024, 12, 2))
    ...     then, now = analysis_set("latest", "orr", old), analysis_set("latest", "orr")
    ...     print(len(then), len(now), sorted(set(now.label) - set(then.label)))
    8 11 ['Agrawal 2025', 'INO-CD22 2025', 'MDACC 2025 (ASH)', 'Wieduwilt 2025']
    """
    source = data_dir(path)
    try:
        date = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))
    except ValueError:
        raise ValueError(f"as_of {as_of!r} is not a date: use YYYY-MM-DD") from None
    target = Path(dest)
    if target.exists() and any(target.iterdir()):
        raise ValueError(f"{target} exists and is not empty: choose a new folder")
    tables, _, report = collect(source)
    report.raise_if_errors()
    assert tables is not None
    studies = tables.studies.frame
    drop = {
        sid
        for sid, pub in zip(studies["study_id"], studies["publication_date"], strict=True)
        if earliest_date(str(pub)) > date
    }
    extracted = target / "extracted"
    extracted.mkdir(parents=True)
    for file in sorted(source.iterdir()):
        if file.is_dir():
            continue
        if file.name in ("studies.csv", "outcomes.csv", "survival.csv"):
            (extracted / file.name).write_text(_kept_rows(file, drop), encoding="utf-8")
        elif file.name == "analysis_sets.toml":
            (extracted / file.name).write_text(_kept_sets(file, drop), encoding="utf-8")
        else:
            shutil.copy2(file, extracted / file.name)
    published = target / "published"
    published.mkdir()
    shutil.copy2(published_file(source), published)
    _, _, check = collect(extracted)
    if not check.ok:
        raise ValueError(f"the data as of {date} do not validate:\n{check.format(warnings=False)}")
    return extracted
