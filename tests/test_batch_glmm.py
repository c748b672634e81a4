"""The batch GLMM fit against inometa.glmm.fit_glmm, analysis by analysis."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inometa.batch_glmm import fit_glmm_batch
from inometa.glmm import fit_glmm
from tests.batch_support import TOL

NAN = math.nan


def _compare(x: np.ndarray, n: np.ndarray, **kw: object) -> None:
    rtol, atol = TOL["glmm"]
    present = np.isfinite(x)
    fit = fit_glmm_batch(np.nan_to_num(x), np.nan_to_num(n), present, **kw)  # type: ignore[arg-type]
    for i in range(x.shape[0]):
        keep = present[i]
        one = fit_glmm(x[i, keep], n[i, keep], **kw)  # type: ignore[arg-type]
        pairs = {
            "mu": (fit.mu[i], one.mu),
            "se": (fit.se[i], one.se),
            "mu_common": (fit.mu_common[i], one.mu_common),
            "se_common": (fit.se_common[i], one.se_common),
            "tau2": (fit.tau2[i], one.tau2),
            "tau2_ci_low": (fit.tau2_ci_low[i], one.tau2_ci[0]),
            "tau2_ci_high": (fit.tau2_ci_high[i], one.tau2_ci[1]),
            "loglik": (fit.loglik[i], one.loglik),
            "loglik_common": (fit.loglik_common[i], one.loglik_common),
            "loglik_saturated": (fit.loglik_saturated[i], one.loglik_saturated),
        }
        for name, (got, want) in pairs.items():
            assert got == pytest.approx(want, rel=rtol, abs=atol, nan_ok=True), (i, name)
        assert fit.converged[i] == one.converged
        assert fit.boundary[i] == one.boundary
        assert fit.notes[i] == one.notes


def test_ragged_analyses_with_boundaries() -> None:
    x = np.array(
        [
            [2, 8, 15, 4, NAN],
            [10, 12, 9, 11, 10],  # τ² = 0
            [0, 3, 0, 8, NAN],  # zero cells
            [0, 0, NAN, NAN, NAN],  # every study at 0 events
            [12, 20, NAN, NAN, NAN],  # every study at n events
            [NAN, 7, NAN, NAN, NAN],  # k = 1
        ]
    )
    n = np.array(
        [
            [20, 25, 30, 22, NAN],
            [50, 52, 48, 51, 49],
            [20, 25, 30, 35, NAN],
            [10, 12, NAN, NAN, NAN],
            [12, 20, NAN, NAN, NAN],
            [NAN, 30, NAN, NAN, NAN],
        ]
    )
    _compare(x, n, nagq=7)


def test_fixed_tau2() -> None:
    x = np.array([[2, 8, 15, 4], [10, 12, 9, 11], [0, 0, 3, NAN]])
    n = np.array([[20, 25, 30, 22], [50, 52, 48, 51], [10, 12, 14, NAN]])
    _compare(x, n, nagq=7, tau2_fixed=0.4)
    _compare(x, n, nagq=7, tau2_fixed=0.0)


def test_extreme_likelihoods() -> None:
    # One study at 0% and one at 100%: with 3 nodes the likelihood keeps rising in τ
    # (stopped at τ = 15, not converged); with 1 node (Laplace) τ̂ is finite but extreme,
    # the information in (β, τ) is not positive definite, nor is it for β alone (the SE is
    # NaN, with a note in both paths), and the τ² interval is unbounded.
    x, n = np.array([[0.0, 5.0]]), np.array([[5.0, 5.0]])
    _compare(x, n, nagq=3)
    _compare(x, n, nagq=1)
    fit = fit_glmm_batch(x, n, np.ones((1, 2), dtype=bool), nagq=1)
    assert fit.tau2_ci_high[0] == math.inf and len(fit.notes[0]) == 4
    assert math.isnan(fit.se[0])


def test_one_node_with_a_far_upper_bound() -> None:
    # With one node and τ near 12 the fixed-node curvature overstates the information for
    # β about 280-fold; Newton steps on it stopped far from β̂(τ) after their 200
    # iterations, and the batch put the upper bound of τ² at 157 where metaprop, walking
    # along β̂(τ), finds 213.7 (ℓₚ is still 0.24 above the cut at 157).
    x = np.array(
        [
            [58.0, 19, 6, 46, 20, NAN, NAN, NAN],
            [5, 0, 12, 4, 0, 0, 7, 19],
            [6, 23, 0, 6, 0, NAN, NAN, NAN],
        ]
    )
    n = np.array(
        [
            [58.0, 39, 11, 46, 56, NAN, NAN, NAN],
            [9, 58, 26, 4, 43, 59, 11, 33],
            [13, 37, 10, 17, 53, NAN, NAN, NAN],
        ]
    )
    _compare(x, n, nagq=1)
