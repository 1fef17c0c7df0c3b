"""CustomerCa: generating a trust anchor, validating a supplied one, diff/update."""

from __future__ import annotations

import datetime

import dill
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pulumi.runtime.rpc import UNKNOWN

from providers.customer_ca import (
    CustomerCaProvider,
    fingerprint_sha256,
    load_supplied_ca,
)
from providers.errors import CertificateError
from tests.providers import pki
from tests.providers.results import outs_of

INPUTS = {
    "common_name": "Example HSM CA",
    "organization": "Example Corp",
    "key_bits": 2048,
    "validity_days": 365,
}


def failures(news: dict) -> dict[str, str]:
    result = CustomerCaProvider().check({}, news)
    return {failure.property: failure.reason for failure in result.failures}


def test_create_generates_self_signed_ca_fit_for_cloudhsm() -> None:
    outs = outs_of(CustomerCaProvider().create(dict(INPUTS)))
    assert outs is not None
    certificate = x509.load_pem_x509_certificate(outs["certificate_pem"].encode())

    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert constraints.critical and constraints.value.ca
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert certificate.subject.rfc4514_string() == "O=Example Corp,CN=Example HSM CA"
    certificate.verify_directly_issued_by(certificate)
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.key_size == 2048
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert datetime.timedelta(days=365) <= lifetime <= datetime.timedelta(days=366)
    assert outs["fingerprint_sha256"] == fingerprint_sha256(certificate)
    assert outs["generated"] is True
    assert outs["private_key_pem"].startswith("-----BEGIN PRIVATE KEY-----")


def test_create_twice_makes_two_different_cas() -> None:
    first = CustomerCaProvider().create(dict(INPUTS))
    second = CustomerCaProvider().create(dict(INPUTS))

    assert first.id != second.id
    assert outs_of(first)["fingerprint_sha256"] != outs_of(second)["fingerprint_sha256"]


def test_create_with_supplied_ca_keeps_it() -> None:
    key = pki.rsa_key(4096)
    supplied = pki.pem(pki.certificate("Corp Root", key))
    props = {
        **INPUTS,
        "supplied_certificate_pem": supplied,
        "supplied_private_key_pem": pki.key_pem(key),
    }

    outs = outs_of(CustomerCaProvider().create(props))

    assert outs["certificate_pem"] == supplied
    assert outs["generated"] is False


def test_check_accepts_valid_inputs_and_normalises_numbers() -> None:
    result = CustomerCaProvider().check({}, {**INPUTS, "key_bits": 4096.0})

    assert result.failures == []
    assert result.inputs["key_bits"] == 4096
    assert isinstance(result.inputs["key_bits"], int)


def test_check_rejects_1024_bit_key() -> None:
    assert failures({**INPUTS, "key_bits": 1024}) == {
        "key_bits": "key_bits must be one of 2048, 4096, got 1024."
    }


def test_check_rejects_validity_out_of_range() -> None:
    assert failures({**INPUTS, "validity_days": 0}) == {
        "validity_days": "validity_days must be from 1 to 36500, got 0."
    }


def test_check_accepts_unknown_values_during_preview() -> None:
    news = {
        "common_name": UNKNOWN,
        "organization": UNKNOWN,
        "key_bits": UNKNOWN,
        "validity_days": UNKNOWN,
        "supplied_certificate_pem": UNKNOWN,
        "supplied_private_key_pem": UNKNOWN,
    }
    assert failures(news) == {}


def test_check_rejects_supplied_trust_anchor_of_1024_bits() -> None:
    key = pki.rsa_key(1024)
    news = {
        **INPUTS,
        "supplied_certificate_pem": pki.pem(pki.certificate("Small Root", key)),
        "supplied_private_key_pem": pki.key_pem(key),
    }

    reason = failures(news)["supplied_certificate_pem"]

    assert reason == (
        "The supplied CA certificate (CN=Small Root) cannot be the cluster's trust "
        "anchor: its RSA key has 1024 bits, CloudHSM accepts 2048 or 4096."
    )


def test_check_rejects_supplied_certificate_that_is_not_a_ca() -> None:
    key = pki.rsa_key()
    news = {
        **INPUTS,
        "supplied_certificate_pem": pki.pem(pki.certificate("Leaf", key, ca=False)),
        "supplied_private_key_pem": pki.key_pem(key),
    }

    reason = failures(news)["supplied_certificate_pem"]

    assert "it is not a CA certificate (basicConstraints CA:TRUE is missing)" in reason
    assert "supply the root CA certificate, not a leaf" in reason


def test_check_rejects_supplied_only_half() -> None:
    key = pki.rsa_key()
    news = {**INPUTS, "supplied_certificate_pem": pki.pem(pki.certificate("R", key))}

    assert failures(news) == {
        "supplied_private_key_pem": (
            "supplied_certificate_pem and supplied_private_key_pem go together: "
            "supplied_private_key_pem is missing. Set both, or neither to generate "
            "a CA."
        )
    }


def test_check_refuses_a_new_key_size_for_an_existing_ca() -> None:
    olds = outs_of(CustomerCaProvider().create(dict(INPUTS)))

    result = CustomerCaProvider().check(olds, {**INPUTS, "key_bits": 4096})

    [failure] = result.failures
    assert failure.property == "key_bits"
    assert failure.reason.startswith(
        "caKeyBits changed from 2048, but the stack's customer CA cannot be replaced"
    )
    assert "`pulumi config set caKeyBits 2048`" in failure.reason
    assert "`pulumi destroy`, then `pulumi up`" in failure.reason


def test_check_refuses_a_new_common_name_with_a_quoted_revert() -> None:
    olds = outs_of(CustomerCaProvider().create(dict(INPUTS)))

    result = CustomerCaProvider().check(olds, {**INPUTS, "common_name": "Other CA"})

    [failure] = result.failures
    assert "`pulumi config set caCommonName 'Example HSM CA'`" in failure.reason


def test_check_refuses_another_supplied_key_without_printing_it() -> None:
    key, other = pki.rsa_key(2048), pki.rsa_key(2048)
    certificate = pki.pem(pki.certificate("Corp Root", key))
    supplied = {**INPUTS, "supplied_certificate_pem": certificate}
    olds = {**supplied, "supplied_private_key_pem": pki.key_pem(key)}
    news = {**supplied, "supplied_private_key_pem": pki.key_pem(other)}

    result = CustomerCaProvider().check(olds, news)

    reasons = {failure.property: failure.reason for failure in result.failures}
    refusal = reasons["supplied_private_key_pem"]
    assert refusal.startswith("caPrivateKey changed, but")
    assert "set caPrivateKey back as it was" in refusal
    assert "PRIVATE KEY" not in refusal


def test_check_accepts_an_existing_ca_with_unchanged_or_unknown_inputs() -> None:
    olds = outs_of(CustomerCaProvider().create(dict(INPUTS)))

    same = CustomerCaProvider().check(olds, {**INPUTS, "key_bits": 2048.0})
    preview = CustomerCaProvider().check(olds, {**INPUTS, "common_name": UNKNOWN})

    assert same.failures == [] and preview.failures == []


def test_create_with_a_trust_anchor_alone_keeps_it_without_a_key() -> None:
    key = pki.rsa_key(2048)
    supplied = pki.pem(pki.certificate("Existing Root", key))
    props = {**INPUTS, "supplied_certificate_pem": supplied, "signs_csr": False}

    assert CustomerCaProvider().check({}, props).failures == []
    outs = outs_of(CustomerCaProvider().create(props))

    assert outs["certificate_pem"] == supplied
    assert (outs["private_key_pem"], outs["generated"]) == ("", False)


def test_check_rejects_a_trust_anchor_alone_that_is_not_a_ca() -> None:
    leaf = pki.pem(pki.certificate("Leaf", pki.rsa_key(), ca=False))

    reasons = failures({**INPUTS, "supplied_certificate_pem": leaf, "signs_csr": False})

    assert "it is not a CA certificate" in reasons["supplied_certificate_pem"]


def test_check_wants_the_key_when_the_ca_signs_the_csr() -> None:
    anchor = pki.pem(pki.certificate("Root", pki.rsa_key()))

    reasons = failures({**INPUTS, "supplied_certificate_pem": anchor})

    assert "supplied_private_key_pem is missing" in reasons["supplied_private_key_pem"]


def test_load_supplied_ca_rejects_intermediate() -> None:
    root_key, key = pki.rsa_key(), pki.rsa_key()
    intermediate = pki.certificate("Intermediate", key, "Root", root_key)

    with pytest.raises(CertificateError) as raised:
        load_supplied_ca(pki.pem(intermediate), pki.key_pem(key))

    assert "it is not self-signed; CloudHSM needs the root CA itself" in str(
        raised.value
    )


def test_load_supplied_ca_rejects_key_of_another_certificate() -> None:
    certificate = pki.certificate("Root", pki.rsa_key())

    with pytest.raises(CertificateError) as raised:
        load_supplied_ca(pki.pem(certificate), pki.key_pem(pki.rsa_key()))

    assert "the private key does not belong to the certificate" in str(raised.value)


def test_load_supplied_ca_rejects_expired_certificate() -> None:
    key = pki.rsa_key()
    expired = pki.certificate(
        "Old Root", key, not_valid_after=pki.NOW - datetime.timedelta(days=1)
    )

    with pytest.raises(CertificateError) as raised:
        load_supplied_ca(pki.pem(expired), pki.key_pem(key))

    assert "it expired on" in str(raised.value)
    assert "renew the CA" in str(raised.value)


def test_load_supplied_ca_rejects_ec_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = pki.certificate("EC Root", key)

    with pytest.raises(CertificateError) as raised:
        load_supplied_ca(pki.pem(certificate), pki.key_pem(key))

    message = str(raised.value)
    assert message.startswith("The supplied CA private key is ")
    assert type(key).__name__ in message
    assert message.endswith("CloudHSM trust anchors need an RSA 2048 or 4096 key.")


def test_load_supplied_ca_rejects_text_that_is_not_pem() -> None:
    with pytest.raises(CertificateError) as raised:
        load_supplied_ca("not a certificate", "not a key")

    assert str(raised.value).startswith(
        "The supplied CA certificate is not a PEM X.509 certificate"
    )


def test_read_returns_state() -> None:
    outs = outs_of(CustomerCaProvider().create(dict(INPUTS)))

    read = CustomerCaProvider().read("ca-1", outs)

    assert read.id == "ca-1"
    assert outs_of(read) == outs


def test_diff_unchanged_reports_no_changes() -> None:
    outs = outs_of(CustomerCaProvider().create(dict(INPUTS)))

    diff = CustomerCaProvider().diff("ca-1", outs, {**INPUTS, "key_bits": 2048.0})

    assert diff.changes is False
    assert diff.replaces == []


def test_diff_changed_subject_replaces() -> None:
    outs = outs_of(CustomerCaProvider().create(dict(INPUTS)))

    diff = CustomerCaProvider().diff("ca-1", outs, {**INPUTS, "common_name": "New"})

    assert diff.changes is True
    assert diff.replaces == ["common_name"]


def test_update_keeps_certificate_and_key() -> None:
    outs = outs_of(CustomerCaProvider().create(dict(INPUTS)))

    updated = outs_of(CustomerCaProvider().update("ca-1", outs, dict(INPUTS)))

    for name in ("certificate_pem", "private_key_pem", "fingerprint_sha256"):
        assert updated[name] == outs[name]


def test_delete_warns_that_the_key_is_needed_later(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outs = outs_of(CustomerCaProvider().create(dict(INPUTS)))

    CustomerCaProvider().delete("ca-1", outs)

    err = capsys.readouterr().err
    assert "private key is needed to sign the certificate of every CloudHSM" in err
    assert outs["private_key_pem"] not in err


def test_provider_survives_dill_round_trip() -> None:
    provider = dill.loads(dill.dumps(CustomerCaProvider(), recurse=True))

    assert outs_of(provider.create(dict(INPUTS)))["generated"] is True
