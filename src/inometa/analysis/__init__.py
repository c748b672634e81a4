"""Analyses built on :mod:`inometa.core`: metafor's escalc step, ``metaprop`` and
``metaprop_batch``, meta-regression, subgroups, sensitivity and small-study analyses,
simulation.
"""
