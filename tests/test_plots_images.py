"""Image regression: drawn figures against committed baseline PNGs.

The figures pin their font (DejaVu Sans, shipped with matplotlib) and their whole style, so
the same matplotlib draws the same pixels on any machine. Text rasterisation can change
between matplotlib releases (they bundle a FreeType build), so baselines are compared only
under the matplotlib minor version that made them (``baseline_images/versions.json``); the
``test`` extra of pyproject.toml pins that minor version, so the README's test command installs
it. Under another version the comparisons skip, except where INOMETA_REQUIRE_BASELINES=1 (CI),
where they fail.
Regenerate after an intended change, and look at the new images before committing:

    INOMETA_UPDATE_BASELINES=1 python -m pytest tests/test_plots_images.py
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
import pytest
from matplotlib.testing.compare import compare_images

import inometa
from inometa.plots import FunnelLine
from tests.conftest import skip_unless_required
from tests.plots_support import (
    S16_EVENTS,
    S16_LABELS,
    S16_N,
    S16_SETTING,
    S16_YEARS,
    cr_result,
    cr_subgroups_with_one_study,
    s16_result,
    s16_subgroups,
)

BASELINES = Path(__file__).parent / "baseline_images"
VERSIONS = BASELINES / "versions.json"
# RMS difference on a 0–255 scale. Identical set-ups give 0; the margin absorbs
# anti-aliasing differences (e.g. CPU-specific rounding) without hiding a moved element,
# which changes the RMS by far more than this.
TOLERANCE = 2.0
DPI = 100
UPDATE = os.environ.get("INOMETA_UPDATE_BASELINES") == "1"


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


CASES: dict[str, Callable[[], Any]] = {
    "forest_cr_meta": lambda: inometa.plot_forest(
        cr_result(ci_method="hk", pi_method="t"),
        show_common=True,
        ref=0.5,
        title="CR/CRi with inotuzumab ozogamicin",
    ),
    "forest_s16_revman5_clipped": lambda: inometa.plot_forest(
        s16_result(),
        preset="revman5",
        columns={"Year": S16_YEARS, "Setting": S16_SETTING},
        sort_by="year",
        xlim=(0.4, 0.9),
    ),
    "summary_jama": lambda: inometa.plot_summary_forest(
        {
            "Overall response": s16_result(),
            "CR/CRi": cr_result(),
            "VOD": inometa.metaprop([3, 5, 10, 1, 2], [60, 80, 120, 30, 40]),
        },
        preset="jama",
    ),
    "funnel_contours": lambda: inometa.plot_funnel(
        s16_result(),
        contours=True,
        extra_points=pd.DataFrame({"yi": [0.1, -0.2], "vi": [0.05, 0.09]}),
        line=FunnelLine(0.9, -1.0, label="Egger's regression"),
    ),
    "subgroup_s16_meta": lambda: inometa.plot_forest(
        s16_subgroups(),
        columns={"Year": S16_YEARS},
        sort_by="year",
        subgroup_tests="all",
        subgroup_title="Setting",
    ),
    "subgroup_single_study_jama": lambda: inometa.plot_forest(
        cr_subgroups_with_one_study(), preset="jama"
    ),
    "leave_one_out_cr": lambda: inometa.plot_leave_one_out(cr_result()),
    "cumulative_cr_revman5": lambda: inometa.plot_cumulative(
        cr_result(),
        order=[2017, 2019, 2024, 2024, 2023, 2025],
        order_title="Year",
        preset="revman5",
    ),
    "funnel_trimfill_egger": lambda: _funnel_trimfill_egger(),
    "baujat_s16": lambda: inometa.plot_baujat(s16_result()),
    "gosh_12_highlight": lambda: inometa.plot_gosh(
        inometa.metaprop(S16_EVENTS[:12], S16_N[:12], labels=S16_LABELS[:12], tau2_method="DL"),
        highlight=S16_LABELS[3],
    ),
    "drapery_s16": lambda: inometa.plot_drapery(s16_result()),
}


def _funnel_trimfill_egger() -> Any:
    import warnings

    res = s16_result()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", inometa.SmallKWarning)
        tf = inometa.trim_and_fill(res, side="right")
        eg = inometa.egger_test(res)
    return inometa.plot_funnel(res, trimfill=tf, egger=eg, contours=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_image_matches_baseline(name: str, tmp_path: Path) -> None:
    actual = tmp_path / f"{name}.png"
    CASES[name]().savefig(actual, dpi=DPI)
    expected = BASELINES / f"{name}.png"
    if UPDATE:
        BASELINES.mkdir(exist_ok=True)
        shutil.copyfile(actual, expected)
        VERSIONS.write_text(
            json.dumps({"matplotlib": _minor(matplotlib.__version__)}, indent=2) + "\n"
        )
        return
    if not expected.exists():
        pytest.fail(f"no baseline {expected.name}; create it with INOMETA_UPDATE_BASELINES=1")
    made_with = json.loads(VERSIONS.read_text())["matplotlib"]
    if made_with != _minor(matplotlib.__version__):
        skip_unless_required(
            "INOMETA_REQUIRE_BASELINES",
            f"baselines were drawn with matplotlib {made_with}, this is "
            f"{matplotlib.__version__}; regenerate them with INOMETA_UPDATE_BASELINES=1",
        )
    error = compare_images(str(expected), str(actual), tol=TOLERANCE)
    assert error is None, error


def test_every_baseline_has_a_case() -> None:
    assert {p.stem for p in BASELINES.glob("*.png")} == set(CASES)


def test_the_test_extra_pins_the_baselines_matplotlib() -> None:
    # pip install -e ".[test]" must install the matplotlib the baselines were drawn with
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the tomli backport, a dependency there
        import tomli as tomllib

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    made_with = json.loads(VERSIONS.read_text())["matplotlib"]
    major, minor = (int(v) for v in made_with.split("."))
    pin = f"matplotlib>={made_with},<{major}.{minor + 1}"
    assert pin in pyproject["project"]["optional-dependencies"]["test"]
