"""The committed R scripts still write exactly the committed reference values.

This guards against the JSON drifting from its generator (hand edits, a stale file). The
metafor scripts need R with metafor and lme4: skipped without R locally, required in CI. The
R meta script also needs the meta package, which Debian does not package and CI cannot
fetch: it is skipped without it even under INOMETA_REQUIRE_R (INOMETA_REQUIRE_R_META=1
makes it required, on a machine where meta is installed).
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import require_r, require_r_meta

REF_DIR = Path(__file__).parent / "reference"
ROOT = REF_DIR.parents[1]

# Identical on one machine; across CPUs and BLAS builds the last bits of lme4's optimum may
# move, so numbers are compared to 1e-10 relative rather than byte for byte.
RTOL = 1e-10


def _compare(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(b, dict):
        if not isinstance(a, dict) or set(a) != set(b):
            out.append(f"{path}: keys differ")
            return
        for key in b:
            _compare(a[key], b[key], f"{path}.{key}", out)
    elif isinstance(b, list):
        if not isinstance(a, list) or len(a) != len(b):
            out.append(f"{path}: lengths differ")
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare(x, y, f"{path}[{i}]", out)
    elif isinstance(b, float) and isinstance(a, (int, float)):
        if not math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-300):
            out.append(f"{path}: regenerated {a!r} vs committed {b!r}")
    elif a != b:
        out.append(f"{path}: regenerated {a!r} vs committed {b!r}")


@pytest.mark.r
@pytest.mark.parametrize(
    "name",
    [
        "metafor_reference",
        "metafor_analysis_reference",
        "metafor_reml_boundary_reference",
        "metafor_level_reference",
        "metafor_notebook_reference",
        "metafor_denominator_reference",
    ],
)
def test_r_script_reproduces_committed_reference(name: str, tmp_path: Path) -> None:
    require_r()
    _rerun_and_compare(name, tmp_path)


@pytest.mark.r
def test_r_meta_script_reproduces_committed_reference(tmp_path: Path) -> None:
    require_r_meta()
    _rerun_and_compare("meta_reference", tmp_path)


def _rerun_and_compare(name: str, tmp_path: Path) -> None:
    out_file = tmp_path / f"{name}.json"
    proc = subprocess.run(
        ["Rscript", str(REF_DIR / f"{name}.R"), str(out_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    regenerated = json.loads(out_file.read_text())
    committed = json.loads((REF_DIR / f"{name}.json").read_text())
    problems: list[str] = []
    _compare(regenerated, committed, "$", problems)
    assert not problems, "\n".join(problems[:20])
