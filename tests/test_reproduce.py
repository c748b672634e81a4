"""inometa reproduce: the computation, the written outputs and the command."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import inometa
import inometa.data
from inometa.cli import main
from inometa.lao2025.report import write_reproduction
from inometa.lao2025.reproduce import PUBLISHED_METHOD, Reproduction, reproduce


@pytest.fixture(scope="module")
def rep() -> Reproduction:
    return reproduce("lao2025")


@pytest.fixture(scope="module")
def latest() -> Reproduction:
    return reproduce("latest")


def test_every_published_outcome_is_compared(rep: Reproduction) -> None:
    published = set(inometa.data.load_published()["outcome"])
    assert set(rep.comparison["published_outcome"]) == published
    cr = rep.comparison[rep.comparison["published_outcome"] == "cr"]
    assert list(cr["outcome"]) == ["cr", "cr_cri"]


def test_methods_and_differences(rep: Reproduction) -> None:
    vod = rep.outcomes["vod"]
    o = vod.results["published"].options
    assert (o.transform, o.tau2_method, o.ci_method, o.pi_method) == tuple(
        PUBLISHED_METHOD[key] for key in ("transform", "tau2_method", "ci_method", "pi_method")
    )
    assert vod.results["recommended"].options.method == "glmm"
    row = rep.comparison[rep.comparison["outcome"] == "vod"].iloc[0]
    assert row["difference_pp"] == pytest.approx(
        row["published_method_estimate"] - row["published_estimate"]
    )
    assert row["published_method_estimate"] == pytest.approx(
        100 * vod.results["published"].estimate
    )


def test_explanations(rep: Reproduction) -> None:
    expl = dict(zip(rep.comparison["outcome"], rep.comparison["explanations"], strict=True))
    assert any("does not contain the estimate" in e for e in expl["vod"])
    assert any(e.startswith("Definition:") for e in expl["cr"])
    assert any("Kaplan–Meier" in e for e in expl["os_1y"])
    assert all(any(e.startswith("Method:") for e in expl[o]) for o in ("orr", "sct", "vod"))


def test_survival_rows_are_filled_from_kaplan_meier_rates(rep: Reproduction) -> None:
    # k per time point: the lao2025 members whose reports print a KM rate (survival.csv)
    expected_k = {"os_1y": 4, "os_2y": 3, "os_3y": 2, "os_5y": 1}
    for code, k in expected_k.items():
        oa = rep.outcomes[code]
        assert oa.k == k and set(oa.results) == {"published", "recommended"}
        assert any("round(rate × n)" in n for n in oa.notes)
    # INITIAL-1's 3-year OS 73% of 43 -> 31.39 -> 31 (half up); Kantarjian 2023 40% of 110 -> 44
    os3 = rep.outcomes["os_3y"].studies.set_index("study_id")
    assert os3.loc["stelljes2024", ["events", "total"]].tolist() == [31, 43]
    assert os3.loc["kantarjian2023", ["events", "total"]].tolist() == [44, 110]
    row = rep.comparison.set_index("outcome").loc["os_5y"]
    assert row["k"] == 1 and abs(row["published_method_estimate"] - 100 * 37 / 80) < 1e-9


def test_subgroups_sensitivity_and_small_k(rep: Reproduction) -> None:
    orr = rep.outcomes["orr"]
    assert set(orr.subgroups) == {"setting", "regimen"}
    assert set(orr.subgroups["setting"]["published"].subgroups) == {
        "relapsed/refractory",
        "newly diagnosed",
    }
    assert len(orr.sensitivity) == 26
    assert not orr.bias and any("k = 8 < 10" in n for n in orr.notes)
    assert len(orr.leave_one_out["published"]) == orr.k


def test_subgroup_analyses_include_every_study(rep: Reproduction) -> None:
    # VOD by setting: two studies are in neither setting; they form the block 'other', so the
    # overall row is the VOD analysis itself (k = 8, 47/546), not a k = 6 subset.
    vod = rep.outcomes["vod"]
    sg = vod.subgroups["setting"]["published"]
    assert list(sg.subgroups) == ["newly diagnosed", "relapsed/refractory", "other"]
    assert sg.subgroups["other"].data.labels == ("Jabbour 2024", "Metheny 2024")
    assert "Jabbour 2024 (MRD-positive in remission)" in vod.subgroup_notes["setting"]
    for oa in rep.outcomes.values():
        for by_method in oa.subgroups.values():
            for method, sg in by_method.items():
                overall = sg.to_frame().set_index("subgroup").loc["overall"]
                assert (overall["k"], overall["events"], overall["n"]) == (
                    oa.k,
                    oa.studies["events"].sum(),
                    oa.studies["total"].sum(),
                )
                assert overall["estimate"] == oa.results[method].estimate


def test_written_outputs(rep: Reproduction, tmp_path: Path) -> None:
    files = write_reproduction(rep, tmp_path, figures=False)
    names = {p.name for p in files}
    assert {
        "results.csv",
        "results.md",
        "comparison.csv",
        "manifest.json",
        "report.md",
        "report.html",
        "sensitivity.csv",
        "studies.csv",
    } <= names
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for path, digest in manifest["data_files"].items():
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest
    for rel, digest in manifest["outputs"].items():
        assert hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest() == digest
    report = (tmp_path / "report.md").read_text()
    quote = rep.outcomes["vod"].studies["quote"].iloc[0]
    assert quote[:60] in report.replace("\\|", "|")
    assert "library(metafor)" in report and "Published versus reproduced" in report
    assert "<table>" in (tmp_path / "report.html").read_text()


def _tables(markdown: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """(caption, header, rows) of every table of a report.md."""
    lines = markdown.split("\n")
    tables = []
    for i, line in enumerate(lines[:-1]):
        if line.startswith("| ") and lines[i + 1].startswith("|---"):
            caption = lines[i - 2] if i >= 2 and lines[i - 2].startswith("*") else ""
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("| "):
                    break
                rows.append([c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]])
            tables.append((caption, cells, rows))
    return tables


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        if d.get("id"):
            self.ids.add(str(d["id"]))
        if tag == "a" and str(d.get("href", "")).startswith("#"):
            self.links.append(str(d["href"])[1:])


def test_report_is_navigable_and_readable(latest: Reproduction, tmp_path: Path) -> None:
    from inometa.data import data_dir

    write_reproduction(latest, tmp_path, figures=False)
    md = (tmp_path / "report.md").read_text()
    html = (tmp_path / "report.html").read_text()
    # a table of contents whose every link has its target, one section per outcome
    parser = _Anchors()
    parser.feed(html)
    assert "<nav class='toc'>" in html and len(parser.links) > 10
    assert set(parser.links) <= parser.ids
    assert set(latest.outcomes) <= set(parser.links)
    assert "**Contents**" in md and "- [relapse (relapse)](#relapse)" in md
    for code in latest.outcomes:
        assert f'<a id="{code}"></a>' in md
    # no absolute local path (the data files are listed relative to the data directory)
    for text in (md, html):
        assert str(tmp_path) not in text and str(data_dir().resolve().parent) not in text
    assert "| data/extracted/studies.csv |" in md
    # no raw field name as a column: readable names have no underscores
    raw = {"i2", "tau2", "ci_low", "pi_high", "n_enrolled", "study_id", "k_before"}
    tables = _tables(md)
    assert len(tables) > 20
    for caption, header, _ in tables:
        assert not [h for h in header if "_" in h or h in raw], (caption, header)
    # p-values as journals print them
    assert not re.search(r"p = \d(\.\d+)?e-\d", md) and "p < 0.001" in md
    # the subgroup tables' overall row is the outcome's analysis (every study included):
    # each table is read in its outcome's section
    sections = {code: md.index(f'<a id="{code}"></a>') for code in latest.outcomes}
    checked = 0
    for caption, header, rows in tables:
        if not caption.startswith("*Subgroups by"):
            continue
        at = md.index(caption)
        code = max((c for c, pos in sections.items() if pos < at), key=sections.__getitem__)
        oa = latest.outcomes[code]
        overall = [r for r in rows if r[0] == "overall"]
        assert len(overall) == 1
        assert int(overall[0][header.index("k")]) == oa.k
        assert overall[0][header.index("events / N")] == (
            f"{oa.studies['events'].sum()} / {oa.studies['total'].sum()}"
        )
        checked += 1
    assert checked == sum(len(m) for oa in latest.outcomes.values() for m in oa.subgroups.values())
    # derived counts read yes/no, and seed documents are named as secondary sources
    studies = next(t for t in tables if "derived count" in t[1])
    assert {r[studies[1].index("derived count")] for r in studies[2]} == {"yes", "no"}
    assert not any(r[-1].startswith("seed:") for r in studies[2])


@pytest.mark.parametrize(
    ("script", "files"),
    [
        ("reproduce_lao2025.py", ("results.csv",)),
        ("sensitivity_lao2025.py", ("sensitivity.csv", "leave_one_out.csv")),
    ],
)
def test_analysis_scripts_write_what_the_command_writes(
    rep: Reproduction, tmp_path: Path, script: str, files: tuple[str, ...]
) -> None:
    # analyses/ spells the reproduction out on the public API; its files must not drift
    # from the command's.
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    write_reproduction(rep, tmp_path / "command", figures=False)
    subprocess.run(
        [sys.executable, str(root / "analyses" / script), "--out", str(tmp_path / "script")],
        check=True,
        capture_output=True,
        cwd=root,
    )
    for name in files:
        assert (tmp_path / "script" / name).read_bytes() == (
            tmp_path / "command" / name
        ).read_bytes(), name


def test_bad_format_and_set() -> None:
    with pytest.raises(ValueError, match="valid sets are: lao2025, latest"):
        reproduce("lao2026")


def test_cli_reproduce_without_figures(
    latest: Reproduction,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The command's plumbing; the computation itself is tested above (and not redone here).
    calls = []

    def fake(set_name: str, *, path: object = None) -> Reproduction:
        calls.append((set_name, path))
        return latest

    monkeypatch.setattr("inometa.lao2025.reproduce.reproduce", fake)
    assert main(["reproduce", "--set", "latest", "--out", str(tmp_path), "--no-figures"]) == 0
    assert calls == [("latest", None)]
    out = capsys.readouterr().out
    assert "vod" in out and "files written" in out and (tmp_path / "report.html").is_file()
    assert "What changed since 'lao2025'" in (tmp_path / "report.md").read_text()


def test_figures_are_written_embedded_and_deterministic(
    latest: Reproduction, tmp_path: Path
) -> None:
    from dataclasses import replace
    from types import MappingProxyType

    # Two outcomes keep this fast: ORR (k = 11 in 'latest': funnel with trim-and-fill and
    # Egger) and VOD; every figure kind is drawn.
    small = replace(
        latest, outcomes=MappingProxyType({k: latest.outcomes[k] for k in ("orr", "vod")})
    )
    files = write_reproduction(small, tmp_path / "a", formats=("png", "svg"))
    figs = {p.name for p in files if p.parent.name == "figures"}
    assert {
        "summary_published.png",
        "summary_recommended.svg",
        "forest_vod_published.png",
        "forest_vod_recommended.png",
        "funnel_orr.png",
        "loo_vod_published.png",
        "cumulative_orr_recommended.png",
        "cumulative_vod_published.svg",
        "subgroups_orr_setting_recommended.png",
        "subgroups_vod_regimen_published.svg",
    } <= figs
    html = (tmp_path / "a" / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 10
    # the HTML embeds light screen copies; the 300-dpi files are for manuscripts
    web = tmp_path / "a" / "figures" / "web" / "forest_vod_published.png"
    assert (
        web.stat().st_size
        < (tmp_path / "a" / "figures" / "forest_vod_published.png").stat().st_size
    )
    assert "figures/forest_vod_published.png" in (tmp_path / "a" / "report.md").read_text()
    assert small.outcomes["orr"].bias  # k = 11: small-study effects were assessed
    # a second run writes byte-identical files (no timestamps anywhere but the timings)
    write_reproduction(small, tmp_path / "b", formats=("png", "svg"))
    first = json.loads((tmp_path / "a" / "manifest.json").read_text())["outputs"]
    second = json.loads((tmp_path / "b" / "manifest.json").read_text())["outputs"]
    assert first == second
    with pytest.raises(ValueError, match="valid values are: png, svg, pdf"):
        write_reproduction(small, tmp_path, formats=("gif",))


def test_latest_reports_what_changed(rep: Reproduction, latest: Reproduction) -> None:
    assert rep.baseline is None and rep.changes is None
    assert latest.baseline == "lao2025"
    changes = latest.changes
    assert changes is not None
    vod = changes[changes["outcome"] == "vod"].iloc[0]
    assert vod["k_after"] == latest.outcomes["vod"].k and vod["k_before"] == rep.outcomes["vod"].k
    assert vod["published_before"] == pytest.approx(
        100 * rep.outcomes["vod"].results["published"].estimate
    )
    assert vod["published_change_pp"] == pytest.approx(
        vod["published_after"] - vod["published_before"]
    )
    orr = changes[changes["outcome"] == "orr"].iloc[0]
    assert "Wieduwilt 2025" in orr["added"] and "Wieduwilt 2023 (ASCO)" in orr["dropped"]
    with pytest.raises(ValueError, match="unknown baseline set"):
        reproduce("latest", baseline="lao2024")


def test_cumulative_by_publication_date(latest: Reproduction) -> None:
    import datetime

    from inometa.data import earliest_date

    orr = latest.outcomes["orr"]
    for method, res in orr.results.items():
        table = orr.cumulative[method]
        assert list(table["step"]) == list(range(1, orr.k + 1)) == list(table["k"])
        dates = [earliest_date(d) for d in table["order"]]
        assert dates == sorted(dates)
        # the last step is the analysis of every study
        assert table["estimate"].iloc[-1] == pytest.approx(res.estimate, abs=1e-12)
        assert table["n"].iloc[-1] == orr.studies["total"].sum()
        assert table["change_pp"].iloc[1:].to_numpy() == pytest.approx(
            100 * table["estimate"].diff().iloc[1:].to_numpy()
        )
        # 'new' flags exactly the reports published after lao2025's search date
        cutoff = datetime.date(2024, 12, 2)
        assert list(table["new"]) == [d > cutoff for d in dates]
        assert table["new"].sum() == 4
    # step 3 is the analysis of the three earliest reports, refitted from scratch
    rows = orr.studies.assign(date=[earliest_date(d) for d in orr.studies["publication_date"]])
    first3 = rows.sort_values("date", kind="stable").head(3)
    direct = inometa.metaprop("events", "total", data=first3, labels="label", **PUBLISHED_METHOD)
    assert orr.cumulative["published"]["estimate"].iloc[2] == pytest.approx(direct.estimate)


def test_cumulative_report_says_where_the_evidence_moved(
    latest: Reproduction, tmp_path: Path
) -> None:
    write_reproduction(latest, tmp_path, figures=False)
    cumul = pd.read_csv(tmp_path / "cumulative.csv")
    assert set(cumul["method"]) == {"published", "recommended"}
    assert {"orr", "vod"} <= set(cumul["outcome"])
    report = (tmp_path / "report.md").read_text()
    assert (
        "published after the search date (Agrawal 2025, INO-CD22 2025, MDACC 2025 (ASH), "
        "Wieduwilt 2025) moved it from" in report
    )


def test_report_shows_verification_and_the_denominator_sensitivity(
    rep: Reproduction, tmp_path: Path
) -> None:
    write_reproduction(rep, tmp_path, figures=False)
    studies = pd.read_csv(tmp_path / "studies.csv")
    assert set(studies["verification"]) <= {"verbatim", "derived", "secondary", "unverified"}
    jabbour = studies[(studies["study_id"] == "jabbour2023") & (studies["outcome"] == "orr")]
    assert jabbour["verification"].item() == "secondary"
    denominators = pd.read_csv(tmp_path / "denominators.csv")
    assert set(denominators["outcome"]) == {"orr", "cr_cri"}
    report = (tmp_path / "report.md").read_text()
    assert "| verification |" in report.split("## Studies and sources")[1]
    assert "Denominator sensitivity" in report and "| Jabbour 2023 | 73/74 | 79/80 |" in report
