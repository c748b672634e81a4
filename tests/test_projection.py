"""The residual projector of many analyses against the explicit k × k matrix metafor forms.

P = W − WX(XᵀWX)⁻¹XᵀW is built densely here, one analysis at a time (as metafor's rma.uni
does), to check the quantities that inometa computes for R analyses at once, without it for
the intercept-only model.
"""

from __future__ import annotations

import numpy as np
import pytest

from inometa.core.projection import DenseProjection, InterceptProjection, projection, sum_of_others

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
@pytest.mark.parametrize("shared", [True, False], ids=["shared-X", "per-row-X"])
def test_quantities_equal_the_explicit_matrix(
    name: str, w: np.ndarray, X: np.ndarray | None, shared: bool
) -> None:
    # Three analyses in one batch: the weights, those weights rescaled, and the weights with
    # the last study masked out (weight 0), each checked against its own dense matrix.
    k = w.size
    masked = w.copy()
    masked[-1] = 0.0
    W = np.stack([w, 3.7 * w, masked])
    Xd = np.ones((k, 1)) if X is None else X
    Xb = None if X is None else (X if shared else np.stack([X] * 3))
    impl = projection(W, Xb)
    Y = RNG.normal(size=(3, k))
    A = RNG.uniform(0.1, 2, size=(3, k))
    B = RNG.uniform(0.1, 2, size=(3, k))
    # A study with 1e4 times the weight of all others makes metafor's own diagonal lose
    # about 4 digits (wᵢ − wᵢ²/Σw); the comparison allows for that in the dense reference.
    rel = 1e-9 if "dominant" in name else 1e-12
    for i in range(3):
        present = W[i] > 0
        P = np.zeros((k, k))
        P[np.ix_(present, present)] = _dense(W[i][present], Xd[present])
        y, a, b = Y[i], A[i], B[i]
        Py = P @ y
        scale = np.abs(W[i]).max() * np.abs(y).max()
        np.testing.assert_allclose(impl.apply(Y)[i], Py, rtol=rel, atol=1e-12 * scale)
        assert impl.quadratic(Y)[i] == pytest.approx(y @ P @ y, rel=rel)
        np.testing.assert_allclose(impl.diagonal()[i], np.diag(P), rtol=rel)
        assert impl.trace()[i] == pytest.approx(np.trace(P), rel=rel)
        assert impl.sum_sq()[i] == pytest.approx(np.sum(P * P), rel=rel)
        expected = np.sum(P * P * a[:, None] * b[None, :])
        assert impl.sum_sq(A, B)[i] == pytest.approx(expected, rel=rel)
        assert impl.sum_sq(None, B)[i] == pytest.approx(np.sum(P * P * b[None, :]), rel=rel)
        Xp = Xd[present]
        logdet = np.linalg.slogdet(Xp.T @ (Xp * W[i][present][:, None]))[1]
        assert impl.logdet_xtwx()[i] == pytest.approx(logdet, rel=1e-12)


def test_intercept_class_matches_general_class() -> None:
    w = 1 / RNG.uniform(0.01, 0.5, size=(2, 12))
    y = RNG.normal(size=(2, 12))
    a = InterceptProjection(w)
    g = DenseProjection(w, np.ones((12, 1)))
    np.testing.assert_allclose(a.quadratic(y), g.quadratic(y), rtol=1e-13)
    np.testing.assert_allclose(a.sum_sq(w, y**2), g.sum_sq(w, y**2), rtol=1e-12)


def test_dominant_study_keeps_full_precision_without_moderators() -> None:
    # Pᵢᵢ = wᵢ Σⱼ≠ᵢ wⱼ / Σw: exact in rational arithmetic for these weights.
    w = np.array([[1e12, 1.0, 3.0]])
    d = InterceptProjection(w).diagonal()[0]
    s = 1e12 + 4.0
    assert d[0] == pytest.approx(1e12 * 4.0 / s, rel=1e-15)
    assert d[1] == pytest.approx(1.0 * (1e12 + 3.0) / s, rel=1e-15)


def test_sum_of_others() -> None:
    u = np.array([[3.0, 1e-3, 1e17, 2.0], [1.0, 2.0, 3.0, 4.0]])
    out = sum_of_others(u)
    assert out[0].tolist() == pytest.approx([1e17, 1e17, 5.001, 1e17], rel=1e-15)
    assert out[1].tolist() == [9.0, 8.0, 7.0, 6.0]


def test_intercept_only_memory_is_linear_in_k() -> None:
    # 200,000 studies: a k × k matrix would need 320 GB; these quantities need a few MB.
    k = 200_000
    w = 1 / RNG.uniform(0.01, 0.5, size=(1, k))
    y = RNG.normal(size=(1, k))
    P = projection(w, None)
    assert P.trace()[0] > 0 and P.sum_sq(w, w)[0] > 0 and P.quadratic(y)[0] > 0
