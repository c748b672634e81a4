"""Saved files: vector and raster output, chosen dpi, and byte-identical repeats."""

from __future__ import annotations

import io
import struct
from typing import Any

import pytest

import inometa
from inometa.plots import savefig
from tests.plots_support import cr_result


def save(fig: Any, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["png", "pdf", "svg"])
def test_saving_twice_gives_identical_bytes(fmt: str) -> None:
    res = cr_result()
    fig = inometa.plot_forest(res)
    first = save(fig, fmt)
    assert first == save(fig, fmt)
    # A second, separately drawn figure of the same result is byte-identical too.
    assert first == save(inometa.plot_forest(res), fmt)


def test_files_carry_no_dates_or_versions() -> None:
    fig = inometa.plot_forest(cr_result())
    pdf = save(fig, "pdf")
    assert b"CreationDate" not in pdf and b"Matplotlib" not in pdf
    svg = save(fig, "svg").decode()
    assert "<dc:date>" not in svg and "Matplotlib" not in svg
    assert "<text" not in svg  # text as paths: looks the same without the font installed
    png = save(fig, "png")
    assert b"tIME" not in png and b"Software" not in png and b"Matplotlib" not in png


def test_pdf_embeds_truetype_fonts() -> None:
    pdf = save(inometa.plot_forest(cr_result()), "pdf")
    assert b"/FontFile2" in pdf  # Type 42 (TrueType), not Type 3 bitmaps
    assert b"DejaVuSans" in pdf


@pytest.mark.parametrize("dpi", [150, 600])
def test_png_at_the_chosen_dpi(dpi: int) -> None:
    fig = inometa.plot_summary_forest({"CR": cr_result()})
    png = save(fig, "png", dpi=dpi)
    width, height = struct.unpack(">II", png[16:24])
    w_in, h_in = fig.get_size_inches()
    assert abs(width - w_in * dpi) < 1 and abs(height - h_in * dpi) < 1


def test_savefig_helper_makes_any_figure_reproducible(tmp_path: Any) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 3))
    try:
        inometa.plot_funnel(cr_result(), ax=ax)
        a, b = tmp_path / "a.svg", tmp_path / "b.svg"
        savefig(fig, a)
        savefig(fig, b)
        assert a.read_bytes() == b.read_bytes()
        assert b"<dc:date>" not in a.read_bytes()
        savefig(fig, tmp_path / "c.pdf")
        assert b"CreationDate" not in (tmp_path / "c.pdf").read_bytes()
    finally:
        plt.close(fig)
