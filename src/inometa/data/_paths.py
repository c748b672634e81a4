"""Where the data live when no path is given, and a writable copy of them."""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path
from typing import TypeAlias

__all__ = [
    "PathLike",
    "copy_data",
    "data_dir",
    "data_root",
    "published_file",
    "writable_data_dir",
]

PathLike: TypeAlias = str | os.PathLike[str]

PUBLISHED_NAME = "lao2025.csv"
SUBFOLDERS = ("extracted", "published", "examples")


def _installed_root() -> Path | None:
    """``inometa/_data`` inside the installed package (a wheel install), if it is there."""
    root = resources.files("inometa").joinpath("_data")
    # A package installed as files (not zipped) gives a pathlib.Path; the data are read and
    # copied as ordinary files, so anything else is not used.
    if isinstance(root, Path) and (root / "extracted").is_dir():
        return root
    return None


def _checkout_root() -> Path | None:
    """``data/`` of the source checkout this module is imported from (editable installs)."""
    # src/inometa/data/_paths.py: the checkout is three levels above this package; it is
    # recognised by its pyproject.toml, so an installed copy never reads a stray folder.
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file() and (checkout / "data" / "extracted").is_dir():
        return checkout / "data"
    return None


def data_root() -> Path:
    """The folder of the data shipped with inometa: ``extracted/``, ``published/``, ``examples/``.

    For an installed package this is ``inometa/_data`` inside it, found with
    :mod:`importlib.resources`; for a source checkout (an editable install) it is the
    checkout's ``data/``. It does not depend on the working directory. Treat it as read-only:
    :func:`copy_data` makes a copy to edit.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        If neither is found (a broken installation).

    Examples
    --------
    >>> from inometa.data import data_root
    >>> sorted(p.name for p in data_root().iterdir() if p.is_dir() and not p.name.startswith("_"))
    ['examples', 'extracted', 'published']
    """
    root = _installed_root() or _checkout_root()
    if root is None:
        raise ValueError(
            "the data shipped with inometa are missing (no inometa/_data in the installed "
            "package): reinstall inometa, or pass the path of a data/extracted directory "
            "or set INOMETA_DATA"
        )
    return root


def is_shipped(directory: PathLike) -> bool:
    """Whether ``directory`` is the installed package's own copy of the data (or inside it)."""
    installed = _installed_root()
    if installed is None:
        return False
    here = Path(directory).resolve()
    return here == installed.resolve() or installed.resolve() in here.parents


def data_dir(path: PathLike | None = None) -> Path:
    """The ``data/extracted`` directory to read.

    Resolution order when ``path`` is None: ``$INOMETA_DATA`` if set; else the data shipped
    with the package (:func:`data_root`). The working directory plays no part.

    Parameters
    ----------
    path : path-like or None
        A ``data/extracted`` directory; None to resolve as above.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        If the resolved directory does not exist.

    Examples
    --------
    >>> from inometa.data import data_dir
    >>> sorted(p.name for p in data_dir().glob("*.csv"))
    ['outcomes.csv', 'studies.csv', 'survival.csv']
    """
    if path is not None:
        found = Path(path)
    elif os.environ.get("INOMETA_DATA"):
        found = Path(os.environ["INOMETA_DATA"])
    else:
        found = data_root() / "extracted"
    if not found.is_dir():
        raise ValueError(
            f"no data directory at {found}: pass the path of a data/extracted directory "
            "or set INOMETA_DATA"
        )
    return found


def writable_data_dir(path: PathLike | None = None) -> Path:
    """The ``data/extracted`` directory to write new rows to: named, and writable.

    Rows are added only to a folder the user named — ``path`` or ``$INOMETA_DATA`` — never
    to the copy installed with the package.

    Parameters
    ----------
    path : path-like or None
        A ``data/extracted`` directory; None for ``$INOMETA_DATA``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        If no folder is named, if it is the installed package's data, or if it cannot be
        written; the message says how to get a writable copy.
    """
    how = (
        "make a writable copy with `inometa data copy DIR` (or inometa.data.copy_data(DIR)) "
        "and pass --data-dir DIR/extracted (path=DIR/extracted), or set INOMETA_DATA to it"
    )
    if path is None and not os.environ.get("INOMETA_DATA"):
        raise ValueError(f"no data folder named to add rows to: {how}")
    directory = data_dir(path)
    if is_shipped(directory):
        raise ValueError(
            f"{directory} is the data installed with the inometa package, which is not "
            f"edited in place: {how}"
        )
    if not os.access(directory, os.W_OK):
        raise ValueError(f"{directory} is not writable: {how}")
    return directory


def copy_data(dest: PathLike) -> Path:
    """Copy the shipped data (``extracted/``, ``published/``, ``examples/``) to ``dest``.

    The copy is the folder to add studies to and to rerun from
    (``inometa reproduce --data DEST/extracted``).

    Parameters
    ----------
    dest : path-like
        A folder that does not exist yet, or is empty.

    Returns
    -------
    pathlib.Path
        ``dest/extracted``, the directory to pass as ``path=`` or ``--data-dir``.

    Raises
    ------
    ValueError
        If ``dest`` exists and is not empty.

    Examples
    --------
    >>> import tempfile
    >>> from inometa.data import analysis_set, copy_data
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     extracted = copy_data(tmp + "/mydata")
    ...     print(extracted.name, len(analysis_set("lao2025", "orr", path=extracted)))
    extracted 8
    """
    target = Path(dest)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ValueError(f"{target} exists and is not empty: choose a new folder")
    source = data_root()
    target.mkdir(parents=True, exist_ok=True)
    for name in SUBFOLDERS:
        if (source / name).is_dir():
            shutil.copytree(
                source / name, target / name, ignore=shutil.ignore_patterns("__pycache__")
            )
    for copied in target.rglob("*"):
        # files copied out of a read-only installation stay read-only otherwise
        copied.chmod(copied.stat().st_mode | 0o200)
    return target / "extracted"


def published_file(path: PathLike | None = None) -> Path:
    """The published-numbers CSV (the numbers printed by Lao et al. 2025).

    Parameters
    ----------
    path : path-like or None
        The file itself; or a directory holding ``lao2025.csv``; or a ``data/extracted``
        directory, whose published numbers are ``../published/lao2025.csv``. None: the
        ``published/lao2025.csv`` beside the directory :func:`data_dir` finds.

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
