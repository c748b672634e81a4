"""Monte-Carlo coverage studies of meta-analysis methods for single proportions.

Data are generated from the binomial–normal model on the logit scale, the model behind
most simulation studies of proportion meta-analysis (e.g. Stijnen, Hamza & Özdemir 2010):

* each study's true logit is θᵢ ~ N(μ, τ²) with μ = logit(p);
* its size nᵢ is fixed, drawn uniformly from a range, or drawn by a function you give;
* its events are xᵢ ~ Binomial(nᵢ, expit(θᵢ)).

Every method is applied to the same simulated data sets (common random numbers, so
methods are compared on equal terms) through :func:`inometa.metaprop_batch`. The target of
the confidence interval is p, the proportion at the mean logit (the median of the true
study proportions); a prediction interval is scored by the probability that it contains
the true proportion of a new study, expit(θ_new) with θ_new ~ N(μ, τ²), computed exactly
for each replication (Φ((logit hi − μ)/τ) − Φ((logit lo − μ)/τ)) rather than by one more
draw. With a transform other than the logit and τ² > 0 a method estimates another
quantity than p (e.g. the raw scale estimates the mean proportion), and its coverage of p
shows that.

Draws are made in blocks of :data:`BLOCK` replications, block b from the b-th child of
``numpy.random.SeedSequence(seed)``, so the same seed and arguments give the same numbers
on any machine with the same NumPy random streams.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import numpy.typing as npt
from scipy import stats
from scipy.special import expit, logit

from .._version import __version__
from .batch import MetaPropBatchResult, metaprop_batch

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BLOCK", "DEFAULT_METHODS", "pi_coverage", "simulate_coverage", "simulate_studies"]

FloatArray = npt.NDArray[np.float64]
SizeRule = int | tuple[int, int] | Callable[[np.random.Generator, tuple[int, int]], Any]

#: Replications drawn (and analysed) per block.
BLOCK = 2_000

#: Methods compared when none are given: name → options of :func:`inometa.metaprop`.
DEFAULT_METHODS: dict[str, dict[str, Any]] = {
    "DL, z": {"tau2_method": "DL", "ci_method": "z", "pi_method": "z"},
    "REML, z": {"tau2_method": "REML", "ci_method": "z", "pi_method": "z"},
    "REML, HK, t(k-1) PI": {"tau2_method": "REML", "ci_method": "hk", "pi_method": "t"},
    "PM, HK, HTS PI": {"tau2_method": "PM", "ci_method": "hk", "pi_method": "hts"},
}


def simulate_studies(
    p: float,
    tau2: float,
    k: int,
    n: SizeRule,
    replications: int,
    seed: int | None = 0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], FloatArray]:
    """Draw ``replications`` meta-analyses of ``k`` studies from the binomial–normal model.

    Parameters
    ----------
    p
        Proportion at the mean logit, 0 < p < 1 (μ = logit p).
    tau2
        Between-study variance of the logits, ≥ 0.
    k
        Studies per meta-analysis.
    n
        Study sizes: an int (all equal), a ``(low, high)`` pair (uniform integers, both
        ends included), or a function ``n(rng, shape)`` returning integer sizes ≥ 1.
    replications
        Number of meta-analyses.
    seed
        Seed (see the module notes on how blocks are seeded).

    Returns
    -------
    events, n, theta
        (replications, k) arrays: events, sizes and true logits.

    Examples
    --------
    >>> x, n, theta = simulate_studies(0.3, 0.2, k=5, n=(20, 80), replications=3, seed=1)
    >>> x.shape, bool((x <= n).all()), bool((n >= 20).all() and (n <= 80).all())
    ((3, 5), True, True)
    """
    mu, tau, k, replications = _check_design(p, tau2, k, replications)
    blocks = [
        _draw(np.random.default_rng(child), mu, tau, k, n, size)
        for child, size in _blocks(seed, replications)
    ]
    x, m, theta = (np.concatenate(parts) for parts in zip(*blocks, strict=True))
    return x, m, theta


def simulate_coverage(
    p: float,
    tau2: float,
    k: int,
    n: SizeRule,
    *,
    methods: Mapping[str, Mapping[str, Any]] | Sequence[Mapping[str, Any]] | None = None,
    replications: int = 1_000,
    seed: int | None = 0,
    level: float = 0.95,
    progress: bool = True,
) -> pd.DataFrame:
    """Coverage and width of confidence and prediction intervals, per method, by simulation.

    Parameters
    ----------
    p, tau2, k, n
        The data-generating model (see :func:`simulate_studies` and the module notes).
    methods
        Options of :func:`inometa.metaprop` per method: a mapping name → options, or a
        list of option dicts (named after their options). Default :data:`DEFAULT_METHODS`.
        ``level`` is set for all methods.
    replications
        Number of simulated meta-analyses (each analysed by every method).
    seed
        Seed; the same seed and arguments give the same numbers.
    level
        Confidence level of the intervals and nominal coverage.
    progress
        Show progress on stderr (only when stderr is a terminal).

    Returns
    -------
    pandas.DataFrame
        One row per method: the resolved ``transform``, ``tau2_method``, ``ci_method`` and
        ``pi_method``; ``ci_coverage`` (share of CIs containing p) and ``pi_coverage``
        (mean probability that the PI contains a new study's true proportion), ``ci_width``
        and ``pi_width`` (mean widths on the proportion scale), each with its Monte-Carlo
        standard error (``*_se``); ``ci_undefined`` and ``pi_undefined`` (replications
        without a defined interval, e.g. the HTS PI with k = 2: excluded from the means) and
        ``not_converged`` (replications whose τ² search did not converge: kept, as
        reported). ``attrs`` records the design, seed, level and inometa version.

    Examples
    --------
    >>> from inometa.analysis.simulate import simulate_coverage
    >>> out = simulate_coverage(0.2, 0.3, k=8, n=(30, 150), replications=200, seed=3,
    ...                         methods={"DL": {"tau2_method": "DL"}}, progress=False)
    >>> list(out.index), bool(0.5 < out.loc["DL", "ci_coverage"] <= 1)
    (['DL'], True)
    >>> out.attrs["seed"], out.attrs["replications"]
    (3, 200)
    """
    import pandas as pd

    mu, tau, k, replications = _check_design(p, tau2, k, replications)
    named = _named_methods(methods)
    tally = {name: _Tally() for name in named}
    resolved: dict[str, dict[str, Any]] = {}
    bar = _Progress(replications, enabled=progress)
    for child, size in _blocks(seed, replications):
        x, m, _ = _draw(np.random.default_rng(child), mu, tau, k, n, size)
        for name, options in named.items():
            out = metaprop_batch(x, m, as_frame=False, **{**options, "level": level})
            assert isinstance(out, MetaPropBatchResult)
            tally[name].add(out, p, mu, tau)
            o = out.options
            resolved[name] = {
                "method": o.method,
                "transform": o.transform,
                "tau2_method": o.tau2_method,
                "ci_method": o.ci_method,
                "pi_method": o.pi_method,
            }
        bar.advance(size)
    bar.close()
    rows = {name: {**resolved[name], **tally[name].summary()} for name in named}
    frame: pd.DataFrame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "method_name"
    frame.attrs.update(
        {
            "analysis": "simulate_coverage",
            "p": float(p),
            "tau2": float(tau2),
            "k": k,
            "n": _describe_sizes(n),
            "replications": replications,
            "seed": seed,
            "level": float(level),
            "methods": {name: dict(opts) for name, opts in named.items()},
            "model": "theta ~ N(logit p, tau2); x ~ Binomial(n, expit(theta))",
            "version": __version__,
        }
    )
    return frame


# -- design and drawing ----------------------------------------------------------------------


def _check_design(
    p: float, tau2: float, k: int, replications: int
) -> tuple[float, float, int, int]:
    if not 0 < p < 1:
        raise ValueError(f"p must lie strictly between 0 and 1, got {p!r}")
    if not (np.isfinite(tau2) and tau2 >= 0):
        raise ValueError(f"tau2 must be a finite number >= 0, got {tau2!r}")
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a whole number >= 1, got {k!r}")
    if int(replications) != replications or replications < 1:
        raise ValueError(f"replications must be a whole number >= 1, got {replications!r}")
    return float(logit(p)), float(np.sqrt(tau2)), int(k), int(replications)


def _blocks(seed: int | None, replications: int) -> list[tuple[np.random.SeedSequence, int]]:
    count = -(-replications // BLOCK)
    children = np.random.SeedSequence(seed).spawn(count)
    sizes = [BLOCK] * (count - 1) + [replications - BLOCK * (count - 1)]
    return list(zip(children, sizes, strict=True))


def _sizes(rng: np.random.Generator, n: SizeRule, shape: tuple[int, int]) -> npt.NDArray[np.int64]:
    if callable(n):
        values = np.asarray(n(rng, shape))
        if values.shape != shape:
            raise ValueError(
                f"n(rng, shape) must return an array of shape {shape}, got {values.shape}"
            )
    elif isinstance(n, tuple):
        if len(n) != 2 or int(n[0]) != n[0] or int(n[1]) != n[1] or not 1 <= n[0] <= n[1]:
            raise ValueError(f"n as a range must be (low, high) with 1 <= low <= high, got {n!r}")
        values = rng.integers(int(n[0]), int(n[1]), size=shape, endpoint=True)
    else:
        values = np.full(shape, n)
    if not (np.all(values == np.round(values)) and np.all(values >= 1)):
        raise ValueError("study sizes n must be whole numbers >= 1")
    return values.astype(np.int64)


def _draw(
    rng: np.random.Generator, mu: float, tau: float, k: int, n: SizeRule, size: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], FloatArray]:
    theta = mu + tau * rng.standard_normal((size, k))
    m = _sizes(rng, n, (size, k))
    x = rng.binomial(m, expit(theta))
    return x.astype(np.int64), m, theta


def _describe_sizes(n: SizeRule) -> str:
    if callable(n):
        return f"drawn by {getattr(n, '__name__', repr(n))}(rng, shape)"
    if isinstance(n, tuple):
        return f"uniform integers {n[0]}..{n[1]}"
    return f"{n} per study"


def _named_methods(
    methods: Mapping[str, Mapping[str, Any]] | Sequence[Mapping[str, Any]] | None,
) -> dict[str, dict[str, Any]]:
    if methods is None:
        return {name: dict(opts) for name, opts in DEFAULT_METHODS.items()}
    if isinstance(methods, Mapping):
        named = {str(name): dict(opts) for name, opts in methods.items()}
    else:
        named = {}
        for opts in methods:
            name = ", ".join(f"{key}={value}" for key, value in opts.items()) or "defaults"
            named[name] = dict(opts)
    if not named:
        raise ValueError("methods is empty: give at least one set of options")
    for name, opts in named.items():
        if "level" in opts:
            raise ValueError(
                f"method {name!r}: set level for all methods with level=, not per method"
            )
    return named


# -- scoring -------------------------------------------------------------------------------


def pi_coverage(low: npt.ArrayLike, high: npt.ArrayLike, mu: float, tau: float) -> FloatArray:
    """Probability that [low, high] (proportion scale) contains expit(θ), θ ~ N(mu, tau²).

    With tau = 0 it is 1 where the interval contains expit(mu), else 0; NaN bounds give NaN.

    Examples
    --------
    >>> z = 1.959963984540054
    >>> lo, hi = expit(0.1 - z * 0.5), expit(0.1 + z * 0.5)
    >>> round(float(pi_coverage(lo, hi, 0.1, 0.5)), 12)
    0.95
    """
    lo = np.asarray(low, dtype=float)
    hi = np.asarray(high, dtype=float)
    with np.errstate(divide="ignore"):
        a, b = logit(lo), logit(hi)
    if tau == 0:
        cover = ((a <= mu) & (mu <= b)).astype(float)
    else:
        cover = stats.norm.cdf((b - mu) / tau) - stats.norm.cdf((a - mu) / tau)
    return np.asarray(np.where(np.isnan(lo) | np.isnan(hi), np.nan, cover), dtype=float)


class _Tally:
    """Running sums of the per-replication scores of one method."""

    def __init__(self) -> None:
        self.ci: list[FloatArray] = []
        self.ci_width: list[FloatArray] = []
        self.pi: list[FloatArray] = []
        self.pi_width: list[FloatArray] = []
        self.not_converged = 0

    def add(self, out: MetaPropBatchResult, p: float, mu: float, tau: float) -> None:
        lo, hi = out["ci_low"], out["ci_high"]
        defined = ~(np.isnan(lo) | np.isnan(hi))
        self.ci.append(np.where(defined, (lo <= p) & (p <= hi), np.nan))
        self.ci_width.append(hi - lo)
        self.pi.append(pi_coverage(out["pi_low"], out["pi_high"], mu, tau))
        self.pi_width.append(out["pi_high"] - out["pi_low"])
        self.not_converged += int(np.sum(~out["tau2_converged"]))

    def summary(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {}
        for name, parts in (
            ("ci_coverage", self.ci),
            ("ci_width", self.ci_width),
            ("pi_coverage", self.pi),
            ("pi_width", self.pi_width),
        ):
            values = np.concatenate(parts)
            ok = values[~np.isnan(values)]
            out[name] = float(np.mean(ok)) if ok.size else np.nan
            out[f"{name}_se"] = (
                float(np.std(ok, ddof=1) / np.sqrt(ok.size)) if ok.size > 1 else np.nan
            )
        out["ci_undefined"] = int(np.isnan(np.concatenate(self.ci)).sum())
        out["pi_undefined"] = int(np.isnan(np.concatenate(self.pi)).sum())
        out["not_converged"] = self.not_converged
        return out


class _Progress:
    """A one-line progress display on stderr, shown only when stderr is a terminal."""

    def __init__(self, total: int, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = enabled and callable(isatty) and bool(isatty())
        self.total = total
        self.done = 0

    def advance(self, count: int) -> None:
        self.done += count
        if self.enabled:
            pct = 100 * self.done / self.total
            self.stream.write(
                f"\rsimulate_coverage: {self.done}/{self.total} replications ({pct:.0f}%)"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
