"""The vectorised stages of :func:`inometa.reconstruct`: the DerSimonian–Laird fit of every
set in a chunk, the exact filters per method (stage one), the feasibility tally, and the
confirmation of the survivors with :func:`inometa.metaprop_batch` (stage two).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from ..core.q_sums import (
    random_effects_sums,
    subset_masks,
)
from ..core.transforms import ft_forward, get_transform
from .batch import metaprop_batch
from .escalc import resolve_options

__all__ = [
    "EPS",
    "PERCENT_KEYS",
    "ROW_COLUMNS",
    "BoolArray",
    "FloatArray",
    "Windows",
    "dl_fit",
    "feasibility",
    "method_options",
    "stage_one",
    "stage_two",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

PERCENT_KEYS = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2")
EPS = 1e-6  # percent: vectorised sums and the batch fit agree far better than this

_FORWARD: dict[str, Callable[[FloatArray], FloatArray]] = {
    "raw": lambda p: p,
    "log": np.log,
    "logit": special.logit,
    "arcsine": lambda p: np.arcsin(np.sqrt(p)),
}


@dataclass(frozen=True)
class Windows:
    """Per key, the near window and the match window in proportion units (I² a fraction)."""

    keys: tuple[str, ...]
    centre: dict[str, float]
    unit: float  # one printed unit, in percent
    near: int

    def bounds(self, key: str, units: float) -> tuple[float, float]:
        half = (units + 0.5) * self.unit + EPS
        c = self.centre[key]
        return (c - half) / 100, (c + half) / 100


def method_options(profile: str, **given: Any) -> Any:
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


def dl_fit(
    tr: str,
    s: Any,
    masks: BoolArray,
    yi: FloatArray,
    vi: FloatArray,
    inv_nh: FloatArray,
    zq: float,
    win: Windows,
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


def stage_one(
    tr: str,
    s: Any,
    dl: Mapping[str, FloatArray],
    masks: BoolArray,
    yi: FloatArray,
    vi: FloatArray,
    inv_nh: FloatArray,
    win: Windows,
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
    win: Windows,
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


def feasibility(acc: list[float], dl: Mapping[str, FloatArray], win: Windows) -> None:
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
    acc[3] += int((np.abs(width - pub) <= win.unit + EPS).sum())


def stage_two(
    survivors: Mapping[str, Mapping[tuple[str, str], list[npt.NDArray[np.int64]]]],
    groups: Sequence[Sequence[int]],
    n_study: int,
    labels: Sequence[str],
    ev: npt.NDArray[np.int64],
    tot: npt.NDArray[np.int64],
    win: Windows,
    tgt: Mapping[str, float],
    ci_methods: Sequence[str],
    pis: Sequence[str],
    profile: str,
    chunk_size: int,
) -> list[dict[str, Any]]:
    """Exact fits of the surviving sets, ``chunk_size`` at a time; rows within the near window."""
    rows: list[dict[str, Any]] = []
    for tr, by_combo in survivors.items():
        for (m, d), parts in by_combo.items():
            every = np.unique(np.concatenate(parts)) if parts else np.empty(0, np.int64)
            for first in range(0, every.size, chunk_size):
                masks = subset_masks(groups, n_study, every[first : first + chunk_size])
                for ci, pi in itertools.product(ci_methods, pis):
                    method = {"transform": tr, "tau2_method": m, "i2_definition": d}
                    method |= {"ci_method": ci, "pi_method": pi}
                    rows += _near_rows(masks, labels, ev, tot, win, tgt, profile, pis, method)
    return rows


def _near_rows(
    masks: BoolArray,
    labels: Sequence[str],
    ev: npt.NDArray[np.int64],
    tot: npt.NDArray[np.int64],
    win: Windows,
    tgt: Mapping[str, float],
    profile: str,
    pis: Sequence[str],
    method: Mapping[str, str],
) -> list[dict[str, Any]]:
    """One chunk of surviving sets refitted exactly under one method; the near rows."""
    df = metaprop_batch(
        np.broadcast_to(ev.astype(float), masks.shape),
        np.broadcast_to(tot.astype(float), masks.shape),
        mask=masks,
        labels=list(labels),
        profile=profile,
        transform=method["transform"],
        tau2_method=method["tau2_method"],
        i2_definition=method["i2_definition"],
        ci_method=method["ci_method"],
        pi_method=method["pi_method"],
    )
    assert isinstance(df, pd.DataFrame)
    vals = {key: df[key].to_numpy(dtype=float) for key in win.keys}
    near_ok = np.ones(len(df), dtype=bool)
    dist = np.zeros(len(df))
    for key in win.keys:
        near_ok &= _in(vals[key], win.bounds(key, win.near))
        dist = np.maximum(dist, np.abs(100 * vals[key] - win.centre[key]) / win.unit)
    shown = {
        **method,
        "i2_definition": "tau2=q" if method["tau2_method"] == "DL" else method["i2_definition"],
        "pi_method": method["pi_method"] if len(pis) > 1 or "pi_low" in tgt else "",
    }
    rows: list[dict[str, Any]] = []
    for j in np.flatnonzero(near_ok):
        row: dict[str, Any] = {
            "studies": tuple(labels[int(c)] for c in np.flatnonzero(masks[j])),
            "k": int(df["k"].iloc[j]),
            "n_total": int(df["n_total"].iloc[j]),
            **shown,
        }
        for key in win.keys:
            row[key] = 100 * vals[key][j]
        row["distance"] = float(dist[j])
        rows.append(row)
    return rows


ROW_COLUMNS = (
    "studies",
    "k",
    "n_total",
    "transform",
    "tau2_method",
    "i2_definition",
    "ci_method",
    "pi_method",
)
