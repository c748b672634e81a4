"""Write a :class:`~inometa.lao2025.reproduce.Reproduction` to disk: tables, figures,
manifest, report.

Output directory layout::

    results.csv, results.md      one row per outcome × method
    comparison.csv               published vs reproduced, with explanations
    sensitivity.csv              every outcome × transform × τ² estimator × CI method
    subgroups.csv, leave_one_out.csv, cumulative.csv, audit.csv, studies.csv
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..report.document import (
    Block,
    Bullets,
    Code,
    Figure,
    Heading,
    Paragraph,
    Table,
    to_html,
    to_markdown,
)
from ..report.format import plain, span

if TYPE_CHECKING:
    import pandas as pd

    from ..core.results import MetaPropResult
    from .figures import FigureJob
    from .reproduce import OutcomeAnalysis, Reproduction

__all__ = ["FORMATS", "write_reproduction"]

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

    blocks: list[Block] = [Heading(f"{oa.label} ({oa.outcome})", 3)]
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
                "τ²": f"{res.tau2:.4g}",
                "I² %": _pct(res.i2),
                "Q (df), p": f"{res.heterogeneity.q:.2f} ({res.heterogeneity.q_df}), "
                f"{res.heterogeneity.q_pvalue:.3g}",
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
            frame = sg.to_frame()[
                ["subgroup", "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2"]
            ]
            for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2"):
                frame[col] = frame[col].map(lambda v: _pct(v))
            tests = "; ".join(
                f"{t.name}: {t.statistic:.2f} on {t.df}{'' if t.df2 is None else f', {t.df2:g}'}"
                f" df, p = {t.pvalue:.3g}"
                for t in sg.tests
            )
            blocks.append(Table(frame, f"Subgroups by {variable} ({method} method) — {tests}"))
    for method in oa.leave_one_out:
        blocks += _fig(
            written, f"loo_{oa.outcome}_{method}", f"{oa.label}: leave-one-out, {method} method"
        )
    if "published" in oa.leave_one_out:
        loo = oa.leave_one_out["published"][
            ["omitted", "estimate", "ci_low", "ci_high", "tau2", "i2"]
        ].copy()
        for col in ("estimate", "ci_low", "ci_high", "i2"):
            loo[col] = loo[col].map(lambda v: _pct(v))
        blocks.append(Table(loo, "Leave-one-out (published method)"))
    blocks += _cumulative_blocks(oa, written)
    sens = oa.sensitivity
    blocks.append(
        Paragraph(
            f"Sensitivity: across {len(sens)} methods the pooled estimate ranges "
            f"{_pct(sens['estimate'].min())}–{_pct(sens['estimate'].max())}% (sensitivity.csv)."
        )
    )
    if oa.bias:
        eg, bg, tf = oa.bias["egger"], oa.bias["begg"], oa.bias["trim_and_fill"]
        blocks.append(
            Paragraph(
                f"Small-study effects: Egger z = {eg.statistic:.2f}, p = {eg.pvalue:.3g}; Begg τ = "
                f"{bg.statistic:.2f}, p = {bg.pvalue:.3g}; trim-and-fill imputes {tf.k0} on the "
                f"{tf.side}, giving {_pct(tf.result.estimate)}%."
            )
        )
    other = [n for n in oa.notes]
    if other:
        blocks.append(Bullets(tuple(other)))
    return blocks


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
    import pandas as pd

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
        Heading("Published versus reproduced", 2),
        Table(_summary_table(rep), "Percentages; Δ pp = reproduced (published method) − published"),
    ]
    if rep.changes is not None and not rep.changes.empty:
        changes = rep.changes.copy()
        for col in [c for c in changes.columns if c.endswith(("_before", "_after"))]:
            changes[col] = changes[col].map(lambda v: f"{v:.1f}")
        for col in [c for c in changes.columns if c.endswith("_change_pp")]:
            changes[col] = changes[col].map(lambda v: f"{v:+.1f}")
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
        Table(audit.rename(columns={"label": "outcome"}), ""),
        Heading("Outcomes", 2),
    ]
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
            "Every count with its denominator, the quoted sentence it comes from and the source."
        ),
    ]
    studies = tables["studies"]
    if not studies.empty:
        blocks.append(
            Table(
                studies[
                    [
                        "outcome",
                        "label",
                        "events",
                        "total",
                        "denominator",
                        "derived",
                        "quote",
                        "location",
                        "source",
                    ]
                ],
                "",
            )
        )
    excl = rep.exclusions
    if not excl.empty:
        blocks += [
            Heading("Reports left out on purpose", 3),
            Table(excl[["label", "n_enrolled", "reason"]], ""),
        ]
    files = pd.DataFrame({"file": list(rep.data_files), "sha256": list(rep.data_files.values())})
    blocks += [Heading("Data files", 3), Table(files, "")]
    return blocks


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    """
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(
            f"unknown format(s) {', '.join(bad)}; valid values are: " + ", ".join(FORMATS)
        )
    fmts = list(dict.fromkeys(["png", *formats])) if figures else []
    outdir = Path(out)
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
        frame.to_csv(path, index=False)
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
