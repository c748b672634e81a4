"""The planted bugs of tests/mutation/run.py still have somewhere to go.

The mutation run is on demand (it takes minutes), so a rewrite that removes a mutant's target
text would go unnoticed until the next run stops on it; twice so far (the one TestResult type,
the intervals written once) a rewrite did exactly that. This checks, in the suite, that each
mutant's text occurs exactly once in its file, so a rewrite carries its mutants along.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mutation.run import MUTANTS

SRC = Path(__file__).resolve().parents[1] / "src" / "inometa"


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_each_mutant_target_occurs_once(mutant) -> None:
    text = (SRC / mutant.file).read_text(encoding="utf-8")
    for original, _ in mutant.edits:
        assert text.count(original) == 1, (mutant.name, original)


def test_mutants_have_distinct_names() -> None:
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names))
