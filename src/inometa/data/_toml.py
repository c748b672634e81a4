"""TOML parsing, and a scanner that finds the line of each set entry and key.

The TOML parser does not report where a value came from, so :class:`Locator` maps each
``[set]``, ``[[set.member]]`` and ``[[set.exclude]]`` entry and each ``key =`` inside it to
its line; messages can then point at the line a person has to edit.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

__all__ = ["DECODE_POSITION", "Locator", "toml_loads"]

_ARRAY_HEADER = re.compile(r"\s*\[\[\s*([A-Za-z0-9_-]+)\.(member|exclude)\s*\]\]")
_TABLE_HEADER = re.compile(r"\s*\[\s*([A-Za-z0-9_-]+)\s*\]")
_KEY = re.compile(r"\s*([A-Za-z0-9_-]+)\s*=")
DECODE_POSITION = re.compile(r"line (\d+), column (\d+)")
"""Where a TOML decode error happened, as tomllib words it."""


def toml_loads(text: str) -> dict[str, Any]:
    """Parse TOML text (ValueError subclass ``TOMLDecodeError`` on bad syntax)."""
    # tomllib is standard from Python 3.11; tomli is the same parser for 3.10. Imported by
    # name so that type checking does not depend on which one is installed.
    module = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    result: dict[str, Any] = module.loads(text)
    return result


def _key(context: tuple[str, str, int], key: str) -> tuple[str, str, int, str]:
    name, kind, index = context
    return (name, kind, index, key)


class Locator:
    """Line numbers of set headers and keys, by (set, kind, index, key)."""

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[str, str, int, str], int] = {}
        counts: dict[tuple[str, str], int] = {}
        context: tuple[str, str, int] | None = None
        in_string = False
        for number, line in enumerate(text.splitlines(), start=1):
            was_in_string = in_string
            if (line.count('"""') + line.count("'''")) % 2:
                in_string = not in_string
            if was_in_string:
                continue
            if match := _ARRAY_HEADER.match(line):
                name, kind = match.groups()
                index = counts.get((name, kind), 0)
                counts[(name, kind)] = index + 1
                context = (name, kind, index)
                self._lines[_key(context, "")] = number
            elif match := _TABLE_HEADER.match(line):
                context = (match.group(1), "set", 0)
                self._lines[_key(context, "")] = number
            elif (match := _KEY.match(line)) and context is not None:
                self._lines.setdefault(_key(context, match.group(1)), number)

    def line(self, name: str, kind: str = "set", index: int = 0, key: str = "") -> int | None:
        """The line of ``key`` in the entry, else of the entry's header, else None."""
        found = self._lines.get((name, kind, index, key))
        return found if found is not None else self._lines.get((name, kind, index, ""))
