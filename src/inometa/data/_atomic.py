"""Replacing several files so that either all change or none does.

Each new content is written in full to a temporary file beside its target (the same file
system, so that :func:`os.replace` is an atomic rename). Only when every temporary file is
written are they renamed over their targets, one by one; a copy of each original is kept
until all renames have succeeded, and if any step fails the targets already replaced are
restored from those copies. A crash between two renames (power loss) can still leave a mix;
the ``.bak`` copies are then left beside the files.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["replace_files"]


def _write_beside(target: Path, content: bytes, suffix: str) -> Path:
    """Write ``content`` to a new hidden file in ``target``'s directory, with its mode."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            os.chmod(path, stat.S_IMODE(target.stat().st_mode))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def replace_files(contents: Mapping[Path, bytes], originals: Mapping[Path, bytes]) -> None:
    """Replace each file of ``contents`` with its new bytes: all of them, or none.

    Parameters
    ----------
    contents
        Target path → new content.
    originals
        Target path → the content the caller read and planned from. A target whose content
        has changed since then is not overwritten (ValueError, nothing written).

    Raises
    ------
    ValueError
        If a target changed since it was read.
    OSError
        (or any exception raised while writing) after restoring every target already
        replaced; when even the restoration fails, a RuntimeError names the backups.
    """
    for target in contents:
        if target.read_bytes() != originals[target]:
            raise ValueError(f"{target} changed while the addition was prepared; nothing written")
    temporaries: dict[Path, Path] = {}
    backups: dict[Path, Path] = {}
    replaced: list[Path] = []
    keep: list[Path] = []  # targets whose original survives only in its backup
    try:
        for target, content in contents.items():
            temporaries[target] = _write_beside(target, content, ".new")
            backups[target] = _write_beside(target, originals[target], ".bak")
        for target in contents:
            os.replace(temporaries[target], target)
            replaced.append(target)
    except BaseException as exc:
        failed = _restore(replaced, backups, originals)
        if failed:
            keep = failed
            listing = ", ".join(f"{t} (copy of the original: {backups[t]})" for t in failed)
            raise RuntimeError(
                f"writing failed and these files could not be restored: {listing}"
            ) from exc
        raise
    finally:
        for path in temporaries.values():
            path.unlink(missing_ok=True)
        for target, path in backups.items():
            if target not in keep:
                path.unlink(missing_ok=True)


def _restore(
    replaced: list[Path], backups: Mapping[Path, Path], originals: Mapping[Path, bytes]
) -> list[Path]:
    """Put the originals back, newest first; the targets that could not be restored."""
    failed: list[Path] = []
    for target in reversed(replaced):
        try:
            os.replace(backups[target], target)
        except OSError:
            try:
                target.write_bytes(originals[target])
            except OSError:
                failed.append(target)
    return failed
