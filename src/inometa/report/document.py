"""A small document model rendered to Markdown and to self-contained HTML.

Reports are built once as a list of blocks and rendered twice, so that ``report.md`` and
``report.html`` cannot drift apart. HTML embeds PNG figures (base64) so it is one file.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .safe import printable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Bullets", "Code", "Figure", "Heading", "Paragraph", "Table", "to_html", "to_markdown"]


@dataclass(frozen=True)
class Heading:
    """A section heading (level 1–4)."""

    text: str
    level: int = 2


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


Block = Heading | Paragraph | Bullets | Table | Figure | Code


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
            out.append(f"{'#' * b.level} {printable(b.text)}")
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
th,td{border-bottom:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}caption{caption-side:top;text-align:left;font-style:italic;padding:.3rem 0}
figure{margin:1rem 0}figure img{max-width:100%}figcaption{font-style:italic;font-size:.9rem}
pre{background:#f6f6f6;padding:.7rem;overflow-x:auto;font-size:.82rem}
details{margin:.5rem 0}h1,h2,h3{line-height:1.2}
"""


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
            parts.append(f"<h{b.level}>{esc(b.text)}</h{b.level}>")
        elif isinstance(b, Paragraph):
            parts.append(f"<p>{esc(b.text)}</p>")
        elif isinstance(b, Bullets):
            parts.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{esc(str(c))}</th>" for c in b.frame.columns)
            body = "".join(
                "<tr>" + "".join(f"<td>{esc(_cell(v))}</td>" for v in row) + "</tr>"
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
