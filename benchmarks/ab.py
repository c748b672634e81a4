"""Paired timing of two versions of inometa in one process: this checkout against another.

Usage::

    python benchmarks/ab.py OTHER_SRC [--workload NAME] [--rounds 40]

``OTHER_SRC`` is the ``src`` directory of another checkout (e.g. a ``git worktree`` of an
older commit). Its package is copied to a temporary directory as ``inometa_other`` (the
package imports itself relatively, so the copy is self-contained), both are imported, and
the workload of ``run.py`` (1: one REML analysis of 16 studies, 2: one GLMM) is timed in
alternating batches. Printed is the median of the per-round ratios this/other.

Workloads (k = 16 studies, seed 20251202): ``reml`` and ``glmm`` (``metaprop``, as
``run.py``), and on the REML analysis of the same studies ``loo`` (``leave_one_out``),
``cumulative``, ``influence``, ``gosh`` (``gosh(res, 5000)`` on the first 14 studies) and
``permutation`` (``metareg`` with a year moderator and 200 random permutations); ``batch``
is ``metaprop_batch`` on 10,000 such analyses.

Why: the development machine is a shared virtual machine whose speed swings by about 2×
within minutes, and two processes started together can land on cores of different
speeds; timings taken at different moments cannot be compared, but a ratio of two batches
run back to back in one process can.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SEED = 20251202
WORKLOADS = ("reml", "glmm", "loo", "cumulative", "influence", "gosh", "permutation", "batch")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other_src", type=Path, help="src directory of the other checkout")
    parser.add_argument("--workload", choices=WORKLOADS, default="reml")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args(argv)
    package = args.other_src / "inometa"
    if not (package / "__init__.py").is_file():
        parser.error(f"no inometa package in {args.other_src}")
    import inometa

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(package, Path(tmp) / "inometa_other")
        sys.path.insert(0, tmp)
        other = importlib.import_module("inometa_other")
        rng = np.random.default_rng(SEED)
        n = rng.integers(20, 301, 16)
        x = rng.binomial(n, rng.uniform(0.05, 0.6, 16))
        years = np.arange(16) % 7 + 2010.0
        big_n = rng.integers(20, 301, (10_000, 16))
        big_x = rng.binomial(big_n, rng.uniform(0.05, 0.6, (10_000, 16)))

        def workload(module: object) -> object:
            m: Any = module
            if args.workload in ("reml", "glmm"):
                kwargs = {"method": "glmm"} if args.workload == "glmm" else {}
                return lambda: m.metaprop(x, n, **kwargs)
            if args.workload == "batch":
                return lambda: m.metaprop_batch(big_x, big_n, as_frame=False)
            if args.workload == "permutation":
                return lambda: m.metareg(x, n, {"year": years}, permutations=200, seed=1)
            res = m.metaprop(x[:14], n[:14]) if args.workload == "gosh" else m.metaprop(x, n)
            if args.workload == "gosh":
                return lambda: m.gosh(res, 5000, seed=1)
            fn = {"loo": m.leave_one_out, "cumulative": m.cumulative, "influence": m.influence}
            return lambda: fn[args.workload](res)

        rounds = {"reml": 200, "glmm": 3, "gosh": 2, "permutation": 1, "batch": 1}
        per_round = rounds.get(args.workload, 20)
        jobs = {id(inometa): workload(inometa), id(other): workload(other)}

        def batch(module: object) -> float:
            job: Any = jobs[id(module)]
            start = time.perf_counter()
            for _ in range(per_round):
                job()
            return (time.perf_counter() - start) / per_round

        batch(inometa), batch(other)  # warm up both
        this_t, other_t = [], []
        for _ in range(args.rounds):
            other_t.append(batch(other))
            this_t.append(batch(inometa))
        ratio = np.array(this_t) / np.array(other_t)
        q1, med, q3 = np.percentile(ratio, [25, 50, 75])
        print(
            f"{args.workload}: this/other = {med:.3f} (quartiles {q1:.3f}–{q3:.3f}); "
            f"medians {np.median(this_t) * 1e3:.3f} ms (this), "
            f"{np.median(other_t) * 1e3:.3f} ms (other)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
