"""KeyStoreConnection under connection faults: every ConnectionErrorCode is
explained, transient ones are retried and clear, and calls are spaced."""

from __future__ import annotations

from typing import Any

import pytest

from providers.errors import KeyStoreConnectionError
from providers.key_store_connection import (
    CONNECTION_ERROR_ADVICE,
    KEY_STORE_CALL_SPACING_SECONDS,
    KeyStoreApi,
    KeyStoreConnectionProvider,
)
from rehearsal.emulator import Emulator
from rehearsal.emulator.faults import CONNECT_ERRORS
from tests.providers.conftest import set_faults
from tests.providers.results import outs_of


def inputs(store_id: str, attempts: int = 1) -> dict[str, Any]:
    return {
        "custom_key_store_id": store_id,
        "timeout_seconds": 3600,
        "max_connect_attempts": attempts,
    }


KEY_STORE_OPERATIONS = (
    "DescribeCustomKeyStores",
    "ConnectCustomKeyStore",
    "DisconnectCustomKeyStore",
)


def test_create_explains_every_connection_error_code(
    emulator: Emulator, key_store: str
) -> None:
    messages = {}
    for code in CONNECT_ERRORS:
        set_faults(emulator, connect_error=code)
        with pytest.raises(KeyStoreConnectionError) as raised:
            KeyStoreConnectionProvider().create(inputs(key_store))
        messages[code] = str(raised.value)

    assert set(CONNECT_ERRORS) <= set(CONNECTION_ERROR_ADVICE)
    assert messages == {
        code: f"Custom key store {key_store} failed to connect: {code}. "
        + ("Failed 1 times. " if code in ("NETWORK_ERRORS", "INTERNAL_ERROR") else "")
        + CONNECTION_ERROR_ADVICE[code]
        for code in CONNECT_ERRORS
    }


def test_create_retries_transient_errors_until_connected_spacing_calls(
    emulator: Emulator, key_store: str
) -> None:
    connects = {}
    for fault in ("NETWORK_ERRORS:1", "INTERNAL_ERROR:2"):
        before = len(emulator.calls.all())
        set_faults(emulator, connect_error=fault)
        outs = outs_of(KeyStoreConnectionProvider().create(inputs(key_store, 3)))
        calls = emulator.calls.all()[before:]
        connects[fault] = [c.operation for c in calls].count("ConnectCustomKeyStore")
        KeyStoreConnectionProvider().delete("", outs)

        assert outs["connection_state"] == "CONNECTED"
        times = [c.at for c in calls if c.operation in KEY_STORE_OPERATIONS]
        gaps = [later - early for early, later in zip(times, times[1:], strict=False)]
        assert min(gaps) >= KEY_STORE_CALL_SPACING_SECONDS

    assert connects == {"NETWORK_ERRORS:1": 2, "INTERNAL_ERROR:2": 3}


class FakeClock:
    def __init__(self) -> None:
        self.time = 100.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.time += seconds


class FakeKms:
    def describe_custom_key_stores(self, **_params: Any) -> dict[str, Any]:
        return {"CustomKeyStores": []}


def test_call_waits_out_the_spacing_only_when_calls_come_too_fast() -> None:
    clock = FakeClock()
    api = KeyStoreApi("us-east-1", clock)
    api.kms = FakeKms()

    api.call("describe_custom_key_stores")
    clock.time += 0.25
    api.call("describe_custom_key_stores")
    clock.time += 5
    api.call("describe_custom_key_stores")

    assert clock.slept == [KEY_STORE_CALL_SPACING_SECONDS - 0.25]
