"""Fuzzing metaprop and metaprop_batch over random valid inputs with every option, and the
batch's isolation of a failing analysis.

Valid input never raises, never gives a NaN estimate, and never an interval that misses its
estimate; every batch row equals metaprop on the same studies. Seeded (numpy's generator),
bounded in size so that it runs in seconds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import inometa
from inometa.analysis import batch as batch_module

from .batch_support import assert_matches_single

NAN = math.nan
TRANSFORMS = ["raw", "log", "logit", "arcsine", "ft"]
TAU2 = ["DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB"]


def _random_options(rng: np.random.Generator) -> dict[str, Any]:
    options: dict[str, Any] = {
        "transform": rng.choice(TRANSFORMS),
        "tau2_method": rng.choice(TAU2),
        "ci_method": rng.choice(["z", "t", "hk", "hk_adhoc"]),
        "pi_method": rng.choice(["z", "t", "hts"]),
        "i2_definition": rng.choice(["tau2", "q"]),
        "correction": rng.choice(["only0", "all", "if0all"]),
        "increment": float(rng.choice([0.5, 0.25, 1.0])),
        "level": float(rng.choice([0.8, 0.9, 0.95, 0.99, 95])),
    }
    if rng.random() < 0.15:
        options["tau2_fixed"] = float(rng.choice([0.0, 0.1, 1.0]))
    return {k: str(v) if isinstance(v, np.str_) else v for k, v in options.items()}


def _random_batch(rng: np.random.Generator, r: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = rng.integers(1, 300, size=(r, k)).astype(float)
    p = rng.beta(rng.uniform(0.2, 3), rng.uniform(0.2, 3), size=(r, 1))
    events = rng.binomial(n.astype(int), np.clip(p + rng.normal(0, 0.1, (r, k)), 0, 1))
    x = events.astype(float)
    edge = rng.random((r, k))
    x[edge < 0.08] = 0.0
    x[edge > 0.95] = n[edge > 0.95]
    absent = rng.random((r, k)) < 0.25
    absent[:, 0] = False  # at least one study per analysis
    x[absent] = NAN
    n[absent] = NAN
    return x, n


def _check_intervals(out: inometa.MetaPropBatchResult) -> None:
    est = np.asarray(out["estimate"])
    assert np.isfinite(est).all()
    for low, high in (("ci_low", "ci_high"), ("pi_low", "pi_high")):
        lo, hi = np.asarray(out[low]), np.asarray(out[high])
        defined = np.isfinite(lo) & np.isfinite(hi)
        assert (lo[defined] <= est[defined] + 1e-12).all(), low
        assert (est[defined] <= hi[defined] + 1e-12).all(), high


@pytest.mark.parametrize("seed", range(12))
def test_random_inverse_variance_analyses(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(3):
        x, n = _random_batch(rng, r=4, k=int(rng.integers(1, 12)))
        out = assert_matches_single(x, n, **_random_options(rng))
        _check_intervals(out)


@pytest.mark.parametrize("seed", range(4))
def test_random_glmm_analyses(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    x, n = _random_batch(rng, r=3, k=int(rng.integers(1, 9)))
    options: dict[str, Any] = {
        "method": "glmm",
        "nagq": ["exact", 1, 7, 21, 100][seed % 5],
        "ci_method": ["z", "t"][seed % 2],
        "pi_method": ["z", "t", "hts"][seed % 3],
        "level": [0.9, 0.95][seed % 2],
    }
    out = assert_matches_single(x, n, kind="glmm", **options)
    _check_intervals(out)


def test_a_failing_glmm_row_is_nan_with_a_note_and_the_others_stand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x = np.array([[5, 9, 12], [3, 4, 8], [10, 20, 30]], dtype=float)
    n = np.array([[20, 30, 40], [15, 25, 35], [50, 60, 70]], dtype=float)
    alone = inometa.metaprop_batch(x, n, method="glmm", as_frame=False)
    real = batch_module.fit_glmm

    def fit(events: Any, totals: Any, **kwargs: Any) -> Any:
        if list(events) == [3, 4, 8]:
            raise ValueError("f(a) and f(b) must have different signs")
        return real(events, totals, **kwargs)

    monkeypatch.setattr(batch_module, "fit_glmm", fit)
    out = inometa.metaprop_batch(x, n, method="glmm", as_frame=False)
    assert math.isnan(out["estimate"][1]) and math.isnan(out["tau2"][1])
    assert any("the GLMM fit failed" in note for note in out.notes[1])
    for row in (0, 2):
        assert out["estimate"][row] == alone["estimate"][row]
        assert out["tau2"][row] == alone["tau2"][row]
