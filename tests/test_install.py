"""Installed as a user installs it: a wheel, in a fresh virtual environment, used from a
folder outside the repository.

Slow (builds a wheel, makes a venv): marked ``slow``, and run by ``.ci/run`` with the rest.
The new environment gets inometa only from the wheel; its dependencies (numpy, scipy, …) are
this environment's, made visible through a ``.pth`` path so that the test needs no network.
The checks that inometa is imported from the new environment, and that its data are the
installed copy, make sure the repository is not what is being used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, timeout: float = 600) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("INOMETA_DATA", "PYTHONPATH")}
    env["MPLBACKEND"] = "Agg"
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("install")
    wheels = base / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        base,
    )
    (wheel,) = wheels.glob("inometa-*.whl")
    env = base / "venv"
    _run([sys.executable, "-m", "venv", str(env)], base)
    python = env / "bin" / "python"
    site = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], base
    )
    (Path(site.strip()) / "_inometa_test_deps.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], base)
    return env


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def test_the_wheel_holds_the_data_the_types_marker_and_the_licence(venv: Path) -> None:
    python = str(venv / "bin" / "python")
    out = _run(
        [
            python,
            "-c",
            textwrap.dedent("""
            import importlib.metadata as md, inometa, inometa.data as d
            from pathlib import Path
            print(Path(inometa.__file__).parent)
            print(d.data_root())
            print((Path(inometa.__file__).parent / "py.typed").is_file())
            print(md.version("inometa") == inometa.__version__)
            print(any(p.name == "LICENSE" for p in md.files("inometa")))
            print(md.metadata("inometa")["License"])
        """),
        ],
        venv,
    )
    package, root, typed, version, licence, name = out.splitlines()
    assert Path(package).is_relative_to(venv) and Path(root) == Path(package) / "_data"
    assert (typed, version, licence, name) == ("True", "True", "True", "MIT")


def test_library_use_from_another_folder(venv: Path, outside: Path) -> None:
    out = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import inometa.data; print(len(inometa.data.analysis_set('lao2025', 'orr')))",
        ],
        outside,
    )
    assert out.strip() == "8"


def test_commands_from_another_folder(venv: Path, outside: Path) -> None:
    inometa = str(venv / "bin" / "inometa")
    out = _run([inometa, "reproduce", "--no-figures", "--out", "results"], outside)
    assert "files written to results/" in out and (outside / "results" / "report.html").is_file()
    assert "0 errors" in _run([inometa, "validate", "--errors-only"], outside)
    _run([str(venv / "bin" / "python"), "-m", "inometa", "audit"], outside)
    # the installed data are never edited: add-study asks for a folder, data copy makes one
    env = {k: v for k, v in os.environ.items() if k != "INOMETA_DATA"}
    example = str(ROOT / "data" / "examples" / "new_rows.csv")
    refused = subprocess.run(
        [inometa, "add-study", "--from-csv", example, "--yes"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 2 and "inometa data copy DIR" in refused.stderr
    shipped = _run([inometa, "data", "path"], outside).strip()
    assert Path(shipped).is_relative_to(venv)
    refused = subprocess.run(
        [inometa, "add-study", "--from-csv", example, "--yes", "--data-dir", shipped],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 2 and "installed with the inometa package" in refused.stderr
    _run([inometa, "data", "copy", "mine"], outside)
    _run(
        [inometa, "add-study", "--from-csv", example, "--yes", "--data-dir", "mine/extracted"],
        outside,
    )
    assert "example2026" in (outside / "mine" / "extracted" / "studies.csv").read_text()


@pytest.mark.parametrize("name", ["quickstart.ipynb", "02_new_trials.ipynb"])
def test_notebooks_run_from_their_folder_and_show_their_figures(
    venv: Path, tmp_path: Path, name: str
) -> None:
    # a copy of the notebook in a folder of its own, executed by a kernel of the new venv
    # (the only execution in a kernel in the suite: tests/test_notebooks.py runs the cells
    # in-process for the numbers)
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / name).write_bytes((ROOT / "notebooks" / name).read_bytes())
    script = textwrap.dedent(f"""
        import json, nbclient, nbformat, os
        nb = nbformat.read({name!r}, as_version=4)
        os.environ.pop("MPLBACKEND", None)
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={{"metadata": {{"path": "."}}}}).execute()
        code = [c for c in nb.cells if c.cell_type == "code"]
        print(json.dumps({{
            "errors": sum(o.output_type == "error" for c in code for o in c.outputs),
            "cells": [[c.source, sum("image/png" in o.get("data", {{}}) for o in c.outputs)]
                      for c in code],
        }}))
    """)
    out = _run([str(venv / "bin" / "python"), "-c", script], folder).splitlines()[-1]
    ran = json.loads(out)
    assert ran["errors"] == 0
    plot_cells = [(source, images) for source, images in ran["cells"] if "inometa.plot_" in source]
    assert plot_cells, "the notebook draws no figure"
    for source, images in plot_cells:
        calls = source.count("inometa.plot_")
        if "for " in source:  # a loop over outcomes shows a figure for each
            assert images >= calls, source
        else:  # one figure per plot call, shown once
            assert images == calls, source


def test_every_package_is_listed_for_the_build() -> None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(p.parent.relative_to(ROOT / "src").parts)
        for p in (ROOT / "src").rglob("__init__.py")
    }
    assert set(config["packages"]) == found | {"inometa._data"}
