"""The denominator sensitivity analysis of the lao2025 reproduction (issue 22): each uncertain
count replaced by its alternative reading, pooled again.

Reference values: tests/reference/metafor_denominator_reference.R (metafor, published method:
raw proportions, DerSimonian–Laird, Wald CI), committed beside the JSON it writes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from inometa.data import analysis_set
from inometa.lao2025.config import DENOMINATOR_ALTERNATIVES, PUBLISHED_METHOD
from inometa.lao2025.reproduce import denominator_sensitivity

from .conftest import TOL

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "metafor_denominator_reference.json").read_text()
)
OUTCOMES = sorted(REFERENCE["outcomes"])


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_the_reference_pools_the_counts_of_the_shipped_set(outcome: str) -> None:
    # The R script hard-codes its counts; when the data move, regenerate it.
    ref = REFERENCE["outcomes"][outcome]
    rows = analysis_set("lao2025", outcome)
    recorded = ref["variants"]["recorded"]
    assert list(rows["study_id"]) == ref["study"]
    assert list(rows["events"]) == recorded["xi"] and list(rows["total"]) == recorded["ni"]
    for alt in DENOMINATOR_ALTERNATIVES:
        variant = ref["variants"][alt.study]
        i = ref["study"].index(alt.study)
        assert (variant["xi"][i], variant["ni"][i]) == (alt.events, alt.total)


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_published_method_matches_metafor(outcome: str) -> None:
    ref: dict[str, Any] = REFERENCE["outcomes"][outcome]["variants"]
    table = denominator_sensitivity(
        analysis_set("lao2025", outcome), outcome, {"published": PUBLISHED_METHOD}
    )
    assert table is not None
    assert sorted(table["study_id"]) == sorted(a.study for a in DENOMINATOR_ALTERNATIVES)
    close = lambda a, b: math.isclose(a, b, rel_tol=TOL["closed_form"])  # noqa: E731
    for row in table.itertuples():
        base, alt = ref["recorded"], ref[row.study_id]
        assert close(row.estimate, base["estimate"])
        assert close(row.ci_low, base["ci_low"]) and close(row.ci_high, base["ci_high"])
        assert close(row.estimate_alt, alt["estimate"])
        assert close(row.ci_low_alt, alt["ci_low"]) and close(row.ci_high_alt, alt["ci_high"])
        assert math.isclose(row.change_pp, 100 * (alt["estimate"] - base["estimate"]), rel_tol=1e-9)


def test_jabbour2023_alternative_is_79_of_80_and_moves_orr_up() -> None:
    table = denominator_sensitivity(analysis_set("lao2025", "orr"), "orr")
    assert table is not None
    row = table[(table["study_id"] == "jabbour2023") & (table["method"] == "recommended")]
    assert (row["recorded"].item(), row["alternative"].item()) == ("73/74", "79/80")
    # 79/80 (98.75%) is further from the pooled ~84% than 73/74 (98.65%), with more weight
    assert row["change_pp"].item() > 0


def test_outcomes_without_an_uncertain_count_have_no_table() -> None:
    assert denominator_sensitivity(analysis_set("lao2025", "vod"), "vod") is None
