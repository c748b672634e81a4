"""Audit of published pooled proportions: what do the printed numbers themselves imply?

``audit()`` takes a published summary — estimate, CI, optionally PI, I² and k, as printed
(percentages or fractions) — and checks, allowing for the rounding of the printed digits:

1. **CI symmetry by scale.** A Wald interval is symmetric on the scale the pooling used:
   raw, logit, arcsine (√) or log. The scales on which the printed CI *can* be symmetric,
   given rounding, are the candidate pooling scales.
2. **PI contains the estimate.** Any prediction interval from one model does.
3. **PI at least as wide as the CI**, on both sides (it adds τ² to the same SE and uses a
   critical value at least as large).
4. **PI centred on the estimate** on some scale (as a PI from the same model must be).
5. **I² against the interval widths.** With equal within-study variances v, a pooled
   estimate's SE² is (v + τ²)/k and I² = τ²/(v + τ²), so the ratio of PI to CI half-widths
   on the pooling scale is about (c_PI/z)·√(1 + k·I²). The audit reports the k this implies
   (or, if k is given, the expected ratio) — an approximation, flagged as such; and I² = 0
   with a PI wider than the CI (or I² > 0 with a PI no wider) is inconsistent.

Each finding is ``ok``, ``warning`` (unusual but possible), ``impossible`` (no single model
yields these numbers), or ``undetermined`` (not enough information).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AuditFinding", "AuditResult", "audit", "audit_table"]

_SCALES: dict[str, Callable[[float], float]] = {
    "raw": lambda p: p,
    "logit": lambda p: math.log(p / (1 - p)),
    "arcsine": lambda p: math.asin(math.sqrt(p)),
    "log": math.log,
}


@dataclass(frozen=True)
class AuditFinding:
    """One check: ``status`` is ``ok``, ``warning``, ``impossible`` or ``undetermined``."""

    check: str
    status: str
    message: str


@dataclass(frozen=True)
class AuditResult:
    """Findings for one published summary.

    Attributes
    ----------
    label
        What was audited (an outcome name).
    findings
        The checks, in order.
    symmetric_scales
        Scales on which the CI can be symmetric given rounding (candidate pooling scales).
    pi_centred_scales
        Scales on which the PI can be centred on the estimate given rounding.
    """

    label: str
    findings: tuple[AuditFinding, ...]
    symmetric_scales: tuple[str, ...]
    pi_centred_scales: tuple[str, ...]

    def __str__(self) -> str:
        """One line per check: its status and message."""
        lines = [f"Audit of {self.label or 'a published summary'}: {self._counts()}"]
        lines += [f"  {f.status}: {f.check}: {f.message}" for f in self.findings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        """A few lines: the counts by status, then the checks that are not ``ok``.

        Examples
        --------
        >>> import inometa
        >>> inometa.audit(89.0, (85.8, 92.2), (70.1, 97.9), i2=90.1, k=8, label="ORR")
        <AuditResult 'ORR': 5 checks, 4 ok, 1 impossible
          impossible: pi centred on estimate>
        """
        lines = [f"<AuditResult {self.label!r}: {self._counts()}"]
        lines += [f"  {f.status}: {f.check}" for f in self.findings if f.status != "ok"]
        return "\n".join(lines) + ">"

    def _counts(self) -> str:
        statuses = [f.status for f in self.findings]
        counts = ", ".join(
            f"{statuses.count(s)} {s}"
            for s in ("ok", "warning", "impossible", "undetermined")
            if s in statuses
        )
        return f"{len(self.findings)} checks, {counts}"

    @property
    def impossible(self) -> bool:
        """True if any finding shows the numbers cannot come from one model."""
        return any(f.status == "impossible" for f in self.findings)

    def to_frame(self) -> pd.DataFrame:
        """The findings as a DataFrame (``label``, ``check``, ``status``, ``message``)."""
        import pandas as pd

        frame: pd.DataFrame = pd.DataFrame(
            [
                {"label": self.label, "check": f.check, "status": f.status, "message": f.message}
                for f in self.findings
            ]
        )
        return frame


def _asymmetry_range(
    est: float, lo: float, hi: float, g: Callable[[float], float], half: float
) -> tuple[float, float] | None:
    """Range of (g(hi) − g(est)) − (g(est) − g(lo)) over values within ±half of those
    printed (g monotone increasing); None where g is undefined."""

    def clip(v: float) -> float:
        return min(max(v, 1e-12), 1 - 1e-12)

    try:
        upper = [g(clip(hi + s)) for s in (-half, half)]
        centre = [g(clip(est + s)) for s in (-half, half)]
        lower = [g(clip(lo + s)) for s in (-half, half)]
    except ValueError:
        return None
    low = (upper[0] - centre[1]) - (centre[1] - lower[0])
    high = (upper[1] - centre[0]) - (centre[0] - lower[1])
    return low, high


def _symmetric_on(est: float, lo: float, hi: float, half: float) -> tuple[str, ...]:
    out = []
    for name, g in _SCALES.items():
        rng = _asymmetry_range(est, lo, hi, g, half)
        if rng is not None and rng[0] <= 0 <= rng[1]:
            out.append(name)
    return tuple(out)


def _fmt(v: float, unit: float) -> str:
    return f"{v * unit:g}"


def audit(
    estimate: float,
    ci: tuple[float, float],
    pi: tuple[float, float] | None = None,
    i2: float | None = None,
    k: int | None = None,
    *,
    label: str = "",
    unit: str | None = None,
    resolution: float | None = None,
    level: float = 0.95,
) -> AuditResult:
    """Check a published pooled proportion for internal consistency.

    Parameters
    ----------
    estimate, ci, pi, i2
        The published estimate, confidence interval, prediction interval and I², all in
        the same unit (percentages such as 89.0, or fractions such as 0.89).
    k
        Number of studies, if known.
    label
        A name for the summary (e.g. the outcome).
    unit
        ``"percent"`` or ``"fraction"``; default: percent if any value exceeds 1.
    resolution
        The printed resolution in the same unit as the values (default: 0.1 percentage
        points, one decimal of a percentage): values are checked to within half of it.
    level
        Confidence level of the intervals.

    Returns
    -------
    AuditResult

    Examples
    --------
    The VOD result of Lao et al. (2025): its prediction interval excludes the estimate.

    >>> res = audit(6.2, (3.8, 8.6), pi=(6.6, 54.5), i2=68.0, label="vod")
    >>> res.impossible
    True
    >>> res.symmetric_scales
    ('raw',)
    """
    values = [estimate, *ci, *(pi or ()), *([] if i2 is None else [i2])]
    if unit is None:
        unit = "percent" if any(v > 1 for v in values) else "fraction"
    if unit not in ("percent", "fraction"):
        raise ValueError(f"unknown unit {unit!r}; valid values are: fraction, percent")
    scale = 100.0 if unit == "percent" else 1.0
    # Half the printed resolution, as a fraction: one decimal of a percentage by default.
    half = (0.1 / 100 if resolution is None else resolution / scale) / 2
    est, lo, hi = estimate / scale, ci[0] / scale, ci[1] / scale
    findings: list[AuditFinding] = []

    if not lo - half <= est <= hi + half:
        findings.append(
            AuditFinding(
                "ci contains estimate",
                "impossible",
                "the confidence interval does not contain the estimate",
            )
        )
    sym = _symmetric_on(est, lo, hi, half)
    if sym:
        findings.append(
            AuditFinding(
                "ci symmetry",
                "ok",
                "the CI is symmetric (within rounding) on the "
                + ", ".join(sym)
                + " scale"
                + ("s" if len(sym) > 1 else "")
                + ": the likely pooling scale"
                + ("s" if len(sym) > 1 else ""),
            )
        )
    else:
        findings.append(
            AuditFinding(
                "ci symmetry",
                "warning",
                "the CI is symmetric on none of the raw, logit, arcsine and log scales: not a "
                "Wald interval on any of them (e.g. Freeman–Tukey, a t-based or a "
                "profile-likelihood interval, or a back-transformation with another n)",
            )
        )

    centred: tuple[str, ...] = ()
    if pi is None:
        findings.append(
            AuditFinding("prediction interval", "undetermined", "no prediction interval published")
        )
    else:
        plo, phi = pi[0] / scale, pi[1] / scale
        if not plo - half <= est <= phi + half:
            findings.append(
                AuditFinding(
                    "pi contains estimate",
                    "impossible",
                    f"the PI ({_fmt(plo, scale)}–{_fmt(phi, scale)}) does not contain the estimate "
                    f"({_fmt(est, scale)}); a prediction interval from one model always does",
                )
            )
        else:
            findings.append(
                AuditFinding("pi contains estimate", "ok", "the PI contains the estimate")
            )
        narrower = []
        if plo > lo + 2 * half:
            narrower.append(f"lower bound {_fmt(plo, scale)} > CI lower {_fmt(lo, scale)}")
        if phi < hi - 2 * half:
            narrower.append(f"upper bound {_fmt(phi, scale)} < CI upper {_fmt(hi, scale)}")
        findings.append(
            AuditFinding(
                "pi at least as wide as ci",
                "impossible" if narrower else "ok",
                (
                    "the PI is narrower than the CI: "
                    + "; ".join(narrower)
                    + " (a PI adds τ² to the CI's variance)"
                )
                if narrower
                else "the PI extends beyond the CI on both sides",
            )
        )
        centred = _symmetric_on(est, plo, phi, half)
        findings.append(
            AuditFinding(
                "pi centred on estimate",
                "ok" if centred else "impossible",
                ("the PI is centred on the estimate on the " + ", ".join(centred) + " scale")
                if centred
                else "the PI is centred on the estimate on none of the raw, logit, arcsine and log "
                "scales, so it does not come from the model that gave the estimate and CI",
            )
        )
        findings.append(_i2_check(est, lo, hi, plo, phi, i2, k, sym, level, scale))
    return AuditResult(label, tuple(findings), sym, centred)


def _i2_check(
    est: float,
    lo: float,
    hi: float,
    plo: float,
    phi: float,
    i2: float | None,
    k: int | None,
    sym: tuple[str, ...],
    level: float,
    scale: float,
) -> AuditFinding:
    if i2 is None:
        return AuditFinding("i2 vs widths", "undetermined", "no I² published")
    if not sym:
        return AuditFinding(
            "i2 vs widths", "undetermined", "no scale on which the CI is a Wald interval"
        )
    g = _SCALES[sym[0]]
    try:
        ci_hw = (g(hi) - g(lo)) / 2
        pi_hw = (g(min(phi, 1 - 1e-12)) - g(max(plo, 1e-12))) / 2
    except ValueError:
        return AuditFinding("i2 vs widths", "undetermined", "bounds outside the scale's domain")
    frac = i2 / scale
    z = float(stats.norm.isf((1 - level) / 2))
    ratio = pi_hw / ci_hw
    if frac <= 0:
        if ratio > 1.5:
            return AuditFinding(
                "i2 vs widths",
                "impossible",
                f"I² = 0 means τ² = 0, yet the PI is {ratio:.1f} times as wide as the CI",
            )
        return AuditFinding("i2 vs widths", "ok", "I² = 0 and the PI is about as wide as the CI")
    if ratio <= 1:
        return AuditFinding(
            "i2 vs widths",
            "impossible",
            f"I² = {i2:g} implies τ² > 0, yet the PI is not wider than the CI",
        )
    if k is not None:
        crit = float(stats.t.isf((1 - level) / 2, max(k - 2, 1)))
        expected = crit / z * math.sqrt(1 + k * frac)
        status = "ok" if 0.5 <= ratio / expected <= 2 else "warning"
        return AuditFinding(
            "i2 vs widths",
            status,
            f"on the {sym[0]} scale the PI is {ratio:.1f}× as wide as the CI; with k = {k} "
            f"and I² = {i2:g} about {expected:.1f}× is expected (equal within-study "
            "variances assumed)",
        )
    # k unknown: solve (ratio·z/c)² − 1 = k·I² with c ≈ z (a lower bound on k for t-based PIs)
    implied = ((ratio) ** 2 - 1) / frac
    return AuditFinding(
        "i2 vs widths",
        "ok" if 2 <= implied <= 200 else "warning",
        f"on the {sym[0]} scale the PI is {ratio:.1f}× as wide as the CI; with I² = {i2:g} "
        f"that implies about k ≈ {implied:.0f} studies for a normal-quantile PI (fewer for "
        "a t-based PI; equal within-study variances assumed)",
    )


def audit_table(published: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
    """Audit every row of a table of published results.

    ``published`` needs columns ``outcome``, ``estimate``, ``ci_low``, ``ci_high`` and
    optionally ``pi_low``, ``pi_high``, ``i2``, ``k`` (missing values allowed), as
    :func:`inometa.data.load_published` returns.

    Examples
    --------
    >>> import pandas as pd
    >>> t = audit_table(pd.DataFrame({"outcome": ["vod"], "estimate": [6.2], "ci_low": [3.8],
    ...                               "ci_high": [8.6], "pi_low": [6.6], "pi_high": [54.5],
    ...                               "i2": [68.0]}))
    >>> sorted(set(t["status"]))
    ['impossible', 'ok']
    """
    import pandas as pd

    missing = [c for c in ("outcome", "estimate", "ci_low", "ci_high") if c not in published]
    if missing:
        raise ValueError(
            f"the published table lacks the column(s) {', '.join(missing)}; it needs outcome, "
            "estimate, ci_low, ci_high (and optionally pi_low, pi_high, i2, k)"
        )
    if published.empty:
        raise ValueError("the published table has no rows")
    frames = []
    for number, row in enumerate(published.to_dict("records"), 1):

        def get(name: str, row: dict[Any, Any] = row) -> Any:
            v = row.get(name)
            return None if v is None or (isinstance(v, float) and np.isnan(v)) else v

        pi = (get("pi_low"), get("pi_high"))
        try:
            res = audit(
                float(row["estimate"]),
                (float(row["ci_low"]), float(row["ci_high"])),
                pi=None if None in pi else (float(pi[0]), float(pi[1])),
                i2=get("i2"),
                k=None if get("k") is None else int(get("k")),
                label=str(row["outcome"]),
                **kwargs,
            )
        except (TypeError, ValueError) as err:
            raise ValueError(f"published row {number} ({row.get('outcome')!r}): {err}") from None
        frames.append(res.to_frame())
    table: pd.DataFrame = pd.concat(frames, ignore_index=True)
    return table
