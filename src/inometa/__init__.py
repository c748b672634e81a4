"""inometa: reproduce, audit and update proportion meta-analyses.

The public API is re-exported here; see :func:`metaprop` to start.
"""

from . import (
    # Imported for its effect: it registers how results are shown (res.summary(), notebook
    # HTML) with inometa.core.results, which never imports report/ itself.
    report,  # noqa: F401
)
from ._version import __version__
from .analysis import simulate
from .analysis.batch import MetaPropBatchResult, metaprop_batch
from .analysis.bias import (
    RankTestResult,
    RegTestResult,
    SmallKWarning,
    TrimFillResult,
    begg_test,
    egger_test,
    peters_test,
    trim_and_fill,
)
from .analysis.pooling import metaprop
from .analysis.reconstruct import ReconstructResult, reconstruct
from .analysis.regression import MetaRegResult, PermutationTest, metareg
from .analysis.sensitivity import baujat, cumulative, gosh, influence, leave_one_out
from .analysis.simulate import simulate_coverage
from .analysis.subgroups import SubgroupResult, SubgroupTest, subgroup_analysis
from .core.glmm import GlmmFit, fit_glmm
from .core.heterogeneity import cochran_q, q_profile_tau2_ci
from .core.profiles import PROFILES
from .core.results import (
    Heterogeneity,
    Interval,
    MetaPropOptions,
    MetaPropResult,
    PooledEstimate,
    Prediction,
    StudyData,
)
from .core.significance import TestResult
from .core.study_ci import study_confint
from .core.tau2 import TAU2_ESTIMATORS, Tau2Fit, estimate_tau2
from .core.transforms import TRANSFORMS, Transform, get_transform
from .lao2025.audit import AuditFinding, AuditResult, audit, audit_table
from .lao2025.rundiff import RunDiff, diff_runs, read_run
from .plots import (
    plot_baujat,
    plot_cumulative,
    plot_drapery,
    plot_forest,
    plot_funnel,
    plot_gosh,
    plot_leave_one_out,
    plot_summary_forest,
)

__all__ = [
    "PROFILES",
    "TAU2_ESTIMATORS",
    "TRANSFORMS",
    "AuditFinding",
    "AuditResult",
    "GlmmFit",
    "Heterogeneity",
    "Interval",
    "MetaPropBatchResult",
    "MetaPropOptions",
    "MetaPropResult",
    "MetaRegResult",
    "PermutationTest",
    "PooledEstimate",
    "Prediction",
    "RankTestResult",
    "ReconstructResult",
    "RegTestResult",
    "RunDiff",
    "SmallKWarning",
    "StudyData",
    "SubgroupResult",
    "SubgroupTest",
    "Tau2Fit",
    "TestResult",
    "Transform",
    "TrimFillResult",
    "__version__",
    "audit",
    "audit_table",
    "baujat",
    "begg_test",
    "cochran_q",
    "cumulative",
    "diff_runs",
    "egger_test",
    "estimate_tau2",
    "fit_glmm",
    "get_transform",
    "gosh",
    "influence",
    "leave_one_out",
    "metaprop",
    "metaprop_batch",
    "metareg",
    "peters_test",
    "plot_baujat",
    "plot_cumulative",
    "plot_drapery",
    "plot_forest",
    "plot_funnel",
    "plot_gosh",
    "plot_leave_one_out",
    "plot_summary_forest",
    "q_profile_tau2_ci",
    "read_run",
    "reconstruct",
    "simulate",
    "simulate_coverage",
    "study_confint",
    "subgroup_analysis",
    "trim_and_fill",
]
