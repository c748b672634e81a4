"""Time ``inometa reproduce``: the statistics, the figures with 1 and with N workers, and
the whole command, with the wall-clock and the CPU time of each step.

Usage::

    python benchmarks/reproduce.py [--set lao2025] [--workers 1,2] [--formats png]

Wall-clock time on a shared machine depends on what else runs; the CPU time (this process
and its workers) does not, so both are printed. The machine's load average is printed too.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Callable
from typing import Any


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(step: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), _cpu()
    value = step()
    return value, time.perf_counter() - wall, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="lao2025")
    parser.add_argument("--workers", default="1,2", help="worker counts to time, e.g. 1,2")
    parser.add_argument("--formats", default="png")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    from inometa.lao2025.figures import draw_figures, figure_jobs
    from inometa.lao2025.report import write_reproduction
    from inometa.lao2025.reproduce import reproduce

    formats = args.formats.split(",")
    print(f"cores available: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()}")
    rep, wall, cpu = _timed(lambda: reproduce(args.set))
    print(f"statistics            wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    jobs = figure_jobs(rep)
    for n in (int(w) for w in args.workers.split(",")):
        with tempfile.TemporaryDirectory() as out:
            _, wall, cpu = _timed(lambda n=n, out=out: draw_figures(jobs, out, formats, workers=n))
        label = f"{len(jobs)} figures, {n} worker{'s' if n > 1 else ''}"
        print(f"{label:22}wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    with tempfile.TemporaryDirectory() as out:

        def whole() -> None:
            write_reproduction(reproduce(args.set), out, formats=formats)

        _, wall, cpu = _timed(whole)
    print(f"whole reproduction    wall {wall:6.2f} s   cpu {cpu:6.2f} s")


if __name__ == "__main__":
    main()
