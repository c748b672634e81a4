"""Text from data made safe to show: no control characters, no spreadsheet formulas.

Labels, quotes and notes come from files a user (or a collaborator) typed. A NUL or an ANSI
escape sequence in them would corrupt a terminal or an HTML page, and a CSV cell starting
with ``=``, ``+``, ``-`` or ``@`` is run as a formula when a reviewer opens the file in a
spreadsheet. The writers pass every text through these functions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["printable", "spreadsheet_safe"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?%?|[+-]?(inf|nan)", re.IGNORECASE)


def printable(text: str) -> str:
    """``text`` with each control character (other than tab and newline) shown as U+FFFD.

    Examples
    --------
    >>> printable("Doe\\x1b[31m 2026\\x00")
    'Doe�[31m 2026�'
    """
    return _CONTROL.sub("\ufffd", text)


def _cell(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = printable(value)
    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value  # the OWASP rule: a leading apostrophe makes the cell text
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells a spreadsheet shows as text, never runs.

    Text cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a
    leading apostrophe (numbers written as text, such as ``-0.5``, are left alone), and
    control characters become U+FFFD. Numeric columns are unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> spreadsheet_safe(pd.DataFrame({"label": ["=cmd|' /C calc'!A0", "Doe 2026", "-0.5"]}))
                    label
    0  '=cmd|' /C calc'!A0
    1            Doe 2026
    2                -0.5
    """
    from pandas.api.types import is_numeric_dtype

    out = frame.copy()
    for column in out.columns:
        if not is_numeric_dtype(out[column]):
            out[column] = out[column].map(_cell)
    out.columns = [_cell(str(c)) for c in out.columns]
    safe: pd.DataFrame = out
    return safe
