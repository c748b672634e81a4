"""inometa: reproduce, audit and update proportion meta-analyses.

The public API is re-exported here; see :func:`metaprop` to start.
"""

from . import (
    # Imported for its effect: it registers how results are shown (res.summary(), notebook
    # HTML) with inometa.results, which never imports report/ itself.
    report,  # noqa: F401
    simulate,
)
from ._version import __version__
from .batch import MetaPropBatchResult, metaprop_batch
from .bias import (
    RankTestResult,
    RegTestResult,
    SmallKWarning,
    TrimFillResult,
    begg_test,
    egger_test,
    peters_test,
    trim_and_fill,
)
from .glmm import GlmmFit, fit_glmm
from .heterogeneity import cochran_q, q_profile_tau2_ci
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
from .sensitivity import baujat, cumulative, gosh, influence, leave_one_out
from .simulate import simulate_coverage
from .study_ci import study_confint
from .subgroups import SubgroupResult, SubgroupTest, subgroup_analysis
from .tau2 import TAU2_ESTIMATORS, Tau2Fit, estimate_tau2
from .transforms import TRANSFORMS, Transform, get_transform

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
    "RegTestResult",
    "RunDiff",
    "SmallKWarning",
    "StudyData",
    "SubgroupResult",
    "SubgroupTest",
    "Tau2Fit",
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
    "simulate",
    "simulate_coverage",
    "study_confint",
    "subgroup_analysis",
    "trim_and_fill",
]
