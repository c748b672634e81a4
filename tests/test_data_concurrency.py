"""Real ``inometa add-study`` processes: two at once both land, and a process killed between
two renames leaves a journal that the next run completes or undoes.

Each process runs the command line with every rename slowed down (so that the two writers
overlap every time, not by luck) and, for the kill tests, a SIGKILL sent to itself right
after a given rename: what a power cut or ``kill -9`` does, with no ``finally`` to help.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inometa import data
from inometa.data._atomic import JOURNAL

from .add_support import FILES, copy_data, listing, new_row, snapshot

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock and SIGKILL are POSIX")

# Runs `inometa ARGS...` with os.replace slowed by $SLOW_RENAME seconds and, when
# $KILL_AFTER_RENAME is n > 0, the process killed by SIGKILL right after its n-th rename.
RUNNER = """
import os, signal, sys, time
real = os.replace
count = [0]
def replace(src, dst):
    time.sleep(float(os.environ.get("SLOW_RENAME", "0")))
    real(src, dst)
    count[0] += 1
    if count[0] == int(os.environ.get("KILL_AFTER_RENAME", "0")):
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
from inometa.cli import main
sys.exit(main(sys.argv[1:]))
"""

SECOND_STUDY: dict[str, Any] = {
    "study_id": "roe2026",
    "label": "Roe 2026",
    "first_author": "Roe R",
    "cohort": "roe_trial",
    "url": "https://example.org/roe2026",
    "source": "https://example.org/roe2026",
}


def _flags(row: dict[str, Any]) -> list[str]:
    return [x for field, value in row.items() for x in ("--" + field.replace("_", "-"), str(value))]


def _start(directory: Path, row: dict[str, Any], **env: str) -> subprocess.Popen[str]:
    args = ["add-study", "--data-dir", str(directory), "-y", *_flags(row)]
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg", **env},
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inometa.cli", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def extracted(tmp_path: Path) -> Path:
    return copy_data(tmp_path)


def test_two_concurrent_add_study_processes_both_land(extracted: Path) -> None:
    # Every rename takes 0.3 s, so without the lock both processes read the same files and
    # the second either overwrites the first's study or fails on the changed file.
    first = _start(extracted, new_row(), SLOW_RENAME="0.3")
    second = _start(extracted, new_row(**SECOND_STUDY), SLOW_RENAME="0.3")
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outs
    studies = (extracted / "studies.csv").read_text()
    outcomes = (extracted / "outcomes.csv").read_text()
    sets = (extracted / "analysis_sets.toml").read_text()
    for study in ("doe2026", "roe2026"):
        assert f"\n{study}," in studies and f"\n{study},orr," in outcomes
        assert f'study = "{study}"' in sets
    assert data.validate(extracted).ok
    assert not [n for n in listing(extracted) if n.startswith(".")]


@pytest.mark.parametrize("renames_done", [1, 2])
def test_a_kill_between_renames_is_undone_by_validate_recover(
    extracted: Path, renames_done: int
) -> None:
    before = snapshot(extracted)
    killed = _start(extracted, new_row(), KILL_AFTER_RENAME=str(renames_done))
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL
    mixed = snapshot(extracted)
    assert mixed != before and JOURNAL in listing(extracted)  # a mixed state, journalled

    check = _cli("validate", str(extracted))
    assert check.returncode == 1
    assert "interrupted update" in check.stdout and "--recover" in check.stdout

    fixed = _cli("validate", "--recover", str(extracted))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "was undone: the original files are back" in fixed.stdout
    assert snapshot(extracted) == before
    assert not [n for n in listing(extracted) if n.startswith(".")]


def test_a_kill_after_the_last_rename_is_completed_by_the_next_add_study(
    extracted: Path,
) -> None:
    killed = _start(extracted, new_row(), KILL_AFTER_RENAME="3")
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL
    assert JOURNAL in listing(extracted)

    nxt = _start(extracted, new_row(**SECOND_STUDY))
    _out, err = nxt.communicate(timeout=120)
    assert nxt.returncode == 0, err
    assert "had replaced every file: kept" in err
    after = snapshot(extracted)
    for name in FILES:  # the first addition kept, the second added to it
        assert b"doe2026" in after[name] and b"roe2026" in after[name]
    assert data.validate(extracted).ok
    assert not [n for n in listing(extracted) if n.startswith(".")]


def test_recovery_refuses_a_file_edited_after_the_interruption(extracted: Path) -> None:
    killed = _start(extracted, new_row(), KILL_AFTER_RENAME="1")
    killed.communicate(timeout=120)
    (extracted / "studies.csv").write_text("edited by hand\n")
    fixed = _cli("validate", "--recover", str(extracted))
    assert fixed.returncode == 2 and "Traceback" not in fixed.stderr
    assert "studies.csv was changed after the interruption" in fixed.stderr
    assert JOURNAL in listing(extracted)  # nothing removed: the journal is the evidence
