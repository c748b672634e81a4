"""Replacing several files: all or none, even when a rename fails half-way."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from inometa.data import _atomic
from inometa.data._atomic import replace_files


def _files(tmp_path: Path) -> tuple[dict[Path, bytes], dict[Path, bytes]]:
    originals = {}
    for name in ("a.csv", "b.csv", "c.toml"):
        path = tmp_path / name
        path.write_bytes(f"old {name}\n".encode())
        originals[path] = path.read_bytes()
    contents = {path: data + b"new line\n" for path, data in originals.items()}
    return originals, contents


def _fail_on_call(monkeypatch: pytest.MonkeyPatch, failing: set[int]) -> list[int]:
    """Make os.replace raise on the given calls (counted from 1); returns the call log."""
    calls: list[int] = []
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        calls.append(len(calls) + 1)
        if len(calls) in failing:
            raise OSError(f"simulated failure on rename {len(calls)}")
        real(src, dst)

    monkeypatch.setattr(_atomic.os, "replace", replace)
    return calls


def test_all_files_are_replaced_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    originals, contents = _files(tmp_path)
    os.chmod(tmp_path / "a.csv", 0o640)
    replace_files(contents, originals)
    assert {p: p.read_bytes() for p in contents} == contents
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv", "c.toml"]
    assert stat.S_IMODE((tmp_path / "a.csv").stat().st_mode) == 0o640


def test_a_failed_second_rename_restores_the_first_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    originals, contents = _files(tmp_path)
    calls = _fail_on_call(monkeypatch, {2})
    with pytest.raises(OSError, match="simulated failure on rename 2"):
        replace_files(contents, originals)
    assert calls == [1, 2, 3]  # a.csv renamed, b.csv failed, a.csv restored
    assert {p: p.read_bytes() for p in originals} == originals
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv", "c.toml"]


def test_a_failed_restoring_rename_falls_back_to_writing_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    originals, contents = _files(tmp_path)
    _fail_on_call(monkeypatch, {3, 4})  # c.toml fails, then restoring b.csv fails
    with pytest.raises(OSError, match="rename 3"):
        replace_files(contents, originals)
    assert {p: p.read_bytes() for p in originals} == originals


def test_a_failure_before_any_rename_leaves_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    originals, contents = _files(tmp_path)
    real = _atomic._write_beside
    written: list[Path] = []

    def write_beside(target: Path, content: bytes, suffix: str) -> Path:
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(real(target, content, suffix))
        return written[-1]

    monkeypatch.setattr(_atomic, "_write_beside", write_beside)
    with pytest.raises(KeyboardInterrupt):
        replace_files(contents, originals)
    assert {p: p.read_bytes() for p in originals} == originals
    assert not any(p.exists() for p in written)


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path: Path) -> None:
    originals, contents = _files(tmp_path)
    (tmp_path / "b.csv").write_bytes(b"edited meanwhile\n")
    with pytest.raises(ValueError, match="changed while the addition was prepared"):
        replace_files(contents, originals)
    assert (tmp_path / "a.csv").read_bytes() == originals[tmp_path / "a.csv"]


def test_when_restoring_fails_too_the_error_names_the_backups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    originals, contents = _files(tmp_path)
    _fail_on_call(monkeypatch, {2, 3})
    real_write = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:
        if self.name == "a.csv":
            raise OSError("disk gone")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    with pytest.raises(RuntimeError, match=r"a\.csv \(copy of the original: .*\.bak\)"):
        replace_files(contents, originals)
    backups = [p for p in tmp_path.iterdir() if p.name.endswith(".bak")]
    assert [p.read_bytes() for p in backups] == [originals[tmp_path / "a.csv"]]


# --- the journal and recovery ------------------------------------------------------------


def test_the_journal_exists_during_the_renames_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    originals, contents = _files(tmp_path)
    seen: list[bool] = []
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        seen.append((tmp_path / _atomic.JOURNAL).is_file())
        real(src, dst)

    monkeypatch.setattr(_atomic.os, "replace", replace)
    replace_files(contents, originals)
    assert seen == [True, True, True]
    assert not (tmp_path / _atomic.JOURNAL).exists()
    assert _atomic.leftovers(tmp_path) == []


def test_a_truncated_journal_means_nothing_was_renamed(tmp_path: Path) -> None:
    originals, _ = _files(tmp_path)
    (tmp_path / _atomic.JOURNAL).write_text('{"inometa_journal": 1, "files": [{"tar')
    (tmp_path / ".a.csv.x1y2.new").write_bytes(b"half a new file")
    assert _atomic.leftovers(tmp_path) == [_atomic.JOURNAL, ".a.csv.x1y2.new"]
    done = _atomic.recover(tmp_path)
    assert any("incomplete" in d for d in done) and any(".a.csv.x1y2.new" in d for d in done)
    assert {p: p.read_bytes() for p in originals} == originals
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv", "c.toml"]


def test_a_backup_that_differs_without_a_journal_is_left_for_a_person(tmp_path: Path) -> None:
    _files(tmp_path)
    (tmp_path / ".b.csv.q9.bak").write_bytes(b"something else\n")
    with pytest.raises(RuntimeError, match=r"\.b\.csv\.q9\.bak differs from b\.csv"):
        _atomic.recover(tmp_path)
    assert (tmp_path / ".b.csv.q9.bak").exists()


def test_recovery_after_a_failed_restoration_puts_the_original_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    originals, contents = _files(tmp_path)
    _fail_on_call(monkeypatch, {2, 3})
    real_write = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:
        if self.name == "a.csv":
            raise OSError("disk gone")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    with pytest.raises(RuntimeError, match="validate --recover"):
        replace_files(contents, originals)
    monkeypatch.undo()
    assert (tmp_path / _atomic.JOURNAL).exists()
    done = _atomic.recover(tmp_path)
    assert any("was undone" in d for d in done)
    assert {p: p.read_bytes() for p in originals} == originals
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv", "c.toml"]
