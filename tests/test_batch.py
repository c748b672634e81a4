"""metaprop_batch(): every analysis equals metaprop() on its studies, for every option."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import inometa
from inometa.analysis.batch import COLUMNS
from tests.batch_support import TOL, _same, assert_matches_single, single_values

NAN = math.nan
# One analysis per row (NaN = study absent), chosen to reach every branch metaprop has:
X = np.array(
    [
        [9, 17, 49, 30, 12, 40],  # heterogeneous
        [10, 22, 14, 33, NAN, NAN],  # nearly homogeneous: τ² at the boundary 0
        [0, 3, 0, 8, 5, NAN],  # zero cells (continuity correction)
        [0, 0, 0, NAN, NAN, NAN],  # every study at 0 events
        [12, 20, 7, NAN, NAN, NAN],  # every study at n events
        [NAN, NAN, 7, NAN, NAN, NAN],  # k = 1
        [4, NAN, NAN, 11, NAN, NAN],  # k = 2
        [5, 5, 5, 5, NAN, NAN],  # identical studies: Q = 0, Hartung–Knapp s² = 0
        [1, 2, 1, 0, 3, 4],  # small n
        [15, 20, 3, 44, 9, 25],  # a 100% study among others
    ]
)
N = np.array(
    [
        [49, 90, 72, 61, 80, 55],
        [50, 100, 75, 150, NAN, NAN],
        [20, 25, 30, 35, 40, NAN],
        [10, 12, 14, NAN, NAN, NAN],
        [12, 20, 7, NAN, NAN, NAN],
        [NAN, NAN, 30, NAN, NAN, NAN],
        [20, NAN, NAN, 25, NAN, NAN],
        [20, 20, 20, 20, NAN, NAN],
        [5, 8, 4, 6, 9, 7],
        [15, 40, 30, 50, 60, 25],
    ]
)
TRANSFORMS = ["raw", "log", "logit", "arcsine", "ft"]
TAU2 = ["DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB"]


CI_PI = [(ci, pi) for ci in ("z", "t", "hk", "hk_adhoc") for pi in ("z", "t", "hts")]


@pytest.mark.parametrize("tau2_method", TAU2)
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_every_transform_tau2_estimator_ci_and_pi(transform: str, tau2_method: str) -> None:
    # The CI and PI methods act after τ² on any scale: rotating through all 12 pairs across
    # the 40 transform × estimator cells tests each pair on several of them.
    ci_method, pi_method = CI_PI[(TRANSFORMS.index(transform) * 8 + TAU2.index(tau2_method)) % 12]
    assert_matches_single(
        X,
        N,
        transform=transform,
        tau2_method=tau2_method,
        ci_method=ci_method,
        pi_method=pi_method,
    )


@pytest.mark.parametrize(
    "options",
    [
        {"i2_definition": "q", "ci_method": "t"},
        {"level": 0.9, "transform": "ft", "pi_method": "t"},
        {"correction": "all", "increment": 0.25},
        {"correction": "if0all", "transform": "raw"},
        {"correction": "none", "transform": "arcsine", "tau2_method": "ML"},
        {"tau2_fixed": 0.2, "ci_method": "hk_adhoc"},
        {"tau2_fixed": 0.0},
        {"profile": "stata_metaprop"},
        {"profile": "meta", "method": "inverse", "transform": "log"},
        {"profile": "meta", "method": "inverse", "transform": "raw", "ci_method": "hk"},
        {"correction_style": "meta", "transform": "log", "correction": "all"},
        {"pi_se": "wald", "ci_method": "hk", "pi_method": "hts"},
        {"transform": "PLO", "tau2_method": "reml", "ci_method": "knha", "pi_method": "riley"},
    ],
)
def test_other_options(options: dict[str, object]) -> None:
    out = assert_matches_single(X, N, **options)
    assert out.options == _options_of_single(options)


def test_study_labels_are_metaprops_labels() -> None:
    trials = ["Kantarjian 2016", "Jabbour 2023", "INO-VATE", "A", "B", "C"]
    out = assert_matches_single(X, N, labels=trials)
    assert "'Kantarjian 2016', 'INO-VATE'" in out.notes[2][0]
    assert out.studies == tuple(trials)


def _options_of_single(options: dict[str, object]) -> inometa.MetaPropOptions:
    from dataclasses import replace

    o = inometa.metaprop([9, 17], [49, 90], **options).options  # type: ignore[arg-type]
    if o.transform == "ft":
        # The rule is shared; each analysis has its own harmonic mean (a column).
        o = replace(
            o,
            backtransform="Miller (1978) inverse with the harmonic mean of each analysis's n "
            "(column backtransform_n)",
        )
    return o


@st.composite
def batches(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    r = draw(st.integers(1, 4))
    k = draw(st.integers(1, 7))
    n = np.array(draw(st.lists(st.integers(1, 300), min_size=r * k, max_size=r * k)), float)
    x = np.array([draw(st.integers(0, int(v))) for v in n], float)
    absent = np.array(draw(st.lists(st.booleans(), min_size=r * k, max_size=r * k)))
    absent = absent.reshape(r, k)
    absent[:, 0] = False  # every analysis keeps at least one study
    x, n = x.reshape(r, k), n.reshape(r, k)
    x[absent] = NAN
    n[absent] = NAN
    return x, n


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    batches(),
    st.sampled_from(TRANSFORMS),
    st.sampled_from(TAU2),
    st.sampled_from(["z", "t", "hk", "hk_adhoc"]),
    st.sampled_from(["z", "t", "hts"]),
    st.sampled_from(["tau2", "q"]),
)
def test_random_ragged_batches(data, transform, tau2_method, ci_method, pi_method, i2) -> None:
    x, n = data
    assert_matches_single(
        x,
        n,
        transform=transform,
        tau2_method=tau2_method,
        ci_method=ci_method,
        pi_method=pi_method,
        i2_definition=i2,
    )


def test_non_converged_fit_is_kept_and_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    # With an iteration limit of 2 (both paths' default lowered), a REML fit that needs 3
    # is reported as its last iterate with a note, next to one that converges at once (at
    # the boundary).
    from inometa.core import tau2

    for f in (tau2.estimate_tau2, tau2.estimate_tau2_batch):
        monkeypatch.setitem(f.__kwdefaults__, "maxiter", 2)
    x = np.array([[1, 12, 30, 8, 3, 20], [10, 10, 10, 10, 10, 10]])
    n = np.array([[50, 40, 45, 60, 30, 50], [50, 50, 50, 50, 50, 50]])
    out = assert_matches_single(x, n, tau2_method="REML")
    assert out["tau2_converged"].tolist() == [False, True]
    assert out["tau2_iterations"][0] == 2 and out["tau2"][0] > 0
    assert "τ² (REML) did not converge; the last iterate is reported" in out.notes[0]


def test_reml_where_metafor_fisher_scoring_crawls() -> None:
    # Raw proportions on which Fisher scoring alone approaches the maximum too slowly for
    # the 1e-12 criterion (metafor fails with its default control): both paths take the
    # same Newton steps and converge (reference value: test_reference_metafor.py).
    x = np.array([[1, 2, 1, 0, 3, 2], [9, 17, 49, 30, 12, 40]])
    n = np.array([[5, 8, 4, 6, 9, 7], [49, 90, 72, 61, 80, 55]])
    out = assert_matches_single(x, n, transform="raw", tau2_method="REML")
    assert out["tau2_converged"].tolist() == [True, True]


# -- GLMM ----------------------------------------------------------------------------------

GX = np.array(
    [
        [2, 8, 15, 4, NAN],  # heterogeneous
        [10, 12, 9, 11, 10],  # no extra-binomial variation: τ² = 0
        [0, 3, 0, 8, NAN],  # zero cells
        [0, 0, 0, NAN, NAN],  # every study at 0 events
        [12, 20, NAN, NAN, NAN],  # every study at n events
        [NAN, 7, NAN, NAN, NAN],  # k = 1
        [4, NAN, 11, NAN, NAN],  # k = 2
    ]
)
GN = np.array(
    [
        [20, 25, 30, 22, NAN],
        [50, 52, 48, 51, 49],
        [20, 25, 30, 35, NAN],
        [10, 12, 14, NAN, NAN],
        [12, 20, NAN, NAN, NAN],
        [NAN, 30, NAN, NAN, NAN],
        [20, NAN, 25, NAN, NAN],
    ]
)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"ci_method": "t", "pi_method": "t", "i2_definition": "q", "level": 0.9},
        {"tau2_fixed": 0.3, "pi_method": "hts"},
    ],
)
def test_glmm_rows_equal_metaprop(options: dict[str, object]) -> None:
    opts = {"method": "glmm", **options} if "profile" not in options else options
    out = assert_matches_single(GX, GN, kind="glmm", **opts)
    assert out.options.method == "glmm"


# Rows that once broke a vectorised GLMM copy (issue 20): only one study with events; all
# studies at 100% but one; one 0/1 study among 24 at 100%; and one study at 0% beside one
# at 100%, where lme4's rule keeps rising in τ (3 nodes) or gives a non-positive
# information (Laplace).
_EV = [4, 7, 17, 17, 14, 4, 13, 8, 2, 13, 17, 4, 2, 3, 13, 11, 10, 3, 16, 6, 2, 4, 15, 5, 11]
_N = [*_EV[:13], 4, *_EV[14:]]
EX = np.full((4, 25), NAN)
EN = np.full((4, 25), NAN)
EX[0, :6], EN[0, :6] = [0, 0, 1, 0, 0, 0], [11, 18, 15, 19, 5, 15]
EX[1, :6], EN[1, :6] = [11, 18, 15, 19, 4, 15], [11, 18, 15, 19, 5, 15]
EX[2], EN[2] = _EV, _N
EX[3, :2], EN[3, :2] = [0, 5], [5, 5]


@pytest.mark.parametrize("nagq", ["exact", 21, 3, 1])
def test_glmm_rows_at_the_extremes_equal_metaprop(nagq: object) -> None:
    out = assert_matches_single(EX, EN, kind="glmm", method="glmm", nagq=nagq)
    assert out.options.nagq == nagq


# -- input and output ------------------------------------------------------------------------


def test_mask_is_the_same_as_nan() -> None:
    mask = np.isfinite(X)
    filled_x = np.where(mask, X, 999.0)
    filled_n = np.where(mask, N, 1.0)  # nonsense outside the mask is ignored
    a = inometa.metaprop_batch(X, N)
    b = inometa.metaprop_batch(filled_x, filled_n, mask=mask)
    pd.testing.assert_frame_equal(a, b)


def test_ragged_lists_and_one_analysis() -> None:
    a = inometa.metaprop_batch([[9, 17, 49], [3, 5]], [[49, 90, 72], [30, 41]])
    b = inometa.metaprop_batch([[9, 17, 49], [3, 5, NAN]], [[49, 90, 72], [30, 41, NAN]])
    pd.testing.assert_frame_equal(a, b)
    one = inometa.metaprop_batch([9, 17, 49], [49, 90, 72])
    assert len(one) == 1
    assert one.iloc[0]["estimate"] == a.iloc[0]["estimate"]


def test_frame_columns_index_and_attrs() -> None:
    df = inometa.metaprop_batch(X[:3], N[:3], analyses=["ORR", "CR", "MRD"], tau2_method="DL")
    assert list(df.columns) == [*COLUMNS, "notes"]
    assert list(df.index) == ["ORR", "CR", "MRD"] and df.index.name == "analysis"
    assert df.attrs["options"]["tau2_method"] == "DL"
    assert df.attrs["version"] == inometa.__version__
    assert df["k"].dtype == np.int64 and df["tau2_converged"].dtype == bool
    assert isinstance(df.loc["MRD", "notes"], tuple)
    default = inometa.metaprop_batch(X[:3], N[:3])
    assert list(default.index) == [1, 2, 3]


def test_array_result_is_frozen() -> None:
    out = inometa.metaprop_batch(X, N, as_frame=False)
    assert isinstance(out, inometa.MetaPropBatchResult)
    assert len(out) == X.shape[0] and out.columns == tuple(COLUMNS)
    with pytest.raises(ValueError, match="read-only"):
        out["tau2"][0] = 1.0
    with pytest.raises(TypeError):
        out.values["tau2"] = np.zeros(3)  # type: ignore[index]
    row = out.row(0)
    assert row["k"] == 6 and row["notes"] == out.notes[0]


def test_column_map_points_at_to_dict() -> None:
    # COLUMNS documents where each column sits in MetaPropResult.to_dict(); check every path.
    res = inometa.metaprop(X[2, :5], N[2, :5], ci_method="t", pi_method="t")
    d = res.to_dict()
    values = single_values(res)
    assert set(values) == set(COLUMNS)
    for name, (path, _) in COLUMNS.items():
        node = d
        for key in path:
            node = node[key]
        v = values[name]
        assert (node is None and not math.isfinite(v)) or node == pytest.approx(v, rel=1e-15)


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "n", "kwargs", "message"),
    [
        ([[1, 7], [2, 3]], [[5, 5], [5, 5]], {}, "analysis 1, study 2: events 7 > total 5"),
        (
            [[1, 7]],
            [[5, 5]],
            {"analyses": ["nausea"]},
            "analysis 'nausea' (row 1), study 2: events 7 > total 5",
        ),
        (
            [[1, 7]],
            [[5, 5]],
            {"analyses": ["nausea"], "labels": ["A", "Jabbour 2023"]},
            "analysis 'nausea' (row 1), study 'Jabbour 2023' (column 2): events 7 > total 5",
        ),
        ([[1, 2.5]], [[5, 5]], {}, "analysis 1, study 2: events 2.5 is not a whole number"),
        ([[1, -1]], [[5, 5]], {}, "analysis 1, study 2: events -1 is negative"),
        ([[1, 1]], [[5, 0]], {}, "analysis 1, study 2: total is 0"),
        ([[1, 1]], [[5, 1e17]], {}, "analysis 1, study 2: total 1e+17 is beyond 2⁵³"),
        ([[1, NAN]], [[5, 5]], {}, "analysis 1, study 2: events is missing (NaN) but total"),
        ([[1, 2], [NAN, NAN]], [[5, 5], [NAN, NAN]], {}, "analysis 2: no studies"),
        (
            [[1, NAN]],
            [[5, 5]],
            {"mask": [[True, True]]},
            "analysis 1, study 2: events is missing (NaN) but the study is present",
        ),
        ([[1, 2]], [[5, 5, 5]], {}, "different shapes"),
        ([[1, 2]], [[5, 5]], {"mask": [[True]]}, "mask has shape"),
        ([[1, 2]], [[5, 5]], {"analyses": ["a", "b"]}, "analyses has 2 entries"),
        ([[1, 2]], [[5, 5]], {"labels": ["a"]}, "labels has 1 entries but there are 2 study"),
        ([[[1]]], [[[5]]], {}, "must be a 2-D array"),
        ([[1, "x"], [1]], [[5, 5], [5]], {}, "analysis 1, study 2: events 'x' is not a number"),
        (
            [[0, 2]],
            [[5, 5]],
            {"correction": "none"},
            "analysis 1, study 1: 0 events of 5 is infinite on the logit scale",
        ),
    ],
)
def test_bad_counts_name_analysis_and_study(events, n, kwargs, message) -> None:
    with pytest.raises(ValueError) as err:
        inometa.metaprop_batch(events, n, **kwargs)
    assert message in str(err.value)


def test_count_boundaries_are_metaprops() -> None:
    # events = total passes and total + 1 fails (each "events > total" case above exceeds the
    # total by more); a one-patient study passes, 2/1 and 0/0 do not.
    out = inometa.metaprop_batch([[5, 1, 0], [0, 5, 1]], [[5, 1, 1], [5, 5, 1]])
    assert out["k"].tolist() == [3, 3] and out["n_total"].tolist() == [7, 11]
    for events, n, message in [
        ([[1, 6]], [[5, 5]], "analysis 1, study 2: events 6 > total 5"),
        ([[1, 2]], [[5, 1]], "analysis 1, study 2: events 2 > total 1"),
        ([[1, 0]], [[5, 0]], "analysis 1, study 2: total is 0 (no patients)"),
    ]:
        with pytest.raises(ValueError) as err:
            inometa.metaprop_batch(events, n)
        assert str(err.value) == message


@pytest.mark.parametrize(
    "kwargs",
    [
        {"transform": "probit"},
        {"tau2_method": "XX"},
        {"ci_method": "wald"},
        {"pi_method": "q"},
        {"i2_definition": "h"},
        {"study_ci_method": "exactly"},
        {"correction": "some"},
        {"profile": "stata14"},
        {"method": "bayes"},
        {"level": 0},
        {"increment": -1},
        {"tau2_fixed": -0.1},
        {"method": "glmm", "transform": "ft"},
        {"method": "glmm", "tau2_method": "REML"},
        {"method": "glmm", "ci_method": "hk"},
        {"method": "glmm", "nagq": 0},
        {"method": "glmm", "nagq": 2.5},
    ],
)
def test_option_errors_are_metaprops(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError) as single:
        inometa.metaprop([3, 4], [10, 12], **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError) as batch:
        inometa.metaprop_batch([[3, 4]], [[10, 12]], **kwargs)  # type: ignore[arg-type]
    assert str(batch.value) == str(single.value)


# -- refits of one analysis on subsets of its studies ----------------------------------------

_REFIT_X = [0, 12, 30, 7, 45, 3, 19]
_REFIT_N = [40, 60, 70, 35, 80, 20, 50]


def _subsets(k: int) -> np.ndarray:
    """Leave-one-out rows, cumulative rows and single studies."""
    return np.vstack([~np.eye(k, dtype=bool), np.tri(k, dtype=bool), np.eye(k, dtype=bool)])


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"transform": "ft", "tau2_method": "DL", "ci_method": "hk", "pi_method": "hts"},
        {"transform": "raw", "tau2_method": "PM", "correction": "if0all"},
        {"transform": "logit", "tau2_method": "REML", "ci_method": "hk_adhoc", "level": 0.9},
        {"tau2_fixed": 0.2},
        {"method": "glmm"},
    ],
    ids=lambda o: "-".join(f"{v}" for v in o.values()) or "default",
)
def test_refit_batch_rows_are_refits(options: dict[str, object]) -> None:
    from inometa.analysis.batch import refit_batch
    from inometa.analysis.pooling import refit

    res = inometa.metaprop(_REFIT_X, _REFIT_N, **options)
    keep = _subsets(res.k)
    out = refit_batch(res, keep)
    kind = "glmm" if options.get("method") == "glmm" else "inverse"
    rtol, atol = TOL[kind]
    for i, row in enumerate(keep):
        ref = single_values(refit(res, row))
        for name in COLUMNS:
            if name == "tau2_iterations":
                continue  # root finders count their own evaluations
            got = float(out[name][i])
            assert _same(got, float(ref[name]), rtol, atol), (i, name, got, ref[name])


def test_refit_batch_reuses_the_stored_corrections() -> None:
    # if0all: the analysis corrects every study (one has 0 events); a subset without that
    # study keeps the corrected yᵢ, vᵢ (as metafor's leave1out), and its notes say so.
    from inometa.analysis.batch import refit_batch

    res = inometa.metaprop(_REFIT_X, _REFIT_N, transform="logit", correction="if0all")
    out = refit_batch(res, [[False, True, True, True, True, True, True]])
    assert np.isclose(
        out["model_estimate"][0],
        np.average(res.data.yi[1:], weights=1 / (res.data.vi[1:] + out["tau2"][0])),
    )
    assert any("6 studies" in note for note in out.notes[0])


@pytest.mark.parametrize(
    ("keep", "message"),
    [
        ([[True, False]], "keep must have 7 columns"),
        ([[False] * 7], "row 1 of keep keeps no study"),
    ],
)
def test_refit_batch_refuses_bad_masks(keep: list[list[bool]], message: str) -> None:
    from inometa.analysis.batch import refit_batch

    res = inometa.metaprop(_REFIT_X, _REFIT_N)
    with pytest.raises(ValueError, match=message):
        refit_batch(res, keep)
