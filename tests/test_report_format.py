"""report.format: number and p-value formatting shared by tables and plots."""

from __future__ import annotations

import math

import pytest

from inometa.report.format import (
    FIGURE_SPACE,
    bracketed,
    pad_figures,
    pvalue_styled,
    scaled,
    study_ci_name,
    tau2_text,
)


@pytest.mark.parametrize(
    ("p", "default", "capital", "jama"),
    [
        (0.5, "p = 0.500", "P = 0.500", "P = .50"),
        (0.0312, "p = 0.031", "P = 0.031", "P = .03"),
        (0.0043, "p = 0.004", "P = 0.004", "P = .004"),
        (0.0001, "p < 0.001", "P < 0.001", "P < .001"),
        (0.995, "p = 0.995", "P = 0.995", "P > .99"),
        (math.nan, "p = –", "P = –", "P = –"),
    ],
)
def test_pvalue_styles(p: float, default: str, capital: str, jama: str) -> None:
    assert pvalue_styled(p) == default
    assert pvalue_styled(p, "capital") == capital
    assert pvalue_styled(p, "jama") == jama


def test_unknown_styles_list_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="capital, default, jama"):
        pvalue_styled(0.1, "nejm")
    with pytest.raises(ValueError, match="comma, dash, semicolon"):
        bracketed("1", "2", "angle")


def test_scaled() -> None:
    assert scaled(0.6806, 100, 1) == "68.1"
    assert scaled(0.6806, 1000, 0) == "681"
    assert scaled(1.0, 100, 1) == "100.0"
    assert scaled(math.inf) == scaled(None) == "–"


def test_pad_figures_aligns_on_the_right() -> None:
    out = pad_figures(["8.1", "100.0", "56.0", "–"])
    assert out == [FIGURE_SPACE * 2 + "8.1", "100.0", FIGURE_SPACE + "56.0", "–"]
    assert pad_figures([]) == []


def test_tau2_text_never_shows_a_positive_value_as_zero() -> None:
    assert tau2_text(0.0) == "0"
    assert tau2_text(3e-7) == "< 0.0001"
    assert tau2_text(0.021349) == "0.0213"
    assert tau2_text(0.5, 2) == "0.50"
    assert tau2_text(math.nan) == "–"


def test_study_ci_names() -> None:
    assert study_ci_name("wilson-cc") == "Wilson score with continuity correction"
    assert study_ci_name("unknown") == "unknown"
