"""KeyStoreConnection against the emulator's KMS custom key stores."""

from __future__ import annotations

import boto3
import dill
import pytest
from botocore.exceptions import ClientError

from providers.errors import KeyStoreConnectionError, WaitTimeout
from providers.key_store_connection import (
    CONNECTION_ERROR_ADVICE,
    KeyStoreConnectionProvider,
)
from rehearsal.emulator import Emulator
from tests.providers.conftest import (
    Chain,
    add_hsm_while_creating_kmsuser,
    create_key_store,
    set_faults,
)
from tests.providers.results import outs_of


def inputs(store_id: str, **extra: object) -> dict:
    return {
        "custom_key_store_id": store_id,
        "timeout_seconds": 3600,
        "max_connect_attempts": 3,
        **extra,
    }


def live_state(store_id: str) -> str:
    reply = boto3.client("kms").describe_custom_key_stores(CustomKeyStoreId=store_id)
    return str(reply["CustomKeyStores"][0]["ConnectionState"])


def calls(emulator: Emulator, operation: str) -> int:
    return [c["operation"] for c in emulator.calls.to_json()].count(operation)


def test_create_connects_and_waits_for_connected(
    emulator: Emulator, key_store: str
) -> None:
    result = KeyStoreConnectionProvider().create(inputs(key_store))

    assert outs_of(result)["connection_state"] == "CONNECTED"
    assert live_state(key_store) == "CONNECTED"
    assert result.id == f"{key_store}-connection"


def test_create_again_after_interrupted_create_adopts_the_connection(
    emulator: Emulator, key_store: str
) -> None:
    boto3.client("kms").connect_custom_key_store(CustomKeyStoreId=key_store)

    KeyStoreConnectionProvider().create(inputs(key_store))
    KeyStoreConnectionProvider().create(inputs(key_store))

    assert live_state(key_store) == "CONNECTED"
    assert calls(emulator, "ConnectCustomKeyStore") == 1


def test_create_fails_user_not_found_when_kmsuser_misses_second_hsm(
    activated_cluster: Chain,
) -> None:
    chain = activated_cluster
    add_hsm_while_creating_kmsuser(chain)
    store_id = create_key_store(chain)

    with pytest.raises(KeyStoreConnectionError) as raised:
        KeyStoreConnectionProvider().create(inputs(store_id))

    assert raised.value.error_code == "USER_NOT_FOUND"
    assert str(raised.value) == (
        f"Custom key store {store_id} failed to connect: USER_NOT_FOUND. "
        + CONNECTION_ERROR_ADVICE["USER_NOT_FOUND"]
    )
    assert calls(chain.emulator, "ConnectCustomKeyStore") == 1


def test_create_fails_invalid_credentials_with_wrong_password(
    two_hsm_cluster: Chain,
) -> None:
    store_id = create_key_store(two_hsm_cluster, password="NotTheKmsUser1")

    with pytest.raises(KeyStoreConnectionError) as raised:
        KeyStoreConnectionProvider().create(inputs(store_id))

    assert raised.value.error_code == "INVALID_CREDENTIALS"
    assert "does not match the kmsuser password" in str(raised.value)
    assert "NotTheKmsUser1" not in str(raised.value)


def test_create_retries_network_errors_up_to_max_attempts(
    emulator: Emulator, key_store: str
) -> None:
    set_faults(emulator, connect_error="NETWORK_ERRORS")

    with pytest.raises(KeyStoreConnectionError) as raised:
        KeyStoreConnectionProvider().create(inputs(key_store, max_connect_attempts=3))

    assert str(raised.value).startswith(
        f"Custom key store {key_store} failed to connect: NETWORK_ERRORS. Failed 3 "
        "times. Network errors kept KMS from reaching the cluster."
    )
    assert calls(emulator, "ConnectCustomKeyStore") == 3
    assert calls(emulator, "DisconnectCustomKeyStore") == 2


def test_create_succeeds_when_a_transient_error_clears(
    emulator: Emulator, key_store: str
) -> None:
    set_faults(emulator, connect_error="INTERNAL_ERROR")
    with pytest.raises(KeyStoreConnectionError):
        KeyStoreConnectionProvider().create(inputs(key_store, max_connect_attempts=1))
    assert live_state(key_store) == "FAILED"
    set_faults(emulator)

    outs = outs_of(KeyStoreConnectionProvider().create(inputs(key_store)))

    assert outs["connection_state"] == "CONNECTED"


def test_create_times_out_when_connection_is_stuck(
    emulator: Emulator, key_store: str
) -> None:
    set_faults(emulator, stuck={"key_store": "CONNECTING"})

    with pytest.raises(WaitTimeout) as raised:
        KeyStoreConnectionProvider().create(inputs(key_store, timeout_seconds=1800))

    assert str(raised.value).startswith(
        f"Custom key store {key_store} connection: still CONNECTING after waiting "
        "30m00s, past the deadline. Connecting can take 30 minutes."
    )


def test_create_on_missing_store_says_so(emulator: Emulator, key_store: str) -> None:
    with pytest.raises(KeyStoreConnectionError) as raised:
        KeyStoreConnectionProvider().create(inputs("cks-0000000000000000a"))

    assert raised.value.error_code == "CUSTOM_KEY_STORE_NOT_FOUND"
    assert "does not exist in this account and Region" in str(raised.value)


def test_read_diff_update_reconnect_after_drift(
    emulator: Emulator, key_store: str
) -> None:
    provider = KeyStoreConnectionProvider()
    outs = outs_of(provider.create(inputs(key_store)))
    assert provider.diff("x", outs, inputs(key_store)).changes is False

    kms = boto3.client("kms")
    kms.disconnect_custom_key_store(CustomKeyStoreId=key_store)
    refreshed = outs_of(provider.read("x", outs))
    assert refreshed["connection_state"] == "DISCONNECTING"

    diff = provider.diff("x", refreshed, inputs(key_store))
    assert (diff.changes, diff.replaces) == (True, [])
    updated = outs_of(provider.update("x", refreshed, inputs(key_store)))
    assert updated["connection_state"] == "CONNECTED"
    assert live_state(key_store) == "CONNECTED"


def test_diff_new_store_id_replaces(key_store: str) -> None:
    olds = {**inputs(key_store), "connection_state": "CONNECTED"}

    diff = KeyStoreConnectionProvider().diff("x", olds, inputs("cks-0000000000000000b"))

    assert diff.replaces == ["custom_key_store_id"]
    assert diff.delete_before_replace is True


def test_delete_disconnects_and_tolerates_repeats_and_missing_store(
    emulator: Emulator, key_store: str
) -> None:
    provider = dill.loads(dill.dumps(KeyStoreConnectionProvider(), recurse=True))
    outs = outs_of(provider.create(inputs(key_store)))

    provider.delete("x", outs)
    assert live_state(key_store) == "DISCONNECTED"
    provider.delete("x", outs)
    boto3.client("kms").delete_custom_key_store(CustomKeyStoreId=key_store)
    provider.delete("x", outs)

    assert calls(emulator, "DisconnectCustomKeyStore") == 1


def store_key(store_id: str) -> str:
    reply = boto3.client("kms").create_key(
        Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id
    )
    return str(reply["KeyMetadata"]["KeyId"])


def test_delete_says_when_the_record_left_behind_can_go(
    emulator: Emulator, key_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outs = outs_of(KeyStoreConnectionProvider().create(inputs(key_store)))
    key_id = store_key(key_store)
    boto3.client("kms").schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)

    KeyStoreConnectionProvider().delete("x", outs)

    logged = capsys.readouterr().err
    assert f"Custom key store {key_store} stays in the account, disconnected" in logged
    assert f"key {key_id}: PendingDeletion, deleted by KMS on 2026-01-08" in logged
    assert (
        f"run `python -m providers.cleanup --custom-key-store-id {key_store}`"
    ) in logged


def test_delete_of_a_store_without_keys_says_to_delete_it_now(
    emulator: Emulator, key_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outs = outs_of(KeyStoreConnectionProvider().create(inputs(key_store)))

    KeyStoreConnectionProvider().delete("x", outs)

    assert f"Custom key store {key_store} holds no key" in capsys.readouterr().err


def test_delete_while_a_key_is_live_says_nothing_of_leftovers(
    emulator: Emulator, key_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outs = outs_of(KeyStoreConnectionProvider().create(inputs(key_store)))
    store_key(key_store)

    KeyStoreConnectionProvider().delete("x", outs)

    assert "stays in the account" not in capsys.readouterr().err
    assert live_state(key_store) == "DISCONNECTED"


def test_delete_when_keys_cannot_be_listed_still_disconnects_and_says_what_to_do(
    emulator: Emulator,
    key_store: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outs = outs_of(KeyStoreConnectionProvider().create(inputs(key_store)))

    def refused(*_args: object, **_kwargs: object) -> None:
        error = {"Error": {"Code": "AccessDeniedException", "Message": "no"}}
        raise ClientError(error, "ListKeys")

    monkeypatch.setattr("providers.key_store_connection.keys_in_store", refused)

    KeyStoreConnectionProvider().delete("x", outs)

    logged = capsys.readouterr().err
    assert "its keys could not be listed (AccessDeniedException)" in logged
    assert f"--custom-key-store-id {key_store}" in logged
    assert live_state(key_store) == "DISCONNECTED"


def test_delete_stuck_disconnecting_warns_and_lets_destroy_go_on(
    emulator: Emulator, key_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outs = outs_of(KeyStoreConnectionProvider().create(inputs(key_store)))
    set_faults(emulator, stuck={"key_store": "DISCONNECTING"})

    KeyStoreConnectionProvider().delete("x", {**outs, "timeout_seconds": 600})

    logged = capsys.readouterr().err
    assert f"Custom key store {key_store} disconnection: still DISCONNECTING" in logged
    assert "`pulumi destroy` goes on so that the HSMs and the cluster stop" in logged
    assert live_state(key_store) == "DISCONNECTING"


def test_check_rejects_bad_store_id_and_attempts() -> None:
    result = KeyStoreConnectionProvider().check(
        {}, {"custom_key_store_id": "store-1", "max_connect_attempts": 0}
    )

    assert {f.property: f.reason for f in result.failures} == {
        "custom_key_store_id": (
            "custom_key_store_id must be a KMS custom key store id (cks-...), got "
            "'store-1'."
        ),
        "max_connect_attempts": "max_connect_attempts must be from 1 to 10, got 0.",
    }


def test_every_cloudhsm_connection_error_code_has_advice() -> None:
    from rehearsal.emulator.faults import CONNECT_ERRORS

    assert sorted(CONNECTION_ERROR_ADVICE) == sorted(CONNECT_ERRORS)
