"""The advice a timed-out wait gives: the stack config key users actually set."""

from __future__ import annotations

import pytest

from providers.cluster_activation import ClusterActivationProvider
from providers.errors import WaitTimeout
from providers.waiting import wait_for
from tests.providers.conftest import Chain, activation_inputs, set_faults

MORE_TIME = "allow more time with `pulumi config set waitTimeoutMinutes <minutes>`"


class FakeClock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> float:
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.seconds += seconds


class SilentLog:
    def info(self, msg: str) -> None:
        """Progress lines are not under test here."""


def test_wait_for_timeout_by_default_names_wait_timeout_minutes() -> None:
    with pytest.raises(WaitTimeout) as raised:
        wait_for(
            lambda: "PENDING",
            is_done=lambda state: state == "DONE",
            resource="r",
            expected_seconds=60,
            timeout_seconds=120,
            clock=FakeClock(),
            log=SilentLog(),
        )

    message = str(raised.value)
    assert message.endswith(f"If it is only slow, {MORE_TIME}.")
    assert "timeout_seconds" not in message


def test_create_activation_timeout_names_wait_timeout_minutes(
    cluster_with_client: Chain,
) -> None:
    chain = cluster_with_client
    set_faults(chain.emulator, stuck={"cluster": "INITIALIZED"})
    inputs = {**activation_inputs(chain), "timeout_seconds": 900}

    with pytest.raises(WaitTimeout) as raised:
        ClusterActivationProvider().create(inputs)

    message = str(raised.value)
    assert message.startswith(
        f"CloudHSM cluster {chain.cluster_id} activation: still INITIALIZED after "
        "waiting 15m00s, past the deadline."
    )
    assert MORE_TIME in message
    assert "timeout_seconds" not in message
