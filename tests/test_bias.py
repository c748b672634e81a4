"""Small-study effects: warnings below k = 10, GLMM handling, trim-and-fill structure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import inometa

from .conftest import TOL

X = [4, 23, 10, 1, 2, 0, 6, 9, 3, 5, 2, 7]
N = [72, 164, 110, 43, 26, 18, 36, 59, 33, 80, 45, 131]
# metafor's trimfill() of these data (the "vod" set of metafor_analysis_reference.R) with
# metaprop's defaults: logit, REML, z.
_ANALYSIS = json.loads(
    (Path(__file__).parent / "reference" / "metafor_analysis_reference.json").read_text()
)
assert (_ANALYSIS["datasets"]["vod"]["events"], _ANALYSIS["datasets"]["vod"]["n"]) == (X, N)
TRIMFILL = next(
    b["trimfill"]
    for b in _ANALYSIS["bias"]
    if (b["transform"], b["method"], b["ci_method"]) == ("logit", "REML", "z")
)


@pytest.mark.parametrize(
    "fn", [inometa.egger_test, inometa.begg_test, inometa.peters_test, inometa.trim_and_fill]
)
def test_warn_below_ten_studies(fn) -> None:  # type: ignore[no-untyped-def]
    res = inometa.metaprop(X[:6], N[:6])
    with pytest.warns(inometa.SmallKWarning, match="k = 6 < 10"):
        out = fn(res)
    assert any("k = 6 < 10" in n for n in out.notes)


def test_no_warning_from_ten_studies() -> None:
    import warnings

    res = inometa.metaprop(X, N)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inometa.egger_test(res)
        inometa.begg_test(res)


def test_glmm_uses_the_logit_inverse_variance_view() -> None:
    res = inometa.metaprop(X, N, method="glmm")
    eg = inometa.egger_test(res)
    ref = inometa.egger_test(inometa.metaprop(X, N, tau2_method="ML"))
    # the same inverse-variance fit, computed the same way: identical, not merely close
    assert eg.statistic == ref.statistic
    assert any("GLMM itself has no such test" in n for n in eg.notes)


def test_trim_and_fill_mirrors_about_the_trimmed_estimate() -> None:
    res = inometa.metaprop(X, N)
    tf = inometa.trim_and_fill(res)
    k0 = TRIMFILL["k0"]
    assert k0 > 0 and (tf.side, tf.k0) == (TRIMFILL["side"], k0)
    np.testing.assert_allclose(tf.filled["yi"], TRIMFILL["filled_yi"], rtol=TOL["metafor"])
    filled = tf.result
    assert list(filled.data.labels[-k0:]) == [f"Filled {i}" for i in range(1, k0 + 1)]
    assert filled.data.imputed.tolist() == [False] * 12 + [True] * k0
    assert np.isnan(np.asarray(filled.data.events[-k0:], dtype=float)).all()
    # each imputed study is the mirror image of a trimmed one about the trimmed estimate
    yi = np.asarray(res.data.yi)
    originals = np.sort(yi)[:k0]
    centre = (np.sort(tf.filled["yi"].to_numpy())[::-1] + originals) / 2
    assert np.allclose(centre, centre[0])
    assert filled.to_dict()["studies"]["events"][-1] is None


def test_trim_and_fill_bad_options() -> None:
    res = inometa.metaprop(X, N)
    with pytest.raises(ValueError, match="valid values are: L0, R0"):
        inometa.trim_and_fill(res, estimator="Q9")
    with pytest.raises(ValueError, match="valid values are: left, right"):
        inometa.trim_and_fill(res, side="up")
    with pytest.raises(ValueError, match="valid values are: lm, rma"):
        inometa.egger_test(res, model="glm")
