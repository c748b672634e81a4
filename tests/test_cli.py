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


def test_pool_help_shows_the_defaults_of_the_metafor_profile(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import re

    with pytest.raises(SystemExit):
        main(["pool", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    profile = inometa.PROFILES["metafor"]
    res = inometa.metaprop([5, 20], [50, 60])  # correction and level: not in the profile
    for option, default in [
        ("--method", profile["method"]),
        ("--transform", profile["transform"]),
        ("--tau2", profile["tau2_method"]),
        ("--ci", profile["ci_method"]),
        ("--pi", profile["pi_method"]),
        ("--i2", profile["i2_definition"]),
        ("--study-ci", profile["study_ci_method"]),
        ("--correction", res.options.correction),
        ("--increment", f"{profile['increment']:g}"),
        ("--level", f"{res.options.level:g}"),
        ("--nagq", profile["nagq"]),
    ]:
        help_line = re.search(re.escape(option) + r" [A-Z0-9_]+ (.*?\])", text)
        assert help_line is not None, option
        assert help_line.group(1).endswith(f"[{default}]"), (option, help_line.group(1))


def test_summary_names_the_increment_only_when_a_correction_is_made() -> None:
    assert "correction: none;" in inometa.metaprop([5, 20], [50, 60], correction="none").summary()
    assert "correction: only0 (0.5);" in inometa.metaprop([0, 20], [50, 60]).summary()


def test_reproduce_quiet_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--out", str(tmp_path), "--no-figures", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "report.html").is_file()


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
