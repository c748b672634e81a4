"""Deferred values, and the per-study quantities results defer."""

from __future__ import annotations

import copy
import pickle

import numpy as np

import inometa
from inometa._deferred import Deferred
from inometa.analysis.pooling import refit
from inometa.core.study_ci import study_confint


def test_computed_once_on_first_use() -> None:
    calls = []
    d = Deferred(lambda: calls.append(1) or 42)
    assert not d.ready and calls == []
    assert d.get() == 42 and d.get() == 42 and calls == [1] and d.ready


def test_pickle_and_copy_store_the_value() -> None:
    d = Deferred(lambda: (1, 2))
    for other in (pickle.loads(pickle.dumps(d)), copy.deepcopy(d)):
        assert other.ready and other.get() == (1, 2)
    assert Deferred.of("x").ready


def test_results_defer_labels_and_study_intervals_until_asked() -> None:
    x, n = [3, 0, 12, 7], [20, 15, 40, 7]
    res = inometa.metaprop(x, n, study_ci_method="wilson", level=0.9)
    assert not res.data._labels.ready and not res.data._intervals.ready
    assert res.k == 4 and res.tau2 >= 0  # the analysis needed neither
    lo, hi = study_confint(x, n, "wilson", 0.9)
    np.testing.assert_array_equal(res.data.ci_low, lo)
    np.testing.assert_array_equal(res.data.ci_high, hi)
    assert res.data.labels == ("Study 1", "Study 2", "Study 3", "Study 4")
    assert not res.data.ci_low.flags.writeable


def test_refits_take_their_studies_labels_and_intervals() -> None:
    res = inometa.metaprop([3, 5, 12, 7], [20, 15, 40, 30], labels=["A", "B", "C", "D"])
    keep = np.array([True, False, True, True])
    sub = refit(res, keep)
    keep[:] = False  # the refit keeps its own copy of the mask
    assert sub.data.labels == ("A", "C", "D")
    np.testing.assert_array_equal(sub.data.ci_low, res.data.ci_low[[0, 2, 3]])


def test_a_result_pickles() -> None:
    res = inometa.metaprop([3, 5, 12], [20, 15, 40])
    back = pickle.loads(pickle.dumps(res))
    assert back.data.labels == res.data.labels and back.tau2 == res.tau2
    np.testing.assert_array_equal(back.data.ci_high, res.data.ci_high)
