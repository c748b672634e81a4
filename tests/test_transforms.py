"""Transforms and continuity-correction rules (metafor escalc conventions)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import inometa
from inometa.core.transforms import (
    TRANSFORMS,
    apply_correction,
    ft_forward,
    ft_inverse,
    get_transform,
)


@pytest.mark.parametrize(
    ("rule", "events", "expected"),
    [
        ("only0", [0.5, 3.0, 5.5], [True, False, True]),
        ("all", [0.5, 3.5, 5.5], [True, True, True]),
        ("if0all", [0.5, 3.5, 5.5], [True, True, True]),
        ("none", [0.0, 3.0, 5.0], [False, False, False]),
    ],
)
def test_correction_rules(rule: str, events: list[float], expected: list[bool]) -> None:
    x, n, corrected = apply_correction([0, 3, 5], [10, 10, 5], rule, 0.5)
    assert x.tolist() == events
    assert corrected.tolist() == expected
    assert (n - np.array([10, 10, 5]) == 2 * (x - np.array([0, 3, 5]))).all()


def test_if0all_without_zero_cells_changes_nothing() -> None:
    x, _, corrected = apply_correction([1, 3], [10, 10], "if0all", 0.5)
    assert x.tolist() == [1, 3] and not corrected.any()


def test_zero_increment_means_no_correction() -> None:
    _, _, corrected = apply_correction([0, 3], [10, 10], "all", 0.0)
    assert not corrected.any()


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_inverse_recovers_observed_proportions(name: str) -> None:
    x = np.array([1.0, 7, 33, 49])
    n = np.array([3.0, 20, 40, 50])
    tr = get_transform(name)
    yi, vi = tr.yi_vi(x, n)
    assert (vi > 0).all()
    np.testing.assert_allclose(tr.inverse(yi, n if tr.needs_n else None), x / n, rtol=1e-12)


def test_metafor_and_meta_names() -> None:
    assert [(t.name, t.metafor, t.meta) for t in TRANSFORMS.values()] == [
        ("raw", "PR", "PRAW"),
        ("log", "PLN", "PLN"),
        ("logit", "PLO", "PLOGIT"),
        ("arcsine", "PAS", "PAS"),
        ("ft", "PFT", "PFT"),
    ]
    assert get_transform("PLOGIT").name == "logit" and get_transform("Freeman-Tukey").name == "ft"


def test_default_corrections_follow_metafor() -> None:
    assert {t.name: t.default_correction for t in TRANSFORMS.values()} == {
        "raw": "only0",
        "log": "only0",
        "logit": "only0",
        "arcsine": "none",
        "ft": "none",
    }


def test_arcsine_inverse_clips_outside_its_range() -> None:
    tr = get_transform("arcsine")
    assert tr.inverse(-0.1) == 0.0 and tr.inverse(2.0) == 1.0


def test_ft_needs_n() -> None:
    with pytest.raises(ValueError, match="needs a sample size"):
        get_transform("ft").inverse(0.5)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 50, 5000])
def test_ft_inverse_is_monotone_and_bounded_everywhere(n: int) -> None:
    # Miller's formula has no real solution at some values near the bounds for small n;
    # the inverse must still be finite, in [0, 1] and non-decreasing.
    y = np.linspace(ft_forward(0.0, n) - 0.05, ft_forward(1.0, n) + 0.05, 4001)
    p = ft_inverse(y, n)
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    assert (np.diff(p) >= -1e-12).all()


def test_ft_inverse_keeps_undefined_values_undefined() -> None:
    # A t interval with k = 1 has NaN bounds on the model scale; they must not become 100%.
    assert np.isnan(ft_inverse(np.nan, 10.0))
    res = inometa.metaprop([3], [10], transform="ft", ci_method="t", pi_method="t")
    assert math.isnan(res.random.proportion_ci.low) and math.isnan(res.prediction.proportion_high)
