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
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from ..core.q_sums import (
    count_subsets,
    masked_sums,
    subset_masks,
)
from ._reconstruct_result import ReconstructResult, assemble
from ._reconstruct_stages import (
    PERCENT_KEYS,
    FloatArray,
    Windows,
    dl_fit,
    feasibility,
    method_options,
    stage_one,
    stage_two,
)
from .escalc import prepare

__all__ = ["TARGET_KEYS", "ReconstructResult", "reconstruct"]


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
        if key in PERCENT_KEYS and not 0 <= v <= 100:
            raise ValueError(f"target '{key}': {v} is not a percentage in [0, 100]")
        if key in ("k", "n") and (v != int(v) or v < 1):
            raise ValueError(f"target '{key}': {value!r} is not a positive whole number")
        out[key] = v
    if not any(k in out for k in PERCENT_KEYS):
        raise ValueError("target needs at least one of " + ", ".join(PERCENT_KEYS))
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
    max_survivors: int = 2_000_000,
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
    max_survivors
        Stop with an error when more than this many (set, method) pairs pass the exact
        prefilter and would have to be refitted: each is held in memory and refitted once
        per CI and PI method, and each near one becomes a row of ``near_misses``. A target
        that loose (few printed values, wide intervals) cannot pin a set down anyway; the
        default, 2,000,000 pairs, needs about 16 MB of indices and about a minute of
        refitting per CI/PI method. Without it a loose target could exhaust the machine's
        memory after hours of enumeration.
    progress
        Print progress to standard error.

    Returns
    -------
    ReconstructResult

    Raises
    ------
    ValueError
        Bad candidates (naming row and field), unknown target keys or options, a search
        estimated to take longer than ``max_seconds`` (with the estimate), more than
        ``max_survivors`` (set, method) pairs left to refit, or too many
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
    keys = tuple(k for k in PERCENT_KEYS if k in tgt)
    win = Windows(keys, {k: tgt[k] for k in keys}, unit, near)
    has_pi = "pi_low" in tgt or "pi_high" in tgt
    pis = tuple(pi_methods) if has_pi else ("z",)
    ci_filter = tuple(ci_methods) == ("z",)
    zq = float(special.ndtri(0.975))

    # The continuity correction must be a per-study rule: a set-dependent one ("if0all")
    # would change a study's yi with the company it keeps.
    prepared: dict[str, tuple[FloatArray, FloatArray]] = {}
    for tr in transforms:
        opts = method_options(profile, transform=tr, tau2_method="DL")
        if opts.correction == "if0all":
            raise ValueError("reconstruct() needs a per-study continuity correction")
        prep = prepare(ev, tot, data=None, labels=labels, options=opts)
        prepared[opts.transform] = (np.asarray(prep.yi), np.asarray(prep.vi))
    for m in tau2_methods:
        method_options(profile, tau2_method=m)
    i2_definitions = [
        str(method_options(profile, i2_definition=d).i2_definition) for d in i2_definitions
    ]
    methods = [str(method_options(profile, tau2_method=m).tau2_method) for m in tau2_methods]
    combos = [(m, d) for m in methods for d in i2_definitions if not (m == "DL" and d == "q")]
    if "DL" in methods and "tau2" not in i2_definitions:
        combos.insert(0, ("DL", "tau2"))
    n_methods = len(prepared) * len(combos) * len(ci_methods) * len(pis)

    survivors: dict[str, dict[tuple[str, str], list[npt.NDArray[np.int64]]]] = {
        t: {c: [] for c in combos} for t in prepared
    }
    feas = {t: [0, math.inf, -math.inf, 0] for t in prepared}
    n_searched = 0
    n_survivors = 0
    if max_survivors < 1:
        raise ValueError(f"max_survivors must be at least 1, got {max_survivors}")
    inv_n = 1.0 / tot.astype(float)
    ys = np.array([yv[0] for yv in prepared.values()])
    vs = np.array([yv[1] for yv in prepared.values()])

    def run_chunk(start: int, stop: int) -> None:
        nonlocal n_searched, n_survivors
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
            dl = dl_fit(tr, s, masks, yi, vi, inv_nh, zq, win)
            ok = stage_one(tr, s, dl, masks, yi, vi, inv_nh, win, tgt, combos, ci_filter, zq)
            for combo, passed in ok.items():
                if passed is not None and passed.any():
                    survivors[tr][combo].append(idx[passed])
                    n_survivors += int(np.count_nonzero(passed))
            feasibility(feas[tr], dl, win)
        if n_survivors > max_survivors:
            raise ValueError(
                f"the target is too loose to search: after {stop:,} of {total_sets:,} study "
                f"sets, {n_survivors:,} (set, method) pairs already come within near={near} "
                f"printed units of every published value (limit max_survivors="
                f"{max_survivors:,}); give more of the published values (CI, I², k, n), "
                "fewer methods or a smaller near window, or raise max_survivors"
            )

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

    rows = stage_two(
        survivors,
        groups,
        n_study,
        labels,
        ev,
        tot,
        win,
        tgt,
        ci_methods,
        pis,
        profile,
        chunk_size,
    )
    return assemble(
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
