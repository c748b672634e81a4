"""The `inometa pool` command."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import inometa
from inometa.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "cr_cri.csv"


def test_pool_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pool", str(EXAMPLE), "--events", "events", "--n", "total", "--studies"]) == 0
    out = capsys.readouterr().out
    assert "Random effects" in out and "Stelljes 2024 (INITIAL-1)" in out


def test_pool_json_equals_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "pool",
        str(EXAMPLE),
        "--events",
        "events",
        "--n",
        "total",
        "--transform",
        "ft",
        "--tau2",
        "DL",
        "--ci",
        "hk",
        "--pi",
        "hts",
        "--json",
    ]
    assert main(args) == 0
    d = json.loads(capsys.readouterr().out)
    df = pd.read_csv(EXAMPLE)
    ref = inometa.metaprop(
        "events",
        "total",
        data=df,
        labels="label",
        transform="ft",
        tau2_method="DL",
        ci_method="hk",
        pi_method="hts",
    ).to_dict()
    assert d == ref


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--transform", "probit"], "unknown transform 'probit'"),
        (["--events", "nope"], "no column 'nope'"),
    ],
)
def test_pool_errors_exit_2(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["pool", str(EXAMPLE), "--events", "events", "--n", "total", *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pool", "nope.csv", "--events", "e", "--n", "n"]) == 2
    assert "no such file: nope.csv" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # `inometa audit --all | head -1`: the reader goes away before the output is written
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "INOMETA_DATA"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "inometa", "audit", "--all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 141 and err == ""


def test_data_path_and_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from inometa import data

    assert main(["data", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(data.data_dir())
    assert main(["data", "copy", str(tmp_path / "mine")]) == 0
    assert f"--data-dir {tmp_path / 'mine' / 'extracted'}" in capsys.readouterr().out
    assert main(["validate", str(tmp_path / "mine" / "extracted"), "--errors-only"]) == 0
    assert main(["data", "copy", str(tmp_path / "mine")]) == 2
