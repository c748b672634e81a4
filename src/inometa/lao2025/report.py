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

import json
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..report.document import (
    Block,
    Code,
    Contents,
    Heading,
    Paragraph,
    Table,
    to_html,
    to_markdown,
)
from ..report.safe import spreadsheet_safe
from .report_sections import (
    changes_table,
    denominator_table,
    figure_block,
    files_table,
    outcome_blocks,
    reconstruction_blocks,
    sha256_of,
    studies_table,
    summary_table,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..core.results import MetaPropResult
    from .figures import FigureJob
    from .reproduce import Reproduction

__all__ = ["FORMATS", "check_output_folder", "result_row", "write_reproduction"]

FORMATS = ("png", "svg", "pdf")


def result_row(outcome: str, method: str, res: MetaPropResult) -> dict[str, Any]:
    """One row of results.csv: the pooled estimate, its intervals, heterogeneity, options."""
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
            results.append(result_row(code, method, res))
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
        **denominator_table(rep),
        **({"changes": rep.changes} if rep.changes is not None else {}),
    }


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
        Table(summary_table(rep), "Percentages; Δ pp = reproduced (published method) − published"),
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
        changes = changes_table(rep.changes)
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
    blocks += figure_block(written, "summary_published", "All outcomes, published method")
    blocks += figure_block(written, "summary_recommended", "All outcomes, recommended method")
    audit = rep.audit[rep.audit["status"] != "ok"][["label", "check", "status", "message"]]
    blocks += [
        Heading("Audit of the published numbers", 2),
        Paragraph(
            "Each published summary was checked for internal consistency (within the "
            "rounding of the printed digits); findings other than 'ok' are listed."
        ),
        Table(audit.rename(columns={"label": "published outcome"}), ""),
    ]
    blocks += reconstruction_blocks(rep)
    blocks.append(Heading("Outcomes", 2))
    expl = {r["outcome"]: r["explanations"] for r in rep.comparison.to_dict("records")}
    for code, oa in rep.outcomes.items():
        blocks += outcome_blocks(oa, written, expl.get(code, []))
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
        blocks.append(Table(studies_table(studies), ""))
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
        Table(files_table(rep.data_files), "Paths relative to the folder holding the data"),
    ]
    return blocks


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
        "outputs": {str(p.relative_to(outdir)): sha256_of(p) for p in sorted(paths)},
    }
    manifest_path = outdir / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return [*paths, manifest_path]
