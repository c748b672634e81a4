"""Shared test settings: named tolerances and the R availability switch."""

from __future__ import annotations

import os
import shutil

import pytest

# Named tolerances (relative), one per kind of quantity; reasons in comments.
TOL = {
    # Closed-form and tightly converged (≤ 1e-12) quantities: differences are floating-point only.
    "metafor": 1e-6,
    # GLMM: lme4's optimiser stops near 1e-6 relative on the deviance scale; its SE comes from a
    # finite-difference Hessian. 1e-4 relative as the engine issue specifies.
    "glmm": 1e-4,
}


def metafor_rtol(tau2: float) -> float:
    """The relative tolerance for a comparison with metafor whose τ² is ``tau2`` (one for
    all τ² for now; the tolerances are set from the observed agreement in a later step)."""
    return TOL["metafor"]


def r_available() -> bool:
    return shutil.which("Rscript") is not None


def require_r() -> None:
    """Skip without R, unless CI demands R (INOMETA_REQUIRE_R=1), in which case fail."""
    if r_available():
        return
    if os.environ.get("INOMETA_REQUIRE_R") == "1":
        pytest.fail("Rscript is required (INOMETA_REQUIRE_R=1) but not installed")
    pytest.skip("Rscript not installed")
