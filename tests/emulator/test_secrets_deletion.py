"""Secrets Manager deletion dates come from the simulated clock, not the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError

from rehearsal.emulator import Emulator

DAY = 86400


def test_delete_secret_recovery_window_dates_on_simulated_clock(
    emulator: Emulator,
) -> None:
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name="admin-password", SecretString="x")["ARN"]
    emulator.clock.advance(2 * DAY)

    reply = secrets.delete_secret(SecretId=arn, RecoveryWindowInDays=7)

    assert reply["DeletionDate"] == datetime(2026, 1, 10, tzinfo=UTC)
    assert reply["ARN"] == arn
    described = secrets.describe_secret(SecretId=arn)
    assert described["DeletedDate"] == datetime(2026, 1, 10, tzinfo=UTC)


def test_delete_secret_default_window_is_thirty_days(emulator: Emulator) -> None:
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name="kmsuser-password", SecretString="x")

    reply = secrets.delete_secret(SecretId="kmsuser-password")

    assert reply["DeletionDate"] == datetime(2026, 1, 31, tzinfo=UTC)


def test_delete_secret_force_removes_it_at_once(emulator: Emulator) -> None:
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name="gone", SecretString="x")

    secrets.delete_secret(SecretId="gone", ForceDeleteWithoutRecovery=True)

    with pytest.raises(ClientError) as raised:
        secrets.describe_secret(SecretId="gone")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_delete_secret_unknown_secret_is_refused(emulator: Emulator) -> None:
    with pytest.raises(ClientError) as raised:
        boto3.client("secretsmanager").delete_secret(
            SecretId="missing", RecoveryWindowInDays=7
        )

    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
