"""Bad input gets a clear ValueError naming the study, its row and the field."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import inometa
from inometa._validation import MAX_COUNT, check_counts, check_level

LABELS = ["Kantarjian 2013", "DeAngelo 2017", "Jabbour 2023"]


@pytest.mark.parametrize(
    ("events", "n", "message"),
    [
        ([10, 20, 112], [90, 72, 110], r"study 'Jabbour 2023' \(row 3\): events 112 > total 110"),
        ([10, -1, 5], [90, 72, 110], r"study 'DeAngelo 2017' \(row 2\): events -1 is negative"),
        ([10, 20, 5], [90, -72, 110], r"study 'DeAngelo 2017' \(row 2\): total -72 is negative"),
        ([10.5, 20, 5], [90, 72, 110], r"'Kantarjian 2013' \(row 1\): events 10.5 is not a whole"),
        ([10, 20, 5], [90, 72.2, 110], r"'DeAngelo 2017' \(row 2\): total 72.2 is not a whole"),
        ([10, np.nan, 5], [90, 72, 110], r"'DeAngelo 2017' \(row 2\): events is missing \(NaN\)"),
        ([10, 20, 5], [90, 72, None], r"'Jabbour 2023' \(row 3\): total is missing"),
        ([0, 20, 5], [0, 72, 110], r"'Kantarjian 2013' \(row 1\): total is 0"),
    ],
)
def test_bad_counts_name_study_row_and_field(events: list, n: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        inometa.metaprop(events, n, labels=LABELS)


def test_missing_values_are_not_silently_zero() -> None:
    with pytest.raises(ValueError, match="never code them as 0"):
        inometa.metaprop([1, None], [10, 12])


def test_every_offending_row_is_listed() -> None:
    with pytest.raises(ValueError) as exc:
        inometa.metaprop([11, 20, 112], [10, 72, 110], labels=LABELS)
    assert "row 1" in str(exc.value) and "row 3" in str(exc.value)


def test_text_that_is_not_a_number_is_named() -> None:
    with pytest.raises(ValueError, match=r"row 2: events '2O' is not a number"):
        inometa.metaprop(pd.Series([1, "2O", 3], dtype=object), [10, 10, 10])


def test_empty_input() -> None:
    with pytest.raises(ValueError, match="no studies"):
        inometa.metaprop([], [])


def test_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="different lengths \\(3 and 2\\)"):
        inometa.metaprop([1, 2, 3], [10, 10])


def test_labels_of_wrong_length() -> None:
    with pytest.raises(ValueError, match="labels has 2 entries but there are 3 studies"):
        inometa.metaprop([1, 2, 3], [10, 10, 10], labels=["a", "b"])


@pytest.mark.parametrize(
    ("option", "value", "valid"),
    [
        ("transform", "probit", "arcsine, ft, log, logit, raw"),
        ("tau2_method", "REMLL", "DL, EB, HE, HS, ML, PM, REML, SJ"),
        ("ci_method", "kh", "hk, hk_adhoc, t, z"),
        ("pi_method", "riley2", "hts, t, z"),
        ("method", "bayes", "glmm, inverse"),
        ("i2_definition", "h2", "q, tau2"),
        ("study_ci_method", "exactish", "agresti-coull, clopper-pearson, jeffreys, wald"),
        ("correction", "some", "all, if0all, none, only0"),
        ("profile", "revman", "meta, metafor, stata_metaprop"),
    ],
)
def test_unknown_option_names_list_the_valid_ones(option: str, value: str, valid: str) -> None:
    with pytest.raises(ValueError, match=f"unknown {option} '{value}'") as exc:
        inometa.metaprop([1, 2, 3], [10, 10, 10], **{option: value})
    for name in valid.split(", "):
        assert name in str(exc.value)


@pytest.mark.parametrize("level", [0, 1.0, 100, -0.5, "high"])
def test_bad_level(level: object) -> None:
    with pytest.raises(ValueError, match="level"):
        inometa.metaprop([1, 2, 3], [10, 10, 10], level=level)  # type: ignore[arg-type]


def test_level_as_percentage() -> None:
    a = inometa.metaprop([1, 2, 3], [10, 10, 10], level=90)
    b = inometa.metaprop([1, 2, 3], [10, 10, 10], level=0.9)
    assert a.random.ci_low == b.random.ci_low and a.options.level == 0.9


def test_zero_variance_on_raw_scale_is_explained() -> None:
    with pytest.raises(ValueError, match=r"study 'A' \(row 1\): 0 events of 12 has zero sampling"):
        inometa.metaprop([0, 3], [12, 10], labels=["A", "B"], transform="raw", correction="none")


def test_infinite_logit_is_explained() -> None:
    with pytest.raises(ValueError, match=r"study 'B' \(row 2\): 10 events of 10 is infinite"):
        inometa.metaprop([2, 10], [12, 10], labels=["A", "B"], transform="logit", correction="none")


def test_dataframe_columns_and_unknown_column() -> None:
    df = pd.DataFrame({"x": [3, 4, 5], "total": [10, 12, 14], "study": ["a", "b", "c"]})
    res = inometa.metaprop("x", "total", data=df, labels="study")
    assert list(res.studies["label"]) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="no column 'events' in data; columns are: x, total"):
        inometa.metaprop("events", "total", data=df)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "glmm", "transform": "ft"}, "transform='ft' is not available"),
        ({"method": "glmm", "tau2_method": "REML"}, "valid: ML"),
        ({"method": "glmm", "ci_method": "hk"}, "not defined for method='glmm'"),
        ({"tau2_fixed": -1}, "tau2_fixed must be a finite number"),
        ({"method": "glmm", "nagq": 0}, "nagq must be 'exact' or a whole number"),
        (
            {"method": "glmm", "nagq": 2.5},
            r"nagq must be 'exact' or a whole number of nodes from 1 to 100, got 2\.5",
        ),
        ({"method": "glmm", "nagq": "7"}, "nagq must be 'exact' or a whole number"),
        ({"method": "inverse", "nagq": 7}, "does not apply to method='inverse'"),
        ({"increment": -0.5}, "increment must be"),
    ],
)
def test_undefined_combinations(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        inometa.metaprop([1, 2, 3], [10, 10, 10], **kwargs)


def test_resolved_options_are_cached_by_value_and_type() -> None:
    counts = ([1, 2, 3], [10, 10, 10])
    first = inometa.metaprop(*counts, method="glmm", nagq=1)
    again = inometa.metaprop(*counts, method="glmm", nagq=1)
    assert again.options is first.options
    # True == 1 and hash(True) == hash(1): the cache must not let a bool through
    with pytest.raises(
        ValueError, match="nagq must be 'exact' or a whole number of nodes from 1 to 100, got True"
    ):
        inometa.metaprop(*counts, method="glmm", nagq=True)
    # an unhashable value is resolved uncached and refused with its own message
    with pytest.raises(ValueError, match=r"level must be a number such as 0\.95, got \[95\]"):
        inometa.metaprop(*counts, level=[95])
    assert inometa.metaprop(*counts, level=np.array(95)).options.level == 0.95


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint16])
def test_integer_arrays_take_the_same_checks(dtype: type) -> None:
    # integer arrays are checked by a shorter path; it must refuse what the general one does
    n = np.array([90, 72, 110], dtype=dtype)
    with pytest.raises(ValueError, match=r"study 'Jabbour 2023' \(row 3\): events 112 > total 110"):
        inometa.metaprop(np.array([10, 20, 112], dtype=dtype), n, labels=LABELS)
    with pytest.raises(ValueError, match=r"'Kantarjian 2013' \(row 1\): total is 0"):
        zero = np.array([0, 72, 110], dtype=dtype)
        inometa.metaprop(np.array([0, 20, 5], dtype=dtype), zero, labels=LABELS)
    with pytest.raises(ValueError, match="labels has 2 entries but there are 3 studies"):
        inometa.metaprop(np.array([1, 2, 3], dtype=dtype), n, labels=["a", "b"])
    events = np.array([10, 20, 5], dtype=dtype)
    x, m, labs = check_counts(events, n, LABELS)
    assert x.dtype == m.dtype == np.int64 and labs == tuple(LABELS)
    events[0] = 99  # the result holds copies
    assert x.tolist() == [10, 20, 5]


def test_unsigned_counts_beyond_int64_are_refused() -> None:
    huge = np.array([2**63 + 5, 3], dtype=np.uint64)
    with pytest.raises(ValueError, match=r"'Study 1' \(row 1\): total 9.22337e\+18 is beyond 2⁵³"):
        check_counts(np.array([1, 2], dtype=np.uint64), huge)
    with pytest.raises(ValueError, match=r"'B' \(row 2\): total 1e\+17 is beyond 2⁵³"):
        check_counts([1, 2], [10, 1e17], ["A", "B"])


# Boundaries: "events > total" must refuse total + 1 and accept total itself (an off-by-one
# in either direction is the likeliest slip in a comparison), in every path a count can take.
_BOUNDARY_INPUTS = {
    "list": lambda v: list(v),
    "float array": lambda v: np.array(v, dtype=float),
    "int64 array": lambda v: np.array(v, dtype=np.int64),  # the integer fast path
    "uint16 array": lambda v: np.array(v, dtype=np.uint16),
    "Series": lambda v: pd.Series(v),
}


@pytest.mark.parametrize("kind", sorted(_BOUNDARY_INPUTS))
def test_events_equal_to_total_pass_and_one_more_fails(kind: str) -> None:
    as_input = _BOUNDARY_INPUTS[kind]
    x, m, _ = check_counts(as_input([10, 20, 110]), as_input([90, 72, 110]), LABELS)
    assert x.tolist() == [10, 20, 110] and m.tolist() == [90, 72, 110]
    with pytest.raises(ValueError, match=r"'Jabbour 2023' \(row 3\): events 111 > total 110$"):
        check_counts(as_input([10, 20, 111]), as_input([90, 72, 110]), LABELS)


@pytest.mark.parametrize("kind", sorted(_BOUNDARY_INPUTS))
def test_a_single_patient_is_a_study(kind: str) -> None:
    # n = 1 is the smallest total: 0/1 and 1/1 pass, 2/1 and 0/0 do not.
    as_input = _BOUNDARY_INPUTS[kind]
    x, m, _ = check_counts(as_input([0, 1]), as_input([1, 1]))
    assert x.tolist() == [0, 1] and m.tolist() == [1, 1]
    with pytest.raises(ValueError, match=r"'Study 2' \(row 2\): events 2 > total 1$"):
        check_counts(as_input([0, 2]), as_input([1, 1]))
    with pytest.raises(ValueError, match=r"'Study 1' \(row 1\): total is 0"):
        check_counts(as_input([0, 1]), as_input([0, 1]))


def test_counts_at_the_largest_exact_float_pass_and_beyond_fail() -> None:
    top = int(MAX_COUNT)  # 2⁵³: the last whole number a float holds exactly
    x, m, _ = check_counts([top, 1], [top, 2])
    assert (x.tolist(), m.tolist()) == ([top, 1], [top, 2])
    with pytest.raises(ValueError, match=r"'Study 1' \(row 1\): total .* is beyond 2⁵³"):
        check_counts([1, 1], [2 * top, 2])


def test_one_study_of_one_patient_is_pooled() -> None:
    # the smallest analysis: k = 1, n = 1 (1/1 needs the continuity correction on the logit)
    res = inometa.metaprop([1], [1])
    assert res.k == 1 and res.data.n_total == 1 and 0 < res.estimate < 1


@pytest.mark.parametrize(
    ("level", "fraction"),
    [(1e-9, 1e-9), (0.5, 0.5), (1 - 1e-9, 1 - 1e-9), (50, 0.5), (99.9, 0.999)],
)
def test_levels_just_inside_the_bounds_are_accepted(level: float, fraction: float) -> None:
    # (0, 1) is a fraction, [50, 100) a percentage; 0, 1 and 100 themselves are refused above
    assert check_level(level) == pytest.approx(fraction, rel=1e-15)


@pytest.mark.parametrize(
    "level", [-1e-9, 1.0, 1.5, 1.96, 50 - 1e-9, 100, 100 + 1e-9, float("nan"), float("inf")]
)
def test_levels_just_outside_the_bounds_are_refused(level: float) -> None:
    with pytest.raises(ValueError, match="level must lie strictly between 0 and 1"):
        check_level(level)


def test_a_non_string_option_or_a_non_table_data_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="tau2_method=5 is not available"):
        inometa.metaprop([1, 2], [10, 10], method="glmm", tau2_method=5)
    with pytest.raises(ValueError, match="data must be a pandas DataFrame or a mapping"):
        inometa.metaprop("e", "n", data=[1, 2])
    with pytest.raises(ValueError, match="events: no key 'x' in data; keys are: e, n"):
        inometa.metaprop("x", "n", data={"e": [1, 2], "n": [10, 10]})


def test_a_mapping_of_columns_is_read_as_a_data_frame() -> None:
    as_dict = inometa.metaprop("e", "n", data={"e": [1, 2], "n": [10, 12]})
    as_frame = inometa.metaprop("e", "n", data=pd.DataFrame({"e": [1, 2], "n": [10, 12]}))
    assert as_dict.estimate == as_frame.estimate and as_dict.tau2 == as_frame.tau2


def test_an_increment_with_no_correction_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError, match=r"increment=0\.7 is the continuity correction"):
        inometa.metaprop([1, 2, 3], [10, 10, 10], correction="none", increment=0.7)
    with pytest.raises(ValueError, match=r"increment=0\.7 is the continuity correction"):
        inometa.metaprop_batch([[1, 2, 3]], [[10, 10, 10]], correction="none", increment=0.7)
    res = inometa.metaprop([1, 2, 3], [10, 10, 10], correction="none", increment=0)
    assert res.options.correction == "none"
