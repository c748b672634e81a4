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
from .pooling import metaprop
from .profiles import PROFILES
from .regression import MetaRegResult, PermutationTest, metareg
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
from .subgroups import SubgroupResult, SubgroupTest, subgroup_analysis
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
    "MetaRegResult",
    "PermutationTest",
    "PooledEstimate",
    "Prediction",
    "StudyData",
    "SubgroupResult",
    "SubgroupTest",
    "Tau2Fit",
    "Transform",
    "__version__",
    "cochran_q",
    "estimate_tau2",
    "fit_glmm",
    "get_transform",
    "metaprop",
    "metareg",
    "q_profile_tau2_ci",
    "study_confint",
    "subgroup_analysis",
]
