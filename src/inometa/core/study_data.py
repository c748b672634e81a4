"""Per-study inputs and model-scale values of an analysis, held read-only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .._deferred import Deferred

__all__ = ["StudyData"]

FloatArray = npt.NDArray[np.float64]


def _readonly(a: npt.ArrayLike, dtype: Any = float) -> Any:
    """A read-only array of ``dtype``: ``a`` itself if it already is one that owns its data
    (nothing else can write to it), else a read-only copy."""
    if isinstance(a, np.ndarray) and a.dtype == dtype and not a.flags.writeable and a.flags.owndata:
        return a
    arr = np.array(a, dtype=dtype)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class StudyData:
    """Per-study inputs and model-scale values (arrays are read-only).

    ``events_used`` and ``n_used`` are the counts after continuity correction; ``yi`` and
    ``vi`` are computed from them. ``corrected`` marks studies that were corrected.
    ``imputed`` marks studies imputed by trim-and-fill: they have yᵢ, vᵢ and the n of the
    study they mirror, but no event count (NaN).

    ``labels``, ``ci_low`` and ``ci_high`` (the per-study confidence intervals) are
    computed on first access: tables and plots need them, the analysis does not, and for
    10⁶ studies they take longer than the analysis (see :mod:`inometa._deferred`).
    """

    events: npt.NDArray[np.int64]
    n: npt.NDArray[np.int64]
    events_used: FloatArray
    n_used: FloatArray
    corrected: npt.NDArray[np.bool_]
    yi: FloatArray
    vi: FloatArray
    weights_common: FloatArray
    weights_random: FloatArray
    imputed: npt.NDArray[np.bool_]
    _labels: Deferred[tuple[str, ...]] = field(repr=False)
    _intervals: Deferred[tuple[FloatArray, FloatArray]] = field(repr=False)

    def __repr__(self) -> str:
        """A summary line: k, events and participants, corrected and imputed studies.

        The arrays are attributes (``res.data.yi``…), and ``res.studies`` shows them as a table.

        Examples
        --------
        >>> import inometa
        >>> inometa.metaprop([0, 20, 30], [50, 60, 70]).data
        <StudyData k=3, 50 events of 180, 1 corrected, 0 imputed (table: res.studies)>
        """
        return (
            f"<StudyData k={self.k}, {self.events_total} events of {self.n_total}, "
            f"{int(self.corrected.sum())} corrected, {int(self.imputed.sum())} imputed "
            "(table: res.studies)>"
        )

    @property
    def labels(self) -> tuple[str, ...]:
        """Study labels."""
        return self._labels.get()

    @property
    def ci_low(self) -> FloatArray:
        """Lower bounds of the per-study confidence intervals (proportion scale)."""
        return self._intervals.get()[0]

    @property
    def ci_high(self) -> FloatArray:
        """Upper bounds of the per-study confidence intervals (proportion scale)."""
        return self._intervals.get()[1]

    @property
    def k(self) -> int:
        """Number of studies."""
        return int(self.yi.size)

    @property
    def events_total(self) -> int:
        """Events in the observed (not imputed) studies."""
        return int(np.sum(np.asarray(self.events, dtype=float)[~self.imputed]))

    @property
    def n_total(self) -> int:
        """Participants in the observed (not imputed) studies."""
        return int(np.sum(np.asarray(self.n, dtype=float)[~self.imputed]))

    @classmethod
    def build(
        cls,
        *,
        labels: Sequence[str] | Deferred[tuple[str, ...]],
        events: npt.ArrayLike,
        n: npt.ArrayLike,
        events_used: npt.ArrayLike,
        n_used: npt.ArrayLike,
        corrected: npt.ArrayLike,
        yi: npt.ArrayLike,
        vi: npt.ArrayLike,
        weights_common: npt.ArrayLike,
        weights_random: npt.ArrayLike,
        imputed: npt.ArrayLike | None = None,
        intervals: Deferred[tuple[FloatArray, FloatArray]] | None = None,
        ci_low: npt.ArrayLike | None = None,
        ci_high: npt.ArrayLike | None = None,
    ) -> StudyData:
        """Construct with every array read-only (copied unless it already is a read-only
        array of the right type that owns its data); ``imputed`` defaults to all False.

        ``labels`` is a sequence of strings or a :class:`~inometa._deferred.Deferred`
        one; the per-study intervals are given as ``ci_low`` and ``ci_high`` arrays or as
        ``intervals``, a deferred ``(low, high)`` pair.
        """
        if intervals is None:
            intervals = Deferred.of((np.asarray(ci_low), np.asarray(ci_high)))
        y = _readonly(yi)
        return cls(
            events=_counts(events),
            n=_counts(n),
            events_used=_readonly(events_used),
            n_used=_readonly(n_used),
            corrected=_readonly(corrected, bool),
            yi=y,
            vi=_readonly(vi),
            weights_common=_readonly(weights_common),
            weights_random=_readonly(weights_random),
            imputed=_readonly(np.zeros(y.size, dtype=bool) if imputed is None else imputed, bool),
            _labels=(
                _mapped(labels, tuple)
                if isinstance(labels, Deferred)
                else Deferred.of(tuple(labels))
            ),
            _intervals=_mapped(intervals, lambda lh: (_readonly(lh[0]), _readonly(lh[1]))),
        )


def _counts(value: npt.ArrayLike) -> Any:
    """Read-only counts: integers, or floats with NaN for studies imputed by trim-and-fill."""
    counts = np.asarray(value)
    has_nan = counts.dtype.kind == "f" and bool(np.isnan(counts).any())
    return _readonly(counts, float if has_nan else np.int64)


def _mapped(source: Deferred[Any], f: Any) -> Deferred[Any]:
    """``f`` of a deferred value, deferred as well (computed at once if the value is)."""
    if source.ready:
        return Deferred.of(f(source.get()))
    return Deferred(lambda: f(source.get()))
