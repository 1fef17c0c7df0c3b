"""The style gate of CI: ruff's lint rules, its formatter and mypy over the tree.

pyproject.toml holds the rules and what is left out (.venv, build, .rehearsal).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent


def tool(name: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", name, *arguments],
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
    result = tool("ruff", *arguments)

    assert result.returncode == 0, (
        f"`ruff {' '.join(arguments)}` failed (exit {result.returncode}); run "
        f"`.venv/bin/ruff {' '.join(arguments)}` from {PROJECT_DIR} and fix what "
        f"it names (`ruff format <file>` rewrites a file):\n"
        f"{result.stdout}{result.stderr}"
    )


# Files named on the command line escape pyproject's exclude; a directory does not.
APP_STACK = tuple(
    str(path.relative_to(PROJECT_DIR))
    for path in sorted((PROJECT_DIR / "examples" / "app-stack").glob("*.py"))
)


@pytest.mark.parametrize(
    "arguments",
    [(".",), APP_STACK],
    ids=["program", "app-stack"],
)
def test_mypy_on_project_finds_nothing(arguments: tuple[str, ...]) -> None:
    result = tool("mypy", *arguments)

    assert result.returncode == 0, (
        f"`mypy {' '.join(arguments)}` failed (exit {result.returncode}); run "
        f"`.venv/bin/mypy {' '.join(arguments)}` from {PROJECT_DIR} and fix the "
        f"type errors it names:\n{result.stdout}{result.stderr}"
    )
