"""The documentation site covers the public API and every option, and CI builds it.

The build itself (``sphinx-build -W``, which executes the notebooks) runs in ``.ci/run`` after
the tests; these checks read the sources, so they run everywhere in a fraction of a second.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import fields
from pathlib import Path

import pytest

import inometa
import inometa.data

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _listed(rst: str) -> set[str]:
    """Names under the autosummary directives of an .rst page."""
    names: set[str] = set()
    for block in re.split(r"\.\. autosummary::", rst)[1:]:
        for line in block.splitlines()[1:]:
            if line.strip() and not line.startswith("   "):
                break
            if line.strip() and not line.strip().startswith(":"):
                names.add(line.strip())
    return names


def test_api_reference_lists_every_public_name() -> None:
    listed = _listed((DOCS / "api.rst").read_text())
    assert set(inometa.__all__) <= listed, set(inometa.__all__) - listed
    assert set(inometa.data.__all__) <= listed, set(inometa.data.__all__) - listed


@pytest.mark.parametrize(
    "function",
    [inometa.metaprop, inometa.metaprop_batch, inometa.subgroup_analysis, inometa.metareg],
    ids=lambda f: f.__name__,
)
def test_conventions_page_names_every_option(function: object) -> None:
    page = (DOCS / "conventions.md").read_text()
    params = [
        p.name
        for p in inspect.signature(function).parameters.values()  # type: ignore[arg-type]
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    missing = [name for name in params if f"`{name}`" not in page]
    assert missing == []


def test_conventions_page_names_every_recorded_option() -> None:
    page = (DOCS / "conventions.md").read_text()
    missing = [f.name for f in fields(inometa.MetaPropOptions) if f"`{f.name}`" not in page]
    assert missing == []


def test_every_page_is_in_the_table_of_contents() -> None:
    index = (DOCS / "index.md").read_text()
    pages = {p.stem for p in DOCS.glob("*.md")} | {p.stem for p in DOCS.glob("*.rst")}
    assert {p for p in pages if p != "index" and p not in index} == set()


def test_the_docs_show_the_package_version() -> None:
    assert "release = inometa.__version__" in (DOCS / "conf.py").read_text()


def test_ci_builds_the_docs_with_warnings_as_errors_after_the_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    tests = script.index("python -m pytest")
    install = script.index('pip install -q -e ".[docs]"')
    build = script.index("sphinx-build -W --keep-going")
    assert tests < install < build
    assert "-b html docs docs/_build/html" in script[build:].splitlines()[0]


def test_readme_links_to_the_docs_and_says_how_to_build_them() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "](docs/index.md)" in readme
    assert 'pip install -e ".[docs]" && sphinx-build -W --keep-going -b html docs' in readme
