#!/usr/bin/env python
"""Independent exact-ML reference for the binomial-normal (logit) GLMM.

Accuracy (observed on 2026-12-05, numpy 2.4.6, scipy 1.17.1, mpmath 1.3.0):
* Study integrals vs mpmath.quad at 40 digits (10 hard cases, n up to 300,
  tau up to 15, x in {0, 1, n/2, n-1, n}): log L_i, E[r], E[r z] agree to
  <= 4e-16 (scipy quad) and <= 7e-15 (fast rule), after log C(n,x) is taken
  from the exact integer (with gammaln it was off by ~2e-13).
* Every set: tau_hat from the fast rule vs the quad re-solve differ by
  <= 1.5e-12 relative (4.9e-12 absolute in tau), beta by <= 1.7e-11 absolute;
  CI limits: quad Newton correction <= 3e-12 in tau; the integration-by-parts
  identity tau E[rz] = E[z^2] - 1 holds to <= 2e-12.
* `--selfcheck`: (a) whole pipeline re-run on 27 sets (every 7th) with W = 14,
  quad epsrel 2e-14, 30-node GL with panel ratio 1.25: max relative change
  tau2 6.9e-14, beta 1.4e-14, CI 8.6e-14, se_beta 3.4e-11; loglik 1.4e-14
  absolute.  (b) score of the likelihood at the reported MLE by mpmath.quad at
  30 digits for 10 sets, turned into a Newton correction: |d tau2|/tau2
  <= 4.6e-14, |d beta|/|beta| <= 2.7e-14, loglik within 2.1e-14.
  So tau2 and beta are accurate to ~1e-12 relative or better (target 1e-8).
* Full run: 270-320 s on one core (185 sets).

Model (metafor rma.glmm(measure="PLO", method="ML"); lme4 glmer random-intercept
logistic regression):

    x_i ~ Binomial(n_i, expit(X_i beta + tau z_i)),   z_i ~ N(0, 1),
    L_i(beta, tau) = int C(n_i, x_i) p(z)^x_i (1 - p(z))^(n_i - x_i) phi(z) dz,
    loglik = sum_i log L_i   (binomial coefficients included).

Written from the model definition only; it does not import inometa.
Dependencies: numpy, scipy (and mpmath, optional, for the cross-check only).

Run from the repository root:

    python tests/reference/glmm_exact_reference.py [OUTFILE]

(default OUTFILE: tests/reference/glmm_exact_reference.json).

Method
------
Integrand for one study, as a function of z (eta = X_i beta, t = eta + tau z):

    f(z)  = x log p(t) + (n - x) log(1 - p(t)) - z^2 / 2,
    f'(z) = tau (x - n p) - z,     f''(z) = -tau^2 n p (1 - p) - 1 <= -1.

The mode z* is the unique root of f' (it lies in [tau (x - n), tau x]); it is
found by safeguarded Newton/bisection.  Because f'' <= -1 everywhere,
exp(f(z) - f(z*)) <= exp(-(z - z*)^2 / 2), so the window z* +- W with W = 11
leaves out less than 2 Phi(-11) sqrt(2 pi) ~ 1e-27 (relative to the peak) of
mass, far below 1e-16 of any study's integral for n <= 300, tau <= 15.  The
integrand is always scaled by exp(f(z*)), so nothing underflows.

Two independent quadratures of the same scaled integrand are used:

* "quad": scipy.integrate.quad (QUADPACK QAGP, adaptive Gauss-Kronrod 21) on
  [z* - W, z* + W] with breakpoints z* + s*{-8,-3,-1,0,1,3,8} (s = 1/sqrt(-f''(z*))),
  epsrel = 1e-13, one call per study and per moment.  This is the method of
  record: the reported tau2, beta, loglik and se_beta are computed with it.
* "fast": a fixed composite 20-point Gauss-Legendre rule on panels whose edges
  grow geometrically away from the mode (edges z* +- s*t, t = 0, .25, ..., 8,
  then x sqrt(2), clipped at W), vectorised across studies.  It is used for the
  tau grid scan, to bracket every root, and for the profile-likelihood
  confidence limits (which are then checked with "quad").

Per study the following moments of the normalised integrand are used
(r = x - n p, v = n p (1 - p)):
    d log L / d eta          = E[r]
    d2 log L / d eta2        = E[r^2 - v] - E[r]^2
    d log L / d tau          = E[r z]
    d2 log L / d eta d tau   = E[(r^2 - v) z] - E[r] E[r z]
    d2 log L / d tau2        = E[(r^2 - v) z^2] - E[r z]^2
(also E[z^2]; integration by parts gives tau E[r z] = E[z^2] - 1, used as a
check of the quadrature.)  At tau = 0 everything is the closed-form logistic
likelihood.

beta_hat(tau): Newton's method (l is concave in beta), step-halving safeguard,
iterated to |step| < 1e-10 (1 + |beta|) and then one more step.
Profile l_p(tau) = l(beta_hat(tau), tau); by the envelope theorem
d l_p / d tau = dl/dtau at beta_hat(tau).  Note l is even in tau, so the slope
is exactly 0 at tau = 0 and the sign "just above 0" is the sign of the profile
curvature at 0, which equals sum_i (r_i^2 - v_i) at beta_hat(0) (the
cross-derivative vanishes at tau = 0).

Maximisation over tau in [0, 15]: slope and l_p on a grid (dense near 0); every
+/- sign change of the slope is a local maximum, solved by brentq (fast rule,
xtol 1e-12), then re-solved by brentq with the "quad" slope on a tight
bracket around it (expanded if needed).  tau = 0 is a candidate when the
curvature at 0 is <= 0.  The MLE is the candidate with the highest l_p;
"unbounded" if the slope is still > 0 at tau = 15 and l_p(15) is the highest.

Profile-likelihood 95% CI for tau^2: nearest crossings (on each side of
tau_hat) of l_p(tau) = l_p(tau_hat) - qchisq(.95, 1)/2, located on the grid and
solved by brentq (fast rule, xtol 1e-12); lower = 0 when l_p(0) is above the cut
(tau_hat = 0 included); upper = null when the cut is not reached by tau = 15.
Each limit is then checked with "quad": a Newton correction
(l_p,quad(tau_c) - cut_quad) / slope_quad(tau_c) is computed and its size is
recorded (method.ci_quad_correction).

se_beta: sqrt(diag(inverse observed information)) with the observed information
= minus the exact Hessian of l in (beta, tau) from the moment integrals above
("quad"); for tau_hat = 0 the information in beta alone (closed form).  The
beta-block of the inverse is the same whether tau or tau^2 is the parameter.
se_tau2 = 2 tau_hat se(tau) (delta method) is also given (null at tau_hat = 0).
"""

import json
import math
import os
import sys
import time
import warnings

import numpy as np
import scipy
from scipy import integrate, optimize, special, stats

SEED = 20261205
W_HALF = 11.0  # half-width of the z window around the mode
GL_NODES = 20  # Gauss-Legendre nodes per panel ("fast" rule)
QUAD_EPSREL = 1e-13  # scipy.integrate.quad relative tolerance
QUAD_LIMIT = 400
BRENT_XTOL = 1e-12
TAU_MAX = 15.0
NEWTON_TOL = 1e-10
CHI2_HALF = float(stats.chi2.ppf(0.95, 1) / 2.0)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)

# tau grid for the scan: dense near 0, then every 0.25
TAU_GRID = np.concatenate(
    [
        [0.0],
        np.geomspace(0.002, 0.1, 9),
        np.arange(0.15, 1.0, 0.05),
        np.arange(1.0, TAU_MAX + 1e-9, 0.25),
    ]
)

# panel template (in units of s) for the fast rule
_T = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0]
while _T[-1] < 3000.0:
    _T.append(_T[-1] * math.sqrt(2.0))
PANEL_T = np.array(_T)
_GLX, _GLW = np.polynomial.legendre.leggauss(GL_NODES)


def set_rule(nodes, ratio=math.sqrt(2.0)):
    """Change the fast rule (used only for the tighter-rule self check)."""
    global _GLX, _GLW, PANEL_T
    _GLX, _GLW = np.polynomial.legendre.leggauss(nodes)
    t = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0]
    while t[-1] < 3000.0:
        t.append(t[-1] * ratio)
    PANEL_T = np.array(t)


def softplus(t):
    return np.logaddexp(0.0, t)


def log_choose(n, x):
    """log C(n, x) from the exact integer (correctly rounded log)."""
    n = np.asarray(n)
    x = np.asarray(x)
    vals = [math.log(math.comb(int(a), int(b))) for a, b in zip(n.ravel(), x.ravel(), strict=False)]
    return np.array(vals).reshape(n.shape) if n.ndim else vals[0]


# ---------------------------------------------------------------------------
# study integrals
# ---------------------------------------------------------------------------


def modes(x, n, eta, tau):
    """Mode of f(z) for each study (tau > 0), safeguarded Newton."""
    lo = tau * (x - n)
    hi = tau * x
    z = np.clip(np.zeros_like(eta), lo, hi)
    for _ in range(300):
        p = special.expit(eta + tau * z)
        g = tau * (x - n * p) - z
        lo = np.where(g > 0, z, lo)
        hi = np.where(g < 0, z, hi)
        dg = -(tau * tau * n * p * (1.0 - p)) - 1.0
        zn = z - g / dg
        bad = ~((zn > lo) & (zn < hi))
        zn = np.where(bad & (g != 0), 0.5 * (lo + hi), np.where(g == 0, z, zn))
        done = np.all(np.abs(zn - z) <= 1e-15 * (1.0 + np.abs(z)))
        z = zn
        if done:
            break
    p = special.expit(eta + tau * z)
    s = 1.0 / np.sqrt(1.0 + tau * tau * n * p * (1.0 - p))
    return z, s


def f_of(z, x, n, eta, tau):
    t = eta + tau * z
    return -x * softplus(-t) - (n - x) * softplus(t) - 0.5 * z * z


def moments_tau0(x, n, eta):
    p = special.expit(eta)
    r = x - n * p
    v = n * p * (1.0 - p)
    logl = log_choose(n, x) - x * softplus(-eta) - (n - x) * softplus(eta)
    zero = np.zeros_like(eta)
    return dict(
        logl=logl,
        Er=r,
        Er2v=r * r - v,
        Erz=zero,
        Er2vz=zero,
        Er2vz2=r * r - v,
        Ez2=np.ones_like(eta),
    )


def moments_fast(x, n, eta, tau):
    if tau == 0.0:
        return moments_tau0(x, n, eta)
    zs, s = modes(x, n, eta, tau)
    fs = f_of(zs, x, n, eta, tau)
    edges = np.minimum(s[:, None] * PANEL_T[None, :], W_HALF)  # (k, P+1)
    a, b = edges[:, :-1], edges[:, 1:]
    keep = np.any(b > a, axis=0)
    a, b = a[:, keep], b[:, keep]
    half = 0.5 * (b - a)
    mid = 0.5 * (b + a)
    off = mid[:, :, None] + half[:, :, None] * _GLX[None, None, :]
    wts = half[:, :, None] * _GLW[None, None, :]
    k = len(eta)
    off = off.reshape(k, -1)
    wts = wts.reshape(k, -1)
    Z = np.concatenate([zs[:, None] + off, zs[:, None] - off], axis=1)
    Wt = np.concatenate([wts, wts], axis=1)
    xx, nn, ee = x[:, None], n[:, None], eta[:, None]
    t = ee + tau * Z
    lp = -softplus(-t)
    lq = -softplus(t)
    f = xx * lp + (nn - xx) * lq - 0.5 * Z * Z
    w = Wt * np.exp(f - fs[:, None])
    J = w.sum(axis=1)
    p = np.exp(lp)
    r = xx - nn * p
    v = nn * np.exp(lp + lq)
    r2v = r * r - v

    def E(g):
        return (w * g).sum(axis=1) / J

    return dict(
        logl=log_choose(n, x) + fs + np.log(J) - LOG_SQRT_2PI,
        Er=E(r),
        Er2v=E(r2v),
        Erz=E(r * Z),
        Er2vz=E(r2v * Z),
        Er2vz2=E(r2v * Z * Z),
        Ez2=E(Z * Z),
    )


_QUAD_WARN = [0]


def _sp(t):
    return t + math.log1p(math.exp(-t)) if t > 0 else math.log1p(math.exp(t))


def moments_quad(x, n, eta, tau, full=False):
    """Same moments by scipy.integrate.quad, study by study."""
    if tau == 0.0:
        return moments_tau0(x, n, eta)
    zs_all, s_all = modes(x, n, eta, tau)
    k = len(eta)
    out = {key: np.empty(k) for key in ("logl", "Er", "Er2v", "Erz", "Er2vz", "Er2vz2", "Ez2")}
    for i in range(k):
        xi, ni, ei, zs, s = (
            float(x[i]),
            float(n[i]),
            float(eta[i]),
            float(zs_all[i]),
            float(s_all[i]),
        )
        ts = ei + tau * zs
        fs = -xi * _sp(-ts) - (ni - xi) * _sp(ts) - 0.5 * zs * zs
        lo, hi = zs - W_HALF, zs + W_HALF
        pts = [zs + s * c for c in (-8.0, -3.0, -1.0, 0.0, 1.0, 3.0, 8.0)]
        pts = [q for q in pts if lo < q < hi]

        def base(z):
            t = ei + tau * z
            a = _sp(-t)
            bq = _sp(t)
            w = math.exp(-xi * a - (ni - xi) * bq - 0.5 * z * z - fs)
            p = math.exp(-a)
            return w, xi - ni * p, ni * math.exp(-a - bq)

        def q(g, epsabs):
            with warnings.catch_warnings(record=True) as wl:
                warnings.simplefilter("always")
                val = integrate.quad(
                    g, lo, hi, points=pts, epsabs=epsabs, epsrel=QUAD_EPSREL, limit=QUAD_LIMIT
                )[0]
            if wl:
                _QUAD_WARN[0] += len(wl)
            return val

        J = q(lambda z: base(z)[0], 0.0)
        pm = special.expit(ts)
        rs = abs(xi - ni * pm) + math.sqrt(ni * pm * (1 - pm)) + 1.0
        zsc = abs(zs) + 1.0
        tol = 1e-14 * J
        out["logl"][i] = log_choose(ni, xi) + fs + math.log(J) - LOG_SQRT_2PI

        def g_r(z):
            w, r, _v = base(z)
            return w * r

        def g_r2v(z):
            w, r, v = base(z)
            return w * (r * r - v)

        def g_rz(z):
            w, r, _v = base(z)
            return w * r * z

        out["Er"][i] = q(g_r, tol * rs) / J
        out["Er2v"][i] = q(g_r2v, tol * rs * rs) / J
        out["Erz"][i] = q(g_rz, tol * rs * zsc) / J
        if full:
            out["Er2vz"][i] = q(lambda z: g_r2v(z) * z, tol * rs * rs * zsc) / J
            out["Er2vz2"][i] = q(lambda z: g_r2v(z) * z * z, tol * rs * rs * zsc * zsc) / J
            out["Ez2"][i] = q(lambda z: base(z)[0] * z * z, tol * zsc * zsc) / J
        else:
            out["Er2vz"][i] = out["Er2vz2"][i] = out["Ez2"][i] = np.nan
    return out


# ---------------------------------------------------------------------------
# likelihood, Newton in beta, profile
# ---------------------------------------------------------------------------


class Problem:
    def __init__(self, x, n, X):
        self.x = np.asarray(x, float)
        self.n = np.asarray(n, float)
        self.X = np.ones((len(x), 1)) if X is None else np.asarray(X, float)
        self.p = self.X.shape[1]
        self.nevals = 0

    def mom(self, beta, tau, method, full=False):
        self.nevals += 1
        eta = self.X @ beta
        if method == "fast":
            return moments_fast(self.x, self.n, eta, tau)
        return moments_quad(self.x, self.n, eta, tau, full=full)

    def grad_hess_beta(self, m):
        X = self.X
        g = X.T @ m["Er"]
        h = (X * (m["Er2v"] - m["Er"] ** 2)[:, None]).T @ X
        return g, h

    def full_hessian(self, m):
        X, p = self.X, self.p
        H = np.empty((p + 1, p + 1))
        H[:p, :p] = (X * (m["Er2v"] - m["Er"] ** 2)[:, None]).T @ X
        hbt = X.T @ (m["Er2vz"] - m["Er"] * m["Erz"])
        H[:p, p] = hbt
        H[p, :p] = hbt
        H[p, p] = np.sum(m["Er2vz2"] - m["Erz"] ** 2)
        return H

    def newton(self, tau, beta0, method):
        beta = np.array(beta0, float)
        m = self.mom(beta, tau, method)
        ll = m["logl"].sum()
        final = False
        for _it in range(200):
            g, h = self.grad_hess_beta(m)
            step = np.linalg.solve(-h, g)
            lam = 1.0
            while True:
                bn = beta + lam * step
                mn = self.mom(bn, tau, method)
                lln = mn["logl"].sum()
                if lln >= ll - 1e-9 * (1.0 + abs(ll)) or lam < 1e-8:
                    break
                lam *= 0.5
            small = np.all(np.abs(lam * step) <= NEWTON_TOL * (1.0 + np.abs(beta)))
            beta, m, ll = bn, mn, lln
            if final:
                break
            if small:
                final = True
        else:
            raise RuntimeError("Newton did not converge")
        return beta, m, ll

    def profile(self, tau, beta0, method):
        beta, m, ll = self.newton(tau, beta0, method)
        slope = float(np.sum(m["Erz"]))
        return ll, slope, beta, m


def separated(x, n, X):
    """True if the ML estimate of beta does not exist (complete or
    quasi-complete separation).  Exact for 1 or 2 columns of X."""
    x, n = np.asarray(x, float), np.asarray(n, float)
    X = np.ones((len(x), 1)) if X is None else np.asarray(X, float)
    p = X.shape[1]
    if p == 1:
        cands = [np.array([1.0]), np.array([-1.0])]
    else:
        cands = []
        for row in X:
            d = np.array([-row[1], row[0]])
            cands += [d, -d]
    for d in cands:
        e = X @ d
        sc = 1e-12 * np.max(np.abs(X)) * np.max(np.abs(d))
        ok = True
        for ei, xi, ni in zip(e, x, n, strict=False):
            if (xi == 0 and ei > sc) or (xi == ni and ei < -sc) or (0 < xi < ni and abs(ei) > sc):
                ok = False
            if not ok:
                break
        if ok:
            return True
    return False


# ---------------------------------------------------------------------------
# per-set analysis
# ---------------------------------------------------------------------------


def beta_start(x, n, X):
    y = special.logit((x + 0.5) / (n + 1.0))
    b, *_ = np.linalg.lstsq(X, y, rcond=None)
    return b


def analyse(name, x, n, X=None):
    x = np.asarray(x, int)
    n = np.asarray(n, int)
    rec = dict(
        name=name,
        events=[int(v) for v in x],
        n=[int(v) for v in n],
        X=None if X is None else [[float(v) for v in row] for row in X],
        tau2=None,
        beta=None,
        loglik=None,
        loglik_at_zero=None,
        boundary=None,
        max_at_zero=None,
        se_beta=None,
        se_tau2=None,
        tau2_ci=None,
        method={},
    )
    if separated(x, n, X):
        if X is None and np.all(x == 0):
            rec["boundary"] = "all-zero"
        elif X is None and np.all(x == n):
            rec["boundary"] = "all-full"
        else:
            rec["boundary"] = "separation"
        rec["loglik"] = 0.0 if rec["boundary"] != "separation" else None
        rec["method"]["notes"] = (
            "MLE of beta does not exist (infinite); nothing computed"
            if rec["boundary"] == "separation"
            else "MLE does not exist: beta -> %s infinity; loglik is the "
            "supremum 0 (log C(n,x) = 0), not attained"
            % ("-" if rec["boundary"] == "all-zero" else "+")
        )
        return rec

    P = Problem(x, n, X)
    b0 = beta_start(P.x, P.n, P.X)

    # --- tau = 0: closed form logistic regression
    beta0, m0, ll0 = P.newton(0.0, b0, "fast")
    curv0 = float(np.sum(m0["Er2v"]))  # profile curvature at tau = 0
    rec["loglik_at_zero"] = float(ll0)

    # --- grid scan with the fast rule
    grid = []
    b = beta0.copy()
    for tau in TAU_GRID:
        ll, sl, b, _ = P.profile(float(tau), b, "fast")
        grid.append((float(tau), ll, sl, b.copy()))
    taus = np.array([g[0] for g in grid])
    lls = np.array([g[1] for g in grid])
    sls = np.array([g[2] for g in grid])
    sls_sign = sls.copy()
    sls_sign[0] = curv0  # sign of the slope just above 0

    fast_cache = {}

    def slope_fast(tau, bstart):
        ll, sl, bb, _ = P.profile(tau, bstart, "fast")
        fast_cache[tau] = (ll, bb)
        return sl

    cands = []  # (tau, ll_fast, beta_fast)
    if curv0 <= 0:
        cands.append((0.0, ll0, beta0))
    for j in range(len(taus) - 1):
        if sls_sign[j] > 0 and sls[j + 1] <= 0:
            a_ = taus[j] if j > 0 else 1e-9
            bst = grid[j][3]
            if j == 0:  # make sure the left end has a positive slope
                while slope_fast(a_, bst) <= 0 and a_ < taus[1]:
                    a_ *= 10
                if a_ >= taus[1]:
                    continue
            if sls[j + 1] == 0:
                tr = taus[j + 1]
            else:
                tr = optimize.brentq(
                    lambda t: slope_fast(t, bst),
                    a_,
                    taus[j + 1],
                    xtol=BRENT_XTOL,
                    rtol=4 * np.finfo(float).eps,
                    maxiter=200,
                )
            ll, sl, bb, _ = P.profile(tr, bst, "fast")
            cands.append((tr, ll, bb))
    unb = sls[-1] > 0 and (not cands or lls[-1] >= max(c[1] for c in cands))
    nmax = len(cands)
    rec["method"]["n_local_maxima_fast"] = nmax
    rec["method"]["profile_curvature_at_zero"] = curv0
    rec["method"]["profile_slope_at_tau_max"] = float(sls[-1])
    rec["method"]["loglik_at_tau_max"] = float(lls[-1])
    if unb:
        rec["boundary"] = "unbounded"
        rec["max_at_zero"] = False
        rec["method"]["notes"] = (
            f"profile log-likelihood still increasing at tau = {TAU_MAX:g} "
            f"(sup not attained for tau <= {TAU_MAX:g})"
        )
        return rec
    if not cands:
        raise RuntimeError(f"no maximum found for {name}")
    best = max(cands, key=lambda c: c[1])
    tau_f, ll_f, beta_f = best

    # --- polish with quad
    if tau_f == 0.0:
        tau_hat, beta_hat = 0.0, beta0
        mq = moments_tau0(P.x, P.n, P.X @ beta_hat)
        ll_hat = float(mq["logl"].sum())
        rec["boundary"] = "tau2=0"
        rec["max_at_zero"] = True
        _g, h = P.grad_hess_beta(mq)
        cov = np.linalg.inv(-h)
        rec["se_beta"] = [float(math.sqrt(cov[j, j])) for j in range(P.p)]
        rec["method"]["tau_fast_minus_quad"] = 0.0
    else:
        rec["max_at_zero"] = False
        qc = {}

        def slope_q(tau):
            ll, sl, bb, _ = P.profile(tau, beta_f, "quad")
            qc[tau] = (ll, bb)
            return sl

        d = 1e-7 * max(tau_f, 1e-3)
        lo_, hi_ = max(tau_f - d, 0.5 * tau_f), tau_f + d
        slo, shi = slope_q(lo_), slope_q(hi_)
        it = 0
        while not (slo > 0 and shi < 0):
            it += 1
            d *= 10
            if slo <= 0:
                lo_ = max(tau_f - d, 0.5 * tau_f if it < 6 else 1e-9)
                slo = slope_q(lo_)
            if shi >= 0:
                hi_ = tau_f + d
                shi = slope_q(hi_)
            if it > 8:
                raise RuntimeError(f"quad bracket failed for {name}")
        tau_hat = optimize.brentq(
            slope_q, lo_, hi_, xtol=BRENT_XTOL, rtol=4 * np.finfo(float).eps, maxiter=200
        )
        ll_hat, sl_hat, beta_hat, _ = P.profile(tau_hat, beta_f, "quad")
        mfull = P.mom(beta_hat, tau_hat, "quad", full=True)
        H = P.full_hessian(mfull)
        cov = np.linalg.inv(-H)
        rec["se_beta"] = [float(math.sqrt(cov[j, j])) for j in range(P.p)]
        rec["se_tau2"] = float(2.0 * tau_hat * math.sqrt(cov[P.p, P.p]))
        ibp = float(np.max(np.abs(tau_hat * mfull["Erz"] - (mfull["Ez2"] - 1.0))))
        rec["method"]["tau_fast_minus_quad"] = float(tau_f - tau_hat)
        rec["method"]["beta_fast_minus_quad"] = [float(v) for v in beta_f - beta_hat]
        rec["method"]["slope_quad_at_tau_hat"] = float(sl_hat)
        rec["method"]["ibp_identity_max_abs_error"] = ibp
        # is tau = 0 a (lower) local maximum too?
        rec["method"]["tau0_local_max"] = bool(curv0 <= 0)
        if tau_hat == 0.0:
            rec["boundary"] = "tau2=0"
    rec["tau2"] = float(tau_hat * tau_hat)
    rec["beta"] = [float(v) for v in beta_hat]
    rec["loglik"] = float(ll_hat)

    # --- profile-likelihood CI for tau^2 (fast rule, checked by quad)
    cut = ll_hat - CHI2_HALF
    cut_f = ll_f - CHI2_HALF

    def gfun(tau, bst):
        ll, _sl, _bb, _ = P.profile(tau, bst, "fast")
        return ll - cut_f

    jhat = int(np.searchsorted(taus, tau_hat))  # first grid index >= tau_hat
    lower = None
    if ll0 >= cut_f:
        lower = 0.0
    else:
        j = jhat - 1
        while j >= 0 and lls[j] >= cut_f:
            j -= 1
        # crossing between taus[j] (below cut) and taus[j+1] (or tau_hat)
        rt = min(taus[j + 1], tau_hat) if j + 1 < len(taus) else tau_hat
        if j + 1 >= jhat:
            rt = tau_hat
        lower = optimize.brentq(
            lambda t: gfun(t, grid[j][3]),
            taus[j],
            rt,
            xtol=BRENT_XTOL,
            rtol=4 * np.finfo(float).eps,
            maxiter=200,
        )
    j = jhat
    while j < len(taus) and lls[j] >= cut_f:
        j += 1
    if j >= len(taus):
        upper = None
    else:
        lt = tau_hat if j == jhat else taus[j - 1]
        upper = optimize.brentq(
            lambda t: gfun(t, grid[j][3]),
            lt,
            taus[j],
            xtol=BRENT_XTOL,
            rtol=4 * np.finfo(float).eps,
            maxiter=200,
        )
    corr = []
    for tc in (lower, upper):
        if tc is None or tc == 0.0:
            continue
        ll_q, sl_q, _, _ = P.profile(tc, beta_hat, "quad")
        corr.append(float((ll_q - cut) / sl_q))
    rec["tau2_ci"] = [
        None if lower is None else float(lower * lower),
        None if upper is None else float(upper * upper),
    ]
    rec["method"]["ci_quad_correction_tau"] = corr
    rec["method"]["ci_cut"] = float(cut)
    rec["method"]["n_likelihood_evaluations"] = P.nevals
    return rec


# ---------------------------------------------------------------------------
# data sets
# ---------------------------------------------------------------------------


def make_sets(seed):
    rng = np.random.default_rng(seed)
    sets = []
    sets.append(("named_x6-0-2_n6-8-5", [6, 0, 2], [6, 8, 5], None))
    sets.append(("named_x0-7_n13-8", [0, 7], [13, 8], None))
    sets.append(("named_x0-10-0_n10-10-20", [0, 10, 0], [10, 10, 20], None))
    sets.append(("named_all_zero", [0, 0, 0, 0], [10, 25, 40, 8], None))
    sets.append(("named_all_full", [12, 30, 7], [12, 30, 7], None))
    i = 0
    while i < N_PLAIN:
        k = int(rng.integers(2, 31))
        mu = float(rng.uniform(-5, 5))
        tau = 0.0 if rng.random() < 0.2 else float(rng.uniform(0, 5))
        n = np.round(np.exp(rng.uniform(math.log(5), math.log(300), k))).astype(int)
        x = rng.binomial(n, special.expit(mu + tau * rng.standard_normal(k)))
        if np.all(x == 0) or np.all(x == n):
            continue  # degenerate random draws are rejected (named cases cover them)
        sets.append(("rand_%03d" % i, x.tolist(), n.tolist(), None))
        i += 1
    nb = ns = 0
    i = 0
    while nb < N_MOD:
        k = int(rng.integers(4, 31))
        g = np.zeros(k)
        g[rng.permutation(k)[: int(rng.integers(2, k - 1))]] = 1.0
        b0, b1 = float(rng.uniform(-3, 3)), float(rng.uniform(-2, 2))
        tau = float(rng.uniform(0, 2))
        n = np.round(np.exp(rng.uniform(math.log(5), math.log(300), k))).astype(int)
        x = rng.binomial(n, special.expit(b0 + b1 * g + tau * rng.standard_normal(k)))
        X = np.column_stack([np.ones(k), g])
        sep = separated(x, n, X)
        if sep and ns >= 1:
            continue
        sets.append(("mod_binary_%02d" % i, x.tolist(), n.tolist(), X.tolist()))
        i += 1
        if sep:
            ns += 1
        else:
            nb += 1
    nc = 0
    i = 0
    while nc < N_MOD:
        k = int(rng.integers(4, 31))
        year = rng.integers(2005, 2025, k).astype(float)
        b0, b1 = float(rng.uniform(-3, 3)), float(rng.uniform(-0.15, 0.15))
        tau = float(rng.uniform(0, 2))
        n = np.round(np.exp(rng.uniform(math.log(5), math.log(300), k))).astype(int)
        x = rng.binomial(n, special.expit(b0 + b1 * (year - 2015) + tau * rng.standard_normal(k)))
        X = np.column_stack([np.ones(k), year])
        if separated(x, n, X) or len(set(year.tolist())) < 3:
            continue
        sets.append(("mod_year_%02d" % i, x.tolist(), n.tolist(), X.tolist()))
        i += 1
        nc += 1
    return sets


N_PLAIN = 160
N_MOD = 10


# ---------------------------------------------------------------------------
# self check (not run by default): python glmm_exact_reference.py --selfcheck [JSON]
# ---------------------------------------------------------------------------


def _mp_score(x, n, X, beta, tau, dps=30):
    """Score (d l/d beta, d l/d tau) and loglik at (beta, tau) by mpmath.quad."""
    import mpmath as mp

    mp.mp.dps = dps
    x, n, X = np.asarray(x, float), np.asarray(n, float), np.asarray(X, float)
    eta = X @ beta
    zs_all, s_all = modes(x, n, eta, tau)
    ll = mp.mpf(0)
    U = [mp.mpf(0)] * (len(beta) + 1)
    for i in range(len(x)):
        xi, ni, ei = mp.mpf(int(x[i])), mp.mpf(int(n[i])), mp.mpf(float(eta[i]))
        zs, s = float(zs_all[i]), float(s_all[i])
        fs = float(f_of(zs, x[i], n[i], eta[i], tau))
        t_ = mp.mpf(tau)

        def w(z):
            t = ei + t_ * z
            return mp.exp(
                -xi * mp.log1p(mp.exp(-t)) - (ni - xi) * mp.log1p(mp.exp(t)) - z * z / 2 - fs
            )

        def r(z):
            return xi - ni / (1 + mp.exp(-(ei + t_ * z)))

        pts = sorted(
            set(
                q
                for q in [zs + s * c for c in (-64, -16, -8, -3, -1, 0, 1, 3, 8, 16, 64)]
                + [zs - 30, zs + 30]
                if zs - 30 <= q <= zs + 30
            )
        )
        J = mp.quad(w, pts)
        Er = mp.quad(lambda z: w(z) * r(z), pts) / J
        Erz = mp.quad(lambda z: w(z) * r(z) * z, pts) / J
        ll += mp.log(J) + fs + mp.log(mp.binomial(int(n[i]), int(x[i]))) - mp.log(2 * mp.pi) / 2
        for j in range(len(beta)):
            U[j] += X[i, j] * Er
        U[-1] += Erz
    return float(ll), np.array([float(u) for u in U])


def selfcheck(ref_path):
    global W_HALF, QUAD_EPSREL
    with open(ref_path) as fh:
        doc = json.load(fh)
    ref = {r["name"]: r for r in doc["sets"]}
    sets = make_sets(SEED)

    # (a) whole pipeline again with tighter rules on a subset
    W_HALF, QUAD_EPSREL = 14.0, 2e-14
    set_rule(30, 1.25)
    worst = dict(tau2=0.0, beta=0.0, loglik=0.0, ci=0.0, se=0.0)
    sub = [s for i, s in enumerate(sets) if i % 7 == 0]
    t0 = time.time()
    for name, x, n, X in sub:
        a, b = ref[name], analyse(name, x, n, X)
        assert a["boundary"] == b["boundary"], name
        if a["tau2"] is None:
            continue

        def rel(u, v):
            return abs(u - v) / max(abs(u), 1e-300) if u != v else 0.0

        worst["tau2"] = max(worst["tau2"], rel(a["tau2"], b["tau2"]))
        worst["beta"] = max(
            [worst["beta"]] + [rel(u, v) for u, v in zip(a["beta"], b["beta"], strict=False)]
        )
        worst["loglik"] = max(worst["loglik"], abs(a["loglik"] - b["loglik"]))
        worst["se"] = max(
            [worst["se"]] + [rel(u, v) for u, v in zip(a["se_beta"], b["se_beta"], strict=False)]
        )
        worst["ci"] = max(
            [worst["ci"]]
            + [
                rel(u, v)
                for u, v in zip(a["tau2_ci"], b["tau2_ci"], strict=False)
                if u is not None and v is not None
            ]
        )
        print("  %-22s tau2 rel %.1e" % (name, rel(a["tau2"], b["tau2"])), flush=True)
    print(
        "(a) tighter rules (W=14, quad epsrel=2e-14, GL30 ratio 1.25) on %d sets, %.0fs:"
        % (len(sub), time.time() - t0),
        worst,
    )

    # (b) mpmath score at the reported MLE -> implied Newton correction
    try:
        import mpmath  # noqa: F401
    except ImportError:
        print("(b) mpmath not installed; skipped")
        return
    W_HALF, QUAD_EPSREL = 11.0, 1e-13
    set_rule(GL_NODES)
    worst = dict(tau2=0.0, beta=0.0, loglik=0.0)
    picked = [r for r in doc["sets"] if r["tau2"] and len(r["events"]) <= 8][::3][:10]
    for r in picked:
        P = Problem(r["events"], r["n"], r["X"])
        beta, tau = np.array(r["beta"]), math.sqrt(r["tau2"])
        ll, U = _mp_score(r["events"], r["n"], P.X, beta, tau)
        H = P.full_hessian(P.mom(beta, tau, "fast"))
        d = np.linalg.solve(-H, U)  # Newton correction towards the mpmath MLE
        worst["tau2"] = max(worst["tau2"], abs(2 * d[-1] / tau))
        worst["beta"] = max(
            [worst["beta"], *list(np.abs(d[:-1]) / np.maximum(np.abs(beta), 1e-300))]
        )
        worst["loglik"] = max(worst["loglik"], abs(ll - r["loglik"]))
        print(
            "  %-22s dtau2/tau2 %.1e  dbeta %s  dloglik %.1e"
            % (r["name"], 2 * d[-1] / tau, d[:-1], ll - r["loglik"]),
            flush=True,
        )
    print("(b) mpmath (30 digits) score at the reported MLE, %d sets:" % len(picked), worst)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--selfcheck":
        selfcheck(
            sys.argv[2]
            if len(sys.argv) > 2
            else os.path.join(
                os.path.dirname(os.path.abspath(__file__)), "glmm_exact_reference.json"
            )
        )
        return
    out = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.path.join(os.path.dirname(os.path.abspath(__file__)), "glmm_exact_reference.json")
    )
    t0 = time.time()
    sets = make_sets(SEED)
    recs = []
    for name, x, n, X in sets:
        t1 = time.time()
        rec = analyse(name, x, n, X)
        rec["method"]["seconds"] = round(time.time() - t1, 3)
        recs.append(rec)
        print(
            "%-26s k=%2d %-10s tau2=%-22r %.1fs"
            % (name, len(x), rec["boundary"], rec["tau2"], time.time() - t1),
            flush=True,
        )
    doc = dict(
        generated_by="tests/reference/glmm_exact_reference.py (independent of inometa)",
        model="x_i ~ Binomial(n_i, expit(X_i beta + tau z_i)), z_i ~ N(0,1); ML; loglik includes log C(n_i, x_i)",
        seed=SEED,
        numpy_version=np.__version__,
        scipy_version=scipy.__version__,
        python_version=sys.version.split()[0],
        settings=dict(
            window_half_width_z=W_HALF,
            quad_epsrel=QUAD_EPSREL,
            quad_limit=QUAD_LIMIT,
            fast_rule="composite %d-point Gauss-Legendre, geometric panels" % GL_NODES,
            brentq_xtol=BRENT_XTOL,
            newton_tol=NEWTON_TOL,
            tau_max=TAU_MAX,
            tau_grid_size=len(TAU_GRID),
            ci_level=0.95,
            ci_half_chi2=CHI2_HALF,
        ),
        quad_warnings=_QUAD_WARN[0],
        run_seconds=round(time.time() - t0, 1),
        sets=recs,
    )
    with open(out, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    print("wrote", out, "in %.1fs" % (time.time() - t0))


if __name__ == "__main__":
    main()
