"""The binomial–normal GLMM never breaks at the boundaries; its likelihood is the binomial's."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

import inometa
from inometa.glmm import fit_glmm, glmm_loglik


def test_loglik_at_tau2_zero_is_the_binomial_likelihood() -> None:
    x, n, mu = [3, 0, 12], [10, 8, 12], -0.4
    p = 1 / (1 + math.exp(-mu))
    expected = float(np.sum(stats.binom.logpmf(x, n, p)))
    for nagq in (1, 7, 21):
        assert glmm_loglik(mu, 0.0, x, n, nagq) == pytest.approx(expected, rel=1e-13)


def test_loglik_converges_to_the_integral() -> None:
    # One study: compare with direct numerical integration over the random effect.
    from scipy.integrate import quad

    x, n, mu, tau = 7, 20, -1.0, 1.3

    def integrand(z: float) -> float:
        return float(stats.binom.pmf(x, n, 1 / (1 + math.exp(-(mu + tau * z)))) * stats.norm.pdf(z))

    exact = math.log(quad(integrand, -12, 12, epsabs=1e-14, epsrel=1e-13)[0])
    assert glmm_loglik(mu, tau**2, [x], [n], 21) == pytest.approx(exact, rel=1e-10)


def test_mode_search_survives_steep_tails() -> None:
    # Plain Newton diverges here (found against lme4's deviance function).
    x = [3, 3, 9, 7, 6, 4, 3, 2, 19, 2, 7, 1, 5, 11, 0, 1, 3, 1]
    n = [117, 35, 195, 136, 157, 139, 177, 39, 103, 122, 64, 58, 175, 180, 105, 262, 362, 69]
    for nagq in (1, 7, 21):
        ll = glmm_loglik(-4.0, 1.5**2, x, n, nagq)
        assert -60 < ll < -40


def test_all_zero_events() -> None:
    res = inometa.metaprop([0, 0, 0], [10, 25, 40], method="glmm")
    assert res.estimate == 0.0 and res.tau2 == 0.0
    cp_high = 1 - 0.025 ** (1 / 75)  # exact one-sided bound at 0/75 (two-sided 95%)
    assert res.random.proportion_ci == pytest.approx((0.0, cp_high), rel=1e-10)
    assert any("every study has 0 events" in note for note in res.notes)
    assert math.isnan(res.prediction.proportion_low)
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["model_scale"]["estimate"] is None  # −∞ has no JSON form
    assert res.confidence_interval(0.9).high < cp_high


def test_all_full_events() -> None:
    res = inometa.metaprop([10, 25], [10, 25], method="glmm")
    assert res.estimate == 1.0
    assert res.random.proportion_ci.high == 1.0
    assert res.random.proportion_ci.low == pytest.approx(0.025 ** (1 / 35), rel=1e-10)


def test_tau2_at_zero() -> None:
    res = inometa.metaprop([10, 11, 12, 10, 11], [100] * 5, method="glmm")
    assert res.tau2 == 0.0
    assert any("boundary" in n for n in res.notes)
    assert res.random.estimate == pytest.approx(res.common.estimate, rel=1e-12)
    assert res.random.se == pytest.approx(res.common.se, rel=1e-12)


def test_zero_and_hundred_percent_studies_mixed_in() -> None:
    res = inometa.metaprop([0, 7, 12, 20], [14, 7, 40, 20], method="glmm")
    assert res.heterogeneity.tau2_converged
    assert 0 < res.estimate < 1 and res.tau2 > 0
    assert res.prediction.proportion_low < res.estimate < res.prediction.proportion_high


def test_only_boundary_studies_flag_non_convergence() -> None:
    res = inometa.metaprop([0, 10, 0, 10], [10, 10, 10, 10], method="glmm")
    assert not res.heterogeneity.tau2_converged
    assert any("keeps increasing with τ" in n for n in res.notes)
    assert math.isfinite(res.estimate)
    json.dumps(res.to_dict(), allow_nan=False)


def test_single_study() -> None:
    res = inometa.metaprop([7], [20], method="glmm")
    assert res.tau2 == 0 and res.estimate == pytest.approx(0.35, rel=1e-12)


def test_profile_likelihood_interval_for_tau2() -> None:
    x, n = [49, 121, 43, 119, 28, 19], [72, 164, 43, 131, 33, 32]
    fit = fit_glmm(x, n, nagq=21)
    lo, hi = fit.tau2_ci
    assert lo < fit.tau2 < hi
    drop = stats.chi2.ppf(0.95, 1) / 2
    from inometa.glmm import _Quadrature

    q = _Quadrature(np.array(x, float), np.array(n, float), np.ones((len(x), 1)), 21)
    for bound in (lo, hi):
        tau = math.sqrt(bound)
        beta, _ = q.beta_hat(tau, fit.beta)
        assert q.loglik(beta, tau) == pytest.approx(fit.loglik - drop, abs=1e-8)


def test_more_nodes_change_little() -> None:
    x, n = [4, 23, 10, 1, 2, 0, 6], [72, 164, 110, 43, 26, 18, 36]
    a, b = fit_glmm(x, n, nagq=21), fit_glmm(x, n, nagq=41)
    assert a.mu == pytest.approx(b.mu, rel=1e-8) and a.tau2 == pytest.approx(b.tau2, rel=1e-6)


def test_extreme_data_interval_takes_the_nearest_crossing() -> None:
    # Three of four studies at 0% or 100%: τ̂ is huge (lme4 agrees: 118.3 at nAGQ = 7) and the
    # likelihood is flat far out; the lower bound must be the crossing nearest to τ̂.
    x, n = [0, 7, 12, 20], [14, 7, 40, 20]
    res = inometa.metaprop(x, n, method="glmm")
    fit = fit_glmm(x, n, nagq=7)
    lo, hi = res.heterogeneity.tau2_ci
    assert hi == math.inf and any("do not bound τ² from above" in s for s in res.notes)
    assert any("extreme heterogeneity" in s for s in res.notes)
    from inometa.glmm import _Quadrature

    q = _Quadrature(np.array(x, float), np.array(n, float), np.ones((len(x), 1)), 7)
    drop = stats.chi2.ppf(0.95, 1) / 2
    beta = fit.beta
    for tau in np.linspace(math.sqrt(lo) + 1e-3, math.sqrt(fit.tau2), 15):
        beta, _ = q.beta_hat(float(tau), beta)
        assert q.loglik(beta, float(tau)) > fit.loglik - drop


def test_laplace_with_large_tau_locates_the_maximum_and_the_profile_bounds() -> None:
    # τ̂² ≈ 13 with one node: the nodes move so much with β that the curvature with fixed
    # nodes overstates the true one about 400-fold. β̂ must still be a stationary point, and
    # each bound a root of the profile equation — checked with an independent optimiser.
    from scipy.optimize import minimize_scalar

    from inometa.glmm import _Quadrature

    x = [151, 55, 112, 14, 366, 353, 18, 0, 149, 216]
    n = [151, 170, 382, 130, 379, 367, 170, 257, 364, 313]
    fit = fit_glmm(x, n, nagq=1)
    q = _Quadrature(np.array(x, float), np.array(n, float), np.ones((len(x), 1)), 1)
    assert fit.converged and fit.tau2 > 10
    assert np.abs(q.gradient(fit.beta, math.sqrt(fit.tau2))).max() < 1e-6

    def profile(tau: float) -> float:
        best = minimize_scalar(
            lambda b: -q.loglik(np.array([b]), tau),
            bounds=(-10, 10),
            method="bounded",
            options={"xatol": 1e-10},
        )
        return float(-best.fun)

    drop = stats.chi2.ppf(0.95, 1) / 2
    for bound in fit.tau2_ci:
        assert profile(math.sqrt(bound)) == pytest.approx(fit.loglik - drop, abs=1e-8)


@pytest.mark.parametrize("nagq", [1, 3, 7, 21])
def test_hessian_is_the_derivative_of_the_gradient(nagq: int) -> None:
    # The analytic Hessian (node movement included) against central differences of the exact
    # gradient, Richardson-extrapolated: truncation O(h⁴) ≈ 1e-12, rounding ≈ 1e-16 / h.
    from inometa.glmm import _Quadrature

    rng = np.random.default_rng(nagq)
    x = np.array([0, 3, 17, 40, 9, 25], float)
    n = np.array([12, 30, 45, 41, 80, 60], float)
    X = np.column_stack([np.ones(6), [0, 1, 0, 1, 1, 0], rng.normal(size=6)])
    q = _Quadrature(x, n, X, nagq)
    for _ in range(4):
        beta = rng.normal([-0.5, 0.3, 0.2], 0.5)
        tau = float(rng.uniform(0.05, 3))
        theta = np.append(beta, tau)

        def diff(h: float, theta: np.ndarray = theta) -> np.ndarray:
            out = np.empty((4, 4))
            for j in range(4):
                e = np.zeros(4)
                e[j] = h
                up, down = theta + e, theta - e
                out[:, j] = (q.gradient(up[:3], up[3]) - q.gradient(down[:3], down[3])) / (2 * h)
            return out

        h = 1e-3
        numeric = (4 * diff(h / 2) - diff(h)) / 3
        exact = q.hessian(beta, tau)
        assert np.allclose(exact, numeric, rtol=1e-7, atol=1e-7 * np.abs(exact).max())


def test_profile_curvature_and_path_are_derivatives() -> None:
    # d²ℓₚ/dτ² and dβ̂/dτ reported at a profile point against differences of the profile
    # slope and of β̂(τ) at neighbouring τ (each located to 1e-12).
    from inometa.glmm import _Quadrature

    x, n = np.array([4, 23, 10, 1, 2, 0, 6], float), np.array([72, 164, 110, 43, 26, 18, 36], float)
    q = _Quadrature(x, n, np.ones((7, 1)), 7)
    tau, h = 0.8, 1e-4
    mid = q.profile(tau, np.array([-2.0]))
    up, down = q.profile(tau + h, mid.beta), q.profile(tau - h, mid.beta)
    assert mid.curvature == pytest.approx((up.slope - down.slope) / (2 * h), rel=1e-6)
    assert mid.dbeta[0] == pytest.approx((up.beta[0] - down.beta[0]) / (2 * h), rel=1e-6)
    assert mid.slope == pytest.approx((up.loglik - down.loglik) / (2 * h), rel=1e-6)


def test_undefined_standard_error_is_said_not_warned() -> None:
    # One 0/4 and one 4/4 study with the Laplace approximation: τ̂ is extreme, and there
    # the information for β is not positive. The SE is NaN with a note, not a RuntimeWarning
    # from the square root of a negative variance.
    import warnings

    import inometa

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = inometa.metaprop([0, 4], [4, 4], method="glmm", nagq=1)
    assert math.isnan(res.random.se)
    assert any("standard error and confidence interval" in s for s in res.notes)


def test_max_abs_of_a_short_vector_is_numpys() -> None:
    from inometa.glmm import _max_abs

    for a in ([0.5, -3.0, 2.0], [-0.0], [1e-300, -1e300]):
        assert _max_abs(np.array(a)) == float(np.abs(np.array(a)).max())
    # NaN anywhere propagates, as in numpy (a comparison with it must fail)
    for a in ([math.nan, 1.0], [1.0, math.nan]):
        assert math.isnan(_max_abs(np.array(a)))


# Three data sets for the tests of the searches: moderate and large τ̂, and a small τ̂
# (the normal approximation gives τ̂ = 0 there, so the search starts from its own first
# step, and the lower bound of the τ² interval is 0).
_SEARCH_DATA = [
    ([4, 23, 10, 1, 2, 0, 6], [72, 164, 110, 43, 26, 18, 36]),
    ([49, 121, 43, 119, 28, 19], [72, 164, 43, 131, 33, 32]),
    (
        [25, 17, 8, 32, 39, 48, 27, 61, 68, 5, 6],
        [90, 75, 33, 124, 101, 140, 104, 181, 220, 13, 11],
    ),
]


@pytest.mark.parametrize(("x", "n"), _SEARCH_DATA)
def test_the_start_of_the_tau_search_does_not_change_the_fit(
    x: list, n: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inometa import glmm

    started = fit_glmm(x, n)
    monkeypatch.setattr(glmm, "_normal_approximation", lambda quad: None)
    plain = fit_glmm(x, n)
    assert started.converged and plain.converged and started.tau2 > 0
    assert started.tau2 == pytest.approx(plain.tau2, rel=1e-10)
    assert started.beta[0] == pytest.approx(plain.beta[0], rel=1e-10)
    assert math.sqrt(started.vcov[0, 0]) == pytest.approx(math.sqrt(plain.vcov[0, 0]), rel=1e-9)
    for a, b in zip(started.tau2_ci, plain.tau2_ci, strict=True):
        assert a == pytest.approx(b, rel=1e-9)


_X7 = np.array([4, 23, 10, 1, 2, 0, 6], float)
_N7 = np.array([72, 164, 110, 43, 26, 18, 36], float)


@pytest.mark.parametrize("nagq", [1, 2, 7, 21])
def test_the_closed_form_common_point_is_the_quadratures(nagq: int) -> None:
    # Without moderators the τ = 0 point is computed in closed form; the reference is the
    # general path: the quadrature at τ = 0 and Newton steps in β.
    from inometa.glmm import _Quadrature

    q = _Quadrature(_X7, _N7, np.ones((7, 1)), nagq)
    closed = q.common_point()
    q.intercept_only = False
    general = q.profile(0.0, np.array([-2.0]))
    assert closed.ok and general.ok
    assert closed.beta[0] == pytest.approx(general.beta[0], abs=1e-13)
    assert closed.loglik == pytest.approx(general.loglik, abs=1e-12)
    assert closed.slope == 0.0
    assert general.slope == pytest.approx(0.0, abs=1e-12)
    assert closed.curvature == pytest.approx(general.curvature, rel=1e-12)
    assert np.allclose(closed.hessian, general.hessian, rtol=1e-12, atol=1e-12)
    assert np.allclose(closed.dbeta, general.dbeta, atol=1e-12)


def test_points_evaluated_together_are_the_points_evaluated_alone() -> None:
    from inometa.glmm import _Quadrature

    taus = [1e-3, 0.45, 1.7]
    starts = [np.array([-2.1]), np.array([-2.3]), np.array([-2.6])]
    q = _Quadrature(_X7, _N7, np.ones((7, 1)), 7)
    together = q.profile_many(taus, starts, 1e-2)
    assert len(together) == 3
    for tau, start, point in zip(taus, starts, together, strict=True):
        alone = _Quadrature(_X7, _N7, np.ones((7, 1)), 7).profile(tau, start, 1e-2)
        assert point.beta[0] == pytest.approx(alone.beta[0], rel=1e-12)
        for name in ("loglik", "slope", "curvature", "step"):
            assert getattr(point, name) == pytest.approx(getattr(alone, name), rel=1e-10), name


@pytest.mark.parametrize(("tau", "tol"), [(0.0, 1e-12), (0.3, 1e-2), (0.3, 1e-12), (2.5, 1e-12)])
def test_the_float_path_without_moderators_is_the_general_one(tau: float, tol: float) -> None:
    from inometa.glmm import _Quadrature

    fast = _Quadrature(_X7, _N7, np.ones((7, 1)), 7)
    general = _Quadrature(_X7, _N7, np.ones((7, 1)), 7)
    general.intercept_only = False
    start = np.array([-2.2])
    a, b = fast.profile(tau, start, tol), general.profile(tau, start, tol)
    assert a.ok == b.ok
    assert a.beta[0] == pytest.approx(b.beta[0], rel=1e-14)
    assert np.allclose(a.hessian, b.hessian, rtol=1e-13, atol=1e-13)
    for name in ("loglik", "slope", "curvature", "step", "loglik_error", "slope_error"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-11, abs=1e-15), name


def test_searches_run_side_by_side_get_their_own_values() -> None:
    # Two Newton searches for square roots, of different lengths: each is sent the value
    # at its own point, and f is called once per round with the points still pending.
    from inometa.glmm import _side_by_side

    def newton_sqrt(a: float, x: float):  # type: ignore[no-untyped-def]
        while True:
            fx = (yield x) - a
            if abs(fx) < 1e-12:
                return x
            x -= fx / (2 * x)

    calls: list[list[float]] = []

    def square(points: list[float]) -> list[float]:
        calls.append(points)
        return [p * p for p in points]

    searches = [newton_sqrt(81.0, 9.0), newton_sqrt(2.0, 1.0)]
    results = _side_by_side(searches, square)  # type: ignore[arg-type]
    assert results[0] == 9.0
    assert results[1] == pytest.approx(math.sqrt(2), rel=1e-12)
    assert calls[0] == [9.0, 1.0]
    assert len(calls) > 2 and all(len(c) == 1 for c in calls[1:])


def test_a_jump_between_maxima_in_beta_ends_the_tau_search_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A profile slope that changes sign without passing through 0 (+1 below τ = 1, −1 from
    # there on), as when β̂(τ) jumps between two maxima in β: the bracket collapses onto
    # τ = 1 with the slope still far from 0. The search stops there, not converged, with a
    # note, instead of evaluating the same point until its iteration limit.
    from inometa import glmm
    from inometa.glmm import _JUMP_NOTE, _locate_tau, _ProfilePoint

    calls = []

    class Steps:
        X = np.ones((3, 1))

        def profile(
            self, tau: float, start: np.ndarray, tol: float = 1e-12, first: object = None
        ) -> _ProfilePoint:
            calls.append(tau)
            slope = 1.0 if tau < 1 else -1.0
            h = np.array([[-1.0, 0.0], [0.0, -1.0]])
            return _ProfilePoint(np.zeros(1), True, 0.0, slope, -1.0, np.zeros(1), h, 0.0, 0.0, 0.0)

    monkeypatch.setattr(glmm, "_normal_approximation", lambda quad: None)
    monkeypatch.setattr(glmm, "_typical_variance", lambda quad, common: 1.0)
    monkeypatch.setattr(glmm, "_first_tau", lambda *args: 0.5)
    common = Steps().profile(0.0, np.zeros(1))
    notes: list[str] = []
    tau, _, _, converged, boundary, ahead = _locate_tau(Steps(), common, notes, 1.92)  # type: ignore[arg-type]
    assert not converged and boundary is None and ahead is None
    assert tau == pytest.approx(1.0, abs=1e-12)
    assert notes == [_JUMP_NOTE]
    assert len(calls) < 100


def test_one_node_with_a_0_and_a_full_study_is_never_silent() -> None:
    # 0/5 and 5/5 with the Laplace approximation: at τ ≈ 14 the likelihood has a saddle at
    # the symmetric β = 0 and higher maxima near β = ±7.6. Which the search meets depends on
    # rounding; either way the result says what is wrong.
    from inometa.glmm import _JUMP_NOTE

    fit = fit_glmm([0, 5], [5, 5], nagq=1)
    if fit.converged:
        assert any("information for β alone is not positive" in s for s in fit.notes)
    else:
        assert fit.notes == (_JUMP_NOTE,)


@pytest.mark.parametrize(("x", "n"), _SEARCH_DATA)
def test_interval_searches_started_ahead_find_the_same_bounds(
    x: list, n: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The searches for the τ² bounds run alongside the last steps of the τ̂ search, on
    # provisional cuts; the bounds must be those of searches started from τ̂ itself.
    from inometa import glmm

    kept_all = []
    kept = glmm._Ahead.kept

    def spy(self: glmm._Ahead, loglik_hat: float) -> tuple[dict, dict]:
        running, finished = kept(self, loglik_hat)
        kept_all.append(len(running) + len(finished) == len(self.walks))
        return running, finished

    monkeypatch.setattr(glmm._Ahead, "kept", spy)
    ahead = fit_glmm(x, n)
    monkeypatch.setattr(glmm._Ahead, "kept", lambda self, loglik_hat: ({}, {}))
    fresh = fit_glmm(x, n)
    assert kept_all == [True]  # the searches started ahead were all kept
    assert ahead.tau2 == fresh.tau2 and ahead.notes == fresh.notes
    for a, b in zip(ahead.tau2_ci, fresh.tau2_ci, strict=True):
        assert a == pytest.approx(b, rel=1e-10, abs=1e-14)


def test_searches_started_ahead_are_kept_only_where_the_final_cut_agrees() -> None:
    # A search run on a provisional cut c is kept under the final cut c′ only if no sign
    # it saw changes (|f| > |c′ − c|). A crossing t* found on c moves by the Newton step
    # (c′ − c)/ℓₚ′(t*) when that is below 1e-7, else it is searched again; "no crossing"
    # stands as it is; a search still running goes on.
    from inometa.glmm import _Ahead, _ProfilePoint

    def one_point(result: float | None):  # type: ignore[no-untyped-def]
        yield 1.0
        return result

    def two_points():  # type: ignore[no-untyped-def]
        yield 1.0
        yield 1.5
        return 1.4

    h = np.array([[-1.0, 0.0], [0.0, -1.0]])
    # ℓ = −5.25 at t = 1, slope −3, curvature −1; with ℓ = −3 at the τ̂ search's point the
    # cut is −3 − drop = −5: f(1) = −0.25
    at_one = _ProfilePoint(np.zeros(1), True, -5.25, -3.0, -1.0, np.zeros(1), h, 0.0, 0.0, 0.0)

    def relocate(t: float) -> _ProfilePoint:
        raise AssertionError("no point here rests on its correction")

    ahead = _Ahead(0.5, [one_point(1.2), two_points()], 2.0, -10.0)
    ahead.feed(0.5, -3.0, [at_one, at_one], relocate)
    assert ahead.points() == [1.5]
    slope_at_result = -3.0 - 1.0 * (1.2 - 1.0)
    assert ahead.kept(-3.0) == ({1: 1.5}, {0: 1.2})
    running, finished = ahead.kept(-3.0 + 1e-9)
    assert running == {1: 1.5}
    assert finished[0] == pytest.approx(1.2 + 1e-9 / slope_at_result, rel=1e-15)
    assert ahead.kept(-3.0 + 1e-3) == ({1: 1.5}, {})  # a step of 3e-4: searched again
    assert ahead.kept(-3.0 + 0.3) == ({}, {})  # f(1) = −0.25 would change sign

    # "no crossing" after values down to f = 0.5 (ℓ = −4.5 at t = 1)
    ahead = _Ahead(0.5, [one_point(None)], 2.0, -10.0)
    ahead.feed(0.5, -3.0, [at_one._replace(loglik=-4.5)], relocate)
    assert ahead.kept(-3.0 + 0.1) == ({}, {0: None})
    assert ahead.kept(-3.0 + 0.15) == ({}, {0: None})
    # ℓ at the start τ̃ more than drop/10 below ℓ̂: nothing is kept (though 0.5 > 0.3)
    assert ahead.kept(-3.0 + 0.3) == ({}, {})


@pytest.mark.parametrize("tau", [1e-3, 0.3, 2.0, 14.0])
@pytest.mark.parametrize("eta", [-30.0, -2.0, 0.5, 25.0])
def test_the_modes_are_the_roots_of_the_integrands_slope(tau: float, eta: float) -> None:
    # ẑᵢ solves τ(xᵢ − nᵢ expit(η + τz)) − z = 0; the reference is scipy's brentq on the
    # bracket [τ(xᵢ − nᵢ), τxᵢ], from a cold start and again from a start far off (the
    # last modes found, at another τ).
    from scipy.optimize import brentq
    from scipy.special import expit

    from inometa.glmm import _Quadrature

    x = np.array([0.0, 1.0, 7.0, 150.0, 300.0])
    n = np.array([5.0, 40.0, 7.0, 300.0, 300.0])
    q = _Quadrature(x, n, np.ones((5, 1)), 7)

    def slope(z: float, xi: float, ni: float) -> float:
        return tau * (xi - ni * expit(eta + tau * z)) - z

    want = [
        brentq(slope, tau * (xi - ni), tau * xi, args=(xi, ni), xtol=1e-15)
        for xi, ni in zip(x, n, strict=True)
    ]
    for _ in range(2):
        zhat, sigma, p = q.modes(np.full(5, eta), tau)
        assert zhat == pytest.approx(want, rel=1e-12, abs=1e-13)
        assert p == pytest.approx(expit(eta + tau * zhat), rel=1e-15)
        assert sigma == pytest.approx(1 / np.sqrt(1 + tau**2 * n * p * (1 - p)), rel=1e-14)
        q.modes(np.full(5, -eta), 3 * tau)  # moves the start far away


def test_a_bound_search_closing_on_a_jump_reports_nan() -> None:
    # f falls from +0.5 to −0.5 at t = 1 without passing through 0 (as ℓₚ does where β̂(τ)
    # switches maxima): the bracket closes on the jump, which is no bound. A smooth
    # crossing with the same bracket is found as usual.
    from inometa.glmm import _Excess, _refine_crossing, _side_by_side

    def step(ts: list[float]) -> list[_Excess]:
        return [_Excess(0.5 if t < 1 else -0.5, -1e-3, 0.0, 0.0) for t in ts]

    def line(ts: list[float]) -> list[_Excess]:
        return [_Excess(1.0 - t, -1.0, 0.0, 0.0) for t in ts]

    a, b = 0.3, 1.7
    jump = _side_by_side([_refine_crossing(a, step([a])[0], b, step([b])[0], 1e-12)], step)
    assert math.isnan(jump[0])  # type: ignore[arg-type]
    smooth = _side_by_side([_refine_crossing(a, line([a])[0], b, line([b])[0], 1e-12)], line)
    assert smooth[0] == pytest.approx(1.0, abs=1e-12)


def test_a_jump_in_the_profile_at_a_bound_is_said() -> None:
    # One node, eleven studies with several at 0% and near 100%: τ̂ ≈ 7.6 on a nearly flat
    # likelihood, and on the way up ℓₚ jumps across the cut (β̂(τ) changes maximum).
    x = [17, 15, 0, 0, 9, 8, 46, 0, 0, 56, 18]
    n = [17, 27, 14, 3, 19, 8, 46, 49, 42, 56, 39]
    fit = fit_glmm(x, n, nagq=1)
    upper = fit.tau2_ci[1]
    jump = any("jumps across the cut" in s for s in fit.notes)
    flat = any("does not fall enough" in s for s in fit.notes)
    # either the jump is met (and said), or the walk stays on one maximum and finds none
    assert (math.isnan(upper) and jump) or (upper == math.inf and flat)
