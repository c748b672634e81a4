"""inometa: reproduce, audit and update proportion meta-analyses.

The public API is re-exported here; see :func:`metaprop` to start.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("inometa")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

from .glmm import GlmmFit, fit_glmm
from .heterogeneity import cochran_q, q_profile_tau2_ci
from .plots import plot_forest, plot_funnel, plot_summary_forest
from .pooling import metaprop
from .profiles import PROFILES
from .results import (
    Heterogeneity,
    Interval,
    MetaPropOptions,
    MetaPropResult,
    PooledEstimate,
    Prediction,
    StudyData,
)
from .study_ci import study_confint
from .tau2 import TAU2_ESTIMATORS, Tau2Fit, estimate_tau2
from .transforms import TRANSFORMS, Transform, get_transform

__all__ = [
    "PROFILES",
    "TAU2_ESTIMATORS",
    "TRANSFORMS",
    "GlmmFit",
    "Heterogeneity",
    "Interval",
    "MetaPropOptions",
    "MetaPropResult",
    "PooledEstimate",
    "Prediction",
    "StudyData",
    "Tau2Fit",
    "Transform",
    "__version__",
    "cochran_q",
    "estimate_tau2",
    "fit_glmm",
    "get_transform",
    "metaprop",
    "plot_forest",
    "plot_funnel",
    "plot_summary_forest",
    "q_profile_tau2_ci",
    "study_confint",
]
