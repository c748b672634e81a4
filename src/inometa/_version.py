"""The installed version of inometa, in a module of its own.

Results, run records and reports stamp this version; reading it from here rather than from
the package root keeps those modules from importing the package that imports them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("inometa")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
