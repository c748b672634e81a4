"""The search of the shipped candidate pools (lao2025/reconstruction.py), its text and table
(report/reconstruction.py) and the report section "Can the published numbers be reached?".

Targets with a known answer are made by :func:`inometa.metaprop` on a chosen subset and
rounded as a paper would print them; the published values are read from
data/published/lao2025.csv (the abstract of Lao et al. 2025)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

import inometa
from inometa.data import earliest_date, load_extracted, load_published, load_survival
from inometa.lao2025.reconstruction import (
    RECONSTRUCTABLE,
    SEARCH_DATE,
    candidate_pool,
    published_target,
    reconstruct_outcome,
    reconstruct_published,
)
from inometa.lao2025.report import write_reproduction
from inometa.lao2025.reproduce import Reproduction, reproduce
from inometa.report.reconstruction import (
    reconstruction_summary,
    reconstruction_table,
    verdict,
)

CAND = pd.DataFrame(
    {
        "label": ["A", "B", "C", "D", "E"],
        "events": [10, 30, 18, 40, 25],
        "total": [40, 50, 30, 60, 70],
    }
)


def _target(
    rows: list[int], keys: tuple[str, ...] = ("estimate", "ci_low", "ci_high", "i2")
) -> dict[str, float]:
    d = inometa.metaprop(
        CAND["events"].to_numpy()[rows],
        CAND["total"].to_numpy()[rows],
        transform="raw",
        tau2_method="DL",
    ).to_dict()
    return {k: round(100 * d[k], 1) for k in keys}


def _search(target: dict[str, float]) -> inometa.ReconstructResult:
    return inometa.reconstruct(CAND, target, transforms=["raw"], tau2_methods=["DL"])


# --- the candidate pools and the published targets -------------------------------------


@pytest.mark.parametrize("outcome", RECONSTRUCTABLE)
def test_pool_holds_every_extracted_row_of_the_outcome_before_the_search_date(
    outcome: str,
) -> None:
    pool = candidate_pool(outcome)
    if outcome.startswith("os_"):  # Kaplan–Meier rates, from survival.csv
        km = load_survival()
        rows = km[km["outcome"] == outcome].merge(
            load_extracted().drop_duplicates("study_id")[["study_id", "publication_date"]]
        )
    else:
        rows = load_extracted()
    wanted = ("cr", "cr_cri") if outcome == "cr" else (outcome,)
    rows = rows[rows["outcome"].isin(wanted)]
    before = rows["publication_date"].astype(str).map(earliest_date) <= SEARCH_DATE
    assert len(pool) == int(before.sum()) > 0
    assert pool["label"].is_unique
    assert set(pool["outcome"]) <= set(wanted)
    assert pool["events"].le(pool["total"]).all()


def test_pool_for_cr_offers_strict_cr_and_cr_cri_and_later_dates_widen_it() -> None:
    pool = candidate_pool("cr")
    assert set(pool["outcome"]) == {"cr", "cr_cri"}
    later = candidate_pool("cr", on_or_before=dt.date(2100, 1, 1))
    assert len(later) >= len(pool)


def test_published_target_is_the_printed_row() -> None:
    pub = load_published().set_index("outcome")
    for outcome in RECONSTRUCTABLE:
        got = published_target(outcome, with_pi=True)
        for key in ("estimate", "ci_low", "ci_high", "i2", "pi_low", "pi_high"):
            if pd.isna(pub.loc[outcome, key]):  # survival: no PI printed
                assert key not in got
            else:
                assert got[key] == float(pub.loc[outcome, key])
    assert published_target("vod") == {"estimate": 6.2, "ci_low": 3.8, "ci_high": 8.6, "i2": 68.0}


def test_survival_pools_are_kaplan_meier_pseudo_counts() -> None:
    pool = candidate_pool("os_3y").set_index("study_id")
    # 3-year OS 40% of 110 (Kantarjian 2023) and 73% of 43 (INITIAL-1), events half up
    assert pool.loc["kantarjian2023", ["events", "total"]].tolist() == [44, 110]
    assert pool.loc["stelljes2024", ["events", "total"]].tolist() == [31, 43]
    one = reconstruct_outcome("os_5y")  # a single report: no set of two to pool
    assert one.n_searched == 0 and one.matches.empty
    assert verdict(one).startswith("not searched: fewer candidate cohorts")


def test_outcomes_without_counts_or_unknown_are_refused() -> None:
    with pytest.raises(ValueError, match="no extracted counts to search for 'cr_cri'"):
        reconstruct_outcome("cr_cri")
    with pytest.raises(ValueError, match="unknown outcome 'pfs'"):
        candidate_pool("pfs")
    with pytest.raises(ValueError, match="no published values for 'cr_cri'"):
        published_target("cr_cri")


def test_shipped_orr_cannot_be_reached_and_says_why() -> None:
    res = reconstruct_outcome("orr")
    assert res.matches.empty
    assert res.feasible is False
    # the narrowest DL CI at the printed estimate and I² is wider than the printed 6.4 points
    raw = res.feasibility.set_index("transform").loc["raw"]
    assert raw["min_ci_width"] > raw["published_ci_width"] == pytest.approx(6.4)
    assert verdict(res).startswith("not reached: the printed CI is narrower")


def test_double_counting_searches_more_sets() -> None:
    one = reconstruct_outcome("sct", transforms=["raw"], tau2_methods=["DL"])
    two = reconstruct_outcome("sct", transforms=["raw"], tau2_methods=["DL"], double_count=True)
    assert two.n_searched > one.n_searched


def test_reconstruct_published_skips_a_search_over_its_time_cap() -> None:
    found = reconstruct_published(max_seconds=1e-9)
    assert list(found) == list(RECONSTRUCTABLE)
    # CR's 46,057 sets exceed the timed pilot chunk; the smaller pools are searched whole in it
    assert isinstance(found["cr"], str) and found["cr"].startswith("not searched:")
    assert isinstance(found["relapse"], inometa.ReconstructResult)


# --- verdicts, table and summary -------------------------------------------------------


def test_verdict_of_a_planted_set_is_reached() -> None:
    res = _search(_target([0, 1, 3]))
    assert ("A", "B", "D") in [tuple(s) for s in res.matches["studies"]]
    assert verdict(res).startswith("reached (")


def test_verdict_of_unreachable_targets() -> None:
    # every proportion here is below 67%: an estimate of 95% is out of reach
    far = _search({"estimate": 95.0, "ci_low": 94.0, "ci_high": 96.0, "i2": 50.0})
    assert far.matches.empty and far.feasible is False
    assert verdict(far) == "not reached: no set gives the printed estimate and I² together"
    assert verdict(_search({"estimate": 95.0})) == "not reached"


def test_table_and_summary_name_what_was_found() -> None:
    planted = _search(_target([0, 1, 3]))
    far = _search({"estimate": 95.0, "ci_low": 94.0, "ci_high": 96.0, "i2": 50.0})
    table = reconstruction_table({"planted": planted, "far": far}).set_index("outcome")
    assert table.loc["planted", "matches"] == len(planted.matches) >= 1
    assert table.loc["planted", "sets_searched"] == 26  # 2^5 minus the empty and single sets
    assert table.loc["far", "matches"] == 0
    assert table.loc["far", "feasible"] == False  # noqa: E712 (a numpy bool in the table)
    assert table.loc["far", "verdict"] == verdict(far)
    assert "no set reaches both" in table.loc["far", "pool_lacks"]
    text = reconstruction_summary(planted, title="planted")
    assert text.startswith("planted: target estimate")
    assert "A; B; D" in text
    assert "the pool lacks: nothing" in text


# --- the report section ----------------------------------------------------------------


@pytest.fixture(scope="module")
def rep() -> Reproduction:
    return reproduce("lao2025")


def _section(report: str) -> str:
    start = report.index("## Can the published numbers be reached?")
    return report[start : report.index("\n## ", start + 3)]


def test_report_answers_per_outcome(rep: Reproduction, tmp_path: Path) -> None:
    assert rep.reconstruction is not None
    assert set(rep.reconstruction) == set(RECONSTRUCTABLE)
    write_reproduction(rep, tmp_path, figures=False)
    section = _section((tmp_path / "report.md").read_text())
    assert "one report per cohort" in section and "02 December 2024" in section
    names = dict(zip(rep.published["outcome"], rep.published["outcome_as_published"], strict=True))
    for outcome in RECONSTRUCTABLE:
        res = rep.reconstruction[outcome]
        assert isinstance(res, inometa.ReconstructResult)
        row = next(
            line for line in section.splitlines() if line.startswith(f"| {names[outcome]} |")
        )
        assert f"| {verdict(res)} |" in row
    assert "Can the published numbers be reached?" in (tmp_path / "report.html").read_text()


def test_report_says_which_outcome_was_not_searched(rep: Reproduction, tmp_path: Path) -> None:
    reason = "not searched: it would take about 3 hours"
    assert rep.reconstruction is not None
    bounded = dataclasses.replace(rep, reconstruction={**rep.reconstruction, "cr": reason})
    write_reproduction(bounded, tmp_path, figures=False)
    section = _section((tmp_path / "report.md").read_text())
    assert reason in section
    assert section.count("| CR rate |") == 1
