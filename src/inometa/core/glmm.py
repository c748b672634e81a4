"""The binomial–normal (random-intercept logistic) model, fitted by maximum likelihood.

xᵢ ~ Binomial(nᵢ, expit(Xᵢβ + τzᵢ)), zᵢ ~ N(0, 1), as metafor's ``rma.glmm(measure="PLO",
method="ML")`` (lme4's ``glmer``). Study i contributes Lᵢ = ∫ exp(gᵢ(z)) dz with
gᵢ(z) = log Bin(xᵢ | nᵢ, expit(ηᵢ + τz)) + log φ(z), integrated in one of two ways:

``nagq="exact"`` (the default)
    To about 1e-13: gᵢ'' ≤ −1, so the integrand falls at least as fast as a normal density
    away from its mode; two 20-node Gauss–Legendre panels on each side end where gᵢ has
    fallen by 3 and by 40. Placed by the fall of gᵢ, not by its curvature at the mode, they
    follow the one-sided integrand of a 0/n or n/n study, on which lme4's rule converges
    slowly. Derivatives are integrals of derivatives over the same nodes: exact.
``nagq=k``
    lme4's approximation (``nAGQ = k``; 1 = Laplace) for parity with metafor: k
    Gauss–Hermite nodes at the mode, scaled by (−gᵢ'')^(−½) there; its gradient includes how
    the nodes move, its Hessian is a forward difference of the gradient, and a note says
    when one Newton step on the exact likelihood moves τ̂² by more than 0.1%.

β̂(τ) is found by Newton steps (ℓ is concave in β), τ̂ as the root of the profile slope by
bracketed Newton steps in τ². ℓ is even in τ, with curvature Σᵢ[(xᵢ − nᵢp̂ᵢ)² − nᵢp̂ᵢ(1 − p̂ᵢ)]
at τ = 0; where that is ≤ 0, τ̂² = 0 unless ℓₚ is higher on a grid of τ. The covariance of
β̂ is the inverse observed information in (β, τ), as lme4's; the τ² interval is a profile-
likelihood interval. τ̂² = 0, all studies at 0 (or n) events, separation by a moderator and
a likelihood rising without bound in τ (stopped at τ = 15) give results with notes.

The quadrature is :mod:`inometa.core.glmm_quadrature`. The searches for the two bounds of
the interval, and the grid of τ, are evaluated side by side, one stacked pass per step.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from typing import NamedTuple, TypeVar, cast

import numpy as np
import numpy.typing as npt
from scipy.special import expit, xlogy

from .._distributions import chi2_ppf
from .glmm_quadrature import Evaluation, Likelihood, Nagq
from .tau2 import estimate_tau2

__all__ = ["GlmmFit", "Nagq", "check_nagq", "fit_glmm", "glmm_loglik"]

FloatArray = npt.NDArray[np.float64]
_Likelihood = Likelihood  # (the name tests/test_glmm.py imports)
T = TypeVar("T")
# A search asks for evaluations at (β, τ) and returns its result: run one by one (_run) or
# several side by side, each asking in turn, in one stacked pass (_run_together).
Search = Generator[tuple[FloatArray, float], Evaluation, T]

_TAU_MAX = 15.0  # logits: ±2 SD span proportions from 1e-13 to 1 − 1e-13
_BETA_BOUND = 25.0  # a linear predictor beyond this means separation
_BETA_TOL = 1e-10  # β̂ where it is reported (relative)
_TAU_TOL = 1e-12  # τ̂ (relative to 1 + τ)
_SENSITIVE = 1e-3  # a change in τ̂² under the exact likelihood that gets a note
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class GlmmFit:
    """A fitted binomial–normal model (model scale: logit).

    Attributes
    ----------
    beta, vcov
        Coefficients (β₀: the mean logit without moderators), covariance (inf at a boundary).
    tau2, tau2_ci
        Between-study variance (logit scale) and its profile-likelihood interval.
    loglik, loglik_common, loglik_saturated
        Log-likelihoods (with binomial coefficients): fitted, τ = 0, saturated binomial.
    beta_common, vcov_common
        Common-effect (fixed-effect logistic regression) coefficients and covariance.
    nagq, iterations, converged
        ``"exact"`` or lme4's node count; profile points evaluated; False if not located.
    boundary, notes
        None, ``"tau2=0"``, ``"all-zero"``, ``"all-full"``, ``"tau-unbounded"`` or
        ``"separation"``; plain-language notes on anything unusual.
    """

    beta: FloatArray
    vcov: FloatArray
    tau2: float
    tau2_ci: tuple[float, float]
    loglik: float
    loglik_common: float
    loglik_saturated: float
    beta_common: FloatArray
    vcov_common: FloatArray
    nagq: Nagq
    iterations: int
    converged: bool
    boundary: str | None
    notes: tuple[str, ...] = field(default=())

    @property
    def mu(self) -> float:
        """The first coefficient (the mean logit in a model without moderators)."""
        return float(self.beta[0])

    @property
    def se(self) -> float:
        """Standard error of the first coefficient."""
        return float(np.sqrt(self.vcov[0, 0]))

    @property
    def mu_common(self) -> float:
        """Common-effect first coefficient."""
        return float(self.beta_common[0])

    @property
    def se_common(self) -> float:
        """Standard error of the common-effect first coefficient."""
        return float(np.sqrt(self.vcov_common[0, 0]))


class _Point(NamedTuple):
    """The profile at τ: β̂(τ), ℓₚ, dℓₚ/dτ, d²ℓₚ/dτ², dβ̂/dτ, the evaluation, the error of β̂
    (relative: 10δ², inf if not located), corrected to second order in the Newton step δ not
    taken (β̂ = β + δ, ℓₚ = ℓ + ½g_β·δ, slope = g_τ + H_τβ·δ)."""

    tau: float
    beta: FloatArray
    loglik: float
    slope: float
    curvature: float
    dbeta: FloatArray
    ok: bool
    ev: Evaluation
    err: float


def _solve(a: FloatArray, b: FloatArray) -> FloatArray:
    """a⁻¹b, NaN if a is singular (np.linalg.solve costs ~10 µs more on a 1 × 1 system)."""
    if a.shape == (1, 1):
        return b / float(a[0, 0]) if a[0, 0] else np.full(b.shape, np.nan)
    try:
        return np.asarray(np.linalg.solve(a, b), dtype=float)
    except np.linalg.LinAlgError:
        return np.full(b.shape, np.nan)


def _profile(lik: Likelihood, tau: float, start: FloatArray, tol: float) -> Search[_Point]:
    """β̂(τ) to ``tol`` (relative) by Newton steps with step halving."""
    p = start.size
    beta, ok = start, True
    ev = yield start, tau
    for _ in range(100):
        step = _solve(ev.hess[:p, :p], -ev.grad[:p])
        ascent = float(step @ ev.grad[:p])  # (NaN or ±inf if the step is not finite)
        newton = math.isfinite(ascent) and ascent >= 0
        if not newton:
            step = ev.grad[:p] / max(1.0, sum(map(abs, ev.grad[:p].tolist())))
        # (max and sum over lists: ~1 µs less than numpy's on these few numbers)
        size = max(map(abs, step.tolist())) / (1 + max(map(abs, beta.tolist())))
        # β + δ is within ~δ² of β̂: once that is below tol no evaluation is needed
        if size <= tol or (newton and size * size <= 0.1 * tol):
            break
        t = 1.0
        while True:
            trial = yield beta + t * step, tau
            if trial.loglik >= ev.loglik - 1e-12 * abs(ev.loglik) or t < 1e-6:
                break
            t /= 2
        beta, ev = beta + t * step, trial
        if max(map(abs, (lik.X @ beta).tolist())) > _BETA_BOUND:
            ok, step = False, np.zeros(p)
            break
    else:
        ok, step = False, np.zeros(p)
    h_bb, h_bt = ev.hess[:p, :p], ev.hess[:p, p]
    if not math.isfinite(sum((dbeta := -_solve(h_bb, h_bt)).tolist())):
        dbeta, ok = np.zeros(p), False
    err = (min(size, 10 * size * size) if newton else size) if ok else math.inf
    return _Point(
        tau, beta + step, ev.loglik + 0.5 * float(ev.grad[:p] @ step),
        float(ev.grad[p] + h_bt @ step), float(ev.hess[p, p] + h_bt @ dbeta), dbeta, ok, ev, err,
    )  # fmt: skip


class _Path:
    """Profile points so far; a new one starts from the nearest, moved along dβ̂/dτ."""

    def __init__(self, lik: Likelihood, first: _Point) -> None:
        self.lik, self.points = lik, [first]

    def at(self, tau: float, tol: float | None = None) -> _Point:
        """The point at τ, β̂ located by default to 1% of the distance to the nearest point
        (1e-10…1e-3): far from it the searches need only the slope's sign and size."""
        return _run(self.lik, self.steps(tau, tol))

    def steps(self, tau: float, tol: float | None = None) -> Search[_Point]:
        """:meth:`at` as a search."""
        near = min(self.points, key=lambda q: abs(q.tau - tau))
        if tol is None:
            tol = min(1e-3, max(1e-10, 1e-2 * abs(tau - near.tau)))
        point = yield from _profile(self.lik, tau, near.beta + (tau - near.tau) * near.dbeta, tol)
        self.points.append(point)
        return point


def _run(lik: Likelihood, search: Search[T]) -> T:
    """The result of a search, evaluating each (β, τ) it asks for."""
    try:
        request = next(search)
        while True:
            request = search.send(lik.at(*request))
    except StopIteration as stop:
        return cast(T, stop.value)


def _run_together(lik: Likelihood, searches: list[Search[T]]) -> list[T]:
    """The results of independent searches run side by side, their requests evaluated in
    one stacked pass; a search that has finished repeats its last request."""
    results: list[T | None] = [None] * len(searches)
    slots, requests = [], []
    for i, search in enumerate(searches):
        try:
            requests.append(next(search))
            slots.append(i)
        except StopIteration as stop:
            results[i] = stop.value
    running = set(slots)
    while running:
        betas, taus = np.array([r[0] for r in requests]), np.array([r[1] for r in requests])
        for slot, (i, ev) in enumerate(zip(slots, lik.at_many(betas, taus), strict=True)):
            if i in running:
                try:
                    requests[slot] = searches[i].send(ev)
                except StopIteration as stop:
                    results[i] = stop.value
                    running.discard(i)
    return cast(list[T], results)


def glmm_loglik(
    mu: float, tau2: float, events: npt.ArrayLike, n: npt.ArrayLike, nagq: Nagq = "exact"
) -> float:
    """Marginal log-likelihood of the binomial–normal model (no moderators).

    Parameters
    ----------
    mu, tau2
        Mean logit and between-study variance.
    events, n
        Event counts and totals.
    nagq
        ``"exact"`` (default) or a number of lme4's adaptive Gauss–Hermite nodes.

    Examples
    --------
    >>> from scipy import stats  # τ² = 0: the binomial likelihood at p = expit(μ)
    >>> bool(np.isclose(glmm_loglik(0.0, 0.0, [3], [10]), stats.binom.logpmf(3, 10, 0.5)))
    True
    """
    x = np.asarray(events, float)
    lik = Likelihood(x, np.asarray(n, float), np.ones((x.size, 1)), check_nagq(nagq))
    return lik.at(np.array([mu]), math.sqrt(tau2), hessian=False).loglik


def check_nagq(nagq: object) -> Nagq:
    """``"exact"`` or a whole number of nodes from 1 to 100 (lme4's limit), else ValueError.

    Examples
    --------
    >>> check_nagq("exact"), check_nagq(7)
    ('exact', 7)
    """
    if nagq == "exact":
        return "exact"
    number = isinstance(nagq, (int, float, np.integer)) and not isinstance(nagq, bool)
    if number and float(nagq).is_integer() and 1 <= nagq <= 100:  # type: ignore[arg-type,operator]
        return int(nagq)  # type: ignore[call-overload,no-any-return]
    raise ValueError(f"nagq must be 'exact' or a whole number of nodes from 1 to 100, got {nagq!r}")


def fit_glmm(
    events: npt.ArrayLike, n: npt.ArrayLike, *, X: npt.ArrayLike | None = None,
    nagq: Nagq = "exact", level: float = 0.95, tau2_fixed: float | None = None,
) -> GlmmFit:  # fmt: skip
    """Fit the binomial–normal model by maximum likelihood.

    Parameters
    ----------
    events, n
        Validated event counts and totals.
    X
        Optional k × p design matrix (default: intercept only).
    nagq
        ``"exact"`` (default), or lme4's adaptive Gauss–Hermite approximation with that
        many nodes (1 = Laplace; metafor's ``rma.glmm`` uses 7), for parity with metafor.
    level
        Level of the profile-likelihood interval for τ².
    tau2_fixed
        Hold τ² at this value and estimate β only (its covariance is conditional on τ²).

    Returns
    -------
    GlmmFit

    Examples
    --------
    >>> fit = fit_glmm([2, 8, 15], [20, 25, 30])
    >>> fit.tau2 > 0, fit.converged, fit.nagq
    (True, True, 'exact')
    """
    rule = check_nagq(nagq)
    x, m = np.asarray(events, dtype=float), np.asarray(n, dtype=float)
    Xd = np.ones((x.size, 1)) if X is None else np.asarray(X, dtype=float)
    # As metafor's rma.glmm (scaleX): fit with standardised continuous moderators and map
    # the coefficients back, so that a moderator such as the year (≈ 2000) does not make
    # the intercept enormous and the optimisation ill-conditioned.
    shift, scale = np.zeros(Xd.shape[1]), np.ones(Xd.shape[1])
    for j in range(1, Xd.shape[1]):
        if not np.all(np.isin(Xd[:, j], (0.0, 1.0))):
            shift[j], scale[j] = float(np.mean(Xd[:, j])), float(np.std(Xd[:, j], ddof=1))
    fit = _fit(x, m, (Xd - shift) / scale, rule, level, tau2_fixed)
    if np.all(shift == 0) and np.all(scale == 1):
        return fit
    back = np.diag(1 / scale)
    back[0, 1:] = -shift[1:] / scale[1:]
    b, bc = back @ fit.beta, back @ fit.beta_common
    vcov, vcov_c = back @ fit.vcov @ back.T, back @ fit.vcov_common @ back.T
    return replace(fit, beta=b, vcov=vcov, beta_common=bc, vcov_common=vcov_c)


def _fit(
    x: FloatArray, m: FloatArray, Xd: FloatArray, nagq: Nagq, level: float, tau2_fixed: float | None
) -> GlmmFit:
    p = Xd.shape[1]
    notes: list[str] = []
    lik = Likelihood(x, m, Xd, nagq)
    ll_sat = float((lik.logc + _LOG_SQRT_2PI + xlogy(x, x / m) + xlogy(m - x, 1 - x / m)).sum())
    total_x, total_n = float(x.sum()), float(m.sum())
    if total_x in (0.0, total_n):
        zero = total_x == 0
        notes.append(
            f"every study has {'0' if zero else 'n'} events: the maximum-likelihood "
            f"proportion is {'0' if zero else '1'} (logit {'-inf' if zero else 'inf'}), τ² is "
            "not identifiable and is reported as 0; the confidence interval is the "
            "Clopper–Pearson interval of the pooled counts"
        )
        beta, inf = np.full(p, np.nan), np.full((p, p), np.inf)
        beta[0] = -np.inf if zero else np.inf
        return GlmmFit(
            beta, inf, 0.0, (math.nan, math.nan), ll_sat, ll_sat, ll_sat, beta.copy(),
            inf.copy(), nagq, 0, True, "all-zero" if zero else "all-full", tuple(notes),
        )  # fmt: skip

    start = np.linalg.lstsq(Xd, np.full(x.size, math.log(total_x / (total_n - total_x))))[0]
    common = _run(lik, _profile(lik, 0.0, start, _BETA_TOL))
    vcov_fe = _inverse(-common.ev.hess[:p, :p])

    def done(
        hat: _Point | None, vcov: FloatArray, ci: tuple[float, float] = (math.nan, math.nan),
        converged: bool = True, boundary: str | None = None,
    ) -> GlmmFit:  # fmt: skip
        beta, ll = (hat.beta, hat.loglik) if hat else (np.full(p, np.nan), math.nan)
        tau2 = math.nan if hat is None else hat.tau**2 if tau2_fixed is None else tau2_fixed
        iterations = len(path.points) - 1 if tau2_fixed is None else 0
        return GlmmFit(
            beta, vcov, float(tau2), ci, ll, common.loglik, ll_sat, common.beta, vcov_fe,
            nagq, iterations, converged, boundary, tuple(notes),
        )  # fmt: skip

    path = _Path(lik, common)
    if not common.ok:
        notes.append(
            "a moderator level has all its studies at 0 or at n events (separation): its "
            "coefficient is unbounded and the model cannot be estimated as specified"
        )
        return done(None, np.full((p, p), np.nan), converged=False, boundary="separation")
    if tau2_fixed is not None:
        fixed = path.at(math.sqrt(tau2_fixed), _BETA_TOL)
        vcov = vcov_fe if tau2_fixed == 0 else _inverse(-fixed.ev.hess[:p, :p])
        return done(fixed, vcov, converged=fixed.ok, boundary=None if fixed.ok else "separation")

    hat, converged, boundary = _locate_tau(lik, path, notes)

    def interval() -> tuple[float, float]:
        """Where ℓₚ crosses ℓ̂ − χ²/2 nearest to τ̂ (0 below if ℓₚ(0) is above the cut)."""
        cut = hat.loglik - chi2_ppf(level, 1) / 2
        said: tuple[list[str], list[str]] = ([], [])  # each search's notes, kept in order
        bounds = [0.0, math.inf]
        sides = [side for side, on in enumerate((common.loglik < cut, hat.tau < _TAU_MAX)) if on]
        searches = [_crossing(path, hat, side == 0, cut, said[side]) for side in sides]
        for side, bound in zip(sides, _run_together(lik, searches), strict=True):
            bounds[side] = bound
        notes.extend(said[0] + said[1])
        return bounds[0] ** 2, bounds[1] ** 2

    if hat.tau == 0:
        notes.append("no extra-binomial variation: τ² is estimated at its boundary, 0")
        # ℓ is even in τ: at τ = 0 the information in (β, τ) is block-diagonal
        return done(common, vcov_fe, interval(), True, "tau2=0")
    if converged:
        if hat.err > _BETA_TOL:
            hat = path.at(hat.tau, _BETA_TOL)
        if nagq != "exact":  # a note if the exact likelihood moves τ̂² by more than 0.1%
            ev = Likelihood(x, m, Xd, "exact").at(hat.beta, hat.tau)
            moved = (hat.tau - float(np.linalg.lstsq(ev.hess, ev.grad)[0][-1])) ** 2
            if abs(moved - hat.tau**2) > _SENSITIVE * hat.tau**2:
                notes.append(
                    f"with nagq = {nagq} (lme4's adaptive Gauss–Hermite approximation) τ̂² = "
                    f"{hat.tau**2:.4g}; the exact likelihood puts it near {moved:.4g}: use "
                    "nagq='exact' (the default) unless parity with metafor/lme4 is the aim"
                )
    vcov = _covariance(-hat.ev.hess, p, notes)
    ci = interval() if converged else (math.nan, math.nan)
    return done(hat, vcov, ci, converged, boundary)


def _inverse(info: FloatArray) -> FloatArray:
    try:
        return np.asarray(np.linalg.inv(info), dtype=float)
    except np.linalg.LinAlgError:  # (singular: NaN, explained by the caller's notes)
        return np.full(info.shape, np.nan)


def _covariance(info: FloatArray, p: int, notes: list[str]) -> FloatArray:
    """The covariance of β̂: the (β, β) block of the inverse information in (β, τ)."""
    if np.all(np.isfinite(info)) and np.all(np.linalg.eigvalsh(info) > 0):
        return _inverse(info)[:p, :p]
    notes.append(
        "the observed information in (β, τ) is not positive definite; the covariance "
        "of β̂ ignores the uncertainty in τ"
    )
    vcov = _inverse(info[:p, :p])
    if np.all(np.diag(vcov) > 0):
        return vcov
    notes.append(
        "the information for β alone is not positive either (the likelihood is too flat): "
        "the standard error and confidence interval of the pooled value are undefined"
    )
    return np.full((p, p), np.nan)


_GRID = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def _locate_tau(lik: Likelihood, path: _Path, notes: list[str]) -> tuple[_Point, bool, str | None]:
    """The maximum of ℓₚ in τ ≥ 0: (the point, converged, boundary). Where ℓₚ curves down
    at τ = 0, τ̂ = 0 unless a grid point is higher (the search then starts in its bracket);
    else from the normal approximation's τ̂. Newton steps in τ² double τ until the slope
    turns negative, and give way to bisection outside the bracket or when they do not halve.
    """
    common = path.points[0]
    lo, hi = 0.0, math.inf
    if common.curvature <= 0:
        grid = _run_together(lik, [path.steps(t) for t in _GRID])  # (in one stacked pass)
        best = max(grid, key=lambda q: q.loglik)
        if best.loglik <= common.loglik + 1e-9 * (1 + abs(common.loglik)):
            return common, True, "tau2=0"
        i = grid.index(best)  # ℓₚ rises from a dip to the best grid point
        if best.slope > 0:
            lo, hi = best.tau, grid[i + 1].tau if i + 1 < len(grid) else math.inf
        else:
            lo, hi = grid[i - 1].tau if i > 0 else 1e-3, best.tau
        tau = best.tau
    else:  # from the normal–normal ML τ̂ of the logits (+½): only the speed depends on it
        yi, vi = np.log((lik.x + 0.5) / (lik.n - lik.x + 0.5)), 1 / (lik.x + 0.5)
        vi += 1 / (lik.n - lik.x + 0.5)
        X = lik.X if lik.X.shape[1] > 1 else None
        tau2 = estimate_tau2(yi, vi, "ML", X, tol=1e-6).tau2  # (a start: 1e-6 will do)
        tau = min(math.sqrt(tau2), _TAU_MAX) if tau2 > 1e-4 else 0.5
    p = expit(lik.X @ common.beta)
    v = float(np.mean(1 / (lik.n * (p - p * p))))  # typical within-study variance
    last = math.inf
    for _ in range(200):
        point = path.at(tau)
        if not point.ok:
            break
        lo, hi = (max(lo, tau), hi) if point.slope > 0 else (lo, min(hi, tau))
        newton = _tau_newton(tau, point.slope, point.curvature, v)
        close = 1e-8 if point.err <= 1e-16 else _TAU_TOL  # (δ ≲ 3e-9: the Hessian is exact)
        if point.slope == 0 or abs(newton - tau) <= close * (1 + tau):
            if point.loglik >= common.loglik:  # the last step (error ~1e-16) is not evaluated
                d = newton - tau if point.slope else 0.0
                ll = point.loglik + d * (point.slope + 0.5 * d * point.curvature)
                beta = point.beta + d * point.dbeta
                return point._replace(tau=tau + d, beta=beta, loglik=ll, slope=0.0), True, None
            notes.append("the likelihood is highest at τ² = 0")
            return common, True, "tau2=0"
        if math.isinf(hi):
            if tau >= _TAU_MAX:
                notes.append(
                    "the likelihood keeps increasing with τ (e.g. only 0% and 100% studies): "
                    f"τ is stopped at {_TAU_MAX:g} on the logit scale and the estimates are "
                    "not interpretable"
                )
                return point, False, "tau-unbounded"
            nxt = newton if tau < newton < min(2 * tau, _TAU_MAX) else min(2 * tau, _TAU_MAX)
        elif lo < newton < hi and abs(newton - tau) <= 0.5 * abs(last):
            nxt = newton
        else:
            nxt = 0.5 * (lo + hi)
        if hi - lo <= _TAU_TOL * (1 + lo):
            break  # the slope changes sign without passing through 0: β̂(τ) jumps
        last, tau = nxt - tau, nxt
    notes.append(
        "τ̂ could not be located: the profile likelihood jumps between separate maxima in β "
        "(the likelihood of these data is nearly flat and not concave in β); the estimates "
        "are not a maximum of the likelihood"
    )
    return point, False, None


def _tau_newton(tau: float, slope: float, curvature: float, v: float) -> float:
    """Newton's step for the root of ψ(τ²) = (dℓₚ/dτ²)(v + τ²)² (NaN if not towards a
    maximum): ψ is linear in τ² for a normal model with equal variances v, and nearly so
    here, whereas steps on the convex slope in τ creep up on τ̂ from below."""
    t2, q = tau * tau, slope / (2 * tau)  # q = dℓₚ/dτ²
    dq = (curvature * tau - slope) / (4 * t2 * tau)  # d²ℓₚ/d(τ²)²
    den = dq * (v + t2) + 2 * q  # dψ/dτ² / (v + τ²)
    if not den < 0:
        return tau - slope / curvature if curvature < 0 else math.nan
    return math.sqrt(new_t2) if (new_t2 := t2 - q * (v + t2) / den) > 0 else math.nan


def _crossing(
    path: _Path, inner: _Point, below: bool, cut: float, notes: list[str]
) -> Search[float]:
    """τ below or above τ̂ (``inner``) where ℓₚ = cut, nearest to τ̂: steps solve the local
    quadratic model ℓₚ + sΔ + ½cΔ² = cut in log τ (cubic convergence; ℓₚ is nearly
    symmetric in log τ, so the first step lands near both bounds) inside the bracket."""
    a, b = inner.tau, (0.0 if below else math.inf)  # ℓₚ(a) ≥ cut; the crossing is towards b
    point = inner
    for _ in range(100):
        t = point.tau
        f, s, c = point.loglik - cut, t * point.slope, t * t * point.curvature + t * point.slope
        disc = s * s - 2 * c * f
        # the model's root nearest to τ (stable form); at τ̂ (s = 0) the one towards b
        side = (1.0 if below else -1.0) if point is inner else math.copysign(1.0, s)
        if c < 0 and disc >= 0:
            step = -2 * f / (s + side * math.sqrt(disc)) if s or disc else math.nan
        else:
            step = -f / s if s else math.nan
        nxt = t * math.exp(step) if step < 700 else math.inf
        # the error after a step Δ of the quadratic model is ~Δ³ (and ~δ³ from β̂'s error δ)
        close = 1e-4 if c < 0 and disc >= 0 and point.err <= 1e-6 else 1e-10
        if point is not inner and abs(nxt - t) <= close * (1 + t):
            return nxt
        if not min(a, b) < nxt < max(a, b):
            nxt = 0.5 * (a + b) if math.isfinite(b) else 2 * max(point.tau, 0.5)
        if not below and nxt >= _TAU_MAX:
            nxt = _TAU_MAX
            if point.tau == _TAU_MAX:
                notes.append(
                    "the upper bound of the τ² interval is not reached by τ = 15 on the logit "
                    "scale: it is reported as infinite"
                )
                return math.inf
        if math.isfinite(b) and abs(b - a) <= 1e-10 * (1 + abs(b)):
            notes.append(
                "a bound of the τ² interval could not be located: the profile likelihood jumps "
                "there (it is nearly flat and not concave in β); it is reported as NaN"
            )
            return math.nan
        point = yield from path.steps(nxt)
        a, b = (nxt, b) if point.loglik >= cut else (a, nxt)
    return math.nan
