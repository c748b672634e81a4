"""Speed benchmarks (pytest-benchmark): run with

    python -m pip install -e ".[dev]" && python -m pytest benchmarks --benchmark-only

Not part of the test suite (timings are not assertions). Targets from the issues: GOSH with
5,000 subsets of 16 studies in well under 1 s (metafor: about 41 s on a 2-core machine).
"""

from __future__ import annotations

import numpy as np
import pytest

import inometa

RNG = np.random.default_rng(20251202)
N16 = RNG.integers(20, 300, size=16)
X16 = RNG.binomial(N16, RNG.uniform(0.05, 0.6, size=16))


@pytest.fixture(scope="module")
def res16() -> inometa.MetaPropResult:
    return inometa.metaprop(X16, N16, tau2_method="REML")


@pytest.mark.parametrize("method", ["DL", "REML", "PM"])
def test_gosh_5000_subsets(benchmark, method: str) -> None:  # type: ignore[no-untyped-def]
    res = inometa.metaprop(X16, N16, tau2_method=method)
    out = benchmark(inometa.gosh, res, 5000, seed=1)
    assert len(out) == 5000


def test_gosh_all_65535_subsets_dl(benchmark) -> None:  # type: ignore[no-untyped-def]
    res = inometa.metaprop(X16, N16, tau2_method="DL")
    out = benchmark.pedantic(inometa.gosh, args=(res,), rounds=3)
    assert len(out) == 2**16 - 1


def test_metaprop_reml(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark(inometa.metaprop, X16, N16)


def test_metaprop_glmm(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark(inometa.metaprop, X16, N16, method="glmm")


def test_leave_one_out_reml(benchmark, res16) -> None:  # type: ignore[no-untyped-def]
    benchmark(inometa.leave_one_out, res16)
