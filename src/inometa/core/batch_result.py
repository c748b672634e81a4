"""The result of :func:`inometa.metaprop_batch`: named columns, one entry per analysis.

:data:`COLUMNS` names every column and where the same number sits in
:meth:`inometa.MetaPropResult.to_dict`, so that a batch row and a single analysis can be
compared key by key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .results import MetaPropOptions

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "MetaPropBatchResult"]


#: The result columns: name → (where the same number sits in ``MetaPropResult.to_dict()``,
#: description). Proportion-scale values are unprefixed; ``model_`` marks the model scale
#: (logit, arcsine, …); ``common_`` the common-effect model.
COLUMNS: dict[str, tuple[tuple[str | int, ...], str]] = {
    "k": (("k",), "number of studies"),
    "n_total": (("n_total",), "participants"),
    "events_total": (("events_total",), "events"),
    "estimate": (("estimate",), "random-effects pooled proportion"),
    "ci_low": (("ci_low",), "its confidence interval (proportion scale)"),
    "ci_high": (("ci_high",), ""),
    "pi_low": (("pi_low",), "prediction interval (proportion scale)"),
    "pi_high": (("pi_high",), ""),
    "tau2": (("tau2",), "between-study variance (model scale)"),
    "tau": (("tau",), ""),
    "tau2_se": (("tau2_se",), "metafor's se.tau2 (NaN for the GLMM)"),
    "tau2_ci_low": (("tau2_ci", 0), "Q-profile (GLMM: profile-likelihood) interval for τ²"),
    "tau2_ci_high": (("tau2_ci", 1), ""),
    "tau2_iterations": (("tau2_iterations",), "iterations of the τ² search"),
    "tau2_converged": (("tau2_converged",), "False where the τ² search did not converge"),
    "i2": (("i2",), "I² (fraction), by ``i2_definition``"),
    "i2_ci_low": (("i2_ci", 0), ""),
    "i2_ci_high": (("i2_ci", 1), ""),
    "h2": (("h2",), "H²"),
    "h2_ci_low": (("h2_ci", 0), ""),
    "h2_ci_high": (("h2_ci", 1), ""),
    "q": (("q",), "Cochran's Q (GLMM: Wald-type Q of the saturated model)"),
    "q_df": (("q_df",), ""),
    "q_pvalue": (("q_pvalue",), ""),
    "q_lrt": (("q_lrt",), "GLMM likelihood-ratio Q (NaN for inverse variance)"),
    "q_lrt_pvalue": (("q_lrt_pvalue",), ""),
    "typical_variance": (("typical_variance",), "ṽ behind I² = τ²/(τ² + ṽ)"),
    "model_estimate": (("model_scale", "estimate"), "random-effects estimate, model scale"),
    "model_se": (("model_scale", "se"), "its SE as the CI method uses it (HK-scaled for hk)"),
    "model_se_wald": (("random", "se_wald"), "its inverse-variance (Wald) SE"),
    "model_ci_low": (("model_scale", "ci_low"), ""),
    "model_ci_high": (("model_scale", "ci_high"), ""),
    "model_pi_low": (("model_scale", "pi_low"), ""),
    "model_pi_high": (("model_scale", "pi_high"), ""),
    "ci_df": (("random", "df"), "t df of the CI (NaN: normal quantile)"),
    "pi_df": (("pi_df",), "t df of the PI (NaN: normal quantile)"),
    "statistic": (("random", "statistic"), "z or t statistic of μ = 0 (model scale)"),
    "pvalue": (("random", "pvalue"), ""),
    "common_estimate": (("common", "proportion"), "common-effect pooled proportion"),
    "common_ci_low": (("common", "proportion_ci", 0), ""),
    "common_ci_high": (("common", "proportion_ci", 1), ""),
    "common_model_estimate": (("common", "estimate"), "common-effect estimate, model scale"),
    "common_model_se": (("common", "se"), ""),
    "common_model_ci_low": (("common", "ci_low"), ""),
    "common_model_ci_high": (("common", "ci_high"), ""),
    "common_statistic": (("common", "statistic"), ""),
    "common_pvalue": (("common", "pvalue"), ""),
    "backtransform_n": (("backtransform_n",), "harmonic mean of n (Freeman–Tukey), else NaN"),
}
_INT_COLUMNS = ("k", "n_total", "events_total", "tau2_iterations", "q_df")
_BOOL_COLUMNS = ("tau2_converged",)


@dataclass(frozen=True)
class MetaPropBatchResult:
    """The results of :func:`metaprop_batch`: one entry per analysis in every column.

    Attributes
    ----------
    options
        Every resolved choice, shared by all analyses (``backtransform`` describes the rule;
        the harmonic means are the column ``backtransform_n``).
    analyses, studies
        The labels of the analyses (rows) and of the studies (columns) given, else None.
    values
        Column name → read-only array (see :data:`COLUMNS`).
    notes
        Per analysis, the notes :func:`inometa.metaprop` gives for it (a tuple of str).

    ``res["tau2"]`` returns a column, ``res.to_frame()`` a DataFrame, ``res.row(i)`` one
    analysis as a dict (i counted from 0).

    Examples
    --------
    >>> import inometa
    >>> res = inometa.metaprop_batch([[9, 17, 49], [3, 5, 8]], [[49, 90, 72], [30, 41, 52]],
    ...                              as_frame=False)
    >>> len(res), res["k"].tolist(), res.row(1)["k"]
    (2, [3, 3], 3)
    >>> res.to_frame().shape
    (2, 49)
    """

    options: MetaPropOptions
    analyses: tuple[str, ...] | None
    studies: tuple[str, ...] | None
    values: Mapping[str, npt.NDArray[Any]]
    notes: tuple[tuple[str, ...], ...]

    @classmethod
    def from_columns(
        cls,
        options: MetaPropOptions,
        analyses: tuple[str, ...] | None,
        studies: tuple[str, ...] | None,
        columns: Mapping[str, npt.ArrayLike],
        notes: tuple[tuple[str, ...], ...],
    ) -> MetaPropBatchResult:
        """The result from every column of :data:`COLUMNS` (extra keys are ignored), each
        cast to its type and made read-only."""
        values: dict[str, npt.NDArray[Any]] = {}
        for name in COLUMNS:
            kind: Any = int if name in _INT_COLUMNS else bool if name in _BOOL_COLUMNS else float
            arr = np.array(columns[name], dtype=np.int64 if kind is int else kind)
            arr.setflags(write=False)
            values[name] = arr
        return cls(options, analyses, studies, MappingProxyType(values), notes)

    def __str__(self) -> str:
        """A few lines: sizes, options, the range of the pooled proportions and of I²."""
        o = self.options
        model = "GLMM" if o.method == "glmm" else o.tau2_method
        k = self.values["k"]
        lines = [
            f"{len(self)} analyses of {k.min() if len(k) else 0}–{k.max() if len(k) else 0} "
            f"studies, {o.transform} {model}, CI {o.ci_method}, PI {o.pi_method}"
        ]
        for name, what, scale in (("estimate", "pooled proportion", 1), ("i2", "I² (%)", 100)):
            col = self.values[name][np.isfinite(self.values[name])] * scale
            if col.size:
                lines.append(
                    f"{what}: median {np.median(col):.4g}, range {col.min():.4g} to "
                    f"{col.max():.4g} ({len(self) - col.size} undefined)"
                )
        with_notes = sum(1 for n in self.notes if n)
        lines.append(
            f"{len(self.values)} columns and notes (res.to_frame()); {with_notes} with notes"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        """``str`` in angle brackets: a summary, never the arrays.

        Examples
        --------
        >>> import inometa
        >>> inometa.metaprop_batch([[9, 17, 49], [3, 5, 8]], [[49, 90, 72], [30, 41, 52]],
        ...                        as_frame=False)
        <MetaPropBatchResult 2 analyses of 3–3 studies, logit REML, CI z, PI z
          pooled proportion: median 0.2297, range 0.1317 to 0.3277 (0 undefined)
          I² (%): median 47.47, range 0 to 94.93 (0 undefined)
          48 columns and notes (res.to_frame()); 1 with notes>
        """
        return f"<MetaPropBatchResult {self}>".replace("\n", "\n  ")

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        return self.values[name]

    def __len__(self) -> int:
        return len(self.notes)

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names, in :data:`COLUMNS` order."""
        return tuple(self.values)

    def row(self, i: int) -> dict[str, Any]:
        """Analysis ``i`` (from 0) as a dict of plain Python values, with its notes."""
        out: dict[str, Any] = {name: col[i].item() for name, col in self.values.items()}
        out["notes"] = self.notes[i]
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per analysis; ``notes`` holds tuples; ``attrs`` the options and version."""
        import pandas as pd

        r = len(self)
        index = (
            pd.Index(self.analyses, name="analysis")
            if self.analyses is not None
            else pd.RangeIndex(1, r + 1, name="analysis")
        )
        frame: pd.DataFrame = pd.DataFrame(dict(self.values), index=index)
        notes = np.empty(r, dtype=object)
        notes[:] = list(self.notes)
        frame["notes"] = notes
        frame.attrs["analysis"] = "metaprop_batch"
        frame.attrs["options"] = asdict(self.options)
        frame.attrs["version"] = self.options.version
        return frame
