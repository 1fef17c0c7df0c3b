"""ClusterInitialization and BackupRetention against the emulator."""

from __future__ import annotations

import boto3
import dill
import pytest

from providers.backup_retention import BackupRetentionProvider
from providers.cluster_initialization import ClusterInitializationProvider
from providers.errors import ClusterStateError, WaitTimeout
from tests.providers.conftest import (
    Chain,
    create_cluster,
    initialization_inputs,
    set_faults,
)
from tests.providers.results import outs_of


def test_create_initializes_and_waits_for_initialized(signed_cluster: Chain) -> None:
    result = ClusterInitializationProvider().create(
        initialization_inputs(signed_cluster)
    )

    assert outs_of(result)["cluster_state"] == "INITIALIZED"
    assert signed_cluster.state() == "INITIALIZED"
    assert result.id == f"{signed_cluster.cluster_id}-initialization"


def test_create_again_after_interrupted_create_adopts(signed_cluster: Chain) -> None:
    inputs = initialization_inputs(signed_cluster)
    boto3.client("cloudhsmv2").initialize_cluster(
        ClusterId=signed_cluster.cluster_id,
        SignedCert=inputs["signed_certificate_pem"],
        TrustAnchor=inputs["trust_anchor_pem"],
    )

    outs = outs_of(ClusterInitializationProvider().create(inputs))

    assert outs["cluster_state"] == "INITIALIZED"
    calls = signed_cluster.emulator.calls.to_json()
    assert [c["operation"] for c in calls].count("InitializeCluster") == 1


def test_create_on_cluster_still_being_created_names_the_state(
    signed_cluster: Chain, network: dict[str, str]
) -> None:
    set_faults(signed_cluster.emulator, stuck={"cluster": "CREATE_IN_PROGRESS"})
    inputs = {
        **initialization_inputs(signed_cluster),
        "cluster_id": create_cluster(list(network.values())),
    }

    with pytest.raises(ClusterStateError) as raised:
        ClusterInitializationProvider().create(inputs)

    message = str(raised.value)
    assert message.startswith(
        f"CloudHSM cluster {inputs['cluster_id']} is CREATE_IN_PROGRESS"
    )
    assert "can be initialized only when UNINITIALIZED" in message


def test_create_times_out_when_initialization_is_stuck(signed_cluster: Chain) -> None:
    set_faults(signed_cluster.emulator, stuck={"cluster": "INITIALIZE_IN_PROGRESS"})
    inputs = {**initialization_inputs(signed_cluster), "timeout_seconds": 900}

    with pytest.raises(WaitTimeout) as raised:
        ClusterInitializationProvider().create(inputs)

    assert str(raised.value).startswith(
        f"CloudHSM cluster {signed_cluster.cluster_id} initialization: still "
        "INITIALIZE_IN_PROGRESS after waiting 15m00s, past the deadline."
    )
    assert raised.value.last_state == "INITIALIZE_IN_PROGRESS"


def test_create_on_missing_cluster_says_so(signed_cluster: Chain) -> None:
    inputs = {
        **initialization_inputs(signed_cluster),
        "cluster_id": "cluster-zzzzzzzzzzz",
    }

    with pytest.raises(ClusterStateError) as raised:
        ClusterInitializationProvider().create(inputs)

    assert str(raised.value).startswith(
        "CloudHSM cluster cluster-zzzzzzzzzzz does not exist in the default Region"
    )


def test_read_reports_live_cluster_state(initialized_cluster: Chain) -> None:
    outs = {**initialization_inputs(initialized_cluster), "cluster_state": "OLD"}

    read = ClusterInitializationProvider().read("x", outs)

    assert outs_of(read)["cluster_state"] == "INITIALIZED"


def test_read_after_cluster_deleted_keeps_state_with_gone(
    signed_cluster: Chain,
) -> None:
    outs = {
        **initialization_inputs(signed_cluster),
        "cluster_id": "cluster-zzzzzzzzzzz",
    }

    read = ClusterInitializationProvider().read("x", outs)

    assert read.id == "x"
    assert outs_of(read)["cluster_state"] == "GONE"


def test_diff_unchanged_and_changed(initialized_cluster: Chain) -> None:
    inputs = initialization_inputs(initialized_cluster)
    outs = {**inputs, "cluster_state": "INITIALIZED"}
    provider = ClusterInitializationProvider()

    unchanged = provider.diff("x", outs, inputs)
    timeout_only = provider.diff("x", outs, {**inputs, "timeout_seconds": 60})
    new_anchor = provider.diff("x", outs, {**inputs, "trust_anchor_pem": "other"})

    assert (unchanged.changes, unchanged.replaces) == (False, [])
    assert (timeout_only.changes, timeout_only.replaces) == (True, [])
    assert new_anchor.replaces == ["trust_anchor_pem"]


def test_update_keeps_cluster_state(initialized_cluster: Chain) -> None:
    inputs = initialization_inputs(initialized_cluster)
    outs = {**inputs, "cluster_state": "INITIALIZED"}

    updated = outs_of(
        ClusterInitializationProvider().update(
            "x", outs, {**inputs, "timeout_seconds": 60}
        )
    )

    assert updated["cluster_state"] == "INITIALIZED"
    assert updated["timeout_seconds"] == 60


def test_check_rejects_bad_cluster_id_and_timeout() -> None:
    result = ClusterInitializationProvider().check(
        {},
        {
            "cluster_id": "cl-1",
            "signed_certificate_pem": "x",
            "trust_anchor_pem": "y",
            "timeout_seconds": 5,
        },
    )

    assert {f.property: f.reason for f in result.failures} == {
        "cluster_id": "cluster_id must be a CloudHSM cluster id, got 'cl-1'.",
        "timeout_seconds": "timeout_seconds must be from 60 to 86400, got 5.",
    }


def test_provider_survives_dill_round_trip(signed_cluster: Chain) -> None:
    provider = dill.loads(dill.dumps(ClusterInitializationProvider(), recurse=True))

    outs = outs_of(provider.create(initialization_inputs(signed_cluster)))

    assert outs["cluster_state"] == "INITIALIZED"


def retention_days(chain: Chain) -> str:
    return str(chain.describe()["BackupRetentionPolicy"]["Value"])


def test_backup_retention_create_read_update(new_cluster: Chain) -> None:
    provider = BackupRetentionProvider()
    inputs = {"cluster_id": new_cluster.cluster_id, "days": 30.0}

    outs = outs_of(provider.create(inputs))
    assert retention_days(new_cluster) == "30"
    assert outs["days"] == 30

    boto3.client("cloudhsmv2").modify_cluster(
        ClusterId=new_cluster.cluster_id,
        BackupRetentionPolicy={"Type": "DAYS", "Value": "45"},
    )
    assert outs_of(provider.read("x", outs))["days"] == 45

    updated = outs_of(provider.update("x", outs, {**inputs, "days": 90}))
    assert retention_days(new_cluster) == "90"
    assert updated["days"] == 90


def test_backup_retention_create_twice_is_harmless(new_cluster: Chain) -> None:
    inputs = {"cluster_id": new_cluster.cluster_id, "days": 14}

    BackupRetentionProvider().create(inputs)
    BackupRetentionProvider().create(inputs)

    assert retention_days(new_cluster) == "14"


@pytest.mark.parametrize("days", [6, 380])
def test_backup_retention_check_rejects_days_outside_7_to_379(days: int) -> None:
    result = BackupRetentionProvider().check(
        {}, {"cluster_id": "cluster-abcdefghijk", "days": days}
    )

    assert [(f.property, f.reason) for f in result.failures] == [
        ("days", f"days must be from 7 to 379, got {days}.")
    ]


def test_backup_retention_diff_and_delete(new_cluster: Chain) -> None:
    provider = BackupRetentionProvider()
    inputs = {"cluster_id": new_cluster.cluster_id, "days": 14}
    outs = outs_of(provider.create(inputs))

    assert provider.diff("x", outs, inputs).changes is False
    assert provider.diff("x", outs, {**inputs, "days": 15}).replaces == []
    assert provider.diff("x", outs, {**inputs, "cluster_id": "cluster-b"}).replaces == [
        "cluster_id"
    ]
    dill.loads(dill.dumps(provider, recurse=True)).delete("x", outs)
    assert retention_days(new_cluster) == "14"
