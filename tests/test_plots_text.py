"""plots.text: measuring, wrapping and truncating text in points."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inometa.plots.text import ELLIPSIS, fixed_pitch_measurer, font_measurer, truncate, wrap


def five(s: str) -> float:
    return 5.0 * max(len(line) for line in s.split("\n"))


def test_truncate_keeps_short_text_and_cuts_long_text() -> None:
    assert truncate("Abe 2008", 100, five) == "Abe 2008"
    cut = truncate("Kantarjian 2019 (INO-VATE)", 60, five)
    assert cut.endswith(ELLIPSIS)
    assert five(cut) <= 60


def test_wrap_breaks_at_spaces_and_limits_lines() -> None:
    assert wrap("Kantarjian 2019 (INO-VATE)", 80, five) == "Kantarjian 2019\n(INO-VATE)"
    out = wrap("one two three four five six seven", 40, five, max_lines=2)
    assert out.count("\n") == 1
    assert out.endswith(ELLIPSIS)
    assert wrap("a b", 100, five, max_lines=1) == "a b"


def test_wrap_keeps_existing_line_breaks() -> None:
    assert wrap("Weight\n(random)", 100, five, max_lines=3) == "Weight\n(random)"


def test_wrap_cuts_a_word_wider_than_the_line() -> None:
    out = wrap("Supercalifragilistic 2020", 40, five)
    assert all(five(line) <= 40 for line in out.split("\n"))


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(
        st.text(alphabet="abcdefghij()-", min_size=1, max_size=14), min_size=1, max_size=12
    ),
    width=st.floats(min_value=10, max_value=200),
    max_lines=st.integers(min_value=1, max_value=4),
)
def test_wrap_never_exceeds_width_or_line_count(
    words: list[str], width: float, max_lines: int
) -> None:
    out = wrap(" ".join(words), width, five, max_lines)
    lines = out.split("\n")
    assert len(lines) <= max_lines
    # A lone ellipsis is the narrowest possible line; every line fits unless width < that.
    assert all(five(line) <= max(width, five(ELLIPSIS)) + 1e-9 for line in lines)


def test_font_measurer_uses_tabular_digits_and_bold_is_wider() -> None:
    widths = {font_measurer(d, 8.0) for d in "0123456789"}
    assert len(widths) == 1
    assert font_measurer("\u2007", 8.0) == font_measurer("0", 8.0)  # figure space
    assert font_measurer("Study", 8.0, True) > font_measurer("Study", 8.0)
    assert font_measurer("Study", 16.0) == 2 * font_measurer("Study", 8.0)
    assert font_measurer("ab\nabcd", 8.0) == font_measurer("abcd", 8.0)


def test_font_measurer_matches_what_agg_draws() -> None:
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    text = "Kantarjian 2019 (INO-VATE) 68.1 [56.0; 78.6]"
    with rc_context({"text.hinting": "no_hinting"}):
        for dpi in (72, 150, 300):
            r = RendererAgg(10, 10, dpi)
            w, _, _ = r.get_text_width_height_descent(
                text, FontProperties(family="DejaVu Sans", size=8), ismath=False
            )
            assert abs(w * 72 / dpi - font_measurer(text, 8.0)) < 0.01 * font_measurer(text, 8.0)


def test_fixed_pitch_measurer() -> None:
    assert fixed_pitch_measurer("abcd", 10.0) == 20.0
    assert fixed_pitch_measurer("abcd", 10.0, True) == 24.0
