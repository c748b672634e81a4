"""The figures of a reproduction: which to draw (a list of jobs, computed as data), and
drawing them — each figure once, in every format asked for, on every core.

A job names its plot function and arguments; :func:`draw_figures` draws each job's figure
once, saves it in each format (PNG at 300 dpi) and makes the report's screen copy by
downsampling that PNG, so nothing is drawn twice. With more than one worker the jobs are
shared out to forked processes (where the platform forks; elsewhere they run in turn); the
files are the same byte for byte either way.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..plots.refits import one_precision
from .config import SHORT_LABELS

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd

    from .reproduce import Reproduction

__all__ = ["WEB_DPI", "FigureJob", "draw_figures", "figure_jobs"]

#: Resolution of the report's screen copies: half the 300-dpi files, so that 7-point text
#: is about 15 pixels high when the page shows the image at its natural width.
WEB_DPI = 150
_PRINT_DPI = 300
#: Small-study effects (and so funnel plots) are assessed from this many studies on; the
#: reproduction's notes say the same.
MIN_K_FUNNEL = 10


@dataclass(frozen=True)
class FigureJob:
    """One figure to draw: ``plot`` names a function of :mod:`inometa.plots` called with
    ``args`` and ``kwargs``; ``key`` is the file name without extension; ``outcome`` the
    outcome it belongs to (None for the all-outcome summaries)."""

    key: str
    outcome: str | None
    plot: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def _new_reports_note(table: pd.DataFrame) -> tuple[str, ...]:
    new = table[table["new"]]
    if new.empty:
        return ()
    steps = (
        f"row {new['step'].iloc[0]}"
        if len(new) == 1
        else f"rows {new['step'].min()}–{new['step'].max()}"
    )
    return (f"Published after the search date ({steps}): {', '.join(new['added'])}.",)


def figure_jobs(rep: Reproduction) -> list[FigureJob]:
    """Every figure of the reproduction ``rep``, in report order.

    Parameters
    ----------
    rep
        A :class:`~inometa.lao2025.reproduce.Reproduction`.

    Returns
    -------
    list of FigureJob
        Summary forests first, then per outcome: forests, subgroup forests, leave-one-out,
        cumulative forests and (from k = 10 studies, as the small-study tests) the funnel.

    Examples
    --------
    >>> from inometa.lao2025.reproduce import reproduce
    >>> jobs = figure_jobs(reproduce("lao2025"))  # doctest: +SKIP
    >>> jobs[0].key  # doctest: +SKIP
    'summary_published'
    """
    jobs: list[FigureJob] = []
    for method in ("published", "recommended"):
        results = {
            SHORT_LABELS.get(code, oa.label): oa.results[method]
            for code, oa in rep.outcomes.items()
            if oa.results
        }
        if results:
            jobs.append(
                FigureJob(
                    f"summary_{method}",
                    None,
                    "plot_summary_forest",
                    (results,),
                    {"title": f"All outcomes — {method} method"},
                )
            )
    for code, oa in rep.outcomes.items():
        name = SHORT_LABELS.get(code, oa.label)
        for method, res in oa.results.items():
            jobs.append(
                FigureJob(
                    f"forest_{code}_{method}",
                    code,
                    "plot_forest",
                    (res,),
                    {"title": f"{name} — {method} method"},
                )
            )
        for variable, by_method in oa.subgroups.items():
            for method, sg in by_method.items():
                jobs.append(
                    FigureJob(
                        f"subgroups_{code}_{variable}_{method}",
                        code,
                        "plot_forest",
                        (sg,),
                        {
                            "subgroup_title": variable.capitalize(),
                            "notes": (
                                (f"{variable.capitalize()} {oa.subgroup_notes[variable]}",)
                                if variable in oa.subgroup_notes
                                else ()
                            ),
                            "subgroup_tests": "all",
                            "title": f"{name} by {variable} — {method} method",
                        },
                    )
                )
        for method, table in oa.leave_one_out.items():
            jobs.append(
                FigureJob(
                    f"loo_{code}_{method}",
                    code,
                    "plot_leave_one_out",
                    (oa.results[method],),
                    {"table": table, "title": f"{name}, leave-one-out — {method} method"},
                )
            )
        for method, table in oa.cumulative.items():
            if oa.k < 2:
                continue
            jobs.append(
                FigureJob(
                    f"cumulative_{code}_{method}",
                    code,
                    "plot_cumulative",
                    (oa.results[method],),
                    {
                        # dates as precisely as each report gives them: the plot shows
                        # them at the coarsest precision among them
                        "table": table,
                        "order_title": (
                            "Year"
                            if all(len(d) == 4 for d in one_precision(list(table["order"])))
                            else "Date"
                        ),
                        "notes": _new_reports_note(table),
                        "title": f"{name}, cumulative by publication date — {method} method",
                    },
                )
            )
        if "published" in oa.results and oa.k >= MIN_K_FUNNEL:
            jobs.append(
                FigureJob(
                    f"funnel_{code}",
                    code,
                    "plot_funnel",
                    (oa.results["published"],),
                    {
                        "contours": True,
                        "labels": "all",
                        "width": "one-and-a-half",
                        "trimfill": oa.bias.get("trim_and_fill"),
                        "egger": oa.bias.get("egger"),
                        "title": f"{name} — funnel (published method)",
                    },
                )
            )
    return jobs


def _web_copy(rgba: npt.NDArray[np.uint8]) -> bytes:
    """The report's copy of a 300-dpi rendering: half the resolution (each pixel the mean of
    a 2 × 2 block), 64 colours (the figures are grey with one accent colour; the loss is
    invisible)."""
    from PIL import Image

    small = Image.fromarray(rgba[..., :3]).reduce(_PRINT_DPI // WEB_DPI)
    out = io.BytesIO()
    small.quantize(colors=64, method=Image.Quantize.FASTOCTREE).save(out, format="PNG")
    return out.getvalue()


def _render(job: FigureJob, out: Path, formats: Sequence[str]) -> list[str]:
    """Draw ``job`` once; write each format and the screen copy; return relative paths."""
    from .. import plots

    fig = getattr(plots, job.plot)(*job.args, **job.kwargs)
    figdir = out / "figures"
    paths = []
    rgba = None
    for fmt in formats:
        path = figdir / f"{job.key}.{fmt}"
        if fmt == "png":
            buffer = io.BytesIO()
            # zlib level 1: a third of the encoding time, and no larger for flat figures
            plots.savefig(
                fig, buffer, format="png", dpi=_PRINT_DPI, pil_kwargs={"compress_level": 1}
            )
            path.write_bytes(buffer.getvalue())
            # the canvas still holds the 300-dpi rendering just encoded: no second drawing
            rgba = np.asarray(fig.canvas.buffer_rgba())
        else:
            plots.savefig(fig, path, format=fmt)
        paths.append(path.relative_to(out).as_posix())
    if rgba is not None:
        web = figdir / "web" / f"{job.key}.png"
        web.write_bytes(_web_copy(rgba))
        paths.append(web.relative_to(out).as_posix())
    return paths


# The jobs of the running draw_figures call, read by forked workers (inherited memory, so
# the results need not pickle).
_ACTIVE: list[tuple[FigureJob, Path, tuple[str, ...]]] = []


def _run(index: int) -> list[str]:
    job, out, formats = _ACTIVE[index]
    return _render(job, out, formats)


def _workers(requested: int | None, njobs: int) -> int:
    import multiprocessing

    if requested is None:
        requested = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if requested < 1:
        raise ValueError(f"workers must be at least 1, got {requested}")
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(requested, njobs))


def draw_figures(
    jobs: Sequence[FigureJob],
    out: str | Path,
    formats: Sequence[str] = ("png",),
    *,
    workers: int | None = None,
    progress: Callable[[FigureJob, int, int], None] | None = None,
) -> dict[str, list[str]]:
    """Draw every job once and write it in each format, plus a screen copy of the PNG.

    Parameters
    ----------
    jobs
        From :func:`figure_jobs`.
    out
        Output directory; figures go to ``out/figures`` and the screen copies to
        ``out/figures/web``.
    formats
        ``png``, ``svg``, ``pdf`` (PNG at 300 dpi).
    workers
        Processes to draw with (default: the cores this process may use; 1 draws in this
        process). Platforms that cannot fork draw in this process.
    progress
        Called after each figure with the job, the number done and the total.

    Returns
    -------
    dict
        Figure key → written paths relative to ``out`` (POSIX separators), in job order.

    Examples
    --------
    >>> import tempfile, inometa
    >>> res = inometa.metaprop([5, 20, 30], [50, 60, 70])
    >>> job = FigureJob("forest", None, "plot_forest", (res,))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     draw_figures([job], d, workers=1)
    {'forest': ['figures/forest.png', 'figures/web/forest.png']}
    """
    import multiprocessing

    outdir = Path(out)
    (outdir / "figures" / "web").mkdir(parents=True, exist_ok=True)
    fmts = tuple(formats)
    n = len(jobs)
    written: dict[str, list[str]] = {}
    nworkers = _workers(workers, n)
    if nworkers == 1:
        for i, job in enumerate(jobs, 1):
            written[job.key] = _render(job, outdir, fmts)
            if progress is not None:
                progress(job, i, n)
        return written
    _ACTIVE[:] = [(job, outdir, fmts) for job in jobs]
    try:
        with multiprocessing.get_context("fork").Pool(nworkers) as pool:
            for i, (job, paths) in enumerate(
                zip(jobs, pool.imap(_run, range(n), chunksize=1), strict=True), 1
            ):
                written[job.key] = paths
                if progress is not None:
                    progress(job, i, n)
    finally:
        _ACTIVE.clear()
    return written
