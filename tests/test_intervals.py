"""Pooled CIs and prediction intervals."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from inometa.core.intervals import (
    critical_value,
    hartung_knapp_s2,
    pooled_interval,
    prediction_interval,
)


def test_critical_values() -> None:
    assert critical_value(0.95, None) == pytest.approx(stats.norm.isf(0.025), rel=1e-15)
    assert critical_value(0.9, 7) == pytest.approx(stats.t.isf(0.05, 7), rel=1e-15)
    assert math.isnan(critical_value(0.95, 0))


def test_hartung_knapp_scale() -> None:
    # Σw(y − μ)²/(k − 1) with w = 1/(0.01 + 0) = 100: 100·(0.01 + 0.01)/1 = 2.
    assert hartung_knapp_s2([0.1, 0.3], [0.01, 0.01], 0.0, 0.2) == pytest.approx(2.0)
    assert hartung_knapp_s2([0.2, 0.2], [0.01, 0.01], 0.0, 0.2) == 0.0
    assert math.isnan(hartung_knapp_s2([0.2], [0.01], 0.0, 0.2))


def test_hk_and_adhoc() -> None:
    hk = pooled_interval(0.5, 0.1, "hk", 0.95, k=5, hk_s2=0.25)
    assert hk.se == pytest.approx(0.05) and hk.df == 4
    assert hk.high - 0.5 == pytest.approx(stats.t.isf(0.025, 4) * 0.05)
    adhoc = pooled_interval(0.5, 0.1, "hk_adhoc", 0.95, k=5, hk_s2=0.25)
    assert adhoc.se == pytest.approx(0.1)  # never below the Wald SE
    with pytest.raises(ValueError, match="hk_s2 is required"):
        pooled_interval(0.5, 0.1, "hk", 0.95, k=5)


def test_t_interval_and_test() -> None:
    ci = pooled_interval(0.5, 0.1, "t", 0.95, k=5)
    assert ci.df == 4 and ci.pvalue == pytest.approx(2 * stats.t.sf(5.0, 4), rel=1e-12)


@pytest.mark.parametrize(("method", "df"), [("z", None), ("t", 9.0), ("hts", 8.0)])
def test_prediction_interval_methods(method: str, df: float | None) -> None:
    pi = prediction_interval(0.0, 0.1, 0.03, method, 0.95, k=10)
    assert pi.df == df
    assert pi.high == pytest.approx(critical_value(0.95, df) * math.sqrt(0.01 + 0.03), rel=1e-14)
    assert pi.low == -pi.high


def test_undefined_prediction_intervals() -> None:
    for method, k in (("hts", 2), ("hts", 1), ("t", 1)):
        pi = prediction_interval(0.0, 0.1, 0.0, method, 0.95, k=k)
        assert math.isnan(pi.low) and pi.note
