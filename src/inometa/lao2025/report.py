"""Write a :class:`~inometa.lao2025.reproduce.Reproduction` to disk: tables, figures,
manifest, report.

Output directory layout::

    results.csv, results.md      one row per outcome × method
    comparison.csv               published vs reproduced, with explanations
    sensitivity.csv              every outcome × transform × τ² estimator × CI method
    subgroups.csv, leave_one_out.csv, cumulative.csv, audit.csv, studies.csv
    denominators.csv             the denominator sensitivity analysis (uncertain counts)
    figures/                     forest, funnel and summary plots (--formats)
    manifest.json                versions, data file hashes, options, timings, outputs
    report.md, report.html       the reproduction report (HTML self-contained)

Nothing written depends on the clock except ``manifest.json``'s timings.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..report.document import (
    Block,
    Bullets,
    Code,
    Contents,
    Figure,
    Heading,
    Paragraph,
    Table,
    to_html,
    to_markdown,
)
from ..report.format import plain, pvalue, span, tau2_text
from ..report.safe import spreadsheet_safe

if TYPE_CHECKING:
    import pandas as pd

    from ..core.results import MetaPropResult
    from .figures import FigureJob
    from .reproduce import OutcomeAnalysis, Reproduction

__all__ = ["FORMATS", "check_output_folder", "write_reproduction"]

FORMATS = ("png", "svg", "pdf")


def _pct(v: Any, digits: int = 1) -> str:
    return plain(v, digits, scale=100)


def _ci(lo: Any, hi: Any) -> str:
    return span(lo, hi, scale=100)


def _result_row(outcome: str, method: str, res: MetaPropResult) -> dict[str, Any]:
    h = res.heterogeneity
    o = res.options
    return {
        "outcome": outcome,
        "method": method,
        "k": res.k,
        "events": res.data.events_total,
        "n": res.data.n_total,
        "estimate": res.estimate,
        "ci_low": res.random.proportion_ci.low,
        "ci_high": res.random.proportion_ci.high,
        "pi_low": res.prediction.proportion_low,
        "pi_high": res.prediction.proportion_high,
        "tau2": h.tau2,
        "i2": h.i2,
        "q": h.q,
        "q_df": h.q_df,
        "q_pvalue": h.q_pvalue,
        "model": o.method,
        "transform": o.transform,
        "tau2_method": o.tau2_method,
        "ci_method": o.ci_method,
        "pi_method": o.pi_method,
        "notes": " | ".join(res.notes),
    }


def _tables(rep: Reproduction) -> dict[str, pd.DataFrame]:
    import pandas as pd

    results, sens, subgroups, loo, cumul, studies = [], [], [], [], [], []
    for code, oa in rep.outcomes.items():
        for method, res in oa.results.items():
            results.append(_result_row(code, method, res))
        if not oa.sensitivity.empty:
            sens.append(oa.sensitivity.assign(outcome=code))
        for variable, by_method in oa.subgroups.items():
            for method, sg in by_method.items():
                frame = sg.to_frame().assign(outcome=code, variable=variable, method=method)
                for t in sg.tests:
                    frame[f"test: {t.name}"] = t.statistic
                    frame[f"p: {t.name}"] = t.pvalue
                subgroups.append(frame)
        for method, table in oa.leave_one_out.items():
            loo.append(table.assign(outcome=code, method=method))
        for method, table in oa.cumulative.items():
            cumul.append(table.assign(outcome=code, method=method))
        if not oa.studies.empty:
            studies.append(
                oa.studies.assign(outcome=code)[
                    [
                        "outcome",
                        "study_id",
                        "label",
                        "events",
                        "total",
                        "denominator",
                        "denominator_definition",
                        "derived",
                        "derivation",
                        "verification",
                        "setting_group",
                        "regimen_group",
                        "year",
                        "source",
                        "location",
                        "quote",
                        "reason",
                    ]
                ]
            )
    comparison = rep.comparison.copy()
    comparison["explanations"] = comparison["explanations"].map(" | ".join)
    return {
        "results": pd.DataFrame(results),
        "comparison": comparison,
        "sensitivity": pd.concat(sens, ignore_index=True) if sens else pd.DataFrame(),
        "subgroups": pd.concat(subgroups, ignore_index=True) if subgroups else pd.DataFrame(),
        "leave_one_out": pd.concat(loo, ignore_index=True) if loo else pd.DataFrame(),
        "cumulative": pd.concat(cumul, ignore_index=True) if cumul else pd.DataFrame(),
        "audit": rep.audit,
        "studies": pd.concat(studies, ignore_index=True) if studies else pd.DataFrame(),
        **_denominator_table(rep),
        **({"changes": rep.changes} if rep.changes is not None else {}),
    }


def _fig(written: dict[str, list[str]], key: str, caption: str) -> list[Block]:
    paths = written.get(key, [])
    web = [p for p in paths if Path(p).parent.name == "web"]
    full = [p for p in paths if p.endswith(".png") and p not in web]
    if full:
        return [Figure(full[0], caption, web[0] if web else None)]
    return []


def _summary_table(rep: Reproduction) -> pd.DataFrame:
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


def _outcome_blocks(
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
        blocks += _fig(
            written, f"forest_{oa.outcome}_{method}", f"{oa.label}: forest plot, {method} method"
        )
    blocks += _fig(
        written,
        f"funnel_{oa.outcome}",
        f"{oa.label}: contour-enhanced funnel plot"
        + (" with trim-and-fill and Egger's regression line" if oa.bias else ""),
    )
    for variable, by_method in oa.subgroups.items():
        for method, sg in by_method.items():
            blocks += _fig(
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
        blocks += _fig(
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


def _denominator_table(rep: Reproduction) -> dict[str, pd.DataFrame]:
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
        blocks += _fig(
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


def _report(
    rep: Reproduction, written: dict[str, list[str]], tables: dict[str, pd.DataFrame]
) -> list[Block]:

    from .._version import __version__
    from .config import METHOD_LABELS

    blocks: list[Block] = [
        Heading(f"Reproduction of Lao, Wen & Wen (2025) — analysis set '{rep.set_name}'", 1),
        Paragraph(
            "Lao C, Wen J, Wen Y. Efficacy and safety of inotuzumab ozogamicin and its "
            "combination therapies in acute lymphoblastic leukemia: a systematic review and "
            "meta-analysis. Front Oncol 2025; doi:10.3389/fonc.2025.1613777. Only the abstract "
            "is available; the study set below is a documented reconstruction."
        ),
        Paragraph(f"Analysis set: {rep.set_description}"),
        Paragraph(
            f"Generated by inometa {__version__}. Methods compared: "
            + "; ".join(f"{name}: {lab}" for name, lab in METHOD_LABELS.items())
            + "."
        ),
        Contents(),
        Heading("Published versus reproduced", 2),
        Table(_summary_table(rep), "Percentages; Δ pp = reproduced (published method) − published"),
    ]
    twice = rep.comparison["published_outcome"][rep.comparison["published_outcome"].duplicated()]
    for code in dict.fromkeys(twice):
        labels = rep.comparison.loc[rep.comparison["published_outcome"] == code, "outcome_label"]
        blocks.append(
            Paragraph(
                f"The published '{code}' appears {len(labels)} times: the abstract does not say "
                "which response definition it pooled, so it is compared with each extracted "
                f"definition ({'; '.join(labels)})."
            )
        )
    if rep.changes is not None and not rep.changes.empty:
        changes = _changes_table(rep.changes)
        blocks += [
            Heading(f"What changed since '{rep.baseline}'", 2),
            Paragraph(
                f"The same analyses on the '{rep.baseline}' set and on '{rep.set_name}': "
                "studies added and dropped (a newer report of a cohort replaces the older "
                "one), and the pooled estimates (%) before and after, with the change in "
                "percentage points."
            ),
            Table(changes, ""),
        ]
    blocks += _fig(written, "summary_published", "All outcomes, published method")
    blocks += _fig(written, "summary_recommended", "All outcomes, recommended method")
    audit = rep.audit[rep.audit["status"] != "ok"][["label", "check", "status", "message"]]
    blocks += [
        Heading("Audit of the published numbers", 2),
        Paragraph(
            "Each published summary was checked for internal consistency (within the "
            "rounding of the printed digits); findings other than 'ok' are listed."
        ),
        Table(audit.rename(columns={"label": "published outcome"}), ""),
    ]
    blocks += _reconstruction_blocks(rep)
    blocks.append(Heading("Outcomes", 2))
    expl = {r["outcome"]: r["explanations"] for r in rep.comparison.to_dict("records")}
    for code, oa in rep.outcomes.items():
        blocks += _outcome_blocks(oa, written, expl.get(code, []))
    blocks.append(Heading("Methods", 2))
    example = next((oa for oa in rep.outcomes.values() if oa.results), None)
    if example is not None:
        for method, res in example.results.items():
            blocks.append(Paragraph(f"{method.capitalize()} method: {res.methods_text()}"))
        blocks.append(Heading("R code to re-check the primary analyses with metafor", 3))
        for oa in rep.outcomes.values():
            for method, res in oa.results.items():
                blocks.append(Code(res.to_metafor(), "r", f"{oa.label}, {method} method"))
    blocks += [
        Heading("Studies and sources", 2),
        Paragraph(
            "Every count with its denominator, the quoted sentence it comes from and the source. "
            "Verification says how firm the count is: verbatim (printed as such in the stored "
            "source), derived (from figures in the stored source, its percentages reproduced), "
            "secondary (a seed review or third-party page only), unverified (no stored copy)."
        ),
    ]
    studies = tables["studies"]
    if not studies.empty:
        blocks.append(Table(_studies_table(studies), ""))
    excl = rep.exclusions
    if not excl.empty:
        blocks += [
            Heading("Reports left out on purpose", 3),
            Table(
                excl[["label", "n_enrolled", "reason"]].rename(
                    columns={"label": "report", "n_enrolled": "N enrolled"}
                ),
                "",
            ),
        ]
    blocks += [
        Heading("Data files", 3),
        Table(_files_table(rep.data_files), "Paths relative to the folder holding the data"),
    ]
    return blocks


def _reconstruction_blocks(rep: Reproduction) -> list[Block]:
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
            "report per cohort (for the published CR: strict CR or CR/CRi for each report), "
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


def _changes_table(changes: pd.DataFrame) -> pd.DataFrame:
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


def _studies_table(studies: pd.DataFrame) -> pd.DataFrame:
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


def _files_table(files: Mapping[str, str]) -> pd.DataFrame:
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


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# The files of a data/extracted folder: an output folder holding one is a data folder.
_DATA_FILES = ("studies.csv", "outcomes.csv", "analysis_sets.toml")


def _check_writable_folder(out: str | Path) -> Path:
    """Refuse an empty name, a file, and a data folder, before anything is written."""
    if not str(out).strip():
        raise ValueError("the output folder name is empty: name a folder, e.g. --out results")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder: choose another output folder")
    # reproduce writes a studies.csv of its own; the two other files exist only in data.
    if folder.is_dir() and any((folder / name).is_file() for name in _DATA_FILES[1:]):
        raise ValueError(
            f"{folder} is a data folder (it holds {', '.join(_DATA_FILES)}): writing the "
            "results there would replace the data; choose another output folder"
        )
    return folder


def check_output_folder(
    out: str | Path, data: Sequence[str | Path] = (), *, markers: Sequence[str] = ("manifest.json",)
) -> Path:
    """Check that ``out`` can receive a run of ``inometa reproduce``; nothing is written.

    Parameters
    ----------
    out
        The output folder.
    data
        ``data/extracted`` folders the run reads: ``out`` may be neither one of them nor a
        folder that contains one.
    markers
        Glob patterns of what an earlier run leaves in the folder (``diff.md`` and the
        ``git_*`` reruns for ``inometa diff``); one match is enough.

    Returns
    -------
    pathlib.Path
        ``out`` as a path.

    Raises
    ------
    ValueError
        For an empty name, a file, a data folder or a folder containing one, and a folder
        that is not empty but holds none of the ``markers`` of an earlier run (not an output
        folder, whose files would be mixed with the run's).

    Examples
    --------
    >>> import tempfile
    >>> check_output_folder(tempfile.mkdtemp() + "/results").name
    'results'
    >>> check_output_folder("")
    Traceback (most recent call last):
    ...
    ValueError: the output folder name is empty: name a folder, e.g. --out results
    """
    folder = _check_writable_folder(out)
    where = folder.resolve()
    for directory in data:
        extracted = Path(directory).resolve()
        if where == extracted or where in extracted.parents:
            raise ValueError(
                f"{folder} contains the data folder {directory}: choose an output folder "
                "outside it, e.g. --out results"
            )
    earlier = folder.is_dir() and any(next(folder.glob(m), None) for m in markers)
    if folder.is_dir() and any(folder.iterdir()) and not earlier:
        raise ValueError(
            f"{folder} is not empty and is not the output of an earlier run (no "
            f"{' or '.join(markers)}): choose a new or empty folder"
        )
    return folder


def write_reproduction(
    rep: Reproduction,
    out: str | Path,
    *,
    formats: Sequence[str] = ("png",),
    figures: bool = True,
    workers: int | None = None,
    progress: Callable[[FigureJob, int, int], None] | None = None,
) -> list[Path]:
    """Write tables, figures, manifest and report for ``rep`` into ``out``.

    Parameters
    ----------
    rep
        A :class:`~inometa.lao2025.reproduce.Reproduction`.
    out
        Output directory (created).
    formats
        Figure formats among ``png``, ``svg``, ``pdf`` (the report embeds the PNGs; PNG is
        added if missing).
    figures
        Draw figures (set False for a quick, table-only run).
    workers
        Processes drawing the figures (default: every core this process may use); see
        :func:`~inometa.lao2025.figures.draw_figures`.
    progress
        Called after each figure with the job, the number drawn and the total.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    ValueError
        Before anything is written, for an unknown format, an empty folder name, a file, or
        a data folder (see :func:`check_output_folder` for the stricter check of a folder a
        user names).
    """
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(
            f"unknown format(s) {', '.join(bad)}; valid values are: " + ", ".join(FORMATS)
        )
    fmts = list(dict.fromkeys(["png", *formats])) if figures else []
    outdir = _check_writable_folder(out)
    outdir.mkdir(parents=True, exist_ok=True)
    from .figures import draw_figures, figure_jobs

    t0 = time.perf_counter()
    written_figs = (
        draw_figures(figure_jobs(rep), outdir, fmts, workers=workers, progress=progress)
        if figures
        else {}
    )
    fig_time = time.perf_counter() - t0
    tables = _tables(rep)
    paths: list[Path] = []
    for name, frame in tables.items():
        path = outdir / f"{name}.csv"
        spreadsheet_safe(frame).to_csv(path, index=False)
        paths.append(path)
    results_md = outdir / "results.md"
    results_md.write_text(to_markdown([Heading("Results", 1), Table(tables["results"], "")]))
    paths.append(results_md)
    blocks = _report(rep, written_figs, tables)
    (outdir / "report.md").write_text(to_markdown(blocks))
    (outdir / "report.html").write_text(
        to_html(blocks, f"inometa reproduction — {rep.set_name}", outdir)
    )
    paths += [outdir / "report.md", outdir / "report.html"]
    paths += [outdir / p for ps in written_figs.values() for p in ps]
    import matplotlib
    import numpy
    import pandas
    import scipy
    import statsmodels

    from .._version import __version__

    manifest = {
        "inometa": __version__,
        "python": platform.python_version(),
        "packages": {
            "numpy": numpy.__version__,
            "scipy": scipy.__version__,
            "pandas": pandas.__version__,
            "statsmodels": statsmodels.__version__,
            "matplotlib": matplotlib.__version__,
        },
        "analysis_set": rep.set_name,
        "methods": {k: dict(v) for k, v in rep.methods.items()},
        "data_files": dict(rep.data_files),
        "timings_seconds": {
            **{k: round(v, 3) for k, v in rep.timings.items()},
            "figures": round(fig_time, 3),
        },
        "outputs": {str(p.relative_to(outdir)): _sha(p) for p in sorted(paths)},
    }
    manifest_path = outdir / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return [*paths, manifest_path]
