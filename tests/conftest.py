"""Shared fixtures: a started emulator whose AWS environment the test inherits,
and one dev-stack rehearsal per session for the tests that read its report."""

from __future__ import annotations

import contextlib
import fcntl
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
def dev_rehearsal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> DevRehearsal:
    """The dev stack rehearsed once per test run on the realistic profile.

    A rehearsal costs tens of seconds of real time, so every test that only
    reads its report shares this one, across pytest-xdist workers too (the
    first worker to need it runs it, the others wait for its report).
    Realistic timings cost no more real time than fast ones and let the
    performance guard read meaningful figures.
    """
    shared = tmp_path_factory.getbasetemp()
    if hasattr(request.config, "workerinput"):
        shared = shared.parent  # the run's directory, common to every worker
    workdir = shared / "dev-rehearsal"
    with _exclusive(shared / "dev-rehearsal.lock"):
        if not (workdir / "exit_code").is_file():
            exit_code = _rehearse_dev_stack(workdir)
            (workdir / "exit_code").write_text(str(exit_code))
    report = json.loads((workdir / "report.json").read_text())
    return DevRehearsal(int((workdir / "exit_code").read_text()), report, workdir)


def _rehearse_dev_stack(workdir: Path) -> int:
    from rehearsal.engine.cli import main

    return main(["--stack", "dev", "--profile", "realistic", "--workdir", str(workdir)])


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
