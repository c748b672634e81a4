"""Stijnen, Hamza & Özdemir (2010), Stat Med 29:3046–3067, Table II (p. 3050).

Random-effects meta-analysis of the event proportion per arm of Nielweise et al. (2007):
catheter-related bloodstream infections, 18 trials (metadat's ``dat.nielweise2007``; data
below). The table reports the normal–normal model (logit with 0.5 added to zero cells,
REML) and the binomial–normal model (ML), as the pooled logit, its SE, τ², and the
back-transformed proportion with 95% CI.

Printed values are compared to half a unit of their last printed digit. Two printed
values differ from what metafor (and inometa) compute by slightly more than that — the
control-arm normal–normal proportion (0.035 printed, 0.0355 computed) and its upper CI
limit (0.056 printed, 0.0554 computed), both noted in metafor's own test of this table;
those two are compared to one unit of the last digit.
"""

from __future__ import annotations

import pytest

import inometa

# dat.nielweise2007: treatment (ai/n1i) and control (ci/n2i) arms.
AI = [0, 1, 2, 0, 5, 1, 1, 1, 1, 1, 0, 0, 3, 6, 0, 0, 1, 4]
N1I = [116, 44, 208, 130, 151, 98, 174, 74, 97, 113, 66, 70, 188, 187, 118, 252, 345, 64]
CI = [3, 3, 9, 7, 6, 4, 3, 2, 19, 2, 7, 1, 5, 11, 0, 1, 3, 1]
N2I = [117, 35, 195, 136, 157, 139, 177, 39, 103, 122, 64, 58, 175, 180, 105, 262, 362, 69]

HALF = {2: 0.005, 3: 0.0005}  # half a unit of the last printed decimal

# (arm, model): logit estimate, SE, tau2 (decimals printed), proportion, CI (3 decimals)
TABLE_II = {
    ("control", "normal"): (-3.30, 0.24, (0.663, 3), 0.035, (0.023, 0.056)),
    ("treatment", "normal"): (-4.26, 0.26, (0.393, 3), 0.014, (0.008, 0.023)),
    ("control", "binomial"): (-3.50, 0.26, (0.81, 2), 0.029, (0.018, 0.048)),
    ("treatment", "binomial"): (-4.81, 0.36, (0.83, 2), 0.008, (0.004, 0.016)),
}
ONE_UNIT = {("control", "normal", "proportion"), ("control", "normal", "ci_high")}


def _fit(arm: str, model: str) -> inometa.MetaPropResult:
    x, n = (CI, N2I) if arm == "control" else (AI, N1I)
    if model == "normal":
        return inometa.metaprop(x, n, transform="logit", tau2_method="REML")
    return inometa.metaprop(x, n, method="glmm")  # ML, 7 quadrature nodes as in metafor


@pytest.mark.parametrize(("arm", "model"), list(TABLE_II))
def test_table_ii(arm: str, model: str) -> None:
    est, se, (tau2, tau2_dec), prop, (lo, hi) = TABLE_II[(arm, model)]
    res = _fit(arm, model)

    def tol(name: str, decimals: int) -> float:
        return 2 * HALF[decimals] if (arm, model, name) in ONE_UNIT else HALF[decimals]

    assert res.random.estimate == pytest.approx(est, abs=tol("estimate", 2))
    assert res.random.se == pytest.approx(se, abs=tol("se", 2))
    assert res.tau2 == pytest.approx(tau2, abs=tol("tau2", tau2_dec))
    assert res.estimate == pytest.approx(prop, abs=tol("proportion", 3))
    assert res.random.proportion_ci.low == pytest.approx(lo, abs=tol("ci_low", 3))
    assert res.random.proportion_ci.high == pytest.approx(hi, abs=tol("ci_high", 3))
