"""Plant bugs in the core one at a time and check that the test suite catches each of them.

Run on demand from the repository root, not as part of the suite (it takes minutes):

    python tests/mutation/run.py              # every mutant, against the core tests
    python tests/mutation/run.py --list       # the mutants, without running anything
    python tests/mutation/run.py -k wald -k permutation   # mutants whose name contains a word
    python tests/mutation/run.py --full       # each mutant against the whole suite
    python tests/mutation/run.py --root OLD   # another checkout's source and tests (e.g. an
                                              # export of an older commit, to compare)

The repository is copied to a temporary directory once; each mutant is written into the copy,
the tests run there with the copy's ``src`` first on ``sys.path`` (checked before anything
runs), and the file is restored. The working tree is never touched. A mutant is *killed*
when pytest fails; it *survives* when the tests pass. The score and every survivor, with
the reason it is left alive, are in README.md beside this script.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The tests that check the core numerics and input checks. The R-script tests are left out
# (they re-run R, not inometa), and so are the plots, CLI and report tests (a planted
# numerical bug that only they catch would still count as caught with --full).
CORE_TESTS = [
    "tests/test_validation.py",
    "tests/test_data_validate.py",
    "tests/test_study_ci.py",
    "tests/test_published_newcombe1998.py",
    "tests/test_published_miller1978.py",
    "tests/test_published_stijnen2010.py",
    "tests/test_transforms.py",
    "tests/test_tau2.py",
    "tests/test_heterogeneity.py",
    "tests/test_intervals.py",
    "tests/test_pooling.py",
    "tests/test_reference_metafor.py",
    "tests/test_reference_levels.py",
    "tests/test_reference_analysis.py",
    "tests/test_regression.py",
    "tests/test_bias.py",
    "tests/test_sensitivity.py",
    "tests/test_batch.py",
    "tests/test_batch_tau2.py",
    "tests/test_glmm.py",
    "tests/test_properties.py",
]


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str  # relative to src/inometa
    edits: tuple[tuple[str, str], ...]  # (old, new); each old must occur exactly once
    what: str


def m(name: str, file: str, what: str, *edits: tuple[str, str]) -> Mutant:
    return Mutant(name, file, tuple(edits), what)


MUTANTS = [
    # --- the six bugs issue 23 found surviving ----------------------------------------------
    m(
        "counts-general-off-by-one",
        "_validation.py",
        "events = total + 1 accepted by the general check",
        ("valid = (x >= 0) & (x <= m) &", "valid = (x >= 0) & (x <= m + 1) &"),
        ("bad = np.flatnonzero(x > m)", "bad = np.flatnonzero(x > m + 1)"),
    ),
    m(
        "counts-fast-path-off-by-one",
        "_validation.py",
        "events = total + 1 accepted by the integer fast path",
        ("(mi - xi).min() >= 0", "(mi - xi).min() >= -1"),
    ),
    m(
        "counts-tables-off-by-one",
        "data/_tables.py",
        "events = total + 1 accepted in outcomes.csv",
        ("over = events > total", "over = events > total + 1"),
    ),
    m(
        "counts-batch-off-by-one",
        "analysis/_batch_input.py",
        "events = total + 1 accepted by the batch's check_counts",
        ("if (present & (x > m)).any():", "if (present & (x > m + 1)).any():"),
    ),
    m(
        "study-ci-agresti-coull-is-wilson",
        "core/study_ci.py",
        "Agresti–Coull study CIs computed as Wilson",
        ('"agresti-coull": "agresti_coull",', '"agresti-coull": "wilson",'),
    ),
    m(
        "study-ci-wald-is-wilson",
        "core/study_ci.py",
        "Wald study CIs computed as Wilson",
        ('"wald": "normal",', '"wald": "wilson",'),
    ),
    m(
        "z-quantile-ignores-level",
        "core/intervals.py",
        "the normal quantile of pooled and prediction intervals is always the 95% one",
        (
            "return np.full(r, norm_isf(alpha / 2))",
            "return np.full(r, norm_isf(0.025))",
        ),
    ),
    m(
        "permutation-drops-observed-order",
        "analysis/permutation.py",
        "the random permutation test leaves out the observed ordering",
        (
            "orders = [np.arange(k)] + [rng.permutation(k) for _ in range(iterations - 1)]",
            "orders = [rng.permutation(k) for _ in range(iterations)]",
        ),
    ),
    # --- input checks -----------------------------------------------------------------------
    m(
        "level-percent-bound",
        "_validation.py",
        "levels from 1 (e.g. 1.96, a quantile) read as percentages",
        ("if 50 <= lev < 100:", "if 1 <= lev < 100:"),
    ),
    m(
        "counts-zero-total-accepted",
        "_validation.py",
        "a total of 0 accepted by the general check",
        ("& (m > 0) &", "& (m >= 0) &"),
        ("bad = np.flatnonzero(m == 0)", "bad = np.flatnonzero(m < 0)"),
    ),
    # --- transforms and corrections ---------------------------------------------------------
    m(
        "logit-variance",
        "core/transforms.py",
        "logit sampling variance 1/x + 1/n instead of 1/x + 1/(n − x)",
        ("1 / x + 1 / (n - x)", "1 / x + 1 / n"),
    ),
    m(
        "ft-variance",
        "core/transforms.py",
        "Freeman–Tukey variance 1/(4n) instead of 1/(4n + 2)",
        ("return y, 1 / (4 * n + 2)", "return y, 1 / (4 * n)"),
    ),
    m(
        "correction-adds-once",
        "core/transforms.py",
        "the continuity correction adds the increment to n once instead of twice",
        ("return x + add, m + 2 * add, corrected", "return x + add, m + add, corrected"),
    ),
    m(
        "ft-inverse-arithmetic-mean",
        "analysis/escalc.py",
        "Miller's inverse with the arithmetic instead of the harmonic mean of n",
        (
            "backtransform_n = float(1 / np.mean(1 / m)) if tr.needs_n else None",
            "backtransform_n = float(np.mean(m)) if tr.needs_n else None",
        ),
    ),
    # --- τ² and heterogeneity ---------------------------------------------------------------
    m(
        "dl-not-truncated",
        "core/tau2.py",
        "the DerSimonian–Laird τ² is not truncated at 0",
        (
            "    raw = (P.quadratic(d.Y) - d.df) / trp\n    tau2 = np.maximum(0.0, raw)",
            "    raw = (P.quadratic(d.Y) - d.df) / trp\n    tau2 = raw",
        ),
    ),
    m(
        "he-df",
        "core/tau2.py",
        "the Hedges estimator divides by k instead of k − 1",
        (
            "return (P0.quadratic(d.Y) - tr_pv) / d.df, tr_pv, P0",
            "return (P0.quadratic(d.Y) - tr_pv) / d.k, tr_pv, P0",
        ),
    ),
    m(
        "fisher-scoring-stops-early",
        "core/tau2.py",
        "ML/REML/EB Fisher scoring stops at a step of 1e-5 of the scale (metafor's default)",
        ("limit = tol * np.maximum(new, sc)", "limit = 1e-5 * np.maximum(new, sc)"),
    ),
    m(
        "q-root-stops-early",
        "core/q_statistic.py",
        "the Paule–Mandel and Q-profile root finder stops at 1e-6 of the mean vᵢ",
        (
            "xt = tol * masked_mean(d.V, d.M, d.k)",
            "xt = 1e-6 * masked_mean(d.V, d.M, d.k)",
        ),
    ),
    m(
        "i2-q-definition",
        "core/heterogeneity.py",
        "Q-based I² as (Q − df)/df",
        (
            "i2 = np.where(undefined, 0.0, np.maximum(0.0, (q - df) / q))",
            "i2 = np.where(undefined, 0.0, np.maximum(0.0, (q - df) / df))",
        ),
    ),
    m(
        "q-profile-bounds-swapped-level",
        "core/heterogeneity.py",
        "the Q-profile interval at α instead of α/2 for its lower τ² bound",
        (
            "crit_upper = by_df(lambda q, f: special.chdtri(f, q), alpha / 2, df)",
            "crit_upper = by_df(lambda q, f: special.chdtri(f, q), alpha, df)",
        ),
    ),
    m(
        "q-pvalue-df",
        "core/significance.py",
        "Cochran's Q (and every χ² test) tested on df + 1",
        ("chi2_sf(stat, df), description)", "chi2_sf(stat, df + 1), description)"),
    ),
    # --- pooled and prediction intervals ----------------------------------------------------
    m(
        "hk-adhoc-not-floored",
        "core/intervals.py",
        "ad hoc Hartung–Knapp does not floor s² at 1",
        (
            's2 = np.fmax(1.0, hk_s2) if method == "hk_adhoc" else hk_s2',
            "s2 = hk_s2",
        ),
    ),
    m(
        "hk-s2-df",
        "core/intervals.py",
        "Hartung–Knapp s² divided by k instead of k − p",
        (
            "hk_s2_from_rss(np.array([rss]), np.array([float(y.size - n_params)]))",
            "hk_s2_from_rss(np.array([rss]), np.array([float(y.size)]))",
        ),
    ),
    m(
        "t-ci-df",
        "core/intervals.py",
        "t-based CIs on k degrees of freedom",
        (
            'df = k - n_params if method in ("t", "hk", "hk_adhoc") else None',
            'df = k if method in ("t", "hk", "hk_adhoc") else None',
        ),
    ),
    m(
        "pi-hts-df",
        "core/intervals.py",
        "the HTS prediction interval on k − 1 degrees of freedom",
        ('(k - 1 if method == "t" else k - 2)', '(k - 1 if method == "t" else k - 1)'),
    ),
    m(
        "pvalue-one-sided",
        "core/intervals.py",
        "the pooled z test's p-value one-sided",
        (
            "return np.asarray(2 * special.ndtr(-np.abs(stat)), dtype=float)",
            "return np.asarray(special.ndtr(-np.abs(stat)), dtype=float)",
        ),
    ),
    # --- per-study CIs ----------------------------------------------------------------------
    m(
        "clopper-pearson-lower-shape",
        "core/study_ci.py",
        "Clopper–Pearson lower limit from Beta(x, n − x) instead of Beta(x, n − x + 1)",
        ("beta_ppf(alpha / 2, x, n - x + 1)", "beta_ppf(alpha / 2, x, n - x)"),
    ),
    m(
        "jeffreys-open-at-zero",
        "core/study_ci.py",
        "Jeffreys' lower limit at x = 0 left at its beta quantile",
        ('if name in ("jeffreys", "wilson"):', 'if name in ("wilson",):'),
    ),
    m(
        "wilson-cc-sign",
        "core/study_ci.py",
        "Wilson-CC upper limit with −1 in place of +1 under the root",
        (
            "z * np.sqrt(z**2 + 2 - 1 / n + 4 * p * (n * q - 1))",
            "z * np.sqrt(z**2 - 2 - 1 / n + 4 * p * (n * q - 1))",
        ),
    ),
    # --- small-study effects and sensitivity ------------------------------------------------
    m(
        "trimfill-l0-formula",
        "analysis/bias.py",
        "the L0 estimator with 2k + 1 in the denominator",
        (
            "k0_raw = (4 * sr - k * (k + 1)) / (2 * k - 1)",
            "k0_raw = (4 * sr - k * (k + 1)) / (2 * k + 1)",
        ),
    ),
    m(
        "egger-predictor-variance",
        "analysis/bias.py",
        "Egger's test regressing on vᵢ instead of its square root",
        (
            "_regression(res, np.sqrt(np.asarray(res.data.vi)), model,",
            "_regression(res, np.asarray(res.data.vi), model,",
        ),
    ),
    m(
        "cooks-distance-deleted-variance",
        "analysis/sensitivity.py",
        "Cook's distance scaled by the deleted fit's variance",
        ("cook = (mu - delpred) ** 2 / vb\n", "cook = (mu - delpred) ** 2 / vdelpred\n"),
    ),
    # --- GLMM -------------------------------------------------------------------------------
    m(
        "glmm-quadrature-nodes",
        "core/glmm_quadrature.py",
        "lme4-style quadrature with one node fewer than asked for",
        (
            "t, w = np.polynomial.hermite.hermgauss(nagq)",
            "t, w = np.polynomial.hermite.hermgauss(max(1, nagq - 1))",
        ),
    ),
]


def copy_repository(root: Path, dest: Path) -> None:
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache"
    )
    for item in root.iterdir():
        if item.name == "results" or (item.name.startswith(".") and item.name != ".ci"):
            continue  # .git, .venv, caches, and the outputs of a local run
        target = dest / item.name
        if item.is_dir():
            shutil.copytree(item, target, ignore=ignore)
        else:
            shutil.copy2(item, target)


def environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a stale .pyc must never hide a mutant
    env.setdefault("MPLBACKEND", "Agg")
    for flag in ("INOMETA_REQUIRE_SHARED", "INOMETA_REQUIRE_BASELINES"):
        env.pop(flag, None)  # the copy has no ../shared beside it
    return env


def run_tests(copy: Path, tests: list[str], timeout: float) -> tuple[bool, str]:
    """(passed, last lines of output)."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        proc = subprocess.run(
            cmd, cwd=copy, env=environment(copy), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return False, "timed out"
    tail = "\n".join(proc.stdout.strip().splitlines()[-3:])
    return proc.returncode == 0, tail


def first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith("FAILED") or line.startswith("ERROR"):
            return line.split(" - ")[0].removeprefix("FAILED ").removeprefix("ERROR ")
    return output.splitlines()[-1] if output else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-k", action="append", default=[], help="run mutants whose name has this")
    parser.add_argument("--full", action="store_true", help="run the whole suite per mutant")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per mutant")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to mutate")
    args = parser.parse_args(argv)
    chosen = [mu for mu in MUTANTS if not args.k or any(word in mu.name for word in args.k)]
    if args.list:
        for mu in chosen:
            print(f"{mu.name:40s} {mu.file:18s} {mu.what}")
        return 0
    # (an older checkout may lack some of the core test files)
    tests = [] if args.full else [t for t in CORE_TESTS if (args.root / t).is_file()]

    with tempfile.TemporaryDirectory(prefix="inometa-mutation-") as tmp:
        copy = Path(tmp) / "repo"
        copy.mkdir()
        copy_repository(args.root.resolve(), copy)
        where = subprocess.run(
            [sys.executable, "-c", "import inometa; print(inometa.__file__)"],
            env=environment(copy),
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp,
        ).stdout.strip()
        if not where.startswith(str(copy)):
            print(f"inometa is imported from {where}, not from the copy: stopping")
            return 2
        # every planted edit must apply to today's source, exactly once
        for mu in chosen:
            text = (copy / "src" / "inometa" / mu.file).read_text()
            for old, _ in mu.edits:
                if text.count(old) != 1:
                    print(f"{mu.name}: {old!r} occurs {text.count(old)} times in {mu.file}")
                    return 2
        start = time.monotonic()
        ok, tail = run_tests(copy, tests, args.timeout)
        if not ok:
            print(f"the unmutated tests fail; fix them first:\n{tail}")
            return 2
        print(f"unmutated: tests pass ({time.monotonic() - start:.0f} s)\n")

        survivors = []
        for mu in chosen:
            path = copy / "src" / "inometa" / mu.file
            original = path.read_text()
            mutated = original
            for old, new in mu.edits:
                mutated = mutated.replace(old, new)
            path.write_text(mutated)
            t0 = time.monotonic()
            try:
                passed, tail = run_tests(copy, tests, args.timeout)
            finally:
                path.write_text(original)
                os.utime(path)  # a fresh mtime: nothing compiled from the mutant is reused
            verdict = "SURVIVED" if passed else "killed  "
            detail = "" if passed else first_failure(tail)
            print(f"{verdict} {mu.name:40s} {time.monotonic() - t0:5.0f} s  {detail}", flush=True)
            if passed:
                survivors.append(mu)
        killed = len(chosen) - len(survivors)
        print(f"\nscore: {killed} of {len(chosen)} mutants killed")
        for mu in survivors:
            print(f"  survived: {mu.name} ({mu.file}): {mu.what}")
    return 0 if not survivors else 1


if __name__ == "__main__":
    sys.exit(main())
