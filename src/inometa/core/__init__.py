"""The statistical core: transforms, τ² estimators, heterogeneity, intervals, the GLMM,
the batch estimators and the result types. Nothing here imports from the layers above
(:mod:`inometa.analysis`, plots, report, data, lao2025).
"""
