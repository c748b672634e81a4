"""Sphinx configuration of the inometa documentation.

Build: ``pip install -e ".[docs]"`` then ``sphinx-build -W --keep-going -b html docs
docs/_build/html``. The API pages come from the numpydoc docstrings (autodoc + autosummary);
the notebooks and the walk-through pages are executed at build time by myst-nb, so every
figure is drawn from the shipped data and nothing executed is committed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import inometa

ROOT = Path(__file__).resolve().parents[1]

project = "inometa"
author = "The inometa maintainers"
copyright = "2026, the inometa maintainers"  # noqa: A001 (Sphinx's name)
release = inometa.__version__  # the package's own version, shown on every page
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]

# The notebooks live in ../notebooks (where users open them); Sphinx reads sources only
# below docs/, so they are copied here before every build (the copies are not committed).
NOTEBOOKS = Path(__file__).parent / "notebooks"
NOTEBOOKS.mkdir(exist_ok=True)
for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
    shutil.copyfile(nb, NOTEBOOKS / nb.name)

# The kernels inherit this environment: a MPLBACKEND such as CI's Agg would keep the inline
# backend out and every figure off the pages, silently (the check at the end catches it).
os.environ.pop("MPLBACKEND", None)

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
root_doc = "index"
templates_path = ["_templates"]

# Every notebook and walk-through page runs in a fresh kernel from its own folder, as Jupyter
# runs it; an error fails the build.
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # the signature shows them; numpydoc's Parameters describe them
autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # autosummary's class template lists them
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"inometa {release}"
html_theme_options = {
    "description": f"version {release}",
    "page_width": "1240px",
    "body_max_width": "none",
}
html_static_path: list[str] = []


def _check_figures(app: Any, exception: Exception | None) -> None:
    """Fail the build if the executed pages show fewer figures than they draw."""
    if exception is not None or app.builder.name != "html":
        return
    sources = [*Path(app.srcdir).glob("*.md"), *NOTEBOOKS.glob("*.ipynb")]
    calls = sum(p.read_text().count("inometa.plot_") for p in sources)
    shown = len(list((Path(app.outdir) / "_images").glob("*.png")))
    if shown < calls:
        raise RuntimeError(f"the pages call inometa.plot_ {calls} times but show {shown} figures")


def setup(app: Any) -> None:
    app.connect("build-finished", _check_figures)
