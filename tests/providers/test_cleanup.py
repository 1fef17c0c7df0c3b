"""`python -m providers.cleanup`: the key store record destroy left, removed later."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from providers.cleanup import EXIT_DELETED, EXIT_KEYS_REMAIN, main
from rehearsal.emulator import Emulator
from tests.emulator._cloudhsm_setup import ClusterSetup
from tests.emulator.test_kms_key_stores import (
    DAY,
    connect,
    create_store,
    create_store_key,
    ready_cluster,
)


@pytest.fixture
def connected_store(emulator: Emulator) -> str:
    cluster: ClusterSetup = ready_cluster(emulator)
    store_id = create_store(cluster)
    assert connect(cluster, store_id)["ConnectionState"] == "CONNECTED"
    return store_id


def store_exists(store_id: str) -> bool:
    try:
        boto3.client("kms").describe_custom_key_stores(CustomKeyStoreId=store_id)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "CustomKeyStoreNotFoundException"
        return False
    return True


def test_main_pending_key_says_its_date_and_keeps_the_store(
    emulator: Emulator, connected_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key_id = create_store_key(connected_store)
    boto3.client("kms").schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)

    exit_code = main(["--custom-key-store-id", connected_store])

    error = capsys.readouterr().err
    assert exit_code == EXIT_KEYS_REMAIN
    assert f"Custom key store {connected_store} still holds 1 KMS key(s)" in error
    assert f"key {key_id}: PendingDeletion, deleted by KMS on 2026-01-31" in error
    assert "again after 2026-01-31" in error
    assert store_exists(connected_store)


def test_main_thirty_days_later_disconnects_and_deletes_the_store(
    emulator: Emulator, connected_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key_id = create_store_key(connected_store)
    boto3.client("kms").schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)
    emulator.clock.advance(30 * DAY)

    exit_code = main(["--custom-key-store-id", connected_store])

    assert exit_code == EXIT_DELETED
    assert capsys.readouterr().out == f"Custom key store {connected_store} deleted.\n"
    assert not store_exists(connected_store)


def test_main_key_not_scheduled_for_deletion_is_refused(
    emulator: Emulator, connected_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key_id = create_store_key(connected_store)

    exit_code = main(["--custom-key-store-id", connected_store])

    error = capsys.readouterr().err
    assert exit_code == EXIT_KEYS_REMAIN
    assert f"Key(s) {key_id} are not scheduled for deletion" in error
    assert "aws kms schedule-key-deletion" in error
    assert store_exists(connected_store)


def test_main_store_already_gone_is_nothing_to_do(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code = main(["--custom-key-store-id", "cks-0123456789abcdef0"])

    assert exit_code == EXIT_DELETED
    assert "does not exist: nothing to do" in capsys.readouterr().out


def test_main_malformed_store_id_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--custom-key-store-id", "my-store"])

    assert exited.value.code == 2
    assert "'my-store' is not a custom key store id" in capsys.readouterr().err
