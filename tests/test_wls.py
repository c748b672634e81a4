"""The implicit residual projector against the explicit k × k matrix metafor forms.

P = W − WX(XᵀWX)⁻¹XᵀW is built densely here (as metafor's rma.uni does) only to check the
O(k) and O(kp²) quantities that inometa computes without it.
"""

from __future__ import annotations

import numpy as np
import pytest

from inometa._wls import DenseProjection, InterceptProjection, projection, sum_of_others

RNG = np.random.default_rng(20251122)


def _dense(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    WX = X * w[:, None]
    return np.diag(w) - WX @ np.linalg.solve(X.T @ WX, WX.T)


def _cases() -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    k = 9
    w = 1 / RNG.uniform(0.01, 0.5, size=k)
    dominant = w.copy()
    dominant[3] = 1e4 * w.sum()  # one study with nearly all the weight
    mods = np.column_stack([np.ones(k), RNG.normal(size=k), RNG.integers(0, 2, size=k)])
    return [
        ("intercept", w, None),
        ("intercept-dominant", dominant, None),
        ("two-studies", w[:2], None),
        ("moderators", w, mods),
    ]


@pytest.mark.parametrize(("name", "w", "X"), _cases(), ids=[c[0] for c in _cases()])
def test_quantities_equal_the_explicit_matrix(
    name: str, w: np.ndarray, X: np.ndarray | None
) -> None:
    k = w.size
    P = _dense(w, np.ones((k, 1)) if X is None else X)
    impl = projection(w, X)
    y = RNG.normal(size=k)
    a = RNG.uniform(0.1, 2, size=k)
    b = RNG.uniform(0.1, 2, size=k)
    # A study with 1e4 times the weight of all others makes metafor's own diagonal lose
    # about 4 digits (wᵢ − wᵢ²/Σw); the comparison allows for that in the dense reference.
    rel = 1e-9 if "dominant" in name else 1e-12
    np.testing.assert_allclose(impl.apply(y), P @ y, rtol=rel, atol=1e-12 * np.abs(P @ y).max())
    assert impl.quadratic(y) == pytest.approx(y @ P @ y, rel=rel)
    np.testing.assert_allclose(impl.diagonal(), np.diag(P), rtol=rel)
    assert impl.trace() == pytest.approx(np.trace(P), rel=rel)
    assert impl.sum_sq() == pytest.approx(np.sum(P * P), rel=rel)
    assert impl.sum_sq(a, b) == pytest.approx(np.sum(P * P * a[:, None] * b[None, :]), rel=rel)
    assert impl.sum_sq(None, b) == pytest.approx(np.sum(P * P * b[None, :]), rel=rel)
    Xd = np.ones((k, 1)) if X is None else X
    logdet = np.linalg.slogdet(Xd.T @ (Xd * w[:, None]))[1]
    assert impl.logdet_xtwx() == pytest.approx(logdet, rel=1e-12)


def test_intercept_class_matches_general_class() -> None:
    w = 1 / RNG.uniform(0.01, 0.5, size=12)
    y = RNG.normal(size=12)
    a = InterceptProjection(w)
    g = DenseProjection(w, np.ones((12, 1)))
    assert a.quadratic(y) == pytest.approx(g.quadratic(y), rel=1e-13)
    assert a.sum_sq(w, y**2) == pytest.approx(g.sum_sq(w, y**2), rel=1e-12)


def test_dominant_study_keeps_full_precision_without_moderators() -> None:
    # Pᵢᵢ = wᵢ Σⱼ≠ᵢ wⱼ / Σw: exact in rational arithmetic for these weights.
    w = np.array([1e12, 1.0, 3.0])
    d = InterceptProjection(w).diagonal()
    s = 1e12 + 4.0
    assert d[0] == pytest.approx(1e12 * 4.0 / s, rel=1e-15)
    assert d[1] == pytest.approx(1.0 * (1e12 + 3.0) / s, rel=1e-15)


def test_sum_of_others() -> None:
    u = np.array([3.0, 1e-3, 1e17, 2.0])
    assert sum_of_others(u).tolist() == pytest.approx([1e17, 1e17, 5.001, 1e17], rel=1e-15)
    assert sum_of_others(u, top=2).tolist() == sum_of_others(u).tolist()


def test_intercept_only_memory_is_linear_in_k() -> None:
    # 200,000 studies: a k × k matrix would need 320 GB; these quantities need a few MB.
    k = 200_000
    w = 1 / RNG.uniform(0.01, 0.5, size=k)
    y = RNG.normal(size=k)
    P = projection(w, None)
    assert P.trace() > 0 and P.sum_sq(w, w) > 0 and P.quadratic(y) > 0
