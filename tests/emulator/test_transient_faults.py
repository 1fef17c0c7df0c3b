"""Faults that clear by themselves: a connect error on the first N connects only."""

from __future__ import annotations

import pytest

from rehearsal.emulator import Emulator, FaultPlan, FaultSpecError

from ._cloudhsm_setup import ClusterSetup
from .test_kms_key_stores import (
    KMSUSER_PASSWORD,
    connect,
    create_store,
    disconnect,
    hsm,
    ready_cluster,
)


@pytest.fixture
def cluster(emulator: Emulator) -> ClusterSetup:
    return ready_cluster(emulator)


def test_forced_connect_error_with_count_fails_first_connects_only() -> None:
    plan = FaultPlan.from_spec("connect_error=NETWORK_ERRORS:2")

    decided = [plan.forced_connect_error() for _ in range(3)]

    assert decided == ["NETWORK_ERRORS", "NETWORK_ERRORS", None]


def test_forced_connect_error_without_count_fails_every_connect() -> None:
    plan = FaultPlan.from_spec("connect_error=INTERNAL_ERROR")

    decided = [plan.forced_connect_error() for _ in range(3)]

    assert decided == ["INTERNAL_ERROR"] * 3


@pytest.mark.parametrize("spec", ["NETWORK_ERRORS:x", "NETWORK_ERRORS:", "OOPS:1"])
def test_from_spec_bad_connect_error_count_refused(spec: str) -> None:
    with pytest.raises(FaultSpecError) as caught:
        FaultPlan.from_spec(f"connect_error={spec}")

    assert str(caught.value).startswith(f"bad connect_error {spec!r}; allowed:")
    assert "optionally followed by :N" in str(caught.value)


def test_connect_custom_key_store_error_for_first_connect_only_then_connects(
    cluster: ClusterSetup,
) -> None:
    store_id = create_store(cluster)
    cluster.emulator.faults = FaultPlan.from_spec("connect_error=NETWORK_ERRORS:1")

    first = connect(cluster, store_id)
    disconnect(cluster, store_id)
    second = connect(cluster, store_id)

    assert first["ConnectionState"] == "FAILED"
    assert first["ConnectionErrorCode"] == "NETWORK_ERRORS"
    assert second["ConnectionState"] == "CONNECTED"
    assert not hsm(cluster).verify_password("kmsuser", KMSUSER_PASSWORD)
