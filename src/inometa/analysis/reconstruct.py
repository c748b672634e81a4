"""``reconstruct()``: which study sets and methods give a published pooled proportion?

A published meta-analysis prints a handful of rounded numbers (estimate, CI, I², perhaps a
PI, k and N). Given candidate reports, :func:`reconstruct` enumerates every study set (at
most one report per cohort) and every method in a grid (transform × τ² estimator × I²
definition × CI and PI method) and returns those whose results, rounded as printed, equal
the published ones — and, just as important, how many such matches chance alone would give.

How it stays exact and fast
---------------------------
1. **Sums for all sets at once.** Every set's Σw, Σwy, Σwy², Σw² (w = 1/vᵢ) is one matrix
   product of its mask (:mod:`inometa.core.q_sums`). They give Q, the DerSimonian–Laird τ²
   and the typical variance s̃² of every set; the DL fit itself (estimate, Wald CI, I²) is
   then computed for every set in vectorised form.
2. **Necessary conditions for the other estimators**, so that no matching set is dropped:
   with I² defined from Q (R meta's convention) the published I² bounds Q whatever the τ²
   estimator; with I² defined from τ² (metafor's), it bounds τ² = I²/(1 − I²)·s̃², and the
   Wald CI width then bounds Σ 1/(vᵢ + τ²), which falls as τ² grows. A set that fails
   them for every estimator cannot match; a set that passes is fitted exactly.
3. **Exact fits** of the surviving sets with :func:`inometa.metaprop_batch`, the same code
   as :func:`inometa.metaprop`; the rounding comparison is made on these numbers only.

Rounding: a value matches a printed one when it lies within half a unit of the last printed
digit (ties count as matches, so a set is never lost to the rounding rule).

Matches by chance
-----------------
In a flexible pool some set lands on any target. A "near miss" is a set and method whose
every compared value lies within ``near`` printed units of the published one (a box of
2·near + 1 units per value). If results were spread evenly over that box, a fraction
(2·near + 1)^−d of the near sets would match all d values, so the number of matches expected
by chance is ``n_near × (2·near + 1)^−d``. Matches not clearly above that number say nothing
about which studies the paper used.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from ..core.q_sums import (
    count_subsets,
    masked_sums,
    random_effects_sums,
    subset_masks,
)
from ..core.transforms import ft_forward, get_transform
from .batch import metaprop_batch
from .escalc import prepare, resolve_options

__all__ = ["TARGET_KEYS", "ReconstructResult", "reconstruct"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Keys of a published summary (percent, as printed) → what they are.
TARGET_KEYS: Mapping[str, str] = {
    "estimate": "pooled proportion (%)",
    "ci_low": "lower confidence limit (%)",
    "ci_high": "upper confidence limit (%)",
    "pi_low": "lower prediction limit (%)",
    "pi_high": "upper prediction limit (%)",
    "i2": "I² (%)",
    "k": "number of studies",
    "n": "number of participants",
}
_PERCENT_KEYS = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2")
_EPS = 1e-6  # percent: vectorised sums and the batch fit agree far better than this

_FORWARD: dict[str, Callable[[FloatArray], FloatArray]] = {
    "raw": lambda p: p,
    "log": np.log,
    "logit": special.logit,
    "arcsine": lambda p: np.arcsin(np.sqrt(p)),
}


@dataclass(frozen=True)
class ReconstructResult:
    """What :func:`reconstruct` found.

    Attributes
    ----------
    matches : pandas.DataFrame
        One row per matching study set and method: ``studies`` (tuple of labels), ``k``,
        ``n_total``, the method (``transform``, ``tau2_method``, ``i2_definition``,
        ``ci_method``, ``pi_method``), the results in percent and ``distance`` (the largest
        deviation from a printed value, in printed units).
    near_misses : pandas.DataFrame
        Sets and methods within ``near`` printed units of every published value that do
        not match, closest first (same columns).
    n_searched : int
        Study sets enumerated (after the k and N constraints, if given).
    n_methods : int
        Methods tried per set.
    always_included : tuple of str
        Labels in every match (empty without matches).
    near_shared : tuple of str
        Labels in every match and near miss.
    expected_by_chance : float
        Matches expected by chance from the density of near misses (module docstring).
    feasibility : pandas.DataFrame
        Per transform, under DerSimonian–Laird: how many sets reach the published estimate
        and I² together, the range of their CI widths, and how many of them also reach the
        published CI width (within one printed unit).
    feasible : bool or None
        Whether the published CI can be reached at all: True if any set matches, or if
        under DL some set reaches the published estimate, I² and CI width together (None
        when the target has no CI).
    by_method : pandas.DataFrame
        Matches, near sets and the smallest distance per method.
    target : dict
        The published values, with ``decimals`` and ``near``.
    options : dict
        The grid searched and the settings.
    notes : tuple of str
    """

    matches: pd.DataFrame
    near_misses: pd.DataFrame
    n_searched: int
    n_methods: int
    always_included: tuple[str, ...]
    near_shared: tuple[str, ...]
    expected_by_chance: float
    feasibility: pd.DataFrame
    feasible: bool | None
    by_method: pd.DataFrame
    target: dict[str, Any]
    options: dict[str, Any]
    notes: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        """The target, the size of the search and its counts; the tables are attributes."""
        shown = ", ".join(
            f"{k} {v:g}" for k, v in self.target.items() if k not in ("decimals", "near")
        )
        feasible = {True: "yes", False: "no", None: "not checked"}[self.feasible]
        lines = [
            f"target: {shown}",
            f"searched {self.n_searched} study sets × {self.n_methods} methods: "
            f"{len(self.matches)} matches ({self.expected_by_chance:.3g} expected by chance), "
            f"{len(self.near_misses)} near misses; published CI reachable: {feasible}",
        ]
        if self.always_included:
            lines.append(f"in every match: {', '.join(self.always_included)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        """``str`` in angle brackets: counts, never the tables."""
        return f"<ReconstructResult {self}>".replace("\n", "\n  ")


@dataclass(frozen=True)
class _Windows:
    """Per key, the near window and the match window in proportion units (I² a fraction)."""

    keys: tuple[str, ...]
    centre: dict[str, float]
    unit: float  # one printed unit, in percent
    near: int

    def bounds(self, key: str, units: float) -> tuple[float, float]:
        half = (units + 0.5) * self.unit + _EPS
        c = self.centre[key]
        return (c - half) / 100, (c + half) / 100


def _check_target(target: Mapping[str, Any], decimals: int) -> dict[str, float]:
    unknown = sorted(set(target) - set(TARGET_KEYS))
    if unknown:
        raise ValueError(f"unknown target key(s) {unknown}; valid keys: {', '.join(TARGET_KEYS)}")
    out: dict[str, float] = {}
    for key, value in target.items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"target '{key}': {value!r} is not a number") from None
        if key in _PERCENT_KEYS and not 0 <= v <= 100:
            raise ValueError(f"target '{key}': {v} is not a percentage in [0, 100]")
        if key in ("k", "n") and (v != int(v) or v < 1):
            raise ValueError(f"target '{key}': {value!r} is not a positive whole number")
        out[key] = v
    if not any(k in out for k in _PERCENT_KEYS):
        raise ValueError("target needs at least one of " + ", ".join(_PERCENT_KEYS))
    if not isinstance(decimals, int) or not 0 <= decimals <= 6:
        raise ValueError(f"decimals must be a whole number from 0 to 6, got {decimals!r}")
    return out


def _candidates(
    candidates: pd.DataFrame, label: str, events: str, total: str, cohort: str | None
) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.int64], list[list[int]]]:
    for col in (label, events, total) + ((cohort,) if cohort else ()):
        if col not in candidates.columns:
            raise ValueError(
                f"candidates have no column '{col}'; columns: {', '.join(map(str, candidates))}"
            )
    labels = [str(v) for v in candidates[label]]
    seen: dict[str, int] = {}
    for i, lab in enumerate(labels):
        if lab in seen:
            raise ValueError(
                f"candidate '{lab}' (rows {seen[lab] + 1} and {i + 1}): labels must be unique"
            )
        seen[lab] = i
    ev = np.zeros(len(labels), dtype=np.int64)
    tot = np.zeros(len(labels), dtype=np.int64)
    for i, (e, t) in enumerate(zip(candidates[events], candidates[total], strict=True)):
        for name, v, arr in ((events, e, ev), (total, t, tot)):
            try:
                f = float(v)
            except (TypeError, ValueError):
                f = math.nan
            if not math.isfinite(f) or f != int(f) or f < 0:
                raise ValueError(
                    f"candidate '{labels[i]}' (row {i + 1}), field '{name}': {v!r} is not a "
                    "whole number >= 0"
                )
            arr[i] = int(f)
        if tot[i] < 1 or ev[i] > tot[i]:
            raise ValueError(
                f"candidate '{labels[i]}' (row {i + 1}): events {ev[i]} and total {tot[i]} "
                "need 0 <= events <= total and total >= 1"
            )
    if cohort is None:
        groups = [[i] for i in range(len(labels))]
    else:
        by: dict[str, list[int]] = {}
        for i, c in enumerate(candidates[cohort]):
            key = f"row {i}" if pd.isna(c) or str(c) == "" else str(c)
            by.setdefault(key, []).append(i)
        groups = list(by.values())
    return labels, ev, tot, groups


def reconstruct(
    candidates: pd.DataFrame,
    target: Mapping[str, Any],
    *,
    decimals: int = 1,
    label: str = "label",
    events: str = "events",
    total: str = "total",
    cohort: str | None = "cohort",
    allow_same_cohort: bool = False,
    min_k: int = 2,
    transforms: Sequence[str] = ("raw", "logit", "arcsine", "ft"),
    tau2_methods: Sequence[str] = ("DL", "REML", "PM"),
    i2_definitions: Sequence[str] = ("tau2", "q"),
    ci_methods: Sequence[str] = ("z",),
    pi_methods: Sequence[str] = ("z", "t", "hts"),
    near: int = 3,
    profile: str = "metafor",
    chunk_size: int = 1 << 16,
    max_seconds: float = 1800.0,
    progress: bool = False,
) -> ReconstructResult:
    """Enumerate the study sets and methods whose rounded results equal published ones.

    Parameters
    ----------
    candidates
        One row per candidate report: ``label``, ``events``, ``total`` and optionally a
        ``cohort`` column (reports of the same patients share it; a set takes at most one
        report per cohort unless ``allow_same_cohort``). Without the column every row is a
        cohort of its own.
    target
        The published summary in percent, as printed: any of ``estimate``, ``ci_low``,
        ``ci_high``, ``pi_low``, ``pi_high``, ``i2``, and the whole numbers ``k`` (studies)
        and ``n`` (participants), e.g. ``{"estimate": 89.0, "ci_low": 85.8, "ci_high":
        92.2, "i2": 90.1}``. Missing or NaN values are not compared.
    decimals
        Decimals printed (1 for 89.0%).
    label, events, total, cohort
        Column names in ``candidates`` (``cohort=None``: no cohort column).
    allow_same_cohort
        Allow several reports of one cohort in a set (a paper that double-counted).
    min_k
        Smallest set size considered (default 2).
    transforms, tau2_methods, i2_definitions, ci_methods, pi_methods
        The method grid, in :func:`inometa.metaprop`'s vocabulary (``"tau2"``: metafor's
        I² from τ²; ``"q"``: R meta's (Q − df)/Q). For DL both I² definitions agree and
        only ``"tau2"`` is fitted. PI methods are tried only when the target has a PI.
    near
        Width of the near-miss window, in printed units on each side.
    profile
        The convention profile (:data:`inometa.PROFILES`) for everything not in the grid,
        e.g. the continuity correction.
    chunk_size
        Sets per vectorised chunk (memory: about ``chunk_size × len(candidates) × 24``
        bytes).
    max_seconds
        Refuse, before starting, a search estimated (from a timed pilot chunk) to take
        longer than this.
    progress
        Print progress to standard error.

    Returns
    -------
    ReconstructResult

    Raises
    ------
    ValueError
        Bad candidates (naming row and field), unknown target keys or options, a search
        estimated to take longer than ``max_seconds`` (with the estimate), or too many
        sets to number.

    Examples
    --------
    >>> import pandas as pd, inometa
    >>> cand = pd.DataFrame({"label": ["A", "B", "C", "D"], "events": [10, 30, 18, 40],
    ...                      "total": [40, 50, 30, 60]})
    >>> one = inometa.metaprop([10, 30, 40], [40, 50, 60], tau2_method="DL", transform="raw")
    >>> d = one.to_dict()
    >>> pub = {key: round(100 * d[key], 1) for key in ("estimate", "ci_low", "ci_high")}
    >>> res = inometa.reconstruct(cand, pub, transforms=["raw"], tau2_methods=["DL"])
    >>> [tuple(s) for s in res.matches["studies"]]
    [('A', 'B', 'D')]
    """
    tgt = _check_target(target, decimals)
    labels, ev, tot, groups = _candidates(
        candidates, label, events, total, cohort if cohort in candidates.columns else None
    )
    if cohort and cohort not in candidates.columns and cohort != "cohort":
        raise ValueError(f"candidates have no cohort column '{cohort}'")
    if allow_same_cohort:
        groups = [[i] for i in range(len(labels))]
    if not isinstance(min_k, int) or min_k < 2:
        raise ValueError(f"min_k must be a whole number >= 2, got {min_k!r}")
    if not isinstance(near, int) or near < 0:
        raise ValueError(f"near must be a whole number >= 0, got {near!r}")
    n_study = len(labels)
    total_sets = count_subsets(groups)
    if total_sets > 2**62:
        raise ValueError(f"{total_sets:.3g} sets cannot be numbered; use fewer candidates")

    unit = 10.0 ** (-decimals)
    keys = tuple(k for k in _PERCENT_KEYS if k in tgt)
    win = _Windows(keys, {k: tgt[k] for k in keys}, unit, near)
    has_pi = "pi_low" in tgt or "pi_high" in tgt
    pis = tuple(pi_methods) if has_pi else ("z",)
    ci_filter = tuple(ci_methods) == ("z",)
    zq = float(special.ndtri(0.975))

    # The continuity correction must be a per-study rule: a set-dependent one ("if0all")
    # would change a study's yi with the company it keeps.
    prepared: dict[str, tuple[FloatArray, FloatArray]] = {}
    for tr in transforms:
        opts = _opts(profile, transform=tr, tau2_method="DL")
        if opts.correction == "if0all":
            raise ValueError("reconstruct() needs a per-study continuity correction")
        prep = prepare(ev, tot, data=None, labels=labels, options=opts)
        prepared[opts.transform] = (np.asarray(prep.yi), np.asarray(prep.vi))
    for m in tau2_methods:
        _opts(profile, tau2_method=m)
    i2_definitions = [str(_opts(profile, i2_definition=d).i2_definition) for d in i2_definitions]
    methods = [str(_opts(profile, tau2_method=m).tau2_method) for m in tau2_methods]
    combos = [(m, d) for m in methods for d in i2_definitions if not (m == "DL" and d == "q")]
    if "DL" in methods and "tau2" not in i2_definitions:
        combos.insert(0, ("DL", "tau2"))
    n_methods = len(prepared) * len(combos) * len(ci_methods) * len(pis)

    survivors: dict[str, dict[tuple[str, str], list[npt.NDArray[np.int64]]]] = {
        t: {c: [] for c in combos} for t in prepared
    }
    feas = {t: [0, math.inf, -math.inf, 0] for t in prepared}
    n_searched = 0
    inv_n = 1.0 / tot.astype(float)
    ys = np.array([yv[0] for yv in prepared.values()])
    vs = np.array([yv[1] for yv in prepared.values()])

    def run_chunk(start: int, stop: int) -> None:
        nonlocal n_searched
        masks = subset_masks(groups, n_study, start, stop)
        k = masks.sum(axis=1)
        keep = k >= min_k
        if "k" in tgt:
            keep &= k == tgt["k"]
        if "n" in tgt:
            keep &= masks.astype(np.int64) @ tot == tgt["n"]
        idx = np.arange(start, stop, dtype=np.int64)[keep]
        masks = masks[keep]
        n_searched += int(idx.size)
        if idx.size == 0:
            return
        inv_nh = (masks @ inv_n) / masks.sum(axis=1)
        all_sums = masked_sums(masks, ys, vs)
        assert isinstance(all_sums, list)
        for (tr, (yi, vi)), s in zip(prepared.items(), all_sums, strict=True):
            dl = _dl_fit(tr, s, masks, yi, vi, inv_nh, zq, win)
            ok = _stage_one(tr, s, dl, masks, yi, vi, inv_nh, win, tgt, combos, ci_filter, zq)
            for combo, passed in ok.items():
                if passed is not None and passed.any():
                    survivors[tr][combo].append(idx[passed])
            _feasibility(feas[tr], dl, win)

    # A timed pilot chunk, then the estimate: refuse a search that would take hours.
    pilot = min(total_sets, max(1024, chunk_size // 8))
    t0 = time.perf_counter()
    run_chunk(0, pilot)
    per_set = (time.perf_counter() - t0) / pilot
    estimate_s = per_set * (total_sets - pilot)
    if estimate_s > max_seconds:
        raise ValueError(
            f"searching {total_sets:,} study sets × {n_methods} methods would take about "
            + (
                f"{estimate_s:.0f} seconds"
                if estimate_s < 120
                else f"{estimate_s / 60:,.0f} minutes"
            )
            + f" here (limit max_seconds={max_seconds:g}); "
            "narrow the candidates (fewer alternatives per cohort), give k or n, or raise "
            "max_seconds"
        )
    start = pilot
    t_start = time.perf_counter()
    while start < total_sets:
        stop = min(start + chunk_size, total_sets)
        run_chunk(start, stop)
        start = stop
        if progress:
            done = start / total_sets
            el = time.perf_counter() - t_start
            eta = el / max(done, 1e-12) * (1 - done)
            print(
                f"\rreconstruct: {start:,}/{total_sets:,} sets ({100 * done:.0f}%), "
                f"about {eta:.0f} s left",
                end="",
                file=sys.stderr,
                flush=True,
            )
    if progress:
        print(file=sys.stderr)

    rows = _stage_two(
        survivors, groups, n_study, labels, ev, tot, win, tgt, ci_methods, pis, profile
    )
    return _assemble(
        rows,
        tgt,
        decimals,
        near,
        keys,
        n_searched,
        n_methods,
        feas,
        labels,
        {
            "profile": profile,
            "transforms": tuple(prepared),
            "tau2_methods": tuple(methods),
            "i2_definitions": tuple(i2_definitions),
            "ci_methods": tuple(ci_methods),
            "pi_methods": pis,
            "allow_same_cohort": allow_same_cohort,
            "min_k": min_k,
            "n_candidates": n_study,
            "n_cohorts": len(groups),
        },
    )


def _opts(profile: str, **given: Any) -> Any:
    names = (
        "method",
        "transform",
        "tau2_method",
        "tau2_fixed",
        "ci_method",
        "pi_method",
        "i2_definition",
        "study_ci_method",
        "correction",
        "increment",
    )
    kw: dict[str, Any] = {name: None for name in names}
    kw.update(given)
    return resolve_options(**kw, level=0.95, nagq=None, profile=profile)


def _in(x: FloatArray, lo_hi: tuple[float, float]) -> BoolArray:
    return (x >= lo_hi[0]) & (x <= lo_hi[1])


def _backtransform(tr: str, y: FloatArray, inv_nh: FloatArray) -> FloatArray:
    t = get_transform(tr)
    return t.inverse(y, 1.0 / inv_nh) if t.needs_n else t.inverse(y)


def _dl_fit(
    tr: str,
    s: Any,
    masks: BoolArray,
    yi: FloatArray,
    vi: FloatArray,
    inv_nh: FloatArray,
    zq: float,
    win: _Windows,
) -> dict[str, FloatArray]:
    """DerSimonian–Laird with a Wald CI, on the proportion scale, for every set whose I²
    (additive: from Q) lies in the near window; NaN for the others."""
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(s.q > 0, np.maximum(s.q - (s.k - 1), 0) / s.q, 0.0)
    rows = _in(i2, win.bounds("i2", win.near)) if "i2" in win.keys else np.ones(i2.size, bool)
    out = {key: np.full(i2.size, np.nan) for key in ("estimate", "ci_low", "ci_high")}
    out["i2"] = i2
    if rows.any():
        w, wy = random_effects_sums(masks[rows], yi, vi, s.tau2_dl[rows])
        mu = wy / w
        se = 1 / np.sqrt(w)
        nh = inv_nh[rows]
        out["estimate"][rows] = _backtransform(tr, mu, nh)
        out["ci_low"][rows] = _backtransform(tr, mu - zq * se, nh)
        out["ci_high"][rows] = _backtransform(tr, mu + zq * se, nh)
    return out


def _stage_one(
    tr: str,
    s: Any,
    dl: Mapping[str, FloatArray],
    masks: BoolArray,
    yi: FloatArray,
    vi: FloatArray,
    inv_nh: FloatArray,
    win: _Windows,
    tgt: Mapping[str, float],
    combos: Sequence[tuple[str, str]],
    ci_filter: bool,
    zq: float,
) -> dict[tuple[str, str], BoolArray | None]:
    """Per (τ² estimator, I² definition): which sets can still match (a necessary test)."""
    n = s.k.size
    everyone = np.ones(n, dtype=bool)
    dl_ok = everyone.copy()
    for key in win.keys:
        if key in dl and (ci_filter or key not in ("ci_low", "ci_high")):
            dl_ok &= _in(dl[key], win.bounds(key, win.near))
    with np.errstate(divide="ignore", invalid="ignore"):
        i2_q = np.where(s.q > 0, np.maximum(s.q - (s.k - 1), 0) / s.q, 0.0)
    q_ok = _in(i2_q, win.bounds("i2", win.near)) if "i2" in tgt else everyone

    # Bounds on Σ 1/(v + τ²) from the Wald CI: W ≥ w_min is needed at the smallest τ²
    # allowed, W ≤ w_max at the largest (W falls as τ² grows). Per set: the Freeman–Tukey
    # scale depends on the set's harmonic mean n.
    w_min, w_max = np.zeros(n), np.full(n, math.inf)
    if ci_filter and "ci_low" in tgt and "ci_high" in tgt:
        l_min, l_max = _model_window(tr, win.bounds("ci_low", win.near), inv_nh)
        u_min, u_max = _model_window(tr, win.bounds("ci_high", win.near), inv_nh)
        with np.errstate(invalid="ignore"):
            se_max = (u_max - l_min) / (2 * zq)
            se_min = np.maximum((u_min - l_max) / (2 * zq), 0.0)
        with np.errstate(divide="ignore"):
            w_min = np.where(np.isfinite(se_max), 1 / se_max**2, 0.0)
            w_max = np.where((se_min > 0) & np.isfinite(se_min), 1 / se_min**2, math.inf)

    e_lo, e_hi = np.full(n, -math.inf), np.full(n, math.inf)
    if "estimate" in tgt:
        e_lo, e_hi = _model_window(tr, win.bounds("estimate", win.near), inv_nh)

    out: dict[tuple[str, str], BoolArray | None] = {}
    tau_ok: BoolArray | None = None
    q_only: BoolArray | None = None
    for m, d in combos:
        if m == "DL":
            out[(m, d)] = dl_ok
        elif d == "q":
            if q_only is None:
                q_only = q_ok & (s.sw >= w_min * (1 - 1e-9))
                scan = q_only & (w_min > 0)
                if scan.any():
                    q_only[scan] = _tau2_free_ok(
                        masks[scan], yi, vi, w_min[scan], w_max[scan], e_lo[scan], e_hi[scan]
                    )
            out[(m, d)] = q_only
        else:
            if tau_ok is None:
                tau_ok = _tau2_defined_ok(s, masks, yi, vi, win, tgt, w_min, w_max, e_lo, e_hi)
            out[(m, d)] = tau_ok
    return out


def _model_window(
    tr: str, bounds: tuple[float, float], inv_nh: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """A window of proportions on the model scale, per set (open where it reaches 0 or 1:
    the inverses clip there). Freeman–Tukey at each set's harmonic mean n."""
    n = inv_nh.size

    def forward(p: float) -> FloatArray:
        if tr == "ft":
            return ft_forward(np.full(n, p), 1.0 / inv_nh)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.full(n, float(_FORWARD[tr](np.array(p))))

    lo = np.full(n, -math.inf) if bounds[0] <= 0 else forward(bounds[0])
    hi = np.full(n, math.inf) if bounds[1] >= 1 else forward(bounds[1])
    return lo, hi


def _mean_bound(
    masks: BoolArray,
    yi: FloatArray,
    vi: FloatArray,
    t_a: FloatArray,
    t_b: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """W(τ²) and the range of the pooled mean for τ² in [t_a, t_b], for every set.

    With ρᵢ = wᵢ(τ²)/wᵢ(t_a) ∈ [1/R, 1], R = maxᵢ (vᵢ + t_b)/(vᵢ + t_a), the mean moves by
    at most (R − 1)/2 · Σwᵢ(t_a)|yᵢ − μ(t_a)| / Σwᵢ(t_a) from μ(t_a).
    Returns W(t_a), μ(t_a) − bound, μ(t_a) + bound and R.
    """
    w = np.where(masks, 1.0 / (vi[None, :] + t_a[:, None]), 0.0)
    big_w = w.sum(axis=1)
    mu = (w @ yi) / big_w
    dev = (w * np.abs(yi[None, :] - mu[:, None])).sum(axis=1) / big_w
    v_min = np.where(masks, vi[None, :], np.inf).min(axis=1)
    with np.errstate(invalid="ignore"):
        ratio = np.where(np.isfinite(t_b), (v_min + t_b) / (v_min + t_a), np.inf)
    half = np.where(np.isfinite(ratio), (ratio - 1) / 2 * dev, np.inf)
    return big_w, mu - half, mu + half, ratio


def _tau2_free_ok(
    masks: BoolArray,
    yi: FloatArray,
    vi: FloatArray,
    w_min: FloatArray,
    w_max: FloatArray,
    e_lo: FloatArray,
    e_hi: FloatArray,
    step: float = 1.25,
) -> BoolArray:
    """I² from Q says nothing about τ²: scan τ² over a grid on which each interval moves
    every weight by at most a factor ``step``; keep a set if on some interval W can lie in
    [w_min, w_max] and the mean in [e_lo, e_hi]. τ² beyond k/w_min gives W < w_min."""
    r = masks.shape[0]
    k = masks.sum(axis=1)
    v_min = np.where(masks, vi[None, :], np.inf).min(axis=1)
    t_max = k / w_min
    n_steps = int(np.ceil(np.max(np.log((v_min + t_max) / v_min)) / math.log(step))) + 1
    ok = np.zeros(r, dtype=bool)
    live = np.ones(r, dtype=bool)
    for j in range(n_steps):
        t_a = v_min * (step**j - 1)
        t_b = v_min * (step ** (j + 1) - 1)
        live &= t_a <= t_max
        todo = live & ~ok
        if not todo.any():
            break
        w_a, m_lo, m_hi, _ = _mean_bound(masks[todo], yi, vi, t_a[todo], t_b[todo])
        # W at t_b is at least W(t_a)/R: a valid lower end of W on the interval.
        w_b = w_a / step
        reach = (w_a >= w_min[todo] * (1 - 1e-9)) & (w_b <= w_max[todo] * (1 + 1e-9))
        reach &= (m_hi >= e_lo[todo]) & (m_lo <= e_hi[todo])
        ok[np.flatnonzero(todo)[reach]] = True
    return ok


def _tau2_defined_ok(
    s: Any,
    masks: BoolArray,
    yi: FloatArray,
    vi: FloatArray,
    win: _Windows,
    tgt: Mapping[str, float],
    w_min: FloatArray,
    w_max: FloatArray,
    e_lo: FloatArray,
    e_hi: FloatArray,
) -> BoolArray:
    """metafor's I² = τ²/(τ² + s̃²): the published I² bounds τ², then the CI bounds W and
    the estimate bounds the mean over that τ² interval."""
    n = s.k.size
    if "i2" in tgt:
        i_lo, i_hi = win.bounds("i2", win.near)
        i_lo = max(i_lo, 0.0)
        s2 = s.typical_variance
        t_lo = s2 * (i_lo / (1 - i_lo))
        t_hi = s2 * (i_hi / (1 - i_hi)) if i_hi < 1 else np.full(n, math.inf)
    else:
        t_lo = np.zeros(n)
        t_hi = np.full(n, math.inf)
    # Σ wᵢ/(1 + wᵢτ²) is concave in the wᵢ: by Jensen W(τ²) ≤ Σw / (1 + Σw·τ²/k), from
    # the additive sums alone; the costlier bounds run only on the sets that pass it.
    ok: BoolArray = np.asarray(s.sw / (1 + s.sw * t_lo / s.k) >= w_min * (1 - 1e-9))
    if ok.any():
        w_at_lo, m_lo, m_hi, _ = _mean_bound(masks[ok], yi, vi, t_lo[ok], t_hi[ok])
        keep = w_at_lo >= w_min[ok] * (1 - 1e-9)
        keep &= (m_hi >= e_lo[ok]) & (m_lo <= e_hi[ok])
        ok[ok] = keep
    bounded = np.isfinite(w_max) & np.isfinite(t_hi) & ok
    if bounded.any():
        w_at_hi, _ = random_effects_sums(masks[bounded], yi, vi, t_hi[bounded])
        ok[bounded] = w_at_hi <= w_max[bounded] * (1 + 1e-9)
    return ok


def _feasibility(acc: list[float], dl: Mapping[str, FloatArray], win: _Windows) -> None:
    """Under DL: sets at the published estimate and I²; their CI widths."""
    if "ci_low" not in win.keys or "ci_high" not in win.keys:
        return
    at = np.ones(dl["i2"].size, dtype=bool)
    for key in ("estimate", "i2"):
        if key in win.keys:
            at &= _in(dl[key], win.bounds(key, 0))
    if not at.any():
        return
    width = 100 * (dl["ci_high"][at] - dl["ci_low"][at])
    pub = win.centre["ci_high"] - win.centre["ci_low"]
    acc[0] += int(at.sum())
    acc[1] = min(acc[1], float(width.min()))
    acc[2] = max(acc[2], float(width.max()))
    acc[3] += int((np.abs(width - pub) <= win.unit + _EPS).sum())


def _stage_two(
    survivors: Mapping[str, Mapping[tuple[str, str], list[npt.NDArray[np.int64]]]],
    groups: Sequence[Sequence[int]],
    n_study: int,
    labels: Sequence[str],
    ev: npt.NDArray[np.int64],
    tot: npt.NDArray[np.int64],
    win: _Windows,
    tgt: Mapping[str, float],
    ci_methods: Sequence[str],
    pis: Sequence[str],
    profile: str,
) -> list[dict[str, Any]]:
    """Exact fits of the surviving sets; rows within the near window."""
    rows: list[dict[str, Any]] = []
    for tr, by_combo in survivors.items():
        for (m, d), parts in by_combo.items():
            if not parts:
                continue
            idx = np.unique(np.concatenate(parts))
            masks = subset_masks(groups, n_study, idx)
            e = np.broadcast_to(ev.astype(float), masks.shape)
            t = np.broadcast_to(tot.astype(float), masks.shape)
            for ci in ci_methods:
                for pi in pis:
                    df = metaprop_batch(
                        e,
                        t,
                        mask=masks,
                        labels=list(labels),
                        transform=tr,
                        tau2_method=m,
                        i2_definition=d,
                        ci_method=ci,
                        pi_method=pi,
                        profile=profile,
                    )
                    assert isinstance(df, pd.DataFrame)
                    vals = {key: df[key].to_numpy(dtype=float) for key in win.keys}
                    near_ok = np.ones(len(df), dtype=bool)
                    dist = np.zeros(len(df))
                    for key in win.keys:
                        near_ok &= _in(vals[key], win.bounds(key, win.near))
                        dist = np.maximum(
                            dist, np.abs(100 * vals[key] - win.centre[key]) / win.unit
                        )
                    for j in np.flatnonzero(near_ok):
                        members = tuple(labels[int(c)] for c in np.flatnonzero(masks[j]))
                        row: dict[str, Any] = {
                            "studies": members,
                            "k": int(df["k"].iloc[j]),
                            "n_total": int(df["n_total"].iloc[j]),
                            "transform": tr,
                            "tau2_method": m,
                            "i2_definition": "tau2=q" if m == "DL" else d,
                            "ci_method": ci,
                            "pi_method": pi if len(pis) > 1 or "pi_low" in tgt else "",
                        }
                        for key in win.keys:
                            row[key] = 100 * vals[key][j]
                        row["distance"] = float(dist[j])
                        rows.append(row)
    return rows


_ROW_COLUMNS = (
    "studies",
    "k",
    "n_total",
    "transform",
    "tau2_method",
    "i2_definition",
    "ci_method",
    "pi_method",
)


def _shift_lattice(keys: tuple[str, ...]) -> tuple[list[str], dict[str, dict[str, int]]]:
    """The directions a published summary can move in while keeping its internal structure.

    All locations (estimate, CI and PI limits) move together; a CI (PI) widens by moving
    its limits apart; I² moves alone. Shifting along these keeps a target as consistent
    (e.g. a Wald CI symmetric about the estimate) as the published one.
    """
    dims: list[str] = []
    coef: dict[str, dict[str, int]] = {k: {} for k in keys}
    locations = [k for k in keys if k != "i2"]
    if locations:
        dims.append("location")
        for k in locations:
            coef[k]["location"] = 1
    for lo, hi, dim in (("ci_low", "ci_high", "ci_width"), ("pi_low", "pi_high", "pi_width")):
        if lo in keys and hi in keys:
            dims.append(dim)
            coef[lo][dim] = -1
            coef[hi][dim] = 1
    if "i2" in keys:
        dims.append("i2")
        coef["i2"]["i2"] = 1
    return dims, coef


def _chance(
    table: pd.DataFrame, tgt: Mapping[str, float], keys: tuple[str, ...], decimals: int, near: int
) -> float:
    """Matches expected by chance: the mean number of sets at the targets around this one.

    Each near set is placed on the grid of printed values; the targets reached by moving
    the published one along :func:`_shift_lattice` while staying within ``near`` units of
    it on every value (the published target itself excluded) are counted, and their mean count is
    the density of matches a target like this one meets in this pool.
    """
    if table.empty or not keys:
        return 0.0
    unit = 10.0 ** (-decimals)
    dims, coef = _shift_lattice(keys)
    offsets = np.column_stack(
        [np.rint((table[k].to_numpy(dtype=float) - tgt[k]) / unit) for k in keys]
    ).astype(np.int64)
    counts: dict[tuple[int, ...], int] = {}
    for row in map(tuple, offsets):
        counts[row] = counts.get(row, 0) + 1
    steps = range(-near, near + 1)
    total, cells = 0, 0
    for shift in (
        np.array(np.meshgrid(*[steps] * len(dims), indexing="ij")).reshape(len(dims), -1).T
    ):
        if not shift.any():
            continue
        by_dim = dict(zip(dims, shift.tolist(), strict=True))
        cell = tuple(sum(c * by_dim[d] for d, c in coef[k].items()) for k in keys)
        if max(map(abs, cell)) > near:
            continue  # outside the window the near sets were collected in
        cells += 1
        total += counts.get(cell, 0)
    return total / cells if cells else 0.0


def _assemble(
    rows: list[dict[str, Any]],
    tgt: Mapping[str, float],
    decimals: int,
    near: int,
    keys: tuple[str, ...],
    n_searched: int,
    n_methods: int,
    feas: Mapping[str, list[float]],
    labels: Sequence[str],
    options: dict[str, Any],
) -> ReconstructResult:
    columns = [*_ROW_COLUMNS, *keys, "distance"]
    table = pd.DataFrame(rows, columns=columns)
    table = table.sort_values(["distance", "k"], kind="stable").reset_index(drop=True)
    is_match = table["distance"] <= 0.5 + _EPS * 10**decimals
    matches = table[is_match].reset_index(drop=True)
    near_misses = table[~is_match].reset_index(drop=True)

    def shared(frame: pd.DataFrame) -> tuple[str, ...]:
        if frame.empty:
            return ()
        common = set(frame["studies"].iloc[0]).intersection(*map(set, frame["studies"]))
        return tuple(lab for lab in labels if lab in common)

    expected = _chance(table, tgt, keys, decimals, near)
    pub_width = tgt["ci_high"] - tgt["ci_low"] if "ci_low" in tgt and "ci_high" in tgt else None
    feas_rows = [
        {
            "transform": tr,
            "n_at_estimate_and_i2": int(a[0]),
            "min_ci_width": a[1] if a[0] else math.nan,
            "max_ci_width": a[2] if a[0] else math.nan,
            "published_ci_width": pub_width,
            "n_reaching_ci_width": int(a[3]),
        }
        for tr, a in feas.items()
    ]
    feasibility = pd.DataFrame(feas_rows)
    feasible = (
        None
        if pub_width is None
        else bool(not matches.empty or feasibility["n_reaching_ci_width"].sum() > 0)
    )
    method_cols = ["transform", "tau2_method", "i2_definition", "ci_method", "pi_method"]
    if table.empty:
        by_method = pd.DataFrame(columns=[*method_cols, "n_matches", "n_near", "min_distance"])
    else:
        by_method = (
            table.assign(match=is_match)
            .groupby(method_cols, sort=False)
            .agg(
                n_matches=("match", "sum"),
                n_near=("match", "size"),
                min_distance=("distance", "min"),
            )
            .reset_index()
            .sort_values(["n_matches", "min_distance"], ascending=[False, True], kind="stable")
            .reset_index(drop=True)
        )
    notes = []
    if matches.empty:
        notes.append("no candidate set reaches the published values with any method searched")
    elif len(matches) <= 3 * expected:
        notes.append(
            f"{len(matches)} match(es) where about {expected:.2g} are expected by chance from "
            "the density of near misses: the matches do not identify the paper's studies"
        )
    if feasible is False:
        notes.append(
            "under DL no set reaches the published CI width at the published estimate and I²: "
            "the paper had studies (or counts) the candidate pool lacks"
        )
    return ReconstructResult(
        matches=matches,
        near_misses=near_misses,
        n_searched=n_searched,
        n_methods=n_methods,
        always_included=shared(matches),
        near_shared=shared(table),
        expected_by_chance=expected,
        feasibility=feasibility,
        feasible=feasible,
        by_method=by_method,
        target={**tgt, "decimals": decimals, "near": near},
        options=options,
        notes=tuple(notes),
    )
