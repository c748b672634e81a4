"""The examples in the docstrings of inometa.data run as written."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

MODULES = [
    "inometa.data",
    "inometa.data.checks",
    "inometa.data.adding",
    "inometa.data.extracted",
    "inometa.data.published",
    "inometa.data._paths",
    "inometa.data.survival",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("INOMETA_DATA", raising=False)
    monkeypatch.chdir(tmp_path)  # the examples find the shipped data from any folder
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
