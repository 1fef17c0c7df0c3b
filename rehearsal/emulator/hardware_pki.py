"""Emulator-made stand-ins for AWS's and the manufacturer's hardware PKI.

Each emulated HSM has an identity key (the one its cluster CSR carries) and a
hardware key. The hardware key is certified twice, by the emulator's "AWS"
root and by its "manufacturer" root, and signs the HSM certificate, so the two
chains AWS documents for verifying an HSM's identity can be built and checked.
These roots are not AWS's: they only exist inside the emulator.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .clock import EPOCH

VALID_FROM = EPOCH - timedelta(days=365)
VALID_UNTIL = EPOCH + timedelta(days=3650)


@dataclass(frozen=True)
class Authority:
    name: x509.Name
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def certificate_pem(self) -> str:
        return _pem(self.certificate)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def pooled_key(index: int) -> rsa.RSAPrivateKey:
    """The index-th HSM key of this process, generated once.

    Keys are distinct within one emulator (each HSM takes the next index) but
    shared between emulators of one process: generating RSA keys is the
    slowest step of a test run, and nothing outside the emulator sees them.
    """
    return new_key()


@functools.cache
def hardware_key() -> rsa.RSAPrivateKey:
    """The key of the emulated HSM hardware, one per process for the same reason."""
    return new_key()


@functools.cache
def aws_root() -> Authority:
    """The emulator's stand-in for the AWS CloudHSM root (one per process)."""
    return _self_signed_root("Emulated AWS CloudHSM Root", "Emulated AWS")


@functools.cache
def manufacturer_root() -> Authority:
    """The emulator's stand-in for the HSM manufacturer's root (one per process)."""
    return _self_signed_root("Emulated HSM Manufacturer Root", "Emulated Manufacturer")


@dataclass(frozen=True)
class HsmIdentity:
    """The certificates of one HSM, all tied to its identity key."""

    identity_key: rsa.RSAPrivateKey
    hsm_certificate_pem: str
    aws_hardware_certificate_pem: str
    manufacturer_hardware_certificate_pem: str

    @classmethod
    def issue(cls, hsm_id: str, identity_key: rsa.RSAPrivateKey) -> HsmIdentity:
        hardware_name = _name("Emulated HSM hardware", "Emulated Manufacturer")
        hsm_certificate = _certificate(
            subject=_name(f"HSM:{hsm_id}:PARTN:1", "Emulated AWS CloudHSM"),
            public_key=identity_key.public_key(),
            issuer_name=hardware_name,
            issuer_key=hardware_key(),
            ca=False,
        )
        return cls(
            identity_key=identity_key,
            hsm_certificate_pem=_pem(hsm_certificate),
            aws_hardware_certificate_pem=_hardware_pem(hardware_name, aws_root()),
            manufacturer_hardware_certificate_pem=_hardware_pem(
                hardware_name, manufacturer_root()
            ),
        )

    def cluster_csr_pem(self, cluster_id: str) -> str:
        """A real PKCS#10 CSR signed by the identity key, as the HSM makes it."""
        subject = _name(f"{cluster_id} HSM CSR", "Emulated AWS CloudHSM")
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(subject)
            .sign(self.identity_key, hashes.SHA256())
        )
        return csr.public_bytes(serialization.Encoding.PEM).decode()


@functools.cache
def _hardware_pem(name: x509.Name, authority: Authority) -> str:
    certificate = _certificate(
        subject=name,
        public_key=hardware_key().public_key(),
        issuer_name=authority.name,
        issuer_key=authority.key,
        ca=True,
    )
    return _pem(certificate)


def _self_signed_root(common_name: str, organization: str) -> Authority:
    key = new_key()
    name = _name(common_name, organization)
    certificate = _certificate(name, key.public_key(), name, key, ca=True)
    return Authority(name=name, key=key, certificate=certificate)


def _certificate(
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    issuer_name: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    ca: bool,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_UNTIL)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()
