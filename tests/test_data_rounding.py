"""The rounding rule of data/extracted/README.md (rule 8): counts against printed percentages.

Expected values are worked by hand from the definitions (100 × events / total, rounded half up
and half to even), never taken from the module under test.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inometa.data.rounding import (
    check_derivation,
    counts_giving,
    fits,
    parse_claims,
    printed,
    rounded,
)


def test_ties_round_up_or_to_even_and_both_are_accepted() -> None:
    assert rounded(13, 200, 0) == (7, 6)  # exactly 6.5%
    assert fits(13, 200, "7") and fits(13, 200, "6")
    assert not fits(13, 200, "8")
    assert rounded(1, 8, 0) == (13, 12)  # exactly 12.5%
    assert rounded(1, 8, 1) == (125, 125)


def test_exact_arithmetic_at_a_tie_that_floats_get_wrong() -> None:
    # 0.145 * 100 is 14.499999999999998 in floating point; 29/200 is exactly 14.5%
    assert rounded(29, 200, 0) == (15, 14)


def test_printed_precision_is_the_printed_decimals() -> None:
    assert fits(88, 109, "80.7")  # 80.73%
    assert not fits(88, 109, "80.8")
    assert fits(54, 73, "74.0")  # 73.97%: "74.0" asks for one decimal
    assert fits(54, 73, "74")


def test_the_counts_the_issue_names() -> None:
    assert counts_giving(46, "82") == []  # 37/46 = 80.4%, 38/46 = 82.6%
    assert counts_giving(73, "69.8") == []  # 50/73 = 68.49%, 51/73 = 69.86%
    assert counts_giving(131, "90") == [118]  # 117/131 = 89.3%, 119/131 = 90.8%
    assert counts_giving(74, "99") == [73]
    assert counts_giving(80, "99") == [79]
    assert counts_giving(250, "10") == [24, 25, 26]  # 9.6%, 10%, 10.4%


def test_printed() -> None:
    assert [printed(826, 1), printed(7, 2), printed(100, 0)] == ["82.6", "0.07", "100"]


def test_claims_are_read_in_the_three_forms() -> None:
    claims = parse_claims(
        "74.0% x 73 = 54.02 -> 54 minus 4.1% x 73 -> 3 = 51 (51/73 = 69.9%)", 51, 73
    )
    assert [(c.kind, c.percent, c.events, c.total) for c in claims] == [
        ("share", "74.0", 54, 73),
        ("share", "4.1", 3, 73),
        ("ratio", "69.9", 51, 73),
    ]
    reported = parse_claims("9 CR + 19 marrow CR = 28 (reported overall response 57%)", 28, 49)
    assert [(c.kind, c.percent, c.events, c.total) for c in reported] == [
        ("reported", "57", 28, 49)
    ]
    # a share without '-> count': a whole product is the count, else the row's count
    assert parse_claims("5% x 80 = 4.0", 4, 80)[0].events == 4
    assert parse_claims("99% x 80", 79, 80)[0].events == 79
    assert parse_claims("12% x 43", 79, 80)[0].events is None


def test_shipped_derivations_of_the_issue() -> None:
    assert check_derivation("99% x 74 = 73.26 -> 73", 73, 74) == []
    assert check_derivation("90% x 131 = 117.9 -> 118", 118, 131) == []
    (problem,) = check_derivation("69.8% x 73 = 50.95 -> 51", 51, 73)
    assert "51/73 = 69.86%" in problem and "69.9% rounding half up" in problem
    assert "no whole number of 73 gives 69.8%" in problem


def test_a_count_with_no_arrow_and_a_fraction_product_must_say_which() -> None:
    problems = check_derivation("12% x 43 = 5.16; 5/43 = 11.6%", 5, 50)
    assert any("which count of 43" in p for p in problems)
    assert any("does not show the denominator 50" in p for p in problems)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(0, 2),
)
def test_a_count_fits_the_percentage_it_rounds_to(pair: tuple[int, int], decimals: int) -> None:
    events, total = pair
    for units in rounded(events, total, decimals):
        percent = printed(units, decimals)
        assert fits(events, total, percent)
        assert events in counts_giving(total, percent)
        derivation = f"{percent}% x {total} -> {events}"
        problems = check_derivation(derivation, events, total)
        assert problems == [] or "cannot be derived" in problems[0]
