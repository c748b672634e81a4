"""metafor's ``escalc`` step: validated counts, resolved options, model-scale values.

:func:`prepare` checks the counts (naming study, row and field), resolves the options
against the convention profile, applies the continuity correction and computes yᵢ, vᵢ;
the :class:`Prepared` it returns is what :func:`inometa.analysis.pooling.fit_prepared` fits, and
what meta-regression, the small-study tests and refits on subsets start from.
:func:`resolve_options` is shared with :func:`inometa.metaprop_batch`, so that both accept
and refuse the same options with the same messages.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache, wraps
from itertools import compress
from typing import Any, NamedTuple, ParamSpec, TypeVar, cast

import numpy as np
import numpy.typing as npt

from .._deferred import Deferred
from .._validation import (
    check_choice,
    check_counts,
    check_labels,
    check_level,
    data_column,
    study_label,
)
from .._version import __version__
from .._wls import total
from ..core import messages
from ..core.glmm import Nagq, check_nagq
from ..core.intervals import (
    CI_METHODS,
    PI_METHODS,
    PI_SES,
)
from ..core.profiles import resolve_profile
from ..core.results import (
    MetaPropOptions,
    MetaPropResult,
    StudyData,
)
from ..core.study_ci import STUDY_CI_METHODS, study_confint
from ..core.tau2 import TAU2_ESTIMATORS
from ..core.transforms import (
    CORRECTION_STYLES,
    CORRECTIONS,
    Transform,
    apply_correction,
    corrected_yi_vi,
    get_transform,
)

__all__ = ["Prepared", "prepare", "prepared_from_result", "resolve_options"]

FloatArray = npt.NDArray[np.float64]

_P = ParamSpec("_P")
_R = TypeVar("_R")

_METHODS = {"inverse": "inverse", "iv": "inverse", "glmm": "glmm"}
_I2_DEFINITIONS = {"tau2": "tau2", "q": "q"}
_TAU2_NAMES = {name.lower(): name for name in TAU2_ESTIMATORS}


class Prepared(NamedTuple):
    """The studies of one analysis, ready to fit: metafor's ``escalc`` step, with the options.

    :func:`prepare` builds it (counts validated, options resolved, continuity correction
    applied, transform computed) and :func:`inometa.analysis.pooling.fit_prepared` fits it;
    :func:`prepared_from_result` recovers it from a result, for refits on subsets of the
    studies (leave-one-out, cumulative, trim-and-fill) and for meta-regression and the
    small-study tests, which fit the same studies with a design matrix. Frozen: a
    NamedTuple (built in one step, on every call) whose arrays are read-only. Study labels
    and per-study confidence intervals are deferred, computed on first use: the fit does
    not need them.

    Attributes
    ----------
    options : MetaPropOptions
        Every option, resolved (profile applied, names canonical).
    transform : Transform
        The transform ``options.transform`` names.
    label_source : Deferred of tuple of str
        The study labels (read them as :attr:`labels`).
    events, n : ndarray of int64
        The counts as given.
    events_used, n_used : ndarray of float
        The counts after the continuity correction (metafor's ``add``/``to``).
    corrected : ndarray of bool
        The studies the continuity correction was applied to.
    yi, vi : ndarray of float
        Model-scale values and their sampling variances (metafor's ``yi`` and ``vi``).
    intervals : Deferred of (ndarray, ndarray)
        Each study's own confidence interval, on the proportion scale.
    backtransform_n : float or None
        The harmonic mean of n used by the Freeman–Tukey inverse (Miller 1978); None for
        the other transforms.
    notes : tuple of str
        Notes raised while preparing (which studies were corrected).
    imputed : ndarray of bool or None
        The studies added by trim-and-fill; None when all are observed.
    """

    options: MetaPropOptions
    transform: Transform
    label_source: Deferred[tuple[str, ...]]
    events: npt.NDArray[np.int64]
    n: npt.NDArray[np.int64]
    events_used: FloatArray
    n_used: FloatArray
    corrected: npt.NDArray[np.bool_]
    yi: FloatArray
    vi: FloatArray
    intervals: Deferred[tuple[FloatArray, FloatArray]]
    backtransform_n: float | None
    notes: tuple[str, ...]
    imputed: npt.NDArray[np.bool_] | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return self.label_source.get()

    @property
    def ci_low(self) -> FloatArray:
        return self.intervals.get()[0]

    @property
    def ci_high(self) -> FloatArray:
        return self.intervals.get()[1]

    def study_data(self, w_common: FloatArray, w_random: FloatArray) -> StudyData:
        """The result's per-study data, with the given (unnormalised) weights as percentages."""
        return StudyData.build(
            labels=self.label_source,
            events=self.events,
            n=self.n,
            events_used=self.events_used,
            n_used=self.n_used,
            corrected=self.corrected,
            yi=self.yi,
            vi=self.vi,
            intervals=self.intervals,
            weights_common=_weights(w_common),
            weights_random=_weights(w_random),
            imputed=_imputed(self),
        )

    def subset(self, keep: npt.NDArray[np.bool_]) -> Prepared:
        """The same analysis restricted to the studies in ``keep`` (stored yᵢ, vᵢ reused,
        as metafor's leave1out/cumul do; the Freeman–Tukey harmonic mean is recomputed)."""
        keep = np.array(keep, dtype=bool)  # a copy: the deferred values below read it later
        n_sub = self.n[keep]
        labels, intervals = self.label_source, self.intervals
        return self._replace(
            label_source=Deferred(lambda: tuple(compress(labels.get(), keep))),
            events=self.events[keep],
            n=n_sub,
            events_used=self.events_used[keep],
            n_used=self.n_used[keep],
            corrected=self.corrected[keep],
            yi=self.yi[keep],
            vi=self.vi[keep],
            intervals=Deferred(lambda: (intervals.get()[0][keep], intervals.get()[1][keep])),
            backtransform_n=float(1 / np.mean(1 / n_sub)) if self.transform.needs_n else None,
            notes=(),
            imputed=None if self.imputed is None else self.imputed[keep],
        )


def _imputed(prep: Prepared) -> npt.NDArray[np.bool_]:
    return np.zeros(prep.yi.size, dtype=bool) if prep.imputed is None else prep.imputed


def _weights(w: FloatArray) -> FloatArray:
    """Weights in percent, read-only (the result keeps this array rather than a copy)."""
    out: FloatArray = w * (100 / total(w))
    out.setflags(write=False)
    return out


def prepared_from_result(res: MetaPropResult) -> Prepared:
    """Recover the prepared inputs of a result (for refits on subsets of its studies)."""
    d = res.data
    return Prepared(
        options=res.options,
        transform=get_transform(res.options.transform),
        label_source=d._labels,
        events=np.asarray(d.events),
        n=np.asarray(d.n),
        events_used=np.asarray(d.events_used),
        n_used=np.asarray(d.n_used),
        corrected=np.asarray(d.corrected),
        yi=np.asarray(d.yi),
        vi=np.asarray(d.vi),
        intervals=d._intervals,
        backtransform_n=res.backtransform_n,
        notes=(),
        imputed=np.asarray(d.imputed),
    )


def _cached_if_hashable(f: Callable[_P, _R]) -> Callable[_P, _R]:
    """``f`` with its results cached, keyed on the arguments' values and types, for calls
    whose arguments can all be hashed (others call ``f`` itself)."""
    cached = cast(Callable[_P, _R], lru_cache(maxsize=256, typed=True)(f))

    @wraps(f)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            hash((args, tuple(kwargs.values())))
        except TypeError:
            return f(*args, **kwargs)
        return cached(*args, **kwargs)

    return call


@_cached_if_hashable
def resolve_options(
    *,
    method: str | None,
    transform: str | None,
    tau2_method: str | None,
    tau2_fixed: float | None,
    ci_method: str | None,
    pi_method: str | None,
    i2_definition: str | None,
    study_ci_method: str | None,
    correction: str | None,
    increment: float | None,
    level: float,
    nagq: Nagq | None,
    profile: str,
    pi_se: str | None = None,
    correction_style: str | None = None,
) -> MetaPropOptions:
    """Resolve the options of :func:`metaprop` against the profile and check each one.

    Shared with :func:`inometa.metaprop_batch`, so that both accept and reject the same
    options with the same messages. ``backtransform`` is left empty: it depends on the data
    (the harmonic mean of n), and each caller describes it.

    The options are immutable, and an analysis re-run in a loop (a simulation, a
    sensitivity analysis) resolves the same ones each time: resolved options are cached,
    keyed on the values and their types (``nagq=True`` is refused, ``nagq=1`` is not).
    Values that cannot be hashed are resolved uncached, and refused with their own message.
    """
    lev = check_level(level)
    explicit = {
        "method": method,
        "transform": transform,
        "tau2_method": tau2_method,
        "ci_method": ci_method,
        "pi_method": pi_method,
        "pi_se": pi_se,
        "correction_style": correction_style,
        "i2_definition": i2_definition,
        "study_ci_method": study_ci_method,
        "increment": increment,
        "nagq": nagq,
    }
    profile_name, opts = resolve_profile(profile, explicit)
    meth = check_choice(opts["method"], "method", _METHODS)
    tr = get_transform(opts["transform"])
    ci_m = check_choice(opts["ci_method"], "ci_method", CI_METHODS)
    pi_m = check_choice(opts["pi_method"], "pi_method", PI_METHODS)
    pi_s = check_choice(opts["pi_se"], "pi_se", PI_SES)
    corr_style = check_choice(opts["correction_style"], "correction_style", CORRECTION_STYLES)
    i2_def = check_choice(opts["i2_definition"], "i2_definition", _I2_DEFINITIONS)
    sci_m = check_choice(opts["study_ci_method"], "study_ci_method", STUDY_CI_METHODS)
    inc = float(opts["increment"])
    corr = check_choice(
        correction if correction is not None else tr.default_correction, "correction", CORRECTIONS
    )

    if meth == "glmm":
        if tr.name != "logit":
            raise ValueError(
                f"method='glmm' models the logit of the proportion; transform={tr.name!r} "
                "is not available with it (use transform='logit' or method='inverse')"
            )
        if tau2_method is not None and str(tau2_method).upper() != "ML":
            raise ValueError(
                f"method='glmm' is fitted by maximum likelihood; tau2_method={tau2_method!r} "
                "is not available with it (valid: ML)"
            )
        if ci_m not in ("z", "t"):
            raise ValueError(
                f"ci_method={ci_m!r} is not defined for method='glmm'; valid values are: t, z"
            )
        tau2_name = "ML" if tau2_fixed is None else "fixed"
        check_nagq(opts["nagq"])
    if tau2_fixed is not None:
        if not (isinstance(tau2_fixed, (int, float)) and math.isfinite(tau2_fixed)) or (
            tau2_fixed < 0
        ):
            raise ValueError(f"tau2_fixed must be a finite number >= 0, got {tau2_fixed!r}")
        tau2_name = "fixed"
    elif meth == "inverse":
        tau2_name = check_choice(opts["tau2_method"], "tau2_method", _TAU2_NAMES)
    if meth == "inverse" and nagq is not None:
        raise ValueError(
            f"nagq={nagq!r} sets how the GLMM integrates; it does not apply to "
            "method='inverse' (use method='glmm', or leave nagq out)"
        )
    if corr == "none" and increment is not None and increment != 0:
        raise ValueError(
            f"increment={increment!r} is the continuity correction, which "
            "correction='none' turns off (choose another correction, or leave increment out)"
        )

    return MetaPropOptions(
        method=meth,
        transform=tr.name,
        tau2_method=tau2_name,
        ci_method=ci_m,
        pi_method=pi_m,
        pi_se=pi_s,
        i2_definition=i2_def,
        study_ci_method=sci_m,
        correction=corr,
        correction_style=corr_style,
        increment=inc,
        level=lev,
        nagq=check_nagq(opts["nagq"]) if meth == "glmm" else None,
        backtransform="",
        tau2_fixed=None if tau2_fixed is None else float(tau2_fixed),
        profile=profile_name,
        version=__version__,
    )


@lru_cache(maxsize=256)
def _with_backtransform(options: MetaPropOptions, backtransform: str) -> MetaPropOptions:
    """``options`` with its data-dependent description of the back-transform (cached, as
    the options are: rebuilding a frozen dataclass costs more than a small analysis's sums)."""
    return replace(options, backtransform=backtransform)


def prepare(events: Any, n: Any, *, data: Any, labels: Any, options: MetaPropOptions) -> Prepared:
    """Validate the counts, apply the continuity correction, transform.

    The first half of :func:`metaprop` (which is ``fit_prepared(prepare(...))``), shared by
    :func:`~inometa.metareg`, whose design matrix needs the study labels first.

    Parameters
    ----------
    events, n, data, labels
        The studies, as for :func:`metaprop`.
    options
        The options from :func:`resolve_options`.

    Returns
    -------
    Prepared

    Raises
    ------
    ValueError
        Invalid counts (naming study, row and field).
    """
    if data is not None:
        events = data_column(data, events, "events")
        n = data_column(data, n, "n")
        labels = data_column(data, labels, "labels")
    x, m, labs = check_counts(events, n, None if labels is None else list(labels))
    k = x.size
    meth, tr, corr, inc = (
        options.method,
        get_transform(options.transform),
        options.correction,
        options.increment,
    )
    sci_m, lev = options.study_ci_method, options.level

    notes: list[str] = []
    x_used, n_used, corrected = apply_correction(x, m, corr, inc)
    if corrected.any():
        which = ", ".join(f"'{study_label(labs, i)}'" for i in np.flatnonzero(corrected)[:6])
        more = "" if corrected.sum() <= 6 else f" and {int(corrected.sum()) - 6} more"
        studies = f"{int(corrected.sum())} stud{'y' if corrected.sum() == 1 else 'ies'}"
        notes.append(messages.correction(inc, studies, which + more, tr.name, corr, meth == "glmm"))
    yi, vi = corrected_yi_vi(tr, x, m, x_used, n_used, options.correction_style)
    if meth == "inverse":
        _check_finite(yi, vi, x, m, labs, tr, corr)

    # Per-study intervals describe single studies and do not enter the fit: deferred.
    intervals = Deferred(lambda: study_confint(x, m, sci_m, lev))
    label_source = (
        Deferred.of(labs) if labs is not None else Deferred(lambda: check_labels(None, k))
    )
    backtransform_n = float(1 / np.mean(1 / m)) if tr.needs_n else None
    backtransform = (
        f"Miller (1978) inverse with the harmonic mean of n ({backtransform_n:.4g}); "
        "study rows with their own n"
        if tr.needs_n
        else f"inverse of the {tr.name} transform"
    )
    options = _with_backtransform(options, backtransform)
    # Read-only: the result shares these arrays instead of copying them.
    for arr in (x, m, x_used, n_used, corrected, yi, vi):
        arr.setflags(write=False)
    return Prepared(
        options,
        tr,
        label_source,
        x,
        m,
        x_used,
        n_used,
        corrected,
        yi,
        vi,
        intervals,
        backtransform_n,
        tuple(notes),
    )


def _check_finite(
    yi: FloatArray,
    vi: FloatArray,
    x: npt.NDArray[np.int64],
    m: npt.NDArray[np.int64],
    labs: tuple[str, ...] | None,
    tr: Transform,
    corr: str,
) -> None:
    if math.isfinite(float(yi.dot(vi))) and float(vi.min()) > 0:
        return  # all finite (a sum of products overflows only for values near 1e154)
    bad = np.flatnonzero(~np.isfinite(yi) | ~np.isfinite(vi) | (vi <= 0))
    if bad.size:
        i = int(bad[0])
        problem = "is infinite" if not np.isfinite(yi[i]) else "has zero sampling variance"
        raise ValueError(
            f"study '{study_label(labs, i)}' (row {i + 1}): {x[i]} events of {m[i]} {problem} "
            f"on the {tr.name} scale with correction '{corr}'; use correction='only0' "
            "(metafor's default) or the 'arcsine' or 'ft' transform"
        )
