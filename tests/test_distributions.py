"""The scipy.special shortcuts return exactly what scipy.stats returns."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from inometa import _distributions as d

PROBS = [1e-12, 1e-6, 0.005, 0.025, 0.05, 0.1, 0.3, 0.5, 0.9, 0.975]
DFS = [1, 2, 3, 7, 15, 99, 1000]
XS = [0.0, 1e-8, 0.3, 1.96, 5.0, 40.0]


@pytest.mark.parametrize("q", PROBS)
def test_normal(q: float) -> None:
    assert d.norm_isf(q) == stats.norm.isf(q)
    for x in XS:
        assert d.norm_sf(x) == stats.norm.sf(x)


@pytest.mark.parametrize("df", DFS)
def test_t_and_chi2(df: int) -> None:
    for q in PROBS:
        assert d.t_isf(q, df) == stats.t.isf(q, df)
        assert d.chi2_isf(q, df) == stats.chi2.isf(q, df)
        assert d.chi2_ppf(q, df) == stats.chi2.ppf(q, df)
    for x in XS:
        assert d.t_sf(x, df) == stats.t.sf(x, df)
        assert d.chi2_sf(x, df) == stats.chi2.sf(x, df)


def test_beta() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(1, 500, size=200).astype(float)
    b = rng.integers(1, 500, size=200).astype(float)
    for q in (0.005, 0.025, 0.05):
        np.testing.assert_array_equal(d.beta_ppf(q, a, b), stats.beta.ppf(q, a, b))
        np.testing.assert_array_equal(d.beta_isf(q, a, b), stats.beta.isf(q, a, b))
