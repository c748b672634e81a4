"""Speed of metaprop_batch (pytest-benchmark): run with

    python -m pip install -e ".[dev]" && python -m pytest benchmarks/test_batch.py --benchmark-only

Not part of the test suite (timings are not assertions). Target from issue 8: 10,000
REML/logit analyses of k = 16 studies in at most 0.2 s (a metafor loop: about 90 s).
"""

from __future__ import annotations

import numpy as np
import pytest

import inometa

RNG = np.random.default_rng(20251202)
R, K = 10_000, 16
N = RNG.integers(20, 300, size=(R, K))
_P = RNG.uniform(0.05, 0.6, size=(R, 1))
_LOGIT = np.log(_P / (1 - _P)) + RNG.normal(0, 0.4, size=(R, K))
X = RNG.binomial(N, 1 / (1 + np.exp(-_LOGIT)))


def test_batch_10000_reml_logit_k16(benchmark) -> None:  # type: ignore[no-untyped-def]
    out = benchmark(inometa.metaprop_batch, X, N, as_frame=False)
    assert len(out) == R and out["tau2_converged"].all()


def test_batch_10000_reml_logit_k16_frame(benchmark) -> None:  # type: ignore[no-untyped-def]
    out = benchmark(inometa.metaprop_batch, X, N)
    assert len(out) == R


@pytest.mark.parametrize("method", ["DL", "PM"])
def test_batch_10000_logit_k16(benchmark, method: str) -> None:  # type: ignore[no-untyped-def]
    out = benchmark(inometa.metaprop_batch, X, N, tau2_method=method, as_frame=False)
    assert len(out) == R


def test_batch_glmm_100_k16(benchmark) -> None:  # type: ignore[no-untyped-def]
    out = benchmark.pedantic(
        inometa.metaprop_batch, args=(X[:100], N[:100]), kwargs={"method": "glmm"}, rounds=3
    )
    assert len(out) == 100
