"""The Lao, Wen & Wen 2025 workflow: reproduce the paper, audit its numbers, compare runs.

:mod:`~inometa.lao2025.reproduce` pools every outcome of an analysis set under the
published and the recommended method; :mod:`~inometa.lao2025.report` writes its tables,
figures and report; :mod:`~inometa.lao2025.audit` checks published numbers for internal
consistency; :mod:`~inometa.lao2025.rundiff` compares two runs
(:mod:`~inometa.lao2025.rundiff_report` writes the comparison). This package sits above
the analysis and presentation layers and nothing below it imports it.
"""
