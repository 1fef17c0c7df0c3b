"""Certificates for provider tests: CAs, leaves and an HSM identity chain."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NOW = datetime.datetime.now(datetime.UTC)


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(
    subject: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    issuer: str | None = None,
    issuer_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
    ca: bool | None = True,
    not_valid_after: datetime.datetime | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer or subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=2))
        .not_valid_after(not_valid_after or NOW + datetime.timedelta(days=30))
    )
    if ca is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=None), critical=True
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


def pem(value: x509.Certificate) -> str:
    return value.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class HsmChain:
    """What DescribeClusters shows before initialization, plus the two roots."""

    certificates: dict[str, str]
    aws_root_pem: str
    manufacturer_root_pem: str


def hsm_chain(csr_key: rsa.RSAPrivateKey | None = None) -> HsmChain:
    """A consistent chain; pass another `csr_key` to get a CSR from elsewhere."""
    aws_root_key, maker_root_key = rsa_key(), rsa_key()
    hardware_key, identity_key = rsa_key(), rsa_key()
    hsm = certificate("HSM:hsm-1", identity_key, "HSM hardware", hardware_key, False)
    aws_hardware = certificate("HSM hardware", hardware_key, "AWS root", aws_root_key)
    maker_hardware = certificate(
        "HSM hardware", hardware_key, "Maker root", maker_root_key
    )
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(name("cluster CSR"))
        .sign(csr_key or identity_key, hashes.SHA256())
    )
    return HsmChain(
        certificates={
            "ClusterCsr": csr.public_bytes(serialization.Encoding.PEM).decode(),
            "HsmCertificate": pem(hsm),
            "AwsHardwareCertificate": pem(aws_hardware),
            "ManufacturerHardwareCertificate": pem(maker_hardware),
        },
        aws_root_pem=pem(certificate("AWS root", aws_root_key)),
        manufacturer_root_pem=pem(certificate("Maker root", maker_root_key)),
    )
