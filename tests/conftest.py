"""Shared fixtures: a started emulator whose AWS environment the test inherits,
and one dev-stack rehearsal per session for the tests that read its report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    # moto would load 1,300 AMIs into every fresh EC2 backend (most of a second
    # per test); nothing here reads images, and RunInstances takes any AMI id.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
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


@dataclass(frozen=True)
class DevRehearsal:
    """One whole dev-stack rehearsal: its exit code, report and work directory."""

    exit_code: int
    report: dict[str, Any]
    workdir: Path


@pytest.fixture(scope="session")
def dev_rehearsal(tmp_path_factory: pytest.TempPathFactory) -> DevRehearsal:
    """The dev stack rehearsed once per session on the realistic profile.

    A rehearsal costs tens of seconds of real time, so every test that only
    reads its report shares this one. Realistic timings cost no more real time
    than fast ones and let the performance guard read meaningful figures.
    """
    from rehearsal.engine.cli import main

    workdir = tmp_path_factory.mktemp("dev-rehearsal")
    exit_code = main(
        ["--stack", "dev", "--profile", "realistic", "--workdir", str(workdir)]
    )
    report = json.loads((workdir / "report.json").read_text())
    return DevRehearsal(exit_code, report, workdir)
