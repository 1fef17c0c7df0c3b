"""Fixtures for the emulator tests that start an emulator of their own."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def no_real_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a real ~/.aws (profile, region, credentials) out of boto3 clients.

    The `emulator` fixture does this itself; tests that start an emulator or a
    moto server by hand, and give their clients its address, use this one.
    """
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-creds"))
