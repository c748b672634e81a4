"""HTML rendering of results for notebooks (``_repr_html_``)."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

from .format import interval, num, pct, pvalue
from .text import method_line

if TYPE_CHECKING:
    from ..core.results import MetaPropResult


def result_html(res: MetaPropResult) -> str:
    """A compact HTML table: pooled estimates, heterogeneity, options and notes."""
    o = res.options
    h = res.heterogeneity
    esc = html.escape
    lev = f"{100 * o.level:g}%"
    rows = [
        ("Common effect", num(res.common.proportion), interval(*res.common.proportion_ci), ""),
        (
            "Random effects",
            num(res.random.proportion),
            interval(*res.random.proportion_ci),
            interval(res.prediction.proportion_low, res.prediction.proportion_high),
        ),
    ]
    body = "".join(
        f"<tr><th style='text-align:left'>{esc(a)}</th><td>{esc(b)}</td><td>{esc(c)}</td>"
        f"<td>{esc(d)}</td></tr>"
        for a, b, c, d in rows
    )
    tau = num(math.sqrt(h.tau2)) if math.isfinite(h.tau2) else "–"
    het = (
        f"τ² = {num(h.tau2)} {interval(*h.tau2_ci)}, τ = {tau}, "
        f"I² = {pct(h.i2)} {interval(*h.i2_ci, fmt='pct')}, H² = {num(h.h2, 2)}, "
        f"Q({h.q_df}) = {num(h.q, 2)}, {pvalue(h.q_pvalue)}"
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in res.notes)
    return (
        "<div class='inometa-result'>"
        f"<p><b>Meta-analysis of proportions</b> (k = {res.k}, "
        f"N = {res.data.n_total})<br><small>{esc(method_line(res))}; profile "
        f"{esc(o.profile)}; inometa {esc(o.version)}</small></p>"
        f"<table><thead><tr><th></th><th>proportion</th><th>{lev} CI</th><th>{lev} PI</th>"
        f"</tr></thead><tbody>{body}</tbody></table>"
        f"<p>{esc(het)}</p>"
        + (
            f"<details><summary>Notes ({len(res.notes)})</summary><ul>{notes}</ul></details>"
            if notes
            else ""
        )
        + "</div>"
    )
