"""The sections of the Lao 2025 reproduction report, as document blocks: the summary table,
one block per outcome (results, subgroups, leave-one-out, cumulative, denominators), the
reconstruction section, the changes from the baseline set, the studies and the data files.
:mod:`inometa.lao2025.report` assembles them and writes the files.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..report.document import (
    Block,
    Bullets,
    Figure,
    Heading,
    Paragraph,
    Table,
)
from ..report.format import plain, pvalue, span, tau2_text

if TYPE_CHECKING:
    import pandas as pd

    from .reproduce import OutcomeAnalysis, Reproduction

__all__ = [
    "changes_table",
    "denominator_table",
    "figure_block",
    "files_table",
    "outcome_blocks",
    "reconstruction_blocks",
    "sha256_of",
    "source_text",
    "studies_table",
    "summary_table",
]


def _pct(v: Any, digits: int = 1) -> str:
    return plain(v, digits, scale=100)


def _ci(lo: Any, hi: Any) -> str:
    return span(lo, hi, scale=100)


def figure_block(written: dict[str, list[str]], key: str, caption: str) -> list[Block]:
    paths = written.get(key, [])
    web = [p for p in paths if Path(p).parent.name == "web"]
    full = [p for p in paths if p.endswith(".png") and p not in web]
    if full:
        return [Figure(full[0], caption, web[0] if web else None)]
    return []


def summary_table(rep: Reproduction) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for r in rep.comparison.to_dict("records"):

        def pub(name: str, r: dict[Any, Any] = r) -> Any:
            v = r.get(f"published_{name}")
            return None if v is None or (isinstance(v, float) and math.isnan(v)) else v / 100

        def rep_(method: str, name: str, r: dict[Any, Any] = r) -> Any:
            v = r.get(f"{method}_method_{name}")
            return None if v is None or (isinstance(v, float) and math.isnan(v)) else v / 100

        diff = r.get("difference_pp")
        rows.append(
            {
                "outcome (published)": r["published_outcome"],
                "reproduced as": r["outcome_label"],
                "published % (CI) [PI]": f"{_pct(pub('estimate'))} "
                f"({_ci(pub('ci_low'), pub('ci_high'))}) [{_ci(pub('pi_low'), pub('pi_high'))}]",
                "published I²": _pct(pub("i2")),
                "reproduced, published method": f"{_pct(rep_('published', 'estimate'))} "
                f"({_ci(rep_('published', 'ci_low'), rep_('published', 'ci_high'))}) "
                f"[{_ci(rep_('published', 'pi_low'), rep_('published', 'pi_high'))}]",
                "I²": _pct(rep_("published", "i2")),
                "Δ pp": "–"
                if diff is None or (isinstance(diff, float) and math.isnan(diff))
                else f"{diff:+.1f}",
                "recommended (GLMM)": f"{_pct(rep_('recommended', 'estimate'))} "
                f"({_ci(rep_('recommended', 'ci_low'), rep_('recommended', 'ci_high'))}) "
                f"[{_ci(rep_('recommended', 'pi_low'), rep_('recommended', 'pi_high'))}]",
                "k": r["k"],
                "N": r["n"],
            }
        )
    table: pd.DataFrame = pd.DataFrame(rows)
    return table


def outcome_blocks(
    oa: OutcomeAnalysis, written: dict[str, list[str]], explanations: list[str]
) -> list[Block]:
    import pandas as pd

    blocks: list[Block] = [Heading(f"{oa.label} ({oa.outcome})", 3, anchor=oa.outcome)]
    if explanations:
        blocks.append(Bullets(tuple(explanations)))
    if not oa.results:
        blocks.append(Paragraph("; ".join(oa.notes)))
        return blocks
    rows = []
    for method, res in oa.results.items():
        rows.append(
            {
                "method": method,
                "estimate %": _pct(res.estimate),
                "95% CI": _ci(res.random.proportion_ci.low, res.random.proportion_ci.high),
                "95% PI": _ci(res.prediction.proportion_low, res.prediction.proportion_high),
                "τ²": tau2_text(res.tau2),
                "I² %": _pct(res.i2),
                "Q (df), p": f"{res.heterogeneity.q:.2f} ({res.heterogeneity.q_df}), "
                f"{pvalue(res.heterogeneity.q_pvalue)}",
            }
        )
    blocks.append(Table(pd.DataFrame(rows), f"k = {oa.k}, N = {int(oa.studies['total'].sum())}"))
    for method in ("published", "recommended"):
        blocks += figure_block(
            written, f"forest_{oa.outcome}_{method}", f"{oa.label}: forest plot, {method} method"
        )
    blocks += figure_block(
        written,
        f"funnel_{oa.outcome}",
        f"{oa.label}: contour-enhanced funnel plot"
        + (" with trim-and-fill and Egger's regression line" if oa.bias else ""),
    )
    for variable, by_method in oa.subgroups.items():
        for method, sg in by_method.items():
            blocks += figure_block(
                written,
                f"subgroups_{oa.outcome}_{variable}_{method}",
                f"{oa.label} by {variable}, {method} method",
            )
            frame = _subgroup_table(sg.to_frame())
            tests = "; ".join(
                f"{t.name}: {t.statistic:.2f} on {t.df}{'' if t.df2 is None else f', {t.df2:g}'}"
                f" df, {pvalue(t.pvalue)}"
                for t in sg.tests
            )
            blocks.append(Table(frame, f"Subgroups by {variable} ({method} method) — {tests}"))
    for method in oa.leave_one_out:
        blocks += figure_block(
            written, f"loo_{oa.outcome}_{method}", f"{oa.label}: leave-one-out, {method} method"
        )
    if "published" in oa.leave_one_out:
        blocks.append(
            Table(
                _leave_one_out_table(oa.leave_one_out["published"]),
                "Leave-one-out (published method); percentages",
            )
        )
    blocks += _cumulative_blocks(oa, written)
    sens = oa.sensitivity
    blocks.append(
        Paragraph(
            f"Sensitivity: across {len(sens)} methods the pooled estimate ranges "
            f"{_pct(sens['estimate'].min())}–{_pct(sens['estimate'].max())}% (sensitivity.csv)."
        )
    )
    blocks += _denominator_blocks(oa)
    if oa.bias:
        eg, bg, tf = oa.bias["egger"], oa.bias["begg"], oa.bias["trim_and_fill"]
        blocks.append(
            Paragraph(
                f"Small-study effects: Egger z = {eg.statistic:.2f}, {pvalue(eg.pvalue)}; Begg τ = "
                f"{bg.statistic:.2f}, {pvalue(bg.pvalue)}; trim-and-fill imputes {tf.k0} on the "
                f"{tf.side}, giving {_pct(tf.result.estimate)}%."
            )
        )
    other = [n for n in oa.notes]
    if other:
        blocks.append(Bullets(tuple(other)))
    return blocks


def denominator_table(rep: Reproduction) -> dict[str, pd.DataFrame]:
    """``denominators.csv``: the denominator sensitivity analysis of every outcome, if any."""
    import pandas as pd

    frames = [
        oa.denominators.assign(outcome=code)
        for code, oa in rep.outcomes.items()
        if oa.denominators is not None
    ]
    return {"denominators": pd.concat(frames, ignore_index=True)} if frames else {}


def _denominator_blocks(oa: OutcomeAnalysis) -> list[Block]:
    """The pooled estimate with each uncertain count replaced by its alternative reading."""
    table = oa.denominators
    if table is None or table.empty:
        return []
    shown = table[["label", "recorded", "alternative", "method"]].copy()
    shown["estimate % (recorded)"] = [
        f"{_pct(r.estimate)} ({_ci(r.ci_low, r.ci_high)})" for r in table.itertuples()
    ]
    shown["estimate % (alternative)"] = [
        f"{_pct(r.estimate_alt)} ({_ci(r.ci_low_alt, r.ci_high_alt)})" for r in table.itertuples()
    ]
    shown["change pp"] = [f"{v:+.2f}" for v in table["change_pp"]]
    readings = table.drop_duplicates("label")
    return [
        Paragraph(
            "Denominator sensitivity: each count whose denominator is uncertain replaced by "
            "its alternative reading — "
            + "; ".join(f"{r.label}: {r.reading}" for r in readings.itertuples())
            + " (denominators.csv)."
        ),
        Table(shown, "Pooled estimate (95% CI) with the recorded and the alternative count"),
    ]


def _subgroup_table(frame: pd.DataFrame) -> pd.DataFrame:
    """``SubgroupResult.to_frame()`` as the report shows it (percentages, readable names)."""
    import pandas as pd

    table: pd.DataFrame = pd.DataFrame(
        {
            "subgroup": frame["subgroup"],
            "k": frame["k"],
            "events / N": [f"{e} / {n}" for e, n in zip(frame["events"], frame["n"], strict=True)],
            "estimate %": frame["estimate"].map(_pct),
            "95% CI": [
                _ci(lo, hi) for lo, hi in zip(frame["ci_low"], frame["ci_high"], strict=True)
            ],
            "95% PI": [
                _ci(lo, hi) for lo, hi in zip(frame["pi_low"], frame["pi_high"], strict=True)
            ],
            "I² %": frame["i2"].map(_pct),
        }
    )
    return table


def _leave_one_out_table(table: pd.DataFrame) -> pd.DataFrame:
    """A leave-one-out table as the report shows it (percentages, readable names)."""
    import pandas as pd

    out: pd.DataFrame = pd.DataFrame(
        {
            "omitted": table["omitted"],
            "estimate %": table["estimate"].map(_pct),
            "95% CI": [
                _ci(lo, hi) for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
            ],
            "τ²": table["tau2"].map(tau2_text),
            "I² %": table["i2"].map(_pct),
        }
    )
    return out


def _cumulative_blocks(oa: OutcomeAnalysis, written: dict[str, list[str]]) -> list[Block]:
    """Cumulative forests and where the evidence moved (the largest step, the new reports)."""
    blocks: list[Block] = []
    for method in oa.cumulative:
        blocks += figure_block(
            written,
            f"cumulative_{oa.outcome}_{method}",
            f"{oa.label}: cumulative meta-analysis by publication date, {method} method",
        )
    table = oa.cumulative.get("recommended")
    if table is None or len(table) < 2:
        return blocks
    moves = table["change_pp"].abs()
    big = table.iloc[int(moves.fillna(-1.0).to_numpy().argmax())]
    text = (
        f"Cumulative by publication date (recommended method): the estimate moved most when "
        f"{big['added']} ({big['order']}) was added ({big['change_pp']:+.1f} percentage points, "
        f"to {_pct(big['estimate'])}%)."
    )
    new = table[table["new"]]
    if not new.empty:
        first = int(new["step"].min())
        before = table.loc[table["step"] == first - 1]
        start = _pct(before["estimate"].iloc[0]) if not before.empty else "–"
        last = table.iloc[-1]
        reports = f"{len(new)} reports" if len(new) > 1 else "report"
        text += (
            f" The {reports} published after the search date ({', '.join(new['added'])}) "
            f"moved it from {start}% to {_pct(last['estimate'])}% "
            f"(95% CI {_ci(last['ci_low'], last['ci_high'])}%)."
        )
    blocks.append(Paragraph(text))
    return blocks


def reconstruction_blocks(rep: Reproduction) -> list[Block]:
    """ "Can the published numbers be reached?": the bounded search, one row per outcome."""
    import pandas as pd

    from ..report.reconstruction import reconstruction_table
    from .reconstruction import SEARCH_DATE

    if not rep.reconstruction:
        return []
    found = {o: r for o, r in rep.reconstruction.items() if not isinstance(r, str)}
    table = reconstruction_table(found)
    names = dict(zip(rep.published["outcome"], rep.published["outcome_as_published"], strict=True))
    rows = [
        {
            "outcome": names.get(r["outcome"], r["outcome"]),
            "sets searched": f"{r['sets_searched']:,}",
            "matches": str(r["matches"]),
            "expected by chance": f"{r['expected_by_chance']:.2f}",
            "near sets": str(r["near_misses"]),
            "verdict": r["verdict"],
            "closest method": r["method"],
            "in every near set": r["in_every_near_set"] or "—",
            "the pool lacks": r["pool_lacks"],
        }
        for r in table.to_dict("records")
    ]
    rows += [
        {"outcome": names.get(o, o), "verdict": reason}
        for o, reason in rep.reconstruction.items()
        if isinstance(reason, str)
    ]
    frame = pd.DataFrame(rows).astype(object).fillna("")
    return [
        Heading("Can the published numbers be reached?", 2),
        Paragraph(
            "For each outcome with extracted counts, every set of at least two extracted "
            f"reports published on or before the search date ({SEARCH_DATE:%d %B %Y}), one "
            "report per cohort (for the published CR: strict CR or CR/CRi for each report; "
            "for overall survival: each printed Kaplan–Meier rate as round(rate × n) events "
            "of n, the convention the published OS rows imply), "
            "was pooled under every method of a grid — raw, logit, arcsine and Freeman–Tukey "
            "proportions; DL, REML and PM τ²; I² from τ² (metafor) and from Q (R meta); Wald "
            "CI — and compared with the printed estimate, CI and I². A set and method "
            "'matches' when each of its results, rounded to the printed decimal, equals the "
            "printed one; a 'near set' comes within 3 printed units of every value. The "
            "matches expected by chance are the near sets times the share of the near-miss "
            "box a match occupies: matches not clearly above it do not identify the paper's "
            "studies. When nothing matches, the search says whether any set reaches the "
            "printed estimate and I² together and, if so, how narrow its CI can be: a printed "
            "CI narrower than any set gives means the paper pooled studies or counts this "
            "pool lacks."
        ),
        Table(frame, "Search of the extracted reports against the published numbers"),
        Paragraph(
            "The search is exact (no matching set is skipped) but bounded: it takes one "
            "report per cohort. 'inometa reconstruct --double-count' also allows overlapping "
            "reports of one cohort, as a paper that double-counted them would have pooled "
            "(about 4 million sets for CR); 'inometa reconstruct --csv FILE' lists every "
            "matching and near set with its studies and method."
        ),
    ]


def changes_table(changes: pd.DataFrame) -> pd.DataFrame:
    """What changed since the baseline, with readable column names."""
    table = changes.copy()
    for col in ("k_before", "k_after"):
        table[col] = table[col].astype(int)
    for col in [
        c for c in table.columns if c.endswith(("_before", "_after")) and not c.startswith("k_")
    ]:
        table[col] = table[col].map(lambda v: f"{v:.1f}")
    for col in [c for c in table.columns if c.endswith("_change_pp")]:
        table[col] = table[col].map(lambda v: f"{v:+.1f}")
    names = {"k_before": "k before", "k_after": "k after"}
    for method in ("published", "recommended"):
        names |= {
            f"{method}_before": f"{method} method, before %",
            f"{method}_after": f"{method} method, after %",
            f"{method}_change_pp": f"{method} method, change (pp)",
        }
    renamed: pd.DataFrame = table.rename(columns=names)
    return renamed


def source_text(source: str) -> str:
    """A source as a reader can follow it: URLs and DOIs as they are, ``doi:`` as a link,
    the project's seed documents (``seed:<id>``) named as the secondary source they are.

    Examples
    --------
    >>> source_text("doi:10.1002/cncr.28136")
    'https://doi.org/10.1002/cncr.28136'
    >>> source_text("seed:001_8b20908ac8dc8083")
    'secondary source: clinical review of inotuzumab ozogamicin in ALL (seed document 001)'
    """
    text = str(source).strip()
    if text.startswith("doi:"):
        return "https://doi.org/" + text[4:].strip()
    if text.startswith("10.") and "/" in text:
        return "https://doi.org/" + text
    if text.startswith("seed:"):
        seed = text[5:].split("_")[0]
        kind = _SEED_KINDS.get(seed, "project document")
        return f"secondary source: {kind} (seed document {seed})"
    return text


# The project's seed documents (../shared/seeds/README.md says what each is).
_SEED_KINDS = {
    "001": "clinical review of inotuzumab ozogamicin in ALL",
    "002": "abstract of Lao, Wen & Wen 2025",
}


def studies_table(studies: pd.DataFrame) -> pd.DataFrame:
    """Every pooled count with its denominator, quote and source, as the report shows it."""
    table = studies[
        [
            "outcome",
            "label",
            "events",
            "total",
            "denominator",
            "derived",
            "verification",
            "quote",
            "location",
            "source",
        ]
    ].copy()
    table["derived"] = table["derived"].map(lambda v: "yes" if bool(v) else "no")
    table["source"] = table["source"].map(source_text)
    renamed: pd.DataFrame = table.rename(
        columns={"label": "study", "total": "N", "derived": "derived count"}
    )
    return renamed


def files_table(files: Mapping[str, str]) -> pd.DataFrame:
    """Data files relative to their common directory (no local absolute paths)."""
    import os

    import pandas as pd

    paths = [Path(f) for f in files]
    root = Path(os.path.commonpath([p.parent for p in paths])).parent if paths else Path()
    table: pd.DataFrame = pd.DataFrame(
        {
            "file": [p.relative_to(root).as_posix() for p in paths],
            "SHA-256": list(files.values()),
        }
    )
    return table


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
