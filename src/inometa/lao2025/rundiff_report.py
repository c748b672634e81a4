"""Render and write a :class:`~inometa.lao2025.rundiff.RunDiff`: console text, Markdown, CSV.

Output folder layout::

    diff.csv           one row per outcome × method (before, after, change)
    diff_studies.csv   studies added, removed and changed
    diff_files.csv     data files and their hashes before and after
    diff.md            all of it as one readable document
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..report.document import Block, Bullets, Heading, Paragraph, Table, to_markdown
from ..report.format import plain, span
from ..report.safe import spreadsheet_safe

if TYPE_CHECKING:
    import pandas as pd

    from .rundiff import RunDiff

__all__ = ["diff_blocks", "diff_text", "write_diff"]


_num = plain
_ci = span


def _arrow(before: str, after: str) -> str:
    return before if before == after else f"{before} → {after}"


def _change(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f" ({value:+.1f})"


def _outcome_table(rows: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    records = []
    for r in rows.to_dict("records"):
        records.append(
            {
                "method": r["method"],
                "estimate %": _arrow(_num(r["estimate_before"]), _num(r["estimate_after"]))
                + ("" if r["estimate_before"] == r["estimate_after"] else _change(r["change_pp"])),
                "95% CI": _arrow(
                    _ci(r["ci_low_before"], r["ci_high_before"]),
                    _ci(r["ci_low_after"], r["ci_high_after"]),
                ),
                "95% PI": _arrow(
                    _ci(r["pi_low_before"], r["pi_high_before"]),
                    _ci(r["pi_low_after"], r["pi_high_after"]),
                ),
                "I² %": _arrow(_num(r["i2_before"], 0), _num(r["i2_after"], 0)),
                "τ²": _arrow(_num(r["tau2_before"], 4), _num(r["tau2_after"], 4)),
            }
        )
    table: pd.DataFrame = pd.DataFrame(records)
    return table


def _headline(first: dict[Any, Any]) -> str:
    parts = [
        f"k {_arrow(str(first['k_before']), str(first['k_after']))}",
        f"N {_arrow(str(first['n_before']), str(first['n_after']))}",
    ]
    for status in ("added", "removed", "changed"):
        if first[status]:
            parts.append(f"{status}: {first[status]}")
    return "; ".join(parts)


def diff_blocks(d: RunDiff) -> list[Block]:
    """The comparison as document blocks (one section per outcome)."""
    blocks: list[Block] = [
        Heading("What changed", 1),
        Paragraph(f"Before: {d.before}. After: {d.after}."),
    ]
    if d.thresholds:
        flipped = d.flipped
        pct = ", ".join(f"{100 * t:g}%" for t in d.thresholds)
        if flipped.empty:
            blocks.append(Paragraph(f"No conclusion flipped at the threshold(s) {pct}."))
        else:
            blocks.append(
                Bullets(
                    tuple(
                        f"{r['outcome']} ({r['method']} method): {r['conclusion']}"
                        for r in flipped.to_dict("records")
                    )
                )
            )
    if d.notes:
        blocks.append(Bullets(d.notes))
    for outcome, rows in d.summary.groupby("outcome", sort=False):
        first = rows.iloc[0].to_dict()
        if first["k_before"] == 0 and first["k_after"] == 0:
            continue
        blocks.append(Heading(str(outcome), 2))
        blocks.append(Table(_outcome_table(rows), _headline(first)))
        flips = [
            f"{r['method']}: {r['conclusion']}" for r in rows.to_dict("records") if r["flipped"]
        ]
        if flips:
            blocks.append(Paragraph("Conclusion flipped — " + "; ".join(flips) + "."))
    if not d.studies.empty:
        cols = ["outcome", "label", "status", "fields_changed"] + [
            c for c in d.studies.columns if c.startswith(("events_", "total_", "denominator_"))
        ]
        blocks += [Heading("Studies added, removed or changed", 2), Table(d.studies[cols], "")]
    changed = d.data_files[d.data_files["changed"]]
    if not changed.empty:
        blocks += [
            Heading("Data files that differ", 2),
            Table(
                changed.assign(
                    sha256_before=changed["sha256_before"].str[:12],
                    sha256_after=changed["sha256_after"].str[:12],
                ),
                "SHA-256 (first 12 hex digits)",
            ),
        ]
    return blocks


def diff_text(d: RunDiff) -> str:
    """The comparison as plain text for the console: per outcome, a headline and a table.

    Examples
    --------
    >>> import pandas as pd
    >>> from inometa.lao2025.rundiff import RunDiff
    >>> row = {"outcome": "vod", "method": "published", "k_before": 8, "k_after": 9,
    ...        "n_before": 600, "n_after": 673, "change_pp": 0.7, "i2_change_pp": 1.0,
    ...        "added": "INO-CD22 2025", "removed": "", "changed": "", "flipped": False,
    ...        "conclusion": "", **{f"{c}_{s}": v for c in ("estimate", "ci_low", "ci_high",
    ...        "pi_low", "pi_high", "i2", "tau2") for s, v in (("before", 6.2), ("after", 6.9))}}
    >>> d = RunDiff("a", "b", (), pd.DataFrame([row]), pd.DataFrame(),
    ...             pd.DataFrame(columns=["file", "changed"]))
    >>> print(diff_text(d).splitlines()[1])
    vod — k 8 → 9; N 600 → 673; added: INO-CD22 2025
    """
    lines = [f"{d.before} → {d.after}"]
    for outcome, rows in d.summary.groupby("outcome", sort=False):
        first = rows.iloc[0].to_dict()
        if first["k_before"] == 0 and first["k_after"] == 0:
            continue
        lines.append(f"{outcome} — {_headline(first)}")
        table = _outcome_table(rows)
        for text in table.to_string(index=False).splitlines():
            lines.append("  " + text)
        for r in rows.to_dict("records"):
            if r["flipped"]:
                lines.append(f"  conclusion flipped ({r['method']}): {r['conclusion']}")
    if d.thresholds and d.flipped.empty:
        pct = ", ".join(f"{100 * t:g}%" for t in d.thresholds)
        lines.append(f"no conclusion flipped at {pct}")
    lines += [f"note: {n}" for n in d.notes]
    return "\n".join(lines)


def write_diff(d: RunDiff, out: str | Path) -> list[Path]:
    """Write ``diff.csv``, ``diff_studies.csv``, ``diff_files.csv`` and ``diff.md`` into ``out``.

    Parameters
    ----------
    d
        The comparison.
    out
        Output folder (created).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in (
        ("diff", d.summary),
        ("diff_studies", d.studies),
        ("diff_files", d.data_files),
    ):
        path = folder / f"{name}.csv"
        spreadsheet_safe(frame).to_csv(path, index=False)
        paths.append(path)
    md = folder / "diff.md"
    md.write_text(to_markdown(diff_blocks(d)))
    paths.append(md)
    return paths
