"""ClusterCsrSigning without AWS: identity checks, signing, check/diff/update."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pulumi.runtime.rpc import UNKNOWN

from providers.csr_signing import ClusterCsrSigningProvider, sign_csr, verify_identity
from providers.customer_ca import generate_ca
from providers.errors import IdentityVerificationError
from tests.providers import pki
from tests.providers.results import outs_of


@pytest.fixture(scope="module")
def chain() -> pki.HsmChain:
    return pki.hsm_chain()


def inputs(**overrides: object) -> dict:
    ca = generate_ca("Test CA", "Test", 2048, 30)
    base = {
        "cluster_id": "cluster-abcdefghijk",
        "hsm_id": "hsm-abcdefghijk",
        "ca_certificate_pem": ca.certificate_pem,
        "ca_private_key_pem": ca.private_key_pem,
        "require_identity": False,
        "validity_days": 30,
        "timeout_seconds": 600,
    }
    return {**base, **overrides}


def failures(news: dict) -> dict[str, str]:
    result = ClusterCsrSigningProvider().check({}, news)
    return {failure.property: failure.reason for failure in result.failures}


def test_verify_identity_accepts_genuine_chain(chain: pki.HsmChain) -> None:
    verify_identity(chain.certificates, chain.aws_root_pem, chain.manufacturer_root_pem)


def test_verify_identity_rejects_wrong_aws_root(chain: pki.HsmChain) -> None:
    stranger = pki.pem(pki.certificate("AWS root", pki.rsa_key()))

    with pytest.raises(IdentityVerificationError) as raised:
        verify_identity(chain.certificates, stranger, None)

    message = str(raised.value)
    assert message.startswith(
        "HSM identity check failed: the AwsHardwareCertificate (CN=HSM hardware) is "
        "not issued by the AWS root (CN=AWS root)"
    )
    assert message.endswith(
        "Do not initialize this cluster; check the root "
        "certificates given, and ask AWS Support if they are right."
    )


def test_verify_identity_rejects_wrong_manufacturer_root(chain: pki.HsmChain) -> None:
    stranger = pki.pem(pki.certificate("Maker root", pki.rsa_key()))

    with pytest.raises(IdentityVerificationError) as raised:
        verify_identity(chain.certificates, None, stranger)

    assert str(raised.value).startswith(
        "HSM identity check failed: the ManufacturerHardwareCertificate "
        "(CN=HSM hardware) is not issued by the manufacturer root (CN=Maker root)"
    )


def test_verify_identity_rejects_csr_from_another_key() -> None:
    forged = pki.hsm_chain(csr_key=pki.rsa_key())

    with pytest.raises(IdentityVerificationError) as raised:
        verify_identity(forged.certificates, forged.aws_root_pem, None)

    assert str(raised.value) == (
        "HSM identity check failed: the cluster CSR's public key differs from the "
        "HsmCertificate's, so the CSR was not made by this HSM. Do not initialize "
        "this cluster; ask AWS Support."
    )


def test_verify_identity_rejects_hsm_certificate_not_from_hardware(
    chain: pki.HsmChain,
) -> None:
    other = pki.hsm_chain()
    mixed = {
        **chain.certificates,
        "HsmCertificate": other.certificates["HsmCertificate"],
    }

    with pytest.raises(IdentityVerificationError) as raised:
        verify_identity(mixed, chain.aws_root_pem, None)

    assert "the HsmCertificate (CN=HSM:hsm-1) is not issued by the " in str(
        raised.value
    )


def test_sign_csr_issues_certificate_for_the_csr_key(chain: pki.HsmChain) -> None:
    ca = generate_ca("Test CA", "Test", 2048, 30)

    signed_pem = sign_csr(
        chain.certificates["ClusterCsr"], ca.certificate_pem, ca.private_key_pem, 90
    )

    signed = x509.load_pem_x509_certificate(signed_pem.encode())
    csr = x509.load_pem_x509_csr(chain.certificates["ClusterCsr"].encode())
    ca_certificate = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    signed.verify_directly_issued_by(ca_certificate)
    assert signed.subject == csr.subject
    assert signed.public_key() == csr.public_key()
    assert isinstance(signed.signature_hash_algorithm, hashes.SHA256)
    lifetime = signed.not_valid_after_utc - signed.not_valid_before_utc
    assert 90 * 86400 <= lifetime.total_seconds() <= 90 * 86400 + 600


def test_check_requires_roots_when_identity_is_required() -> None:
    reason = failures(inputs(require_identity=True))["require_identity"]

    assert reason.startswith(
        "require_identity is true but neither aws_root_certificate_pem nor "
        "manufacturer_root_certificate_pem is given."
    )
    assert "set require_identity to false to skip the check" in reason


def test_check_accepts_unknowns_during_preview() -> None:
    news = inputs(
        cluster_id=UNKNOWN,
        hsm_id=UNKNOWN,
        ca_certificate_pem=UNKNOWN,
        ca_private_key_pem=UNKNOWN,
        require_identity=True,
        aws_root_certificate_pem=UNKNOWN,
    )
    assert failures(news) == {}


def test_check_rejects_malformed_ids() -> None:
    found = failures(inputs(cluster_id="cluster-1", hsm_id="i-123"))

    assert found == {
        "cluster_id": "cluster_id must be a CloudHSM cluster id, got 'cluster-1'.",
        "hsm_id": "hsm_id must be a CloudHSM HSM id, got 'i-123'.",
    }


def test_check_rejects_a_ca_that_is_not_pem_before_waiting_for_the_csr() -> None:
    reason = failures(inputs(ca_certificate_pem="not a certificate"))[
        "ca_certificate_pem"
    ]

    assert reason.startswith("The supplied CA certificate is not a PEM X.509")


def test_check_rejects_a_ca_key_of_another_certificate() -> None:
    other = generate_ca("Other CA", "Test", 2048, 30)

    reason = failures(inputs(ca_private_key_pem=other.private_key_pem))[
        "ca_certificate_pem"
    ]

    assert "the private key does not belong to the certificate" in reason
    assert "PRIVATE KEY" not in reason


def test_diff_new_hsm_id_updates_without_replacing() -> None:
    olds = {**inputs(), "signed_certificate_pem": "PEM"}
    news = {**olds, "hsm_id": "hsm-zzzzzzzzzzz"}
    del news["signed_certificate_pem"]

    diff = ClusterCsrSigningProvider().diff("x", olds, news)

    assert diff.changes is True
    assert diff.replaces == []


def test_diff_new_ca_replaces() -> None:
    olds = inputs()
    news = {**olds, "ca_certificate_pem": "other"}

    diff = ClusterCsrSigningProvider().diff("x", olds, news)

    assert diff.replaces == ["ca_certificate_pem"]


def test_update_keeps_certificates_from_state() -> None:
    olds = {**inputs(), "cluster_csr_pem": "CSR", "signed_certificate_pem": "CERT"}
    news = {**inputs(), "timeout_seconds": 900}

    outs = outs_of(ClusterCsrSigningProvider().update("x", olds, news))

    assert outs["cluster_csr_pem"] == "CSR"
    assert outs["signed_certificate_pem"] == "CERT"
    assert outs["timeout_seconds"] == 900
