"""Time inometa against statsmodels, PyMARE and metafor on the same generated data.

Usage::

    python benchmarks/run.py [--quick] [--json OUT.json]

Five workloads (the targets of issue 8), each on seeded data — counts of studies with
n uniform on 20…300 and true proportions uniform on 0.05…0.6 — and each tool doing its
closest equivalent of the same analysis:

1. one REML analysis of 16 logit proportions, with the Q-profile interval for τ²;
2. one binomial–normal GLMM of 16 studies;
3. 10,000 such REML analyses;
4. one REML analysis of 10⁶ studies (and of 1,000, which metafor can still do);
5. GOSH: 5,000 random subsets of 14 studies, each refitted by REML.

Reported are medians of repeated timings. Where a tool is timed on fewer repetitions than
the workload asks for (a loop of 200 analyses instead of 10,000, 500 GOSH subsets instead
of 5,000), the time is scaled up and marked "~" with a note. metafor is timed inside R
(``metafor_bench.R``: R's start-up excluded). A tool that is not installed gets "not
installed" in its column; a workload a tool has no equivalent for gets "n/a".

The table goes to standard output, and with ``--json`` to a file as well, together with
the machine and the versions.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import inometa

HERE = Path(__file__).resolve().parent
SEED = 20251202
TOOLS = ("inometa", "statsmodels", "PyMARE", "metafor")


@dataclass
class Cell:
    """One tool's time for one workload (seconds per workload), or why there is none."""

    seconds: float | None = None
    status: str = "ok"  # ok, n/a, not installed, failed
    note: str = ""
    extrapolated: bool = False


@dataclass
class Workload:
    key: str
    title: str
    cells: dict[str, Cell] = field(default_factory=dict)


# -- data -------------------------------------------------------------------------------
def counts(k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Event counts and totals of k studies."""
    n = rng.integers(20, 301, size=k)
    x = rng.binomial(n, rng.uniform(0.05, 0.6, size=k))
    return x, n


@dataclass
class Data:
    x16: np.ndarray
    n16: np.ndarray
    x14: np.ndarray
    n14: np.ndarray
    loop_x: np.ndarray  # 10,000 × 16
    loop_n: np.ndarray
    x1000: np.ndarray
    n1000: np.ndarray
    x_big: np.ndarray
    n_big: np.ndarray


def make_data(k_big: int) -> Data:
    rng = np.random.default_rng(SEED)
    x16, n16 = counts(16, rng)
    x14, n14 = counts(14, rng)
    loop_x, loop_n = (a.reshape(10_000, 16) for a in counts(160_000, rng))
    x1000, n1000 = counts(1000, rng)
    x_big, n_big = counts(k_big, rng)
    return Data(x16, n16, x14, n14, loop_x, loop_n, x1000, n1000, x_big, n_big)


def logits(x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """metafor's escalc("PLO") values (continuity correction 0.5 where x is 0 or n)."""
    res = inometa.metaprop(x, n, tau2_method="DL")
    return np.asarray(res.data.yi), np.asarray(res.data.vi)


# -- timing -----------------------------------------------------------------------------
def median_seconds(f: Callable[[], Any], repeats: int, number: int = 1) -> float:
    """Median over ``repeats`` batches of the time per call (``number`` calls a batch)."""
    f()  # warm-up: imports, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            f()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def guarded(run: Callable[[Data, bool, dict[str, Workload]], None], tool: str) -> Any:
    """Run one tool's workloads; an exception marks its unfinished workloads "failed"."""

    def wrapped(data: Data, quick: bool, rows: dict[str, Workload]) -> None:
        try:
            run(data, quick, rows)
        except Exception as exc:  # a benchmark reports, it does not crash
            for w in rows.values():
                w.cells.setdefault(tool, Cell(status="failed", note=f"{type(exc).__name__}"))

    return wrapped


def optional(module: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except ImportError:
        return None


def metafor_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(
        ["Rscript", "-e", "library(metafor)"], capture_output=True, text=True, check=False
    )
    return probe.returncode == 0


# -- the tools ---------------------------------------------------------------------------
def run_inometa(d: Data, quick: bool, rows: dict[str, Workload]) -> None:
    reps = 50 if quick else 300
    rows["reml"].cells["inometa"] = Cell(
        median_seconds(lambda: inometa.metaprop(d.x16, d.n16), reps),
        note="metaprop: validation, escalc, REML, Q-profile τ² CI, every result field",
    )
    rows["glmm"].cells["inometa"] = Cell(
        median_seconds(lambda: inometa.metaprop(d.x16, d.n16, method="glmm"), 5 if quick else 20),
        note="includes the profile-likelihood τ² CI",
    )
    if hasattr(inometa, "metaprop_batch"):
        batch = inometa.metaprop_batch
        rows["many"].cells["inometa"] = Cell(
            median_seconds(lambda: batch(d.loop_x, d.loop_n), 1 if quick else 3),
            note="metaprop_batch",
        )
    else:
        rows["many"].cells["inometa"] = Cell(status="n/a", note="metaprop_batch not available")
    count = 500 if quick else 2000
    per = median_seconds(
        lambda: [inometa.metaprop(d.loop_x[i], d.loop_n[i]) for i in range(count)], 1
    )
    rows["many_loop"].cells["inometa"] = Cell(
        per * 10_000 / count,
        note=f"a Python loop of metaprop, {count} analyses timed",
        extrapolated=True,
    )
    rows["k1000"].cells["inometa"] = Cell(
        median_seconds(lambda: inometa.metaprop(d.x1000, d.n1000), 5 if quick else 20)
    )
    try:
        rows["big"].cells["inometa"] = Cell(
            median_seconds(lambda: inometa.metaprop(d.x_big, d.n_big), 1 if quick else 3)
        )
    except MemoryError:
        rows["big"].cells["inometa"] = Cell(status="failed", note="MemoryError")
    res14 = inometa.metaprop(d.x14, d.n14)
    rows["gosh"].cells["inometa"] = Cell(
        median_seconds(lambda: inometa.gosh(res14, 5000, seed=1), 1 if quick else 5)
    )


def run_statsmodels(d: Data, quick: bool, rows: dict[str, Workload]) -> None:
    module = optional("statsmodels.stats.meta_analysis")
    if module is None:
        for w in rows.values():
            w.cells["statsmodels"] = Cell(status="not installed")
        return
    combine = module.combine_effects
    what = "combine_effects: Paule–Mandel τ² (no REML), no τ² CI; yᵢ, vᵢ given"

    def fit(y: np.ndarray, v: np.ndarray) -> Any:
        res = combine(y, v, method_re="iterated")
        return res.conf_int(use_t=False)

    y16, v16 = logits(d.x16, d.n16)
    rows["reml"].cells["statsmodels"] = Cell(
        median_seconds(lambda: fit(y16, v16), 20 if quick else 100), note=what
    )
    rows["glmm"].cells["statsmodels"] = Cell(status="n/a", note="no binomial–normal model")
    rows["many"].cells["statsmodels"] = Cell(status="n/a", note="no batch interface")
    pairs = [logits(d.loop_x[i], d.loop_n[i]) for i in range(200)]
    per = median_seconds(lambda: [fit(y, v) for y, v in pairs], 1) / len(pairs)
    rows["many_loop"].cells["statsmodels"] = Cell(
        per * 10_000, note=f"a loop, {len(pairs)} analyses timed", extrapolated=True
    )
    y1k, v1k = logits(d.x1000, d.n1000)
    rows["k1000"].cells["statsmodels"] = Cell(median_seconds(lambda: fit(y1k, v1k), 5), note=what)
    yb, vb = logits(d.x_big, d.n_big)
    rows["big"].cells["statsmodels"] = Cell(median_seconds(lambda: fit(yb, vb), 1), note=what)
    rows["gosh"].cells["statsmodels"] = Cell(status="n/a", note="no GOSH")


def run_pymare(d: Data, quick: bool, rows: dict[str, Workload]) -> None:
    pymare = optional("pymare")
    if pymare is None:
        for w in rows.values():
            w.cells["PyMARE"] = Cell(status="not installed")
        return
    what = "meta_regression(REML, Q-profile) + fixed-effect, τ² and Q statistics; yᵢ, vᵢ given"

    def fit(y: np.ndarray, v: np.ndarray) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = pymare.meta_regression(y, v, method="REML", ci_method="QP")
            return res.get_fe_stats(), res.get_re_stats(), res.get_heterogeneity_stats()

    y16, v16 = logits(d.x16, d.n16)
    rows["reml"].cells["PyMARE"] = Cell(
        median_seconds(lambda: fit(y16, v16), 10 if quick else 50), note=what
    )
    rows["glmm"].cells["PyMARE"] = Cell(status="n/a", note="no binomial–normal model")
    rows["many"].cells["PyMARE"] = Cell(status="n/a", note="no batch interface")
    count = 50 if quick else 200
    pairs = [logits(d.loop_x[i], d.loop_n[i]) for i in range(count)]
    per = median_seconds(lambda: [fit(y, v) for y, v in pairs], 1) / count
    rows["many_loop"].cells["PyMARE"] = Cell(
        per * 10_000, note=f"a loop, {count} analyses timed", extrapolated=True
    )
    y1k, v1k = logits(d.x1000, d.n1000)
    rows["k1000"].cells["PyMARE"] = Cell(median_seconds(lambda: fit(y1k, v1k), 3), note=what)
    yb, vb = logits(d.x_big, d.n_big)
    rows["big"].cells["PyMARE"] = Cell(median_seconds(lambda: fit(yb, vb), 1), note=what)
    rows["gosh"].cells["PyMARE"] = Cell(status="n/a", note="no GOSH")


def run_metafor(d: Data, quick: bool, rows: dict[str, Workload]) -> None:
    if not metafor_available():
        for w in rows.values():
            w.cells["metafor"] = Cell(status="not installed")
        return
    loop_count = 20 if quick else 200
    subsets = 100 if quick else 500
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        def write(name: str, x: np.ndarray, n: np.ndarray, dataset: np.ndarray | None = None):
            lines = ["dataset,x,n" if dataset is not None else "x,n"]
            for i in range(x.size):
                lines.append(
                    f"{dataset[i]},{x[i]},{n[i]}" if dataset is not None else f"{x[i]},{n[i]}"
                )
            (folder / name).write_text("\n".join(lines) + "\n")

        write("k16.csv", d.x16, d.n16)
        write("k14.csv", d.x14, d.n14)
        write("k1000.csv", d.x1000, d.n1000)
        ids = np.repeat(np.arange(loop_count), 16)
        write("loop.csv", d.loop_x[:loop_count].ravel(), d.loop_n[:loop_count].ravel(), ids)
        (folder / "gosh_subsets.txt").write_text(f"{subsets}\n")
        out = subprocess.run(
            ["Rscript", str(HERE / "metafor_bench.R"), str(folder), "1" if quick else "0"],
            capture_output=True,
            text=True,
            check=False,
        )
    if out.returncode != 0:
        for w in rows.values():
            w.cells["metafor"] = Cell(status="failed", note=out.stderr.strip()[-300:])
        return
    timed: dict[str, tuple[float, int, str]] = {}
    for line in out.stdout.splitlines():
        name, seconds, reps, note = [*line.split("\t"), ""][:4]
        timed[name] = (float(seconds), int(reps), note.strip())
    rows["reml"].cells["metafor"] = Cell(timed["reml_k16"][0], note="rma(REML) + confint()")
    rows["glmm"].cells["metafor"] = Cell(
        timed["glmm_k16"][0], note="rma.glmm(PLO, nAGQ = 7): no τ² interval"
    )
    rows["many"].cells["metafor"] = Cell(status="n/a", note="no batch interface")
    per = timed["loop_k16"][0]
    rows["many_loop"].cells["metafor"] = Cell(
        per * 10_000,
        note=f"an R loop of rma() + confint(), {loop_count} analyses timed",
        extrapolated=True,
    )
    rows["k1000"].cells["metafor"] = Cell(timed["reml_k1000"][0], note="rma() only, no confint()")
    rows["big"].cells["metafor"] = Cell(
        status="n/a", note="not feasible: k × k matrices (7.3 TB at k = 10⁶)"
    )
    seconds, fitted, _ = timed["gosh_k14"]
    rows["gosh"].cells["metafor"] = Cell(
        seconds * 5000 / fitted, note=f"gosh(), {fitted} subsets timed", extrapolated=True
    )


# -- report -----------------------------------------------------------------------------
def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def fmt_cell(cell: Cell | None, base: Cell | None) -> str:
    if cell is None:
        return "—"
    if cell.status != "ok" or cell.seconds is None:
        return cell.status
    text = ("~" if cell.extrapolated else "") + fmt_time(cell.seconds)
    if base is not None and base.seconds and cell is not base:
        ratio = cell.seconds / base.seconds
        text += f" ({ratio:.3g}×)" if ratio < 1000 else f" ({ratio:.2e}×)".replace("e+0", "e")
    return text


def table(rows: dict[str, Workload]) -> str:
    header = ["workload", *TOOLS]
    body = []
    for w in rows.values():
        base = w.cells.get("inometa")
        base = base if base is not None and base.status == "ok" else None
        body.append([w.title, *(fmt_cell(w.cells.get(t), base) for t in TOOLS)])
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = [
        " | ".join(h.ljust(widths[i]) for i, h in enumerate(header)),
        "-|-".join("-" * wd for wd in widths),
    ]
    lines += [" | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) for r in body]
    # each tool's notes once, with the workloads (by number) they apply to
    notes: dict[tuple[str, str], list[str]] = {}
    for w in rows.values():
        for tool in TOOLS:
            cell = w.cells.get(tool)
            if cell is not None and cell.note:
                numbers = notes.setdefault((tool, cell.note), [])
                if w.title[0] not in numbers:
                    numbers.append(w.title[0])
    return "\n".join(
        [
            *lines,
            "",
            "Medians; (n×) = time relative to inometa; ~ = scaled up from fewer repetitions.",
            *(f"- {tool} ({', '.join(nums)}): {note}" for (tool, note), nums in notes.items()),
        ]
    )


def speed_check() -> float:
    """Microseconds per round of a fixed loop of small numpy operations (three calls on
    16-vectors, the size of workload 1), median of 21 batches.

    The development machine is a shared virtual machine whose speed swings by about a
    factor of two within minutes; this number, taken before and after the tools run, says
    which phase a table was measured in (it is not a benchmark of anything).
    """
    a, b, out = np.linspace(0.1, 1.0, 16), np.linspace(1.0, 2.0, 16), np.empty(16)

    def rounds() -> None:
        for _ in range(2000):
            a.dot(b)
            np.multiply(a, b, out=out)
            np.add(a, 0.5, out=out)

    return median_seconds(rounds, 21) / 2000 * 1e6


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version(), "inometa": inometa.__version__}
    for name in ("numpy", "scipy", "pandas", "statsmodels", "pymare"):
        module = optional(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "?")
    if metafor_available():
        r = subprocess.run(
            [
                "Rscript",
                "-e",
                'cat(R.version$major, ".", R.version$minor, " ", '
                'as.character(packageVersion("metafor")), sep = "")',
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if r.returncode == 0:
            r_version, metafor_version = r.stdout.split()
            versions.update({"R": r_version, "metafor": metafor_version})
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        # other work on a shared machine slows every column alike: say how busy it was
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": versions,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, k = 10⁵")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--tools", default=",".join(TOOLS), help="comma-separated subset of: " + ", ".join(TOOLS)
    )
    args = parser.parse_args(argv)
    wanted = {t.strip().lower() for t in args.tools.split(",")}
    k_big = 100_000 if args.quick else 1_000_000
    big = "10⁵" if args.quick else "10⁶"
    rows = {
        w.key: w
        for w in (
            Workload("reml", "1 REML/logit, k = 16, with Q-profile τ² CI"),
            Workload("glmm", "2 GLMM (binomial–normal), k = 16"),
            Workload("many", "3 10,000 REML analyses, k = 16: batch"),
            Workload("many_loop", "3 10,000 REML analyses, k = 16: loop"),
            Workload("k1000", "4 REML/logit, k = 1,000"),
            Workload("big", f"4 REML/logit, k = {big}"),
            Workload("gosh", "5 GOSH, 5,000 subsets, k = 14"),
        )
    }
    data = make_data(k_big)
    check_before = speed_check()
    runners = {
        "inometa": run_inometa,
        "statsmodels": run_statsmodels,
        "PyMARE": run_pymare,
        "metafor": run_metafor,
    }
    for tool, run in runners.items():
        if tool.lower() in wanted:
            guarded(run, tool)(data, args.quick, rows)
            print(f"done: {tool}", file=sys.stderr)
    check_after = speed_check()
    print(table(rows))
    print(
        f"\nSpeed check (a fixed numpy loop, µs per round; lower is a faster phase of the "
        f"machine): {check_before:.2f} before, {check_after:.2f} after."
    )
    if args.json is not None:
        payload = {
            "machine": machine(),
            "speed_check_us": {"before": check_before, "after": check_after},
            "quick": args.quick,
            "seed": SEED,
            "workloads": [
                {
                    "key": w.key,
                    "title": w.title,
                    "cells": {tool: asdict(cell) for tool, cell in w.cells.items()},
                }
                for w in rows.values()
            ],
        }
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
