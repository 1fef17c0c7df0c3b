"""The customer CA whose certificate becomes the cluster's trust anchor.

Either generates an RSA key and a self-signed CA certificate, or takes a CA the
user supplies and checks that CloudHSM will accept it as a trust anchor: a
self-signed RSA 2048 or 4096 CA, the key matching, not expired. The private key
stays in the encrypted stack state; it is needed again to sign the certificate
of every client added later, so it is never thrown away on delete.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import shlex
from dataclasses import dataclass
from typing import Any

import pulumi
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pulumi import ResourceOptions
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from providers._inputs import InputCheck, as_int, input_props, is_unknown
from providers.errors import CertificateError

KEY_SIZES = (2048, 4096)
MAX_VALIDITY_DAYS = 36500
# Each input that would make a new CA, by the stack config key that sets it.
REPLACING_INPUTS = {
    "key_bits": "caKeyBits",
    "common_name": "caCommonName",
    "organization": "caOrganization",
    "validity_days": "caValidityDays",
    "supplied_certificate_pem": "caCertificate",
    "supplied_private_key_pem": "caPrivateKey",
}
# Shown instead of the value in messages: a PEM is long, a key is secret.
UNPRINTED_INPUTS = ("supplied_certificate_pem", "supplied_private_key_pem")


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA certificate and its key, as PEM, with the facts kept in state."""

    certificate_pem: str
    private_key_pem: str
    fingerprint_sha256: str
    not_valid_after: str
    generated: bool


def generate_ca(
    common_name: str,
    organization: str,
    key_bits: int,
    validity_days: int,
    now: datetime.datetime | None = None,
) -> CertificateAuthority:
    """A new RSA key and a self-signed CA certificate fit to be a trust anchor."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )
    start = now or datetime.datetime.now(datetime.UTC)

    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - datetime.timedelta(minutes=5))
        .not_valid_after(start + datetime.timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return _describe(certificate, key, generated=True)


def load_supplied_ca(
    certificate_pem: str, private_key_pem: str, now: datetime.datetime | None = None
) -> CertificateAuthority:
    """Check a user's CA against CloudHSM's trust anchor rules and describe it."""
    certificate = load_certificate(certificate_pem)
    key = _load_private_key(private_key_pem)
    problems = trust_anchor_problems(certificate, now)
    if not _same_public_key(certificate, key):
        problems.append(
            "the private key does not belong to the certificate (their public keys "
            "differ); supply the key the CA certificate was issued for"
        )
    if problems:
        raise CertificateError(
            f"The supplied CA certificate ({_subject(certificate)}) cannot be the "
            f"cluster's trust anchor: {'; '.join(problems)}."
        )
    return _describe(certificate, key, generated=False)


def trust_anchor_problems(
    certificate: x509.Certificate,
    now: datetime.datetime | None = None,
    expiry: bool = True,
) -> list[str]:
    """Every reason CloudHSM would refuse `certificate` as a trust anchor.

    `expiry` False leaves out the validity period: a cluster keeps the anchor it
    was initialized with after it expires.
    """
    problems: list[str] = []
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        problems.append(f"its key is {type(public_key).__name__}, CloudHSM needs RSA")
    elif public_key.key_size not in KEY_SIZES:
        problems.append(
            f"its RSA key has {public_key.key_size} bits, CloudHSM accepts 2048 or 4096"
        )
    if not _is_ca(certificate):
        problems.append(
            "it is not a CA certificate (basicConstraints CA:TRUE is missing); "
            "supply the root CA certificate, not a leaf"
        )
    if not is_self_signed(certificate):
        problems.append(
            "it is not self-signed; CloudHSM needs the root CA itself, without "
            "intermediates"
        )
    moment = now or datetime.datetime.now(datetime.UTC)
    if expiry and certificate.not_valid_after_utc <= moment:
        expired = certificate.not_valid_after_utc.isoformat()
        problems.append(f"it expired on {expired}; renew the CA")
    return problems


def load_trust_anchor(certificate_pem: str) -> CertificateAuthority:
    """The trust anchor of a cluster that has one already, without its key."""
    certificate = load_certificate(certificate_pem)
    problems = trust_anchor_problems(certificate, expiry=False)
    if problems:
        raise CertificateError(
            f"The supplied CA certificate ({_subject(certificate)}) cannot be a "
            f"cluster's trust anchor: {'; '.join(problems)}."
        )
    return _describe(certificate, None, generated=False)


def is_self_signed(certificate: x509.Certificate) -> bool:
    """Issuer equals subject and the certificate's own key verifies its signature."""
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def fingerprint_sha256(certificate: x509.Certificate) -> str:
    """The colon-separated SHA-256 fingerprint, as AWS documentation prints them."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[index : index + 2] for index in range(0, len(digest), 2))


class CustomerCaProvider(ResourceProvider):
    """Generates or validates the CA; everything lives in state."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = InputCheck(news)
        inputs.non_empty("common_name", "a non-empty common name")
        inputs.non_empty("organization", "a non-empty organization name")
        inputs.choice("key_bits", KEY_SIZES)
        inputs.integer("validity_days", 1, MAX_VALIDITY_DAYS)
        _check_supplied(inputs)
        _refuse_replacement(inputs, olds)
        return inputs.result()

    def create(self, props: dict[str, Any]) -> CreateResult:
        ca = _make_or_load(props)
        outs = {**props, **_outputs(ca)}
        return CreateResult(f"ca-{secrets.token_hex(8)}", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [
            name
            for name in REPLACING_INPUTS
            if _normal(olds, name) != _normal(news, name)
        ]
        return DiffResult(
            changes=bool(replaces),
            replaces=replaces,
            stables=["certificate_pem", "private_key_pem", "fingerprint_sha256"],
        )

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        return UpdateResult({**olds, **news, **_kept_outputs(olds)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        pulumi.log.warn(
            f"Customer CA {props.get('fingerprint_sha256', '')} leaves the stack. "
            "Its private key is needed to sign the certificate of every CloudHSM "
            "client added later: keep the secret stack output holding it "
            "(`pulumi stack output --show-secrets`) before the state is gone."
        )


def _make_or_load(props: dict[str, Any]) -> CertificateAuthority:
    if props.get("supplied_certificate_pem") and not props.get(
        "supplied_private_key_pem"
    ):
        return load_trust_anchor(props["supplied_certificate_pem"])
    if props.get("supplied_certificate_pem"):
        return load_supplied_ca(
            props["supplied_certificate_pem"], props["supplied_private_key_pem"]
        )
    return generate_ca(
        props["common_name"],
        props["organization"],
        as_int(props["key_bits"]),
        as_int(props["validity_days"]),
    )


def _refuse_replacement(inputs: InputCheck, olds: dict[str, Any]) -> None:
    """A CA the stack already has is never replaced by a config change.

    Replacing it would delete the only copy of the key that signed the cluster
    (needed for every client certificate added later) and leave the cluster,
    whose trust anchor cannot change, tied to a CA the stack no longer holds.
    """
    if not olds:
        return
    for name, config_key in REPLACING_INPUTS.items():
        new = _normal(inputs.inputs, name)
        if is_unknown(new) or new == _normal(olds, name):
            continue
        inputs.fail(name, _replacement_refused(name, config_key, olds))


def _replacement_refused(name: str, config_key: str, olds: dict[str, Any]) -> str:
    if name in UNPRINTED_INPUTS:
        change, revert = f"{config_key} changed", f"set {config_key} back as it was"
    else:
        old = _normal(olds, name)
        change = f"{config_key} changed from {old!r}"
        revert = f"`pulumi config set {config_key} {shlex.quote(str(old))}`"
    return (
        f"{change}, but the stack's customer CA cannot be replaced: it is the trust "
        "anchor the cluster was initialized with, and its private key signs every "
        f"client certificate added later. Undo the change ({revert}). A new CA "
        "needs a new cluster: `pulumi destroy`, then `pulumi up`."
    )


def _check_supplied(inputs: InputCheck) -> None:
    certificate = inputs.inputs.get("supplied_certificate_pem")
    key = inputs.inputs.get("supplied_private_key_pem")
    if certificate is None and key is None:
        return
    if key is None and inputs.inputs.get("signs_csr") is False:
        if isinstance(certificate, str) and not is_unknown(certificate):
            _check_trust_anchor_only(inputs, certificate)
        return
    if certificate is None or key is None:
        missing = (
            "supplied_private_key_pem" if key is None else "supplied_certificate_pem"
        )
        inputs.fail(
            missing,
            "supplied_certificate_pem and supplied_private_key_pem go together: "
            f"{missing} is missing. Set both, or neither to generate a CA.",
        )
        return
    if is_unknown(certificate) or is_unknown(key):
        return
    try:
        load_supplied_ca(certificate, key)
    except CertificateError as error:
        inputs.fail("supplied_certificate_pem", str(error))


def _check_trust_anchor_only(inputs: InputCheck, certificate: str) -> None:
    try:
        load_trust_anchor(certificate)
    except CertificateError as error:
        inputs.fail("supplied_certificate_pem", str(error))


def _outputs(ca: CertificateAuthority) -> dict[str, Any]:
    return {
        "certificate_pem": ca.certificate_pem,
        "private_key_pem": ca.private_key_pem,
        "fingerprint_sha256": ca.fingerprint_sha256,
        "not_valid_after": ca.not_valid_after,
        "generated": ca.generated,
    }


def _kept_outputs(olds: dict[str, Any]) -> dict[str, Any]:
    names = (
        "certificate_pem",
        "private_key_pem",
        "fingerprint_sha256",
        "not_valid_after",
        "generated",
    )
    return {name: olds[name] for name in names if name in olds}


def _normal(props: dict[str, Any], name: str) -> Any:
    value = props.get(name)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _describe(
    certificate: x509.Certificate, key: rsa.RSAPrivateKey | None, generated: bool
) -> CertificateAuthority:
    """The CA as state keeps it; without `key`, a trust anchor alone ("" key)."""
    key_pem = b""
    if key is not None:
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    return CertificateAuthority(
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        private_key_pem=key_pem.decode(),
        fingerprint_sha256=fingerprint_sha256(certificate),
        not_valid_after=certificate.not_valid_after_utc.isoformat(),
        generated=generated,
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def load_certificate(
    pem: str, what: str = "The supplied CA certificate"
) -> x509.Certificate:
    """Parse a PEM certificate, or raise a CertificateError that names `what`."""
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as error:
        raise CertificateError(
            f"{what} is not a PEM X.509 certificate ({error}). "
            "Give the text from -----BEGIN CERTIFICATE----- to -----END "
            "CERTIFICATE-----."
        ) from error


def _load_private_key(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as error:
        # The error text of cryptography never contains key material.
        raise CertificateError(
            f"The supplied CA private key is not an unencrypted PEM private key "
            f"({error}). Give it as PKCS#1 or PKCS#8 PEM without a passphrase."
        ) from error
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError(
            f"The supplied CA private key is {type(key).__name__}; CloudHSM trust "
            "anchors need an RSA 2048 or 4096 key."
        )
    return key


def _same_public_key(certificate: x509.Certificate, key: rsa.RSAPrivateKey) -> bool:
    return bool(certificate.public_key() == key.public_key())


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(
            x509.BasicConstraints
        )
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca


def _subject(certificate: x509.Certificate) -> str:
    return certificate.subject.rfc4514_string()


@dataclass
class CustomerCaArgs:
    common_name: pulumi.Input[str]
    organization: pulumi.Input[str]
    key_bits: pulumi.Input[int] = 2048
    validity_days: pulumi.Input[int] = 3650
    supplied_certificate_pem: pulumi.Input[str] | None = None
    supplied_private_key_pem: pulumi.Input[str] | None = None
    # False for a cluster that has its trust anchor already (adopted ACTIVE,
    # restored): the certificate may then come without its key.
    signs_csr: pulumi.Input[bool] = True


class CustomerCa(pulumi.dynamic.Resource, name="CustomerCa"):
    """The customer CA; `private_key_pem` is a secret output."""

    key_bits: pulumi.Output[int]
    common_name: pulumi.Output[str]
    organization: pulumi.Output[str]
    validity_days: pulumi.Output[int]
    certificate_pem: pulumi.Output[str]
    private_key_pem: pulumi.Output[str]
    fingerprint_sha256: pulumi.Output[str]
    not_valid_after: pulumi.Output[str]
    generated: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        args: CustomerCaArgs,
        opts: ResourceOptions | None = None,
    ) -> None:
        outputs = dict.fromkeys(
            (
                "certificate_pem",
                "private_key_pem",
                "fingerprint_sha256",
                "not_valid_after",
                "generated",
            )
        )
        secret = ResourceOptions(
            additional_secret_outputs=["private_key_pem", "supplied_private_key_pem"]
        )
        super().__init__(
            CustomerCaProvider(),
            resource_name,
            {**input_props(args), **outputs},
            ResourceOptions.merge(opts, secret),
        )
