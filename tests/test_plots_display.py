"""Figures display where users look at them, and figures made in a loop do not pile up.

Under a backend that only writes files (Agg) a figure stays outside pyplot and is freed with
its last reference; under one that displays (a notebook's inline backend, a GUI window) it is
made through pyplot, so a notebook cell shows it and ``plt.show()`` shows it in a script.
Each figure shows exactly once in a notebook, whether it ends the cell, is assigned, is shown
with ``plt.show()`` or is shown again in a later cell.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path

import pytest

import inometa

RES = inometa.metaprop([5, 20, 30, 12], [50, 60, 70, 40], labels=["A", "B", "C", "D"])


def test_figures_made_under_agg_stay_outside_pyplot_and_are_freed() -> None:
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    plt.close("all")
    refs = []
    for _ in range(25):  # more than pyplot's 20-figure warning
        fig = inometa.plot_forest(RES)
        refs.append(weakref.ref(fig))
    del fig
    gc.collect()
    assert plt.get_fignums() == []
    assert sum(r() is not None for r in refs) == 0


def _python(code: str, backend: str, cwd: Path) -> str:
    env = {"MPLBACKEND": backend, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_under_a_displaying_backend_figures_are_pyplots_and_show_closes_them(
    tmp_path: Path,
) -> None:
    # The inline backend stands for any backend that displays (a GUI one needs a screen).
    out = _python(
        """
        import matplotlib.pyplot as plt
        import inometa
        res = inometa.metaprop([5, 20, 30], [50, 60, 70])
        fig = inometa.plot_forest(res)
        print(plt.get_fignums() == [fig.number], isinstance(fig, plt.Figure))
        plt.show()
        print(plt.get_fignums())
        """,
        "module://matplotlib_inline.backend_inline",
        tmp_path,
    )
    assert out.splitlines()[0] == "True True"
    assert out.splitlines()[-1] == "[]"


CELLS = {
    "assigned": "fig = inometa.plot_forest(res)",
    "last expression": "inometa.plot_funnel(res)",
    "shown again": "fig",
    "plt.show()": "f2 = inometa.plot_baujat(res)\nplt.show()",
    "several": "for t in ('DL', 'REML'):\n"
    "    inometa.plot_drapery(inometa.metaprop(e, n, tau2_method=t))",
    "open figures": "print(plt.get_fignums())",
}


def test_each_figure_shows_once_in_a_notebook(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    setup = (
        "import matplotlib.pyplot as plt\nimport inometa\ne, n = [5, 20, 30], [50, 60, 70]\n"
        "res = inometa.metaprop(e, n)"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in [setup, *CELLS.values()]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env={"PATH": "/usr/bin:/bin"})  # no MPLBACKEND: the kernel's inline backend
    images = {
        name: sum("image/png" in o.get("data", {}) for o in cell.outputs)
        for name, cell in zip(CELLS, nb.cells[1:], strict=True)
    }
    assert images == {
        "assigned": 1,
        "last expression": 1,
        "shown again": 1,
        "plt.show()": 1,
        "several": 2,
        "open figures": 0,
    }
    assert nb.cells[-1].outputs[0]["text"] == "[]\n"  # nothing left open in pyplot
