"""Where the data live when no path is given."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeAlias

__all__ = ["PathLike", "data_dir", "published_file"]

PathLike: TypeAlias = str | os.PathLike[str]

# src/inometa/data/_paths.py -> repository root is three levels above this package.
_REPO_EXTRACTED = Path(__file__).resolve().parents[3] / "data" / "extracted"

PUBLISHED_NAME = "lao2025.csv"


def data_dir(path: PathLike | None = None) -> Path:
    """The ``data/extracted`` directory to read.

    Resolution order when ``path`` is None: ``$INOMETA_DATA`` if set; else
    ``./data/extracted`` under the current directory if it exists; else the repository's
    ``data/extracted`` found relative to the package source (editable installs).

    Raises
    ------
    ValueError
        If the resolved directory does not exist.
    """
    if path is not None:
        found = Path(path)
    elif os.environ.get("INOMETA_DATA"):
        found = Path(os.environ["INOMETA_DATA"])
    elif (Path.cwd() / "data" / "extracted").is_dir():
        found = Path.cwd() / "data" / "extracted"
    else:
        found = _REPO_EXTRACTED
    if not found.is_dir():
        raise ValueError(
            f"no data directory at {found}: pass the path of a data/extracted directory "
            "or set INOMETA_DATA"
        )
    return found


def published_file(path: PathLike | None = None) -> Path:
    """The published-numbers CSV (the numbers printed by Lao et al. 2025).

    Parameters
    ----------
    path : path-like or None
        The file itself; or a directory holding ``lao2025.csv``; or a ``data/extracted``
        directory, whose published numbers are ``../published/lao2025.csv``. None: the
        ``data/published/lao2025.csv`` beside the directory :func:`data_dir` finds.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        If no such file exists.
    """
    if path is None:
        found = data_dir().parent / "published" / PUBLISHED_NAME
    else:
        found = Path(path)
        if found.is_dir():
            inside = found / PUBLISHED_NAME
            # a data/extracted directory: its published numbers live beside it
            beside = found.parent / "published" / PUBLISHED_NAME
            found = beside if not inside.is_file() and beside.is_file() else inside
    if not found.is_file():
        raise ValueError(f"no published-numbers file at {found}")
    return found
