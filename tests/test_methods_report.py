"""methods_text() and to_metafor(): the R code refits the same analysis in metafor."""

from __future__ import annotations

import json
import subprocess

import pytest

import inometa

from .conftest import require_r

X = [4, 23, 10, 1, 2, 0, 6, 9, 3, 5, 2, 7]
N = [72, 164, 110, 43, 26, 18, 36, 59, 33, 80, 45, 131]


def test_methods_text_names_every_choice() -> None:
    text = inometa.metaprop(
        X, N, transform="ft", tau2_method="PM", ci_method="hk", pi_method="hts"
    ).methods_text()
    for phrase in (
        "Freeman–Tukey",
        "Paule–Mandel",
        "Hartung–Knapp",
        "k − 2",
        "harmonic mean",
        "Clopper–Pearson",
        inometa.__version__,
    ):
        assert phrase in text
    glmm = inometa.metaprop(X, N, method="glmm").methods_text()
    assert "binomial–normal" in glmm and "exact marginal likelihood" in glmm
    lme4 = inometa.metaprop(X, N, method="glmm", nagq=7).methods_text()
    assert "7-point adaptive Gauss–Hermite quadrature (lme4's approximation" in lme4
    raw = inometa.metaprop(X, N, transform="raw", tau2_method="DL").methods_text()
    assert "0.5 was added to the events and non-events of the 1 study" in raw


CASES = [
    {"transform": "logit", "tau2_method": "REML"},
    {"transform": "ft", "tau2_method": "DL", "ci_method": "hk", "pi_method": "hts"},
    {"transform": "raw", "tau2_method": "PM", "ci_method": "hk_adhoc", "pi_method": "t"},
    {"transform": "arcsine", "tau2_method": "SJ", "ci_method": "t", "pi_method": "z"},
    {"method": "glmm", "nagq": 7},
]


@pytest.mark.r
@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: "-".join(map(str, k.values())))
def test_r_code_reproduces_the_result(kwargs: dict) -> None:
    require_r()
    res = inometa.metaprop(X, N, labels=[f"Trial {i}" for i in range(12)], **kwargs)
    code = res.to_metafor() + (
        "\ncat(sprintf('%.17g', c(c(res$b), res$se, res$tau2)), sep='\\n')\n"
    )
    proc = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    b, se, tau2 = (float(v) for v in proc.stdout.strip().splitlines()[-3:])
    tol = 1e-4 if kwargs.get("method") == "glmm" else 1e-6
    assert res.random.estimate == pytest.approx(b, rel=tol)
    assert res.random.se == pytest.approx(se, rel=tol)
    assert res.tau2 == pytest.approx(tau2, rel=tol, abs=1e-10)
    json.dumps(res.to_dict(), allow_nan=False)


# The cases where metafor has no switch for inometa's prediction interval, so to_metafor()
# writes it out by hand; at a level other than 95% (the critical value must follow it).
PI_CASES = [
    {"transform": "logit", "ci_method": "t", "pi_method": "z", "level": 0.9},
    {"transform": "logit", "ci_method": "hk", "pi_method": "t", "pi_se": "wald", "level": 0.8},
]


@pytest.mark.r
@pytest.mark.parametrize("kwargs", PI_CASES, ids=lambda k: "-".join(map(str, k.values())))
def test_r_code_reproduces_the_written_out_prediction_interval(kwargs: dict) -> None:
    require_r()
    res = inometa.metaprop(X, N, **kwargs)
    code = res.to_metafor() + "\ncat(sprintf('%.17g', pi), sep='\\n')\n"
    proc = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    low, high = (float(v) for v in proc.stdout.strip().splitlines()[-2:])
    assert res.prediction.low == pytest.approx(low, rel=1e-6)
    assert res.prediction.high == pytest.approx(high, rel=1e-6)


def test_r_code_refuses_imputed_studies() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tf = inometa.trim_and_fill(inometa.metaprop(X, N))
    with pytest.raises(ValueError, match="imputed"):
        tf.result.to_metafor()


def test_methods_text_names_r_meta_continuity_rule() -> None:
    x, n = [0, 3, 12, 30], [14, 5, 40, 100]
    raw = inometa.metaprop(x, n, profile="meta", transform="raw", tau2_method="DL")
    assert "the proportions themselves were not corrected (R meta's rule)" in raw.methods_text()
    log = inometa.metaprop(x, n, profile="meta", transform="log", tau2_method="DL")
    assert "to the totals of the 1 study with 0% or 100% events" in log.methods_text()
    metafor = inometa.metaprop(x, n, transform="raw", tau2_method="DL")
    assert "R meta's rule" not in metafor.methods_text()
