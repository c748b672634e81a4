"""The result of :func:`inometa.reconstruct` and its assembly: matches, near misses, the
chance estimate, the feasibility table and the per-method summary.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._reconstruct_stages import EPS, ROW_COLUMNS

__all__ = ["ReconstructResult", "assemble"]


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


def assemble(
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
    columns = [*ROW_COLUMNS, *keys, "distance"]
    table = pd.DataFrame(rows, columns=columns)
    # Closest first; ties in a fixed order, not that of the refits (which follows the
    # chunking). Distances are compared to 1e-9 printed units: a batch refit of the same set
    # may differ in the last bits (~1e-13) with the other sets of its chunk.
    table["_close"] = table["distance"].round(9)
    order = ["_close", "k", "studies", *ROW_COLUMNS[3:]]
    table = table.sort_values(order, kind="stable").drop(columns="_close")
    table = table.reset_index(drop=True)
    is_match = table["distance"] <= 0.5 + EPS * 10**decimals
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
