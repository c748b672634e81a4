"""Line-preserving edits of CSV and TOML text: existing bytes are kept, new lines use the
file's line ending, and what is written parses back to what was meant."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inometa.data._textedit import (
    append_records,
    extend_outcomes,
    insert_member,
    line_ending,
    records,
    replace_record,
    split_lines,
    toml_string,
)
from inometa.data._toml import toml_loads

CSV = 'id,quote,n\na,"two\nlines",1\nb,"with ""quotes"", commas",2\n'


def test_records_span_physical_lines_as_read_table_counts_them() -> None:
    found = records(split_lines(CSV))
    assert [(r.line, r.first, r.last) for r in found] == [(1, 0, 0), (2, 1, 2), (4, 3, 3)]
    assert found[2].fields == ("b", 'with "quotes", commas', "2")


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_append_keeps_old_bytes_and_uses_the_file_line_ending(eol: str) -> None:
    text = CSV.replace("\n", eol)
    new, starts = append_records(text, [["c", 'say "hi", twice', "3"], ["d", "", "4"]])
    assert new.startswith(text)
    assert new[len(text) :] == f'c,"say ""hi"", twice",3{eol}d,,4{eol}'
    assert starts == [5, 6]
    assert list(csv.reader(io.StringIO(new, newline="")))[-2][1] == 'say "hi", twice'


def test_append_to_a_file_without_final_newline_adds_one_first() -> None:
    text = CSV.rstrip("\n")
    new, starts = append_records(text, [["c", "x", "3"]])
    assert new == text + "\nc,x,3\n" and starts == [5]


def test_append_keeps_a_byte_order_mark() -> None:
    text = "\ufeff" + CSV
    new, _ = append_records(text, [["c", "x", "3"]])
    assert new.startswith(text) and records(split_lines(new))[0].fields[0] == "id"


def test_replace_record_rewrites_only_that_record() -> None:
    text = CSV.replace("\n", "\r\n")
    target = records(split_lines(text))[1]  # the two-line record
    new = replace_record(text, target, ["a", "one line now", "9"])
    assert new == 'id,quote,n\r\na,one line now,9\r\nb,"with ""quotes"", commas",2\r\n'


def test_replace_the_last_record_without_final_newline_keeps_it_without() -> None:
    text = CSV.rstrip("\n")
    new = replace_record(text, records(split_lines(text))[2], ["b", "x", "2"])
    assert new == CSV.rsplit("\n", 2)[0] + "\nb,x,2"


def test_line_ending_of_a_single_bare_line_defaults_to_newline() -> None:
    assert line_ending(["a,b"]) == "\n" and line_ending(["a\r\n", "b"]) == "\r\n"


TOML = '''# comment
[first]
description = "x"

[[first.member]]
study = "a"
outcomes = ["orr"]
reason = """two
[not.a.header]
lines"""

# a comment that belongs to the next set
[second]
extends = "first"

[[second.member]]
study = "b"
outcomes = ["orr", "cr"]  # trailing comment
reason = "r"
'''


def test_insert_member_goes_after_the_set_last_entry_before_comments() -> None:
    new, line = insert_member(TOML, "first", ["[[first.member]]", 'study = "c"'])
    lines = new.splitlines()
    assert lines[line - 1] == "[[first.member]]" and lines[line - 2] == ""
    assert lines[line - 3] == 'lines"""'
    assert new.replace('\n[[first.member]]\nstudy = "c"\n', "", 1) == TOML


def test_insert_member_at_the_end_of_the_file() -> None:
    new, line = insert_member(TOML, "second", ["[[second.member]]", 'study = "c"'])
    assert new == TOML + '\n[[second.member]]\nstudy = "c"\n'
    assert new.splitlines()[line - 1] == "[[second.member]]"


def test_insert_member_of_an_unknown_set() -> None:
    with pytest.raises(ValueError, match=r"no \[third\] table"):
        insert_member(TOML, "third", ["[[third.member]]"])


def test_extend_outcomes_keeps_the_rest_of_the_line() -> None:
    line = TOML.splitlines().index('outcomes = ["orr", "cr"]  # trailing comment') + 1
    new = extend_outcomes(TOML, line, ["vod", "sct"])
    assert (
        new.splitlines()[line - 1] == 'outcomes = ["orr", "cr", "vod", "sct"]  # trailing comment'
    )
    assert toml_loads(new)["second"]["member"][0]["outcomes"] == ["orr", "cr", "vod", "sct"]


def test_extend_outcomes_after_a_trailing_comma() -> None:
    text = 'outcomes = ["orr", ]\n'
    assert extend_outcomes(text, 1, ["cr"]) == 'outcomes = ["orr", "cr", ]\n'


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # one item per line, trailing comma
        ('outcomes = [\n  "orr",\n]\n', 'outcomes = [\n  "orr",\n  "cr",\n]\n'),
        # no comma after the last item, a comment kept after the added comma
        (
            'outcomes = [  # kept\n    "orr"  # first\n]  # end\n',
            'outcomes = [  # kept\n    "orr",  # first\n    "cr",\n]  # end\n',
        ),
        # blank and comment lines inside, CRLF endings kept
        (
            'outcomes = [\r\n\r\n  # response\r\n  "orr",\r\n  "vod",\r\n]\r\n',
            'outcomes = [\r\n\r\n  # response\r\n  "orr",\r\n  "vod",\r\n  "cr",\r\n]\r\n',
        ),
        # an empty array over two lines: indented two spaces past its key
        ("  outcomes = [\n  ]\n", '  outcomes = [\n    "cr",\n  ]\n'),
    ],
)
def test_extend_outcomes_written_one_per_line(before: str, after: str) -> None:
    text = 'study = "x"\n' + before + "x = 1\n"
    new = extend_outcomes(text, 2, ["cr"])
    assert new == 'study = "x"\n' + after + "x = 1\n"
    assert toml_loads(new)["outcomes"][-1] == "cr"


@pytest.mark.parametrize(
    "text",
    [
        'outcomes = [\n  "orr", "cr",\n]\n',  # two items on a line
        "outcomes = [\n  'orr',\n]\n",  # a literal string
        'outcomes = [\n  "orr",\n',  # never closed
        'outcomes = ["orr",\n  "cr"]\n',  # items on the opening line
    ],
)
def test_extend_outcomes_refuses_other_layouts(text: str) -> None:
    with pytest.raises(ValueError, match="add the outcome by hand"):
        extend_outcomes(text, 1, ["vod"])


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_toml_string_reads_back_as_written(value: str) -> None:
    assert toml_loads(f"key = {toml_string(value)}\n")["key"] == value
