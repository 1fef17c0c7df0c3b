"""Shared fixtures: a started emulator whose AWS environment the test inherits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rehearsal.emulator import Emulator

_NEUTRALISED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


def _started(
    profile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Emulator]:
    emulator = Emulator(profile=profile, workdir=tmp_path / "emulator")
    emulator.workdir.mkdir(parents=True, exist_ok=True)
    emulator.start()
    for name in _NEUTRALISED:
        monkeypatch.delenv(name, raising=False)
    # A real ~/.aws must not leak a profile, region or credentials into tests.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-creds"))
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """A started emulator on the fast timing profile."""
    yield from _started("fast", tmp_path, monkeypatch)


@pytest.fixture
def realistic_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Emulator]:
    """A started emulator on the realistic timing profile."""
    yield from _started("realistic", tmp_path, monkeypatch)
