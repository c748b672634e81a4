"""Notebooks are committed without outputs, their code runs, and the numbers they show are right.

Each code cell is run in-process from the notebook's own folder, as Jupyter runs it: its
printed output is captured, and so is the value of its last expression (what the notebook
displays). The quickstart's numbers are compared with metafor
(tests/reference/metafor_notebook_reference.json, written by the committed
metafor_notebook_reference.R); the living-update notebook's counts with the data it adds.

That each notebook also runs in a Jupyter kernel from its folder, without an error and showing
one figure per plot call, is checked once, where it matters most: by tests/test_install.py, on
a wheel installed in a fresh environment (executing them here too would only repeat it).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from .conftest import TOL, metafor_rtol

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
REF = json.loads(
    (Path(__file__).parent / "reference" / "metafor_notebook_reference.json").read_text()
)
# A number shown rounded to 4 decimals is within half a unit of the 4th decimal of the truth.
HALF_UNIT_4DP = 0.5e-4


@dataclass(frozen=True)
class Cell:
    source: str
    printed: str  # what the cell printed
    shown: Any  # the value of its last expression (None if it ends in a statement)


@dataclass(frozen=True)
class Run:
    cells: tuple[Cell, ...]
    namespace: dict[str, Any]

    def cell(self, part: str) -> Cell:
        """The one code cell whose source contains ``part``."""
        (found,) = [c for c in self.cells if part in c.source]
        return found


@functools.cache
def run_notebook(path: Path) -> Run:
    """Run every code cell in one namespace, from the notebook's folder, as Jupyter would."""
    import matplotlib

    matplotlib.use("Agg")
    namespace: dict[str, Any] = {}
    cells = []
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(path.parent)  # Jupyter runs a notebook from its own folder
        mp.delenv("INOMETA_DATA", raising=False)
        mp.setenv("MPLBACKEND", os.environ.get("MPLBACKEND", "Agg"))
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            tree = ast.parse(source)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(tree, path.name, "exec"), namespace)
                shown = None
                if last is not None:
                    expr = ast.Expression(last.value)
                    shown = eval(compile(expr, path.name, "eval"), namespace)
            cells.append(Cell(source, out.getvalue(), shown))
    return Run(tuple(cells), namespace)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path) -> None:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_valid_with_cell_ids(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)  # nbformat ≥ 4.5 requires an id on every cell
    ids = [cell.get("id") for cell in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_run(path: Path) -> None:
    code_cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    assert len(run_notebook(path).cells) == len(code_cells)


QUICKSTART = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"


def test_quickstart_pools_the_counts_of_the_reference() -> None:
    vod = run_notebook(QUICKSTART).cell("vod = inometa.data.analysis_set(").shown
    ref = REF["vod"]
    assert vod["label"].tolist() == ref["label"]
    assert (vod["events"].tolist(), vod["total"].tolist()) == (ref["events"], ref["n"])


def test_quickstart_random_effects_result_is_metafors() -> None:
    res = run_notebook(QUICKSTART).cell("res = inometa.metaprop(").shown
    ref = REF["reml_hk"]
    rtol = metafor_rtol(ref["tau2"])
    np.testing.assert_allclose(
        [res.estimate, *res.random.proportion_ci, res.prediction.proportion_low],
        [ref["pred"], ref["ci_lb"], ref["ci_ub"], ref["pi_lb"]],
        rtol=rtol,
    )
    np.testing.assert_allclose(
        [res.prediction.proportion_high, res.tau2, 100 * res.i2],
        [ref["pi_ub"], ref["tau2"], ref["I2"]],
        rtol=rtol,
    )


def test_quickstart_estimates_shown_to_four_decimals() -> None:
    shown = run_notebook(QUICKSTART).cell("meta_like = inometa.metaprop(").shown
    assert set(shown) == {"REML + HK", "GLMM", "R meta"}
    # the "meta" profile pools VOD with the binomial–normal GLMM, as R meta does for logits
    expected = {
        "REML + HK": REF["reml_hk"]["pred"],
        "GLMM": REF["glmm"]["pred"],
        "R meta": REF["glmm"]["pred"],
    }
    for name, value in expected.items():
        # lme4's 21-node quadrature agrees with the exact likelihood to TOL["glmm"]
        assert abs(shown[name] - value) <= HALF_UNIT_4DP + TOL["glmm"] * value, name


def test_quickstart_leave_one_out_table_is_metafors() -> None:
    table: pd.DataFrame = run_notebook(QUICKSTART).cell("inometa.leave_one_out(res)").shown
    ref = REF["leave1out"]
    assert table["omitted"].tolist() == REF["vod"]["label"]
    for i, row in enumerate(table.itertuples()):
        tau2 = ref["tau2"][i]
        rtol = metafor_rtol(tau2)
        # one refit reaches τ² = 0, where metafor's step halving stops within 1e-10 of it
        atol = 1e-10 if tau2 < 1e-10 else 0.0
        ours = [row.estimate, row.ci_low, row.ci_high, row.tau2, 100 * row.i2]
        refs = [ref[key][i] for key in ("estimate", "ci_lb", "ci_ub", "tau2", "I2")]
        np.testing.assert_allclose(ours, refs, rtol=rtol, atol=atol, err_msg=row.omitted)


def test_quickstart_audit_and_methods_text_name_the_analysis() -> None:
    run = run_notebook(QUICKSTART)
    audit = run.cell("inometa.audit(").shown
    assert set(audit["label"]) == {"VOD (Lao et al. 2025)"} and len(audit) > 0
    printed = run.cell("print(glmm.methods_text())").printed
    assert "rma.glmm(" in printed and "binomial" in printed.lower()


NEW_TRIALS = Path(__file__).resolve().parents[1] / "notebooks" / "02_new_trials.ipynb"


def test_new_trials_notebook_adds_the_rows_it_says() -> None:
    run = run_notebook(NEW_TRIALS)
    new_rows = run.namespace["new_rows"]
    ids = run.namespace["new_ids"]
    assert set(new_rows["study_id"]) == set(ids)
    # the lines printed after adding: one per new study and per (study, outcome) row
    printed = run.cell("for name in (").printed
    counts = dict(
        line.removesuffix(" lines").split(": +")
        for line in printed.splitlines()
        if line.endswith(" lines") and ": +" in line
    )
    assert int(counts["studies.csv"]) == len(ids)
    assert int(counts["outcomes.csv"]) == len(new_rows)
    assert f"{len(ids)} studies added" in printed and f"{len(new_rows)} rows added" in printed


def test_new_trials_notebook_diff_counts_the_added_studies() -> None:
    run = run_notebook(NEW_TRIALS)
    summary: pd.DataFrame = run.cell("d = inometa.diff_runs(").shown
    new_rows = run.namespace["new_rows"]
    replaced = (new_rows["replaces"] != "").groupby(new_rows["outcome"]).sum()
    added = new_rows.groupby("outcome").size()
    for row in summary.itertuples():
        # each new report adds a study, unless it replaces the report it is the paper of
        expected = added.get(row.outcome, 0) - replaced.get(row.outcome, 0)
        assert row.k_after - row.k_before == expected, row.outcome
    # the cumulative table's last step pools every report: the full analysis
    table = run.cell("figures = {}").shown
    res = run.namespace["res"]
    assert table["estimate"].iloc[-1] == pytest.approx(res.estimate, rel=TOL["metafor"])
