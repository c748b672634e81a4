"""The project's promises to a newcomer: the README's commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_has_two_commands() -> None:
    blocks = _bash_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 2
    assert "pytest" in blocks[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_cmd = _bash_blocks((ROOT / "README.md").read_text())[1]
    assert test_cmd in (ROOT / ".ci" / "run").read_text()


def test_readme_main_job_is_reproduce() -> None:
    main_cmd = _bash_blocks((ROOT / "README.md").read_text())[0]
    assert main_cmd.endswith("inometa reproduce")


def test_readme_python_examples_run(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.delenv("INOMETA_DATA", raising=False)
    monkeypatch.chdir(tmp_path)  # the examples run from any folder; forest.pdf is written here
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    namespace: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the k < 10 warnings the examples mention
        for block in blocks:
            exec(compile(block, "README.md", "exec"), namespace)
    assert (tmp_path / "forest.pdf").is_file()


def test_a_required_prerequisite_fails_instead_of_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import skip_unless_required

    monkeypatch.setenv("INOMETA_REQUIRE_SHARED", "1")
    with pytest.raises(pytest.fail.Exception, match="INOMETA_REQUIRE_SHARED=1"):
        skip_unless_required("INOMETA_REQUIRE_SHARED", "shared reference not found")
    monkeypatch.delenv("INOMETA_REQUIRE_SHARED")
    with pytest.raises(pytest.skip.Exception, match="shared reference not found"):
        skip_unless_required("INOMETA_REQUIRE_SHARED", "shared reference not found")


def test_ci_requires_every_prerequisite_that_could_skip() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    for flag in ("INOMETA_REQUIRE_R", "INOMETA_REQUIRE_SHARED", "INOMETA_REQUIRE_BASELINES"):
        assert f"export {flag}=1" in ci
