"""CSV files named on the ``inometa`` command line: read with errors that name the file and
line, and output files checked before a long computation."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["check_csv_target", "read_csv"]


def read_csv(file: str) -> pd.DataFrame:
    """A CSV table given on the command line; ValueError naming the file (and line) if not."""
    import pandas as pd

    path = Path(file)
    if not path.exists():
        raise ValueError(f"no such file: {file}")
    if path.is_dir():
        raise ValueError(f"{file} is a folder; give a CSV file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ValueError(f"{file} line {line}: not UTF-8 text (byte {err.start})") from None
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
        repeated = sorted({h for h in header if header.count(h) > 1})
        if repeated:
            raise ValueError(f"{file} line 1: column(s) {', '.join(repeated)} appear twice")
        return pd.read_csv(io.StringIO(text))
    except (csv.Error, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"{file}: not a readable CSV table ({err})") from None


def check_csv_target(file: str) -> None:
    """Refuse, before a long search, an output file that could not be written."""
    path = Path(file)
    if file == "" or path.is_dir():
        raise ValueError(f"--csv {file!r}: give a file name, not a folder")
    if not path.parent.exists():
        raise ValueError(f"--csv {file}: no such folder: {path.parent}")
