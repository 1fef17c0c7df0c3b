"""The style gate of CI: ruff's lint rules and its formatter over the whole tree.

pyproject.toml holds the rules and what is left out (.venv, build, .rehearsal).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent


def ruff(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *arguments],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    "arguments",
    [("check", "."), ("format", "--check", ".")],
    ids=["check", "format"],
)
def test_ruff_on_project_finds_nothing(arguments: tuple[str, ...]) -> None:
    result = ruff(*arguments)

    assert result.returncode == 0, (
        f"`ruff {' '.join(arguments)}` failed (exit {result.returncode}); run "
        f"`.venv/bin/ruff {' '.join(arguments)}` from {PROJECT_DIR} and fix what "
        f"it names (`ruff format <file>` rewrites a file):\n"
        f"{result.stdout}{result.stderr}"
    )
