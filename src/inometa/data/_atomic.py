"""Replacing several files so that either all change or none does, one writer at a time.

Each new content is written in full to a temporary file beside its target (the same file
system, so that :func:`os.replace` is an atomic rename), and a copy of each original beside
it. Only when every temporary file is written is a journal written (``JOURNAL``: the files,
their temporaries and backups, and the SHA-256 of the old and new contents); then the
temporaries are renamed over their targets, one by one. If a step fails the targets already
replaced are restored from the backups. If the process dies between two renames (a kill, a
power loss), the journal survives it, and :func:`recover` (run by the next writer, and by
``inometa validate --recover``) completes or undoes the update: all targets new — it was
complete, only the leftovers are removed; otherwise every replaced target gets its backup
back. :func:`leftovers` reports what an interrupted update left, for ``validate``.

Writers serialise on the folder with :func:`locked` (an exclusive ``flock`` on the
directory itself, so no lock file appears in the data): the writer reads, validates and
renames under the lock, so that two ``add-study`` runs at the same time both land.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

try:  # POSIX; on Windows the folder is not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["JOURNAL", "leftovers", "locked", "recover", "replace_files"]

JOURNAL = ".inometa-journal.json"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(directory: Path) -> None:
    """Make renames in ``directory`` durable (ignored where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (waiting for another writer to finish).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with locked(Path(tempfile.mkdtemp())):
    ...     pass
    """
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


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


def _write_journal(directory: Path, entries: list[dict[str, str]]) -> Path:
    """Write the journal in full and durably before the first rename."""
    path = directory / JOURNAL
    data = json.dumps({"inometa_journal": 1, "files": entries}, indent=1).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    _fsync_dir(directory)
    return path


def replace_files(contents: Mapping[Path, bytes], originals: Mapping[Path, bytes]) -> None:
    """Replace each file of ``contents`` with its new bytes: all of them, or none.

    Call it under :func:`locked` on the targets' directory.

    Parameters
    ----------
    contents
        Target path → new content; every target in one directory.
    originals
        Target path → the content the caller read and planned from. A target whose content
        has changed since then is not overwritten (ValueError, nothing written).

    Raises
    ------
    ValueError
        If a target changed since it was read.
    OSError
        (or any exception raised while writing) after restoring every target already
        replaced; when even the restoration fails, a RuntimeError names the backups, which
        are kept with the journal for :func:`recover`.
    """
    if not contents:
        return
    directories = {target.parent for target in contents}
    if len(directories) != 1:
        raise ValueError("replace_files: every target must be in one directory")
    directory = directories.pop()
    for target in contents:
        if target.read_bytes() != originals[target]:
            raise ValueError(f"{target} changed while the addition was prepared; nothing written")
    temporaries: dict[Path, Path] = {}
    backups: dict[Path, Path] = {}
    replaced: list[Path] = []
    keep: list[Path] = []  # targets whose original survives only in its backup
    journal: Path | None = None
    try:
        for target, content in contents.items():
            temporaries[target] = _write_beside(target, content, ".new")
            backups[target] = _write_beside(target, originals[target], ".bak")
        journal = _write_journal(
            directory,
            [
                {
                    "target": target.name,
                    "new": temporaries[target].name,
                    "backup": backups[target].name,
                    "sha256_old": _sha(originals[target]),
                    "sha256_new": _sha(content),
                }
                for target, content in contents.items()
            ],
        )
        for target in contents:
            os.replace(temporaries[target], target)
            replaced.append(target)
        _fsync_dir(directory)
    except BaseException as exc:
        failed = _restore(replaced, backups, originals)
        if failed:
            keep = failed
            listing = ", ".join(f"{t} (copy of the original: {backups[t]})" for t in failed)
            raise RuntimeError(
                f"writing failed and these files could not be restored: {listing}; "
                f"`inometa validate --recover {directory}` retries"
            ) from exc
        raise
    finally:
        for path in temporaries.values():
            path.unlink(missing_ok=True)
        for target, path in backups.items():
            if target not in keep:
                path.unlink(missing_ok=True)
        if journal is not None and not keep:
            journal.unlink(missing_ok=True)
            _fsync_dir(directory)


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


def _stray(directory: Path) -> list[Path]:
    """Hidden ``.NAME.*.new`` / ``.bak`` files that a writer of this module leaves beside NAME."""
    out = []
    for path in sorted(directory.glob(".*.*")):
        if path.suffix in {".new", ".bak"} and path.is_file():
            stem = path.name[1:].rsplit(".", 2)[0]
            if (directory / stem).is_file():
                out.append(path)
    return out


def leftovers(directory: Path) -> list[str]:
    """What an interrupted update left in ``directory`` (empty when nothing): for validate.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> leftovers(Path(tempfile.mkdtemp()))
    []
    """
    found = [JOURNAL] if (directory / JOURNAL).exists() else []
    return found + [p.name for p in _stray(directory)]


def _read_journal(path: Path) -> list[dict[str, str]] | None:
    """The journal's entries; None when it is incomplete (written before any rename)."""
    try:
        data = json.loads(path.read_bytes())
        entries = data["files"]
        for entry in entries:
            for key in ("target", "new", "backup", "sha256_old", "sha256_new"):
                if not isinstance(entry[key], str) or "/" in entry[key] or "\\" in entry[key]:
                    return None
        return list(entries)
    except (ValueError, KeyError, TypeError):
        return None


def recover(directory: Path) -> list[str]:
    """Complete or undo an update that was interrupted; call it under :func:`locked`.

    Returns
    -------
    list of str
        What was done, one sentence per action (empty when nothing was left over).

    Raises
    ------
    RuntimeError
        When a file matches neither its old nor its new content (edited after the crash),
        or its backup is missing: nothing is changed, and the message names the files.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> recover(Path(tempfile.mkdtemp()))
    []
    """
    done: list[str] = []
    path = directory / JOURNAL
    entries = _read_journal(path) if path.exists() else None
    if entries:
        current = {
            e["target"]: _sha((directory / e["target"]).read_bytes())
            if (directory / e["target"]).is_file()
            else ""
            for e in entries
        }
        names = ", ".join(e["target"] for e in entries)
        if all(current[e["target"]] == e["sha256_new"] for e in entries):
            done.append(f"an interrupted update of {names} had replaced every file: kept")
        else:
            undo = [e for e in entries if current[e["target"]] != e["sha256_old"]]
            problems = []
            for e in undo:
                backup = directory / e["backup"]
                if current[e["target"]] != e["sha256_new"]:
                    problems.append(f"{e['target']} was changed after the interruption")
                elif not backup.is_file() or _sha(backup.read_bytes()) != e["sha256_old"]:
                    problems.append(f"the backup of {e['target']} ({e['backup']}) is missing")
            if problems:
                raise RuntimeError(
                    f"cannot recover the interrupted update in {directory}: "
                    + "; ".join(problems)
                    + f"; compare the files with {JOURNAL} by hand"
                )
            for e in undo:
                os.replace(directory / e["backup"], directory / e["target"])
            _fsync_dir(directory)
            done.append(f"an interrupted update of {names} was undone: the original files are back")
    elif path.exists():
        done.append(f"an incomplete {JOURNAL} (written before any file was replaced) removed")
    for stray in _stray(directory):
        target = directory / stray.name[1:].rsplit(".", 2)[0]
        if stray.suffix == ".bak" and not entries and stray.read_bytes() != target.read_bytes():
            raise RuntimeError(
                f"{stray} differs from {target.name} and no journal says which is right; "
                "compare them by hand, then delete it"
            )
        stray.unlink()
        done.append(f"leftover {stray.name} removed")
    if path.exists():
        path.unlink()
    if done:
        _fsync_dir(directory)
    return done
