"""Coverage simulations: reproducible, scored correctly, and in line with known behaviour."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import inometa
from inometa.analysis.simulate import BLOCK, pi_coverage, simulate_coverage, simulate_studies


def test_same_seed_same_numbers() -> None:
    kw = {"k": 6, "n": (20, 120), "replications": 300, "progress": False}
    a = simulate_coverage(0.3, 0.4, seed=11, **kw)
    b = simulate_coverage(0.3, 0.4, seed=11, **kw)
    c = simulate_coverage(0.3, 0.4, seed=12, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert not a["ci_coverage"].equals(c["ci_coverage"])
    assert a.attrs["seed"] == 11 and a.attrs["version"] == inometa.__version__


def test_blocks_are_seeded_by_position() -> None:
    # Block b always uses the b-th child seed: a longer run extends a shorter one.
    x1, n1, t1 = simulate_studies(0.3, 0.2, 4, (10, 50), BLOCK, seed=5)
    x2, n2, t2 = simulate_studies(0.3, 0.2, 4, (10, 50), BLOCK + 7, seed=5)
    assert x2.shape == (BLOCK + 7, 4)
    np.testing.assert_array_equal(x1, x2[:BLOCK])
    np.testing.assert_array_equal(n1, n2[:BLOCK])
    np.testing.assert_array_equal(t1, t2[:BLOCK])


def test_study_sizes() -> None:
    x, n, _ = simulate_studies(0.5, 0.0, 3, 40, 10, seed=1)
    assert (n == 40).all() and ((x >= 0) & (x <= n)).all()

    def sizes(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        return rng.poisson(100, size=shape) + 1

    _, n, _ = simulate_studies(0.5, 0.0, 3, sizes, 10, seed=1)
    assert n.shape == (10, 3) and (n >= 1).all()
    out = simulate_coverage(0.5, 0.1, 3, sizes, replications=20, progress=False)
    assert out.attrs["n"] == "drawn by sizes(rng, shape)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p": 1.0}, "p must lie strictly between 0 and 1"),
        ({"tau2": -1.0}, "tau2 must be a finite number >= 0"),
        ({"k": 0}, "k must be a whole number >= 1"),
        ({"n": (50, 10)}, "n as a range must be (low, high)"),
        ({"n": 0}, "study sizes n must be whole numbers >= 1"),
        ({"methods": {}}, "methods is empty"),
        ({"methods": {"a": {"level": 0.9}}}, "set level for all methods"),
        ({"methods": {"a": {"tau2_method": "XX"}}}, "unknown tau2_method 'XX'"),
    ],
)
def test_bad_designs_are_named(kwargs: dict[str, object], message: str) -> None:
    args = {"p": 0.3, "tau2": 0.1, "k": 4, "n": 30, "replications": 5, "progress": False}
    args.update(kwargs)
    with pytest.raises(ValueError) as err:
        simulate_coverage(**args)  # type: ignore[arg-type]
    assert message in str(err.value)


def test_pi_coverage_is_the_normal_probability() -> None:
    z = 1.959963984540054
    mu, tau = -0.7, 0.6
    lo, hi = expit(mu - z * tau), expit(mu + z * tau)
    assert pi_coverage(lo, hi, mu, tau) == pytest.approx(0.95, abs=1e-12)
    assert pi_coverage(0.0, 1.0, mu, tau) == 1.0
    assert pi_coverage([0.1, np.nan], [0.9, 0.5], math.log(1 / 3), 0.0).tolist()[0] == 1.0
    assert np.isnan(pi_coverage([0.1, np.nan], [0.9, 0.5], 0.0, 0.0)[1])


def test_methods_given_as_a_list_are_named_by_their_options() -> None:
    out = simulate_coverage(
        0.3, 0.1, 5, 50, replications=30, methods=[{"tau2_method": "DL"}, {}], progress=False
    )
    assert list(out.index) == ["tau2_method=DL", "defaults"]
    assert out.loc["defaults", "tau2_method"] == "REML"


def test_undefined_intervals_are_counted_not_scored() -> None:
    out = simulate_coverage(
        0.3, 0.1, 2, 50, replications=40, methods={"hts": {"pi_method": "hts"}}, progress=False
    )
    assert out.loc["hts", "pi_undefined"] == 40 and math.isnan(out.loc["hts", "pi_coverage"])
    assert out.loc["hts", "ci_undefined"] == 0


def test_progress_only_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    from inometa.analysis.simulate import _Progress

    tty = Terminal()
    bar = _Progress(10, enabled=True, stream=tty)
    bar.advance(4)
    bar.advance(6)
    bar.close()
    assert tty.getvalue() == (
        "\rsimulate_coverage: 4/10 replications (40%)"
        "\rsimulate_coverage: 10/10 replications (100%)\n"
    )
    pipe = io.StringIO()
    bar = _Progress(10, enabled=True, stream=pipe)  # not a terminal: silent
    bar.advance(10)
    bar.close()
    assert pipe.getvalue() == ""
    off = Terminal()
    _Progress(10, enabled=False, stream=off).advance(10)
    assert off.getvalue() == ""


# -- known behaviour (each check can fail; tolerances from the Monte-Carlo SE) --------------


def test_common_effect_z_interval_is_nominal_without_heterogeneity() -> None:
    # τ² = 0 and n = 1000: the pooled logit is very nearly normal with the inverse-variance
    # SE, so the common-effect z interval covers p in 95% of data sets up to O(1/n).
    reps = 4000
    out = simulate_coverage(
        0.4,
        0.0,
        k=5,
        n=1000,
        replications=reps,
        seed=1,
        methods={"CE": {"tau2_fixed": 0.0, "ci_method": "z", "pi_method": "z"}},
        progress=False,
    )
    se = math.sqrt(0.95 * 0.05 / reps)
    assert abs(out.loc["CE", "ci_coverage"] - 0.95) < 3 * se
    # With τ² fixed at 0 the z prediction interval is the confidence interval, and a new
    # study's true proportion is p itself: both scores must agree exactly.
    assert out.loc["CE", "pi_coverage"] == out.loc["CE", "ci_coverage"]


def test_hartung_knapp_covers_where_dl_z_does_not() -> None:
    # Few studies (k = 5) with heterogeneity: the DL z interval ignores the uncertainty in
    # τ² and undercovers, while Hartung–Knapp's t(k−1) interval is close to nominal
    # (IntHout, Ioannidis & Borm 2014, BMC Med Res Methodol 14:25).
    reps = 4000
    out = simulate_coverage(
        0.2,
        0.5,
        k=5,
        n=(20, 200),
        replications=reps,
        seed=2,
        methods={
            "DL-z": {"tau2_method": "DL", "ci_method": "z"},
            "DL-HK": {"tau2_method": "DL", "ci_method": "hk"},
        },
        progress=False,
    )
    z, hk = out.loc["DL-z"], out.loc["DL-HK"]
    nominal_se = math.sqrt(0.95 * 0.05 / reps)
    assert z["ci_coverage"] < 0.95 - 3 * nominal_se
    # Same data sets for both methods: the difference's SE is at most the unpaired one.
    assert hk["ci_coverage"] - z["ci_coverage"] > 3 * math.hypot(
        z["ci_coverage_se"], hk["ci_coverage_se"]
    )
    assert abs(hk["ci_coverage"] - 0.95) < 3 * nominal_se
