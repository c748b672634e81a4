"""Edits of the data files that keep every other line exactly as it was.

A line is split as the ``csv`` module counts lines (``\\n``, ``\\r\\n`` or ``\\r``), so line
numbers agree with :func:`inometa.data._csv.read_table`. New lines use the file's own line
ending; existing lines (their quoting, endings and the final newline) are never rewritten,
except the last line of a file without a final newline, which gains one before an append.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Record",
    "append_lines",
    "append_records",
    "extend_outcomes",
    "format_record",
    "insert_member",
    "line_ending",
    "records",
    "replace_record",
    "split_lines",
    "toml_string",
]

_BOM = "\ufeff"
_HEADER = re.compile(r"\s*\[{1,2}\s*([A-Za-z0-9_-]+)")
_OUTCOMES_LINE = re.compile(r"(?P<head>\s*outcomes\s*=\s*\[)(?P<items>[^\]#]*)(?P<tail>\].*)")
# an array written one item per line: its opening line, item lines, and closing line
_OUTCOMES_OPEN = re.compile(r"\s*outcomes\s*=\s*\[\s*(#.*)?")
_OUTCOMES_ITEM = re.compile(
    r'(?P<indent>\s*)(?P<code>"[^"\\]*")(?P<space>\s*)(?P<comma>,?)(?P<rest>\s*(#.*)?)'
)
_OUTCOMES_CLOSE = re.compile(r"\s*\]\s*(#.*)?")


def split_lines(text: str) -> list[str]:
    """The physical lines of ``text``, each with its own ending ("" joins them back)."""
    return list(io.StringIO(text, newline=""))


def line_ending(lines: Sequence[str]) -> str:
    """The ending of the first line that has one (``"\\n"`` for a file of one bare line)."""
    for line in lines:
        stripped = line.rstrip("\r\n")
        if stripped != line:
            return line[len(stripped) :]
    return "\n"


@dataclass(frozen=True)
class Record:
    """One CSV record: its fields and the physical lines it spans (0-based, inclusive)."""

    first: int
    last: int
    fields: tuple[str, ...]

    @property
    def line(self) -> int:
        """The line where the record starts, counting the header as line 1."""
        return self.first + 1


def records(lines: Sequence[str]) -> list[Record]:
    """Every record of a CSV file (the header first), with the lines it spans."""
    if lines and lines[0].startswith(_BOM):
        lines = [lines[0][1:], *lines[1:]]
    reader = csv.reader(iter(lines))
    found: list[Record] = []
    start = 0
    for fields in reader:
        found.append(Record(start, reader.line_num - 1, tuple(fields)))
        start = reader.line_num
    return found


def format_record(values: Sequence[str], eol: str) -> str:
    """One CSV record, quoted only where needed (as the shipped files are), ending in ``eol``."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=eol, quoting=csv.QUOTE_MINIMAL).writerow(values)
    return buffer.getvalue()


def append_lines(text: str, new: str, eol: str) -> tuple[str, int]:
    """``text`` followed by ``new``; and the line number (from 1) where ``new`` starts."""
    if text and not text.endswith(("\n", "\r")):
        text += eol
    return text + new, len(split_lines(text)) + 1


def append_records(text: str, rows: Sequence[Sequence[str]]) -> tuple[str, list[int]]:
    """Append CSV records; return the new text and the line where each record starts."""
    eol = line_ending(split_lines(text))
    starts: list[int] = []
    for row in rows:
        text, start = append_lines(text, format_record(row, eol), eol)
        starts.append(start)
    return text, starts


def replace_record(text: str, record: Record, values: Sequence[str]) -> str:
    """``text`` with ``record`` rewritten; its lines' ending (or lack of one) is kept."""
    lines = split_lines(text)
    last = lines[record.last]
    eol = last[len(last.rstrip("\r\n")) :]
    new = format_record(values, line_ending(lines)).rstrip("\r\n") + eol
    return "".join([*lines[: record.first], new, *lines[record.last + 1 :]])


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string (double quotes, escapes for quotes and controls)."""
    out = []
    for char in value:
        if char in {'"', "\\"}:
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_layout(lines: Sequence[str]) -> tuple[list[str | None], list[bool]]:
    """Per line: the set whose header starts there (or None), and whether it is free text.

    Free lines are blank or comment lines outside a multi-line string: an entry can end
    before them. Multi-line strings are tracked as :class:`inometa.data._toml.Locator` does.
    """
    headers: list[str | None] = []
    free: list[bool] = []
    in_string = False
    for line in lines:
        was_in_string = in_string
        if (line.count('"""') + line.count("'''")) % 2:
            in_string = not in_string
        match = None if was_in_string else _HEADER.match(line)
        headers.append(match.group(1) if match else None)
        stripped = line.strip()
        free.append(not was_in_string and (not stripped or stripped.startswith("#")))
    return headers, free


def insert_member(text: str, set_name: str, entry: Sequence[str]) -> tuple[str, int]:
    """Insert a ``[[set.member]]`` entry (its lines, without endings) after the set's last entry.

    The entry goes after the last non-blank, non-comment line of the last block that
    belongs to ``set_name``, preceded by a blank line. Returns the new text and the line of
    the inserted ``[[...]]`` header.

    Raises
    ------
    ValueError
        If no ``[set_name]`` or ``[[set_name. ...]]`` header is found.
    """
    lines = split_lines(text)
    eol = line_ending(lines)
    headers, free = _toml_layout(lines)
    own = [i for i, name in enumerate(headers) if name == set_name]
    if not own:
        raise ValueError(f"no [{set_name}] table found in the file")
    end = next((i for i in range(own[-1] + 1, len(lines)) if headers[i] is not None), len(lines))
    last = end - 1
    while last > own[-1] and free[last]:
        last -= 1
    before = "".join(lines[: last + 1])
    if not before.endswith(("\n", "\r")):
        before += eol
    block = eol + "".join(line + eol for line in entry)
    header_line = len(split_lines(before)) + 2
    return before + block + "".join(lines[last + 1 :]), header_line


def extend_outcomes(text: str, line: int, outcomes: Sequence[str]) -> str:
    r"""Add outcome codes to the ``outcomes = [...]`` array that starts on ``line`` (from 1).

    A one-line array gains the codes at its end, on the same line. An array written one
    item per line (the opening ``[`` ending its line, each following line a quoted code
    with an optional comma and comment, the closing ``]`` on a line of its own) gains one
    line per code before the ``]``, indented as the item above; a missing comma after the
    last item is added. Every other line keeps its bytes.

    Raises
    ------
    ValueError
        If the array has any other layout.

    Examples
    --------
    >>> extend_outcomes('outcomes = [\n  "orr",\n  "cr"\n]\n', 1, ["vod"])
    'outcomes = [\n  "orr",\n  "cr",\n  "vod",\n]\n'
    """
    lines = split_lines(text)
    content = lines[line - 1].rstrip("\r\n")
    eol = lines[line - 1][len(content) :]
    match = _OUTCOMES_LINE.fullmatch(content)
    if match is None:
        return _extend_outcomes_block(lines, line, outcomes)
    items = match["items"]
    core = items.rstrip().rstrip(",").rstrip()
    added = ", ".join(toml_string(o) for o in outcomes)
    joined = f"{core}, {added}" if core.strip() else added
    lines[line - 1] = match["head"] + joined + items[len(core) :] + match["tail"] + eol
    return "".join(lines)


def _extend_outcomes_block(lines: list[str], line: int, outcomes: Sequence[str]) -> str:
    """:func:`extend_outcomes` for an array written one item per line."""
    refusal = ValueError(
        f"line {line} does not start an 'outcomes = [...]' list written on one line or one "
        "item per line, so it cannot be extended automatically; add the outcome by hand"
    )
    if _OUTCOMES_OPEN.fullmatch(lines[line - 1].rstrip("\r\n")) is None:
        raise refusal
    last_item: int | None = None
    for i in range(line, len(lines)):
        content = lines[i].rstrip("\r\n")
        if _OUTCOMES_CLOSE.fullmatch(content):
            close = i
            break
        if _OUTCOMES_ITEM.fullmatch(content):
            last_item = i
        elif content.strip() and not content.strip().startswith("#"):
            raise refusal
    else:
        raise refusal
    head = lines[line - 1]
    eol = head[len(head.rstrip("\r\n")) :]  # the array's own line ending
    if last_item is None:
        indent = head[: len(head) - len(head.lstrip())] + "  "
    else:
        item = _OUTCOMES_ITEM.fullmatch(lines[last_item].rstrip("\r\n"))
        assert item is not None
        indent = item["indent"]
        if not item["comma"]:
            ending = lines[last_item][len(lines[last_item].rstrip("\r\n")) :]
            kept = item["space"] + item["rest"]
            lines[last_item] = item["indent"] + item["code"] + "," + kept + ending
    added = [f"{indent}{toml_string(o)},{eol}" for o in outcomes]
    return "".join(lines[:close] + added + lines[close:])
