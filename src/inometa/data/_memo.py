"""Reading the data folder once per content: a memo keyed by the bytes of its files.

A reproduction asks for the extracted tables some 80 times (every outcome, set, subgroup and
survival analysis reads and checks them); reading and checking them took more than half of
its statistics time. The memo keys each result on a digest of the files' names and bytes,
never on modification times (which can be coarse, or equal after a quick rewrite), so an
edit of any byte, a new file or a removed one reads afresh. Callers get fresh copies of the
mutable parts (DataFrames), never the memo's own.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

__all__ = ["fingerprint", "memoised"]

T = TypeVar("T")

_SIZE = 8  # results kept per memo: a few data folders (tests, snapshots, a user's copy)


def fingerprint(directory: Path, names: Iterable[str] | None = None) -> bytes | None:
    """Digest of the named files of ``directory`` (every entry when None); None if unreadable.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a.csv").write_text("x\\n1\\n")
    >>> before = fingerprint(d)
    >>> _ = (d / "a.csv").write_text("x\\n2\\n")
    >>> before == fingerprint(d), fingerprint(d) == fingerprint(d)
    (False, True)
    """
    digest = hashlib.blake2b(str(directory.resolve()).encode(), digest_size=32)
    try:
        chosen = sorted(names) if names is not None else sorted(p.name for p in directory.iterdir())
        for name in chosen:
            path = directory / name
            digest.update(b"\0" + name.encode() + b"\0")
            if path.is_file():
                digest.update(path.read_bytes())
            elif path.exists():
                digest.update(b"<dir>")
            else:
                digest.update(b"<absent>")
    except OSError:
        return None
    return digest.digest()


def memoised(
    store: OrderedDict[bytes, T], key: Callable[[], bytes | None], compute: Callable[[], T]
) -> T:
    """``store[key()]``, computed once (``compute()``) and kept among the last :data:`_SIZE`.

    The key is taken again after computing, and the value kept only if it did not change:
    a file rewritten while it was being read (another process adding a study) must not leave
    the result of the new bytes filed under the old ones, which an undo would bring back.
    With a key of None (a folder that could not be read) nothing is kept: ``compute`` runs
    and reports the problem itself.
    """
    before = key()
    if before is not None and before in store:
        store.move_to_end(before)
        return store[before]
    value = compute()
    if before is not None and key() == before:
        store[before] = value
        while len(store) > _SIZE:
            store.popitem(last=False)
    return value
