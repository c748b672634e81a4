"""Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison of
seven methods", Stat Med 17:857–872, Table I (p. 861): 95% limits for four examples.

Methods compared here, in Newcombe's numbering: 1 simple asymptotic (Wald), 3 score (Wilson),
4 score with continuity correction, 5 exact (Clopper–Pearson). Limits are printed to four
decimals. Method 1 is compared for the two examples whose limits lie inside [0, 1]; at 0/20
and 1/29 the table shows its aberrations (zero width, a limit below 0), which inometa
truncates to [0, 1] (checked against R in test_study_ci).
"""

from __future__ import annotations

import numpy as np
import pytest

from inometa.core.study_ci import study_confint

HALF_UNIT = 0.00005
# (x, n): {method: (lower, upper)}
TABLE_I = {
    (81, 263): {
        "wald": (0.2522, 0.3638),
        "wilson": (0.2553, 0.3662),
        "wilson-cc": (0.2535, 0.3682),
        "clopper-pearson": (0.2527, 0.3676),
    },
    (15, 148): {
        "wald": (0.0527, 0.1500),
        "wilson": (0.0624, 0.1605),
        "wilson-cc": (0.0598, 0.1644),
        "clopper-pearson": (0.0578, 0.1617),
    },
    (0, 20): {
        "wilson": (0.0000, 0.1611),
        "wilson-cc": (0.0000, 0.2005),
        "clopper-pearson": (0.0000, 0.1684),
    },
    (1, 29): {
        "wilson": (0.0061, 0.1718),
        "wilson-cc": (0.0018, 0.1963),
        "clopper-pearson": (0.0009, 0.1776),
    },
}

CASES = [(xn, m, lim) for xn, methods in TABLE_I.items() for m, lim in methods.items()]


@pytest.mark.parametrize(("xn", "method", "limits"), CASES)
def test_table_i(xn: tuple[int, int], method: str, limits: tuple[float, float]) -> None:
    lo, hi = study_confint([xn[0]], [xn[1]], method)
    np.testing.assert_allclose([lo[0], hi[0]], limits, rtol=0, atol=HALF_UNIT)
