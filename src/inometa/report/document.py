"""A small document model rendered to Markdown and to self-contained HTML.

Reports are built once as a list of blocks and rendered twice, so that ``report.md`` and
``report.html`` cannot drift apart. HTML embeds PNG figures (base64) so it is one file.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .safe import printable

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Bullets",
    "Code",
    "Contents",
    "Figure",
    "Heading",
    "Paragraph",
    "Table",
    "anchor_of",
    "to_html",
    "to_markdown",
]


@dataclass(frozen=True)
class Heading:
    """A section heading (level 1–4); ``anchor`` is its link target (default: a slug of the
    text, see :func:`anchor_of`)."""

    text: str
    level: int = 2
    anchor: str | None = None


@dataclass(frozen=True)
class Contents:
    """A table of contents: a linked list of the document's headings of ``levels``."""

    levels: tuple[int, ...] = (2, 3)
    title: str = "Contents"


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """A bulleted list."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table (cells are rendered as text)."""

    frame: pd.DataFrame
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    """A figure: ``path`` relative to the report's directory; ``html_path`` an optional
    lighter copy for the HTML page (e.g. a screen-resolution PNG)."""

    path: str
    caption: str
    html_path: str | None = None


@dataclass(frozen=True)
class Code:
    """A code block (e.g. R)."""

    text: str
    language: str = ""
    summary: str = ""


Block = Heading | Paragraph | Bullets | Table | Figure | Code | Contents


def anchor_of(heading: Heading) -> str:
    """The link target of ``heading``: its ``anchor``, else its text in lower case with runs
    of anything but letters and digits replaced by one hyphen.

    Examples
    --------
    >>> anchor_of(Heading("Published versus reproduced")), anchor_of(Heading("VOD", 3, "vod"))
    ('published-versus-reproduced', 'vod')
    """
    if heading.anchor:
        return heading.anchor
    return re.sub(r"[^0-9a-z]+", "-", heading.text.lower()).strip("-")


def _toc(blocks: list[Block], contents: Contents) -> list[tuple[int, str, str]]:
    top = min(contents.levels)
    return [
        (b.level - top, b.text, anchor_of(b))
        for b in blocks
        if isinstance(b, Heading) and b.level in contents.levels
    ]


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:.4g}"
    return str(value)


def _md_escape(text: str) -> str:
    return printable(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block]) -> str:
    """Render blocks as GitHub-flavoured Markdown."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            # an explicit anchor: renderers derive heading ids differently (or not at all)
            out.append(f'<a id="{anchor_of(b)}"></a>\n\n{"#" * b.level} {printable(b.text)}')
        elif isinstance(b, Contents):
            entries = _toc(blocks, b)
            out.append(
                f"**{b.title}**\n\n"
                + "\n".join(f"{'  ' * depth}- [{text}](#{a})" for depth, text, a in entries)
            )
        elif isinstance(b, Paragraph):
            out.append(printable(b.text))
        elif isinstance(b, Bullets):
            out.append("\n".join(f"- {printable(item)}" for item in b.items))
        elif isinstance(b, Table):
            cols = [str(c) for c in b.frame.columns]
            lines = [
                "| " + " | ".join(_md_escape(c) for c in cols) + " |",
                "|" + "|".join("---" for _ in cols) + "|",
            ]
            for row in b.frame.itertuples(index=False):
                lines.append("| " + " | ".join(_md_escape(_cell(v)) for v in row) + " |")
            if b.caption:
                lines.insert(0, f"*{b.caption}*\n")
            out.append("\n".join(lines))
        elif isinstance(b, Figure):
            out.append(f"![{b.caption}]({b.path})\n\n*{b.caption}*")
        elif isinstance(b, Code):
            fence = f"```{b.language}\n{b.text}\n```"
            out.append(f"{b.summary}\n\n{fence}" if b.summary else fence)
    return "\n\n".join(out) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:72rem;margin:2rem auto;
padding:0 1rem;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:.6rem 0 1.2rem;font-size:.88rem}
th,td{border-bottom:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top;
overflow-wrap:break-word}
th{background:#f4f4f4}
caption{caption-side:top;text-align:left;font-style:italic;padding:.3rem 0}
figure{margin:1rem 0}figure img{max-width:100%;height:auto}
figcaption{font-style:italic;font-size:.9rem}
pre{background:#f6f6f6;padding:.7rem;overflow-x:auto;font-size:.82rem}
details{margin:.5rem 0}h1,h2,h3{line-height:1.2}
nav.toc{background:#f8f8f8;border:1px solid #e4e4e4;padding:.4rem 1rem;margin:1rem 0}
nav.toc ul{list-style:none;padding-left:0;margin:.2rem 0;columns:2}
nav.toc li.toc1{padding-left:1.2rem;font-size:.92rem}
h2,h3{scroll-margin-top:.5rem}
"""


def _html_cell(text: str) -> str:
    """A cell's text escaped; a URL may break after its slashes, dots and hyphens (<wbr>),
    so that a long link wraps instead of widening its column. Control characters are
    replaced first (:func:`inometa.report.safe.printable`)."""
    text = printable(text)
    if not re.match(r"https?://\S+$", text):
        return html.escape(text)
    return "".join(
        html.escape(piece) + ("<wbr>" if piece and piece[-1] in "/.-_?&=" else "")
        for piece in re.split(r"(?<=[/.\-_?&=])", text)
    )


def to_html(blocks: list[Block], title: str, base: Path) -> str:
    """Render blocks as one self-contained HTML page (PNG figures embedded from ``base``)."""

    def esc(text: str) -> str:
        return html.escape(printable(text))

    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}"
        f"</title><style>{_CSS}</style></head><body>"
    ]
    for b in blocks:
        if isinstance(b, Heading):
            parts.append(f"<h{b.level} id='{esc(anchor_of(b))}'>{esc(b.text)}</h{b.level}>")
        elif isinstance(b, Contents):
            items = []
            for depth, text, a in _toc(blocks, b):
                items.append(f"<li class='toc{depth}'><a href='#{esc(a)}'>{esc(text)}</a></li>")
            parts.append(
                f"<nav class='toc'><p><b>{esc(b.title)}</b></p><ul>{''.join(items)}</ul></nav>"
            )
        elif isinstance(b, Paragraph):
            parts.append(f"<p>{esc(b.text)}</p>")
        elif isinstance(b, Bullets):
            parts.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{esc(str(c))}</th>" for c in b.frame.columns)
            body = "".join(
                "<tr>" + "".join(f"<td>{_html_cell(_cell(v))}</td>" for v in row) + "</tr>"
                for row in b.frame.itertuples(index=False)
            )
            cap = f"<caption>{esc(b.caption)}</caption>" if b.caption else ""
            parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(b, Figure):
            src = b.html_path or b.path
            file = base / src
            if file.suffix == ".png" and file.is_file():
                src = "data:image/png;base64," + base64.b64encode(file.read_bytes()).decode()
            parts.append(
                f"<figure><img src='{src}' alt='{esc(b.caption)}'>"
                f"<figcaption>{esc(b.caption)}</figcaption></figure>"
            )
        elif isinstance(b, Code):
            pre = f"<pre><code>{esc(b.text)}</code></pre>"
            parts.append(f"<details><summary>{esc(b.summary or 'code')}</summary>{pre}</details>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
