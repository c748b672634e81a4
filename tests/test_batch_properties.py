"""Properties of metaprop_batch that hold whatever the data: the order of the studies does not
matter, a masked study is a deleted study, and counting non-events instead of events mirrors
the answer on the symmetric transforms.

These replace row-by-row comparisons with metaprop for the questions they answer: a property
checks the batch engine against itself under a change the statistics must ignore (or mirror),
so it holds for every option and data set hypothesis draws, not only the ones with a stored
single-analysis twin.

Tolerance: only the order of the sums changes, and every τ² estimator starts from the same
values, so results agree to a few ulps (observed ≤ 1e-15 relative on the fixed set of
test_batch); 1e-12 relative leaves room for a rounding difference to be amplified through an
iterative τ² search without hiding a real dependence on order.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import inometa

NAN = math.nan
RTOL = 1e-12
TAU2 = ["DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB"]
OPTIONS = st.fixed_dictionaries(
    {
        "transform": st.sampled_from(["raw", "log", "logit", "arcsine", "ft"]),
        "tau2_method": st.sampled_from(TAU2),
        "ci_method": st.sampled_from(["z", "t", "hk", "hk_adhoc"]),
        "pi_method": st.sampled_from(["z", "t", "hts"]),
    }
)


@st.composite
def counts(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """R × K events and totals, every analysis with at least one study, no NaN."""
    r = draw(st.integers(1, 4))
    k = draw(st.integers(2, 8))
    n = np.array(draw(st.lists(st.integers(1, 300), min_size=r * k, max_size=r * k)), float)
    x = np.array([draw(st.integers(0, int(v))) for v in n], float)
    return x.reshape(r, k), n.reshape(r, k)


def numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """The number columns (the notes name studies by position, which a permutation moves)."""
    return frame.select_dtypes(exclude=["object"]).astype(float)


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    A, B = numeric(a).to_numpy(), numeric(b).to_numpy()
    np.testing.assert_array_equal(np.isnan(A), np.isnan(B))
    ok = np.isfinite(A)
    np.testing.assert_allclose(B[ok], A[ok], rtol=RTOL, atol=RTOL)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(counts(), OPTIONS, st.randoms(use_true_random=False))
def test_study_order_does_not_matter(data, options, rnd) -> None:
    x, n = data
    order = np.array([rnd.sample(range(x.shape[1]), x.shape[1]) for _ in range(x.shape[0])])
    a = inometa.metaprop_batch(x, n, **options)
    b = inometa.metaprop_batch(
        np.take_along_axis(x, order, 1), np.take_along_axis(n, order, 1), **options
    )
    assert_same(a, b)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(counts(), OPTIONS, st.data())
def test_a_masked_study_is_a_deleted_study(data, options, draw) -> None:
    x, n = data
    r, k = x.shape
    gone = [draw.draw(st.integers(0, k - 1)) for _ in range(r)]
    mask = np.ones_like(x, dtype=bool)
    mask[np.arange(r), gone] = False
    masked = inometa.metaprop_batch(x, n, mask=mask, **options)
    # the same analyses with the study removed and the rest moved left (ragged lists)
    xs = [[v for j, v in enumerate(row) if j != g] for row, g in zip(x.tolist(), gone, strict=True)]
    ns = [[v for j, v in enumerate(row) if j != g] for row, g in zip(n.tolist(), gone, strict=True)]
    deleted = inometa.metaprop_batch(xs, ns, **options)
    assert_same(masked, deleted)
    np.testing.assert_array_equal(masked["k"], k - 1)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(counts(), OPTIONS.filter(lambda o: o["transform"] != "log"))
def test_counting_non_events_mirrors_the_answer(data, options) -> None:
    """On raw, logit, arcsine and Freeman–Tukey scales, p ↦ 1 − p is a reflection of the
    model scale that leaves every variance alone: the pooled proportion and its bounds mirror
    (low ↔ high), and τ², I², H² and Q do not move. (log is not symmetric: it is left out.)"""
    x, n = data
    a = inometa.metaprop_batch(x, n, **options)
    b = inometa.metaprop_batch(n - x, n, **options)
    for col, other in [
        ("estimate", "estimate"),
        ("ci_low", "ci_high"),
        ("pi_low", "pi_high"),
    ]:
        got, want = b[other].to_numpy(), 1 - a[col].to_numpy()
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        ok = np.isfinite(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=RTOL, atol=1e-12)
    for col in ["tau2", "i2", "h2", "q", "k"]:
        got, want = b[col].to_numpy(float), a[col].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        ok = np.isfinite(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=RTOL, atol=1e-12)
