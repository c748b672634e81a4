"""The binomial–normal GLMM: the exact maximum-likelihood answer, lme4's on request.

References: ``tests/reference/glmm_exact_reference.json``, written by
``tests/reference/glmm_exact_reference.py`` (numpy/scipy only, independent of inometa:
each study's integral by scipy's adaptive quadrature to 1e-13, β̂(τ) by Newton, τ̂ by
brentq on the exact profile score); metafor's rma.glmm at nAGQ 7 and 21 is compared in
test_reference_metafor.py and test_reference_analysis.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats

import inometa
from inometa.core.glmm import _Likelihood, _solve, check_nagq, fit_glmm, glmm_loglik

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "glmm_exact_reference.json").read_text()
)["sets"]


def _x(case: dict[str, Any]) -> np.ndarray | None:
    return None if case["X"] is None else np.array(case["X"], float)


def _named(boundary: str | None) -> list[dict[str, Any]]:
    return [c for c in REFERENCE if c["boundary"] == boundary]


# --- the integral -------------------------------------------------------------------


def _quad_loglik(x: int, n: int, eta: float, tau: float) -> float:
    """log ∫ Bin(x | n, expit(η + τz)) φ(z) dz by scipy's adaptive quadrature around the
    mode (found by brentq on the log-integrand's slope), written without inometa."""

    def g(z: float) -> float:
        p = float(special.expit(eta + tau * z))
        return float(stats.binom.logpmf(x, n, p)) + float(stats.norm.logpdf(z))

    def slope(z: float) -> float:
        return tau * (x - n * float(special.expit(eta + tau * z))) - z

    zhat = optimize.brentq(slope, tau * (x - n) - 1, tau * x + 1, xtol=1e-14)
    top = g(zhat)
    # g'' ≤ −1: twelve units from the mode the integrand is below e⁻⁷² of its peak
    parts = [
        integrate.quad(lambda z: math.exp(g(z) - top), a, b, epsabs=0, epsrel=1e-13, limit=400)[0]
        for a, b in ((zhat - 12, zhat), (zhat, zhat + 12))
    ]
    return top + math.log(sum(parts))


def _integral_cases() -> list[tuple[int, int, float, float]]:
    rng = np.random.default_rng(16)
    cases = []
    for i in range(240):
        n = int(rng.integers(1, 301))
        x = (0, n, int(rng.integers(0, n + 1)))[i % 3]
        cases.append((x, n, float(rng.uniform(-15, 10)), float(rng.uniform(0.01, 15))))
    return cases


def test_the_exact_rule_is_the_integral() -> None:
    # 0/n and n/n studies (one-sided integrands) and interior ones, η from −15 to 10, τ up
    # to 15: log Lᵢ to 1e-10, study by study.
    errors = [
        abs(glmm_loglik(eta, tau * tau, [x], [n]) - _quad_loglik(x, n, eta, tau))
        for x, n, eta, tau in _integral_cases()
    ]
    assert max(errors) < 1e-10


def test_lme4s_rule_is_an_approximation_that_improves_with_nodes() -> None:
    # A 0/n study: the Gauss–Hermite rule scaled at the mode converges slowly on it
    # (the issue's 3e-4 at 21 nodes, 2–5e-3 at 7) where the exact rule does not.
    exact = _quad_loglik(0, 40, -1.0, 2.0)
    err7 = abs(glmm_loglik(-1.0, 4.0, [0], [40], nagq=7) - exact)
    err21 = abs(glmm_loglik(-1.0, 4.0, [0], [40], nagq=21) - exact)
    assert err7 > 1e-4 and err21 < err7
    assert glmm_loglik(-1.0, 4.0, [0], [40]) == pytest.approx(exact, abs=1e-11)
    # an interior study is integrated well by either
    assert glmm_loglik(-1.0, 1.69, [7], [20], nagq=21) == pytest.approx(
        _quad_loglik(7, 20, -1.0, 1.3), abs=1e-10
    )


def test_loglik_at_tau2_zero_is_the_binomial_likelihood() -> None:
    x, n, mu = [3, 0, 12], [10, 8, 12], -0.4
    expected = float(np.sum(stats.binom.logpmf(x, n, 1 / (1 + math.exp(-mu)))))
    for nagq in ("exact", 1, 7, 21):
        assert glmm_loglik(mu, 0.0, x, n, nagq) == pytest.approx(expected, rel=1e-13)


def test_mode_search_survives_steep_tails() -> None:
    # Plain Newton diverges here (found against lme4's deviance function).
    x = [3, 3, 9, 7, 6, 4, 3, 2, 19, 2, 7, 1, 5, 11, 0, 1, 3, 1]
    n = [117, 35, 195, 136, 157, 139, 177, 39, 103, 122, 64, 58, 175, 180, 105, 262, 362, 69]
    exact = sum(_quad_loglik(a, b, -4.0, 1.5) for a, b in zip(x, n, strict=False))
    assert glmm_loglik(-4.0, 1.5**2, x, n) == pytest.approx(exact, abs=1e-9)
    # lme4's rule converges on it as the nodes increase (Laplace is 0.18 off)
    errors = [abs(glmm_loglik(-4.0, 1.5**2, x, n, q) - exact) for q in (1, 7, 21)]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-5


@pytest.mark.parametrize("nagq", ["exact", 1, 7, 21])
@pytest.mark.parametrize("moderated", [False, True])
def test_the_gradient_is_the_derivative_of_the_likelihood(nagq: Any, moderated: bool) -> None:
    # For lme4's rule the gradient includes how the nodes move with (β, τ).
    x = np.array([0.0, 7, 12, 20, 3])
    n = np.array([14.0, 7, 40, 20, 30])
    X = np.column_stack([np.ones(5), [0, 1, 0, 1, 1]]) if moderated else np.ones((5, 1))
    lik = _Likelihood(x, n, X, nagq)
    theta = np.array([0.4, -0.3, 1.7])[np.r_[: X.shape[1], 2]]
    grad = lik.at(theta[:-1], theta[-1]).grad
    h = 1e-6
    for j in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        fd = (lik.at(up[:-1], up[-1]).loglik - lik.at(down[:-1], down[-1]).loglik) / (2 * h)
        assert grad[j] == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_the_exact_hessian_is_the_derivative_of_the_gradient() -> None:
    x, n = np.array([0.0, 7, 12, 20]), np.array([14.0, 7, 40, 20])
    X = np.column_stack([np.ones(4), [0.0, 1, 0, 1]])
    lik = _Likelihood(x, n, X, "exact")
    theta = np.array([0.5, 0.8, 2.0])
    hess = lik.at(theta[:-1], theta[-1]).hess
    for j in range(3):
        up, down = theta.copy(), theta.copy()
        up[j] += 1e-6
        down[j] -= 1e-6
        fd = (lik.at(up[:-1], up[-1]).grad - lik.at(down[:-1], down[-1]).grad) / 2e-6
        np.testing.assert_allclose(hess[:, j], fd, rtol=1e-6, atol=1e-7)


def test_small_systems_are_solved_and_singular_ones_give_nan() -> None:
    np.testing.assert_allclose(_solve(np.array([[-4.0]]), np.array([2.0])), [-0.5], rtol=1e-15)
    a = np.array([[-4.0, 1.0], [1.0, -2.0]])
    np.testing.assert_allclose(_solve(a, np.array([1.0, 3.0])), np.linalg.solve(a, [1.0, 3.0]))
    for singular in (np.zeros((1, 1)), np.ones((2, 2))):
        assert np.isnan(_solve(singular, np.ones(singular.shape[0]))).all()


# --- the fit against the exact reference ---------------------------------------------


@pytest.mark.parametrize("case", _named(None), ids=lambda c: c["name"])
def test_interior_estimates_are_the_exact_mle(case: dict[str, Any]) -> None:
    fit = fit_glmm(case["events"], case["n"], X=_x(case))
    assert fit.converged and fit.boundary is None and fit.nagq == "exact"
    assert fit.tau2 == pytest.approx(case["tau2"], rel=1e-6)
    np.testing.assert_allclose(fit.beta, case["beta"], rtol=0, atol=1e-6)
    assert fit.loglik == pytest.approx(case["loglik"], abs=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov)), case["se_beta"], rtol=1e-6)
    low, high = case["tau2_ci"]
    assert fit.tau2_ci[0] == pytest.approx(low, rel=1e-6, abs=1e-9)
    assert fit.tau2_ci[1] == (pytest.approx(high, rel=1e-6) if high is not None else math.inf)
    assert not any("nagq" in note for note in fit.notes)


@pytest.mark.parametrize("case", _named("tau2=0"), ids=lambda c: c["name"])
def test_tau2_is_exactly_zero_where_the_exact_mle_is(case: dict[str, Any]) -> None:
    fit = fit_glmm(case["events"], case["n"], X=_x(case))
    assert fit.tau2 == 0.0 and fit.boundary == "tau2=0" and fit.converged
    np.testing.assert_allclose(fit.beta, case["beta"], rtol=0, atol=1e-6)
    assert fit.loglik == pytest.approx(case["loglik"], abs=1e-8)
    assert fit.tau2_ci[0] == 0.0
    high = case["tau2_ci"][1]
    assert fit.tau2_ci[1] == (pytest.approx(high, rel=1e-6) if high is not None else math.inf)


def test_the_issues_worst_cases() -> None:
    # nAGQ = 7 (lme4/metafor) gives 21.85 and 20.93; the exact MLE is 25.82 and 23.31.
    for x, n in (([6, 0, 2], [6, 8, 5]), ([0, 7], [13, 8])):
        case = next(c for c in REFERENCE if c["events"] == x and c["n"] == n)
        assert fit_glmm(x, n).tau2 == pytest.approx(case["tau2"], rel=1e-6)
        seven = fit_glmm(x, n, nagq=7)
        assert abs(seven.tau2 - case["tau2"]) > 0.1 * case["tau2"]
        (note,) = [s for s in seven.notes if "nagq = 7" in s]
        near = float(note.split("near ")[1].split(":")[0])
        # one Newton step on the exact likelihood lands near the exact answer
        assert abs(near - case["tau2"]) < abs(seven.tau2 - case["tau2"])


def test_lme4s_rule_without_sensitivity_gets_no_note() -> None:
    fit = fit_glmm([20, 35, 12, 40], [100, 120, 90, 110], nagq=21)
    assert fit.nagq == 21 and fit.tau2 > 0
    assert not any("nagq" in note for note in fit.notes)


def test_the_unbounded_case() -> None:
    fit = fit_glmm([0, 10, 0], [10, 10, 20])
    assert not fit.converged and fit.boundary == "tau-unbounded"
    assert any("keeps increasing with τ" in note for note in fit.notes)
    res = inometa.metaprop([0, 10, 0], [10, 10, 20], method="glmm")
    assert not res.heterogeneity.tau2_converged
    json.dumps(res.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("x", "n", "full"), [([0, 0, 0], [10, 25, 40], False), ([10, 25], [10, 25], True)]
)
def test_all_zero_and_all_full(x: list[int], n: list[int], full: bool) -> None:
    fit = fit_glmm(x, n)
    assert fit.boundary == ("all-full" if full else "all-zero") and fit.tau2 == 0.0
    assert fit.mu == (math.inf if full else -math.inf)
    res = inometa.metaprop(x, n, method="glmm")
    assert res.estimate == float(full)
    total = sum(n)
    cp = 0.025 ** (1 / total)  # the exact one-sided bound at 0/N or N/N
    expected = (cp, 1.0) if full else (0.0, 1 - cp)
    assert res.random.proportion_ci == pytest.approx(expected, rel=1e-10)
    assert any("every study has" in note for note in res.notes)
    json.dumps(res.to_dict(), allow_nan=False)


def test_separation_with_a_moderator() -> None:
    X = np.column_stack([np.ones(4), [0, 0, 1, 1]])
    fit = fit_glmm([3, 5, 0, 0], [20, 20, 15, 10], X=X)
    assert fit.boundary == "separation" and not fit.converged
    assert any("separation" in note for note in fit.notes)


def test_single_study() -> None:
    res = inometa.metaprop([7], [20], method="glmm")
    assert res.tau2 == 0 and res.estimate == pytest.approx(0.35, rel=1e-12)


def test_tau2_fixed() -> None:
    x, n = [2, 8, 15, 4], [20, 25, 30, 22]
    fit = fit_glmm(x, n, tau2_fixed=0.4)
    lik = _Likelihood(np.array(x, float), np.array(n, float), np.ones((4, 1)), "exact")
    best = optimize.minimize_scalar(
        lambda b: -lik.at(np.array([b]), math.sqrt(0.4)).loglik, bracket=(-2, 0), tol=1e-12
    )
    assert fit.tau2 == 0.4 and fit.mu == pytest.approx(best.x, abs=1e-6)
    assert math.isnan(fit.tau2_ci[0])
    zero = fit_glmm(x, n, tau2_fixed=0.0)
    assert zero.mu == pytest.approx(zero.mu_common, abs=1e-12)


def test_the_profile_interval_bounds_are_at_the_cut() -> None:
    x, n = np.array([49.0, 121, 43, 119, 28, 19]), np.array([72.0, 164, 43, 131, 33, 32])
    fit = fit_glmm(x, n)
    lik = _Likelihood(x, n, np.ones((6, 1)), "exact")
    cut = fit.loglik - stats.chi2.ppf(0.95, 1) / 2
    for bound in fit.tau2_ci:
        tau = math.sqrt(bound)
        best = optimize.minimize_scalar(
            lambda b, tau=tau: -lik.at(np.array([b]), tau).loglik, bracket=(0, 2), tol=1e-12
        )
        assert -best.fun == pytest.approx(cut, abs=1e-8)


# --- options --------------------------------------------------------------------------


def test_the_integration_is_named_and_recorded() -> None:
    x, n = [2, 8, 15, 4], [20, 25, 30, 22]
    res = inometa.metaprop(x, n, method="glmm")
    assert res.options.nagq == "exact" and "exact likelihood" in res.summary()
    assert "exact marginal likelihood" in res.methods_text()
    seven = inometa.metaprop(x, n, method="glmm", nagq=7)
    assert seven.options.nagq == 7 and "7-node adaptive Gauss–Hermite" in seven.summary()
    assert res.to_dict()["options"]["nagq"] == "exact"


@pytest.mark.parametrize("bad", [0, 101, 2.5, "7", True, None])
def test_nagq_is_checked(bad: object) -> None:
    with pytest.raises(ValueError, match="nagq must be 'exact' or a whole number"):
        check_nagq(bad)
    assert check_nagq(7.0) == 7 and check_nagq(np.int64(3)) == 3


def test_the_command_line_takes_exact_or_a_node_count(tmp_path: Path) -> None:
    from inometa.cli import main

    csv = tmp_path / "d.csv"
    csv.write_text("study,events,n\nA,2,20\nB,8,25\nC,15,30\n")
    for value in ("exact", "7"):
        argv = ["pool", str(csv), "--events", "events", "--n", "n", "--method", "glmm"]
        assert main([*argv, "--nagq", value, "--json"]) == 0


# --- properties -----------------------------------------------------------------------

_studies = st.lists(
    st.integers(1, 60).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    min_size=2,
    max_size=7,
)


@settings(max_examples=25, deadline=None)
@given(_studies, st.randoms(use_true_random=False))
def test_study_order_does_not_matter(studies: list[tuple[int, int]], rnd: Any) -> None:
    x, n = map(list, zip(*studies, strict=False))
    order = list(range(len(x)))
    rnd.shuffle(order)
    a = fit_glmm(x, n)
    b = fit_glmm([x[i] for i in order], [n[i] for i in order])
    assert (a.boundary, a.converged) == (b.boundary, b.converged)
    if a.boundary is None and a.converged:
        assert b.tau2 == pytest.approx(a.tau2, rel=1e-6)
        assert b.mu == pytest.approx(a.mu, abs=1e-6)
    else:
        assert b.tau2 == pytest.approx(a.tau2, rel=1e-6, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(_studies)
def test_counting_non_events_negates_beta_and_keeps_tau2(studies: list[tuple[int, int]]) -> None:
    x, n = map(np.array, zip(*studies, strict=False))
    a, b = fit_glmm(x, n), fit_glmm(n - x, n)
    assert (a.boundary, a.converged) == (
        {"all-zero": "all-full", "all-full": "all-zero"}.get(b.boundary, b.boundary),
        b.converged,
    )
    if a.converged and a.boundary not in ("all-zero", "all-full"):
        assert b.tau2 == pytest.approx(a.tau2, rel=1e-6, abs=1e-12)
        assert b.mu == pytest.approx(-a.mu, abs=1e-6)
        assert b.se == pytest.approx(a.se, rel=1e-5)
