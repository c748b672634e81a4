"""Saved files: vector and raster output, chosen dpi, and byte-identical repeats."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

import pytest

import inometa
from inometa.plots import savefig
from tests.plots_support import cr_result


def save(fig: Any, fmt: str, **kw: Any) -> bytes:
    # 100 dpi unless asked: reproducibility does not depend on the resolution.
    kw.setdefault("dpi", 100)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def saved() -> dict[str, bytes]:
    fig = inometa.plot_forest(cr_result())
    return {fmt: save(fig, fmt) for fmt in ("png", "pdf", "svg")}


@pytest.mark.parametrize("fmt", ["png", "pdf", "svg"])
def test_saving_twice_gives_identical_bytes(fmt: str, saved: dict[str, bytes]) -> None:
    # A second, separately drawn figure of the same result, saved again: the same bytes.
    assert save(inometa.plot_forest(cr_result()), fmt) == saved[fmt]


def test_files_carry_no_dates_or_versions(saved: dict[str, bytes]) -> None:
    assert b"CreationDate" not in saved["pdf"] and b"Matplotlib" not in saved["pdf"]
    svg = saved["svg"].decode()
    assert "<dc:date>" not in svg and "Matplotlib" not in svg
    assert "<text" not in svg  # text as paths: looks the same without the font installed
    png = saved["png"]
    assert b"tIME" not in png and b"Software" not in png and b"Matplotlib" not in png


def test_pdf_embeds_truetype_fonts(saved: dict[str, bytes]) -> None:
    assert b"/FontFile2" in saved["pdf"]  # Type 42 (TrueType), not Type 3 outlines
    assert b"DejaVuSans" in saved["pdf"]


@pytest.mark.parametrize("dpi", [72, 300])
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


def test_another_process_writes_the_same_svg(saved: dict[str, bytes]) -> None:
    # Ids in SVG come from a hash salt; a fresh interpreter must reproduce them exactly.
    import subprocess
    import sys

    code = (
        "import io, sys, inometa; from tests.plots_support import cr_result; "
        "b = io.BytesIO(); inometa.plot_forest(cr_result()).savefig(b, format='svg'); "
        "sys.stdout.buffer.write(b.getvalue())"
    )
    root = Path(__file__).parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, check=True
    ).stdout
    assert out == saved["svg"]


def test_figures_pickle() -> None:
    import pickle

    fig = pickle.loads(pickle.dumps(inometa.plot_forest(cr_result())))
    assert save(fig, "png", dpi=20)
