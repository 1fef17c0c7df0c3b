"""ClusterInitialization and BackupRetention against the emulator."""

from __future__ import annotations

import boto3
import dill
import pytest
from pulumi.runtime.rpc import UNKNOWN

from providers.backup_retention import BackupRetentionProvider
from providers.cluster_initialization import ClusterInitializationProvider
from providers.errors import CertificateError, ClusterStateError, WaitTimeout
from tests.providers import pki
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


def anchor_and_signed(bits: int = 2048) -> dict[str, str]:
    """A trust anchor of `bits` and a certificate it signed, as the inputs name them."""
    ca_key = pki.rsa_key(bits)
    signed = pki.certificate("HSM", pki.rsa_key(), "Root", ca_key, ca=None)
    return {
        "trust_anchor_pem": pki.pem(pki.certificate("Root", ca_key)),
        "signed_certificate_pem": pki.pem(signed),
    }


def check_failures(**inputs: object) -> dict[str, str]:
    news = {"cluster_id": "cluster-abcdefghijk", **anchor_and_signed(), **inputs}
    result = ClusterInitializationProvider().check({}, news)
    return {failure.property: failure.reason for failure in result.failures}


def test_check_rejects_bad_cluster_id_and_timeout() -> None:
    assert check_failures(cluster_id="cl-1", timeout_seconds=5) == {
        "cluster_id": "cluster_id must be a CloudHSM cluster id, got 'cl-1'.",
        "timeout_seconds": "timeout_seconds must be from 60 to 86400, got 5.",
    }


def test_check_rejects_a_trust_anchor_of_1024_bits() -> None:
    failures = check_failures(**anchor_and_signed(1024))

    assert failures == {
        "trust_anchor_pem": "trust_anchor_pem cannot be the cluster's trust anchor: "
        "its RSA key has 1024 bits, CloudHSM accepts 2048 or 4096."
    }


def test_check_rejects_a_certificate_the_trust_anchor_did_not_sign() -> None:
    other = anchor_and_signed()["signed_certificate_pem"]

    failures = check_failures(signed_certificate_pem=other)

    assert failures == {
        "signed_certificate_pem": "signed_certificate_pem was not issued by "
        "trust_anchor_pem; give the certificate that the trust anchor's CA signed "
        "from the cluster CSR."
    }


def test_check_rejects_a_trust_anchor_that_is_not_pem() -> None:
    failures = check_failures(trust_anchor_pem="not a certificate")

    assert failures["trust_anchor_pem"].startswith(
        "trust_anchor_pem is not a PEM X.509 certificate"
    )


def test_check_names_the_signed_certificate_when_it_is_not_pem() -> None:
    failures = check_failures(signed_certificate_pem="not a certificate")

    assert list(failures) == ["signed_certificate_pem"]
    assert failures["signed_certificate_pem"].startswith(
        "signed_certificate_pem is not a PEM X.509 certificate"
    )


def test_check_accepts_unknown_certificates_during_preview() -> None:
    assert (
        check_failures(trust_anchor_pem=UNKNOWN, signed_certificate_pem=UNKNOWN) == {}
    )


def test_create_refuses_a_certificate_signed_before_the_first_hsm_was_replaced(
    signed_cluster: Chain,
) -> None:
    set_faults(signed_cluster.emulator, replace_first_hsm=True)

    with pytest.raises(CertificateError) as raised:
        ClusterInitializationProvider().create(initialization_inputs(signed_cluster))

    message = str(raised.value)
    assert message.startswith(
        f"The signed certificate of CloudHSM cluster {signed_cluster.cluster_id} "
        "was issued for an earlier CSR"
    )
    assert "`pulumi up --replace <URN>`" in message
    calls = signed_cluster.emulator.calls.to_json()
    assert "InitializeCluster" not in [call["operation"] for call in calls]
    assert signed_cluster.state() == "UNINITIALIZED"


def test_create_names_the_error_when_aws_refuses_initialization(
    signed_cluster: Chain,
) -> None:
    inputs = {
        **initialization_inputs(signed_cluster),
        "trust_anchor_pem": anchor_and_signed()["trust_anchor_pem"],
    }

    with pytest.raises(ClusterStateError) as raised:
        ClusterInitializationProvider().create(inputs)

    message = str(raised.value)
    assert message.startswith(
        f"InitializeCluster refused CloudHSM cluster {signed_cluster.cluster_id}: "
        "CloudHsmInvalidRequestException: "
    )
    assert message.endswith("fix what AWS names, then run `pulumi up` again.")


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
