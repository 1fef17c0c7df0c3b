"""The instance's `aws` simulator retries throttling and 5xx like the real CLI."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from rehearsal.emulator import Emulator
from rehearsal.emulator.faults import Draw

from .test_ssm_run import aws_managed_policies, online_instance, run

READ_SECRET = (
    "aws secretsmanager get-secret-value --secret-id admin-password "
    "--query SecretString --output text"
)


__all__ = ["aws_managed_policies"]


def script_draws(emulator: Emulator, *draws: Draw) -> None:
    """The next AWS calls get these faults (SendCommand first), then none."""
    planned: Iterator[Draw] = iter(draws)
    emulator.faults.draw = lambda: next(planned, None)  # type: ignore[method-assign]


@pytest.fixture
def instance_id(emulator: Emulator) -> str:
    boto3.client("secretsmanager").create_secret(
        Name="admin-password", SecretString="s3cretPassw0rd"
    )
    return online_instance(emulator)


def test_aws_simulator_retries_throttling_and_internal_errors(
    emulator: Emulator, instance_id: str
) -> None:
    script_draws(emulator, None, "throttled", "internal")

    result = run(emulator, instance_id, READ_SECRET)

    assert result["Status"] == "Success"
    assert result["StandardOutputContent"] == "s3cretPassw0rd\n"


def test_aws_simulator_gives_up_after_aws_max_attempts(
    emulator: Emulator, instance_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    script_draws(emulator, None, "throttled", "throttled")

    result = run(emulator, instance_id, READ_SECRET)

    assert (result["Status"], result["ResponseCode"]) == ("Failed", 254)
    assert (
        "(ThrottlingException) when calling the GetSecretValue operation"
        in (result["StandardErrorContent"])
    )
