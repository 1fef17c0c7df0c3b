"""The providers' boto3 clients retry in botocore's standard mode unless the
standard AWS environment says otherwise."""

from __future__ import annotations

import pytest

from providers import aws


@pytest.fixture(autouse=True)
def no_retry_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in aws.RETRY_VARIABLES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_client_without_retry_variables_uses_standard_mode_ten_retries() -> None:
    kms = aws.client("kms", "us-east-1")

    assert kms.meta.config.retries == {"mode": "standard", "total_max_attempts": 11}


def test_client_with_retry_variables_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "4")

    kms = aws.client("kms", "us-east-1")

    assert kms.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 4}
