"""τ² estimators: hand-derivable cases, algebraic identities and edge cases.

(Agreement with metafor for every estimator is in test_reference_metafor.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

from inometa.core.tau2 import TAU2_ESTIMATORS, estimate_tau2, generalized_q, solve_q

Y = np.array([0.1, 0.3])
V = np.array([0.01, 0.01])
RNG_Y = np.array([-1.2, -0.4, 0.3, 0.9, -0.1, 1.6])
RNG_V = np.array([0.05, 0.2, 0.08, 0.4, 0.03, 0.15])


def test_dl_two_equal_variance_studies() -> None:
    # Q = Σw(y−ȳ)² = 100·(0.01 + 0.01) = 2; tr P = Σw − Σw²/Σw = 100: τ² = (2 − 1)/100.
    assert estimate_tau2(Y, V, "DL").tau2 == pytest.approx(0.01, rel=1e-14)


def test_he_two_studies() -> None:
    # Σ(y−ȳ)² − (Σv − Σv/k) over k − 1 = 0.02 − 0.01 = 0.01.
    assert estimate_tau2(Y, V, "HE").tau2 == pytest.approx(0.01, rel=1e-12)


def test_hs_two_studies() -> None:
    # (Q − k)/Σw = (2 − 2)/200 = 0.
    assert estimate_tau2(Y, V, "HS").tau2 == 0.0


def test_equal_variances_make_moment_estimators_agree() -> None:
    # With equal vᵢ, DL, HE and PM all solve Σ(y−ȳ)²/(v+τ²) = k − 1.
    y = np.array([0.1, 0.5, 0.2, 0.9])
    v = np.full(4, 0.02)
    values = [estimate_tau2(y, v, m).tau2 for m in ("DL", "HE", "PM", "EB", "REML")]
    assert values == pytest.approx([values[0]] * 5, rel=1e-10)


@pytest.mark.parametrize("method", sorted(TAU2_ESTIMATORS))
def test_scale_equivariance(method: str) -> None:
    # τ² is a variance: rescaling y by c rescales every estimate by c².
    a = estimate_tau2(RNG_Y, RNG_V, method).tau2
    b = estimate_tau2(1e-3 * RNG_Y, 1e-6 * RNG_V, method).tau2
    assert b == pytest.approx(1e-6 * a, rel=1e-9)


def test_eb_and_pm_share_their_root() -> None:
    assert estimate_tau2(RNG_Y, RNG_V, "EB").tau2 == pytest.approx(
        estimate_tau2(RNG_Y, RNG_V, "PM").tau2, rel=1e-10
    )


@pytest.mark.parametrize("method", ["REML", "ML", "EB", "PM"])
def test_iterative_estimators_report_iterations(method: str) -> None:
    fit = estimate_tau2(RNG_Y, RNG_V, method)
    assert fit.converged and fit.iterations > 0


@pytest.mark.parametrize("method", ["DL", "HE", "HS", "SJ"])
def test_closed_form_estimators_report_no_iterations(method: str) -> None:
    assert estimate_tau2(RNG_Y, RNG_V, method).iterations == 0


def test_non_convergence_is_reported_not_raised() -> None:
    fit = estimate_tau2(RNG_Y, RNG_V, "REML", maxiter=1)
    assert not fit.converged and "did not converge" in (fit.note or "")
    assert fit.tau2 >= 0


def test_single_study() -> None:
    fit = estimate_tau2([0.3], [0.02], "REML")
    assert fit.tau2 == 0 and np.isnan(fit.se) and "k = 1" in (fit.note or "")


def test_design_matrix_intercept_equals_default() -> None:
    # An explicit intercept column goes through the k × k matrix (as metafor); the default
    # through the O(k) sums: the two must agree, standard errors included.
    X = np.ones((RNG_Y.size, 1))
    for method in TAU2_ESTIMATORS:
        dense = estimate_tau2(RNG_Y, RNG_V, method, X)
        linear = estimate_tau2(RNG_Y, RNG_V, method)
        assert linear.tau2 == pytest.approx(dense.tau2, rel=1e-12)
        assert linear.se == pytest.approx(dense.se, rel=1e-12)


def test_solve_q_finds_the_root() -> None:
    for target in (1.0, 3.0, 10.0, 40.0):
        root = solve_q(target, RNG_Y, RNG_V)
        assert root.converged and not root.capped
        assert generalized_q(root.tau2, RNG_Y, RNG_V) == pytest.approx(target, rel=1e-10)
    # starting from a point left of the root gives the same root
    root = solve_q(3.0, RNG_Y, RNG_V)
    again = solve_q(3.0, RNG_Y, RNG_V, start=0.5 * root.tau2)
    assert again.tau2 == pytest.approx(root.tau2, rel=1e-12)


def test_solve_q_is_one_newton_step_on_1_over_q_with_equal_variances() -> None:
    # With equal vᵢ, Q(τ²) = S/(v + τ²): 1/Q is linear in τ², so the first step lands on
    # the root (S = Σ(y − ȳ)² = 0.08 here; Q = 2 at τ² = 0.08/2 − 0.01 = 0.03).
    v = np.full(4, 0.01)
    y = np.array([-0.2, 0.0, 0.2, 0.0])
    root = solve_q(2.0, y, v)
    assert root.tau2 == pytest.approx(0.03, rel=1e-13)
    assert root.iterations <= 2  # the step, then the step that confirms convergence


def test_solve_q_reports_a_root_beyond_the_cap() -> None:
    root = solve_q(0.5, RNG_Y, RNG_V, cap=0.01)
    assert root.capped and root.tau2 == 0.01
    assert generalized_q(0.01, RNG_Y, RNG_V) > 0.5


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="unknown tau2_method 'GENQ'"):
        estimate_tau2(Y, V, "GENQ")
    with pytest.raises(ValueError, match="vi must be > 0"):
        estimate_tau2(Y, [0.01, 0.0], "DL")
    with pytest.raises(ValueError, match="equal length"):
        estimate_tau2(Y, [0.01], "DL")


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_newton_steps_reach_the_likelihood_maximum_quickly(method: str) -> None:
    # Fisher scoring alone needs about ten iterations to 1e-12 (and more on flat
    # likelihoods); Newton steps on the score about five, on ψ = score · (v̄ + τ²)² under
    # four on these data. The result must still be the maximum: the likelihood is lower on
    # both sides.
    from inometa.core.tau2 import batch_data, loglik_batch

    def _loglik(t: float, y: np.ndarray, v: np.ndarray, reml: bool) -> float:
        d = batch_data(y[None], v[None], np.ones((1, y.size)), None)
        return float(loglik_batch(d, np.array([t]), reml)[0])

    rng = np.random.default_rng(11)
    iterations = []
    for _ in range(50):
        k = int(rng.integers(3, 30))
        v = rng.uniform(0.02, 0.5, k)
        y = rng.normal(0, np.sqrt(v + rng.choice([0.05, 0.3, 1.0])))
        fit = estimate_tau2(y, v, method)
        assert fit.converged
        if fit.tau2 == 0:  # approached by metafor's step halving, as before
            continue
        assert fit.iterations <= 8
        iterations.append(fit.iterations)
        reml = method == "REML"
        top = _loglik(fit.tau2, y, v, reml)
        for t in (fit.tau2 * (1 - 1e-4), fit.tau2 * (1 + 1e-4)):
            assert _loglik(t, y, v, reml) < top
    assert np.mean(iterations) < 4.2  # Newton steps on the score itself: about 5.2


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize(
    "vi",
    [[0.02, 0.05, 0.1, 0.3, 0.04], [1e-6, 0.05, 0.1, 0.3, 0.04]],  # the second: one dominant study
    ids=["spread", "dominant"],
)
def test_intercept_likelihood_and_information_equal_the_explicit_matrix(
    reml: bool, vi: list
) -> None:
    # The O(k) sums without moderators must equal the k × k computation with an explicit
    # intercept column (metafor's), at the estimate and away from it.
    from inometa.core.projection import projection
    from inometa.core.tau2 import batch_data, loglik_batch

    y, v = np.array([[0.3, -0.1, 0.8, 1.5, 0.2]]), np.array([vi])
    m, ones = np.ones((1, 5)), np.ones((5, 1))
    for t in (0.0, 0.07, 2.0):
        tt = np.array([t])
        ll = loglik_batch(batch_data(y, v, m, None), tt, reml)[0]
        assert ll == pytest.approx(loglik_batch(batch_data(y, v, m, ones), tt, reml)[0], rel=1e-14)
        w = 1 / (v + t)
        info = projection(w, None).sum_sq()[0]
        assert info == pytest.approx(projection(w, ones).sum_sq()[0], rel=1e-12)
