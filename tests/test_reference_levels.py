"""Pooled and prediction intervals at levels 0.90 and 0.99 against metafor 3.8-1.

Every other metafor reference is at 0.95, where a quantile that ignored ``level`` would go
unnoticed. Reference values: tests/reference/metafor_level_reference.json, written by the
committed tests/reference/metafor_level_reference.R (test_reference_script.py checks that it
still writes them). The per-study intervals of the same file are tested in test_study_ci.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import inometa

from .conftest import bound_atol, metafor_rtol

REF = json.loads((Path(__file__).parent / "reference" / "metafor_level_reference.json").read_text())
DATASETS = REF["datasets"]
# metafor stops the Q-profile search for the upper τ² bound at 100 and reports "> 100".
TAU2_SEARCH_LIMIT = 100.0


def _id(case: dict[str, Any]) -> str:
    keys = ("dataset", "transform", "method", "ci_method", "level")
    return "-".join(str(case[key]) for key in keys)


@pytest.mark.parametrize("case", REF["pooled"], ids=_id)
def test_pooled_and_prediction_intervals_at_the_level(case: dict[str, Any]) -> None:
    ds = DATASETS[case["dataset"]]
    rtol = metafor_rtol(case["tau2"])
    atol = bound_atol(rtol, case["b"], case["ci_lb"], case["ci_ub"])
    # metafor's default predict() uses the CI's quantile: z for test = "z", else t(k − 1).
    default_pi = "z" if case["ci_method"] == "z" else "t"
    for pi_method, ref_pi in (
        (default_pi, case["pi_default"]),
        ("t", case["pi_t"]),
        ("hts", case["pi_hts"]),
    ):
        res = inometa.metaprop(
            ds["events"],
            ds["n"],
            transform=case["transform"],
            tau2_method=case["method"],
            ci_method=case["ci_method"],
            pi_method=pi_method,
            level=case["level"],
        )
        ms = res.to_dict()["model_scale"]
        np.testing.assert_allclose(
            [ms["estimate"], ms["se"], res.tau2], [case["b"], case["se"], case["tau2"]], rtol=rtol
        )
        np.testing.assert_allclose(
            [ms["ci_low"], ms["ci_high"], ms["pi_low"], ms["pi_high"]],
            [case["ci_lb"], case["ci_ub"], *ref_pi],
            rtol=rtol,
            atol=atol,
            err_msg=f"pi_method={pi_method}",
        )
    h = res.heterogeneity
    ours = [h.tau2_ci.low, 100 * h.i2_ci.low, h.h2_ci.low]
    refs = [case["tau2_ci"][0], case["I2_ci"][0], case["H2_ci"][0]]
    assert case["tau2_ci"][1] < TAU2_SEARCH_LIMIT
    ours += [h.tau2_ci.high, 100 * h.i2_ci.high, h.h2_ci.high]
    refs += [case["tau2_ci"][1], case["I2_ci"][1], case["H2_ci"][1]]
    np.testing.assert_allclose(ours, refs, rtol=rtol)


def test_levels_change_the_intervals() -> None:
    # guard against a reference file in which the level had no effect
    by_level = {
        c["level"]: c["ci_ub"] - c["ci_lb"]
        for c in REF["pooled"]
        if (c["dataset"], c["transform"], c["method"], c["ci_method"])
        == ("ino_cr", "logit", "REML", "z")
    }
    assert set(by_level) == {0.9, 0.99} and by_level[0.99] > 1.5 * by_level[0.9]
