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
        (["--events", "events", "--transform", "probit"], "unknown transform 'probit'"),
        (["--events", "nope"], "no column 'nope'"),
    ],
)
def test_pool_errors_exit_2(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["pool", str(EXAMPLE), "--n", "total", *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pool", "nope.csv", "--events", "e", "--n", "n"]) == 2
    assert "no such file: nope.csv" in capsys.readouterr().err
