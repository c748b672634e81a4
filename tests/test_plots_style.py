"""plots.style: presets, scales, journal widths and the pinned matplotlib style."""

from __future__ import annotations

import pytest

from inometa.plots.style import (
    FONT_FAMILY,
    JOURNAL_WIDTHS_MM,
    PRESETS,
    get_preset,
    get_scale,
    mm_to_pt,
    rc_params,
    resolve_width,
)


def test_journal_widths_in_points() -> None:
    assert resolve_width("single") == pytest.approx(89 / 25.4 * 72)
    assert resolve_width("DOUBLE") == pytest.approx(183 / 25.4 * 72)
    assert resolve_width(120) == pytest.approx(mm_to_pt(120))
    assert resolve_width(None) is None
    assert set(JOURNAL_WIDTHS_MM) == {"single", "one-and-a-half", "double"}


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf")])
def test_bad_width_is_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="millimetres"):
        resolve_width(bad)


def test_unknown_width_name_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="double"):
        resolve_width("triple")


def test_presets() -> None:
    assert set(PRESETS) == {"meta", "revman5", "jama"}
    for p in PRESETS.values():
        assert "label" in p.left_columns
        assert p.pi_style in ("bar", "line")
        assert p.interval_style in ("semicolon", "comma", "dash")
        for key in (*p.left_columns, *p.right_columns):
            assert key == "user" or key in p.titles
    assert get_preset(PRESETS["jama"]) is PRESETS["jama"]
    with pytest.raises(ValueError, match="jama"):
        get_preset("lancet")


def test_revman_puts_every_number_left_of_the_plot() -> None:
    p = get_preset("revman5")
    assert p.right_columns == ()
    assert {"events", "total", "ci"} <= set(p.left_columns)


def test_fontsize_override_is_bounded() -> None:
    assert get_preset("meta").with_fontsize(9).fontsize == 9
    assert get_preset("meta").with_fontsize(None).fontsize == 8
    with pytest.raises(ValueError, match="fontsize"):
        get_preset("meta").with_fontsize(2)


def test_scales() -> None:
    assert get_scale("%").factor == 100
    assert get_scale("per 1000").title("Proportion") == "Proportion per 1000"
    assert get_scale("percent").title("Response") == "Response, %"
    assert get_scale("proportion").digits == 2
    with pytest.raises(ValueError, match="per1000"):
        get_scale("permyriad")


def test_rc_params_pin_font_hinting_and_file_determinism() -> None:
    rc = rc_params(8.0)
    assert rc["font.family"] == FONT_FAMILY == "DejaVu Sans"
    assert rc["font.size"] == 8.0
    assert rc["text.hinting"] == "no_hinting"
    assert rc["svg.hashsalt"] == "inometa"
    assert rc["pdf.fonttype"] == 42


def test_rc_params_are_valid_matplotlib_settings() -> None:
    import matplotlib

    with matplotlib.rc_context(rc_params(7.5)):
        assert matplotlib.rcParams["font.size"] == 7.5
