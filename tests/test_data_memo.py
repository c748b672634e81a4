"""The data folder is read once per content: every edit is seen, nothing handed out is shared.

A reproduction reads the extracted tables some 80 times; :mod:`inometa.data._memo` keeps the
checked tables keyed by the bytes of the files. These tests edit a copy of the shipped data
between reads, the way a user editing outcomes.csv in a notebook would.
"""

from __future__ import annotations

from pathlib import Path

from inometa.data import analysis_set, load_extracted, validate
from inometa.data.checks import collect

from .add_support import copy_data


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_an_edit_between_reads_is_seen(tmp_path: Path) -> None:
    data = copy_data(tmp_path)
    before = load_extracted(data)
    row = before[(before.study_id == "kantarjian2013") & (before.outcome == "sct")].iloc[0]
    assert int(row.events) == 36
    # Same length, so size and (on a coarse clock) modification time could stay the same.
    _edit(data / "outcomes.csv", "kantarjian2013,sct,36,", "kantarjian2013,sct,35,")
    after = load_extracted(data)
    row = after[(after.study_id == "kantarjian2013") & (after.outcome == "sct")].iloc[0]
    assert int(row.events) == 35


def test_an_error_introduced_later_is_reported(tmp_path: Path) -> None:
    data = copy_data(tmp_path)
    assert validate(data).ok
    _edit(data / "outcomes.csv", "kantarjian2013,sct,36,90,", "kantarjian2013,sct,91,90,")
    report = validate(data)
    assert not report.ok
    assert any(i.file == "outcomes.csv" and "91" in str(i) for i in report.errors)


def test_a_new_file_in_the_folder_is_seen(tmp_path: Path) -> None:
    # An interrupted update leaves a journal: validate must report it even though the
    # tables themselves did not change.
    data = copy_data(tmp_path)
    assert validate(data).ok
    (data / ".inometa-journal.json").write_text("{}", encoding="utf-8")
    assert any(i.file == ".inometa-journal.json" for i in validate(data).errors)


def test_what_is_handed_out_is_a_copy(tmp_path: Path) -> None:
    data = copy_data(tmp_path)
    tables, specs, _ = collect(data)
    assert tables is not None
    tables.outcomes.frame.loc[:, "events"] = "0"
    specs.clear()
    again, specs_again, _ = collect(data)
    assert again is not None and specs_again
    assert (again.outcomes.frame["events"] != "0").any()
    first = load_extracted(data)
    first.loc[:, "events"] = -1
    assert (load_extracted(data)["events"] >= 0).all()
    orr = analysis_set("lao2025", "orr", path=data)
    orr.loc[:, "events"] = -1
    assert (analysis_set("lao2025", "orr", path=data)["events"] >= 0).all()


def test_a_file_rewritten_while_read_is_not_filed_under_its_old_bytes() -> None:
    from collections import OrderedDict

    from inometa.data._memo import memoised

    keys = iter([b"old", b"new", b"old", b"old", b"old"])
    store: OrderedDict[bytes, str] = OrderedDict()
    # The bytes changed during the first read: its result is returned but not kept.
    assert memoised(store, lambda: next(keys), lambda: "read while rewritten") == (
        "read while rewritten"
    )
    assert not store
    # A read with the bytes unchanged is kept and then served.
    assert memoised(store, lambda: next(keys), lambda: "stable") == "stable"
    assert memoised(store, lambda: next(keys), lambda: "never computed") == "stable"
