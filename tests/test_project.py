"""The project's promises to a newcomer: the README's commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

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
