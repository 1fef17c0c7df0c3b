"""ClusterCsrSigning against the emulator: waiting, identity, HSM replacement."""

from __future__ import annotations

from typing import Any

import boto3
import dill
import pytest
from cryptography import x509

from providers.csr_signing import ClusterCsrSigningProvider
from providers.errors import ClusterStateError, IdentityVerificationError, WaitTimeout
from rehearsal.emulator import Emulator
from tests.providers import pki
from tests.providers.conftest import Chain, add_hsm, set_faults, signing_inputs
from tests.providers.results import outs_of


def signed_public_key(outs: dict[str, Any]) -> Any:
    certificate = x509.load_pem_x509_certificate(
        outs["signed_certificate_pem"].encode()
    )
    return certificate.public_key()


def test_create_waits_for_csr_verifies_identity_and_signs(
    new_cluster: Chain, customer_ca: dict[str, Any]
) -> None:
    outs = outs_of(
        ClusterCsrSigningProvider().create(signing_inputs(new_cluster, customer_ca))
    )

    csr = x509.load_pem_x509_csr(outs["cluster_csr_pem"].encode())
    ca = x509.load_pem_x509_certificate(customer_ca["certificate_pem"].encode())
    signed = x509.load_pem_x509_certificate(outs["signed_certificate_pem"].encode())
    signed.verify_directly_issued_by(ca)
    assert signed.public_key() == csr.public_key()
    assert outs["identity_verified"] is True
    assert outs["signed_hsm_id"] == new_cluster.hsm_id
    assert outs["hsm_certificate_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert outs["aws_hardware_certificate_pem"]
    assert outs["manufacturer_hardware_certificate_pem"]


def test_create_without_hsm_id_signs_the_first_hsm_csr_and_gives_its_ip(
    new_cluster: Chain, customer_ca: dict[str, Any]
) -> None:
    inputs = signing_inputs(new_cluster, customer_ca)
    del inputs["hsm_id"]

    outs = outs_of(ClusterCsrSigningProvider().create(inputs))

    assert (outs["signed_hsm_id"], outs["signed_hsm_ip"]) == (
        new_cluster.hsm_id,
        new_cluster.hsm_ip,
    )
    assert outs["identity_verified"] is True


def test_create_again_after_interrupted_create_signs_the_same_csr(
    new_cluster: Chain, customer_ca: dict[str, Any]
) -> None:
    inputs = signing_inputs(new_cluster, customer_ca)

    first = outs_of(ClusterCsrSigningProvider().create(inputs))
    second = outs_of(ClusterCsrSigningProvider().create(inputs))

    assert first["cluster_csr_pem"] == second["cluster_csr_pem"]
    assert signed_public_key(first) == signed_public_key(second)


def csr_public_key(csr_pem: str) -> Any:
    return x509.load_pem_x509_csr(csr_pem.encode()).public_key()


def test_create_signs_new_csr_when_first_hsm_was_replaced(
    new_cluster: Chain, customer_ca: dict[str, Any]
) -> None:
    set_faults(new_cluster.emulator, replace_first_hsm=True)

    outs = outs_of(
        ClusterCsrSigningProvider().create(signing_inputs(new_cluster, customer_ca))
    )

    shown = new_cluster.describe()["Certificates"]["ClusterCsr"]
    first_hsm = new_cluster.emulator.cloudhsm.cluster(new_cluster.cluster_id).hsms[0]
    assert first_hsm.retired_identity is not None
    retired_key = first_hsm.retired_identity.identity_key.public_key()
    assert outs["cluster_csr_pem"] == shown
    assert signed_public_key(outs) == csr_public_key(shown)
    assert signed_public_key(outs) != retired_key
    assert (outs["signed_hsm_id"], outs["signed_hsm_ip"]) == (
        new_cluster.hsm_id,
        new_cluster.hsm_ip,
    )


def test_create_signs_current_csr_not_one_read_before_replacement(
    new_cluster: Chain, customer_ca: dict[str, Any]
) -> None:
    new_cluster.emulator.clock.advance(new_cluster.emulator.profile.hsm_create)
    stale = new_cluster.describe()["Certificates"]["ClusterCsr"]
    set_faults(new_cluster.emulator, replace_first_hsm=True)

    outs = outs_of(
        ClusterCsrSigningProvider().create(signing_inputs(new_cluster, customer_ca))
    )

    shown = new_cluster.describe()["Certificates"]["ClusterCsr"]
    assert shown != stale
    assert outs["cluster_csr_pem"] == shown
    assert signed_public_key(outs) == csr_public_key(shown)
    assert signed_public_key(outs) != csr_public_key(stale)
    assert outs["signed_hsm_id"] == new_cluster.hsm_id


def test_create_signs_csr_of_hsm_created_after_given_one_was_deleted(
    new_cluster: Chain, customer_ca: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = new_cluster.emulator
    cloudhsm = boto3.client("cloudhsmv2")
    emulator.clock.advance(emulator.profile.hsm_create)
    cloudhsm.delete_hsm(ClusterId=new_cluster.cluster_id, HsmId=new_cluster.hsm_id)
    emulator.clock.advance(emulator.profile.hsm_delete)
    other = add_hsm(emulator, new_cluster.cluster_id, "us-east-1b")

    outs = outs_of(
        ClusterCsrSigningProvider().create(signing_inputs(new_cluster, customer_ca))
    )

    assert (outs["signed_hsm_id"], outs["signed_hsm_ip"]) == (
        other["HsmId"],
        other["EniIp"],
    )
    assert signed_public_key(outs) == csr_public_key(outs["cluster_csr_pem"])
    warning = capsys.readouterr().err
    assert f"HSM {new_cluster.hsm_id} is no longer in the cluster" in warning
    assert f"its CSR now comes from HSM {other['HsmId']}" in warning


def test_create_rejects_hsm_whose_chain_does_not_reach_the_aws_root(
    new_cluster: Chain, customer_ca: dict[str, Any]
) -> None:
    stranger = pki.pem(pki.certificate("Fake AWS root", pki.rsa_key()))
    inputs = signing_inputs(new_cluster, customer_ca, aws_root_certificate_pem=stranger)

    with pytest.raises(IdentityVerificationError) as raised:
        ClusterCsrSigningProvider().create(inputs)

    assert "the AwsHardwareCertificate" in str(raised.value)
    assert "is not issued by the AWS root (CN=Fake AWS root)" in str(raised.value)


def test_create_fails_on_initialized_cluster_without_state(
    initialized_cluster: Chain,
) -> None:
    assert initialized_cluster.ca is not None
    inputs = signing_inputs(initialized_cluster, initialized_cluster.ca)

    with pytest.raises(ClusterStateError) as raised:
        ClusterCsrSigningProvider().create(inputs)

    assert str(raised.value).startswith(
        f"CloudHSM cluster {initialized_cluster.cluster_id} is already INITIALIZED, "
        "so its CSR can no longer be read and this stack holds no signed copy."
    )


def test_create_times_out_when_hsm_stays_in_creation(
    new_cluster: Chain, customer_ca: dict[str, Any]
) -> None:
    set_faults(new_cluster.emulator, stuck={"hsm": "CREATE_IN_PROGRESS"})
    inputs = signing_inputs(new_cluster, customer_ca, timeout_seconds=600)

    with pytest.raises(WaitTimeout) as raised:
        ClusterCsrSigningProvider().create(inputs)

    message = str(raised.value)
    assert message.startswith(
        f"CSR of CloudHSM cluster {new_cluster.cluster_id}: still UNINITIALIZED "
        "(HSMs: CREATE_IN_PROGRESS) after waiting 10m00s, past the deadline."
    )
    assert "The CSR appears once the first HSM is ACTIVE" in message


def test_read_keeps_certificates_after_initialization(
    initialized_cluster: Chain,
) -> None:
    outs = initialized_cluster.signing
    assert outs is not None

    read = ClusterCsrSigningProvider().read("x", outs)

    assert outs_of(read) == outs
    assert "ClusterCsr" not in initialized_cluster.describe().get("Certificates", {})


def test_diff_unchanged_inputs_reports_no_change(signed_cluster: Chain) -> None:
    outs = signed_cluster.signing
    assert outs is not None and signed_cluster.ca is not None
    news = signing_inputs(signed_cluster, signed_cluster.ca)

    diff = ClusterCsrSigningProvider().diff("x", outs, news)

    assert diff.changes is False
    assert diff.replaces == []


def test_provider_survives_dill_round_trip(
    new_cluster: Chain, customer_ca: dict[str, Any]
) -> None:
    provider = dill.loads(dill.dumps(ClusterCsrSigningProvider(), recurse=True))

    outs = outs_of(provider.create(signing_inputs(new_cluster, customer_ca)))

    assert outs["identity_verified"] is True


def test_calls_stay_few_while_waiting(
    emulator: Emulator, new_cluster: Chain, customer_ca: dict[str, Any]
) -> None:
    ClusterCsrSigningProvider().create(signing_inputs(new_cluster, customer_ca))

    describes = [
        call
        for call in emulator.calls.to_json()
        if call["operation"] == "DescribeClusters"
    ]
    assert 1 <= len(describes) <= 10
