"""τ² estimators and Q-profile intervals over R analyses × K studies: masking a study
equals deleting it, study order does not matter, and a per-analysis design matrix equals
one analysis at a time."""

from __future__ import annotations

import numpy as np
import pytest

from inometa.core.heterogeneity import (
    q_profile_batch,
    q_profile_tau2_ci,
    typical_variance,
    typical_variance_batch,
)
from inometa.core.tau2 import (
    TAU2_ESTIMATORS,
    estimate_tau2,
    estimate_tau2_batch,
    generalized_q,
    generalized_q_batch,
)

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
def test_masking_a_study_equals_deleting_it(method: str) -> None:
    Y, V, M = _ragged(7)
    fit = estimate_tau2_batch(Y, V, M, method)
    for i in range(Y.shape[0]):
        keep = M[i] > 0
        one = estimate_tau2(Y[i, keep], V[i, keep], method)
        assert fit.tau2[i] == pytest.approx(one.tau2, rel=RTOL, abs=1e-15)
        assert fit.se[i] == pytest.approx(one.se, rel=RTOL, nan_ok=True)
        assert fit.note[i] == one.note
        assert fit.converged[i] == one.converged
        assert fit.iterations[i] == one.iterations


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


def test_q_profile_masking_equals_deleting() -> None:
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
    q = generalized_q_batch(Y, V, M, 0.3)
    vt = typical_variance_batch(V, M)
    for i in range(Y.shape[0]):
        keep = M[i] > 0
        assert q[i] == pytest.approx(
            generalized_q(0.3, Y[i, keep], V[i, keep]), rel=1e-12, abs=1e-14
        )
        assert vt[i] == pytest.approx(typical_variance(V[i, keep]), rel=1e-12)


@pytest.mark.parametrize("method", list(TAU2_ESTIMATORS))
def test_study_order_does_not_matter(method: str) -> None:
    Y, V, M = _ragged(13)
    order = np.random.default_rng(2).permutation(Y.shape[1])
    a = estimate_tau2_batch(Y, V, M, method)
    b = estimate_tau2_batch(Y[:, order], V[:, order], M[:, order], method)
    np.testing.assert_allclose(b.tau2, a.tau2, rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(b.se, a.se, rtol=RTOL)
    assert b.note.tolist() == a.note.tolist()


@pytest.mark.parametrize("method", list(TAU2_ESTIMATORS))
def test_per_analysis_design_equals_one_analysis_at_a_time(method: str) -> None:
    # R analyses of the same studies, each with its own moderator column (a permutation
    # test's batch), and a shared design: each row is the fit of that design alone.
    rng = np.random.default_rng(17)
    k, r = 10, 6
    V = rng.uniform(0.02, 0.6, size=k)
    x = rng.normal(size=k)
    y = 0.4 * x + rng.normal(0, 1, k) * np.sqrt(V + 0.2)
    X = np.stack([np.column_stack([np.ones(k), x[rng.permutation(k)]]) for _ in range(r)])
    Y, VV, M = np.tile(y, (r, 1)), np.tile(V, (r, 1)), np.ones((r, k))
    fit = estimate_tau2_batch(Y, VV, M, method, X)
    shared = estimate_tau2_batch(Y, VV, M, method, X[0])
    q = generalized_q_batch(Y, VV, M, 0.1, X)
    for i in range(r):
        one = estimate_tau2(y, V, method, X[i])
        assert fit.tau2[i] == pytest.approx(one.tau2, rel=RTOL, abs=1e-15)
        assert fit.se[i] == pytest.approx(one.se, rel=RTOL)
        assert fit.note[i] == one.note
        assert q[i] == pytest.approx(generalized_q(0.1, y, V, X[i]), rel=1e-12)
        assert shared.tau2[i] == pytest.approx(fit.tau2[0], rel=RTOL, abs=1e-15)
