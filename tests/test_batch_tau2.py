"""Vectorised τ² estimators and Q-profile intervals against the single-analysis functions."""

from __future__ import annotations

import numpy as np
import pytest

from inometa.core.batch_heterogeneity import q_profile_batch
from inometa.core.batch_tau2 import (
    estimate_tau2_batch,
    find_root,
    generalized_q_batch,
    typical_variance_batch,
)
from inometa.core.heterogeneity import q_profile_tau2_ci, typical_variance
from inometa.core.tau2 import TAU2_ESTIMATORS, estimate_tau2, generalized_q

# Relative tolerance: the same formulas summed in another order (and roots located within
# the single path's own xtol, 1e-12 · mean vᵢ).
RTOL = 1e-10


def _ragged(seed: int, r: int = 30, k: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logit-scale data of r analyses with 1…k studies, τ² from 0 to large."""
    rng = np.random.default_rng(seed)
    tau = rng.choice([0.0, 0.1, 0.5, 1.5], size=(r, 1))
    V = rng.uniform(0.02, 0.6, size=(r, k))
    Y = rng.normal(-1, 1, size=(r, 1)) + rng.normal(0, 1, (r, k)) * np.sqrt(V + tau**2)
    M = np.ones((r, k))
    for i, ki in enumerate(rng.integers(1, k + 1, size=r)):
        M[i, rng.permutation(k)[ki:]] = 0
    M[0] = np.arange(k) < 1  # k = 1
    M[1] = np.arange(k) < 2  # k = 2
    Y[2] = 0.25  # all values equal (a binary fraction: numpy's variance is exactly 0)
    return np.where(M > 0, Y, 0.0), np.where(M > 0, V, 1.0), M


@pytest.mark.parametrize("method", list(TAU2_ESTIMATORS))
def test_each_estimator_equals_the_single_path(method: str) -> None:
    Y, V, M = _ragged(7)
    fit = estimate_tau2_batch(Y, V, M, method)
    for i in range(Y.shape[0]):
        keep = M[i] > 0
        one = estimate_tau2(Y[i, keep], V[i, keep], method)
        assert fit.tau2[i] == pytest.approx(one.tau2, rel=RTOL, abs=1e-15)
        assert fit.se[i] == pytest.approx(one.se, rel=RTOL, nan_ok=True)
        assert fit.note[i] == one.note
        assert fit.converged[i] == one.converged
        # PM: the same Newton iteration, but a last step of a few ulp can pass the root in
        # one summation order and not in the other, costing one more iteration.
        slack = 1 if method == "PM" else 0
        assert abs(fit.iterations[i] - one.iterations) <= slack


@pytest.mark.parametrize("method", ["REML", "ML", "EB", "PM"])
def test_iteration_limit_is_flagged_not_dropped(method: str) -> None:
    Y, V, M = _ragged(3)
    fit = estimate_tau2_batch(Y, V, M, method, maxiter=3)
    assert np.isfinite(fit.tau2).all()
    stopped = np.flatnonzero(~fit.converged)
    assert stopped.size > 0
    for i in stopped:
        keep = M[i] > 0
        one = estimate_tau2(Y[i, keep], V[i, keep], method, maxiter=3)
        assert not one.converged
        # The same last iterate, with the same note
        assert fit.tau2[i] == pytest.approx(one.tau2, rel=RTOL)
        assert fit.note[i] == one.note


def test_q_profile_equals_the_single_path() -> None:
    Y, V, M = _ragged(11, r=40)
    for level in (0.95, 0.8):
        ci = q_profile_batch(Y, V, M, level)
        for i in range(Y.shape[0]):
            keep = M[i] > 0
            one = q_profile_tau2_ci(Y[i, keep], V[i, keep], level)
            # The roots are found to xtol = 1e-12 · mean vᵢ by both paths.
            atol = 2e-12 * float(np.mean(V[i, keep]))
            assert ci.low[i] == pytest.approx(one.low, rel=RTOL, abs=atol, nan_ok=True)
            assert ci.high[i] == pytest.approx(one.high, rel=RTOL, abs=atol, nan_ok=True)
            assert ci.notes[i] == one.notes or (keep.sum() == 1 and np.isnan(ci.low[i]))


def test_q_and_typical_variance() -> None:
    Y, V, M = _ragged(5)
    k = M.sum(axis=1)
    q = generalized_q_batch(Y, V, M, 0.3)
    vt = typical_variance_batch(V, M, k)
    for i in range(Y.shape[0]):
        keep = M[i] > 0
        assert q[i] == pytest.approx(
            generalized_q(0.3, Y[i, keep], V[i, keep]), rel=1e-12, abs=1e-14
        )
        assert vt[i] == pytest.approx(typical_variance(V[i, keep]), rel=1e-12)


def test_find_root_on_many_functions() -> None:
    c = np.array([0.5, 2.0, 1e4, 3.0])
    root, ok, nfev = find_root(
        lambda x, rows: np.log(x) - np.log(c[rows]), 0.1 * c, 10 * c, xatol=0
    )
    assert ok.all()
    np.testing.assert_allclose(root, c, rtol=1e-14)
    assert (nfev < 30).all()
    # A root at a bracket end is returned as is.
    root, ok, _ = find_root(lambda x, rows: x - 1.0, np.array([1.0]), np.array([2.0]), xatol=1e-12)
    assert root.tolist() == [1.0] and ok.all()
    with pytest.raises(ValueError, match="not bracketed"):
        find_root(lambda x, rows: x + 1.0, np.array([0.0]), np.array([1.0]), xatol=1e-12)
    # A discontinuity is located to the tolerance (the sign change), never beyond maxiter.
    root, ok, _ = find_root(
        lambda x, rows: np.where(x < 0.3, 1.0, -1.0), np.zeros(1), np.ones(1), xatol=1e-10
    )
    assert ok.all() and abs(root[0] - 0.3) < 1e-9
