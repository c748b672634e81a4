"""The version of inometa, in a module of its own.

The one place the version is written: ``pyproject.toml`` reads it from here when the package
is built (``[tool.setuptools.dynamic]``), and the documentation's ``conf.py`` reads it too, so
the package, its metadata and the docs report the same version. Results, run records and
reports stamp it; reading it from here rather than from the package root keeps those modules
from importing the package that imports them.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
